"""Model names are data: any name a log can hold trains and is logged to MLflow under safe, unique names."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow

from router import Router
from training import train_router
from training.synthetic import generate_outcomes
from training.tracking.runs import metric_name, safe_names

NAMES = {
    "haiku": "Claude 4 Sonnet (20250514)",
    "sonnet": "GPT-5 (2025-08-07) (medium reasoning)",
    "opus": "o3: high/effort [beta]",
}


def test_safe_names_are_readable_and_unique():
    assert metric_name("auc_Claude 4 Sonnet (20250514)") == "auc_Claude 4 Sonnet _20250514_"
    names = safe_names(["auc_a(b)", "auc_a[b]", "auc_plain"])
    assert names["auc_plain"] == "auc_plain"
    assert len(set(names.values())) == 3 and names["auc_a(b)"] == "auc_a_b_"


def test_training_on_names_with_parentheses_logs_to_mlflow_and_serves(tmp_path: Path):
    frame = generate_outcomes(300, seed=2)
    frame["model"] = frame["model"].map(NAMES)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    result = train_router(frame, tracking_uri=uri, output_dir=tmp_path / "r", experiment="names")
    assert result.run_id is not None
    run = mlflow.MlflowClient(uri).get_run(result.run_id)
    for name in NAMES.values():
        assert f"auc_{metric_name(name)}" in run.data.metrics
    assert run.data.params["policy.hull_guard_default"].split()[0] in ("learned", "fixed")
    guard = json.loads((tmp_path / "r" / "metadata.json").read_text())["hull_guard"]
    assert len(guard["decisions"]) == len(guard["tradeoffs"])
    decision = Router.load(tmp_path / "r", strict=True).route("Fix the race in the cache eviction.")
    assert decision.model in NAMES.values()
