"""Several processes writing at once lose nothing; a writer killed mid-stream loses nothing it committed."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
from pathlib import Path

import ledger_workers
import pytest
from ledger_workers import row

from router import CostTracker
from router.ledger import schema as _schema

PROCESSES = 4
PER_PROCESS = 5_000

pytestmark = pytest.mark.slow


def location_of(ledger_location: dict) -> str:
    return ledger_location.get("database_url") or str(ledger_location["storage_path"])


def test_four_processes_writing_at_once_leave_every_row(ledger_location):
    location = location_of(ledger_location)
    CostTracker(**ledger_location).close()  # create the schema once, so the workers only write
    context = multiprocessing.get_context("spawn")
    with context.Pool(PROCESSES) as pool:
        args = [(location, w, PER_PROCESS, 200, 100) for w in range(PROCESSES)]
        assert pool.starmap(ledger_workers.write_entries, args) == [PER_PROCESS] * PROCESSES

    expected = [row(w, i) for w in range(PROCESSES) for i in range(PER_PROCESS)]
    with CostTracker(**ledger_location) as tracker:
        summary = tracker.get_summary("all")
        assert summary.total_requests == PROCESSES * PER_PROCESS == 20_000
        assert summary.total_cost == sum(r["total_cost"] for r in expected)
        assert summary.total_tokens == sum(r["input_tokens"] + r["output_tokens"] for r in expected)
        for model in ledger_workers.MODELS:
            mine = [r for r in expected if r["model"] == model]
            assert summary.requests_by_model[model] == len(mine)
            assert summary.cost_by_model[model] == sum(r["total_cost"] for r in mine)
        assert summary.success_rate == sum(r["success"] for r in expected) / len(expected)


def test_processes_racing_to_create_a_fresh_ledger_create_it_once(ledger_location):
    location = location_of(ledger_location)
    with multiprocessing.get_context("spawn").Pool(PROCESSES) as pool:
        ids = pool.starmap(ledger_workers.open_and_record, [(location, w) for w in range(PROCESSES)])
    assert sorted(ids) == list(range(1, PROCESSES + 1))
    with CostTracker(**ledger_location) as tracker, tracker._engine.connect() as conn:
        assert conn.execute(_schema.version_table.select()).scalars().all() == [_schema.SCHEMA_VERSION]


BATCH = 50


def test_a_writer_killed_mid_stream_leaves_every_committed_row(ledger_location):
    location = location_of(ledger_location)
    CostTracker(**ledger_location).close()
    worker = Path(ledger_workers.__file__)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path.cwd()), os.environ.get("PYTHONPATH", "")])}
    last = 0
    with subprocess.Popen(
        [sys.executable, str(worker), location, str(BATCH)], stdout=subprocess.PIPE, text=True, env=env
    ) as writer:
        assert writer.stdout is not None
        try:
            for line in writer.stdout:
                last = int(line)
                if last >= 40 * BATCH:
                    break
        finally:
            # SIGKILL: no cleanup and no rollback by the process itself; it is mid-way through a batch.
            writer.send_signal(signal.SIGKILL)
            writer.wait()
    assert writer.returncode == -signal.SIGKILL
    assert last >= 40 * BATCH

    with CostTracker(**ledger_location) as tracker:
        stored = tracker.get_summary("all").total_requests
        # Every printed count was committed; more may have been committed before the kill, but only whole
        # batches, since each batch is one transaction.
        assert stored >= last and stored % BATCH == 0
        tracker.record("haiku", "after-the-crash")
        if tracker.storage_path is not None:
            with tracker._engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
