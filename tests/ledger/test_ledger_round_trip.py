"""``logs export`` then ``logs import`` into an empty ledger loses nothing, on SQLite and PostgreSQL.

The source ledger is filled as production fills it: a router's decisions run by the fallback handler with a
scripted model function that fails some calls (so there are fallback chains with attempt numbers, errors and
decision ids), plus attempts recorded with answers and outputs. The same routing statistics, cost summary
and export come out of the imported copy.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from router import CostTracker, FallbackHandler, Router
from tests._helpers import run_python
from tests.ledger.conftest import FakeClock

TASKS = [
    "Fix typo in README",
    "Fix the flaky login test in auth.py",
    "Refactor the payment module to use the repository pattern",
    "Investigate a race condition in the cache invalidation under concurrent writes",
    "Add a docstring to parse_config",
    "Design a sharded storage architecture for audit logs with security review",
]


def fill(tracker: CostTracker, clock: FakeClock) -> None:
    """Decisions run through the handler (a quarter of calls fail), then attempts with answers."""
    handler = FallbackHandler(recorder=tracker, sleep=lambda s: None)
    router = Router()
    calls = 0

    def model_fn(model: str) -> str:
        nonlocal calls
        calls += 1
        clock.advance(seconds=1)
        if calls % 4 == 0:
            raise TimeoutError("read timed out")
        return f"done by {model}"

    for i, text in enumerate(TASKS * 3):
        decision = router.route(text, tradeoff=[0.2, 0.5, 0.9][i % 3], metadata={"repo": f"r{i % 2}"})
        handler.execute_decision(decision, f"task-{i}", model_fn)
    for i in range(5):
        clock.advance(seconds=1)
        tracker.record(
            "sonnet", f"answered-{i}", "bug_fix", 1200, 300, success=i % 2 == 0, description=f"Compute {i}",
            answer=f"{i * 7}", output=f"The answer is {i * 7}.\nNA", level="moderate", decision_id=f"d{i}",
            attempt=1, propensity=0.5, error=None if i % 2 == 0 else "quality: rejected",
        )  # fmt: skip


def views(tracker: CostTracker) -> tuple[Any, Any]:
    return tracker.routing_stats("all").model_dump(), tracker.get_summary("all").model_dump()


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_export_import_export_is_lossless(tmp_path: Path, ledger_location: dict[str, Any], fmt: str):
    clock = FakeClock()
    with CostTracker(tmp_path / "source.db", clock=clock, keep_output=True) as source:
        fill(source, clock)
        exported = source.export_outcomes(tmp_path / f"log.{fmt}")
        before = views(source)
        entries = source.get_recent_entries(1000)
    assert exported.skipped == {}  # every attempt exported: the decision carried its description
    assert exported.rows == len(entries)
    assert before[0]["decisions_with_fallback"] > 0
    assert {row["level"] for row in before[0]["rows"]} >= {"simple", "moderate"}
    with CostTracker(**ledger_location, clock=clock, keep_output=True) as copy:
        imported = copy.import_outcomes(exported.path)
        assert (imported.rows, imported.merged, imported.skipped) == (exported.rows, 0, {})
        assert views(copy) == before
        again = copy.export_outcomes(tmp_path / f"again.{fmt}")
        copied = copy.get_recent_entries(1000)
    assert again.path.read_bytes() == exported.path.read_bytes()
    # Field for field, but the new row ids and a cost's split into input and output (the log has the total).
    split = {"id", "input_cost", "output_cost"}
    assert [e.model_dump(exclude=split) for e in copied] == [e.model_dump(exclude=split) for e in entries]


def test_identical_rows_of_one_file_are_one_attempt(tmp_path: Path, ledger_location: dict[str, Any]):
    clock = FakeClock()
    with CostTracker(tmp_path / "source.db", clock=clock) as source:
        fill(source, clock)
        exported = source.export_outcomes(tmp_path / "log.csv")
        before = views(source)
    frame = pd.read_csv(exported.path, dtype=str, keep_default_na=False)
    doubled = pd.concat([frame, frame]).sort_index(kind="stable")  # every row written twice, in place
    doubled.to_csv(tmp_path / "doubled.csv", index=False)
    with CostTracker(**ledger_location, clock=clock) as copy:
        imported = copy.import_outcomes(tmp_path / "doubled.csv")
        assert (imported.rows, imported.merged) == (len(frame), len(frame))
        assert views(copy) == before
        assert copy.import_outcomes(tmp_path / "doubled.csv").rows == 0  # and a second import adds nothing


def test_outputs_are_kept_only_when_the_tracker_keeps_them_and_cut_to_the_cap(tmp_path: Path):
    with CostTracker(tmp_path / "a.db", keep_output=True, output_max_chars=10) as kept:
        entry = kept.record("haiku", "t", answer="42", output="x" * 50)
    assert (entry.answer, entry.output) == ("42", "x" * 10)
    with CostTracker(tmp_path / "b.db") as default:
        entry = default.record("haiku", "t", answer="42", output="x" * 50)
    assert (entry.answer, entry.output) == ("42", None)


def test_the_cli_prints_the_rows_merged(tmp_path: Path):
    clock = FakeClock()
    with CostTracker(tmp_path / "source.db", clock=clock) as source:
        fill(source, clock)
        exported = source.export_outcomes(tmp_path / "log.jsonl")
    lines = exported.path.read_text().splitlines()
    (tmp_path / "doubled.jsonl").write_text("\n".join(lines + lines[:3]) + "\n")
    args = [
        "-m",
        "router.cli",
        "logs",
        "import",
        str(tmp_path / "doubled.jsonl"),
        "--db",
        str(tmp_path / "c.db"),
    ]
    shown = run_python(args, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert f"Imported {len(lines)} rows" in shown.stdout
    assert "merged 3 rows identical to another row of the file" in shown.stdout
    as_json = run_python([*args[:-2], "--db", str(tmp_path / "d.db"), "--json"], cwd=tmp_path)
    assert json.loads(as_json.stdout)["merged"] == 3


def test_the_cli_round_trip_keeps_outputs_when_asked(tmp_path: Path):
    with CostTracker(tmp_path / "source.db", keep_output=True) as source:
        source.record("haiku", "t", description="Compute", answer="42", output="The answer is 42.")
        source.export_outcomes(tmp_path / "log.parquet")
    for flag, kept in (([], None), (["--keep-output"], "The answer is 42.")):
        db = tmp_path / f"copy{len(flag)}.db"
        shown = run_python(
            ["-m", "router.cli", "logs", "import", str(tmp_path / "log.parquet"), "--db", str(db), *flag],
            cwd=tmp_path,
        )
        assert shown.returncode == 0, shown.stderr
        with CostTracker(db, read_only=True) as copy:
            [entry] = copy.get_recent_entries(5)
        assert (entry.answer, entry.output) == ("42", kept)
