"""Fitting: per-model calibrated success classifiers and cost regressors, folded into plain arrays.

For each candidate model, on the tasks where it was tried:

* success: L2 logistic regression on the featurizer's output, weighted by inverse propensity (production
  logs) and by the success fraction (fractional outcomes), then Platt scaling fitted on out-of-fold scores,
  so the probabilities are calibrated on data the classifier did not see;
* cost: ridge regression of log dollars; the expected cost adds half the out-of-fold residual variance
  (the mean of a log-normal), since the policy needs E[cost], not the median.

Platt's affine map is folded into the classifier's weights, so serving computes one matrix product.
A model with too few outcomes, or only one class, gets a constant at its (smoothed) base rate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import KFold

from training.data.outcomes import TaskMatrix


@dataclass(frozen=True)
class FitParams:
    """Hyper-parameters of the fit (all keyword arguments of ``train_router``)."""

    C: float = 0.3
    cost_alpha: float = 3.0
    calibration_folds: int = 5
    min_outcomes: int = 20
    max_features: int = 2_000
    min_df: int = 5
    seed: int = 0


@dataclass
class FittedModels:
    weights: np.ndarray  # (n_features, 2 * n_models)
    bias: np.ndarray  # (2 * n_models,)
    oof_p: np.ndarray  # (n_tasks, n_models): out-of-fold calibrated P(success), NaN where not tried
    oof_cost: np.ndarray  # (n_tasks, n_models): out-of-fold expected cost
    base_rate: np.ndarray


def _expand(success: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fractional outcomes as two weighted rows each (y=1 with weight s, y=0 with weight 1-s)."""
    n = len(success)
    rows = np.concatenate([np.arange(n), np.arange(n)])
    y = np.concatenate([np.ones(n), np.zeros(n)])
    w = np.concatenate([success * weight, (1.0 - success) * weight])
    keep = w > 0
    return rows[keep], y[keep], w[keep]


def _fit_success(x: csr_matrix, s: np.ndarray, w: np.ndarray, params: FitParams) -> tuple[np.ndarray, float]:
    rows, y, sw = _expand(s, w)
    clf = LogisticRegression(C=params.C, max_iter=2000)
    clf.fit(x[rows], y, sample_weight=sw)
    return clf.coef_[0], float(clf.intercept_[0])


def _platt(z: np.ndarray, s: np.ndarray, w: np.ndarray) -> tuple[float, float]:
    rows, y, sw = _expand(s, w)
    cal = LogisticRegression(C=1e4, max_iter=1000).fit(z[rows, None], y, sample_weight=sw)
    slope = float(cal.coef_[0, 0])
    if slope > 0:
        return slope, float(cal.intercept_[0])
    # A non-positive slope means the out-of-fold scores carry no usable signal (with weak signals, K-fold
    # scores are even slightly anti-correlated with the labels, since each held-out fold's base rate moves
    # against its training folds'). Flipping the classifier would then be wrong on new tasks, so fall back
    # to the calibrated base rate.
    base = float(np.clip(np.sum(s * w) / np.sum(w), 1e-3, 1 - 1e-3))
    return 0.0, float(np.log(base / (1 - base)))


def fit_models(x: csr_matrix, data: TaskMatrix, params: FitParams) -> FittedModels:
    n_tasks, n_models = data.success.shape
    n_features = x.shape[1]
    weights = np.zeros((n_features, 2 * n_models))
    bias = np.zeros(2 * n_models)
    oof_p = np.full((n_tasks, n_models), np.nan)
    oof_cost = np.full((n_tasks, n_models), np.nan)
    base = np.zeros(n_models)
    for m in range(n_models):
        tried = np.flatnonzero(data.observed[:, m])
        s, w = data.success[tried, m], data.weight[tried, m]
        log_cost = np.log(np.maximum(data.cost[tried, m], 1e-6))
        base[m] = (np.sum(s * w) + 1.0) / (np.sum(w) + 2.0)
        if len(tried) == 0:
            bias[m], bias[n_models + m] = np.log(base[m] / (1 - base[m])), np.log(1e-6)
            continue
        xm = x[tried]
        z_oof, c_oof = _out_of_fold(xm, s, w, log_cost, params)
        oof_cost[tried, m] = np.exp(c_oof + np.var(log_cost - c_oof) / 2.0)
        cost_model = Ridge(alpha=params.cost_alpha).fit(xm, log_cost)
        weights[:, n_models + m] = cost_model.coef_
        bias[n_models + m] = float(cost_model.intercept_) + np.var(log_cost - c_oof) / 2.0
        if len(tried) < params.min_outcomes or np.ptp(s) == 0:
            bias[m] = np.log(base[m] / (1 - base[m]))
            oof_p[tried, m] = base[m]
            continue
        a, b = _platt(z_oof, s, w)
        coef, intercept = _fit_success(xm, s, w, params)
        weights[:, m] = a * coef
        bias[m] = a * intercept + b
        oof_p[tried, m] = 1.0 / (1.0 + np.exp(-(a * z_oof + b)))
    return FittedModels(weights, bias, oof_p, oof_cost, base)


def _out_of_fold(
    x: csr_matrix, s: np.ndarray, w: np.ndarray, log_cost: np.ndarray, params: FitParams
) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold decision values and log-cost predictions, for calibration and the tradeoff."""
    z = np.zeros(len(s))
    c = np.full(len(s), float(np.mean(log_cost)))
    folds = min(params.calibration_folds, len(s))
    if folds < 2:
        return z, c
    for tr, te in KFold(folds, shuffle=True, random_state=params.seed).split(s):
        c[te] = Ridge(alpha=params.cost_alpha).fit(x[tr], log_cost[tr]).predict(x[te])
        if np.ptp(s[tr]) > 0:
            coef, intercept = _fit_success(x[tr], s[tr], w[tr], params)
            z[te] = x[te] @ coef + intercept
    return z, c
