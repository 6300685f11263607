"""One trained artifact for the learned router's tests: training it is the slow part, and the tests only read
it (the ones that break an artifact copy it first)."""

from __future__ import annotations

from pathlib import Path

import pytest

from training import train_router
from training.synthetic import generate_outcomes


@pytest.fixture(scope="package")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("learned") / "router"
    train_router(generate_outcomes(600, seed=11), log_to_mlflow=False, output_dir=out)
    return out
