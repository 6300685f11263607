"""Ledger throughput: batched inserts per second and ``get_summary`` time over a million entries (SQLite).

Goals from issue 3: >= 5,000 entries/s when recording in batches; a summary over 1,000,000 entries in <= 1 s.
This is a measurement, not a test: it prints a table and returns the figures; nothing here asserts a time.

    python -m benchmarks.ledger            # 1,000,000 entries
    python -m benchmarks.ledger --quick    # 50,000 entries, for a smoke run
    python -m benchmarks.ledger --rows N --batch 1000 --database-url postgresql+psycopg://...
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from router import CostTracker

FULL_ROWS = 1_000_000
QUICK_ROWS = 50_000
GOAL_INSERTS_PER_S = 5_000
GOAL_SUMMARY_S = 1.0
#: A fixed "now" and seed, so two runs store the same ledger.
NOW = datetime(2026, 1, 31, 12, tzinfo=UTC)
SEED = 20260131

_MODELS = ("haiku", "sonnet", "opus")
_TYPES = ("typo", "docs", "tests", "bug_fix", "refactor", "new_feature", "security")


def synthetic_rows(n: int, seed: int = SEED) -> Iterator[dict[str, Any]]:
    """Entries spread over the 60 days before NOW; costs come from the catalog (tokens only given)."""
    rng = random.Random(seed)
    span_us = 60 * 24 * 3600 * 10**6
    for i in range(n):
        yield {
            "model": rng.choice(_MODELS),
            "task_id": f"task-{i}",
            "task_type": rng.choice(_TYPES),
            "input_tokens": rng.randrange(100, 20_000),
            "output_tokens": rng.randrange(50, 4_000),
            "success": rng.random() < 0.8,
            "duration_ms": rng.uniform(200, 5_000),
            "description": f"Synthetic task {i}",
            "timestamp": NOW - timedelta(microseconds=rng.randrange(span_us)),
        }


def _batches(rows: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def run(
    rows: int = FULL_ROWS, batch: int = 1_000, database_url: str | None = None, workdir: Path | None = None
) -> dict[str, Any]:
    """Fill a fresh ledger with ``rows`` entries in batches of ``batch``, then time a summary per period."""
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        path = None if database_url else Path(tmp) / "bench-ledger.db"
        with CostTracker(path, database_url, clock=lambda: NOW) as tracker:
            started = time.perf_counter()
            for chunk in _batches(synthetic_rows(rows), batch):
                tracker.record_many(chunk)
            insert_s = time.perf_counter() - started
            summaries = {}
            for period in ("all", "month", "week", "day"):
                started = time.perf_counter()
                summary = tracker.get_summary(period)
                summaries[period] = (time.perf_counter() - started, summary.total_requests)
            backend = tracker.url.split(":", 1)[0]
    return {
        "backend": backend,
        "rows": rows,
        "batch": batch,
        "insert_seconds": insert_s,
        "inserts_per_second": rows / insert_s,
        "summary_seconds": {p: s for p, (s, _) in summaries.items()},
        "summary_rows": {p: n for p, (_, n) in summaries.items()},
        "goals": {"inserts_per_second": GOAL_INSERTS_PER_S, "summary_seconds": GOAL_SUMMARY_S},
    }


def _writer(path: str, rows: int, batch: int, seed: int) -> None:
    with CostTracker(Path(path), clock=lambda: NOW) as tracker:
        for chunk in _batches(synthetic_rows(rows, seed=seed), batch):
            tracker.record_many(chunk)


def run_processes(rows: int = FULL_ROWS, processes: int = 4, batch: int = 1_000) -> dict[str, Any]:
    """``processes`` writers sharing one SQLite ledger (WAL), ``rows`` entries in all: the aggregate rate."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "bench-ledger.db")
        CostTracker(Path(path)).close()  # create the schema once, so the writers only insert
        per = rows // processes
        workers = [
            context.Process(target=_writer, args=(path, per, batch, SEED + i)) for i in range(processes)
        ]
        started = time.perf_counter()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        seconds = time.perf_counter() - started  # includes the workers' start-up: a conservative rate
        with CostTracker(Path(path)) as tracker:
            stored = tracker.get_summary("all").total_requests
    return {
        "backend": "sqlite",
        "processes": processes,
        "rows": per * processes,
        "stored": stored,
        "insert_seconds": seconds,
        "inserts_per_second": per * processes / seconds,
    }


def report(result: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    def verdict(ok: bool) -> str:
        return "[green]meets goal[/]" if ok else "[red]misses goal[/]"

    table = Table(
        title=f"Ledger benchmark ({result['backend']}, {result['rows']:,} entries, "
        f"batches of {result['batch']:,})"
    )
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("goal", justify="right")
    table.add_column("")
    rate = result["inserts_per_second"]
    table.add_row(
        "batched inserts",
        f"{rate:,.0f} entries/s",
        f">= {GOAL_INSERTS_PER_S:,}/s",
        verdict(rate >= GOAL_INSERTS_PER_S),
    )
    for period, seconds in result["summary_seconds"].items():
        n = result["summary_rows"][period]
        table.add_row(
            f"get_summary({period!r}) over {n:,} entries",
            f"{seconds * 1000:,.1f} ms",
            f"<= {GOAL_SUMMARY_S:g} s",
            verdict(seconds <= GOAL_SUMMARY_S),
        )
    Console().print(table)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ledger", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help=f"{QUICK_ROWS:,} entries instead of {FULL_ROWS:,}"
    )
    parser.add_argument("--rows", type=int, help="number of entries (overrides --quick)")
    parser.add_argument("--batch", type=int, default=1_000, help="entries per record_many call")
    parser.add_argument("--database-url", help="benchmark this database instead of a temporary SQLite file")
    args = parser.parse_args(argv)
    rows = args.rows or (QUICK_ROWS if args.quick else FULL_ROWS)
    result = run(rows, args.batch, args.database_url)
    report(result)
    return result


if __name__ == "__main__":
    main()
