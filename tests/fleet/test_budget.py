"""Reading a log within a row budget: whole tasks in or out, never more rows than allowed, the same sample
for the same seed, from a Parquet dataset directory as from a frame; sizes and budgets with clear errors."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from router._exceptions import InvalidInputError
from training.data.budget import budget_rows, parse_size, read_within_budget, rows_for_budget


def _log(rows_per_task: list[int]) -> pd.DataFrame:
    ids = [f"t{i:04d}" for i, n in enumerate(rows_per_task) for _ in range(n)]
    return pd.DataFrame(
        {
            "task_id": ids,
            "description": [f"task {t}" for t in ids],
            "model": "haiku",
            "success": 1.0,
            "cost_usd": 0.001,
            "timestamp": [f"2026-01-{1 + i % 28:02d}T00:00:00Z" for i in range(len(ids))],
        }
    )


@settings(max_examples=60)
@given(
    st.lists(st.integers(1, 6), min_size=1, max_size=80),
    st.integers(1, 200),
    st.integers(0, 3),
)
def test_a_sample_takes_whole_tasks_within_the_row_limit(rows_per_task, max_rows, seed):
    frame = _log(rows_per_task)
    try:
        kept, sample = read_within_budget(frame, max_rows=max_rows, seed=seed)
    except InvalidInputError as exc:
        assert "the first task alone has more than" in str(exc)
        return
    assert len(kept) == sample.rows_read <= max_rows
    assert sample.rows_total == len(frame) and sample.tasks_total == len(rows_per_task)
    assert kept["task_id"].nunique() == sample.tasks_read
    sizes = frame.groupby("task_id").size()
    assert (kept.groupby("task_id").size() == sizes[kept["task_id"].unique()]).all()  # no task split
    assert sample.sampled == (len(frame) > max_rows)
    again, _ = read_within_budget(frame, max_rows=max_rows, seed=seed)
    assert again.equals(kept)


def test_a_parquet_dataset_directory_gives_the_frames_sample(tmp_path: Path):
    frame = _log([3] * 300 + [1] * 300)
    directory = tmp_path / "export"
    directory.mkdir()
    for i, part in enumerate((frame.iloc[:700], frame.iloc[700:])):
        part.to_parquet(directory / f"part-{i}.parquet", index=False)
    from_files, sample = read_within_budget(directory, max_rows=500, seed=1)
    from_frame, same = read_within_budget(frame, max_rows=500, seed=1)
    assert sample == same and sample.sampled and sample.rows_read <= 500
    assert sorted(from_files["task_id"]) == sorted(from_frame["task_id"])
    window, in_window = read_within_budget(
        directory,
        max_rows=10**9,
        since=datetime(2026, 1, 15, tzinfo=UTC),
        until=datetime(2026, 1, 20, tzinfo=UTC),
    )
    stamps = pd.to_datetime(frame["timestamp"])
    expected = frame[(stamps >= "2026-01-15") & (stamps < "2026-01-20")]
    assert in_window.rows_total == len(expected) == len(window) and not in_window.sampled


def test_sizes_and_budgets():
    assert parse_size("4GB") == 4_000_000_000 and parse_size("512mb") == 512_000_000
    assert (
        parse_size("1GiB") == 1024**3 and parse_size("2.5G") == 2_500_000_000 and parse_size("1000") == 1000
    )
    assert 800_000 < rows_for_budget(parse_size("4GB")) < 1_000_000
    assert budget_rows("4GB", 500) == 500 and budget_rows(None, None) > 10**12
    for bad in ("lots", "-1GB", "4 XB"):
        with pytest.raises(InvalidInputError, match="memory budget must be a size"):
            parse_size(bad)
    with pytest.raises(InvalidInputError, match="leaves room for"):
        rows_for_budget(parse_size("100MB"))
    with pytest.raises(InvalidInputError, match="Outcome log not found"):
        read_within_budget(Path("/nonexistent/log"), max_rows=10)
