"""The learned cascade replayed on full-information tasks: its cost-success curve and its P(right).

``replay_plans`` is what ``LearnedRouter.next_step`` decides, step after step, when every attempt follows
the plan, computed for many tasks at once (``tests/training/test_cascade_eval.py`` checks the two agree).
The curve is read with the project's metric definitions (``training.evaluation.metrics``): gain over the
hull of fixed models, top success, the cost at which the best single model's success is reached.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from router.learned.policy import guard_row
from training.data.answers import AnswerMatrix
from training.data.outcomes import TaskMatrix
from training.evaluation.metrics import best_at, expected_calibration_error, single_points
from training.fit.acceptance import Acceptance
from training.fit.cascade_plan import CascadePlans


@dataclass
class Replay:
    """Per task: the success and cost of the cascade, the attempt count and the returned answer's P(right)."""

    success: np.ndarray
    cost: np.ndarray
    calls: np.ndarray
    p_correct: np.ndarray


def replay_plan(
    data: TaskMatrix, answers: AnswerMatrix, acceptance: Acceptance, order: list[int], thresholds: list[float]
) -> Replay:
    """One plan on every task of ``data`` (each needs an outcome for every model of the order)."""
    n = len(data.task_ids)
    agree = answers.agree
    done = np.zeros(n, dtype=bool)
    success, cost = np.zeros(n), np.zeros(n)
    calls, p_out = np.zeros(n, dtype=np.int64), np.zeros(n)
    for stage in range(len(order)):
        prefix = np.array(order[: stage + 1])
        active = ~done
        cost[active] += data.cost[active, order[stage]]
        calls[active] += 1
        x = acceptance.featurizer.batch(
            agree[active], answers.nonempty[active], answers.length[active], prefix
        )
        p = acceptance.predict(x)  # (active, stage + 1)
        best = p.argmax(axis=1)  # the earliest of equals, as next_step
        p_best = p[np.arange(len(p)), best]
        last = stage == len(order) - 1
        stop = np.ones(len(p), dtype=bool) if last else p_best >= thresholds[stage]
        idx = np.flatnonzero(active)[stop]
        success[idx] = data.success[idx, prefix[best[stop]]]
        p_out[idx] = p_best[stop]
        done[idx] = True
    return Replay(success, cost, calls, p_out)


def replay_plans(
    data: TaskMatrix,
    answers: AnswerMatrix,
    acceptance: Acceptance,
    plans: CascadePlans,
    tradeoffs: np.ndarray,
) -> list[Replay]:
    """``replay_plan`` at each of ``tradeoffs``, with the plan serving picks for it (nearest trained row)."""
    rows = [guard_row(float(t), plans.tradeoffs.tolist()) for t in tradeoffs]
    cache: dict[int, Replay] = {}
    out = []
    for r in rows:
        if r not in cache:
            order = [int(v) for v in plans.orders[r] if v >= 0]
            cache[r] = replay_plan(data, answers, acceptance, order, plans.thresholds[r].tolist())
        out.append(cache[r])
    return out


#: The tradeoffs the held-out curve is read at (the issue's: 0, 0.05, ..., 1).
CURVE_TRADEOFFS = np.round(np.linspace(0.0, 1.0, 21), 3)


def gain_vs_hull(points: np.ndarray, singles: np.ndarray) -> float:
    """Curve against curve: at every budget between the cheapest and the dearest single model's mean cost,
    the best success reachable by mixing ``points`` minus the best by mixing single models, averaged over
    the budgets and divided by (best single success - cheapest model's success). Both are (cost, success)."""
    cheap = singles[np.argmin(singles[:, 0])]
    best = singles[np.argmax(singles[:, 1])]
    grid = np.linspace(cheap[0], singles[:, 0].max(), 400)
    curve = best_at(points, grid)
    curve = np.where(np.isnan(curve), cheap[1], np.maximum(curve, cheap[1]))  # below its cheapest point
    span = best[1] - cheap[1]
    return float(np.mean(curve - best_at(singles, grid)) / span) if span > 0 else float("nan")


def curve_summary(points: np.ndarray, singles: np.ndarray) -> dict[str, float]:
    """The issue's figures of a (cost, success) curve against the single models on the same tasks."""
    best = singles[np.argmax(singles[:, 1])]
    reach = points[points[:, 1] >= best[1] - 1e-9]
    return {
        "gain_vs_hull": gain_vs_hull(points, singles),
        "top_success": float(points[:, 1].max()),
        "best_single_success": float(best[1]),
        "cost_share_at_best_single": float(reach[:, 0].min() / best[0]) if len(reach) else float("nan"),
    }


def evaluate_cascade(
    data: TaskMatrix, answers: AnswerMatrix, acceptance: Acceptance, plans: CascadePlans
) -> tuple[dict[str, float], dict[str, list[list[float]]]]:
    """Held-out figures of a fitted cascade on the tasks of ``data`` where every model answered.

    Returns the metrics (gain over the hull, top success, cost share at the best single model's success,
    ECE of the returned answers' P(right), mean calls) and the curves (cascade points, single models).
    """
    full = data.observed.all(axis=1)
    if full.sum() < 10:
        return {}, {}
    rows = np.flatnonzero(full)
    sub, ans = data.subset(rows), answers.subset(rows)
    replays = replay_plans(sub, ans, acceptance, plans, CURVE_TRADEOFFS)
    points = np.array([(r.cost.mean(), r.success.mean()) for r in replays])
    singles = single_points(sub.success, sub.cost)
    y = np.concatenate([r.success for r in replays])
    p = np.concatenate([r.p_correct for r in replays])
    metrics = curve_summary(points, singles)
    metrics["ece"] = expected_calibration_error((y >= 0.5).astype(float), p)
    metrics["mean_calls"] = float(np.mean([r.calls.mean() for r in replays]))
    return metrics, {"points": points.tolist(), "singles": singles.tolist()}
