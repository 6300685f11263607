"""`make demo`: the product's main job, end to end, on embedded defaults.

1. Route a handful of realistic tasks with the heuristic router and show each decision with its reasons.
2. The learning loop, on simulated outcomes (training.synthetic's latent model plays the LLMs):
   route tasks with the heuristic (with exploration), record every attempt's outcome and cost, retrain twice
   with different parameters (each an MLflow run in the embedded SQLite store), compare the runs, promote
   through the gate, load ``models:/task-router@champion`` and route fresh tasks again, printing cost and
   success before and after.

Everything is written under ``$ROUTER_DATA_DIR/demo`` (default ``./.router/demo``), emptied first; at the end
the demo prints the ``mlflow ui`` command that shows the runs.
"""

from __future__ import annotations

import json
import logging
import os
import random
import shutil
import time
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
from demo_gate import promote_on_partial_log  # scripts/ is on the path: demo.py runs as a script

from router import Router
from router._paths import data_dir
from router.cli._route import show_decision

TASKS = [
    ("Fix typo in README: 'recieve' should be 'receive'", ["README.md"]),
    ("Implement OAuth2 authentication with JWT tokens", ["auth.py", "middleware.py"]),
    (
        "Refactor the distributed task scheduler architecture to support async workers with "
        "consensus-based leader election",
        ["scheduler.py", "worker.py", "raft.py", "election.py"],
    ),
    ("Fix SQL injection security vulnerability in the production login endpoint", ["login.py"]),
    ("Fix intermittent race condition in the connection pool that deadlocks under load", ["pool.py"]),
    ("Add a --verbose flag to the CLI", ["cli.py"]),
]

PRODUCTION_TASKS = 1200  # routed by the heuristic; their outcomes are the training log
SHADOW_SHARE = 0.25  # share of production tasks also run on every model, so held-out metrics exist
EXPLORATION = 0.1  # share of decisions made uniformly at random (their propensity is logged)
FRESH_TASKS = 400  # routed before and after, to compare
SHOWN = ("apgr", "gain_over_hull", "cascade_apgr", "ece_max", "decision_latency_p50_ms")
RUNS = {"C=0.3": {"C": 0.3}, "C=0.02, 500 features": {"C": 0.02, "max_features": 500}}


def show_heuristic() -> None:
    router = Router()
    print("== Routing with the heuristic router (packaged catalog: haiku / sonnet / opus) ==\n")
    for description, files in TASKS:
        print(f"task: {description}")
        show_decision(router.route(description, files=files))
        print()
    print("estimator statistics:", router.estimator.get_statistics())
    print("selector statistics:", router.selector.get_statistics())


# -- the learning loop -----------------------------------------------------------------------------------


def quiet_mlflow() -> None:
    """MLflow's progress bars, INFO logs and its own deprecation warnings are noise in a demo."""
    os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")  # a demo does not report usage anywhere
    import mlflow  # noqa: F401  (importing it configures its loggers: first, so the levels below stick)

    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module=r"mlflow(\.|$)")
    warnings.filterwarnings("ignore", message=".*Any type hint is inferred as AnyType")


def attempt(world: Any, task_id: str, model: str) -> dict[str, Any]:
    """The simulated outcome of one model on one task (drawn once per pair by training.synthetic)."""
    row = world.loc[(task_id, model)]
    return {"success": float(row["success"]), "cost_usd": float(row["cost_usd"]),
            "input_tokens": int(row["input_tokens"]), "output_tokens": int(row["output_tokens"]),
            "duration_ms": float(row["duration_ms"])}  # fmt: skip


def run_production(router: Router, world: Any, tasks: Any, rng: random.Random) -> list[dict[str, Any]]:
    """Route each task, explore sometimes, escalate a failure once; shadow-run every model on a share."""
    names = router.catalog.names()
    rows: list[dict[str, Any]] = []
    for task in tasks.itertuples():
        decision = router.route(task.description, files=json.loads(task.files))
        chosen, propensity = decision.model, 1.0 - EXPLORATION + EXPLORATION / len(names)
        if rng.random() < EXPLORATION:
            chosen = rng.choice(names)
            propensity = EXPLORATION / len(names) + (1.0 - EXPLORATION) * (chosen == decision.model)
        base = {"task_id": task.task_id, "description": task.description, "files": task.files,
                "timestamp": task.timestamp}  # fmt: skip
        if rng.random() < SHADOW_SHARE:
            rows += [
                {**base, "model": m, "propensity": 1.0, **attempt(world, task.task_id, m)} for m in names
            ]
            continue
        first = attempt(world, task.task_id, chosen)
        rows.append({**base, "model": chosen, "propensity": propensity, **first})
        stronger = [m for m in decision.escalation if m != chosen]
        if first["success"] < 1 and stronger:  # the fallback handler's one escalation, taken for sure
            rows.append(
                {**base, "model": stronger[0], "propensity": 1.0, **attempt(world, task.task_id, stronger[0])}
            )
    return rows


# ============================== LEDGER SWAP POINT: the one place outcomes are recorded ===================
def record_outcomes(rows: list[dict[str, Any]], path: Path) -> Path:
    """Record the attempts in the ledger (SQLite, in the data directory) and export the outcome log that
    training reads, as production would: ``router logs export`` does the same from the command line."""
    from router import CostTracker
    from router._outcome_log import validate_outcomes
    from router.ledger.outcomes import outcome_rows

    with CostTracker(storage_path=path.parent / "ledger.db") as ledger:
        ledger.record_many(outcome_rows(validate_outcomes(pd.DataFrame(rows)).frame, "demo"))
        ledger.export_outcomes(path)
        summary = ledger.get_summary("all")
    print(
        f"   ledger: {summary.total_requests} attempts, ${summary.total_cost:.2f} spent, "
        f"success {summary.success_rate:.1%}"
    )
    return path


# ========================================================================================================


def first_choice(router: Router, world: Any, tasks: Any) -> tuple[float, float]:
    """Success rate and mean cost per task of the router's first choice (no exploration, no escalation)."""
    outcomes = [attempt(world, t.task_id, router.route(t.description, files=json.loads(t.files)).model)
                for t in tasks.itertuples()]  # fmt: skip
    return (
        sum(o["success"] for o in outcomes) / len(outcomes),
        sum(o["cost_usd"] for o in outcomes) / len(outcomes),
    )


def learning_loop() -> None:
    from training import train_router
    from training.experiments import CHAMPION, compare_runs
    from training.synthetic import generate_outcomes

    started = time.perf_counter()
    root = data_dir() / "demo"
    shutil.rmtree(root, ignore_errors=True)
    os.environ["ROUTER_DATA_DIR"] = str(root)
    os.environ.pop("MLFLOW_TRACKING_URI", None)  # the embedded default store, whatever the shell says
    quiet_mlflow()
    print(f"\n== The learning loop (simulated LLM outcomes; everything under {root}) ==\n")

    def world_of(n: int, seed: int) -> tuple[Any, Any]:
        frame = generate_outcomes(n, seed=seed)
        return frame.set_index(["task_id", "model"]), frame.drop_duplicates("task_id")

    world, production = world_of(PRODUCTION_TASKS, seed=1)
    heuristic = Router()
    rows = run_production(heuristic, world, production, random.Random(7))
    log = record_outcomes(rows, root / "outcomes.parquet")
    print(
        f"1. routed {len(production)} tasks with the heuristic ({EXPLORATION:.0%} exploration, one "
        f"escalation on failure, {SHADOW_SHARE:.0%} shadow-run on every model): {len(rows)} attempts "
        f"recorded in {log.name}"
    )

    runs = {}
    for label, params in RUNS.items():
        runs[label] = train_router(log, experiment="demo", **params)
    print(
        "2. retrained twice from the log, MLflow runs in experiment 'demo': "
        + ", ".join(f"{label} -> {r.run_id[:8]}" for label, r in runs.items())
    )

    ranked = compare_runs("demo", metric="apgr")
    label_of = {r.run_id: label for label, r in runs.items()}
    print("3. compared (held-out metrics, best first on APGR):")
    print(f"   {'run':<24}{'APGR':>7}{'gain/hull':>11}{'cascade APGR':>14}{'ECE max':>9}{'p50 ms':>8}")
    for r in ranked:
        m = {k: r["metrics"].get(k, float("nan")) for k in SHOWN}
        print(
            f"   {label_of[r['run_id']]:<24}{m['apgr']:>7.3f}{m['gain_over_hull']:>+11.4f}"
            f"{m['cascade_apgr']:>14.3f}{m['ece_max']:>9.3f}{m['decision_latency_p50_ms']:>8.2f}"
        )

    promote_on_partial_log(ranked, label_of, root)  # the gate on a partial log (scripts/demo_gate.py)

    fresh_world, fresh = world_of(FRESH_TASKS, seed=2)
    champion = Router.load(f"models:/task-router@{CHAMPION}", strict=True)
    before = first_choice(heuristic, fresh_world, fresh)
    after = first_choice(champion, fresh_world, fresh)
    print(f"5. routed {FRESH_TASKS} fresh tasks with models:/task-router@{CHAMPION} ({champion.source}):")
    print(f"   {'':<12}{'success':>9}{'cost/task':>12}")
    print(f"   {'before':<12}{before[0]:>9.1%}{'$' + format(before[1], '.4f'):>12}   heuristic")
    print(f"   {'after':<12}{after[0]:>9.1%}{'$' + format(after[1], '.4f'):>12}   learned champion")
    print(
        f"\nsee the runs: mlflow ui --backend-store-uri sqlite:///{root / 'mlflow.db'}   "
        f"(loop took {time.perf_counter() - started:.0f} s)"
    )


def main() -> None:
    show_heuristic()
    learning_loop()


if __name__ == "__main__":
    main()
