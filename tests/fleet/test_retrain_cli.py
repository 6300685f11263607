"""``router retrain`` on a PostgreSQL ledger: it promotes a clearly better candidate over a bad champion, and
keeps the champion against a worse candidate; exit codes 0 / 1 / 2, JSON, figures in MLflow."""

from __future__ import annotations

import json

import pytest
from mlflow import MlflowClient
from typer.testing import CliRunner

from router import CostTracker
from router._outcome_log import write_outcomes
from router.cli import app
from training import train_router
from training.synthetic import generate_outcomes
from training.tracking.registry import CHAMPION

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

NAME = "retrain-router"


@pytest.fixture
def ledger(postgres_url, tmp_path) -> str:
    """A production-like log in the ledger: one model per task by a policy exploring 30% of the time (its
    propensities recorded), escalations after failures."""
    frame = generate_outcomes(3000, seed=21, mode="logged", epsilon=0.3, escalate=True)
    path = write_outcomes(frame, tmp_path / "logged.parquet")
    with CostTracker(database_url=postgres_url) as tracker:
        assert tracker.import_outcomes(path).rows == len(frame)
    return postgres_url


@pytest.fixture
def bad_champion(tmp_path) -> str:
    """A champion trained on the log with every outcome inverted: it sends tasks where they fail."""
    frame = generate_outcomes(600, seed=5)
    tracking = f"sqlite:///{tmp_path / 'mlflow.db'}"
    train_router(
        frame.assign(success=1.0 - frame["success"]), experiment="seed", tracking_uri=tracking,
        register=True, registered_name=NAME, output_dir=tmp_path / "bad",
    )  # fmt: skip
    MlflowClient(tracking).set_registered_model_alias(NAME, CHAMPION, "1")
    return tracking


def _retrain(*args: str):
    return CliRunner().invoke(app, ["retrain", "--name", NAME, "--json", *args])


def test_retrain_promotes_a_better_candidate_then_keeps_the_champion_against_a_worse_one(
    ledger, bad_champion, tmp_path, monkeypatch
):
    monkeypatch.setenv("ROUTER_DATA_DIR", str(tmp_path / "data"))
    base = ["--database-url", ledger, "--tracking-uri", bad_champion, "--since", "2026-01-01"]
    better = _retrain(*base)
    assert better.exit_code == 0, better.output
    found = json.loads(better.stdout)
    assert found["promoted"] and found["candidate_version"] == "2" and found["champion_version"] == "1"
    gate = found["gate"]
    assert gate["metric"] == "dr_utility" and gate["lower_bound"] > 0, gate["reason"]
    assert found["sample"]["sampled"] is False and found["held_out_tasks"] >= 800
    assert "retrain: training the candidate on" in better.stderr
    client = MlflowClient(bad_champion)
    assert str(client.get_model_version_by_alias(NAME, CHAMPION).version) == "2"
    run = client.get_run(found["run_id"]).data
    assert run.metrics["retrain.tasks_read"] == found["sample"]["tasks_read"]
    assert run.metrics["gate.lower_bound_95"] == pytest.approx(gate["lower_bound"])
    assert run.tags["retrain.outcome"] == "promoted"

    # A worse candidate: trained on a sample of 150 tasks' rows with almost no regularisation budget.
    worse = _retrain(*base, "--max-rows", "400", "--held-out", "0.5", "--C", "0.001")
    assert worse.exit_code == 1, worse.output
    kept = json.loads(worse.stdout)
    assert not kept["promoted"] and kept["outcome"] == "kept the champion"
    assert kept["sample"]["sampled"] and kept["sample"]["rows_read"] <= 400
    assert (
        kept["gate"]["lower_bound"] < 0 and kept["gate"]["candidate_value"] < kept["gate"]["champion_value"]
    )
    assert str(client.get_model_version_by_alias(NAME, CHAMPION).version) == "2"
    assert client.get_run(kept["run_id"]).data.tags["retrain.outcome"] == "kept"
    for label, payload in (("better", found), ("worse", kept)):
        g = payload["gate"]
        print(
            f"{label}: {g['metric']} candidate {g['candidate_value']:.4f} champion {g['champion_value']:.4f} "
            f"bound {g['lower_bound']:+.4f} on {g['tasks']} held-out tasks"
        )


def test_bad_input_exits_2_with_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("ROUTER_DATA_DIR", str(tmp_path))
    for args, message in [
        (["--since", "yesterday", "--data", str(tmp_path)], "--since must be an ISO 8601 date"),
        (["--days", "3", "--since", "2026-01-01"], "give --since or --days, not both"),
        (["--data", str(tmp_path / "none")], "Outcome log not found"),
        (["--data", str(tmp_path)], "holds no .parquet files"),
        (["--memory-budget", "lots"], "memory budget must be a size such as 4GB"),
    ]:
        result = _retrain(*args)
        assert result.exit_code == 2, (args, result.output)
        errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
        assert len(errors) == 1 and message in errors[0], result.stderr
        assert result.stderr.strip().splitlines()[-1] == errors[0]  # progress lines may come before it


def test_a_parquet_dataset_directory_with_a_window_is_read_by_whole_tasks(tmp_path, monkeypatch):
    monkeypatch.setenv("ROUTER_DATA_DIR", str(tmp_path / "data"))
    frame = generate_outcomes(1200, seed=8, mode="logged", epsilon=0.3)
    directory = tmp_path / "export"
    directory.mkdir()
    half = len(frame) // 2
    frame.iloc[:half].to_parquet(directory / "a.parquet", index=False)
    frame.iloc[half:].to_parquet(directory / "b.parquet", index=False)
    since = frame["timestamp"].sort_values().iloc[len(frame) // 4]
    tracking = f"sqlite:///{tmp_path / 'mlflow.db'}"
    result = _retrain("--data", str(directory), "--since", since, "--tracking-uri", tracking)
    assert result.exit_code == 0, result.output  # no champion yet: the first candidate is promoted
    found = json.loads(result.stdout)
    in_window = frame[frame["timestamp"] >= since]
    assert found["sample"]["rows_total"] == len(in_window)
    assert found["sample"]["tasks_total"] == in_window["task_id"].nunique()
    assert found["gate"]["reason"].startswith("no champion yet")
