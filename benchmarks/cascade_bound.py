"""How cheaply could any cascade reach the best single model's success? Three bounds, in hindsight.

    python -m benchmarks.cascade_bound                 # both ZeroEval sets, about 5 minutes
    python -m benchmarks.cascade_bound --sets math_l5

For each ZeroEval set (``../shared/data/zeroeval``; skipped with the reason where absent), on every task at
once (no held-out split: these are bounds, not results), the least mean cost, as a share of the best single
model's, at which a policy reaches that model's mean success (mixing two policies across tasks allowed, as
the judge's hull allows):

``foresight``
    knows before any call which models solve each task: calls the cheapest one that does, and the tasks
    with the cheapest such call first. No policy can do better.
``verifier``
    a perfect verifier, but no foresight: one fixed order of up to ``MAX_ORDER`` models for every task,
    stopping at the first right answer.
``answers_only``
    no verifier: sees only which of the answers so far are equal (the information the learned cascade
    has, less output lengths). The best adaptive policy over those agreement patterns, found by dynamic
    programming *on the tasks it is judged on* (so still optimistic), where a pattern seen on fewer than
    ``n_min`` tasks must stop: with no floor it would memorise single tasks and become the verifier.

Results: ``benchmarks/results/cascade-bound.json`` and ``cascade-bound.md``.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._util import ROOT, chosen_sets, progress, write_json

SETS = ("gsm8k", "math_l5")
MAX_ORDER = 5
N_MIN = (30, 60, 120)
#: Exchange rates (success per dollar) swept by the dynamic programme, dearest first.
MU_GRID = np.geomspace(1.0, 5000.0, 48)[::-1]


def cheapest_reaching(points: np.ndarray, target: float) -> float:
    """Least cost at which a mix of two (success, cost) points reaches ``target`` success (inf: never)."""
    best = float("inf")
    for s_hi, c_hi in points[points[:, 0] >= target - 1e-12]:
        best = min(best, c_hi)
        for s_lo, c_lo in points[points[:, 0] < target - 1e-12]:
            w = (target - s_lo) / (s_hi - s_lo)
            best = min(best, (1 - w) * c_lo + w * c_hi)
    return best


def foresight_cost(solved: np.ndarray, cost: np.ndarray, target: float) -> float:
    """Mean cost of solving the ``target`` share of tasks, each by its cheapest solving model."""
    per_task = np.sort(np.where(solved, cost, np.inf).min(axis=1))
    need = int(np.ceil(target * len(per_task) - 1e-9))
    if need > np.isfinite(per_task).sum():
        return float("inf")
    return float(per_task[:need].sum() / len(per_task))


def verifier_points(solved: np.ndarray, cost: np.ndarray, max_order: int = MAX_ORDER) -> np.ndarray:
    """(success, cost) of every fixed order of up to ``max_order`` models that stops at a right answer."""
    m = solved.shape[1]
    out = []
    for length in range(1, min(max_order, m) + 1):
        for order in itertools.permutations(range(m), length):
            done = np.zeros(len(solved), dtype=bool)
            spent = np.zeros(len(solved))
            for j in order:
                spent += np.where(done, 0.0, cost[:, j])
                done |= solved[:, j]
            out.append((done.mean(), spent.mean()))
    return np.array(out)


def answer_ids(answers: np.ndarray) -> np.ndarray:
    """Per task, each model's answer as a small integer (equal answers equal ids; -1 for none)."""
    ids = np.full(answers.shape, -1, dtype=np.int64)
    for i, row in enumerate(answers):
        seen: dict[str, int] = {}
        for j, a in enumerate(row):
            if a:
                ids[i, j] = seen.setdefault(a, len(seen))
    return ids


def answers_only_point(
    solved: np.ndarray, cost: np.ndarray, ids: np.ndarray, mu: float, n_min: int
) -> tuple[float, float]:
    """(success, cost) of the best policy over agreement patterns at exchange rate ``mu`` (see the module
    docstring); a state is the set of models called and the tasks that showed one pattern of answers."""
    n, m = solved.shape
    memo: dict[tuple[int, bytes], tuple[float, float, float]] = {}

    def value(called: int, tasks: np.ndarray) -> tuple[float, float, float]:
        """(utility, cost, success) summed over ``tasks`` from this state on."""
        key = (called, tasks.tobytes())
        if key in memo:
            return memo[key]
        members = [j for j in range(m) if called >> j & 1]
        stop = max(float(solved[tasks, j].sum()) for j in members)  # return the best member's answer
        best = (stop, 0.0, stop)
        if len(tasks) >= n_min:
            for j in (j for j in range(m) if not called >> j & 1):
                spent = float(cost[tasks, j].sum())
                # which earlier model j's answer equals (-1: a new answer, -2: none)
                joins = np.full(len(tasks), -1)
                for k in members:
                    joins[(joins == -1) & (ids[tasks, j] >= 0) & (ids[tasks, j] == ids[tasks, k])] = k
                joins[(joins == -1) & (ids[tasks, j] < 0)] = -2
                total = np.array([-mu * spent, spent, 0.0])
                for group in np.unique(joins):
                    total += value(called | 1 << j, tasks[joins == group])
                if total[0] > best[0] + 1e-12:
                    best = (float(total[0]), float(total[1]), float(total[2]))
        memo[key] = best
        return best

    everyone = np.arange(n)
    roots = []
    for j in range(m):
        u, c, s = value(1 << j, everyone)
        spent = float(cost[:, j].sum())
        roots.append((u - mu * spent, c + spent, s))
    _, c, s = max(roots, key=lambda r: (r[0], -r[1]))  # ties to the cheaper
    return s / n, c / n


def bounds(name: str) -> dict[str, Any]:
    """The three bounds on one ZeroEval set."""
    from training.data.answers import answers_of
    from training.data.outcomes import load_outcomes, task_matrix
    from training.zeroeval import find_data_dir

    frame = load_outcomes(find_data_dir() / f"{name}.csv").frame
    data = task_matrix(frame, sorted(frame["model"].unique()))
    answers = answers_of(frame, data)
    assert answers is not None, f"{name} has no answers"
    solved, cost = data.success >= 0.5, data.cost
    mean_s, mean_c = solved.mean(axis=0), cost.mean(axis=0)
    best = int(np.argmax(mean_s))
    target, best_cost = float(mean_s[best]), float(mean_c[best])
    progress(f"cascade bound: {name}, foresight and verifier")
    result: dict[str, Any] = {
        "tasks": len(solved),
        "best_single": data.models[best],
        "best_single_success": target,
        "foresight": foresight_cost(solved, cost, target) / best_cost,
        "verifier": cheapest_reaching(verifier_points(solved, cost), target) / best_cost,
        "answers_only": {},
    }
    ids = answer_ids(answers.answers)
    for n_min in N_MIN:
        progress(f"cascade bound: {name}, answers only, states of >= {n_min} tasks")
        points = np.array([answers_only_point(solved, cost, ids, float(mu), n_min) for mu in MU_GRID])
        result["answers_only"][str(n_min)] = {
            "cost_share": cheapest_reaching(points, target) / best_cost,
            "top_success": float(points[:, 0].max()),
        }
    return result


def bound_md(result: dict[str, Any]) -> list[str]:
    """The markdown table of the bounds."""
    head = ["set", "best single (success)", "foresight", f"verifier (orders <= {MAX_ORDER})"]
    head += [f"answers only, states >= {n} tasks" for n in N_MIN]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, r in result["sets"].items():
        if "skipped" in r:
            lines.append(f"| {name} | skipped: {r['skipped']} |")
            continue
        cells = [name, f"{r['best_single']} ({r['best_single_success']:.3f})"]
        cells += [f"{r['foresight']:.1%}", f"{r['verifier']:.1%}"]
        cells += [f"{r['answers_only'][str(n)]['cost_share']:.1%}" for n in N_MIN]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.cascade_bound", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--sets", default=",".join(SETS), help=f"comma-separated, from: {', '.join(SETS)}")
    parser.add_argument("--out-dir", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args(argv)
    sets = chosen_sets(parser, args.sets, SETS)
    started = time.perf_counter()
    from router._exceptions import InvalidInputError
    from training.zeroeval import find_data_dir

    result: dict[str, Any] = {"sets": {}}
    try:
        find_data_dir()
    except InvalidInputError as exc:  # the shared data is absent: say where it was looked for
        result["sets"] = {name: {"skipped": str(exc)} for name in sets}
    else:
        result["sets"] = {name: bounds(name) for name in sets}
    result["total_s"] = time.perf_counter() - started
    args.out_dir.mkdir(parents=True, exist_ok=True)
    write_json(args.out_dir / "cascade-bound.json", result)
    md = "\n".join(
        [
            "# Cheapest cost at the best single model's success, in hindsight (share of its cost)",
            "",
            *bound_md(result),
            "",
            "Reproduce: `python -m benchmarks.cascade_bound` (every task; bounds, not held-out results).",
            "",
        ]
    )
    (args.out_dir / "cascade-bound.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
