"""K-fold cross-validation over tasks: every task's predictions come from a router that never saw it.

This is how decision quality is reported (``router evaluate --cv``, the benchmarks): the out-of-fold
P(success) and expected cost of every task are gathered, then the policy, the cascade and the baselines are
scored on the same tasks with their real outcomes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import KFold

from router._catalog import Catalog
from router._exceptions import InvalidInputError
from router.learned.policy import choose_many, guard_row, mu_for
from training.data.outcomes import Outcomes, TaskMatrix, load_outcomes, task_matrix
from training.evaluation.holdout import predict_matrix
from training.evaluation.metrics import (
    auc_within_folds,
    best_at,
    cascade_points,
    classifier_metrics,
    curve_metrics,
    fixed_cascade,
    point_vs_hull,
    policy_points,
    single_points,
    upper_hull,
)
from training.fit.classifiers import FitParams
from training.fit.router_fit import TRADEOFF_GRID, fit_router, log_catalog


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
    guards: list[np.ndarray]  # per fold: the hull guard's mask, one row per TRADEOFF_GRID entry
    guard_reports: list[dict[str, Any]]  # per fold: the guard's decisions (fitted.meta["hull_guard"])
    cost_signals: list[str] = field(default_factory=list)  # per fold: the cost term the router kept


def cross_validate(
    outcomes: Outcomes,
    *,
    folds: int = 5,
    catalog: Catalog | None = None,
    seed: int = 0,
    target_share: float = 0.95,
    full_tasks_only: bool = True,
    **params: Any,
) -> CrossValidation:
    """K-fold cross-validation over tasks, scored on the tasks where every model was tried.

    A log with no such task is refused. With ``full_tasks_only=False`` (what ``router evaluate`` passes
    unless told otherwise) a log where some tasks lack some models (a production log) is refused too, with
    the off-policy command that fits it; by default those tasks are scored alone, and the report says how
    many of how many (``tasks`` and ``tasks_in_log``).
    """
    frame = load_outcomes(outcomes).frame
    models = sorted(frame["model"].unique())
    catalog = catalog or log_catalog(frame)
    data = task_matrix(frame, models)
    fit_params = FitParams(seed=seed, **params)
    n = len(data.task_ids)
    # Before fitting: the report needs them, and fitting K routers takes a while.
    require_full_tasks(data, source=_source(outcomes), full_tasks_only=full_tasks_only)
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
    guards: list[np.ndarray] = []
    guard_reports: list[dict[str, Any]] = []
    cost_signals: list[str] = []
    for k, (tr, te) in enumerate(KFold(folds, shuffle=True, random_state=seed).split(np.arange(n))):
        fitted = fit_router(data.subset(tr), catalog, fit_params, target_share=target_share)
        p[te], c[te] = predict_matrix(fitted, data.subset(te))
        kappa[te], tradeoff[te], fold_of[te] = fitted.meta["kappa"], fitted.meta["default_tradeoff"], k
        table = fitted.arrays["chain_table"]
        tables.append(table if table.size else None)
        bases.append(fitted.arrays["base_rate"])
        guards.append(fitted.arrays["guard_mask"])
        guard_reports.append(fitted.meta["hull_guard"])
        cost_signals.append(fitted.meta["cost_signal"]["used"])
    return CrossValidation(
        data, p, c, kappa, tradeoff, tables, fold_of, bases, guards, guard_reports, cost_signals
    )


def quality_report(cv: CrossValidation, *, full_tasks_only: bool = True) -> dict[str, Any]:
    """Policy, cascade and baselines on the tasks where every model was tried (``tasks`` of
    ``tasks_in_log``: all of them unless ``full_tasks_only`` allowed a partial log)."""
    data = cv.data
    full = data.observed.all(axis=1)
    require_full_tasks(data, full_tasks_only=full_tasks_only)
    s, c = data.success[full], data.cost[full]
    p, ch = cv.p[full], cv.cost_hat[full]
    singles = single_points(s, c)
    # Each task is scored with its own fold's router: its kappa, hull guard and escalation table.
    folds = cv.fold_of[full]
    policy = np.zeros((len(TRADEOFF_GRID), 2))
    unguarded = np.zeros((len(TRADEOFF_GRID), 2))
    cascade = np.zeros((len(TRADEOFF_GRID), 2))
    chosen_default = np.zeros(len(s), dtype=np.int64)
    for k in np.unique(folds):
        rows = folds == k
        fold_kappa = float(cv.kappa[full][rows][0])
        args = (s[rows], c[rows], p[rows], ch[rows], fold_kappa)
        policy += policy_points(*args, cv.guards[k]) * rows.sum()
        unguarded += policy_points(*args) * rows.sum()
        cascade += cascade_points(*args, cv.tables[k], cv.base_rates[k], cv.guards[k]) * rows.sum()
        t = float(cv.tradeoff[full][rows][0])
        allowed = cv.guards[k][guard_row(t, TRADEOFF_GRID.tolist())]
        chosen_default[rows] = choose_many(p[rows], ch[rows], mu_for(t, fold_kappa), allowed)
    policy /= len(s)
    unguarded /= len(s)
    cascade /= len(s)
    task_rows = np.arange(len(s))
    default = (float(c[task_rows, chosen_default].mean()), float(s[task_rows, chosen_default].mean()))
    cheap, best = int(np.argmin(singles[:, 0])), int(np.argmax(singles[:, 1]))
    fixed_cost, fixed_success = fixed_cascade(s, c, [cheap, best])
    oracle_choice = np.where(
        s.max(1) >= 0.5, np.argmin(np.where(s >= 0.5, c, np.inf), axis=1), np.argmin(c, axis=1)
    )
    rows = np.arange(len(s))
    return {
        "models": data.models,
        "tasks": int(full.sum()),
        "tasks_in_log": len(data.task_ids),
        "singles": {
            m: {"cost": float(singles[j, 0]), "success": float(singles[j, 1])}
            for j, m in enumerate(data.models)
        },
        "classifier": {
            name: {**metrics, "auc_within_folds": float(within)}
            for (name, metrics), within in zip(
                classifier_metrics(s, p, data.models).items(), auc_within_folds(s, p, folds), strict=True
            )
        },
        "policy": curve_metrics(policy, singles),
        "policy_points": policy.tolist(),
        "policy_unguarded": curve_metrics(unguarded, singles),
        "default": {
            "cost": default[0],
            "success": default[1],
            "gain_over_hull": point_vs_hull(default, singles),
            "tradeoff_median": float(np.median(cv.tradeoff[full])),
        },
        "guard": guard_summary(cv.guard_reports),
        "cost_signal": cv.cost_signals,
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


def require_full_tasks(data: TaskMatrix, *, source: str = "LOG", full_tasks_only: bool = False) -> None:
    """Refuse a log where not every model was tried on every task: decision quality is scored on the tasks
    where all were, and on a production log those are no fair sample (on an escalation log, they are the
    tasks the cheaper models failed). ``full_tasks_only`` accepts a log with some such tasks."""
    full = data.observed.all(axis=1)
    n, k = len(data.task_ids), int(full.sum())
    if k == n or (k and full_tasks_only):
        return
    fits = (
        f"score it off-policy instead: router train --data {source} --output router-candidate --no-mlflow, "
        "then router evaluate --data NEWER_LOG --model router-candidate --ope (NEWER_LOG: a log the "
        "candidate was not trained on, e.g. a later router logs export)"
    )
    if not k:
        # A production log (one model per task, plus escalations) has no task to compare the models on.
        raise InvalidInputError(
            f"the log has no task on which every model ({', '.join(data.models)}) was tried, out of "
            f"{n} tasks: decision quality is scored on such tasks only. Evaluate on a benchmark-style log "
            f"(every model tried on each task, e.g. python -m training.synthetic OUT --mode full), or {fits}"
        )
    raise InvalidInputError(
        f"every model ({', '.join(data.models)}) was tried on only {k} of the log's {n} tasks: scoring "
        f"those alone judges the router on the survivors (on an escalation log, the tasks the cheaper "
        f"models failed). {fits[0].upper()}{fits[1:]}; or add --full-tasks-only to score the {k} tasks "
        "anyway"
    )


def _source(outcomes: Outcomes) -> str:
    """How a command names the log: its path, or LOG for a frame."""
    return str(outcomes) if isinstance(outcomes, str | Path) else "LOG"


def guard_summary(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """Per tradeoff of the grid, what the folds' hull guards decided: the learned choice or a fixed model."""
    per_tradeoff = {}
    for k, t in enumerate(reports[0]["tradeoffs"]):
        votes = [r["decisions"][k] for r in reports]
        majority = max(sorted(set(votes)), key=votes.count)
        per_tradeoff[f"{t:g}"] = {"decision": majority, "folds": votes.count(majority)}
    return {
        "at_default": [r["default"] for r in reports],
        "learned_share": float(np.mean([r["learned_share"] for r in reports])),
        "dropped_models": sorted(set.intersection(*(set(r["dropped_models"]) for r in reports))),
        "per_tradeoff": per_tradeoff,
    }


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
