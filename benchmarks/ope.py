"""Off-policy evaluation: the estimators' coverage, bias, RMSE and interval width against log size, the
promotion gate's power and size, and the time to estimate one router on a large log.

Partial logs are drawn from full-information outcomes (SWE-bench Verified when ``../shared`` holds it, else
synthetic) with the heuristic router as the logging policy, exploring with probability epsilon; the judged
policy is the heuristic at tradeoff 0.7 (it differs from the logger on about a quarter of the tasks), whose
true value the full information gives. Measurements, not tests: nothing here asserts a figure.

    python -m benchmarks.ope                  # full: 200 logs per cell (gate: 400), 1,000,000 rows timed
    python -m benchmarks.ope --quick          # 40 logs per cell, 100,000 rows
    python -m benchmarks.ope --parts scale --rows 1000000
    python -m benchmarks.ope --parts gate     # the gate's power at 2,000-16,000 tasks, 400 logs per cell
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._util import progress, write_json

FULL_LOGS, QUICK_LOGS = 200, 40
SIZES, QUICK_SIZES = (500, 2000, 8000), (500, 2000)
EPSILONS = (0.05, 0.1, 0.3)
GATE_EPSILONS = (0.1, 0.3, 1.0)
GATE_SIZE = 2000  # the log size the goal names
# Part "gate": how many tasks the gate needs to show a 3-point gain, per epsilon.
GATE_SIZES, GATE_LOGS, QUICK_GATE_SIZES = (2000, 4000, 8000, 16000), 400, (2000, 4000)
FULL_ROWS, QUICK_ROWS = 1_000_000, 100_000
GOAL_SCALE_S = 60.0


def _world() -> tuple[Any, Any, str]:
    from router._exceptions import InvalidInputError
    from training.evaluation.ope.simulate import World

    try:
        from training.swebench import load_swebench, swebench_catalog

        return (
            World.from_outcomes(load_swebench().frame),
            swebench_catalog(),
            "SWE-bench Verified (500 tasks)",
        )
    except InvalidInputError:
        from training.synthetic import generate_outcomes

        return World.from_outcomes(generate_outcomes(1500, seed=0)), None, "synthetic (1,500 tasks)"


def study(quick: bool) -> dict[str, Any]:
    from training.evaluation.ope import HeuristicPolicy
    from training.evaluation.ope.reward import text_features
    from training.evaluation.ope.simulate import coverage_study, explore

    world, catalog, name = _world()
    logs = QUICK_LOGS if quick else FULL_LOGS
    greedy = world.probabilities(HeuristicPolicy(catalog))
    target = world.probabilities(HeuristicPolicy(catalog, tradeoff=0.7))
    x = text_features(world.descriptions)
    cells = []
    grid = [(0.1, n) for n in (QUICK_SIZES if quick else SIZES)] + [(e, 2000) for e in EPSILONS if e != 0.1]
    for epsilon, size in grid:
        started = time.perf_counter()
        found = coverage_study(
            world, explore(greedy, epsilon), target, size=size, logs=logs, features=x, folds=2
        )
        cells.append({"epsilon": epsilon, "size": size, "logs": logs, "truth": found.truth,
                      "coverage": found.coverage, "bias": found.bias, "rmse": found.rmse,
                      "width": found.width, "seconds": time.perf_counter() - started})  # fmt: skip
        progress(f"ope study: epsilon {epsilon}, {size} tasks: DR coverage {found.coverage['dr']:.3f}")
    gate = _gate(world, greedy, x, logs)
    return {"world": name, "cells": cells, "gate": gate}


def _gate(
    world: Any, champion: np.ndarray, x: np.ndarray, logs: int, sizes: tuple[int, ...] = (GATE_SIZE,)
) -> dict[str, Any]:
    """A candidate 3+ points better at equal cost: the champion with gpt-5-nano swapped for gpt-5-mini (the
    same price) on the fewest tasks that make it so; on synthetic worlds, haiku swapped for sonnet. The gate
    judges it, and the reverse, on ``logs`` logs of each size in ``sizes`` at each epsilon."""
    from training.evaluation.ope.power import tasks_for
    from training.evaluation.ope.simulate import explore, gate_runs

    cheap, alike = ("gpt-5-nano", "gpt-5-mini") if "gpt-5-nano" in world.models else ("haiku", "sonnet")
    c, a = world.models.index(cheap), world.models.index(alike)
    order = np.random.default_rng(0).permutation(np.flatnonzero(champion[:, c] == 1))
    better = champion
    for k in range(1, len(order) + 1):
        better = champion.copy()
        better[order[:k], c], better[order[:k], a] = 0.0, 1.0
        if world.value(better)[0] - world.value(champion)[0] >= 0.03:
            break
    rows = []
    for tasks in sizes:
        for epsilon in GATE_EPSILONS:
            logging = explore(champion, epsilon)
            runs = gate_runs(world, logging, better, champion, size=tasks, logs=logs, features=x, folds=2)
            reverse = gate_runs(world, logging, champion, better, size=tasks, logs=logs, features=x, folds=2)
            size = reverse.power
            # What the gate itself reads off each log: the improvement it sees with 80% power, and the
            # tasks a 3-point one needs; set beside the power measured at the larger sizes, it checks them.
            detectable = float(np.median(runs.detectable))
            needed = tasks_for(0.03, detectable, tasks)
            rows.append({"epsilon": epsilon, "tasks": tasks, "power": runs.power, "size": size, "logs": logs,
                         "detectable": detectable, "tasks_for_3_points": needed})  # fmt: skip
            power = runs.power
            progress(f"ope gate: {tasks:,} tasks, epsilon {epsilon}: better {power:.2f}, worse {size:.2f}")
    gain = world.value(better)[0] - world.value(champion)[0]
    cost_gap = world.value(better)[1] - world.value(champion)[1]
    return {"swap": f"{cheap} -> {alike}", "gain": gain, "cost_gap": cost_gap, "rows": rows}


def gate_by_size(quick: bool) -> dict[str, Any]:
    """The gate's power and size against log size (part ``gate``): the study's gate at more sizes."""
    from training.evaluation.ope import HeuristicPolicy
    from training.evaluation.ope.reward import text_features

    world, catalog, name = _world()
    champion = world.probabilities(HeuristicPolicy(catalog))
    sizes, logs = (QUICK_GATE_SIZES, QUICK_LOGS) if quick else (GATE_SIZES, GATE_LOGS)
    return {"world": name, **_gate(world, champion, text_features(world.descriptions), logs, sizes)}


class _Fixed:
    """A policy whose choices are already computed (so the stages are timed apart)."""

    cost_weight = 0.0

    def __init__(self, name: str, choices: tuple[list[str], np.ndarray]) -> None:
        self.name, self.choices = name, choices

    def probabilities(
        self, descriptions: list[str], facts: list[Any], metadata: Any = None
    ) -> tuple[list[str], np.ndarray]:
        return self.choices


def scale(rows: int) -> dict[str, Any]:
    """Seconds per stage to estimate one learned router by DR on a ``rows``-row partial log (one row per
    task, distinct synthetic descriptions)."""
    from training import train_router
    from training.evaluation.ope import LearnedPolicy, evaluate_policy, fit_rewards, partial_log
    from training.synthetic import generate_outcomes

    stages: dict[str, float] = {}
    frame = generate_outcomes(rows, seed=9, mode="logged", epsilon=0.2)
    with tempfile.TemporaryDirectory() as tmp:
        train_router(generate_outcomes(1000, seed=1), log_to_mlflow=False, output_dir=tmp)
        policy = LearnedPolicy(tmp)
        started = time.perf_counter()
        log = partial_log(frame)
        stages["read and check the log"] = time.perf_counter() - started
        mark = time.perf_counter()
        rewards = fit_rewards(log)
        stages["reward model (features, 5 folds)"] = time.perf_counter() - mark
        mark = time.perf_counter()
        choices = policy.probabilities(log.descriptions, log.facts, log.metadata)
        stages["policy's choices (featurize, decide)"] = time.perf_counter() - mark
        mark = time.perf_counter()
        estimate = evaluate_policy(log, _Fixed(policy.name, choices), rewards=rewards)
        stages["estimate and 200 bootstrap resamples"] = time.perf_counter() - mark
        total = time.perf_counter() - started
    return {"rows": rows, "stages": stages, "total_s": total, "goal_s": GOAL_SCALE_S,
            "met": total <= GOAL_SCALE_S, "estimate": estimate.to_dict()["estimates"]["success"]}  # fmt: skip


def run(
    quick: bool, workdir: Path, parts: tuple[str, ...] = ("study", "gate", "scale"), rows: int | None = None
) -> dict:
    result: dict[str, Any] = {"status": "ok"}
    if "study" in parts:
        result["study"] = study(quick)
    if "gate" in parts:
        result["gate"] = gate_by_size(quick)
    if "scale" in parts:
        result["scale"] = scale(rows or (QUICK_ROWS if quick else FULL_ROWS))
        progress(f"ope scale: {result['scale']['rows']:,} rows in {result['scale']['total_s']:.0f} s")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ope", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument(
        "--parts",
        default="study,gate,scale",
        help="comma-separated: study, gate (power against log size), scale",
    )
    parser.add_argument("--rows", type=int, default=None, help="rows of the timing log")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures to this file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        result = run(args.quick, Path(tmp), tuple(args.parts.split(",")), args.rows)
    if args.json:
        write_json(args.json, result)
    from benchmarks._report import ope_md

    print("\n".join(ope_md(result)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
