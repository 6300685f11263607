"""Realized savings: what the served routing gave and cost per task, against always sending every task to
one model, from the ledger's partial log.

The served routing is observed directly (its first attempts, and every attempt for what was spent); the
always-MODEL counterfactual is the doubly robust estimate (:mod:`.estimators`). Both come from one shared
bootstrap over tasks, so the difference carries a paired interval.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import numpy as np

from router._catalog import Catalog
from router._exceptions import InvalidInputError
from training.evaluation.ope.estimators import (
    BOOTSTRAP,
    MAX_UNSUPPORTED,
    _interval,
    prepare,
    resample_sums,
)
from training.evaluation.ope.logs import PartialLog
from training.evaluation.ope.policies import SingleModelPolicy
from training.evaluation.ope.reward import fit_rewards


def strongest_model(log: PartialLog, catalog: Catalog | None = None) -> str:
    """The catalog's dearest model that the log holds; else the log's model with the highest mean cost."""
    catalog = catalog or Catalog.default()
    for config in reversed(catalog.by_price):
        if config.name in log.models:
            return config.name
    return log.models[int(np.nanargmax(np.nanmean(log.cost, axis=0)))]


def realized_savings(
    log: PartialLog,
    against: str,
    *,
    bootstrap: int = BOOTSTRAP,
    seed: int = 0,
    max_unsupported: float = MAX_UNSUPPORTED,
) -> dict[str, Any]:
    """Served routing against always-``against``: success and cost per task with 95% intervals, the paired
    savings per task and in all, and what was actually spent."""
    if against not in log.models:
        raise InvalidInputError(f"Unknown model {against!r} for --against. Models in the log: {log.models}.")
    rows = np.arange(log.n_tasks)
    rewards = fit_rewards(log, seed=seed)
    always = prepare(
        log, SingleModelPolicy(against), estimator="dr", rewards=rewards,
        max_unsupported=max_unsupported, who=f"always {against}",
    )  # fmt: skip
    served_s, served_c = log.success[rows, log.first], log.cost[rows, log.first]
    vectors = np.vstack([served_s, served_c, log.spend, log.solved, always.terms.success, always.terms.cost])
    n = log.n_tasks
    draws = resample_sums(vectors, bootstrap, seed) / n
    points = vectors.sum(axis=1) / n
    names = ["success", "cost_usd", "spend_usd", "solved"]

    def block(at: int, keys: list[str]) -> dict[str, Any]:
        return {k: asdict(_interval(points[at + j], draws[:, at + j])) for j, k in enumerate(keys)}

    saved = draws[:, 5] - draws[:, 2]  # always-model's cost against what was really spent, per task
    lost = draws[:, 4] - draws[:, 3]  # its success against the tasks the served routing solved in the end
    return {
        "n_tasks": n,
        "rows": log.rows,
        "against": against,
        "estimator": "dr",
        "ess": always.support.ess,
        "served": block(0, names) | {"total_spend_usd": float(log.spend.sum())},
        "always": block(4, ["success", "cost_usd"]),
        "savings_per_task_usd": asdict(_interval(points[5] - points[2], saved)),
        "savings_total_usd": asdict(_interval((points[5] - points[2]) * n, saved * n)),
        "success_given_up": asdict(_interval(points[4] - points[3], lost)),
    }
