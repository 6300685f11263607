"""Every ``router`` command, walked with bad arguments: one ``error:`` line, the documented exit code, no
traceback, and nothing written: every file and directory of the workspace is as it was (issue 25).

The commands are enumerated from the Typer app itself, so a new command (``router retrain``, say) fails
:func:`test_every_command_has_a_row` until this table gives it at least one row. Each row runs ``router`` in
a subprocess, as a user would, in a workspace holding a real ledger (with telemetry tables), a SQLite file
of another program's (``users.db``), an outcome log, a log with invalid rows, an MLflow store with one
training run, an artifact directory and an unrelated ``metadata.json``.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import click
import numpy as np
import pytest
import typer

from router._outcome_log import write_outcomes
from router.cli import app
from tests._helpers import ROOT
from training.synthetic import generate_outcomes

pytestmark = pytest.mark.slow

BAD_INPUT, FAILURE = 2, 1


@dataclass(frozen=True)
class Row:
    """One bad call: the arguments (``{ws}`` is the workspace), the exit code and a part of the message."""

    args: tuple[str, ...]
    code: int
    says: str
    id: str

    def command(self, paths: set[tuple[str, ...]]) -> tuple[str, ...]:
        return next(p for p in sorted(paths, key=len, reverse=True) if self.args[: len(p)] == p)


def row(id: str, *args: str, code: int = BAD_INPUT, says: str = "") -> Row:
    return Row(tuple(args), code, says, id)


UNWRITABLE = "/sys/router-test-unwritable"  # refused even to root; a read-only directory for anyone else

ROWS = [
    # route
    row("route-context-dev-zero", "route", "Fix it", "--context", "/dev/zero", says="larger than the 4 MB"),
    row("route-context-missing", "route", "Fix it", "--context", "{ws}/nope.txt", says="--context"),
    row("route-catalog-dev-zero", "route", "Fix it", "--catalog", "/dev/zero", says="larger than the 1 MB"),
    row("route-tradeoff-range", "route", "Fix it", "--tradeoff", "2", says="tradeoff"),
    row("route-model-missing", "route", "Fix it", "--model", "{ws}/nowhere", says="nowhere"),
    row("route-metadata", "route", "Fix it", "--metadata", "novalue", says="KEY=VALUE"),
    # train
    row("train-data-missing", "train", "--data", "{ws}/nope.parquet", "--no-mlflow", says="nope.parquet"),
    row("train-invalid-rows", "train", "--data", "{ws}/bad.parquet", "--no-mlflow", says="--drop-invalid"),
    row(
        "train-output-file",
        "train",
        "--data",
        "{ws}/log.parquet",
        "--no-mlflow",
        "--output",
        "{ws}/log.parquet",
        says="existing file",
    ),
    row(
        "train-output-not-empty",
        "train",
        "--data",
        "{ws}/log.parquet",
        "--no-mlflow",
        "--output",
        "{ws}/unrelated",
        says="--force",
    ),
    row(
        "train-output-unwritable",
        "train",
        "--data",
        "{ws}/log.parquet",
        "--no-mlflow",
        "--output",
        f"{UNWRITABLE}/out",
        says=UNWRITABLE,
    ),
    row("train-C-negative", "train", "--data", "{ws}/log.parquet", "--C", "-1", "--no-mlflow", says="C"),
    # evaluate
    row("evaluate-neither", "evaluate", "--data", "{ws}/log.parquet", says="exactly one"),
    row(
        "evaluate-estimator-without-ope",
        "evaluate",
        "--data",
        "{ws}/log.parquet",
        "--cv",
        "2",
        "--estimator",
        "ips",
        says="--ope",
    ),
    row(
        "evaluate-mix-not-one",
        "evaluate",
        "--data",
        "{ws}/log.parquet",
        "--ope",
        "--model",
        "mix:haiku=0.7,opus=0.7",
        says="sum to 1.4",
    ),
    row(
        "evaluate-model-missing",
        "evaluate",
        "--data",
        "{ws}/log.parquet",
        "--model",
        "{ws}/nowhere",
        says="cannot be loaded",
    ),
    # promote
    row("promote-tracking-uri", "promote", "--run", "x", "--tracking-uri", "foo://bar", says="foo://bar"),
    row("promote-unknown-run", "promote", "--run", "0123abc", says="Unknown run"),
    row("promote-unknown-metric", "promote", "--run", "0123abc", "--metric", "foo", says="foo"),
    # experiments
    row("compare-metric", "experiments", "compare", "--metric", "foo", says="Known metrics"),
    row(
        "compare-plot-missing-dir",
        "experiments",
        "compare",
        "--plot",
        "{ws}/nodir/x.png",
        says="does not exist",
    ),
    row("compare-tracking-uri", "experiments", "compare", "--tracking-uri", "foo://bar", says="foo://bar"),
    row("compare-unknown-experiment", "experiments", "compare", "--experiment", "nope", says="nope"),
    # costs
    row("costs-summary-by", "costs", "summary", "--by", "colour", says="--by"),
    row("costs-summary-period", "costs", "summary", "--period", "fortnight", says="fortnight"),
    row("costs-summary-mysql", "costs", "summary", "--database-url", "mysql://u:p@h/db", says="supports"),
    row("costs-summary-not-a-ledger", "costs", "summary", "--db", "{ws}/users.db", says="not a ledger"),
    row("costs-summary-no-ledger", "costs", "summary", "--db", "{ws}/nope.db", says="No ledger"),
    row("costs-export-unwritable", "costs", "export", f"{UNWRITABLE}.csv", says=UNWRITABLE),
    row(
        "costs-export-mysql",
        "costs",
        "export",
        "{ws}/x.csv",
        "--database-url",
        "mysql://u:p@h/db",
        says="supports",
    ),
    row("costs-prune-overflow", "costs", "prune", "--days", "100000000", "--yes", says="--days must be"),
    row(
        "costs-prune-not-a-ledger",
        "costs",
        "prune",
        "--days",
        "3",
        "--yes",
        "--db",
        "{ws}/users.db",
        says="not a ledger",
    ),
    row("costs-migrate-not-a-ledger", "costs", "migrate", "--db", "{ws}/users.db", says="not a ledger"),
    row("costs-savings-period", "costs", "savings", "--period", "fortnight", says="fortnight"),
    row("costs-savings-not-a-ledger", "costs", "savings", "--db", "{ws}/users.db", says="not a ledger"),
    # routing
    row("routing-stats-period", "routing", "stats", "--period", "fortnight", says="fortnight"),
    row("routing-stats-not-a-ledger", "routing", "stats", "--db", "{ws}/users.db", says="not a ledger"),
    # logs
    row("logs-export-unwritable", "logs", "export", f"{UNWRITABLE}.parquet", says=UNWRITABLE),
    row("logs-export-extension", "logs", "export", "{ws}/x.txt", says="x.txt"),
    row("logs-export-existing-file", "logs", "export", "{ws}/log.parquet", says="--force"),
    row("costs-export-existing-file", "costs", "export", "{ws}/log.parquet", says="--force"),
    row(
        "logs-import-not-a-ledger",
        "logs",
        "import",
        "{ws}/log.parquet",
        "--db",
        "{ws}/users.db",
        says="not a ledger",
    ),
    row("logs-import-invalid-rows", "logs", "import", "{ws}/bad.parquet", says="bad"),
    row("logs-import-missing", "logs", "import", "{ws}/nope.parquet", says="nope.parquet"),
    # monitor
    row("monitor-report-model-missing", "monitor", "report", "--model", "/nonexistent", says="/nonexistent"),
    row(
        "monitor-report-plot-missing-dir",
        "monitor",
        "report",
        "--plot",
        "{ws}/nodir/x.png",
        says="does not exist",
    ),
    row(
        "monitor-report-plot-unwritable", "monitor", "report", "--plot", f"{UNWRITABLE}.png", says=UNWRITABLE
    ),
    row("monitor-report-window", "monitor", "report", "--window", "fortnight", says="fortnight"),
    row("monitor-report-not-a-ledger", "monitor", "report", "--db", "{ws}/users.db", says="not a ledger"),
    row("monitor-check-model-typo", "monitor", "check", "--model", "models:/typo@champion", says="typo"),
    row("monitor-check-rules-missing", "monitor", "check", "--rules", "{ws}/nope.toml", says="nope.toml"),
    row("monitor-check-webhook", "monitor", "check", "--webhook", "ftp://x", says="--webhook"),
    row("monitor-check-not-a-ledger", "monitor", "check", "--db", "{ws}/users.db", says="not a ledger"),
    row("monitor-check-mysql", "monitor", "check", "--database-url", "mysql://u:p@h/db", says="supports"),
    row("monitor-serve-not-a-ledger", "monitor", "serve", "--db", "{ws}/users.db", says="not a ledger"),
    row("monitor-serve-port", "monitor", "serve", "--port", "70000", says="--port"),
    # retrain
    row("retrain-not-a-ledger", "retrain", "--db", "{ws}/users.db", says="not a ledger"),
    row("retrain-data-missing", "retrain", "--data", "{ws}/nope.parquet", says="nope.parquet"),
    row("retrain-since", "retrain", "--data", "{ws}/log.parquet", "--since", "yesterday", says="--since"),
    row("retrain-days", "retrain", "--data", "{ws}/log.parquet", "--days", "-3", says="--days"),
    row("retrain-budget", "retrain", "--data", "{ws}/log.parquet", "--memory-budget", "lots", says="lots"),
    row("retrain-held-out", "retrain", "--data", "{ws}/log.parquet", "--held-out", "2", says="held_out"),
    row("retrain-both", "retrain", "--data", "{ws}/log.parquet", "--db", "{ws}/users.db", says="not both"),
]


def command_paths(group: click.Group, prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    """Every leaf command of the app, as the words that name it (``("costs", "summary")``)."""
    paths: set[tuple[str, ...]] = set()
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            paths |= command_paths(command, (*prefix, name))
        else:
            paths.add((*prefix, name))
    return paths


PATHS = command_paths(typer.main.get_group(app))


def test_every_command_has_a_row():
    covered = {r.command(PATHS) for r in ROWS}
    missing = sorted(" ".join(p) for p in PATHS - covered)
    assert not missing, f"commands without a bad-argument row in ROWS: {missing}"


def test_rows_are_unique():
    assert len({r.id for r in ROWS}) == len(ROWS)


def snapshot(root: Path) -> dict[str, str]:
    """Every file's SHA-256 and every directory (as "dir") below ``root``.

    SQLite's side files are SQLite's: a reader of a WAL-mode ledger (opened read-only) leaves an empty
    ``-wal`` and a ``-shm`` index behind. A ``-wal`` holding anything (rows not yet in the main file) counts.
    """
    found: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        name = path.relative_to(root).as_posix()
        if name.endswith("-shm") or (name.endswith("-wal") and path.stat().st_size == 0):
            continue
        found[name] = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def router(workspace: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "ROUTER_DATA_DIR": str(workspace / ".router"),
        "MLFLOW_TRACKING_URI": f"sqlite:///{workspace}/.router/mlflow.db",
        "COLUMNS": "200",
    }
    env.pop("ROUTER_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "router.cli", *args],
        cwd=workspace,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    ws = tmp_path_factory.mktemp("workspace")
    frame = generate_outcomes(60, seed=3)
    write_outcomes(frame, ws / "log.parquet")
    bad = frame.copy()
    bad.loc[bad.index[:5], "cost_usd"] = -1.0
    bad.loc[bad.index[5:8], "cost_usd"] = np.inf
    bad.loc[bad.index[8:10], "success"] = np.nan
    bad.to_parquet(ws / "bad.parquet")
    with sqlite3.connect(ws / "users.db") as conn:
        conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO users (name) VALUES ('ada')")
    (ws / "unrelated").mkdir()
    (ws / "unrelated" / "metadata.json").write_text('{"mine": true}\n')
    # The real set-up, through the command line: a ledger (with the telemetry tables the monitor adds),
    # one training run in the MLflow store, an artifact.
    for args in (
        ("logs", "import", "log.parquet"),
        ("monitor", "report", "--json"),
        ("train", "--data", "log.parquet", "--output", "artifact", "--json"),
    ):
        result = router(ws, *args)
        assert result.returncode == 0, (args, result.stderr)
    return ws


@pytest.mark.parametrize("case", ROWS, ids=[r.id for r in ROWS])
def test_a_bad_argument_is_one_error_line_and_changes_nothing(workspace, case):
    before = snapshot(workspace)
    args = [a.replace("{ws}", str(workspace)) for a in case.args]
    result = router(workspace, *args)
    assert "Traceback" not in result.stderr + result.stdout, result.stderr
    assert result.returncode == case.code, (result.returncode, result.stderr)
    # Progress a long command printed before it met the fault ("retrain: reading the log") is not an error.
    progress = f"{case.args[0]}: "
    lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith(progress)]
    if case.code and lines and lines[0].startswith("Usage:"):  # click's own usage errors: usage, then Error
        assert lines[-1].startswith("Error:") or "Error" in result.stderr, result.stderr
    else:
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
        assert "internal error" not in lines[0], lines[0]
    assert case.says in result.stderr, result.stderr
    after = snapshot(workspace)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, f"{case.id} changed the workspace: {changed}"
    assert not Path(UNWRITABLE).exists()


def test_the_workspace_is_what_the_rows_assume(workspace):
    """The rows' premises: the run in the store, a ledger with rows, the other program's table untouched."""
    compared = router(workspace, "experiments", "compare", "--json")
    assert compared.returncode == 0 and len(json.loads(compared.stdout)) == 1, compared.stderr
    with sqlite3.connect(workspace / "users.db") as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    assert tables == ["users"]
