"""MLflow is quiet around our calls (issue 25): no progress bars, INFO lines, WARNINGs or "Created version"
prints on stderr from ``router train`` / ``router promote`` without ``--verbose``, nor from
``train_router(...)`` called from Python; MLflow's own settings are restored afterwards.

Each case runs in a fresh process with a fresh MLflow store, where MLflow is loudest (it creates its tables).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from router._outcome_log import write_outcomes
from tests._helpers import ROOT
from training.synthetic import generate_outcomes

pytestmark = pytest.mark.slow

PYTHON_SIDE = """
import json, logging, os, sys
import mlflow  # MLflow configures its loggers on import: record the levels it set
from training import train_router
from training.experiments import promote

before = {n: logging.getLogger(n).level for n in ("mlflow", "alembic")}
result = train_router(sys.argv[1], experiment="quiet", register=True)
promoted = promote(result.run_id)
after = {n: logging.getLogger(n).level for n in ("mlflow", "alembic")}
print(json.dumps({"before": before, "after": after, "promoted": promoted.promoted,
                  "progress_env": os.environ.get("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR")}))
"""


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    return {**env, "PYTHONPATH": str(ROOT), "ROUTER_DATA_DIR": str(tmp_path / ".router")}


@pytest.fixture
def log(tmp_path: Path) -> Path:
    return write_outcomes(generate_outcomes(80, seed=2), tmp_path / "log.parquet")


def run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=tmp_path, env=_env(tmp_path), capture_output=True, text=True, timeout=600
    )


def test_train_and_promote_print_nothing_on_stderr(tmp_path, log):
    trained = run(tmp_path, "-m", "router.cli", "train", "--data", str(log), "--register", "--json")
    assert trained.returncode == 0, trained.stderr
    assert trained.stderr == ""
    promoted = run(tmp_path, "-m", "router.cli", "promote", "--run", json.loads(trained.stdout)["run_id"])
    assert promoted.returncode == 0, promoted.stderr
    assert promoted.stderr == ""
    assert "promoted task-router version 1" in promoted.stdout


def test_verbose_shows_mlflow_again(tmp_path, log):
    trained = run(tmp_path, "-m", "router.cli", "train", "--data", str(log), "--register", "--verbose")
    assert trained.returncode == 0, trained.stderr
    assert "Created version '1' of model 'task-router'" in trained.stderr


def test_train_router_from_python_is_quiet_and_restores_mlflow(tmp_path, log):
    result = run(tmp_path, "-c", PYTHON_SIDE, str(log))
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    state = json.loads(result.stdout.strip().splitlines()[-1])
    assert state["promoted"] is True
    assert state["after"] == state["before"]  # the levels MLflow had before our calls
    assert state["progress_env"] is None  # the progress-bar setting is not left behind
