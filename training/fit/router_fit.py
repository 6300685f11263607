"""From a task matrix to a servable router: featurize, fit, calibrate the default tradeoff, build the
escalation table, and pack everything into the artifact's arrays and metadata."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from router._catalog import Catalog
from router.estimation.config import EstimatorConfig
from router.learned.features import Featurizer
from router.learned.metadata_features import MetadataFeatures
from router.learned.policy import MAX_CHAIN_MODELS, choose_many, failure_table, mu_for
from training.data.outcomes import TaskMatrix
from training.fit.classifiers import FitParams, FittedModels, fit_models
from training.fit.cost_prices import price_consistent_costs, price_consistent_means, unit_prices
from training.fit.cost_signal import cost_variants, curve_gain, per_model_costs
from training.fit.guard import HullGuard, decide_guard, fixed_fallback, guard_off, hull_at, hull_models_mask
from training.fit.novelty import fit_support

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

# The tradeoffs at which fitting calibrates the default and evaluation sweeps its curves.
TRADEOFF_GRID = np.round(np.concatenate([[0.0], np.geomspace(0.002, 1.0, 120)]), 6)


@dataclass
class FittedRouter:
    arrays: dict[str, np.ndarray]
    meta: dict[str, Any]
    fitted: FittedModels
    featurizer: Featurizer
    guard: HullGuard
    metadata_features: MetadataFeatures

    def transform(self, data: TaskMatrix) -> csr_matrix:
        """The features serving computes for these tasks: the text featurizer's, then the metadata block."""
        from scipy.sparse import hstack

        x = self.featurizer.matrix(data.descriptions, data.facts)
        block = self.metadata_features.matrix(data.metadata, len(data.descriptions))
        return hstack([x, block], format="csr")


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
    guard_mask: np.ndarray | None = None,
    seed: int = 0,
) -> float:
    """The tradeoff whose success on out-of-fold predictions keeps ``target_share`` of the best single
    model's with the largest gain over the hull of fixed models at its cost (the least cost among those
    when none gains), or, with a budget, the most successful tradeoff within it. Unobserved pairs count at
    their predicted success and cost. With ``guard_mask`` (one row per ``TRADEOFF_GRID`` entry), each
    tradeoff chooses as the hull guard lets it."""
    success = np.where(data.observed, data.success, p)
    cost = np.where(data.observed, data.cost, c_hat)
    rows = np.arange(len(success))
    best_single = np.nanmax(np.nanmean(np.where(data.observed, data.success, np.nan), axis=0))
    chosen = np.array(
        [
            choose_many(p, c_hat, mu_for(float(t), kappa), None if guard_mask is None else guard_mask[k])
            for k, t in enumerate(TRADEOFF_GRID)
        ]
    )  # (tradeoffs, tasks)
    results = [
        (float(t), cost[rows, ch].mean(), success[rows, ch].mean())
        for t, ch in zip(TRADEOFF_GRID, chosen, strict=True)
    ]
    if budget_per_task is not None:
        within = [r for r in results if r[1] <= budget_per_task]
        return max(within, key=lambda r: (r[2], -r[1]))[0] if within else 0.0
    good = [k for k, r in enumerate(results) if r[2] >= target_share * best_single]
    if not good:
        return 1.0
    # Where the learned choice beats every mix of fixed models, default to where it beats them most
    # surely (the largest lower bound of its gain over the hull at its own cost): a default on the hull
    # itself would make the router no better than a fixed model, and the single largest gain is the one
    # most inflated by noise.
    bound = gain_lower_bound(success, cost, chosen[good], seed=seed)
    if bound.max() > 0:
        return results[good[int(np.argmax(bound))]][0]
    return min((results[k] for k in good), key=lambda r: (r[1], r[0]))[0]


def gain_lower_bound(
    success: np.ndarray, cost: np.ndarray, chosen: np.ndarray, *, seed: int = 0, draws: int = 50
) -> np.ndarray:
    """Per row of ``chosen`` (a choice per task), mean minus one standard deviation, over bootstrap draws
    of the tasks, of its success above the hull of the fixed models at its cost."""
    n = len(success)
    rows = np.arange(n)
    weights = np.random.default_rng(seed).multinomial(n, np.full(n, 1.0 / n), size=draws) / n
    s_chosen = success[rows, chosen]  # (choices, tasks)
    c_chosen = cost[rows, chosen]
    mean_s, mean_c = weights @ success, weights @ cost  # (draws, models)
    s_curve, c_curve = weights @ s_chosen.T, weights @ c_chosen.T  # (draws, choices)
    gains = np.array(
        [s_curve[b] - np.array([hull_at(c, mean_c[b], mean_s[b]) for c in c_curve[b]]) for b in range(draws)]
    )
    return gains.mean(axis=0) - gains.std(axis=0)


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
    from scipy.sparse import hstack

    from router.estimation.estimator import ComplexityEstimator
    from router.telemetry.reference import traffic_reference

    estimator = ComplexityEstimator(estimator_config, recommend=lambda level: "")
    featurizer = Featurizer(max_features=params.max_features, min_df=params.min_df, estimator=estimator)
    x = featurizer.fit_matrix(data.descriptions, data.facts)
    metadata_features = MetadataFeatures.fit(data.metadata, params.min_metadata_count)
    block = metadata_features.matrix(data.metadata, x.shape[0])
    from threadpoolctl import threadpool_limits

    # BLAS on one thread while fitting: since SciPy 1.15 L-BFGS-B calls BLAS on vectors of a few thousand
    # numbers at every step, where a second thread costs more than it brings (one LogisticRegression on 100k
    # tasks: 4.1 s with two OpenBLAS threads, 1.8 s with one, on the 2-core machine).
    with threadpool_limits(limits=1, user_api="blas"):
        fitted = fit_models(x, data, params, block, np.asarray(metadata_features.key_of, dtype=np.int64))
        prices = unit_prices(catalog, data.models)
        if prices is not None:  # costs ordered as prices for equal token estimates (fit.cost_prices)
            x_all = x if block is None or block.shape[1] == 0 else hstack([x, block], format="csr")
            fitted = price_consistent_costs(fitted, x_all, data, params, prices)
    kappa = kappa_of(
        np.where(data.observed, data.success, np.nan), np.where(data.observed, data.cost, np.nan)
    )
    oof_p = np.where(np.isnan(fitted.oof_p), fitted.base_rate, fitted.oof_p)
    oof_c = np.where(np.isnan(fitted.oof_cost), np.nanmean(data.cost, axis=0), fitted.oof_cost)
    policy, gains = {}, {}
    for name, costs in cost_variants(data, oof_c, params.cost_signal).items():
        policy[name] = _policy(data, oof_p, costs, kappa, params, target_share, budget_per_task)
        gains[name] = curve_gain(data, oof_p, oof_c, costs, policy[name][0].mask, kappa, TRADEOFF_GRID)
    # "auto": the cost term whose choices gain more over the hull on out-of-fold predictions (a tie keeps
    # the per-task predictions).
    signal = max(gains, key=lambda name: (gains[name], name == "per_task"))
    guard, tradeoff = policy[signal]
    if signal == "per_model":
        fitted = per_model_costs(fitted, data)
    oof = (oof_p, cost_variants(data, oof_c, signal)[signal], kappa)
    novelty = (
        fit_support(data, featurizer, x, params, signal == "per_model", kappa_of, oof)
        if params.novelty
        else None
    )
    if novelty is not None and prices is not None:
        support, calibration = novelty
        n_models = len(data.models)
        # Shrinking moves each cost towards its model's mean: means in the cost model's own ratios keep a
        # shrunk task's costs ordered as the prices, as the unshrunk ones are (fit.cost_prices).
        means = price_consistent_means(support.mean_cost, fitted.bias[n_models : 2 * n_models])
        novelty = (replace(support, mean_cost=means), calibration)
    if len(metadata_features):
        metadata_features.set_key_means(block, fitted.weights[-len(metadata_features) :])
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
        "guard_tradeoffs": guard.tradeoffs.astype(np.float64),
        "guard_mask": guard.mask,
        **featurizer.to_arrays(),
        **metadata_features.to_arrays(),
        **({} if novelty is None else novelty[0].to_arrays()),
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
        "cost_signal": {
            "used": signal,
            "oof_curve_gain": gains,
        },
        # How far a task lies from these tasks, and how far counts as far (router.learned.novelty).
        "novelty": None if novelty is None else {**novelty[0].describe(), "calibration": novelty[1].report()},
        "hull_guard": {
            **guard.report(),
            "default": guard.decision_at(tradeoff),
            "dropped_models": [m for j, m in enumerate(data.models) if not guard.mask[:, j].any()],
        },
    }
    return FittedRouter(arrays, meta, fitted, featurizer, guard, metadata_features)


def _policy(
    data: TaskMatrix,
    oof_p: np.ndarray,
    oof_c: np.ndarray,
    kappa: float,
    params: FitParams,
    target_share: float,
    budget_per_task: float | None,
) -> tuple[HullGuard, float]:
    """The hull guard (or the dominated-model mask) and the default tradeoff of the choice that decides on
    ``oof_p`` and the cost term ``oof_c``."""
    if params.hull_guard:
        guard = decide_guard(
            data.success,
            data.cost,
            data.observed,
            oof_p,
            oof_c,
            kappa,
            TRADEOFF_GRID,
            data.models,
            params.guard_z,
        )
    else:
        guard = guard_off(data.success, data.cost, data.observed, oof_p, oof_c, TRADEOFF_GRID, data.models)
        if params.drop_dominated:
            guard.mask, guard.decisions = hull_models_mask(
                data.success, data.cost, data.observed, oof_p, oof_c, kappa, TRADEOFF_GRID
            )
        if params.top_fallback:
            # At t = 1 (success alone), the per-task pick of the most likely to succeed only where out-of-fold
            # evidence shows it beats always taking the model that succeeded most often (fit.guard).
            guard.mask, guard.decisions, guard.gains = fixed_fallback(
                guard.mask,
                guard.decisions,
                data.success,
                data.cost,
                data.observed,
                oof_p,
                oof_c,
                kappa,
                TRADEOFF_GRID,
                data.models,
                params.guard_z,
                rows=np.flatnonzero(TRADEOFF_GRID >= 1.0).tolist(),
            )
    tradeoff = calibrate_tradeoff(
        data,
        oof_p,
        oof_c,
        kappa,
        target_share=target_share,
        budget_per_task=budget_per_task,
        guard_mask=guard.mask,
        seed=params.seed,
    )
    return guard, tradeoff


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
