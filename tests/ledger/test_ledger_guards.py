"""Reads that never write, deletes that ask first, and imports that add a file once (issue 12)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from router import CostTracker, LedgerError
from router.cli import app

runner = CliRunner()


def run(*args: str, input: str | None = None):
    return runner.invoke(app, list(args), input=input)


def one_error(result, code: int, needle: str) -> None:
    assert result.exit_code == code, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    assert needle in lines[0], lines[0]


def files_of(directory: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in directory.iterdir()}


@pytest.fixture
def foreign(tmp_path: Path) -> Path:
    """Another program's SQLite database, in a directory of its own."""
    path = tmp_path / "app" / "app.db"
    path.parent.mkdir()
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE users (name TEXT)")
        conn.execute("INSERT INTO users VALUES ('ada')")
    conn.close()
    return path


@pytest.fixture
def ledger(tmp_path: Path) -> Path:
    path = tmp_path / "ledger.db"
    with CostTracker(path) as tracker:
        tracker.record("haiku", "t1", "typo", input_tokens=10, output_tokens=5, description="Fix typo")
        tracker.record("opus", "old", timestamp=datetime.now(UTC) - timedelta(days=400))
    return path


# -- reads that write ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "command",
    [
        ["costs", "summary"],
        ["routing", "stats"],
        ["costs", "export", "OUT.csv"],
        ["logs", "export", "OUT.csv"],
    ],
    ids=["summary", "stats", "costs-export", "logs-export"],
)
def test_a_read_only_command_leaves_another_programs_database_untouched(foreign, tmp_path, command):
    before = files_of(foreign.parent)
    args = [a.replace("OUT", str(tmp_path / "out")) for a in command]
    result = run(*args, "--db", str(foreign))
    one_error(result, 2, "is not a ledger")  # the wrong database: bad input
    assert files_of(foreign.parent) == before
    with sqlite3.connect(foreign) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    conn.close()
    assert tables == {"users"}


def test_a_read_only_tracker_creates_nothing_and_refuses_writes(tmp_path, ledger):
    with pytest.raises(LedgerError, match="No ledger at"):
        CostTracker(tmp_path / "sub" / "new.db", read_only=True)
    assert not (tmp_path / "sub").exists()
    with CostTracker(ledger, read_only=True) as tracker:
        assert tracker.get_summary("all").total_requests == 2
        with pytest.raises(LedgerError, match="readonly"):
            tracker.record("haiku", "t2")
    with CostTracker(ledger) as tracker:
        assert tracker.get_summary("all").total_requests == 2


def test_reading_commands_still_read_a_ledger(ledger):
    result = run("costs", "summary", "--period", "all", "--db", str(ledger), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["total_requests"] == 2


# -- deletes without a guard -----------------------------------------------------------------------------
def test_prune_says_how_many_and_asks(ledger):
    declined = run("costs", "prune", "--days", "0", "--db", str(ledger), input="n\n")
    assert declined.exit_code == 1
    assert "Delete 2 entries older than 0 days from the ledger? [y/N]" in declined.stdout
    assert "Nothing deleted." in declined.stdout
    with CostTracker(ledger) as tracker:
        assert tracker.get_summary("all").total_requests == 2

    agreed = run("costs", "prune", "--days", "300", "--db", str(ledger), input="y\n")
    assert agreed.exit_code == 0, agreed.output
    assert "Delete 1 entries older than 300 days" in agreed.stdout
    assert "Deleted 1 entries older than 300 days" in agreed.stdout


def test_prune_without_an_answer_deletes_nothing(ledger):
    result = run("costs", "prune", "--days", "0", "--db", str(ledger))
    one_error(result, 2, "Add --yes to delete without asking")
    with CostTracker(ledger) as tracker:
        assert tracker.get_summary("all").total_requests == 2


def test_prune_with_yes_does_not_ask(ledger):
    result = run("costs", "prune", "--days", "0", "--yes", "--db", str(ledger))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == ["Deleted 2 entries older than 0 days"]


def test_prune_with_nothing_due_deletes_nothing(ledger):
    result = run("costs", "prune", "--days", "1000", "--db", str(ledger))
    assert result.exit_code == 0
    assert "nothing deleted" in result.stdout


# -- imports that double the ledger ----------------------------------------------------------------------
def outcome_file(tmp_path: Path, *, with_time: bool) -> Path:
    rows = [
        {"task_id": "a", "description": "Fix typo", "model": "haiku", "success": 1.0, "cost_usd": 0.001},
        # Two attempts alike in everything but their number (a retry with the same result): both go in, once.
        {"task_id": "b", "description": "Fix bug", "model": "sonnet", "success": 0.0, "cost_usd": 0.01},
        {
            "task_id": "b",
            "description": "Fix bug",
            "model": "sonnet",
            "success": 0.0,
            "cost_usd": 0.01,
            "attempt": 2,
        },
    ]
    if with_time:
        for i, row in enumerate(rows):
            row["timestamp"] = f"2024-05-0{i + 1}T12:00:00+00:00"
    path = tmp_path / ("timed.csv" if with_time else "untimed.csv")
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.mark.parametrize("with_time", [True, False], ids=["timed", "untimed"])
def test_importing_the_same_file_twice_adds_nothing(tmp_path, with_time):
    path, db = outcome_file(tmp_path, with_time=with_time), tmp_path / "l.db"
    first = run("logs", "import", str(path), "--db", str(db), "--json")
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["rows"] == 3
    again = run("logs", "import", str(path), "--db", str(db), "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout) == {
        "path": str(path),
        "rows": 0,
        "skipped": {"already in the ledger": 3},
        "merged": 0,
    }
    with CostTracker(db) as tracker:
        assert tracker.get_summary("all").total_requests == 3


def test_a_row_written_twice_in_one_file_is_one_attempt(tmp_path):
    path = outcome_file(tmp_path, with_time=False)
    frame = pd.read_csv(path)
    pd.concat([frame, frame.iloc[[0]]]).to_csv(path, index=False)
    result = run("logs", "import", str(path), "--db", str(tmp_path / "l.db"), "--json")
    assert result.exit_code == 0, result.output
    assert (json.loads(result.stdout)["rows"], json.loads(result.stdout)["merged"]) == (3, 1)


def test_imported_rows_keep_the_files_time_and_get_now_without_one(tmp_path):
    before = datetime.now(UTC)
    with CostTracker(tmp_path / "timed.db") as tracker:
        tracker.import_outcomes(outcome_file(tmp_path, with_time=True))
        timed = sorted(e.timestamp for e in tracker.get_recent_entries(10))
    with CostTracker(tmp_path / "untimed.db") as tracker:
        tracker.import_outcomes(outcome_file(tmp_path, with_time=False))
        untimed = [e.timestamp for e in tracker.get_recent_entries(10)]
    assert timed == [datetime(2024, 5, d, 12, tzinfo=UTC) for d in (1, 2, 3)]
    assert len(untimed) == 3 and all(before <= s <= datetime.now(UTC) for s in untimed)


def test_a_row_without_a_time_matches_the_same_attempt_recorded_at_any_time(tmp_path):
    # Without a time nothing tells the row from the attempt already held: it is not added again.
    with CostTracker(tmp_path / "l.db") as tracker:
        assert tracker.import_outcomes(outcome_file(tmp_path, with_time=True)).rows == 3
        assert tracker.import_outcomes(outcome_file(tmp_path, with_time=False)).rows == 0


def test_an_export_imported_back_adds_nothing(tmp_path, ledger):
    out = tmp_path / "o.parquet"
    with CostTracker(ledger) as tracker:
        tracker.export_outcomes(out)
        result = tracker.import_outcomes(out)
        assert (result.rows, result.skipped) == (0, {"already in the ledger": 1})
