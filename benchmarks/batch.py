"""Batch throughput on one core: ``route_table`` and ``route_many`` with 2 KB texts, single ``route`` latency,
and featurizing tasks for training; this checkout side by side with a baseline checkout (``--baseline``).

The learned router is trained once (SWE-bench when the shared data is there, else synthetic) and both code
trees load the same artifact (feature version 1, which both read). Each measurement runs in a worker process
pinned to one CPU with BLAS limited to one thread, and the two trees' workers alternate, round after round,
so that the machine's load (shared, noisy) falls on both alike; the figures are medians over every repeat of
every round. The load average is recorded around every worker.

Featurizing for training is ``Featurizer.fit_matrix`` (this tree) against ``fit_transform`` (trees without
it) on synthetic task descriptions (the training-scale benchmark's generator), at ``--featurize`` tasks for
this tree and at a tenth of that for the baseline, whose rate is per task.

    python -m benchmarks.batch [--quick] [--baseline /path/to/other/checkout] [--featurize 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median
from typing import Any

GOALS = {"route_table_per_s": 20_000.0, "route_many_per_s": 10_000.0, "featurize_1m_s": 60.0}
POOL = 256  # distinct 2 KB descriptions, cycled
ROOT = Path(__file__).resolve().parent.parent


def _plan(quick: bool) -> dict[str, int]:
    if quick:
        return {"rounds": 2, "repeats": 3, "batch": 2000, "iterations": 300, "featurize": 100_000}
    return {"rounds": 3, "repeats": 5, "batch": 2000, "iterations": 2000, "featurize": 1_000_000}


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# -- worker (its own process; imports ``router`` from the code tree it is given) ------------------------
def measure(workdir: Path, kind: str, plan: dict[str, int]) -> dict[str, Any]:
    import numpy as np

    from router import Router

    descriptions = json.loads((workdir / "descriptions.json").read_text())
    if kind == "learned":
        router = Router.load(workdir / "learned", strict=True)
    else:
        setup = json.loads((workdir / "setup.json").read_text())
        from router import Catalog

        router = Router(Catalog.from_dict(setup["catalog"]) if setup["catalog"] else Catalog.default())
    batch = [descriptions[i % POOL] for i in range(plan["batch"])]
    out: dict[str, Any] = {"load_before": _load()}
    for i in range(200):  # warm caches
        router.route(descriptions[i % POOL])
    router.route_many(batch[:256])
    p50, p99, cpu_p50 = [], [], []
    for _ in range(plan["repeats"]):
        times = np.empty(plan["iterations"])
        cpu = np.empty(plan["iterations"])
        for i in range(plan["iterations"]):
            c0 = time.process_time_ns()
            t0 = time.perf_counter_ns()
            router.route(descriptions[i % POOL])
            times[i] = time.perf_counter_ns() - t0
            cpu[i] = time.process_time_ns() - c0
        p50.append(float(np.percentile(times, 50)) / 1e3)
        p99.append(float(np.percentile(times, 99)) / 1e3)
        cpu_p50.append(float(np.percentile(cpu, 50)) / 1e3)
    out["p50_us"], out["p99_us"], out["cpu_p50_us"] = p50, p99, cpu_p50
    # Wall time is what a caller waits; CPU time is what one core delivers while the process holds it,
    # which a machine shared with other jobs (waiting for a core) inflates far less.
    for method in ("route_many", "route_table"):
        call = getattr(router, method, None)
        if call is None:
            continue
        rates, cpu_rates = [], []
        for _ in range(plan["repeats"]):
            cpu_started = time.process_time()
            started = time.perf_counter()
            call(batch)
            rates.append(len(batch) / (time.perf_counter() - started))
            cpu_rates.append(len(batch) / (time.process_time() - cpu_started))
        out[f"{method}_per_s"] = rates
        out[f"{method}_cpu_per_s"] = cpu_rates
    out["load_after"] = _load()
    return out


def featurize(tasks: int) -> dict[str, Any]:
    import numpy as np

    from router.learned.features import Featurizer
    from training.data.synthetic_tasks import LatentModel, generate_tasks

    descriptions = list(generate_tasks(tasks, np.random.default_rng(0), LatentModel(), "t").description)
    load_before = _load()
    featurizer = Featurizer()
    started = time.perf_counter()
    cpu_started = time.process_time()
    if hasattr(featurizer, "fit_matrix"):
        method = "fit_matrix"
        matrix = featurizer.fit_matrix(descriptions)
    else:
        method = "fit_transform"
        matrix, _ = featurizer.fit_transform(descriptions)
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    return {
        "cpu_seconds": cpu_seconds,
        "tasks": tasks,
        "method": method,
        "seconds": seconds,
        "per_s": tasks / seconds,
        "shape": list(matrix.shape),
        "load_before": load_before,
        "load_after": _load(),
    }


def _worker_main(args: argparse.Namespace) -> None:
    # The code tree under test comes first, ahead of whatever is installed.
    sys.path.insert(0, str(args.code_root))
    os.sched_setaffinity(0, {args.cpu})
    plan = json.loads(args.plan)
    result = (
        featurize(plan["featurize"]) if args.job == "featurize" else measure(args.workdir, args.job, plan)
    )
    args.out.write_text(json.dumps(result))


# -- the section (parent process) -----------------------------------------------------------------------
def prepare(workdir: Path, say: Any) -> dict[str, Any]:
    from benchmarks._data import dataset, task_arrays, two_kb_descriptions
    from training import train_router

    data = dataset()
    texts, *_ = task_arrays(data)
    (workdir / "descriptions.json").write_text(json.dumps(two_kb_descriptions(texts, POOL)))
    say(f"batch: training the learned router on {data.source}, {len(texts)} tasks")
    # Text features only: a baseline checkout from before the metadata column must load the same artifact.
    frame = data.frame.drop(columns=["metadata"], errors="ignore")
    train_router(frame, catalog=data.catalog, log_to_mlflow=False, output_dir=workdir / "learned")
    catalog = None
    if data.source.startswith("SWE-bench"):
        from training.swebench import CATALOG_MODELS, CATALOG_ROUTING

        catalog = {"models": CATALOG_MODELS, "routing": CATALOG_ROUTING}
    setup = {"catalog": catalog, "data": data.source, "tasks": len(texts)}
    (workdir / "setup.json").write_text(json.dumps(setup))
    return setup


def _run_worker(code_root: Path, job: str, workdir: Path, plan: dict[str, int], cpu: int) -> dict[str, Any]:
    out = workdir / f"out-{job}-{os.getpid()}.json"
    out.unlink(missing_ok=True)
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    env.pop("PYTHONPATH", None)
    args = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker", job, "--code-root", str(code_root), "--workdir", str(workdir),
        "--plan", json.dumps(plan), "--cpu", str(cpu), "--out", str(out),
    ]  # fmt: skip
    subprocess.run(args, cwd=workdir, env=env, check=True)
    return json.loads(out.read_text())


def run(
    quick: bool = False,
    workdir: Path | None = None,
    say: Any = None,
    *,
    baseline: Path | None = None,
    featurize_tasks: int | None = None,
) -> dict[str, Any]:
    from benchmarks._util import progress

    say = say or progress
    plan = _plan(quick)
    if featurize_tasks:
        plan["featurize"] = featurize_tasks
    baseline = baseline or (
        Path(os.environ["ROUTER_BENCH_BASELINE"]) if "ROUTER_BENCH_BASELINE" in os.environ else None
    )
    trees = {"this": ROOT, **({"baseline": baseline.resolve()} if baseline else {})}
    cpu = min(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        work = Path(workdir or tmp) / "batch"
        work.mkdir(parents=True, exist_ok=True)
        setup = prepare(work, say)
        raw: dict[str, dict[str, list[dict[str, Any]]]] = {t: {"heuristic": [], "learned": []} for t in trees}
        for round_ in range(plan["rounds"]):
            for kind in ("learned", "heuristic"):
                for tree, root in trees.items():
                    result = _run_worker(root, kind, work, plan, cpu)
                    raw[tree][kind].append(result)
                    say(
                        f"batch: round {round_ + 1} {tree} {kind}: "
                        + ", ".join(
                            f"{k} {median(v):,.0f}"
                            for k, v in result.items()
                            if k.endswith(("_per_s", "_us"))
                        )
                        + f" (load {result['load_before'][0]})"
                    )
        featurized: dict[str, Any] = {}
        for tree, root in trees.items():
            tasks = plan["featurize"] if tree == "this" else max(1000, plan["featurize"] // 10)
            say(f"batch: featurizing {tasks:,} synthetic tasks with the {tree} tree")
            featurized[tree] = _run_worker(root, "featurize", work, {**plan, "featurize": tasks}, cpu)
            say(f"batch: {tree}: {featurized[tree]['seconds']:.1f} s ({featurized[tree]['per_s']:,.0f}/s)")
    summary = {tree: {kind: _medians(rows) for kind, rows in kinds.items()} for tree, kinds in raw.items()}
    return {
        "setup": setup,
        "plan": plan,
        "trees": {t: str(r) for t, r in trees.items()},
        "summary": summary,
        "featurize": featurized,
        "raw": raw,
        "goals": GOALS,
        "verdicts": _verdicts(summary, featurized),
    }


def _medians(rows: list[dict[str, Any]]) -> dict[str, Any]:
    keys = [k for k in rows[0] if k.endswith(("_per_s", "_us"))]
    out: dict[str, Any] = {k: median(v for r in rows for v in r[k]) for k in keys}
    out["load_1min"] = [r["load_before"][0] for r in rows] + [r["load_after"][0] for r in rows]
    return out


def _verdicts(summary: dict[str, Any], featurized: dict[str, Any]) -> dict[str, Any]:
    learned = summary["this"]["learned"]
    out = {}
    for key in ("route_table", "route_many"):
        out[f"{key}_per_s"] = learned.get(f"{key}_per_s", 0) >= GOALS[f"{key}_per_s"]
        out[f"{key}_cpu_per_s"] = learned.get(f"{key}_cpu_per_s", 0) >= GOALS[f"{key}_per_s"]
    if featurized.get("this", {}).get("tasks", 0) >= 1_000_000:
        out["featurize_1m_s"] = featurized["this"]["seconds"] <= GOALS["featurize_1m_s"]
        out["featurize_1m_cpu_s"] = featurized["this"]["cpu_seconds"] <= GOALS["featurize_1m_s"]
    return out


def batch_md(section: dict[str, Any]) -> list[str]:
    """The section's table for ``benchmarks/results/latest.md`` and the docs' benchmarks page."""
    summary, trees = section["summary"], list(section["summary"])
    rows = []
    for kind in ("learned", "heuristic"):
        for key, label in (
            ("route_table_per_s", "`route_table`, decisions/s (wall)"),
            ("route_table_cpu_per_s", "`route_table`, decisions per CPU-second"),
            ("route_many_per_s", "`route_many`, decisions/s (wall)"),
            ("route_many_cpu_per_s", "`route_many`, decisions per CPU-second"),
            ("p50_us", "`route` p50, µs (wall)"),
            ("cpu_p50_us", "`route` p50, CPU µs"),
            ("p99_us", "`route` p99, µs (wall)"),
        ):
            cells = [summary[t][kind].get(key) for t in trees]
            rows.append([f"{kind} {label}", *("n/a" if c is None else f"{c:,.0f}" for c in cells)])
    for tree in trees:
        f = section["featurize"].get(tree)
        if f:
            rows.append(
                [
                    f"featurize {f['tasks']:,} tasks ({tree}, `{f['method']}`)",
                    *(
                        f"{f['seconds']:.1f} s wall, {f['cpu_seconds']:.1f} s CPU ({f['per_s']:,.0f}/s)"
                        if t == tree
                        else ""
                        for t in trees
                    ),
                ]
            )
    loads = [x for t in trees for kind in summary[t].values() for x in kind["load_1min"]]
    header = ["measure (one core, 2 KB texts)", *(f"{t}" for t in trees)]
    return [
        "### Batch path (one core)",
        "",
        *_table(header, rows),
        "",
        f"Data: {section['setup']['data']}. Medians over {section['plan']['rounds']} alternating rounds x "
        f"{section['plan']['repeats']} repeats; 1-minute load average during the workers "
        f"{min(loads):.1f}-{max(loads):.1f} (2 cores, shared).",
        "",
    ]


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.batch", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--baseline", type=Path, help="another checkout to measure side by side")
    parser.add_argument("--featurize", type=int, help="tasks to featurize (default 1,000,000; quick 100,000)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--code-root", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--plan", help=argparse.SUPPRESS)
    parser.add_argument("--cpu", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help="write the result as JSON here")
    args = parser.parse_args(argv)
    if args.worker:
        args.job = args.worker
        _worker_main(args)
        return
    result = run(args.quick, baseline=args.baseline, featurize_tasks=args.featurize)
    print("\n".join(batch_md(result)))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
