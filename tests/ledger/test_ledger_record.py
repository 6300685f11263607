"""Recording attempts: costs from the catalog, every field kept, bad input refused with nothing written."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import pytest

from router import Catalog, CostTracker, InvalidInputError, UnknownModelError
from router._types import ComplexityLevel, TaskType


def count(tracker: CostTracker) -> int:
    return tracker.get_summary("all").total_requests


def test_costs_come_from_the_catalog_when_not_given(tracker):
    entry = tracker.record("sonnet", "t1", "bug_fix", input_tokens=10_000, output_tokens=5_000)
    sonnet = Catalog.default().get("sonnet")
    assert entry.input_cost == pytest.approx(sonnet.cost(10_000, 0))
    assert entry.output_cost == pytest.approx(sonnet.cost(0, 5_000))
    assert entry.total_cost == pytest.approx(sonnet.cost(10_000, 5_000))
    assert entry.total_tokens == 15_000


def test_given_costs_are_kept_and_every_field_round_trips(tracker, clock):
    stamp = datetime(2026, 1, 14, 11, 0, tzinfo=timezone(timedelta(hours=2)))
    stored = tracker.record(
        "opus",
        "t9",
        TaskType.SECURITY,
        input_tokens=5_000,
        output_tokens=2_000,
        input_cost=0.015,
        output_cost=0.030,
        success=0.5,
        error="timeout",
        duration_ms=1250.5,
        description="Fix the auth bypass",
        files=["auth.py", "middleware.py"],
        attempt=2,
        decision_id="d-1",
        propensity=0.25,
        level=ComplexityLevel.CRITICAL,
        timestamp=stamp,
    )
    [read] = tracker.get_recent_entries(1)
    assert read == stored
    assert read.id is not None
    assert read.timestamp == stamp and read.timestamp.tzinfo == UTC
    assert (read.task_type, read.level) == ("security", "critical")
    assert read.total_cost == pytest.approx(0.045)
    assert read.files == ["auth.py", "middleware.py"]


def test_total_cost_alone_is_accepted_for_models_outside_the_catalog(tracker):
    entry = tracker.record("gpt-x", "t1", input_tokens=10, output_tokens=5, total_cost=0.002)
    assert (entry.input_cost, entry.output_cost, entry.total_cost) == (None, None, 0.002)


def test_unknown_model_without_costs_is_refused(tracker):
    with pytest.raises(UnknownModelError, match=r"Unknown model 'gpt-x'\. Known models: haiku, sonnet, opus"):
        tracker.record("gpt-x", "t1", input_tokens=10)
    assert count(tracker) == 0


def test_bool_success_from_the_specification_is_accepted(tracker):
    assert tracker.record("haiku", "t1", success=False).success == 0.0


def test_timestamp_defaults_to_the_injected_clock(tracker, clock):
    assert tracker.record("haiku", "t1").timestamp == clock.now


BAD_FIELDS = [
    ({"input_tokens": -1}, r"input_tokens must be a whole number >= 0, got -1"),
    ({"output_tokens": 2.5}, r"output_tokens must be a whole number >= 0, got 2.5"),
    (
        {"input_cost": -0.5, "output_cost": 0.1},
        r"input_cost must be a finite number of dollars >= 0, got -0.5",
    ),
    (
        {"input_cost": math.nan, "output_cost": 0.1},
        r"input_cost must be a finite number of dollars >= 0, got nan",
    ),
    ({"total_cost": math.inf}, r"total_cost must be a finite number of dollars >= 0, got inf"),
    ({"input_cost": 0.1}, r"give both input_cost and output_cost, or neither"),
    ({"input_cost": 0.1, "output_cost": 0.1, "total_cost": 1.0}, r"total_cost \(1.0\) must equal"),
    ({"success": 1.5}, r"success: Input should be less than or equal to 1 \(got 1.5\)"),
    ({"success": math.nan}, r"success: Input should be a finite number"),
    ({"success": -0.1}, r"success: Input should be greater than or equal to 0"),
    ({"timestamp": "yesterday"}, r"timestamp must be ISO 8601 .*got 'yesterday'"),
    ({"timestamp": 12}, r"timestamp must be an ISO 8601 string or a datetime, got 12"),
    ({"propensity": 0.0}, r"propensity: Input should be greater than 0 \(got 0.0\)"),
    ({"attempt": 0}, r"attempt: Input should be greater than or equal to 1"),
    ({"duration_ms": -3.0}, r"duration_ms: Input should be greater than or equal to 0"),
    ({"files": "not json"}, r"files must be a list of paths or a JSON list of strings, got 'not json'"),
    ({"task_id": ""}, r"task_id: String should have at least 1 character"),
]


@pytest.mark.parametrize(
    ("fields", "message"),
    BAD_FIELDS,
    ids=[next(iter(f)) + "-" + str(i) for i, (f, _) in enumerate(BAD_FIELDS)],
)
def test_bad_values_are_refused_naming_the_field_and_nothing_is_written(tracker, fields, message):
    with pytest.raises(InvalidInputError, match=message):
        tracker.record(**{"model": "haiku", "task_id": "t1", **fields})
    assert count(tracker) == 0


def test_a_batch_with_one_bad_row_writes_none_of_it(tracker):
    rows = [{"model": "haiku", "task_id": f"t{i}", "input_tokens": 10} for i in range(50)]
    rows[37]["success"] = 2
    with pytest.raises(InvalidInputError, match=r"Invalid row 37: success"):
        tracker.record_many(rows)
    assert count(tracker) == 0
    rows[37]["success"] = 1
    assert tracker.record_many(rows) == 50
    assert count(tracker) == 50


def test_record_many_accepts_a_generator_and_an_empty_batch(tracker):
    assert tracker.record_many(iter([])) == 0
    assert tracker.record_many({"model": "haiku", "task_id": str(i)} for i in range(3)) == 3


def test_record_many_refuses_an_unknown_field_naming_the_allowed_ones(tracker):
    with pytest.raises(
        InvalidInputError, match=r"Invalid row 1: unknown field\(s\) colour\. Allowed: answer, attempt, "
    ):
        tracker.record_many(
            [{"model": "haiku", "task_id": "a"}, {"model": "haiku", "task_id": "b", "colour": 1}]
        )
    assert count(tracker) == 0


def test_numpy_numbers_are_accepted(tracker):
    import numpy as np

    entry = tracker.record(
        "haiku", "t", input_tokens=np.int64(10), output_tokens=np.int32(2), success=np.float64(1)
    )
    assert (entry.input_tokens, entry.total_tokens) == (10, 12)
