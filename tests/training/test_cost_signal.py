"""The choice's cost term: per-task predictions or each model's mean cost, chosen on out-of-fold evidence."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from router._exceptions import InvalidInputError
from router.learned.model import LearnedModel
from training.data.outcomes import TaskMatrix, task_matrix
from training.fit.classifiers import FitParams
from training.fit.cost_signal import curve_gain, model_mean_cost
from training.fit.router_fit import TRADEOFF_GRID, fit_router, log_catalog

WORDS = ["parse", "render", "index", "cache", "query", "module", "config", "handler", "schema"]


def _sized_log(n: int, seed: int) -> pd.DataFrame:
    """Two models whose cost grows with the task's length (ten times the price for "dear") and whose
    success does not depend on it: per dollar, the dear model's edge is worth buying on short tasks only."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        size = int(rng.integers(5, 400))
        text = " ".join(rng.choice(WORDS, size))
        for model, price, skill in (("cheap", 1e-5, 0.55), ("dear", 1e-4, 0.85)):
            rows.append(
                {
                    "task_id": f"t{i}",
                    "description": f"Fix the bug: {text}",
                    "model": model,
                    "success": float(rng.uniform() < skill),
                    "cost_usd": price * size * rng.lognormal(0.0, 0.1),
                }
            )
    return pd.DataFrame(rows)


def test_a_cost_that_follows_the_task_keeps_per_task_predictions():
    frame = _sized_log(500, 0)
    fitted = fit_router(task_matrix(frame), log_catalog(frame), FitParams())
    assert fitted.meta["cost_signal"]["used"] == "per_task"
    gains = fitted.meta["cost_signal"]["oof_curve_gain"]
    assert gains["per_task"] > gains["per_model"]
    model = LearnedModel(fitted.arrays, fitted.meta)
    _, _, short = model.analyze_batch(["Fix the bug: parse render"])
    _, _, long = model.analyze_batch(["Fix the bug: " + " ".join(WORDS * 40)])
    assert long[0, 1] > 5 * short[0, 1]  # the dear model's expected cost follows the length


def test_per_model_costs_are_each_models_mean_whatever_the_task():
    frame = _sized_log(300, 1)
    data = task_matrix(frame)
    fitted = fit_router(data, log_catalog(frame), FitParams(cost_signal="per_model"))
    assert fitted.meta["cost_signal"]["used"] == "per_model"
    assert list(fitted.meta["cost_signal"]["oof_curve_gain"]) == ["per_model"]  # nothing else was tried
    model = LearnedModel(fitted.arrays, fitted.meta)
    _, _, costs = model.analyze_batch(["Fix the bug: parse", "Fix the bug: " + " ".join(WORDS * 40)])
    np.testing.assert_allclose(costs[0], model_mean_cost(data))
    np.testing.assert_allclose(costs[1], model_mean_cost(data))


def test_curve_gain_prefers_mean_costs_when_cost_predictions_steer_hard_tasks_to_the_cheap_model():
    # The dear model's edge is all on the long tasks, which cost more; the success predictions are flat (too
    # weak to see the edge), so per-task costs send exactly those tasks to the cheap model.
    n = 400
    long = np.arange(n) % 2 == 1
    success = np.column_stack([np.where(long, 0.0, 1.0), np.ones(n)])
    size = np.where(long, 10.0, 1.0)
    cost = np.column_stack([size * 1.0, size * 3.0])
    data = TaskMatrix(
        np.arange(n).astype(str),
        ["t"] * n,
        [None] * n,
        ["cheap", "dear"],
        success,
        cost,
        np.ones((n, 2)),
    )
    p = np.tile([0.5, 1.0], (n, 1))
    mask = np.ones((len(TRADEOFF_GRID), 2), dtype=bool)
    means = np.broadcast_to(cost.mean(axis=0), cost.shape)
    per_task = curve_gain(data, p, cost, cost, mask, 1.0 / 5.5, TRADEOFF_GRID)
    per_model = curve_gain(data, p, cost, means, mask, 1.0 / 5.5, TRADEOFF_GRID)
    assert per_task < 0 <= per_model


def test_an_unknown_cost_signal_is_refused_by_name():
    with pytest.raises(InvalidInputError, match=r"cost_signal must be one of .*'auto'.*got 'median'"):
        FitParams(cost_signal="median")
