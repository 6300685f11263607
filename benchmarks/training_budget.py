"""Retraining from a log larger than memory: a 20-million-row Parquet log trained within a 4 GB budget.

The log is the synthetic generator's full-information log over the default catalog, written chunk by chunk
(``CHUNK_TASKS`` tasks per Parquet file, each chunk with its own seed and task-id prefix) into a temporary
directory that is deleted afterwards: it is never held in memory whole, and never committed. A worker
process then does what ``router retrain`` does with ``--memory-budget``: read the log in two streaming
passes, keeping whole tasks chosen by a seeded hash up to the rows the budget allows
(``training.data.budget``), and ``train_router`` on them (no MLflow). The worker's peak resident memory
(``ru_maxrss``, the read included) and its times are reported beside the 1M-row in-memory figure of
``benchmarks.training_scale`` (``results/training-1m.json``).

    nice python -m benchmarks.training_budget [--rows 20000000] [--budget 4GB] [--out results/x.json]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._util import ROOT, Progress, progress, run_worker, write_json

DEFAULT_ROWS = 20_000_000
DEFAULT_BUDGET = "4GB"
CHUNK_TASKS = 250_000
N_MODELS = 3
RESULT = ROOT / "benchmarks" / "results" / "training-budget-20m.json"
IN_MEMORY_1M = ROOT / "benchmarks" / "results" / "training-1m.json"


def write_log(directory: Path, rows: int, say: Progress = progress) -> dict[str, Any]:
    """Write ``rows`` synthetic full-information rows as Parquet files, one chunk at a time."""
    from training.synthetic import generate_outcomes

    started = time.perf_counter()
    tasks = max(1, rows // N_MODELS)
    written = chunk = 0
    while written < tasks:
        n = min(CHUNK_TASKS, tasks - written)
        frame = generate_outcomes(n, seed=1_000 + chunk, mode="full")
        frame["task_id"] = f"c{chunk:04d}-" + frame["task_id"].astype(str)
        frame.to_parquet(directory / f"part-{chunk:04d}.parquet", index=False)
        written, chunk = written + n, chunk + 1
        if chunk % 5 == 0:
            say(f"training budget: wrote {written * N_MODELS:,} of {tasks * N_MODELS:,} rows")
    size = sum(p.stat().st_size for p in directory.glob("*.parquet"))
    return {
        "rows": tasks * N_MODELS,
        "tasks": tasks,
        "files": chunk,
        "parquet_mb": size / 1024**2,
        "generate_s": time.perf_counter() - started,
    }


def retrain_within_budget(directory: Path, budget: str, max_rows: int | None) -> dict[str, Any]:
    """The worker: a budgeted read of the log, then training on what was read."""
    from training import train_router
    from training.data.budget import budget_rows, read_within_budget

    limit = budget_rows(budget, max_rows)
    started = time.perf_counter()
    frame, sample = read_within_budget(directory, max_rows=limit)
    read_s = time.perf_counter() - started
    read_peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with tempfile.TemporaryDirectory(prefix="bench-budget-model-") as tmp:
        started = time.perf_counter()
        result = train_router(frame, log_to_mlflow=False, output_dir=Path(tmp) / "model")
        fit_s = time.perf_counter() - started
    return {
        "budget": budget,
        "max_rows": limit,
        "sample": sample.to_dict(),
        "read_s": read_s,
        "fit_s": fit_s,
        "total_s": read_s + fit_s,
        "peak_rss_mb_after_read": read_peak_mb,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "held_out_ece_max": result.metrics.get("ece_max"),
        "held_out_apgr": result.metrics.get("apgr"),
    }


def run(
    rows: int = DEFAULT_ROWS,
    budget: str = DEFAULT_BUDGET,
    *,
    max_rows: int | None = None,
    timeout: float | None = None,
    say: Progress = progress,
) -> dict[str, Any]:
    from training.data.budget import parse_size

    budget_gb = parse_size(budget) / 1e9
    work = Path(tempfile.mkdtemp(prefix="bench-budget-"))
    try:
        log_dir = work / "log"
        log_dir.mkdir()
        say(f"training budget: writing a {rows:,}-row Parquet log under {work}")
        log = write_log(log_dir, rows, say)
        say(f"training budget: retraining within {budget} (own process)")
        args = ["--worker", str(log_dir), "--budget", budget]
        if max_rows is not None:
            args += ["--max-rows", str(max_rows)]
        found, info = run_worker("benchmarks.training_budget", args, work / "worker.json", timeout=timeout)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result: dict[str, Any] = {
        "log": log,
        "goal": {"peak_gb": budget_gb},
        "worker": found,
        "worker_info": info,
        "data": f"synthetic, mode='full', default catalog ({N_MODELS} models), {CHUNK_TASKS:,} tasks a file",
    }
    if found is not None:
        peak_gb = max(found["peak_rss_mb"], info["peak_rss_mb_polled"]) / 1024
        result["verdict"] = {"met": peak_gb * 1024**3 <= budget_gb * 1e9, "peak_gb": peak_gb}
        say(
            f"training budget: {found['sample']['rows_read']:,} of {log['rows']:,} rows read in "
            f"{found['read_s']:.0f} s, fit {found['fit_s']:.0f} s, peak {peak_gb:.2f} GB"
        )
    if IN_MEMORY_1M.exists():
        one = json.loads(IN_MEMORY_1M.read_text())["sizes"][-1]
        result["in_memory_1m"] = {k: one.get(k) for k in ("rows", "fit_s", "peak_rss_mb", "generate_s")}
    return result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.training_budget", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    parser.add_argument("--budget", default=DEFAULT_BUDGET)
    parser.add_argument("--max-rows", type=int)
    parser.add_argument("--timeout", type=float)
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if args.worker:
        result = retrain_within_budget(args.worker, args.budget, args.max_rows)
    else:
        result = run(args.rows, args.budget, max_rows=args.max_rows, timeout=args.timeout)
    if args.out:
        write_json(args.out, result)
    if not args.worker:
        print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
