"""Fitting: per-model calibrated success classifiers and cost regressors, folded into plain arrays.

For each candidate model, on the tasks where it was tried:

* success: L2 logistic regression on the featurizer's output, weighted by inverse propensity (production
  logs) and by the success fraction (fractional outcomes), then Platt scaling fitted on out-of-fold scores,
  so the probabilities are calibrated on data the classifier did not see;
* cost: ridge regression of log dollars; the expected cost adds half the out-of-fold residual variance
  (the mean of a log-normal), since the policy needs E[cost], not the median.

Pooling: task difficulty is shared across models, so beside each model's own classifier one classifier of
a task's mean outcome over every model tried on it is fitted (``pooling="both"``; the default is
``"independent"``, each model alone, which did better on held-out folds of the real sets), and each
model's calibration is a logistic regression on both out-of-fold scores: its own slope and offset on the
shared difficulty, plus its own part. A score that does not help a model on held-out tasks gets no weight.

Platt's affine map is folded into the classifier's weights, so serving computes one matrix product.
A model with too few outcomes, or only one class, gets a constant at its (smoothed) base rate.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import KFold

from router._exceptions import InvalidInputError
from training.data.outcomes import TaskMatrix
from training.fit import context as ctx

POOLING = ("independent", "pooled", "both")
COST_SIGNALS = ("auto", "per_task", "per_model")
LARGE_LOG_TASKS = 50_000
#: At most this many of a fold's training tasks fit its out-of-fold models: past it the out-of-fold scores,
#: which only calibrate the final fit and rank tasks for the tradeoff, barely change, and the fits are most
#: of a large log's training time.
OOF_FIT_TASKS = 100_000
#: The logistic regressions' tolerance on large logs: on 100k synthetic tasks it stops after 18-26 L-BFGS
#: steps instead of 112-132, with the same held-out log loss (0.5327 against 0.5334) and AUC. On small logs
#: the tighter default stays: there the early stop moved the real sets' held-out choices (GSM8K's default
#: choice went from +0.0045 to -0.0090 against the hull).
LARGE_LOG_TOL = 1e-3
GRAM_FEATURES = 6_000  # cost ridges solved from Gram matrices up to this many features (288 MB each)
GRAM_ROWS = 50_000  # ... and from this many rows


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
    min_metadata_count: int = 5  # tasks a metadata ``key=value`` needs to get its own feature
    tol: float = 1e-4  # LogisticRegression's stopping tolerance; at least LARGE_LOG_TOL past LARGE_LOG_TASKS
    # The defaults are what did best at the default tradeoff on held-out folds of the three real sets we
    # have (SWE-bench, GSM8K, MATH-L5: the single choice above the hull on all three); pooling and the hull
    # guard lowered that margin there, so they are options, not defaults (docs: what-the-data-tells.md).
    pooling: str = (
        "independent"  # calibrate on "independent" per-model scores, the "pooled" difficulty, or "both"
    )
    guard_z: float = 1.0  # standard errors by which the learned choice must beat the best fixed mix
    hull_guard: bool = False  # True: route as the best fixed model wherever OOF evidence does not beat it
    # With the guard off, leave models below the hull of fixed models out of the learned choice, unless
    # out-of-fold evidence shows choosing among every model does better (training.fit.guard.hull_models_mask).
    drop_dominated: bool = True
    # With the guard off, at tradeoff 1 route every task to the model that succeeded most often unless the
    # per-task pick beats it by ``guard_z`` standard errors of the paired out-of-fold success
    # (training.fit.guard.fixed_fallback). False: the per-task pick at t = 1 whatever the evidence.
    top_fallback: bool = True
    # What the choice's cost term is: each task's predicted cost ("per_task"), each model's mean cost on the
    # log ("per_model"), or whichever chooses better on out-of-fold evidence ("auto"; router_fit.cost_signal).
    cost_signal: str = "auto"
    # Store the training support and pull far-from-training tasks towards the model averages
    # (router.learned.novelty); False trains a router that reports no novelty and never pulls.
    novelty: bool = True

    def __post_init__(self) -> None:
        if self.pooling not in POOLING:
            raise InvalidInputError(f"pooling must be one of {list(POOLING)}, got {self.pooling!r}")
        if self.cost_signal not in COST_SIGNALS:
            raise InvalidInputError(
                f"cost_signal must be one of {list(COST_SIGNALS)}, got {self.cost_signal!r}"
            )
        if not self.tol > 0:
            raise InvalidInputError(f"tol must be a number > 0, got {self.tol!r}")
        if not self.guard_z >= 0:
            raise InvalidInputError(f"guard_z must be a number >= 0, got {self.guard_z!r}")


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
    clf = LogisticRegression(C=params.C, max_iter=2000, tol=params.tol)
    clf.fit(x[rows], y, sample_weight=sw)
    return clf.coef_[0], float(clf.intercept_[0])


def _stack(features: np.ndarray, s: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, float] | None:
    """Calibration: logistic regression of the outcome on out-of-fold scores (one column per score).

    A score whose coefficient comes out non-positive carries no usable signal on held-out tasks (flipping
    it would be wrong on new tasks), so it is dropped and the rest refitted; None when none is left.
    """
    rows, y, sw = _expand(s, w)
    keep = list(range(features.shape[1]))
    while keep:
        cal = LogisticRegression(C=1e4, max_iter=1000).fit(features[rows][:, keep], y, sample_weight=sw)
        slopes = cal.coef_[0]
        if (slopes > 0).all():
            full = np.zeros(features.shape[1])
            full[keep] = slopes
            return full, float(cal.intercept_[0])
        keep = [k for k, a in zip(keep, slopes, strict=True) if a > 0]
    return None


def task_folds(n_tasks: int, params: FitParams) -> np.ndarray:
    """The calibration fold of every task: one split over tasks, shared by every model and the pooled
    difficulty score, so a task's out-of-fold scores all come from fits that never saw it.

    Past ``LARGE_LOG_TASKS`` tasks, at most 3 folds: each fold's training part is then still tens of
    thousands of tasks (the out-of-fold scores barely change), and the folds are most of the fit's time."""
    fold_of = np.zeros(n_tasks, dtype=np.int64)
    folds = min(params.calibration_folds, n_tasks)
    if n_tasks > LARGE_LOG_TASKS:
        folds = min(folds, 3)
    if folds >= 2:
        for k, (_, te) in enumerate(KFold(folds, shuffle=True, random_state=params.seed).split(fold_of)):
            fold_of[te] = k
    return fold_of


def _difficulty(
    x: csr_matrix, data: TaskMatrix, fold_of: np.ndarray, params: FitParams
) -> tuple[np.ndarray, float, np.ndarray]:
    """The pooled part: one classifier of a task's mean outcome over every model tried on it.

    Task difficulty is shared, so this borrows strength across models: each model then gets its own slope
    and offset on this score in calibration. Returns its weights, its intercept (centred on the training
    tasks) and its out-of-fold score per task (centred per fold, NaN where no model was tried).
    """
    observed = data.observed
    tried = np.flatnonzero(observed.any(axis=1))
    weight = np.where(observed, data.weight, 0.0)
    total = weight.sum(axis=1)
    mean = np.where(total > 0, np.nansum(np.where(observed, data.success, 0.0) * weight, axis=1), 0.0)
    mean = mean[tried] / total[tried]
    count = observed.sum(axis=1)[tried].astype(np.float64)
    z_oof = np.full(len(fold_of), np.nan)
    coef = np.zeros(x.shape[1])
    if len(tried) < params.min_outcomes or np.ptp(mean) == 0:
        return coef, 0.0, np.where(observed.any(axis=1), 0.0, np.nan)
    xt = x[tried]
    for k in np.unique(fold_of[tried]):
        te = fold_of[tried] == k
        if te.all() or np.ptp(mean[~te]) == 0:
            z_oof[tried[te]] = 0.0
            continue
        c, b = _fit_success(xt[~te], mean[~te], count[~te], params)
        z = xt[te] @ c + b
        z_oof[tried[te]] = z - z.mean()
    coef, intercept = _fit_success(xt, mean, count, params)
    intercept -= float(np.mean(xt @ coef + intercept))
    return coef, intercept, z_oof


def fit_models(
    x: csr_matrix,
    data: TaskMatrix,
    params: FitParams,
    context: csr_matrix | None = None,
    key_of: np.ndarray | None = None,
) -> FittedModels:
    """Fit every model's success and cost parts on the text features ``x`` and, when given, the metadata
    block ``context`` (one-hot ``key=value`` columns; ``key_of`` their key's index). The weights have a row
    per column of ``x`` then of ``context``."""
    from scipy.sparse import hstack

    n_tasks, n_models = data.success.shape
    n_text = x.shape[1]
    n_context = 0 if context is None else context.shape[1]
    x_all = x if context is None or n_context == 0 else hstack([x, context], format="csr")
    weights = np.zeros((n_text + n_context, 2 * n_models))
    bias = np.zeros(2 * n_models)
    oof_p = np.full((n_tasks, n_models), np.nan)
    oof_cost = np.full((n_tasks, n_models), np.nan)
    base = np.zeros(n_models)
    fold_of = task_folds(n_tasks, params)
    if n_tasks > LARGE_LOG_TASKS:
        params = replace(params, tol=max(params.tol, LARGE_LOG_TOL))
    if params.pooling != "independent":
        shared_coef, shared_bias, shared_oof = _difficulty(x, data, fold_of, params)
    n_keys = 0 if key_of is None or n_context == 0 else int(key_of.max()) + 1
    if n_keys:
        assert context is not None and key_of is not None
        context_oof = ctx.out_of_fold_scores(context, data, fold_of, key_of, n_keys)
        codes = ctx.encode(context, *ctx.task_residuals(data, np.arange(n_tasks)))
    for m in range(n_models):
        tried = np.flatnonzero(data.observed[:, m])
        s, w = data.success[tried, m], data.weight[tried, m]
        log_cost = np.log(np.maximum(data.cost[tried, m], 1e-6))
        base[m] = (np.sum(s * w) + 1.0) / (np.sum(w) + 2.0)
        if len(tried) == 0:
            bias[m], bias[n_models + m] = np.log(base[m] / (1 - base[m])), np.log(1e-6)
            continue
        xm = x[tried]
        z_oof = _out_of_fold(xm, s, w, fold_of[tried], params)
        c_oof, cost_coef, cost_intercept = _cost_fits(
            x_all[tried], log_cost, fold_of[tried], params.cost_alpha
        )
        oof_cost[tried, m] = np.exp(c_oof + np.var(log_cost - c_oof) / 2.0)
        weights[:, n_models + m] = cost_coef
        bias[n_models + m] = cost_intercept + np.var(log_cost - c_oof) / 2.0
        stacked = None
        if len(tried) >= params.min_outcomes and np.ptp(s) > 0:
            # The calibration's inputs: this model's own score and/or the pooled difficulty score.
            if params.pooling == "independent":
                columns = [z_oof]
            elif params.pooling == "pooled":
                columns = [shared_oof[tried]]
            else:
                columns = [z_oof, shared_oof[tried]]
            columns += [context_oof[tried, k] for k in range(n_keys)]  # the context's pooled codes
            stacked = _stack(np.column_stack(columns), s, w)
        if stacked is None:
            bias[m] = np.log(base[m] / (1 - base[m]))
            oof_p[tried, m] = base[m]
            continue
        slopes, offset = stacked
        z_cal = np.column_stack(columns) @ slopes + offset
        bias[m] = offset
        text_slopes = slopes[: len(slopes) - n_keys]
        if params.pooling != "pooled" and text_slopes[0] > 0:
            coef, intercept = _fit_success(xm, s, w, params)
            intercept -= float(np.mean(xm @ coef + intercept))  # centred as the out-of-fold scores are
            weights[:n_text, m] += text_slopes[0] * coef
            bias[m] += text_slopes[0] * intercept
        if params.pooling != "independent" and text_slopes[-1] > 0:
            weights[:n_text, m] += text_slopes[-1] * shared_coef
            bias[m] += text_slopes[-1] * shared_bias
        if n_keys:
            # The context part: each value's column carries its code times this model's slope on its key.
            weights[n_text:, m] = slopes[len(slopes) - n_keys :][key_of] * codes
        oof_p[tried, m] = 1.0 / (1.0 + np.exp(-z_cal))
    return FittedModels(weights, bias, oof_p, oof_cost, base)


def _out_of_fold(
    x: csr_matrix, s: np.ndarray, w: np.ndarray, fold_of: np.ndarray, params: FitParams
) -> np.ndarray:
    """Out-of-fold decision values, for calibration and the tradeoff.

    Each fold's decision values are centred on their own mean: a fold's level moves against its
    training folds' base rate (what one fold holds the others lack), which with a weak signal made the
    out-of-fold scores anti-correlated with the outcomes; centring keeps only the ranking within a fold,
    which is what carries over to new tasks. Past ``OOF_FIT_TASKS`` training tasks a fold fits on a
    fixed random sample of them.
    """
    z = np.zeros(len(s))
    if len(np.unique(fold_of)) < 2:
        return z
    rng = np.random.default_rng(params.seed)
    for k in np.unique(fold_of):
        te = fold_of == k
        tr = np.flatnonzero(~te)
        if len(tr) > OOF_FIT_TASKS:
            tr = np.sort(rng.choice(tr, OOF_FIT_TASKS, replace=False))
        if np.ptp(s[tr]) > 0:
            coef, intercept = _fit_success(x[tr], s[tr], w[tr], params)
            zk = x[te] @ coef + intercept
            z[te] = zk - zk.mean()
    return z


def _cost_fits(
    x: csr_matrix, log_cost: np.ndarray, fold_of: np.ndarray, alpha: float
) -> tuple[np.ndarray, np.ndarray, float]:
    """Ridge regressions of log cost: the out-of-fold predictions and the fit on every row.

    From ``GRAM_ROWS`` rows, with at most ``GRAM_FEATURES`` features, every fit is solved from Gram
    matrices summed once per fold (a fold's training Gram is the total minus its own): one pass over the
    rows instead of one per fold and one more for the final fit, 5 s instead of 41 s per model on 333k
    tasks. On fewer rows scikit-learn's iterative Ridge per fit is faster than the dense solves.
    """
    folds = np.unique(fold_of)
    if x.shape[1] > GRAM_FEATURES or x.shape[0] < GRAM_ROWS:
        oof = np.full(len(log_cost), float(np.mean(log_cost)))
        for k in folds if len(folds) > 1 else ():
            te = fold_of == k
            oof[te] = Ridge(alpha=alpha).fit(x[~te], log_cost[~te]).predict(x[te])
        final = Ridge(alpha=alpha).fit(x, log_cost)
        return oof, final.coef_, float(final.intercept_)
    parts = {k: _Gram.of(x[fold_of == k], log_cost[fold_of == k]) for k in folds}
    total = _Gram.total(list(parts.values()))
    oof = np.full(len(log_cost), float(np.mean(log_cost)))
    for k in folds if len(folds) > 1 else ():
        te = fold_of == k
        coef, intercept = total.minus(parts[k]).solve(alpha)
        oof[te] = x[te] @ coef + intercept
    coef, intercept = total.solve(alpha)
    return oof, coef, intercept


@dataclass
class _Gram:
    """The sums a ridge fit needs: X'X, column sums, X'y, row count, sum of y."""

    xx: np.ndarray
    sums: np.ndarray
    xy: np.ndarray
    n: float
    y_sum: float

    @classmethod
    def of(cls, x: csr_matrix, y: np.ndarray) -> _Gram:
        xy = np.asarray(x.T @ y).ravel()
        return cls(
            (x.T @ x).toarray(), np.asarray(x.sum(axis=0)).ravel(), xy, float(x.shape[0]), float(y.sum())
        )

    @classmethod
    def total(cls, parts: list[_Gram]) -> _Gram:
        return cls(
            sum(p.xx for p in parts), sum(p.sums for p in parts), sum(p.xy for p in parts),  # type: ignore[arg-type]
            sum(p.n for p in parts), sum(p.y_sum for p in parts),
        )  # fmt: skip

    def minus(self, part: _Gram) -> _Gram:
        return _Gram(
            self.xx - part.xx,
            self.sums - part.sums,
            self.xy - part.xy,
            self.n - part.n,
            self.y_sum - part.y_sum,
        )

    def solve(self, alpha: float) -> tuple[np.ndarray, float]:
        """Ridge with an unpenalised intercept (as scikit-learn's Ridge: centre, then solve)."""
        mean, y_mean = self.sums / self.n, self.y_sum / self.n
        centred = self.xx - self.n * np.outer(mean, mean)
        centred[np.diag_indices_from(centred)] += alpha
        coef = np.linalg.solve(centred, self.xy - self.n * mean * y_mean)
        return coef, float(y_mean - mean @ coef)
