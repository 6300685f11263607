"""The promotion gate: ``champion`` moves only to a model at least as good on the same data, or by force."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from mlflow import MlflowClient
from typer.testing import CliRunner

from router._exceptions import InvalidInputError
from router.cli import app
from tests._helpers import ROOT
from training import train_router
from training.tracking.registry import CHAMPION, promote

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def shuffled_run(experiment, tmp_path_factory) -> str:
    """A run trained on the text-shuffled log: it cannot tell easy tasks from hard ones."""
    result = train_router(
        experiment.shuffled,
        experiment="promote",
        tracking_uri=experiment.tracking_uri,
        output_dir=tmp_path_factory.mktemp("shuffled") / "artifact",
    )
    assert result.run_id is not None
    return result.run_id


def _champion(experiment, name: str) -> str:
    return str(MlflowClient(experiment.tracking_uri).get_model_version_by_alias(name, CHAMPION).version)


def test_first_promotion_succeeds_on_the_held_out_split_and_serves(experiment, request, tmp_path):
    name = request.node.name
    run_id = experiment.runs["C=0.3"].run_id
    result = promote(run_id, registered_name=name, tracking_uri=experiment.tracking_uri)
    assert result.promoted and not result.forced
    assert result.previous_version is None and result.champion_value is None
    assert result.tasks == 80 and "held-out" in result.data
    assert _champion(experiment, name) == result.version
    tags = MlflowClient(experiment.tracking_uri).get_model_version(name, result.version).tags
    assert tags["promotion.metric"] == "apgr" and "promotion.forced" not in tags
    # A fresh process with only ROUTER_DATA_DIR set finds the champion in the embedded default store.
    code = (
        "from router import Router\n"
        f"router = Router.load('models:/{name}@{CHAMPION}', strict=True)\n"
        "print(router.route('Fix the race condition in the connection pool').source)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    env |= {"ROUTER_DATA_DIR": str(experiment.data_dir), "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-c", code]
    fresh = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert fresh.returncode == 0, fresh.stderr
    assert fresh.stdout.strip() == "learned"
    assert not (tmp_path / "mlflow.db").exists(), "not MLflow's own default store in the working directory"


def test_gate_refuses_a_worse_candidate_and_force_overrides_with_a_tag(experiment, shuffled_run, request):
    name = request.node.name
    good = promote(
        experiment.runs["C=0.3"].run_id, registered_name=name, tracking_uri=experiment.tracking_uri
    )
    refused = promote(
        shuffled_run, data=experiment.evaluation, registered_name=name, tracking_uri=experiment.tracking_uri
    )
    assert not refused.promoted
    assert refused.candidate_value < refused.champion_value
    assert "worse than" in refused.reason and f"version {good.version}" in refused.reason
    assert _champion(experiment, name) == good.version

    forced = promote(
        shuffled_run,
        data=experiment.evaluation,
        force=True,
        registered_name=name,
        tracking_uri=experiment.tracking_uri,
    )
    assert forced.promoted and forced.forced
    assert _champion(experiment, name) == forced.version == refused.version
    tags = MlflowClient(experiment.tracking_uri).get_model_version(name, forced.version).tags
    assert tags["promotion.forced"] == "true"
    assert tags["promotion.previous_champion"] == good.version


def test_gate_accepts_a_better_candidate(experiment, shuffled_run, request):
    name = request.node.name
    weak = promote(
        shuffled_run, data=experiment.evaluation, registered_name=name, tracking_uri=experiment.tracking_uri
    )
    better = promote(
        experiment.runs["C=0.3"].run_id,
        data=experiment.evaluation,
        registered_name=name,
        tracking_uri=experiment.tracking_uri,
    )
    assert better.promoted and not better.forced
    assert better.candidate_value >= better.champion_value
    assert better.previous_version == weak.version != better.version
    assert _champion(experiment, name) == better.version


def test_lower_is_better_metric_gates_the_other_way(experiment, shuffled_run, request):
    name = request.node.name
    promote(experiment.runs["C=0.3"].run_id, registered_name=name, tracking_uri=experiment.tracking_uri)
    result = promote(
        shuffled_run,
        metric="brier_opus",
        data=experiment.evaluation,
        registered_name=name,
        tracking_uri=experiment.tracking_uri,
    )
    assert result.promoted is (result.candidate_value <= result.champion_value)
    assert "lower is better" in result.reason


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"metric": "accuracy"}, r"Unknown metric 'accuracy'.*apgr"),
        ({"metric": "auc_gpt5"}, r"Metric 'auc_gpt5' is not among the scores: apgr, auc_haiku"),
        ({"run_id": "0" * 32}, r"Unknown run '0{32}'"),
    ],
    ids=["unknown-metric", "unknown-model-metric", "unknown-run"],
)
def test_bad_arguments_are_refused_by_name(experiment, kwargs, match):
    args = {"run_id": experiment.runs["C=0.3"].run_id, **kwargs}
    with pytest.raises(InvalidInputError, match=match):
        promote(args.pop("run_id"), registered_name="bad-args", tracking_uri=experiment.tracking_uri, **args)


def test_partial_data_without_support_is_refused(experiment, tmp_path):
    import pandas as pd

    frame = pd.read_parquet(experiment.evaluation)
    one_model = frame[frame["model"] != "opus"].drop_duplicates("task_id")
    path = tmp_path / "partial.csv"
    one_model.to_csv(path, index=False)
    # A partial log goes to the off-policy gate (tests/training/test_promote_partial.py); with a champion to
    # beat, a log that never explored cannot support the comparison and is refused.
    promote(experiment.runs["C=0.01"].run_id, registered_name="partial", tracking_uri=experiment.tracking_uri)
    with pytest.raises(InvalidInputError, match="could never have chosen"):
        promote(
            experiment.runs["C=0.3"].run_id,
            data=path,
            registered_name="partial",
            tracking_uri=experiment.tracking_uri,
        )


def test_cli_exit_codes_and_messages(experiment, shuffled_run):
    runner = CliRunner()
    base = ["promote", "--name", "cli-gate", "--tracking-uri", experiment.tracking_uri]
    first = runner.invoke(app, [*base, "--run", experiment.runs["C=0.3"].run_id, "--json"])
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["promoted"] is True
    refused = runner.invoke(app, [*base, "--run", shuffled_run, "--data", str(experiment.evaluation)])
    assert refused.exit_code == 1
    assert "not promoted:" in refused.stderr and "--force" in refused.stderr
    forced = runner.invoke(
        app, [*base, "--run", shuffled_run, "--data", str(experiment.evaluation), "--force"]
    )
    assert forced.exit_code == 0
    assert "(forced)" in forced.stdout
    missing = runner.invoke(app, [*base, "--run", shuffled_run, "--data", "nope.csv"])
    assert missing.exit_code == 2 and "no such file" in missing.stderr


def test_a_run_without_held_out_tasks_needs_data(experiment):
    import mlflow

    mlflow.set_tracking_uri(experiment.tracking_uri)
    location = (experiment.data_dir / "mlartifacts").as_uri()  # not ./mlruns of the working directory
    with mlflow.start_run(experiment_id=mlflow.create_experiment("not-training", location)) as run:
        mlflow.log_param("note", "not a training run")
    with pytest.raises(InvalidInputError, match=r"no evaluation/held_out.parquet.*--data"):
        promote(run.info.run_id, registered_name="no-held-out", tracking_uri=experiment.tracking_uri)
    with pytest.raises(InvalidInputError, match="has no logged router model"):
        promote(
            run.info.run_id,
            data=experiment.evaluation,
            registered_name="no-model",
            tracking_uri=experiment.tracking_uri,
        )
