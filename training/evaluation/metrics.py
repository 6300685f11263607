"""Decision-quality metrics, computed on held-out tasks with the outcomes that were really observed.

Definitions (cost is the mean dollars per task, success the mean outcome per task):

* single models: each model's (cost, success) on the tasks where every candidate was tried;
* the hull: the upper convex hull of the single models, i.e. the best that random mixing of fixed models
  reaches at each cost;
* a policy's curve: its (cost, success) at every tradeoff of a grid, completed by mixing (its own upper hull,
  anchored at the cheapest model);
* APGR: the policy's performance gap recovered, (success - cheapest) / (best - cheapest), averaged over the
  cost axis from the cheapest model's cost to the best model's (random mixing of the two scores 0.5);
* gain over the hull: the mean vertical distance, in success points, between the policy's curve and the hull
  over that same cost range (positive: better than any mix of fixed models);
* cost at best quality: the least cost at which the policy reaches the best single model's success.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import brier_score_loss, roc_auc_score

from router.execution.strategy import cascade_next
from router.learned.policy import choose_many, escalation_many, logit_table, mu_for
from training.fit.router_fit import TRADEOFF_GRID

# numpy >= 2.0 calls it trapezoid; 1.26, the lowest version pyproject.toml allows, has only trapz.
_trapezoid: Any = np.trapezoid if hasattr(np, "trapezoid") else getattr(np, "trapz")  # noqa: B009


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """ECE with equal-width bins: the bin-size-weighted mean |mean outcome - mean prediction|."""
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            total += mask.sum() * abs(y[mask].mean() - p[mask].mean())
    return float(total / len(y))


def reliability_bins(y: np.ndarray, p: np.ndarray, bins: int = 10) -> list[dict[str, float]]:
    """The reliability diagram's points: per non-empty equal-width bin, mean prediction, mean outcome, count.

    The same bins as :func:`expected_calibration_error`, so the diagram shows what the ECE sums.
    """
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    masks = [which == b for b in range(bins)]
    return [
        {"predicted": float(p[m].mean()), "observed": float(y[m].mean()), "n": int(m.sum())}
        for m in masks
        if m.any()
    ]


def classifier_metrics(success: np.ndarray, p: np.ndarray, models: list[str]) -> dict[str, dict[str, float]]:
    out = {}
    for j, name in enumerate(models):
        seen = ~np.isnan(success[:, j]) & ~np.isnan(p[:, j])
        y, q = (success[seen, j] >= 0.5).astype(float), p[seen, j]
        metrics = {
            "brier": float(brier_score_loss(y, q)),
            "ece": expected_calibration_error(y, q),
            "n": int(seen.sum()),
        }
        metrics["auc"] = float(roc_auc_score(y, q)) if 0 < y.mean() < 1 else float("nan")
        out[name] = metrics
    return out


def auc_within_folds(success: np.ndarray, p: np.ndarray, folds: np.ndarray) -> np.ndarray:
    """Per model, the mean over cross-validation folds of the AUC on that fold's held-out tasks.

    The AUC of all folds' predictions pooled also counts differences between folds: a fold whose training
    part had a higher success rate predicts higher for every task, while its held-out part, by complement,
    has a lower one, so a model with no signal scores below 0.5 pooled (0.47 on SWE-bench). Within a fold,
    only the ranking of tasks that one trained router scored counts, which is what routing new tasks uses.
    Folds with one class, or with a constant prediction (no ranking), count as 0.5. NaN without outcomes.
    """
    out = np.full(success.shape[1], np.nan)
    for j in range(success.shape[1]):
        aucs = []
        for k in np.unique(folds):
            seen = (folds == k) & ~np.isnan(success[:, j]) & ~np.isnan(p[:, j])
            y = success[seen, j] >= 0.5
            ranked = 0 < y.mean() < 1 and np.ptp(p[seen, j]) > 0 if seen.any() else False
            aucs.append(float(roc_auc_score(y, p[seen, j])) if ranked else 0.5)
        out[j] = np.mean(aucs) if aucs else np.nan
    return out


def upper_hull(points: np.ndarray) -> np.ndarray:
    """The upper-left convex hull of (cost, success) points, as a rising polyline sorted by cost."""
    pts = sorted({(float(c), float(s)) for c, s in points})
    hull: list[tuple[float, float]] = []
    for p in pts:
        while (
            len(hull) >= 2
            and (
                (hull[-1][0] - hull[-2][0]) * (p[1] - hull[-2][1])
                - (hull[-1][1] - hull[-2][1]) * (p[0] - hull[-2][0])
            )
            >= 0
        ):
            hull.pop()
        hull.append(p)
    rising = [hull[0]]
    for p in hull[1:]:
        if p[1] > rising[-1][1]:
            rising.append(p)
    return np.array(rising)


def best_at(points: np.ndarray, costs: np.ndarray) -> np.ndarray:
    """Best success reachable by mixing ``points`` at each cost (NaN below the cheapest point)."""
    hull = upper_hull(points)
    values = np.interp(costs, hull[:, 0], hull[:, 1])
    return np.where(costs < hull[0, 0] - 1e-12, np.nan, values)


def policy_points(
    success: np.ndarray,
    cost: np.ndarray,
    p: np.ndarray,
    c_hat: np.ndarray,
    kappa: float,
    guard_mask: np.ndarray | None = None,
) -> np.ndarray:
    """Realised (cost, success) of the policy at every tradeoff of the grid (with ``guard_mask``, one row
    per grid tradeoff, choosing only among the models the hull guard allows there, as serving does)."""
    rows = np.arange(len(success))
    points = []
    for k, t in enumerate(TRADEOFF_GRID):
        allowed = None if guard_mask is None else guard_mask[k]
        chosen = choose_many(p, c_hat, mu_for(float(t), kappa), allowed)
        points.append((cost[rows, chosen].mean(), success[rows, chosen].mean()))
    return np.array(points)


def point_vs_hull(point: tuple[float, float], singles: np.ndarray) -> float:
    """Success above (positive) or below the hull of the single models at the point's own cost."""
    hull_at = best_at(singles, np.array([point[0]]))[0]
    if np.isnan(hull_at):  # cheaper than the cheapest model: compare with the cheapest's success
        hull_at = float(singles[np.argmin(singles[:, 0]), 1])
    return float(point[1] - hull_at)


def single_points(success: np.ndarray, cost: np.ndarray) -> np.ndarray:
    return np.column_stack([cost.mean(0), success.mean(0)])


def curve_metrics(points: np.ndarray, singles: np.ndarray) -> dict[str, float]:
    cheap = singles[np.argmin(singles[:, 0])]
    best = singles[np.argmax(singles[:, 1])]
    grid = np.linspace(cheap[0], best[0], 400)
    curve = best_at(np.vstack([points, cheap]), grid)
    hull = best_at(singles, grid)
    span = best[1] - cheap[1]
    width = grid[-1] - grid[0]
    reach = points[points[:, 1] >= best[1] - 1e-12]
    return {
        "apgr": float(_trapezoid((curve - cheap[1]) / span, grid) / width)
        if span > 0 and width > 0
        else float("nan"),
        "gain_over_hull": float(_trapezoid(curve - hull, grid) / width) if width > 0 else float("nan"),
        "max_gain_over_hull": float(np.nanmax(curve - hull)),
        "cost_at_best_quality": float(reach[:, 0].min()) if len(reach) else float("nan"),
        "best_single_cost": float(best[0]),
        "best_single_success": float(best[1]),
    }


def cascade_points(
    success: np.ndarray,
    cost: np.ndarray,
    p: np.ndarray,
    c_hat: np.ndarray,
    kappa: float,
    table: np.ndarray | None,
    base: np.ndarray,
    guard_mask: np.ndarray | None = None,
) -> np.ndarray:
    """Realised (cost, success) of the learned escalation at every tradeoff: an acceptance check that sees
    each attempt's true outcome stops the chain at the first success; cost is the sum of attempts made."""
    points = []
    logits = None if table is None else logit_table(table)
    for k, t in enumerate(TRADEOFF_GRID):
        mu = mu_for(float(t), kappa)
        allowed = None if guard_mask is None else guard_mask[k]
        chains = escalation_many(choose_many(p, c_hat, mu, allowed), p, c_hat, mu, logits, base)
        total_cost = total_success = 0.0
        for i, chain in enumerate(chains):
            spent, solved, _ = walk_cascade(chain, success[i], cost[i])
            total_cost += spent
            total_success += solved
        points.append((total_cost / len(success), total_success / len(success)))
    return np.array(points)


def walk_cascade(
    chain: Sequence[int], success: Sequence[float], cost: Sequence[float]
) -> tuple[float, bool, int]:
    """(dollars spent, solved, attempts) of one task's escalation ``chain`` of model columns, with an
    acceptance check that sees each attempt's true outcome.

    The next model after a rejected result comes from ``router.execution.strategy.cascade_next``, the rule
    ``FallbackHandler.execute_decision`` follows, so what is measured here is what executes
    (``tests/training/test_cascade_walk.py`` checks the two agree).
    """
    tried: set[int] = set()
    spent, attempts = 0.0, 0
    nxt = list(chain[:1])
    while nxt:
        j = int(nxt[0])
        tried.add(j)
        spent += float(cost[j])
        attempts += 1
        if success[j] >= 0.5:
            return spent, True, attempts
        nxt = cascade_next(list(chain), tried)
    return spent, False, attempts


def fixed_cascade(success: np.ndarray, cost: np.ndarray, order: list[int]) -> tuple[float, float]:
    done = np.zeros(len(success), bool)
    spent = np.zeros(len(success))
    for j in order:
        spent += np.where(done, 0.0, cost[:, j])
        done |= success[:, j] >= 0.5
    return float(spent.mean()), float(done.mean())
