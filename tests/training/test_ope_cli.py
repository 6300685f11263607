"""``router evaluate --ope`` and ``router costs savings`` on the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from router._outcome_log import validate_outcomes, write_outcomes
from router.cli import app
from router.ledger import CostTracker
from router.ledger.outcomes import outcome_rows
from training.synthetic import generate_outcomes


@pytest.fixture(scope="module")
def logs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("ope-cli")
    logged = generate_outcomes(1500, seed=31, mode="logged", epsilon=0.3, escalate=True)
    return {
        "partial": write_outcomes(logged, root / "partial.parquet"),
        "full": write_outcomes(generate_outcomes(400, seed=32), root / "full.csv"),
        "greedy": write_outcomes(generate_outcomes(50, seed=33).assign(propensity=1.0).drop_duplicates(
            "task_id"), root / "greedy.jsonl"),
    }  # fmt: skip


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


def test_ope_json_holds_the_documented_fields(logs):
    result = invoke("evaluate", "--data", str(logs["partial"]), "--model", "heuristic", "--ope", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["estimator"] == "dr" and data["n_tasks"] == 1500 and data["ess"] > 0
    for key in ("success", "cost_usd"):
        values = data["estimates"][key]
        assert values["ci_low"] <= values["value"] <= values["ci_high"]
        assert isinstance(data["logging_policy"][key], float)


def test_ope_on_a_full_information_log_agrees_with_the_direct_evaluation(logs):
    import pandas as pd

    frame = pd.read_csv(logs["full"])
    direct = frame[frame["model"] == "sonnet"]["success"].mean()
    for estimator in ("dr", "ips", "snips"):
        result = invoke("evaluate", "--data", str(logs["full"]), "--model", "model:sonnet", "--ope", "--json",
                        "--estimator", estimator)  # fmt: skip
        success = json.loads(result.stdout)["estimates"]["success"]
        assert success["ci_low"] <= direct <= success["ci_high"]
        assert success["value"] == pytest.approx(direct)


def test_ope_human_output(logs):
    result = invoke("evaluate", "--data", str(logs["partial"]), "--model", "mix:haiku=0.5,opus=0.5", "--ope",
                    "--estimator", "snips", "--tradeoff", "0.3")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "SNIPS" in result.stdout and "effective sample size" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "heuristic", "--estimator", "magic"], "Unknown estimator 'magic'"),
        ([], "--ope needs --model"),
        (["--model", "model:opus"], "exploration_rate="),
        (["--model", "heuristic", "--tradeoff", "2"], "tradeoff must be a number in [0, 1]"),
    ],
    ids=["estimator", "no-model", "no-support", "tradeoff"],
)
def test_bad_input_is_one_error_line_and_exit_2(logs, args, message):
    result = invoke("evaluate", "--data", str(logs["greedy"]), "--ope", *args)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error:") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.fixture(scope="module")
def ledger(tmp_path_factory, logs) -> Path:
    path = tmp_path_factory.mktemp("ledger") / "ledger.db"
    frame = validate_outcomes(
        generate_outcomes(1500, seed=31, mode="logged", epsilon=0.3, escalate=True)
    ).frame
    with CostTracker(path) as tracker:
        tracker.record_many(outcome_rows(frame, "test"))
    return path


def test_savings_against_the_strongest_model(ledger):
    result = invoke("costs", "savings", "--db", str(ledger), "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["against"] == "opus" and data["n_tasks"] == 1500
    # The logging policy sends most tasks to cheaper models: its first choices cost less than opus's for sure;
    # with its escalations (after every failure, to a dearer model) the saving is smaller and less certain.
    assert data["served"]["cost_usd"]["ci_high"] < data["always"]["cost_usd"]["ci_low"]
    assert data["savings_per_task_usd"]["value"] > 0
    assert data["served"]["total_spend_usd"] == pytest.approx(data["served"]["spend_usd"]["value"] * 1500)
    saved = data["savings_per_task_usd"]
    assert saved["ci_low"] <= saved["value"] <= saved["ci_high"]


def test_savings_human_output_and_bad_model(ledger):
    result = invoke("costs", "savings", "--db", str(ledger), "--against", "sonnet", "--period", "all")
    assert result.exit_code == 0, result.output
    assert "always sonnet (DR)" in result.stdout and "saved per task" in result.stdout
    bad = invoke("costs", "savings", "--db", str(ledger), "--against", "gpt-9")
    assert bad.exit_code == 2 and "Unknown model 'gpt-9'" in bad.stderr
