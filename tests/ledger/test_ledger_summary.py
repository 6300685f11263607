"""Summaries over calendar periods, recent entries, pruning and the CSV export."""

from __future__ import annotations

import csv
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import START, FakeClock
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from router import CostTracker, InvalidInputError


def add(tracker: CostTracker, model: str, cost: float, when: datetime, **extra: object) -> None:
    tracker.record(
        model,
        "t",
        extra.pop("task_type", "docs"),
        input_tokens=10,
        output_tokens=5,
        total_cost=cost,
        timestamp=when,
        **extra,
    )  # type: ignore[arg-type]


# START is Wednesday 2026-01-14 12:30 UTC: the week began Monday the 12th, the month on the 1st.
PERIOD_CASES = [
    ("hour", {"now"}),
    ("day", {"now", "this morning"}),
    ("week", {"now", "this morning", "monday"}),
    ("month", {"now", "this morning", "monday", "the 2nd"}),
    ("all", {"now", "this morning", "monday", "the 2nd", "last year"}),
]
MOMENTS = {
    "now": START,
    "this morning": datetime(2026, 1, 14, 0, 0, tzinfo=UTC),
    "monday": datetime(2026, 1, 12, 0, 0, tzinfo=UTC),
    "the 2nd": datetime(2026, 1, 2, 9, 0, tzinfo=UTC),
    "last year": datetime(2025, 12, 31, 23, 59, 59, tzinfo=UTC),
}


@pytest.mark.parametrize(("period", "included"), PERIOD_CASES, ids=[p for p, _ in PERIOD_CASES])
def test_periods_are_calendar_periods_in_utc(tracker, period, included):
    # Costs are powers of two, so each period's total says exactly which moments it counted.
    for i, when in enumerate(MOMENTS.values()):
        add(tracker, "haiku", 2.0**i, when)
    summary = tracker.get_summary(period)
    expected = sum(2.0**i for i, name in enumerate(MOMENTS) if name in included)
    assert summary.total_cost == expected
    assert summary.total_requests == len(included)


def test_summary_has_every_field_of_the_specification(tracker):
    add(tracker, "opus", 0.5, START, task_type="security", success=0.0)
    add(tracker, "haiku", 0.25, START, task_type="typo")
    add(tracker, "haiku", 0.25, START, task_type="typo")
    tracker.record("sonnet", "t", input_tokens=0, output_tokens=0, total_cost=0.0, timestamp=START)
    s = tracker.get_summary("day")
    assert (
        s.period == "day"
        and s.start == datetime(2026, 1, 14, tzinfo=UTC)
        and s.end == s.start + timedelta(days=1)
    )
    assert (s.total_requests, s.total_cost, s.total_tokens) == (4, 1.0, 45)
    assert s.cost_by_model == {"haiku": 0.5, "opus": 0.5, "sonnet": 0.0}
    assert s.cost_by_task_type == {"security": 0.5, "typo": 0.5, "unknown": 0.0}
    assert s.requests_by_model == {"haiku": 2, "opus": 1, "sonnet": 1}
    assert s.success_rate_by_model == {"haiku": 1.0, "opus": 0.0, "sonnet": 1.0}
    assert s.success_rate == 0.75
    assert s.avg_cost_per_request == 0.25 and s.avg_tokens_per_request == 45 / 4
    # haiku and opus tie on cost: the tie goes to the name that sorts first.
    assert (s.most_expensive_model, s.most_used_model) == ("haiku", "haiku")


def test_an_empty_period_has_zeros_and_no_models(tracker):
    s = tracker.get_summary("week")
    assert (s.total_requests, s.total_cost, s.avg_cost_per_request, s.success_rate) == (0, 0.0, 0.0, None)
    assert s.most_expensive_model is None and s.cost_by_model == {}


@pytest.mark.parametrize("period", ["year", "", "DAY", None], ids=["year", "empty", "upper", "none"])
def test_unknown_period_is_refused_naming_the_allowed_ones(tracker, period):
    with pytest.raises(InvalidInputError, match="Allowed periods: hour, day, week, month, all"):
        tracker.get_summary(period)


def test_recent_entries_are_newest_first(tracker):
    for minutes in (5, 1, 3):
        tracker.record("haiku", f"t{minutes}", timestamp=START - timedelta(minutes=minutes))
    assert [e.task_id for e in tracker.get_recent_entries(2)] == ["t1", "t3"]
    assert tracker.get_recent_entries(0) == []
    with pytest.raises(InvalidInputError, match="n must be a whole number >= 0, got -1"):
        tracker.get_recent_entries(-1)


def test_clear_old_entries_deletes_only_older_ones(tracker, clock):
    for days in (0, 10, 100, 400):
        tracker.record("haiku", f"t{days}", timestamp=START - timedelta(days=days))
    assert tracker.clear_old_entries(days=90) == 2
    assert sorted(e.task_id for e in tracker.get_recent_entries(10)) == ["t0", "t10"]
    with pytest.raises(InvalidInputError, match="days must be a whole number >= 0, got -5"):
        tracker.clear_old_entries(days=-5)


def test_export_csv_writes_every_entry_with_every_field(tracker, tmp_path):
    tracker.record(
        "opus",
        "t1",
        "docs",
        input_tokens=3,
        output_tokens=4,
        description='Say "hi", then go',
        files=["a.py"],
        error=None,
        timestamp=START,
    )
    tracker.record("haiku", "t2", timestamp=START + timedelta(seconds=1))
    path = tmp_path / "out" / "costs.csv"
    assert tracker.export_csv(path) == 2
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["task_id"] for r in rows] == ["t1", "t2"]
    assert rows[0]["description"] == 'Say "hi", then go'
    assert rows[0]["files"] == '["a.py"]' and rows[0]["error"] == ""
    assert datetime.fromisoformat(rows[0]["timestamp"]) == START
    assert set(rows[0]) >= {
        "input_cost",
        "output_cost",
        "total_cost",
        "total_tokens",
        "duration_ms",
        "success",
    }


# Costs on a 1/1024 grid sum exactly in any order, so the database's sum must equal Python's to the bit.
entry_strategy = st.fixed_dictionaries(
    {
        "model": st.sampled_from(["haiku", "sonnet", "opus", "other"]),
        "task_type": st.sampled_from(["docs", "bug_fix", None]),
        "input_tokens": st.integers(0, 10**7),
        "output_tokens": st.integers(0, 10**6),
        "total_cost": st.integers(0, 10**6).map(lambda k: k / 1024),
        "success": st.sampled_from([0.0, 0.25, 0.5, 1.0]),
        "minutes_ago": st.integers(0, 60 * 24 * 40),
    }
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(entry_strategy, max_size=25), st.sampled_from(["hour", "day", "week", "month", "all"]))
def test_summary_equals_the_sums_of_the_entries_in_its_period(rows, period):
    clock = FakeClock()
    with tempfile.TemporaryDirectory() as tmp, CostTracker(Path(tmp) / "l.db", clock=clock) as tracker:
        for row in rows:
            row = dict(row)
            tracker.record(task_id="t", timestamp=START - timedelta(minutes=row.pop("minutes_ago")), **row)
        summary = tracker.get_summary(period)
        start = summary.start or datetime.min.replace(tzinfo=UTC)
        inside = [r for r in rows if start <= START - timedelta(minutes=r["minutes_ago"])]
    assert summary.total_requests == len(inside)
    assert summary.total_cost == sum(r["total_cost"] for r in inside)
    assert summary.total_tokens == sum(r["input_tokens"] + r["output_tokens"] for r in inside)
    assert (
        sum(summary.requests_by_model.values()) == sum(summary.requests_by_task_type.values()) == len(inside)
    )
    assert sum(summary.cost_by_model.values()) == pytest.approx(summary.total_cost)
    if inside:
        assert summary.most_used_model in {r["model"] for r in inside}
