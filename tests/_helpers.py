"""Builders shared by several test modules (imported as ``tests._helpers``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from router import Catalog, ComplexityLevel, TaskComplexity, TaskType

ROOT = Path(__file__).resolve().parent.parent


def run_python(args: list[str], *, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run this interpreter on ``args`` with the repository (not an installed copy) first on the path."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


CATALOG_MODEL = """
[models.{name}]
tier = "{tier}"
input_cost_per_1m = {inp}
output_cost_per_1m = {out}
context_window = {ctx}
max_output_tokens = {max_out}
latency_ms = 100
"""


def catalog_toml(models: list[dict[str, object]], extra: str = "") -> str:
    """TOML text for a catalog; each model dict gives name, tier, inp, out, ctx and max_out (defaults)."""
    defaults = {"tier": "balanced", "ctx": 200_000, "max_out": 8192}
    return "".join(CATALOG_MODEL.format(**{**defaults, **m}) for m in models) + extra


def make_task(level: ComplexityLevel, tokens: int = 1_000, *, score: float | None = None) -> TaskComplexity:
    """A TaskComplexity as the estimator would return it, for selector tests that fix level and size."""
    default_scores = {"simple": 5.0, "moderate": 30.0, "complex": 70.0, "critical": 100.0}
    return TaskComplexity(
        score=default_scores[level.value] if score is None else score,
        level=level,
        task_type=TaskType.GENERAL,
        recommended_model=Catalog.default().primary_for(level),
        reasons=["test task"],
        factor_points={},
        file_count=0,
        line_count=0,
        estimated_tokens=tokens,
        is_critical=level is ComplexityLevel.CRITICAL,
    )
