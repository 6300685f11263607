"""Held-out evaluation of a fitted router: the task split, predictions through the serving arithmetic, and
the per-model and curve metrics on the held-out tasks."""

from __future__ import annotations

from typing import Any

import numpy as np

from router.learned.policy import choose_many, guard_row, mu_for
from training.data.outcomes import TaskMatrix
from training.evaluation.metrics import (
    cascade_points,
    classifier_metrics,
    curve_metrics,
    point_vs_hull,
    policy_points,
    reliability_bins,
    single_points,
)
from training.fit.router_fit import FittedRouter

CASCADE_SAMPLE = 3_000


def split_tasks(n_tasks: int, test_size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.random.default_rng(seed).permutation(n_tasks)
    n_test = max(1, round(n_tasks * test_size))
    return np.sort(order[n_test:]), np.sort(order[:n_test])


def predict_matrix(fitted: FittedRouter, data: TaskMatrix) -> tuple[np.ndarray, np.ndarray]:
    """P(success) and expected cost for every task x model, through the serving arithmetic's arrays."""
    x = fitted.transform(data)
    z = x @ fitted.arrays["weights"] + fitted.arrays["bias"]
    m = len(data.models)
    return 1.0 / (1.0 + np.exp(-z[:, :m])), np.exp(z[:, m:])


def evaluate_fitted(fitted: FittedRouter, test: TaskMatrix) -> tuple[dict[str, float], dict[str, Any]]:
    """Held-out metrics: per-model classifier quality, and the policy's and cascade's curves on tasks with
    full information (every model tried)."""
    p, c_hat = predict_matrix(fitted, test)
    per_model = classifier_metrics(test.success, p, test.models)
    metrics: dict[str, float] = {}
    for name, values in per_model.items():
        for key in ("auc", "brier", "ece"):
            metrics[f"{key}_{name}"] = values[key]
    metrics["ece_max"] = max(v["ece"] for v in per_model.values())
    full = test.observed.all(axis=1)
    details: dict[str, Any] = {
        "per_model": per_model,
        "full_information_tasks": int(full.sum()),
        "models": list(test.models),
        "reliability": _reliability(test.success, p, test.models),
    }
    if full.sum() >= 10:
        s, c = test.success[full], test.cost[full]
        kappa = fitted.meta["kappa"]
        singles = single_points(s, c)
        guard_mask = fitted.arrays["guard_mask"]
        points = policy_points(s, c, p[full], c_hat[full], kappa, guard_mask)
        metrics.update(curve_metrics(points, singles))
        metrics.update(default_point(fitted, s, c, p[full], c_hat[full], singles))
        table = fitted.arrays["chain_table"]
        # The cascade is walked task by task in Python at every tradeoff: past a few thousand tasks a
        # fixed random sample gives the same curve within noise at a fraction of the time.
        sample = np.flatnonzero(full)
        if len(sample) > CASCADE_SAMPLE:
            sample = np.sort(np.random.default_rng(0).choice(sample, CASCADE_SAMPLE, replace=False))
        cascade = cascade_points(
            test.success[sample],
            test.cost[sample],
            p[sample],
            c_hat[sample],
            kappa,
            table if table.size else None,
            fitted.arrays["base_rate"],
            guard_mask,
        )
        cascade_summary = curve_metrics(cascade, singles)
        metrics["cascade_apgr"] = cascade_summary["apgr"]
        metrics["cascade_cost_at_best_quality"] = cascade_summary["cost_at_best_quality"]
        details.update(singles=singles.tolist(), policy=points.tolist(), cascade=cascade.tolist())
    return metrics, details


def default_point(
    fitted: FittedRouter, s: np.ndarray, c: np.ndarray, p: np.ndarray, c_hat: np.ndarray, singles: np.ndarray
) -> dict[str, float]:
    """The single choice at the default tradeoff, as ``route_many`` makes it: its cost, success, distance
    to the hull of fixed models at that cost, and whether the hull guard let the learned choice decide."""
    t = float(fitted.meta["default_tradeoff"])
    row = guard_row(t, fitted.arrays["guard_tradeoffs"].tolist())
    chosen = choose_many(p, c_hat, mu_for(t, fitted.meta["kappa"]), fitted.arrays["guard_mask"][row])
    rows = np.arange(len(s))
    point = (float(c[rows, chosen].mean()), float(s[rows, chosen].mean()))
    return {
        "default_cost": point[0],
        "default_success": point[1],
        "default_gain_over_hull": point_vs_hull(point, singles),
        "guard_learned_at_default": float(fitted.guard.decisions[row].startswith("learned")),
    }


def _reliability(success: np.ndarray, p: np.ndarray, models: list[str]) -> dict[str, list[dict[str, float]]]:
    """Per model, on the held-out tasks where it was tried: the reliability diagram's bins."""
    out = {}
    for j, name in enumerate(models):
        seen = ~np.isnan(success[:, j])
        out[name] = reliability_bins((success[seen, j] >= 0.5).astype(float), p[seen, j])
    return out
