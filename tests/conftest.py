"""Fixtures shared by the test suite.

Randomness has one owner: Hypothesis draws the inputs of property tests (its profile below), and the ``rng``
fixture is the only other source, seeded so that a failure replays. Timing never decides a test: the
Hypothesis profile has no deadline.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, settings

from router import ComplexityEstimator

if TYPE_CHECKING:
    from training import TrainResult

settings.register_profile(
    "router",
    deadline=None,  # a slow machine must not fail a test
    max_examples=100,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("router")

# -- tests write only under temporary directories ----------------------------------------------------------
REPO_ROOT = Path(__file__).resolve().parent.parent
# Caches the tools themselves keep at the root (ignored by git), not anything a test wrote.
_TOOL_CACHES = {".pytest_cache", ".hypothesis", ".mypy_cache", ".ruff_cache", "__pycache__"}
_root_before: set[str] = set()


def pytest_sessionstart(session: pytest.Session) -> None:
    _root_before.update(p.name for p in REPO_ROOT.iterdir())


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when a test left something at the repository's root (.router/, mlruns/, ...)."""
    new = sorted({p.name for p in REPO_ROOT.iterdir()} - _root_before - _TOOL_CACHES)
    if new:
        session.config.get_terminal_writer().line(
            f"\nerror: the tests wrote into the repository root: {', '.join(new)} (write under tmp_path)",
            red=True,
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture
def rng() -> random.Random:
    """The one seeded source of randomness for tests outside Hypothesis."""
    return random.Random(20261125)


@pytest.fixture
def estimator() -> ComplexityEstimator:
    return ComplexityEstimator()


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in an empty directory, so relative file names such as README.md do not exist."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def write_catalog(tmp_path: Path) -> Callable[[str], Path]:
    def write(text: str, name: str = "catalog.toml") -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return write


# -- MLflow experiments: test_tracking, test_promote, test_experiments_cli, test_notebooks --


@dataclass
class Experiment:
    """One embedded MLflow store with two runs of different parameters on one log, and the logs themselves."""

    data_dir: Path
    tracking_uri: str
    name: str
    log: Path  # full-information synthetic log both runs were trained on
    evaluation: Path  # a full-information log neither run saw, for unbiased gates
    shuffled: Path  # the log with task texts shuffled across tasks: a router trained on it learns nothing
    runs: dict[str, TrainResult]  # "C=0.3" and "C=0.01"


@pytest.fixture(scope="session")
def experiment(tmp_path_factory: pytest.TempPathFactory) -> Experiment:
    """Trained once per session (MLflow's SQLite schema set-up alone takes seconds).

    Training runs with ``ROUTER_DATA_DIR`` set and ``MLFLOW_TRACKING_URI`` unset, so the runs land in the
    embedded default store; tests then pass its URI explicitly.
    """
    from router._outcome_log import write_outcomes
    from training import train_router
    from training.synthetic import generate_outcomes

    root = tmp_path_factory.mktemp("experiment")
    frame = generate_outcomes(400, seed=11)
    # The same outcomes under other tasks' texts (a seeded permutation, so a failure replays): the text no
    # longer tells anything about the outcomes or the costs, so a router trained on it is worse.
    texts = frame.drop_duplicates("task_id").set_index("task_id")[["description", "files"]]
    moved = texts.sample(frac=1.0, random_state=5).set_axis(texts.index)
    shuffled = frame.assign(
        description=frame["task_id"].map(moved["description"]), files=frame["task_id"].map(moved["files"])
    )
    paths = {
        "log": write_outcomes(frame, root / "log.parquet"),
        "evaluation": write_outcomes(generate_outcomes(300, seed=12), root / "evaluation.parquet"),
        "shuffled": write_outcomes(shuffled, root / "shuffled.parquet"),
    }
    data = root / "data"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ROUTER_DATA_DIR", str(data))
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        runs = {f"C={c}": train_router(paths["log"], experiment="compare", C=c) for c in (0.3, 0.01)}
    return Experiment(data, f"sqlite:///{data / 'mlflow.db'}", "compare", runs=runs, **paths)
