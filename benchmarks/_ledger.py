"""The ledger section: calls ``benchmarks.ledger`` (written with the ledger, issue 3) when it is there.

The ledger's module owns what is measured and how; this adapter only runs it at the sizes the report needs,
in a worker process (so a ledger failure or its memory never touches the other sections), and says "not
available" when the module or one of its measurements does not exist yet.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import inspect
import tempfile
from pathlib import Path
from typing import Any

from benchmarks._util import Progress, progress, run_worker, write_json

FULL_SIZES = (100_000, 1_000_000)
QUICK_SIZES = (20_000,)
PROCESSES = 4


def available() -> bool:
    return importlib.util.find_spec("benchmarks.ledger") is not None


def measure(rows: int, processes: int) -> dict[str, Any]:
    """One measurement through the ledger module's ``run``: single process, or ``processes`` writers when
    its ``run`` takes a ``processes`` argument (or it has ``run_processes``)."""
    ledger = importlib.import_module("benchmarks.ledger")
    run = ledger.run
    if processes == 1:
        return dict(run(rows=rows))
    if "processes" in inspect.signature(run).parameters:
        return dict(run(rows=rows, processes=processes))
    parallel = getattr(ledger, "run_processes", None)
    if parallel is None:
        return {"status": "not available", "reason": "benchmarks.ledger has no multi-process measurement"}
    return dict(parallel(rows=rows, processes=processes))


def run(quick: bool = False, workdir: Path | None = None, say: Progress = progress) -> dict[str, Any]:
    if not available():
        say("ledger: not available (benchmarks/ledger.py is not in this checkout)")
        return {"status": "not available", "reason": "benchmarks/ledger.py (issue 3) is not in this checkout"}
    out: dict[str, Any] = {"status": "ok", "single": [], "processes": None}
    with tempfile.TemporaryDirectory(prefix="bench-ledger-") as tmp:
        work = Path(workdir or tmp)
        for rows in QUICK_SIZES if quick else FULL_SIZES:
            say(f"ledger: {rows:,} entries, one process, batched")
            found, info = run_worker(
                "benchmarks._ledger", ["--rows", str(rows)], work / f"ledger-{rows}.json"
            )
            out["single"].append(found or {"status": "failed", "rows": rows, "reason": str(info)})
        rows = (QUICK_SIZES if quick else FULL_SIZES)[0]
        say(f"ledger: {rows:,} entries, {PROCESSES} processes")
        found, info = run_worker(
            "benchmarks._ledger",
            ["--rows", str(rows), "--processes", str(PROCESSES)],
            work / "ledger-procs.json",
        )
        out["processes"] = found or {"status": "failed", "rows": rows, "reason": str(info)}
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks._ledger")
    parser.add_argument("--rows", type=int, required=True)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    write_json(args.out, measure(args.rows, args.processes))


if __name__ == "__main__":
    main()
