"""``router evaluate --cascade --cv K``: the cascade's held-out curve beside the single choice, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mlflow import MlflowClient
from typer.testing import CliRunner

from router._outcome_log import write_outcomes
from router.cli import app
from tests._answers import answer_log
from training import train_router


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("cascade-cli")
    frame = answer_log(240, seed=21)
    return {
        "answers": write_outcomes(frame, root / "answers.csv"),
        "jsonl": write_outcomes(frame, root / "answers.jsonl"),
        "none": write_outcomes(frame.drop(columns=["answer", "output"]), root / "none.parquet"),
    }


def invoke(*args: str):
    return CliRunner().invoke(app, ["evaluate", *args], catch_exceptions=False)


def test_json_report_has_the_cascade_the_single_choice_and_the_hull(logs):
    result = invoke("--data", str(logs["answers"]), "--cascade", "--cv", "3", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["folds"] == 3 and report["tasks"] == 240
    assert set(report["singles"]) == {"haiku", "sonnet", "opus"}
    cascade, single = report["cascade"], report["single_choice"]
    assert len(cascade["points"]) == 21 and len(cascade["tradeoffs"]) == 21
    # Three models answering with agreement to read: the cascade beats every fixed model's best.
    assert cascade["top_success"] > cascade["best_single_success"]
    assert cascade["gain_vs_hull"] > single["gain_vs_hull"]
    assert 0 <= cascade["ece"] <= 0.2 and 1 <= cascade["mean_calls"] <= 3


def test_human_output_names_both_curves(logs):
    result = invoke("--data", str(logs["jsonl"]), "--cascade", "--cv", "2")
    assert result.exit_code == 0, result.output
    assert "single_choice: gain over hull" in result.stdout
    assert "cascade: gain over hull" in result.stdout and "ECE" in result.stdout


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--cascade"], "--cascade needs --cv K"),
        (["--cascade", "--cv", "3", "--model", "x"], "--cascade needs --cv K"),
        (["--cascade", "--cv", "3", "--ope"], "--cascade needs --cv K"),
    ],
    ids=["no-cv", "with-model", "with-ope"],
)
def test_bad_combinations_exit_2_with_one_line(logs, args, match):
    result = invoke("--data", str(logs["answers"]), *args)
    assert result.exit_code == 2
    assert match in result.output and result.output.count("error:") == 1


def test_a_log_without_answers_is_bad_input(logs):
    result = invoke("--data", str(logs["none"]), "--cascade", "--cv", "3")
    assert result.exit_code == 2
    assert "--cascade needs answers" in result.output


def test_train_router_logs_the_cascade_figures_to_mlflow(logs, tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    result = train_router(logs["answers"], tracking_uri=uri, output_dir=tmp_path / "router")
    metrics = MlflowClient(tracking_uri=uri).get_run(result.run_id).data.metrics
    for name in ("gain_vs_hull", "top_success", "ece", "mean_calls"):
        assert f"answer_cascade_{name}" in metrics
    assert metrics["answer_cascade_top_success"] == pytest.approx(
        result.metrics["answer_cascade_top_success"]
    )
