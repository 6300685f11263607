"""Decision latency and throughput for a 2 KB task description, side by side with the alternatives.

For each router (heuristic, learned, plain scikit-learn pipeline, embedding kNN, LiteLLM's complexity router
with classifier ``heuristic`` and ``heuristic_v2``: its local classifier and tier-table lookup, tiers mapped
to the models by cost; the optional extra ``.[bench-peers]``) a worker process loads it,
records the memory that loading added, then times single decisions one by one (p50 and p99 per repeat) and
``route_many`` batches (decisions per second per repeat); the figures are medians over the repeats. One
process per router keeps their imports, caches and garbage apart; they run one after another, so the ratios
come from the same run on the same machine.

    python -m benchmarks.latency [--quick]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._util import Progress, median, proc_status_kb, progress, run_worker, write_json

ROUTERS = (
    "heuristic",
    "learned",
    "sklearn_pipeline",
    "embedding_knn",
    "litellm_heuristic",
    "litellm_heuristic_v2",
)
LABELS = {
    "heuristic": "heuristic router (Router())",
    "learned": "learned router (Router.load)",
    "sklearn_pipeline": "plain scikit-learn pipeline",
    "embedding_knn": "embedding kNN (MiniLM, k=10)",
    "litellm_heuristic": "LiteLLM ComplexityRouter, heuristic",
    "litellm_heuristic_v2": "LiteLLM ComplexityRouter, heuristic_v2",
}
GOALS = {
    "p50_us": 250.0,
    "p99_us": 1000.0,
    "batch_per_s": 20_000.0,
    "speedup_vs_pipeline": 2.0,
    "speedup_vs_embedding": 100.0,
}
POOL = 256  # distinct 2 KB descriptions, cycled


def _plan(quick: bool) -> dict[str, Any]:
    if quick:
        return {"iterations": 500, "repeats": 3, "warmup": 100, "batch": 500, "budget_s": 1.0}
    return {"iterations": 2000, "repeats": 5, "warmup": 200, "batch": 2000, "budget_s": 4.0}


# -- preparation (parent process) ----------------------------------------------------------------------
def prepare(workdir: Path, say: Progress = progress) -> dict[str, Any]:
    """Train the learned router and fit the peers on the same tasks; write the 2 KB descriptions."""
    import joblib

    from benchmarks import _embed
    from benchmarks._data import dataset, task_arrays, two_kb_descriptions
    from benchmarks._peers import PlainPipelineRouter, tiers_by_cost
    from router.learned.policy import mu_for
    from training import train_router
    from training.fit.router_fit import kappa_of

    data = dataset()
    texts, models, success, cost = task_arrays(data)
    swebench = data.source.startswith("SWE-bench")
    (workdir / "descriptions.json").write_text(json.dumps(two_kb_descriptions(texts, POOL)))
    say(f"latency: training the learned router on {data.source}, {len(texts)} tasks")
    started = time.perf_counter()
    train_router(data.frame, catalog=data.catalog, log_to_mlflow=False, output_dir=workdir / "learned")
    train_s = time.perf_counter() - started
    mu = mu_for(0.5, kappa_of(success, cost))
    say("latency: fitting the plain scikit-learn pipeline")
    joblib.dump(PlainPipelineRouter(models, mu).fit(texts, success, cost), workdir / "pipeline.joblib")
    np.savez(workdir / "knn.npz", success=success, cost=cost, models=np.array(models), mu=mu)
    # The heuristic worker rebuilds its catalog from plain data, so its memory figure is the router's alone
    # (importing training.swebench would pull pandas into it).
    catalog = None
    if swebench:
        from training.swebench import CATALOG_MODELS, CATALOG_ROUTING

        catalog = {"models": CATALOG_MODELS, "routing": CATALOG_ROUTING}
    # LiteLLM's tier table as an operator fills it from prices (the quality tables also tune it; the
    # decision's cost is the same either way: one classification and one table lookup).
    litellm_tiers = tiers_by_cost(models, cost.mean(0).tolist())
    setup = {"catalog": catalog, "data": data.source, "tasks": len(texts), "litellm_tiers": litellm_tiers}
    if _embed.unavailable() is None:
        index = _embed.cached_embeddings(texts, say)
        if index is not None:
            np.save(workdir / "knn_index.npy", index)
    (workdir / "setup.json").write_text(json.dumps(setup))
    return {**setup, "learned_train_s": train_s}


# -- one router (worker process) -----------------------------------------------------------------------
def _load(name: str, workdir: Path) -> tuple[Callable[[str], Any], Callable[[list[str]], Any]]:
    setup = json.loads((workdir / "setup.json").read_text())
    if name == "heuristic":
        from router import Catalog, Router

        catalog = Catalog.from_dict(setup["catalog"]) if setup["catalog"] else Catalog.default()
        heuristic = Router(catalog)
        return heuristic.route, heuristic.route_many
    if name == "learned":
        from router import Router

        learned = Router.load(workdir / "learned", strict=True)
        return learned.route, learned.route_many
    if name == "sklearn_pipeline":
        import joblib

        pipeline = joblib.load(workdir / "pipeline.joblib")  # written by this run: trusted
        return pipeline.route, pipeline.route_many
    if name == "embedding_knn":
        from benchmarks._embed import load_model
        from benchmarks._peers import KnnRouter

        arrays = np.load(workdir / "knn.npz")
        knn = KnnRouter(
            load_model(),
            np.load(workdir / "knn_index.npy"),
            arrays["success"],
            arrays["cost"],
            [str(m) for m in arrays["models"]],
            float(arrays["mu"]),
        )
        return knn.route, knn.route_many
    if name.startswith("litellm_"):
        from benchmarks._peers import LiteLLMComplexityPeer

        peer = LiteLLMComplexityPeer(name.removeprefix("litellm_"), setup["litellm_tiers"])
        return peer.route, peer.route_many
    raise ValueError(f"Unknown router {name!r}. Known: {', '.join(ROUTERS)}.")


def measure(name: str, workdir: Path, quick: bool) -> dict[str, Any]:
    import router  # noqa: F401  # the baseline: numpy and the router package, as any orchestrator has them

    plan = _plan(quick)
    before_kb = proc_status_kb("VmRSS") or 0
    started = time.perf_counter()
    one, many = _load(name, workdir)
    load_s = time.perf_counter() - started
    after_kb = proc_status_kb("VmRSS") or 0
    descriptions = json.loads((workdir / "descriptions.json").read_text())
    # The first calls fill caches and, for torch, allocate its buffers: not what a warm server sees.
    started = time.perf_counter()
    for i in range(min(plan["warmup"], 10)):
        one(descriptions[i % POOL])
    per_call = (time.perf_counter() - started) / min(plan["warmup"], 10)
    for i in range(plan["warmup"]):
        if per_call * i > plan["budget_s"]:
            break
        one(descriptions[i % POOL])
    # Slow routers get fewer iterations so a repeat stays within the budget; the count is reported.
    iterations = int(min(plan["iterations"], max(30, plan["budget_s"] / per_call)))
    p50, p99, mean = [], [], []
    for _ in range(plan["repeats"]):
        times = np.empty(iterations)
        for i in range(iterations):
            description = descriptions[i % POOL]
            t0 = time.perf_counter_ns()
            one(description)
            times[i] = time.perf_counter_ns() - t0
        p50.append(float(np.percentile(times, 50)) / 1e3)
        p99.append(float(np.percentile(times, 99)) / 1e3)
        mean.append(float(times.mean()) / 1e3)
    batch_size = int(min(plan["batch"], max(32, 2 * plan["budget_s"] / per_call)))
    batch = [descriptions[i % POOL] for i in range(batch_size)]
    rates = []
    for _ in range(plan["repeats"]):
        batch_started = time.perf_counter()
        many(batch)
        rates.append(batch_size / (time.perf_counter() - batch_started))
    return {
        "router": name,
        "label": LABELS[name],
        "p50_us": median(p50),
        "p99_us": median(p99),
        "mean_us": median(mean),
        "batch_per_s": median(rates),
        "iterations": iterations,
        "repeats": plan["repeats"],
        "batch_size": batch_size,
        "load_s": load_s,
        "rss_delta_mb": (after_kb - before_kb) / 1024,
        "rss_after_load_mb": after_kb / 1024,
        "per_repeat": {"p50_us": p50, "p99_us": p99, "batch_per_s": rates},
    }


# -- the section (parent process) ----------------------------------------------------------------------
def run(quick: bool = False, workdir: Path | None = None, say: Progress = progress) -> dict[str, Any]:
    from benchmarks import _embed
    from benchmarks._peers import litellm_unavailable

    with tempfile.TemporaryDirectory(prefix="bench-latency-") as tmp:
        work = Path(workdir or tmp) / "latency"
        work.mkdir(parents=True, exist_ok=True)
        setup = prepare(work, say)
        rows: dict[str, Any] = {}
        for name in ROUTERS:
            if name == "embedding_knn" and not (work / "knn_index.npy").exists():
                status, reason = _embed.unavailable() or ("failed", "the embedding worker failed")
                rows[name] = {"label": LABELS[name], "status": status, "reason": reason}
                say(f"latency: {name}: {status} ({reason})")
                continue
            if name.startswith("litellm_") and litellm_unavailable() is not None:
                rows[name] = {
                    "label": LABELS[name],
                    "status": "not installed",
                    "reason": litellm_unavailable(),
                }
                say(f"latency: {name}: not installed ({litellm_unavailable()})")
                continue
            say(f"latency: measuring {name}")
            args = ["--worker", name, "--workdir", str(work), *(["--quick"] if quick else [])]
            result, info = run_worker("benchmarks.latency", args, work / f"{name}.json")
            rows[name] = result or {"label": LABELS[name], "status": "failed", "reason": str(info)}
            if result:
                say(
                    f"latency: {name}: p50 {result['p50_us']:.0f} us, p99 {result['p99_us']:.0f} us, "
                    f"{result['batch_per_s']:,.0f} decisions/s in batch"
                )
    return {"setup": setup, "routers": rows, "goals": GOALS, "verdicts": verdicts(rows)}


def verdicts(rows: dict[str, Any]) -> dict[str, Any]:
    """The learned router against each goal, with the ratios to its peers measured in this run."""
    learned = rows.get("learned", {})
    if "p50_us" not in learned:
        return {}
    out: dict[str, Any] = {
        "p50_us": {"value": learned["p50_us"], "goal": f"<= {GOALS['p50_us']:g}"},
        "p99_us": {"value": learned["p99_us"], "goal": f"<= {GOALS['p99_us']:g}"},
        "batch_per_s": {"value": learned["batch_per_s"], "goal": f">= {GOALS['batch_per_s']:,.0f}"},
    }
    out["p50_us"]["met"] = learned["p50_us"] <= GOALS["p50_us"]
    out["p99_us"]["met"] = learned["p99_us"] <= GOALS["p99_us"]
    out["batch_per_s"]["met"] = learned["batch_per_s"] >= GOALS["batch_per_s"]
    for peer, goal in (
        ("sklearn_pipeline", "speedup_vs_pipeline"),
        ("embedding_knn", "speedup_vs_embedding"),
    ):
        if "p50_us" in rows.get(peer, {}):
            ratio = rows[peer]["p50_us"] / learned["p50_us"]
            batch_ratio = learned["batch_per_s"] / rows[peer]["batch_per_s"]
            out[goal] = {
                "value": ratio,
                "batch_value": batch_ratio,
                "goal": f">= {GOALS[goal]:g}x (p50)",
                "met": ratio >= GOALS[goal],
            }
        else:
            out[goal] = {
                "value": None,
                "goal": f">= {GOALS[goal]:g}x (p50)",
                "met": None,
                "reason": rows.get(peer, {}).get("status", "not measured"),
            }
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.latency", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--worker", choices=ROUTERS, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help="write the result as JSON here")
    args = parser.parse_args(argv)
    if args.worker:
        result = measure(args.worker, args.workdir, args.quick)
    else:
        result = run(args.quick)
        print(json.dumps(result["verdicts"], indent=2))
    if args.out:
        write_json(args.out, result)


if __name__ == "__main__":
    main()
