"""Expected costs that respect the catalog's prices: one token model for every model, times each one's price.

Fitting each model's log cost on its own lets the noise of one regression reorder the models on a task: a
router trained on the synthetic log expected opus to cost $0.0413 and sonnet $0.0417 on "Fix the flaky login
test", though opus's prices are five times sonnet's. Here the cost of model m on task x is

    cost_m(x) = price_m * tokens_m(x),    log tokens_m(x) = w . x + b + d_m (+ half the residual variance)

one ridge regression over every tried (task, model) pair of ``log(cost / price_m)`` on the task's features
plus a one-hot column per model: the slopes ``w`` (how a task's text drives its token count) are shared, and
``d_m`` is model m's own verbosity (a model that takes more turns uses more tokens on every task). For one
task the expected costs are therefore ordered as ``price_m * exp(d_m)``, the same on every task, and as the
prices whenever the token estimates are equal. ``price_m`` is the mean of the catalog's input and output
prices per million tokens (with both ordered alike, as in every catalog here, any mix orders the same).

The regression sees at most ``COST_FIT_TASKS`` tasks (a seeded sample; the other tasks' out-of-fold costs are
its out-of-sample predictions): stacking every (task, model) pair of a 1M-row log had raised training's peak
memory from 2.3 to 3.7 GB.

Serving is unchanged: the cost column of model m keeps weights ``w`` and bias ``b + d_m + log price_m``, so
``exp`` of its score is the expected cost. A catalog without prices (a log's own models, prices unknown)
keeps the per-model regressions.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from training.fit.classifiers import FitParams, FittedModels, _cost_fits, task_folds

#: Tasks the shared token model is fitted on at most (every tried model of each); the rest are predicted.
COST_FIT_TASKS = 100_000

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

    from router._catalog import Catalog
    from training.data.outcomes import TaskMatrix


def unit_prices(catalog: Catalog, models: list[str]) -> np.ndarray | None:
    """Each model's price per million tokens (mean of input and output); None when any is unknown (zero)."""
    prices = np.array(
        [(catalog.get(m).input_cost_per_1m + catalog.get(m).output_cost_per_1m) / 2.0 for m in models]
    )
    return prices if bool(np.all(prices > 0)) else None


def price_consistent_costs(
    fitted: FittedModels, x_all: csr_matrix, data: TaskMatrix, params: FitParams, prices: np.ndarray
) -> FittedModels:
    """``fitted`` with every model's cost part refit as one shared token model times the model's price.

    ``x_all`` holds the features the cost columns read (the text features, then the metadata block), one row
    per task of ``data``; the out-of-fold costs use the same task folds as the success models.
    """
    from scipy.sparse import csr_matrix as sparse
    from scipy.sparse import hstack

    n_tasks, n_models = data.success.shape
    task, model = np.nonzero(data.observed)
    if len(task) == 0:
        return fitted
    log_price = np.log(prices)
    target = np.log(np.maximum(data.cost[task, model], 1e-6)) - log_price[model]
    # A few dozen parameters per feature at most: COST_FIT_TASKS tasks pin them down, and bound the stacked
    # matrix (every tried pair of those tasks) in memory and time whatever the log's size.
    fit_rows = _fit_rows(task, n_tasks, params.seed)
    one_hot = sparse(
        (np.ones(len(fit_rows)), (np.arange(len(fit_rows)), model[fit_rows])), shape=(len(fit_rows), n_models)
    )
    rows = hstack([x_all[task[fit_rows]], one_hot], format="csr")
    fold_of = task_folds(n_tasks, params)[task[fit_rows]]
    oof_fit, coef, intercept = _cost_fits(rows, target[fit_rows], fold_of, params.cost_alpha)
    del rows
    n_features = x_all.shape[1]
    shared, verbosity = coef[:n_features], coef[n_features:]
    # Rows the fit did not see are predicted by it out of sample; the others keep their out-of-fold values.
    oof = np.asarray(x_all[task] @ shared).ravel() + intercept + verbosity[model]
    oof[fit_rows] = oof_fit
    weights, bias = fitted.weights.copy(), fitted.bias.copy()
    oof_cost = np.full((n_tasks, n_models), np.nan)
    residual = target - oof
    for m in range(n_models):
        mine = model == m
        # The mean of a log-normal: E[cost] needs half this model's residual variance on the log scale.
        half_var = float(np.var(residual[mine])) / 2.0 if mine.any() else 0.0
        weights[:, n_models + m] = shared
        bias[n_models + m] = intercept + verbosity[m] + log_price[m] + half_var
        oof_cost[task[mine], m] = np.exp(oof[mine] + log_price[m] + half_var)
    return replace(fitted, weights=weights, bias=bias, oof_cost=oof_cost)


def price_consistent_means(observed: np.ndarray, log_bias: np.ndarray) -> np.ndarray:
    """Each model's mean cost in the price-consistent cost model's own ratios.

    A price-consistent model's costs for one task are ``exp(log_bias[j]) * T(task)``: one shared token level
    times a constant per model, so every task's costs keep one set of ratios. Means in the same ratios
    (``exp(log_bias[j]) * G``, with ``G`` the level that matches the ``observed`` means on average, in logs)
    keep them through novelty's shrinking, ``mean + k * (own - mean)``, for every ``k``.
    """
    observed = np.maximum(np.asarray(observed, dtype=float), 1e-12)
    level = float(np.mean(np.log(observed) - log_bias))
    return np.exp(log_bias + level)


def _fit_rows(task: np.ndarray, n_tasks: int, seed: int) -> np.ndarray:
    """The (task, model) rows the shared fit uses: every row of at most ``COST_FIT_TASKS`` tasks (seeded)."""
    if n_tasks <= COST_FIT_TASKS:
        return np.arange(len(task))
    chosen = np.zeros(n_tasks, dtype=bool)
    chosen[np.random.default_rng(seed).choice(n_tasks, COST_FIT_TASKS, replace=False)] = True
    return np.flatnonzero(chosen[task])
