"""``router evaluate`` on a log where not every model was tried on every task (issue 24).

Decision quality is scored on the tasks where every model was tried; on a production log those are a
biased few (on an escalation log, the tasks the cheaper models failed). Such a log is refused with exit 2
and the off-policy command that fits it, or, asked for explicitly, scored with the count said.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from router._outcome_log import write_outcomes
from router.cli import app
from training import train_router
from training.synthetic import generate_outcomes

runner = CliRunner()


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """40 tasks with every model tried, then 200 production tasks (one model each, plus escalations)."""
    root = tmp_path_factory.mktemp("mixed")
    full = generate_outcomes(40, seed=2)
    logged = generate_outcomes(200, seed=1, mode="logged", escalate=True)
    logged["task_id"] = "prod-" + logged["task_id"].astype(str)
    log = write_outcomes(pd.concat([full, logged], ignore_index=True), root / "mixed.csv")
    artifact = train_router(
        write_outcomes(full, root / "full.csv"), log_to_mlflow=False, output_dir=root / "a"
    )
    return {"log": log, "artifact": artifact.artifact_dir}


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.mark.parametrize("how", ["cv", "model"])
def test_a_partial_log_is_refused_with_the_command_that_fits(mixed, how):
    scoring = ["--cv", "3"] if how == "cv" else ["--model", str(mixed["artifact"])]
    result = invoke("evaluate", "--data", str(mixed["log"]), *scoring)
    assert result.exit_code == 2, result.output
    [line] = result.stderr.splitlines()
    assert line.startswith("error: every model (")
    assert "was tried on only 40 of the log's 240 tasks" in line
    # The exact commands, with this log's path in them.
    assert f"router train --data {mixed['log']} --output router-candidate --no-mlflow" in line
    assert "router evaluate --data NEWER_LOG --model router-candidate --ope" in line
    assert "--full-tasks-only" in line


def test_asked_for_it_scores_the_full_tasks_and_says_how_many(mixed):
    result = invoke("evaluate", "--data", str(mixed["log"]), "--cv", "3", "--full-tasks-only")
    assert result.exit_code == 0, result.output
    assert "scored on 40 of 240 tasks" in result.stdout
    as_json = invoke("evaluate", "--data", str(mixed["log"]), "--cv", "3", "--full-tasks-only", "--json")
    report = json.loads(as_json.stdout)
    assert (report["tasks"], report["tasks_in_log"]) == (40, 240)
