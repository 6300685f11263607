"""From a task matrix to a servable router: featurize, fit, calibrate the default tradeoff, build the
escalation table, and pack everything into the artifact's arrays and metadata."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from router._catalog import Catalog
from router.estimation.config import EstimatorConfig
from router.learned.features import Featurizer
from router.learned.policy import MAX_CHAIN_MODELS, choose_many, failure_table, mu_for
from training.data.outcomes import TaskMatrix
from training.fit.classifiers import FitParams, FittedModels, fit_models

# The tradeoffs at which fitting calibrates the default and evaluation sweeps its curves.
TRADEOFF_GRID = np.round(np.concatenate([[0.0], np.geomspace(0.002, 1.0, 120)]), 6)


@dataclass
class FittedRouter:
    arrays: dict[str, np.ndarray]
    meta: dict[str, Any]
    fitted: FittedModels
    featurizer: Featurizer


def kappa_of(success: np.ndarray, cost: np.ndarray) -> float:
    """Success gained per dollar from the cheapest model to the best one, on observed means."""
    mean_s = np.nanmean(success, axis=0)
    mean_c = np.nanmean(cost, axis=0)
    cheap, best = int(np.nanargmin(mean_c)), int(np.nanargmax(mean_s))
    if mean_c[best] > mean_c[cheap] and mean_s[best] > mean_s[cheap]:
        return float((mean_s[best] - mean_s[cheap]) / (mean_c[best] - mean_c[cheap]))
    return 1.0 / max(float(np.nanmean(mean_c)), 1e-9)


def calibrate_tradeoff(
    data: TaskMatrix,
    p: np.ndarray,
    c_hat: np.ndarray,
    kappa: float,
    *,
    target_share: float = 0.95,
    budget_per_task: float | None = None,
) -> float:
    """The least-cost tradeoff whose success on out-of-fold predictions keeps ``target_share`` of the best
    single model's (or, with a budget, the most successful tradeoff within it). Unobserved pairs count at
    their predicted success and cost."""
    success = np.where(data.observed, data.success, p)
    cost = np.where(data.observed, data.cost, c_hat)
    rows = np.arange(len(success))
    best_single = np.nanmax(np.nanmean(np.where(data.observed, data.success, np.nan), axis=0))
    results = []
    for t in TRADEOFF_GRID:
        chosen = choose_many(p, c_hat, mu_for(float(t), kappa))
        results.append((float(t), cost[rows, chosen].mean(), success[rows, chosen].mean()))
    if budget_per_task is not None:
        within = [r for r in results if r[1] <= budget_per_task]
        return max(within, key=lambda r: (r[2], -r[1]))[0] if within else 0.0
    good = [r for r in results if r[2] >= target_share * best_single]
    return min(good, key=lambda r: (r[1], r[0]))[0] if good else 1.0


def fit_router(
    data: TaskMatrix,
    catalog: Catalog,
    params: FitParams,
    *,
    target_share: float = 0.95,
    budget_per_task: float | None = None,
    estimator_config: EstimatorConfig | None = None,
) -> FittedRouter:
    estimator_config = estimator_config or EstimatorConfig.default()
    from router.estimation.estimator import ComplexityEstimator
    from router.telemetry.reference import traffic_reference

    estimator = ComplexityEstimator(estimator_config, recommend=lambda level: "")
    featurizer = Featurizer(max_features=params.max_features, min_df=params.min_df, estimator=estimator)
    x = featurizer.fit_matrix(data.descriptions, data.facts)
    fitted = fit_models(x, data, params)
    kappa = kappa_of(
        np.where(data.observed, data.success, np.nan), np.where(data.observed, data.cost, np.nan)
    )
    oof_p = np.where(np.isnan(fitted.oof_p), fitted.base_rate, fitted.oof_p)
    oof_c = np.where(np.isnan(fitted.oof_cost), np.nanmean(data.cost, axis=0), fitted.oof_cost)
    tradeoff = calibrate_tradeoff(
        data, oof_p, oof_c, kappa, target_share=target_share, budget_per_task=budget_per_task
    )
    n_models = len(data.models)
    table = (
        failure_table(np.nan_to_num(data.success), data.observed)
        if n_models <= MAX_CHAIN_MODELS
        else np.zeros((0, 0))
    )
    arrays = {
        "models": np.array(data.models, dtype=str),
        "weights": fitted.weights,
        "bias": fitted.bias,
        "base_rate": fitted.base_rate,
        "chain_table": table,
        **featurizer.to_arrays(),
    }
    meta = {
        "kappa": kappa,
        "default_tradeoff": tradeoff,
        "tradeoff_target": {"target_share": target_share, "budget_per_task": budget_per_task},
        "catalog": catalog_dict(catalog, data.models),
        "estimator_config": estimator_config.model_dump(mode="json"),
        "params": asdict(params),
        # What served traffic is compared with to detect drift (router monitor).
        "traffic_reference": traffic_reference(data.descriptions, estimator),
    }
    return FittedRouter(arrays, meta, fitted, featurizer)


def catalog_dict(catalog: Catalog, models: list[str]) -> dict[str, Any]:
    """The part of the catalog the router serves: the trained models, routed by price for the fallback."""
    return {
        "models": {
            name: catalog.get(name).model_dump(mode="json", exclude={"name", "is_available"})
            for name in models
        }
    }


def log_catalog(frame: Any) -> Catalog:
    """A catalog for models that only a log names: tiers by mean cost, prices unknown (zero)."""
    means = frame.groupby("model")["cost_usd"].mean().sort_values()
    tiers = ["fast", "balanced", "advanced"]
    models = {
        name: {
            "tier": tiers[min(2, i * 3 // max(1, len(means)))],
            "input_cost_per_1m": 0.0,
            "output_cost_per_1m": 0.0,
            "context_window": 1_000_000,
            "max_output_tokens": 100_000,
            "latency_ms": 0.0,
        }
        for i, name in enumerate(means.index)
    }
    return Catalog.from_dict({"models": models}, source="catalog derived from the outcome log")
