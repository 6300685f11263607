"""K-fold cross-validation over tasks: every task's predictions come from a router that never saw it.

This is how decision quality is reported (``router evaluate --cv``, the benchmarks): the out-of-fold
P(success) and expected cost of every task are gathered, then the policy, the cascade and the baselines are
scored on the same tasks with their real outcomes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.model_selection import KFold

from router._catalog import Catalog
from router._exceptions import InvalidInputError
from training.data.outcomes import Outcomes, TaskMatrix, load_outcomes, task_matrix
from training.evaluation.holdout import predict_matrix
from training.evaluation.metrics import (
    best_at,
    cascade_points,
    classifier_metrics,
    curve_metrics,
    fixed_cascade,
    policy_points,
    single_points,
    upper_hull,
)
from training.fit.classifiers import FitParams
from training.fit.router_fit import fit_router, log_catalog


@dataclass
class CrossValidation:
    data: TaskMatrix
    p: np.ndarray
    cost_hat: np.ndarray
    kappa: np.ndarray  # per task, from its fold's router
    tradeoff: np.ndarray  # per task: its fold's calibrated default tradeoff
    tables: list[np.ndarray | None]
    fold_of: np.ndarray
    base_rates: list[np.ndarray]


def cross_validate(
    outcomes: Outcomes,
    *,
    folds: int = 5,
    catalog: Catalog | None = None,
    seed: int = 0,
    target_share: float = 0.95,
    **params: Any,
) -> CrossValidation:
    frame = load_outcomes(outcomes).frame
    models = sorted(frame["model"].unique())
    catalog = catalog or log_catalog(frame)
    data = task_matrix(frame, models)
    fit_params = FitParams(seed=seed, **params)
    n = len(data.task_ids)
    require_full_tasks(data)  # before fitting: the report needs them, and fitting K routers takes a while
    if n < folds:
        raise InvalidInputError(
            f"{folds}-fold cross-validation needs at least {folds} tasks, the log has {n}: "
            f"log more tasks or use --cv {max(2, n)}" + ("" if n >= 2 else " with at least 2 tasks")
        )
    p = np.full(data.success.shape, np.nan)
    c = np.full(data.success.shape, np.nan)
    kappa, tradeoff, fold_of = np.zeros(n), np.zeros(n), np.zeros(n, dtype=int)
    tables: list[np.ndarray | None] = []
    bases = []
    for k, (tr, te) in enumerate(KFold(folds, shuffle=True, random_state=seed).split(np.arange(n))):
        fitted = fit_router(data.subset(tr), catalog, fit_params, target_share=target_share)
        p[te], c[te] = predict_matrix(fitted, data.subset(te))
        kappa[te], tradeoff[te], fold_of[te] = fitted.meta["kappa"], fitted.meta["default_tradeoff"], k
        table = fitted.arrays["chain_table"]
        tables.append(table if table.size else None)
        bases.append(fitted.arrays["base_rate"])
    return CrossValidation(data, p, c, kappa, tradeoff, tables, fold_of, bases)


def quality_report(cv: CrossValidation) -> dict[str, Any]:
    """Policy, cascade and baselines on the tasks where every model was tried."""
    data = cv.data
    full = data.observed.all(axis=1)
    require_full_tasks(data)
    s, c = data.success[full], data.cost[full]
    p, ch = cv.p[full], cv.cost_hat[full]
    kappa = float(np.median(cv.kappa[full]))
    singles = single_points(s, c)
    policy = policy_points(s, c, p, ch, kappa)
    # Each fold's cascade uses that fold's table; tasks are scored with their own fold's router.
    cascade = np.zeros((len(policy), 2))
    folds = cv.fold_of[full]
    for k in np.unique(folds):
        rows = folds == k
        cascade += (
            cascade_points(s[rows], c[rows], p[rows], ch[rows], kappa, cv.tables[k], cv.base_rates[k])
            * rows.sum()
        )
    cascade /= len(s)
    cheap, best = int(np.argmin(singles[:, 0])), int(np.argmax(singles[:, 1]))
    fixed_cost, fixed_success = fixed_cascade(s, c, [cheap, best])
    oracle_choice = np.where(
        s.max(1) >= 0.5, np.argmin(np.where(s >= 0.5, c, np.inf), axis=1), np.argmin(c, axis=1)
    )
    rows = np.arange(len(s))
    return {
        "models": data.models,
        "tasks": int(full.sum()),
        "singles": {
            m: {"cost": float(singles[j, 0]), "success": float(singles[j, 1])}
            for j, m in enumerate(data.models)
        },
        "classifier": classifier_metrics(s, p, data.models),
        "policy": curve_metrics(policy, singles),
        "policy_points": policy.tolist(),
        "cascade": curve_metrics(cascade, singles),
        "cascade_points": cascade.tolist(),
        "fixed_cascade_cheap_best": {"cost": fixed_cost, "success": fixed_success},
        "cascade_vs_fixed": compare_at(cascade, fixed_cost, fixed_success),
        "oracle": {
            "cost": float(c[rows, oracle_choice].mean()),
            "success": float(s[rows, oracle_choice].mean()),
        },
        "random_mix": curve_metrics(singles[[cheap, best]], singles),
    }


def require_full_tasks(data: TaskMatrix) -> None:
    """Refuse a log with no task on which every model was tried: decision quality is scored on those."""
    if not data.observed.all(axis=1).any():
        # A production log (one model per task, plus escalations) has no task to compare the models on.
        raise InvalidInputError(
            f"the log has no task on which every model ({', '.join(data.models)}) was tried, out of "
            f"{len(data.task_ids)} tasks: decision quality is scored on such tasks only. Evaluate on a "
            "benchmark-style log (every model tried on each task, e.g. python -m training.synthetic "
            "OUT --mode full)"
        )


def compare_at(points: np.ndarray, cost: float, success: float) -> dict[str, float]:
    """A curve against one operating point: its success at that cost, and its least cost for that success
    (mixing two of the curve's tradeoffs allowed, as for every curve here)."""
    hull = upper_hull(points)  # rising in both cost and success
    reachable = success <= hull[-1, 1] + 1e-12
    return {
        "success_at_fixed_cost": float(best_at(points, np.array([cost]))[0]),
        "cost_at_fixed_success": float(np.interp(success, hull[:, 1], hull[:, 0]))
        if reachable
        else float("nan"),
    }
