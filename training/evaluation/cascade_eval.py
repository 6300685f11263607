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
        x = acceptance.featurizer.batch(agree[active], answers.nonempty[active], answers.length[active], prefix)
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
    data: TaskMatrix, answers: AnswerMatrix, acceptance: Acceptance, plans: CascadePlans, tradeoffs: np.ndarray
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
