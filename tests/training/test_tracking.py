"""Every training run is an MLflow run worth comparing: params, data identity, metrics, plots, a model."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from mlflow import MlflowClient

from router import Router
from training.tracking.runs import ESTIMATOR, default_tracking_uri, tracking_uri_for

pytestmark = pytest.mark.slow

PARAMS = [
    "estimator", "C", "cost_alpha", "featurizer.max_features", "featurizer.min_df",
    "featurizer.feature_version", "calibration", "calibration_folds", "policy.target_share",
    "policy.budget_per_task", "data.sha256", "data.rows", "data.tasks", "data.models", "data.time_start",
    "data.time_end", "held_out_tasks",
]  # fmt: skip
METRICS = [
    *(f"{m}_{name}" for m in ("auc", "brier", "ece") for name in ("haiku", "sonnet", "opus")),
    "apgr", "gain_over_hull", "cost_at_best_quality", "cascade_apgr", "cascade_cost_at_best_quality",
    "ece_max", "decision_latency_p50_ms", "decision_latency_p95_ms",
]  # fmt: skip


@pytest.fixture(scope="module")
def client(experiment):
    return MlflowClient(tracking_uri=experiment.tracking_uri)


def test_two_runs_with_different_params_land_in_one_experiment(experiment, client):
    found = client.get_experiment_by_name(experiment.name)
    runs = client.search_runs([found.experiment_id])
    assert {r.info.run_id for r in runs} == {r.run_id for r in experiment.runs.values()}
    assert {r.data.params["C"] for r in runs} == {"0.3", "0.01"}


@pytest.mark.parametrize("label", ["C=0.3", "C=0.01"])
def test_run_logs_params_data_identity_and_metrics(experiment, client, label):
    run = client.get_run(experiment.runs[label].run_id)
    assert set(PARAMS) <= set(run.data.params)
    params = run.data.params
    assert params["estimator"] == ESTIMATOR
    assert params["policy.hull_guard_default"].split()[0] in ("learned", "fixed")
    assert params["policy.cost_signal"] == "auto"
    assert params["policy.cost_signal_used"] in ("per_task", "per_model")
    assert (params["data.rows"], params["data.tasks"], params["data.models"]) == (
        "1200",
        "400",
        "haiku,opus,sonnet",
    )
    assert len(params["data.sha256"]) == 64
    assert params["data.time_start"] < params["data.time_end"]
    missing = set(METRICS) - set(run.data.metrics)
    assert not missing
    metrics = run.data.metrics
    assert 0.5 < metrics["auc_opus"] <= 1.0
    assert 0.0 <= metrics["ece_max"] <= 1.0
    assert metrics["decision_latency_p50_ms"] > 0
    assert metrics["decision_latency_p50_ms"] <= metrics["decision_latency_p95_ms"]


def test_runs_share_the_data_hash_but_not_the_model(experiment, client):
    a, b = (client.get_run(r.run_id) for r in experiment.runs.values())
    assert a.data.params["data.sha256"] == b.data.params["data.sha256"]
    assert a.data.tags["router.artifact_sha256"] != b.data.tags["router.artifact_sha256"]


def test_run_artifacts_are_plots_table_curves_and_held_out_tasks(experiment, client, tmp_path):
    run_id = experiment.runs["C=0.3"].run_id
    names = {a.path for a in client.list_artifacts(run_id, "evaluation")}
    assert names == {
        f"evaluation/{n}"
        for n in (
            "cost_quality.png",
            "reliability.png",
            "evaluation.csv",
            "curves.json",
            "held_out.parquet",
            "hull_guard.json",
        )
    }
    local = client.download_artifacts(run_id, "evaluation", str(tmp_path))
    for png in ("cost_quality.png", "reliability.png"):
        assert (tmp_path / "evaluation" / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", png
    table = pd.read_csv(f"{local}/evaluation.csv")
    assert set(table.loc[table["kind"] == "model", "name"]) == {"haiku", "sonnet", "opus"}
    assert table.loc[table["kind"] == "router", "apgr"].item() == pytest.approx(
        client.get_run(run_id).data.metrics["apgr"]
    )
    curves = json.loads((tmp_path / "evaluation" / "curves.json").read_text())
    assert len(curves["singles"]) == 3 and len(curves["policy"]) > 10
    held_out = pd.read_parquet(f"{local}/held_out.parquet")
    assert held_out["task_id"].nunique() == int(client.get_run(run_id).data.params["held_out_tasks"]) == 80


def test_model_is_a_pyfunc_with_signature_that_routes_like_the_artifact(experiment):
    import mlflow.pyfunc

    result = experiment.runs["C=0.3"]
    mlflow.set_tracking_uri(experiment.tracking_uri)
    model = mlflow.pyfunc.load_model(f"runs:/{result.run_id}/model")
    schema = model.metadata.get_input_schema()
    assert schema.input_names() == ["description"]
    assert model.metadata.get_output_schema().input_names() == ["model", "p_success", "expected_cost_usd"]
    tasks = ["Fix typo in README", "Design a consensus protocol for the distributed scheduler"]
    predicted = model.predict(pd.DataFrame({"description": tasks}))
    router = Router.load(result.artifact_dir, strict=True)
    for row, task in zip(predicted.itertuples(), tasks, strict=True):
        decision = router.route(task)
        assert row.model == decision.model
        assert row.p_success == pytest.approx(decision.p_success[decision.model])


def test_embedded_default_keeps_store_and_artifacts_in_the_data_dir(experiment, monkeypatch):
    assert (experiment.data_dir / "mlflow.db").is_file()
    run = MlflowClient(experiment.tracking_uri).get_run(experiment.runs["C=0.3"].run_id)
    assert run.info.artifact_uri.startswith((experiment.data_dir / "mlartifacts").resolve().as_uri())
    monkeypatch.setenv("ROUTER_DATA_DIR", str(experiment.data_dir))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert (
        tracking_uri_for()
        == default_tracking_uri()
        == f"sqlite:///{experiment.data_dir.resolve() / 'mlflow.db'}"
    )
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5999")
    assert tracking_uri_for() == "http://127.0.0.1:5999"
    assert tracking_uri_for("sqlite:///other.db") == "sqlite:///other.db"


def test_reliability_bins_cover_each_models_held_out_attempts(experiment, client, tmp_path):
    run_id = experiment.runs["C=0.3"].run_id
    path = client.download_artifacts(run_id, "evaluation/curves.json", str(tmp_path))
    reliability = json.loads(Path(path).read_text())["reliability"]
    assert set(reliability) == {"haiku", "sonnet", "opus"}
    for name, bins in reliability.items():
        assert sum(b["n"] for b in bins) == 80, name  # every held-out task tried every model
        assert all(0.0 <= b["predicted"] <= 1.0 and 0.0 <= b["observed"] <= 1.0 for b in bins)
        assert [b["predicted"] for b in bins] == sorted(b["predicted"] for b in bins)


def test_resolve_uri_prefers_the_pyfunc_layout(tmp_path):
    from router.learned.router import resolve_uri

    # A downloaded pyfunc model: MLmodel beside artifacts/router; a decoy that sorts first must not win.
    (tmp_path / "a-decoy").mkdir()
    (tmp_path / "a-decoy" / "metadata.json").write_text("{}")
    (tmp_path / "artifacts" / "router").mkdir(parents=True)
    (tmp_path / "artifacts" / "router" / "metadata.json").write_text("{}")
    (tmp_path / "MLmodel").write_text("")
    assert resolve_uri(tmp_path) == tmp_path / "artifacts" / "router"
    assert resolve_uri(tmp_path / "a-decoy") == tmp_path / "a-decoy"
