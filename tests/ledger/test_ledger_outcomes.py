"""The ledger as an outcome log: export in the architecture's schema, import from it, both ways lossless."""

from __future__ import annotations

import json
from datetime import timedelta

import pandas as pd
import pytest
from conftest import START

from router import InvalidInputError
from router._outcome_log import COLUMNS, read_outcomes, write_outcomes


def fill(tracker) -> None:
    tracker.record(
        "haiku",
        "t1",
        "typo",
        input_tokens=100,
        output_tokens=20,
        success=0.0,
        description="Fix typo",
        files=["README.md"],
        propensity=0.5,
        duration_ms=120.0,
        timestamp=START,
        attempt=1,
        decision_id="d1",
    )
    tracker.record(
        "sonnet",
        "t1",
        "typo",
        input_tokens=100,
        output_tokens=20,
        success=1.0,
        description="Fix typo",
        files=["README.md"],
        timestamp=START + timedelta(seconds=5),
        attempt=2,
        decision_id="d1",
    )
    tracker.record("opus", "t2", total_cost=0.25, timestamp=START)  # no description: cannot train a router


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_export_writes_the_outcome_log_schema(tracker, tmp_path, suffix):
    fill(tracker)
    result = tracker.export_outcomes(tmp_path / f"out{suffix}")
    assert (result.rows, result.skipped) == (2, {"description empty": 1})
    log = read_outcomes(result.path)
    assert log.rejected == {}
    frame = log.frame
    assert list(frame.columns) == list(COLUMNS)
    assert list(frame["model"]) == ["haiku", "sonnet"]
    assert list(frame["success"]) == [0.0, 1.0]
    assert json.loads(frame["files"][0]) == ["README.md"]
    assert pd.Timestamp(frame["timestamp"][0]) == pd.Timestamp(START)
    assert frame["propensity"][0] == 0.5 and pd.isna(frame["propensity"][1])


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_an_export_imports_into_another_ledger_unchanged(make_tracker, tmp_path, suffix):
    source = make_tracker()
    fill(source)
    exported = source.export_outcomes(tmp_path / f"out{suffix}")
    target = make_tracker(storage_path=tmp_path / "other.db", database_url=None)
    assert target.import_outcomes(exported.path).rows == 2
    keep = (
        "model",
        "task_id",
        "task_type",
        "input_tokens",
        "output_tokens",
        "total_cost",
        "success",
        "description",
        "files",
        "timestamp",
        "propensity",
        "duration_ms",
    )
    rows = [e.model_dump(include=set(keep)) for e in source.get_recent_entries(10) if e.description]
    before = sorted(rows, key=lambda d: str(d["timestamp"]))
    after = sorted(
        (e.model_dump(include=set(keep)) for e in target.get_recent_entries(10)),
        key=lambda d: str(d["timestamp"]),
    )
    # JSONL keeps 15 significant digits (pandas' limit), so costs match to that precision, the rest exactly.
    assert [{**a, "total_cost": pytest.approx(a["total_cost"], rel=1e-14)} for a in after] == before


def test_import_of_a_benchmark_log_with_only_required_columns(tracker, tmp_path, clock):
    path = write_outcomes(
        [
            {"task_id": "b1", "description": "Add a cache", "model": m, "success": s, "cost_usd": c}
            for m, s, c in (("haiku", 0.0, 0.01), ("opus", 1.0, 0.3))
        ],
        tmp_path / "bench.jsonl",
    )
    assert tracker.import_outcomes(path).rows == 2
    summary = tracker.get_summary("all")
    assert summary.total_cost == pytest.approx(0.31) and summary.success_rate == 0.5
    assert {e.timestamp for e in tracker.get_recent_entries(5)} == {clock.now}


def test_a_log_with_invalid_rows_is_refused_whole_unless_asked(tracker, tmp_path):
    path = tmp_path / "bad.csv"
    pd.DataFrame(
        {
            "task_id": ["a", "b", "c"],
            "description": ["x", "y", "z"],
            "model": ["haiku"] * 3,
            "success": [1.0, 3.0, 0.0],
            "cost_usd": [0.1, 0.1, -1.0],
        }
    ).to_csv(path, index=False)
    with pytest.raises(
        InvalidInputError, match=r"invalid rows: 1 \(cost_usd not a finite number >= 0\), 1 \(success"
    ):
        tracker.import_outcomes(path)
    assert tracker.get_summary("all").total_requests == 0
    result = tracker.import_outcomes(path, skip_invalid=True)
    assert result.rows == 1 and sum(result.skipped.values()) == 2
    assert [e.task_id for e in tracker.get_recent_entries(5)] == ["a"]


IMPORT_ERRORS = [
    ("missing.csv", None, r"Outcome log not found"),
    ("log.txt", "x", r"Unknown outcome-log format '.txt'"),
    ("cols.csv", "task_id,model\na,haiku\n", r"missing required column\(s\): description, success, cost_usd"),
    (
        "files.csv",
        "task_id,description,model,success,cost_usd,files\na,d,haiku,1,0.1,not-json\n",
        r"files must be a list of paths or a JSON list",
    ),
    (
        "tokens.csv",
        "task_id,description,model,success,cost_usd,input_tokens\na,d,haiku,1,0.1,2.5\n",
        r"input_tokens must be a whole number of tokens, got 2.5",
    ),
]


@pytest.mark.parametrize(("name", "content", "message"), IMPORT_ERRORS, ids=[n for n, _, _ in IMPORT_ERRORS])
def test_import_errors_name_the_problem_and_write_nothing(tracker, tmp_path, name, content, message):
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    with pytest.raises(InvalidInputError, match=message):
        tracker.import_outcomes(path)
    assert tracker.get_summary("all").total_requests == 0


def test_export_refuses_an_unknown_extension_before_writing(tracker, tmp_path):
    with pytest.raises(InvalidInputError, match=r"Allowed extensions: \.csv, \.parquet, \.jsonl"):
        tracker.export_outcomes(tmp_path / "out.xlsx")
    assert not (tmp_path / "out.xlsx").exists()
