"""The cost term the choice decides on: each task's predicted cost, or each model's mean cost.

The policy picks ``argmax p - mu * cost`` per task. A task's cost is often far easier to predict from its
text than its outcome (long tasks cost more for every model), so per-task cost predictions vary a lot while
the success predictions barely do; the choice is then steered by cost alone, and on tasks where cost and
difficulty go together (long issues, long word problems) it sends the hardest tasks to the cheap model, just
where the strong one makes the difference that the success model is too weak to see. On held-out thirds of
the shared real sets and model subsets of them (nine sets, 12 splits each), deciding on each model's mean
cost moved the single choice's gain over the best fixed mix from -0.66 to +0.03 points on SWE-bench and from
-0.06 to +0.45 on GSM8K, but it lost 0.1-0.2 points on four of the nine sets, so neither term is right
everywhere. ``FitParams.cost_signal="auto"`` (the default) keeps the one whose choices gain more over the
hull of fixed models, averaged over the tradeoff grid, on out-of-fold predictions (``curve_gain``).

Serving is unchanged either way: the mean cost is the cost column's bias with zero weights.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from router.learned.policy import choose_many, mu_for
from training.fit.guard import MASK_EVIDENCE_TASKS, evidence, hull_at

if TYPE_CHECKING:
    from training.data.outcomes import TaskMatrix
    from training.fit.classifiers import FittedModels


def model_mean_cost(data: TaskMatrix) -> np.ndarray:
    """Each model's mean cost over the tasks it was tried on (where never tried: the least tried model's)."""
    counts = data.observed.sum(axis=0)
    sums = np.where(data.observed, data.cost, 0.0).sum(axis=0)
    means = sums / np.maximum(counts, 1)
    fallback = float(means[counts > 0].min()) if counts.any() else 1e-6
    return np.where(counts > 0, means, fallback)


def cost_variants(data: TaskMatrix, oof_c: np.ndarray, cost_signal: str) -> dict[str, np.ndarray]:
    """The out-of-fold cost term of each candidate ``cost_signal`` allows: "per_task" (the predictions
    ``oof_c``) and/or "per_model" (each model's mean cost on every task)."""
    variants = {}
    if cost_signal != "per_model":
        variants["per_task"] = oof_c
    if cost_signal != "per_task":
        variants["per_model"] = np.broadcast_to(model_mean_cost(data), oof_c.shape)
    return variants


def per_model_costs(fitted: FittedModels, data: TaskMatrix) -> FittedModels:
    """The fit with each model's expected cost replaced by its mean cost on every task: the cost columns'
    weights become zero and their bias the log of the mean."""
    n_models = len(data.models)
    means = model_mean_cost(data)
    weights, bias = fitted.weights.copy(), fitted.bias.copy()
    weights[:, n_models:] = 0.0
    bias[n_models:] = np.log(np.maximum(means, 1e-12))
    oof_cost = np.where(np.isnan(fitted.oof_cost), np.nan, np.broadcast_to(means, fitted.oof_cost.shape))
    return replace(fitted, weights=weights, bias=bias, oof_cost=oof_cost)


def curve_gain(
    data: TaskMatrix,
    oof_p: np.ndarray,
    predicted_c: np.ndarray,
    choice_c: np.ndarray,
    mask: np.ndarray,
    kappa: float,
    tradeoffs: np.ndarray,
) -> float:
    """The mean, over the tradeoffs (where cost alone does not decide), of the success of the choice made
    on ``oof_p`` and the cost term ``choice_c`` (within ``mask``'s row) above the hull of fixed models at its
    own cost, in real outcomes and costs.

    Where a model was not tried on a task, its outcome and cost count at their predictions (``oof_p``,
    ``predicted_c``), the same numbers for every candidate cost term. Past ``MASK_EVIDENCE_TASKS`` evidence
    tasks, on a fixed random sample of them (the same for every candidate)."""
    s, c, p, _ = evidence(data.success, data.cost, data.observed, oof_p, predicted_c)
    choice_c = evidence(data.success, data.cost, data.observed, oof_p, choice_c)[3]
    if len(s) > MASK_EVIDENCE_TASKS:
        keep = np.sort(np.random.default_rng(0).choice(len(s), MASK_EVIDENCE_TASKS, replace=False))
        s, c, p, choice_c = s[keep], c[keep], p[keep], choice_c[keep]
    rows = np.arange(len(s))
    mean_s, mean_c = s.mean(axis=0), c.mean(axis=0)
    gains = []
    for k, t in enumerate(tradeoffs):
        mu = mu_for(float(t), kappa)
        if math.isinf(mu):
            continue
        chosen = choose_many(p, choice_c, mu, mask[k])
        gains.append(float(s[rows, chosen].mean()) - hull_at(float(c[rows, chosen].mean()), mean_c, mean_s))
    return float(np.mean(gains)) if gains else 0.0
