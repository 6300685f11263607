"""Reading an outcome log within a memory budget: whole tasks in or out, chosen by a seeded hash of task_id.

Training holds up to about 3.4 KB per logged row at its peak, so a log of any size is read in
two streaming passes over a Parquet file or dataset directory (``pyarrow.dataset``, one record batch at a
time): the first reads only ``task_id`` (and ``timestamp`` for a window) and hashes each row's task; the
second keeps the rows whose task hash lies below the threshold that lets at most ``max_rows`` rows in. Every
row of a task has the same hash, so a task is never split; the hash is seeded, so the same seed and log give
the same sample. :class:`LogSample` says what was read and what was left out, for the result, the command's
output and MLflow.
"""

from __future__ import annotations

import re
import sys
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from router._exceptions import InvalidInputError

#: Training's peak memory per logged row, and what the process holds before reading; a budget in bytes
#: becomes a row limit with them. Measured (``benchmarks.training_scale``): 1M rows in memory peak at 2.2 to
#: 2.3 GB; with the price-consistent cost fit over every (task, model) pair (before it was capped at 100k
#: tasks) 3.7 GB, and a budgeted 1.34M rows passed 4.5 GB. 3.9 KB a row keeps that margin.
TRAINING_BYTES_PER_ROW = 3_900
BASE_BYTES = 500 * 1024**2
BATCH_ROWS = 256_000
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12}


@dataclass(frozen=True)
class LogSample:
    """What a budgeted read took from the log: rows and tasks read of those in the window."""

    rows_total: int
    tasks_total: int
    rows_read: int
    tasks_read: int
    max_rows: int
    sampled: bool

    @property
    def share(self) -> float:
        """The share of the window's rows that were read."""
        return self.rows_read / self.rows_total if self.rows_total else 1.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "share": self.share}

    def describe(self) -> str:
        if not self.sampled:
            return f"read all {self.rows_read:,} rows ({self.tasks_read:,} tasks)"
        return (
            f"sampled {self.tasks_read:,} of {self.tasks_total:,} tasks ({self.rows_read:,} of "
            f"{self.rows_total:,} rows, {self.share:.1%}) to stay within {self.max_rows:,} rows"
        )


def parse_size(text: str) -> int:
    """Bytes in ``"4GB"``, ``"512MB"``, ``"2.5G"`` or a number of bytes (powers of 1000; ``GiB`` 1024)."""
    found = _SIZE.match(str(text))
    if not found:
        raise InvalidInputError(f"memory budget must be a size such as 4GB or 512MB, got {text!r}")
    number, unit = float(found.group(1)), (found.group(2) or "").lower()
    base = 1024 ** "kmgt".index(unit[0]) * 1024 if "i" in unit else _UNITS[unit[:1]]
    return int(number * base)


def rows_for_budget(budget_bytes: int) -> int:
    """The most rows training can take within ``budget_bytes`` of peak memory."""
    rows = (budget_bytes - BASE_BYTES) // TRAINING_BYTES_PER_ROW
    if rows < 1_000:
        raise InvalidInputError(
            f"memory budget {budget_bytes / 1e9:.2f} GB leaves room for {max(rows, 0):,} rows; training "
            f"needs about {(BASE_BYTES + 1_000 * TRAINING_BYTES_PER_ROW) / 1e9:.2f} GB for 1,000 rows"
        )
    return int(rows)


def task_hashes(task_ids: Any, seed: int) -> np.ndarray:
    """A seeded 64-bit hash per row's task id (the same task, the same hash)."""
    key = f"router-{seed:09d}"[-16:].rjust(16, "0")
    return pd.util.hash_array(np.asarray(task_ids, dtype=object), hash_key=key, categorize=False)


def read_within_budget(
    source: str | Path | pd.DataFrame,
    *,
    max_rows: int,
    since: datetime | None = None,
    until: datetime | None = None,
    seed: int = 0,
) -> tuple[pd.DataFrame, LogSample]:
    """Rows of whole tasks from ``source`` (a Parquet file or dataset directory, or a frame), at most
    ``max_rows`` of them, from the rows whose timestamp lies in ``[since, until)`` when a window is given."""
    if max_rows < 1:
        raise InvalidInputError(f"max_rows must be >= 1, got {max_rows!r}")
    if isinstance(source, pd.DataFrame):
        frame = _in_window(source, since, until)
        hashes = task_hashes(frame["task_id"].to_numpy(), seed)
        threshold, sample = _threshold(hashes, max_rows)
        kept = frame[hashes < threshold] if sample.sampled else frame
        return kept.reset_index(drop=True), sample
    dataset = _dataset(source)
    window = since is not None or until is not None
    columns = ["task_id", "timestamp"] if window else ["task_id"]
    parts = []
    for batch in _batches(dataset, columns):
        part = batch.to_pandas()
        if window:
            part = _in_window(part, since, until)
        parts.append(task_hashes(part["task_id"].to_numpy(), seed))
    hashes = np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint64)
    del parts
    threshold, sample = _threshold(hashes, max_rows)
    del hashes
    kept = []
    for batch in _batches(dataset, None):
        part = batch.to_pandas()
        if window:
            part = _in_window(part, since, until)
        if sample.sampled:
            part = part[task_hashes(part["task_id"].to_numpy(), seed) < threshold]
        if len(part):
            kept.append(part)
    frame = pd.concat(kept, ignore_index=True) if kept else dataset.schema.empty_table().to_pandas()
    return frame, sample


def _batches(dataset: Any, columns: list[str] | None) -> Any:
    """One record batch at a time: pyarrow reads 16 batches of 4 files ahead by default, which on a wide log
    held gigabytes in flight."""
    return dataset.to_batches(
        columns=columns, batch_size=BATCH_ROWS, batch_readahead=1, fragment_readahead=1, use_threads=False
    )


def _threshold(hashes: np.ndarray, max_rows: int) -> tuple[np.uint64, LogSample]:
    """The hash below which at most ``max_rows`` rows lie, taking whole tasks, and what that keeps."""
    ordered = np.sort(hashes)
    rows_total = len(ordered)
    starts = np.flatnonzero(np.diff(ordered)) + 1 if rows_total else np.zeros(0, dtype=np.int64)
    tasks_total = len(starts) + (1 if rows_total else 0)
    if rows_total <= max_rows:
        top = np.uint64(np.iinfo(np.uint64).max)
        return top, LogSample(rows_total, tasks_total, rows_total, tasks_total, max_rows, False)
    threshold = ordered[max_rows]  # rows with a smaller hash: whole tasks, at most max_rows of them
    rows_read = int(np.searchsorted(ordered, threshold, side="left"))
    tasks_read = int(np.searchsorted(starts, rows_read, side="left")) + (1 if rows_read else 0)
    if rows_read == 0:
        raise InvalidInputError(
            f"the first task alone has more than {max_rows:,} rows; raise the memory budget or --max-rows"
        )
    return threshold, LogSample(rows_total, tasks_total, rows_read, tasks_read, max_rows, True)


def _dataset(source: str | Path) -> Any:
    import pyarrow.dataset as ds

    path = Path(source)
    if not path.exists():
        raise InvalidInputError(f"Outcome log not found: {str(path)!r}")
    if path.is_dir() and not any(path.rglob("*.parquet")):
        raise InvalidInputError(f"{str(path)!r} holds no .parquet files; give an exported Parquet dataset")
    try:
        return ds.dataset(path, format="parquet")
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise InvalidInputError(f"Cannot read {str(path)!r} as a Parquet dataset: {exc}") from exc


def _in_window(frame: pd.DataFrame, since: datetime | None, until: datetime | None) -> pd.DataFrame:
    if since is None and until is None:
        return frame
    if "timestamp" not in frame.columns:
        raise InvalidInputError("a time window needs the log's timestamp column, and this log has none")
    stamps = pd.to_datetime(frame["timestamp"], utc=True, format="ISO8601", errors="coerce")
    keep = stamps.notna()
    if since is not None:
        keep &= stamps >= pd.Timestamp(since)
    if until is not None:
        keep &= stamps < pd.Timestamp(until)
    return frame[keep.to_numpy()]


def budget_rows(memory_budget: str | int | None, max_rows: int | None) -> int:
    """The row limit from ``--max-rows`` or a memory budget (``"4GB"`` or bytes); the smaller of the two."""
    limits = [max_rows] if max_rows is not None else []
    if memory_budget is not None:
        size = parse_size(memory_budget) if isinstance(memory_budget, str) else int(memory_budget)
        limits.append(rows_for_budget(size))
    return min(limits) if limits else sys.maxsize
