"""``router costs``, ``routing`` and ``logs``: tables for people, JSON for machines, exit 2 on bad input."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from conftest import START
from typer.testing import CliRunner

from router import CostTracker
from router.cli import app

runner = CliRunner()


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "ledger.db"
    with CostTracker(path) as tracker:
        # Entries are stamped "now", so the CLI's real clock finds them in today's summary.
        tracker.record(
            "opus",
            "t1",
            "security",
            input_tokens=1000,
            output_tokens=100,
            level="critical",
            description="Fix auth",
            decision_id="d1",
        )
        tracker.record(
            "sonnet",
            "t2",
            "docs",
            input_tokens=500,
            output_tokens=50,
            success=0.0,
            level="moderate",
            description="Write docs",
            decision_id="d2",
        )
        tracker.record(
            "opus",
            "t2",
            "docs",
            input_tokens=500,
            output_tokens=50,
            attempt=2,
            level="moderate",
            description="Write docs",
            decision_id="d2",
        )
        tracker.record("haiku", "old", timestamp=START - timedelta(days=3650))
    return path


def run(*args: str, env: dict[str, str] | None = None):
    return runner.invoke(app, list(args), env=env)


def test_summary_table_by_model_and_by_task_type(db):
    result = run("costs", "summary", "--db", str(db))
    assert result.exit_code == 0, result.output
    assert "3 requests" in result.output and "opus" in result.output and "most used: opus" in result.output
    by_type = run("costs", "summary", "--db", str(db), "--period", "all", "--by", "task_type")
    assert by_type.exit_code == 0 and "security" in by_type.output and "4 requests" in by_type.output


def test_summary_json_is_the_cost_summary(db):
    result = run("costs", "summary", "--db", str(db), "--period", "all", "--json")
    data = json.loads(result.stdout)
    assert data["total_requests"] == 4 and data["requests_by_model"]["opus"] == 2
    assert set(data) >= {"cost_by_model", "cost_by_task_type", "most_expensive_model", "avg_cost_per_request"}


def test_routing_stats_counts_decisions_and_fallbacks(db):
    data = json.loads(run("routing", "stats", "--db", str(db), "--json").stdout)
    assert (data["decisions"], data["decisions_with_fallback"]) == (3, 1)
    rows = {(r["level"], r["model"]): r for r in data["rows"]}
    assert rows[("moderate", "sonnet")]["success_rate"] == 0.0
    assert rows[("moderate", "opus")]["fallback_attempts"] == 1
    table = run("routing", "stats", "--db", str(db))
    assert table.exit_code == 0 and "1 needed a fallback (33%)" in table.output


def test_export_prune_and_logs_round_trip(db, tmp_path):
    assert "Wrote 4 entries" in run("costs", "export", str(tmp_path / "c.csv"), "--db", str(db)).output
    assert (
        "Deleted 1 entries older than 90 days"
        in run("costs", "prune", "--days", "90", "--yes", "--db", str(db)).output
    )
    exported = run("logs", "export", str(tmp_path / "o.parquet"), "--db", str(db))
    assert exported.exit_code == 0 and "Wrote 3 rows" in exported.output
    other = tmp_path / "other.db"
    imported = run("logs", "import", str(tmp_path / "o.parquet"), "--db", str(other), "--json")
    assert json.loads(imported.stdout)["rows"] == 3
    with CostTracker(other) as tracker:
        assert tracker.get_summary("all").total_requests == 3


def test_database_url_comes_from_the_environment(db):
    result = run("costs", "summary", "--json", env={"ROUTER_DATABASE_URL": f"sqlite:///{db}"})
    assert result.exit_code == 0 and json.loads(result.stdout)["total_requests"] == 3


BAD_INPUT = [
    (["costs", "summary", "--period", "year"], "Unknown period 'year'. Allowed periods: hour, day"),
    (["costs", "summary", "--by", "colour"], "Unknown --by 'colour'. Allowed: model, task_type"),
    (["costs", "prune", "--days", "-1"], "--days must be between 0 and 36,500 (100 years), got -1"),
    (["logs", "export", "out.xlsx"], "Unknown outcome-log format '.xlsx'"),
    (["logs", "import", "missing.csv"], "Outcome log not found"),
    (["costs", "summary", "--database-url", "sqlite://"], "Give --db or --database-url"),
]


@pytest.mark.parametrize(
    ("args", "message"), BAD_INPUT, ids=["period", "by", "days", "format", "missing", "both"]
)
def test_bad_input_exits_2_with_one_clear_line(db, args, message):
    result = run(*args, "--db", str(db))
    assert result.exit_code == 2
    assert message in " ".join(result.stderr.split())


def test_a_missing_ledger_is_an_error_not_an_empty_one(tmp_path):
    result = run("costs", "summary", "--db", str(tmp_path / "typo.db"))
    assert result.exit_code == 2 and "No ledger at" in result.stderr
    assert not (tmp_path / "typo.db").exists()


def test_a_file_that_is_not_a_ledger_fails_with_exit_1(tmp_path):
    path = tmp_path / "costs.json"
    path.write_text("{}")
    result = run("costs", "summary", "--db", str(path))
    assert result.exit_code == 1 and "is not a SQLite database" in " ".join(result.stderr.split())
