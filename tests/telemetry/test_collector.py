"""The collector loses nothing it does not count, never blocks or raises, and keeps what it flushed."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from router import FallbackHandler, Router
from router.ledger.schema import entries as attempts  # the collector writes attempts to the ledger
from router.telemetry import Collector
from router.telemetry.ledger_attempts import read_attempts
from router.telemetry.schema import breaker_openings, decisions, outcomes
from router.telemetry.store import Store
from router.telemetry.window import Window
from tests.telemetry import telemetry_workers

THREADS = 8
PER_THREAD = 10_000


def count(location: dict[str, Any], table: Any) -> int:
    store = Store.open(**location)
    try:
        with store.read() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())
    finally:
        store.close()


def hammer(collector: Collector, decision: Any) -> None:
    """8 threads record 10,000 events each, decisions and attempts alternating, all at once."""
    start = threading.Barrier(THREADS)

    def work(worker: int) -> None:
        start.wait()
        for i in range(PER_THREAD):
            if i % 2:
                collector.record_decision(decision, 1e-4, "Fix the flaky login test")
            else:
                fields = {"model": "haiku", "task_id": f"w{worker}-{i}", "success": True, "attempt": 1}
                collector.record_attempt(fields, "first", None)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


@pytest.mark.slow
def test_eight_threads_lose_nothing(db):
    decision = Router().route("Fix the flaky login test")
    with Collector(**db) as collector:
        hammer(collector, decision)
        assert collector.flush(timeout_s=120)
        stats = collector.stats()
    total = THREADS * PER_THREAD
    assert (stats.written, stats.dropped, stats.failed, stats.pending) == (total, 0, 0, 0)
    assert count(db, decisions) == total // 2
    assert count(db, attempts) == total // 2


@pytest.mark.slow
def test_a_tiny_queue_drops_exactly_what_it_counts(db):
    decision = Router().route("Fix the flaky login test")
    # A long interval and a batch bigger than the queue: the writer drains only now and then.
    with Collector(**db, max_queue=50, batch_size=1_000, flush_interval_s=0.05) as collector:
        hammer(collector, decision)
        assert collector.flush(timeout_s=120)
        stats = collector.stats()
    total = THREADS * PER_THREAD
    assert stats.dropped > 0
    assert stats.failed == 0 and stats.pending == 0
    assert stats.written + stats.dropped == total
    assert count(db, decisions) + count(db, attempts) == stats.written


def location_of(db: dict[str, Any]) -> str:
    return str(db.get("storage_path") or db["database_url"])


def worker_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path.cwd()), os.environ.get("PYTHONPATH", "")])}


@pytest.mark.slow
def test_a_process_killed_mid_stream_keeps_every_flushed_batch(db):
    Store.open(**db).close()  # create the tables before the writer races to
    script = Path(telemetry_workers.__file__)
    last = 0
    with subprocess.Popen(
        [sys.executable, str(script), location_of(db), "forever"],
        stdout=subprocess.PIPE,
        text=True,
        env=worker_env(),
    ) as writer:
        assert writer.stdout is not None
        try:
            for line in writer.stdout:
                last = int(line)
                if last >= 30 * telemetry_workers.BURST:
                    break
        finally:
            writer.send_signal(signal.SIGKILL)  # no atexit, no flush: only what was committed survives
            writer.wait()
    assert writer.returncode == -signal.SIGKILL
    assert count(db, decisions) >= last >= 30 * telemetry_workers.BURST


def test_exit_without_close_flushes_the_queue(tmp_path):
    location = tmp_path / "ledger.db"
    script = Path(telemetry_workers.__file__)
    result = subprocess.run(
        [sys.executable, str(script), str(location), "2500"],
        env=worker_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert count({"storage_path": location}, decisions) == 2500


def test_a_router_and_a_handler_record_decisions_attempts_outcomes_and_breaker_openings(tmp_path):
    location = {"storage_path": tmp_path / "ledger.db"}
    with Collector(**location) as collector:
        router = Router(collector=collector)
        handler = FallbackHandler(collector=collector, sleep=lambda s: None)
        decision = router.route("Fix typo in README")
        router.route_many(["Add a docstring", "Refactor the scheduler"])

        def down_then_up(model: str) -> str:
            if model == decision.model:
                raise ConnectionError("connection refused")
            return "ok"

        for i in range(6):  # enough failures on one model to open its breaker
            handler.execute_decision(decision, f"t{i}", down_then_up)
        assert collector.flush()
    assert count(location, decisions) == 3
    assert count(location, outcomes) == 6
    assert count(location, breaker_openings) >= 1
    store = Store.open(**location)
    with store.read() as conn:
        everything = Window(datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
        kinds = Counter(a.kind for a in read_attempts(conn, everything))
        described = conn.execute(select(attempts.c.description, attempts.c.level).distinct()).all()
        linked = conn.execute(
            select(func.count()).select_from(outcomes).where(outcomes.c.decision_id == decision.decision_id)
        ).scalar_one()
    store.close()
    assert kinds.get("first", 0) >= 1 and kinds.get("fallback", 0) >= 1
    assert linked == 6
    # The ledger rows carry what the decision knew, as a CostTracker's would.
    assert described == [("Fix typo in README", decision.complexity.level.value)]


class Broken:
    """A sink whose every method raises."""

    def __getattr__(self, name: str) -> Any:
        def fail(*args: Any, **kwargs: Any) -> None:
            raise RuntimeError("sink down")

        return fail


def test_a_failing_sink_never_reaches_the_decision_or_the_task(caplog):
    with caplog.at_level(logging.WARNING, logger="router"):
        decision = Router(collector=Broken()).route("Fix typo in README")  # type: ignore[arg-type]
        result = FallbackHandler(collector=Broken()).execute_decision(  # type: ignore[arg-type]
            decision, "t1", lambda model: "done"
        )
    assert decision.model == "haiku" and result == "done"
    assert "sink down" in caplog.text


def test_a_malformed_record_is_counted_failed_and_the_writer_goes_on(tmp_path):
    with Collector(tmp_path / "ledger.db") as collector:
        collector.record_decision(object(), 0.0, "")  # type: ignore[arg-type]
        collector.record_decision(Router().route("Fix typo in README"), 0.0, "Fix typo in README")
        assert collector.flush()
        stats = collector.stats()
    assert (stats.written, stats.failed) == (1, 1)


def test_without_a_collector_decisions_are_unchanged():
    plain, recorded = Router(), Router(collector=None)
    a, b = plain.route("Fix typo in README"), recorded.route("Fix typo in README")
    assert a.model_dump(exclude={"decision_id"}) == b.model_dump(exclude={"decision_id"})


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"max_queue": 0}, "max_queue"),
        ({"batch_size": 1.5}, "batch_size"),
        ({"flush_interval_s": 0}, "flush_interval_s"),
    ],
    ids=["empty queue", "fractional batch", "zero interval"],
)
def test_bad_settings_are_refused(tmp_path, kwargs, match):
    from router import InvalidInputError

    with pytest.raises(InvalidInputError, match=match):
        Collector(tmp_path / "ledger.db", **kwargs)


def test_a_database_that_refuses_the_writes_costs_the_events_not_the_caller(tmp_path, caplog):
    location = tmp_path / "ledger.db"
    with Collector(location, flush_interval_s=0.01) as collector:
        with collector.store.write_lock() as conn:
            conn.exec_driver_sql("DROP TABLE telemetry_decisions")  # every insert now fails
        decision = Router(collector=collector).route("Fix typo in README")
        with caplog.at_level(logging.ERROR, logger="router.telemetry"):
            assert collector.flush(timeout_s=60)
        stats = collector.stats()
    assert decision.model == "haiku"
    assert (stats.written, stats.failed, stats.dropped) == (0, 1, 0)
    assert "1 events lost" in caplog.text
