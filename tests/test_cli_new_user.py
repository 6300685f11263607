"""What a new user hits first (issue 12): ordinary input that crashed, silent fallbacks that exited 0, and
the small things. Each bad case exits with its documented code and exactly one ``error:`` line."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from router._outcome_log import write_outcomes
from router.cli import app
from tests._helpers import ROOT
from training import train_router
from training.synthetic import generate_outcomes


@pytest.fixture
def cli(in_tmp):
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(app, list(args), catch_exceptions=False)

    return invoke


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A production-shaped log (one model per task, plus escalations), a tiny full log, and an artifact."""
    root = tmp_path_factory.mktemp("logs")
    logged = generate_outcomes(300, seed=1, mode="logged", escalate=True)
    paths = {
        "logged": write_outcomes(logged, root / "logged.csv"),
        "tiny": write_outcomes(generate_outcomes(4, seed=1), root / "tiny.csv"),
        "full": write_outcomes(generate_outcomes(60, seed=2), root / "full.csv"),
    }
    result = train_router(paths["full"], log_to_mlflow=False, output_dir=root / "artifact")
    paths["artifact"] = result.artifact_dir
    return paths


def one_error(result, code: int, *needles: str) -> str:
    assert result.exit_code == code, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: "), lines
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


# -- crashes on ordinary input ---------------------------------------------------------------------------
def test_evaluate_a_production_log_against_a_model_is_a_clear_error(cli, logs):
    result = cli("evaluate", "--data", str(logs["logged"]), "--model", str(logs["artifact"]))
    one_error(result, 2, "no task on which every model", "300 tasks", "--mode full")


def test_cross_validating_a_production_log_is_a_clear_error(cli, logs):
    result = cli("evaluate", "--data", str(logs["logged"]), "--cv", "5")
    one_error(result, 2, "no task on which every model")


def test_more_folds_than_tasks_is_a_clear_error(cli, logs):
    result = cli("evaluate", "--data", str(logs["tiny"]), "--cv", "5")
    one_error(result, 2, "5-fold cross-validation needs at least 5 tasks, the log has 4", "--cv 4")


@pytest.mark.parametrize("cost", ["inf", "1e400"])
def test_an_infinite_cost_is_refused_before_training(cli, in_tmp, logs, cost):
    frame = pd.read_csv(logs["full"], dtype={"cost_usd": str})
    frame.loc[0, "cost_usd"] = cost
    path = in_tmp / "inf.csv"
    frame.to_csv(path, index=False)
    assert f",{cost}," in path.read_text()
    # Training refuses the file, naming the rule, as an import does (it used to crash on it, then to drop
    # the row without a word)...
    result = cli("train", "--data", str(path), "--no-mlflow", "--output", str(in_tmp / "a"), "--json")
    one_error(result, 2, "1 cost_usd not a finite number >= 0", "--drop-invalid")
    # ...or, with --drop-invalid, leaves it out and says so, on stderr and in the JSON...
    result = cli(
        "train", "--data", str(path), "--no-mlflow", "--output", str(in_tmp / "a"), "--json", "--drop-invalid"
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["artifact_dir"] == str(in_tmp / "a")
    assert payload["rejected_rows"] == {"cost_usd not a finite number >= 0": 1}
    assert "left out 1 invalid rows" in result.stderr
    # ...and an import refuses the file, naming the rule (it used to pass, then crash training later).
    result = cli("logs", "import", str(path), "--db", str(in_tmp / "l.db"))
    one_error(result, 2, "1 (cost_usd not a finite number >= 0)", "--skip-invalid")


# -- silent fallbacks ------------------------------------------------------------------------------------
@pytest.mark.parametrize("damage", ["missing", "corrupt", "tampered"])
def test_route_with_an_unusable_model_fails(cli, in_tmp, logs, damage):
    target = in_tmp / "model"
    if damage != "missing":
        shutil.copytree(logs["artifact"], target)
        victim = next(p for p in sorted(target.iterdir()) if p.name != "metadata.json")
        if damage == "corrupt":
            (target / "metadata.json").write_text("{not json")
        else:
            victim.write_bytes(victim.read_bytes()[:-8] + b"\x00" * 8)
    result = cli("route", "Fix typo in README", "--model", str(target))
    assert result.stdout == ""
    one_error(result, 2, "cannot be loaded")  # the model the user named: bad input, as in monitor check


def test_route_falls_back_only_when_asked(cli, in_tmp):
    result = cli("route", "Fix typo in README", "--model", str(in_tmp / "nope"), "--fallback-to-heuristic")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("haiku  (simple, score 0/100, typo, heuristic)")


def test_catalog_with_model_is_refused(cli, in_tmp, logs):
    (in_tmp / "c.toml").write_text("")
    result = cli("route", "Fix", "--model", str(logs["artifact"]), "--catalog", str(in_tmp / "c.toml"))
    one_error(result, 2, "--catalog cannot be used with --model")


def test_json_never_prints_nan(cli, logs):
    result = cli("evaluate", "--data", str(logs["full"]), "--cv", "2", "--json")
    assert result.exit_code == 0, result.output
    assert "NaN" not in result.stdout and "Infinity" not in result.stdout

    def strict(token: str) -> float:
        raise AssertionError(f"non-standard JSON constant {token}")

    payload = json.loads(result.stdout, parse_constant=strict)
    assert payload["tasks"] == 60


def test_print_json_turns_non_finite_numbers_into_null(capsys):
    import numpy as np

    from router.cli._app import print_json

    print_json({"a": math.nan, "b": [1.5, math.inf, np.float64("nan")], "c": np.array([1.0, -np.inf])})
    assert json.loads(capsys.readouterr().out) == {"a": None, "b": [1.5, None, None], "c": [1.0, None]}


# -- smaller things --------------------------------------------------------------------------------------
def test_learned_scores_print_to_one_decimal(cli, logs):
    result = cli("route", "Refactor the parser for the new config format", "--model", str(logs["artifact"]))
    assert result.exit_code == 0, result.output
    head = result.stdout.splitlines()[0]
    score = head.split("score ")[1].split("/100")[0]
    assert len(score.partition(".")[2]) <= 1, head


@pytest.mark.parametrize("args", [["-h"], ["route", "-h"], ["costs", "summary", "-h"]])
def test_short_help_flag(cli, args):
    result = cli(*args)
    assert result.exit_code == 0, result.output
    assert "Usage" in result.stdout


def all_commands() -> list[list[str]]:
    import typer

    def walk(command: Any, path: list[str]) -> list[list[str]]:
        found = [path]
        for name, sub in (getattr(command, "commands", None) or {}).items():
            found += walk(sub, [*path, name])
        return found

    return walk(typer.main.get_command(app), [])


def test_help_does_not_show_bool_metavars(cli):
    commands = all_commands()
    assert ["costs", "prune"] in commands and ["route"] in commands
    for path in commands:
        result = cli(*path, "--help")
        assert result.exit_code == 0, (path, result.output)
        assert "<bool>" not in result.stdout, path


@pytest.mark.slow
def test_train_and_promote_print_no_mlflow_info_lines_unless_verbose(tmp_path, logs):
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "MLFLOW_LOGGING_LEVEL")}
    env |= {"ROUTER_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(ROOT)}

    def router(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "router.cli", *args],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip

    trained = router("train", "--data", str(logs["full"]), "--json")
    assert trained.returncode == 0, trained.stderr
    assert " INFO " not in trained.stderr, trained.stderr
    promoted = router("promote", "--run", json.loads(trained.stdout)["run_id"])
    assert promoted.returncode == 0, promoted.stderr
    assert " INFO " not in promoted.stderr + promoted.stdout, promoted.stderr
    verbose = router("train", "--data", str(logs["full"]), "--json", "--verbose")
    assert verbose.returncode == 0, verbose.stderr
    assert " INFO mlflow" in verbose.stderr
