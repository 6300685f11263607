"""The pyfunc model is logged from code: nothing a training run logs is a pickle, and it still loads."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import pytest

from router import Router
from training import train_router
from training.synthetic import generate_outcomes

pytestmark = pytest.mark.slow

PICKLE_MAGIC = (b"\x80\x03", b"\x80\x04", b"\x80\x05")


def test_a_training_run_logs_no_pickle_and_serves(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    import mlflow

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    with caplog.at_level(logging.WARNING, logger="mlflow"):
        result = train_router(
            generate_outcomes(200, seed=3), experiment="no-pickle", tracking_uri=uri, register=True,
            output_dir=tmp_path / "artifact",
        )  # fmt: skip
    assert not [r for r in caplog.records if "CloudPickle" in r.getMessage()]
    mlflow.set_tracking_uri(uri)
    run_files = Path(
        mlflow.artifacts.download_artifacts(run_id=result.run_id, dst_path=str(tmp_path / "run"))
    )
    model_files = Path(
        mlflow.artifacts.download_artifacts(artifact_uri=result.model_uri, dst_path=str(tmp_path / "model"))
    )
    listed = [p for root in (run_files, model_files) for p in root.rglob("*") if p.is_file()]
    names = sorted(p.relative_to(model_files).as_posix() for p in listed if p.is_relative_to(model_files))
    assert "MLmodel" in names and "artifacts/router/router.npz" in names
    assert any(n.endswith("pyfunc_model.py") for n in names), names  # the code, not a pickle
    assert not [p for p in listed if p.suffix in (".pkl", ".pickle")], names
    assert not [p for p in listed if p.read_bytes()[:2] in PICKLE_MAGIC]
    assert "loader_module: mlflow.pyfunc.loaders.code_model" in (model_files / "MLmodel").read_text()
    # MLflow's own loader runs the logged code; Router.load reads the safe artifact beside it.
    predicted = mlflow.pyfunc.load_model(result.model_uri).predict(
        pd.DataFrame({"description": ["Fix typo"]})
    )
    router = Router.load(result.model_uri, strict=True)
    assert router.source == "learned" and predicted["model"].item() == router.route("Fix typo").model
