"""Builders shared by several test modules (imported as ``tests._helpers``)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from router import Catalog, ComplexityLevel, TaskComplexity, TaskType

ROOT = Path(__file__).resolve().parent.parent


def run_python(args: list[str], *, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run this interpreter on ``args`` with the repository (not an installed copy) first on the path."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def free_port() -> int:
    """A loopback port that was free a moment ago (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def mlflow_server(root: Path) -> Iterator[str]:
    """A real ``mlflow server`` on loopback (SQLite backend under ``root``, artifacts served by the server),
    yielding its URL once ``/health`` answers, stopped on exit."""
    import httpx
    import pytest

    port = free_port()
    command = [
        sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port),
        "--workers", "1",
        "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
        "--artifacts-destination", (root / "artifacts").as_uri(), "--serve-artifacts",
    ]  # fmt: skip
    log = (root / "server.log").open("w")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=root)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180  # the SQLite schema set-up alone takes seconds on a busy machine
        while True:
            if process.poll() is not None:
                shown = (root / "server.log").read_text()
                pytest.fail(f"mlflow server exited ({process.returncode}):\n{shown}")
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"mlflow server did not answer /health:\n{(root / 'server.log').read_text()}")
            time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


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
