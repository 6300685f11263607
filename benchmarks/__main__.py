"""``make bench``: every benchmark section in one run, written to ``benchmarks/results/latest.{md,json}``.

    python -m benchmarks                    # full: about 20 minutes on 2 cores
    python -m benchmarks --quick            # CI-sized, a few minutes
    python -m benchmarks --sections latency,quality
    python -m benchmarks --update-docs      # also copy the tables into docs/benchmarks.md (make bench)

A section that fails is recorded as failed with its error, and the others still run: one broken part
should not hide the rest of the table.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks import (
    _ledger,
    _report,
    batch,
    cascade,
    holdout_sets,
    install,
    latency,
    ope,
    quality,
    quality_sets,
    telemetry,
    training_scale,
    transfer,
)
from benchmarks._machine import describe
from benchmarks._util import ROOT, progress

SECTIONS: dict[str, Callable[..., dict[str, Any]]] = {
    "latency": latency.run,
    "cascade": cascade.run,
    "batch": batch.run,
    "quality": quality.run,
    "sets": quality_sets.run,
    "holdout": holdout_sets.run,
    "transfer": transfer.section,
    "ledger": _ledger.run,
    "training": training_scale.run,
    "telemetry": telemetry.run,
    "ope": ope.run,
    "install": install.run,
}


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="CI-sized runs (smaller sizes, fewer repeats)")
    parser.add_argument(
        "--sections", default=",".join(SECTIONS), help=f"comma-separated, from: {', '.join(SECTIONS)}"
    )
    parser.add_argument("--out-dir", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument(
        "--update-docs",
        "--update-readme",  # its old name, from when the tables were in the README
        dest="update_docs",
        action="store_true",
        help="copy the tables into docs/benchmarks.md (the docs site's benchmarks page)",
    )
    args = parser.parse_args(argv)
    chosen = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; known: {', '.join(SECTIONS)}")
    args.out_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    meta: dict[str, Any] = {"quick": args.quick, "sections": chosen, "load_before": _load()}
    results: dict[str, Any] = {"machine": describe(), "meta": meta, "sections": {}}
    progress(f"benchmarks ({'quick' if args.quick else 'full'}): {', '.join(chosen)}")
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        for name in chosen:
            section_started = time.perf_counter()
            # The quality plot belongs beside the table; everything else is scratch.
            workdir = args.out_dir if name == "quality" else Path(tmp) / name
            workdir.mkdir(parents=True, exist_ok=True)
            try:
                result = SECTIONS[name](args.quick, workdir)
            except Exception as exc:  # one broken section must not hide the others
                traceback.print_exc()
                result = {"status": "error", "error": f"{type(exc).__name__}: {exc}"}
            result["section_s"] = time.perf_counter() - section_started
            results["sections"][name] = result
            progress(f"{name}: done in {result['section_s']:.0f} s")
    meta["total_s"] = time.perf_counter() - started
    meta["load_after"] = _load()
    md = _report.write(results, args.out_dir)
    if args.update_docs:
        _report.update_page(md.read_text())
    progress(f"wrote {md} and {md.with_suffix('.json')} in {meta['total_s']:.0f} s")
    print(md.read_text())
    failed = [n for n, r in results["sections"].items() if r.get("status") == "error"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
