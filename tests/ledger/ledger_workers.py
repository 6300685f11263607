"""Code that runs in other processes for the concurrency and crash tests (importable under spawn).

Run as a script it is the crash test's writer: ``python ledger_workers.py URL_OR_PATH BATCH`` records
batches forever and prints the number of committed rows after each commit.
"""

from __future__ import annotations

import sys
from typing import Any

from router import CostTracker

MODELS = ("haiku", "sonnet", "opus")


def row(worker: int, i: int) -> dict[str, Any]:
    """A deterministic entry; its cost is on a 1/1024 grid so any order of summing gives the exact total."""
    return {
        "model": MODELS[(worker + i) % 3],
        "task_id": f"w{worker}-{i}",
        "task_type": "docs" if i % 2 else "bug_fix",
        "input_tokens": 100 + i % 50,
        "output_tokens": 10 + i % 7,
        "total_cost": (1 + (worker * 7 + i) % 13) / 1024,
        "success": (i % 4) / 4,
    }


def open_tracker(location: str) -> CostTracker:
    if "://" in location:
        return CostTracker(database_url=location)
    return CostTracker(location)


def write_entries(location: str, worker: int, n: int, singles: int, batch: int) -> int:
    """The first ``singles`` entries one commit each (most contention), the rest in batches."""
    with open_tracker(location) as tracker:
        for i in range(singles):
            tracker.record(**row(worker, i))
        for start in range(singles, n, batch):
            tracker.record_many(row(worker, i) for i in range(start, min(start + batch, n)))
    return n


def open_and_record(location: str, worker: int) -> int:
    """Open a ledger that may not exist yet (racing the other workers to create it) and record one row."""
    with open_tracker(location) as tracker:
        return tracker.record(**row(worker, 0)).id or 0


def write_forever(location: str, batch: int) -> None:
    with open_tracker(location) as tracker:
        committed = 0
        while True:
            committed += tracker.record_many(row(0, committed + i) for i in range(batch))
            print(committed, flush=True)


if __name__ == "__main__":
    write_forever(sys.argv[1], int(sys.argv[2]))
