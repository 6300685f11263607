"""`make demo`: the product's main job, end to end, on embedded defaults.

1. Route a handful of realistic tasks with the heuristic router and show each decision with its reasons.
2. The learning loop, on simulated outcomes (training.synthetic's latent model plays the LLMs):
   route tasks with the heuristic (with exploration), record every attempt's outcome and cost, retrain twice
   with different parameters (each an MLflow run in the embedded SQLite store), compare the runs, promote
   through the gate, load ``models:/task-router@champion`` and route fresh tasks again, printing cost and
   success before and after.

Everything is written where the command line's defaults read: the data directory (``$ROUTER_DATA_DIR``,
default ``./.router``) when it is empty or holds only an earlier demo's files, unchanged (those files, as
the demo listed them, are removed first: ``scripts/demo_files.py``); otherwise (it holds someone's ledger,
runs or models) under ``demo/`` in it, and the commands printed at the end say so. At the
end the demo prints the exact next commands: the ledger's summary and routing stats, routing with the
champion, the notebook and ``mlflow ui``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from router import ExecutionError, Router
from router._outcome_log import write_outcomes
from router._paths import data_dir
from router.cli._route import show_decision

# The files live in an imaginary project: paths that exist are read for their line counts, and the demo's
# decisions must not depend on the directory it runs in (this repository's own README.md has 500 lines).
TASKS = [
    ("Fix typo in README: 'recieve' should be 'receive'", ["app/README.md"]),
    ("Implement OAuth2 authentication with JWT tokens", ["app/auth.py", "app/middleware.py"]),
    (
        "Refactor the distributed task scheduler architecture to support async workers with "
        "consensus-based leader election",
        ["app/scheduler.py", "app/worker.py", "app/raft.py", "app/election.py"],
    ),
    ("Fix SQL injection security vulnerability in the production login endpoint", ["app/login.py"]),
    ("Fix intermittent race condition in the connection pool that deadlocks under load", ["app/pool.py"]),
    ("Add a --verbose flag to the CLI", ["app/cli.py"]),
]
EXPERIMENT = "router"  # the experiment `router train` and the notebook use by default

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


class SimulatedCalls:
    """The handler's attempt records (the decision's text, level, score, decision id, attempt number,
    propensity: all from the decision), completed with what only the simulation knows: the attempt's cost,
    tokens, time and the task's files."""

    def __init__(self, world: Any) -> None:
        self.world, self.rows, self.task = world, [], {}

    def record(self, **fields: Any) -> None:
        sim = self.world.loc[(fields["task_id"], fields["model"])]
        outcome = {"input_cost": None, "output_cost": None, "total_cost": float(sim["cost_usd"]),
                   "input_tokens": int(sim["input_tokens"]), "output_tokens": int(sim["output_tokens"]),
                   "timestamp": sim["timestamp"]}  # fmt: skip
        self.rows.append({**fields, **self.task, **outcome})


def run_production(
    router: Router, world: Any, tasks: Any, rng: random.Random
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Route each task, explore sometimes, and run it through the fallback handler, which escalates a
    rejected (failed) result along the decision's escalation; shadow-run every model on a share instead.

    Returns the ledger's rows (what the router did) and the shadow rows (an evaluation, not routing)."""
    from router import FallbackHandler

    names = router.catalog.names()
    calls = SimulatedCalls(world)
    handler = FallbackHandler(recorder=calls, sleep=lambda s: None)
    shadow: list[dict[str, Any]] = []
    for task in tasks.itertuples():
        if rng.random() < SHADOW_SHARE:
            base = {"task_id": task.task_id, "description": task.description, "files": task.files,
                    "timestamp": task.timestamp}  # fmt: skip
            shadow += [
                {**base, "model": m, "propensity": 1.0, **attempt(world, task.task_id, m)} for m in names
            ]
            continue
        decision = router.route(task.description, files=json.loads(task.files))
        chosen, propensity = decision.model, 1.0 - EXPLORATION + EXPLORATION / len(names)
        if rng.random() < EXPLORATION:
            chosen = rng.choice(names)
            propensity = EXPLORATION / len(names) + (1.0 - EXPLORATION) * (chosen == decision.model)
        chain = [chosen, *router.catalog.stronger_than(chosen)]  # the heuristic's escalation, from chosen
        decision = decision.model_copy(
            update={"model": chosen, "propensity": propensity, "escalation": chain}
        )
        calls.task = {"files": json.loads(task.files)}
        with contextlib.suppress(ExecutionError):  # every model failed the task: recorded all the same
            handler.execute_decision(
                decision,
                task.task_id,
                lambda model, tid=task.task_id: attempt(world, tid, model),
                accept=lambda result: result["success"] >= 0.5,
            )
    return calls.rows, shadow


# ============================== LEDGER SWAP POINT: the one place outcomes are recorded ===================
def record_outcomes(rows: list[dict[str, Any]], shadow: list[dict[str, Any]], path: Path) -> Path:
    """Record the attempts in the ledger (SQLite, in the data directory) and export the outcome log that
    training reads, as production would (``router logs export`` does the same from the command line); the
    shadow runs are added to the log only: they are an evaluation, not routing."""
    from router import CostTracker

    with CostTracker(storage_path=path.parent / "ledger.db") as ledger:
        ledger.record_many(rows)
        ledger.export_outcomes(path)
        summary = ledger.get_summary("all")
    write_outcomes(pd.concat([pd.read_parquet(path), pd.DataFrame(shadow)], ignore_index=True), path)
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


def learning_loop(root: Path) -> None:
    from demo_gate import promote_on_partial_log  # scripts/ is on the path when this file runs

    from training import train_router
    from training.experiments import CHAMPION, compare_runs
    from training.synthetic import generate_outcomes

    started = time.perf_counter()
    root.mkdir(parents=True, exist_ok=True)
    os.environ["ROUTER_DATA_DIR"] = str(root)
    os.environ.pop("MLFLOW_TRACKING_URI", None)  # the embedded default store, whatever the shell says
    quiet_mlflow()
    print(f"\n== The learning loop (simulated LLM outcomes; everything under {root}) ==\n")

    def world_of(n: int, seed: int) -> tuple[Any, Any]:
        frame = generate_outcomes(n, seed=seed)
        return frame.set_index(["task_id", "model"]), frame.drop_duplicates("task_id")

    world, production = world_of(PRODUCTION_TASKS, seed=1)
    heuristic = Router()
    rows, shadow = run_production(heuristic, world, production, random.Random(7))
    log = record_outcomes(rows, shadow, root / "outcomes.parquet")
    print(
        f"1. routed {len(production)} tasks with the heuristic ({EXPLORATION:.0%} exploration, the fallback "
        f"handler escalating failures, {SHADOW_SHARE:.0%} shadow-run on every model): "
        f"{len(rows) + len(shadow)} attempts recorded in {log.name}"
    )

    runs = {}
    for label, params in RUNS.items():
        runs[label] = train_router(log, experiment=EXPERIMENT, **params)
    print(
        f"2. retrained twice from the log, MLflow runs in experiment {EXPERIMENT!r}: "
        + ", ".join(f"{label} -> {r.run_id[:8]}" for label, r in runs.items())
    )

    ranked = compare_runs(EXPERIMENT, metric="apgr")
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
    print(f"\n(loop took {time.perf_counter() - started:.0f} s)")


def demo_root() -> tuple[Path, bool]:
    """The data directory itself when the demo may use it (empty, or only an earlier demo's unchanged
    files), else demo/ in it; and whether it is the data directory (so the command line's defaults read
    it). Nothing is removed here: see :func:`clear_earlier_demo`."""
    from demo_files import foreign_files  # scripts/ is on the path when this file runs

    root = data_dir()
    if not foreign_files(root):
        return root, True
    return root / "demo", False


def clear_earlier_demo(root: Path, own: bool) -> None:
    """Remove an earlier demo's files from ``root`` (only those, as it listed them); stop, changing nothing,
    when ``root`` holds files the demo did not write."""
    from demo_files import foreign_files, remove_demo_files

    if not own:
        mine = foreign_files(root.parent)
        print(
            f"({root.parent} holds {len(mine)} files the demo did not write, or changed since: your data, "
            f"left as it is. The demo writes under {root} instead.)"
        )
    foreign = foreign_files(root)
    if foreign:
        shown = ", ".join(str(p) for p in foreign[:5]) + (", ..." if len(foreign) > 5 else "")
        sys.exit(
            f"error: {root} holds {len(foreign)} files the demo did not write, or changed since ({shown}); "
            "the demo removes nothing of yours. Move them, or set ROUTER_DATA_DIR to another directory."
        )
    remove_demo_files(root)


def print_next_steps(root: Path, own: bool) -> None:
    """The exact commands that read what the demo wrote, runnable from this directory as they are."""
    here = Path.cwd()

    def shown(path: Path) -> str:  # relative to here when below it (make demo: .venv/bin/router), else whole
        return str(path.relative_to(here)) if path.is_relative_to(here) else str(path)

    bin_dir = Path(sys.executable).parent
    tool = {name: shown(bin_dir / name) if (bin_dir / name).exists() else name
            for name in ("router", "jupyter-execute", "mlflow")}  # fmt: skip
    where = shown(root)
    env = "" if own else f"ROUTER_DATA_DIR={root.resolve()} "  # whole: the notebook runs in notebooks/
    notebook = Path("notebooks") / "01-compare-experiments.ipynb"  # a checkout's, as make demo runs there
    if not notebook.exists():
        notebook = Path(__file__).resolve().parent.parent / notebook
    print(f"\nThe ledger, the models and the MLflow store are in {where}/. Next, from this directory:")
    for command in (
        f"{env}{tool['router']} costs summary --period all",
        f"{env}{tool['router']} routing stats",
        f'{env}{tool["router"]} route --model models:/task-router@champion "Fix the flaky login test"',
        f"{env}{tool['jupyter-execute']} {notebook}",
        f"{tool['mlflow']} ui --backend-store-uri sqlite:///{where}/mlflow.db",
    ):
        print(f"  {command}")


def main() -> None:
    from demo_files import write_manifest  # scripts/ is on the path when this file runs
    from demo_monitor import monitor_demo

    show_heuristic()
    root, own = demo_root()
    clear_earlier_demo(root, own)
    try:
        learning_loop(root)
        monitor_demo()
    finally:
        # The directory was empty when the loop began, so everything in it now is the demo's, even after a
        # failure: the next run may remove exactly these files, and only while they are unchanged.
        if root.is_dir():
            write_manifest(root)
    print_next_steps(root, own)  # last, so the commands to go on with are what the screen ends on


if __name__ == "__main__":
    main()
