"""Expected costs consistent with the catalog's prices: for one task, the models' expected costs are their
prices times one token model (shared slopes, a constant verbosity per model), so they are ordered as the
prices when the token estimates are equal, and the ordering never flips from one task to another."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from router import Router
from router._catalog import Catalog
from router.learned.router import LearnedRouter
from training import train_router
from training.fit.cost_prices import unit_prices
from training.synthetic import generate_outcomes

WORDS = st.sampled_from(
    ["fix", "the", "flaky", "login", "test", "refactor", "payment", "module", "add", "cache", "design",
     "distributed", "rate", "limiter", "typo", "readme", "migrate", "database", "schema", "race", "condition",
     "scheduler", "docs", "api", "tenant", "quota"]
)  # fmt: skip


@pytest.fixture(scope="module")
def learned(tmp_path_factory: pytest.TempPathFactory) -> LearnedRouter:
    out: Path = tmp_path_factory.mktemp("prices") / "router"
    train_router(generate_outcomes(800, seed=3), log_to_mlflow=False, output_dir=out)
    router = Router.load(out, strict=True)
    assert isinstance(router, LearnedRouter)
    return router


def _tokens(router: LearnedRouter, description: str) -> np.ndarray:
    """Each model's expected cost divided by its price: its token estimate, in price units."""
    prices = unit_prices(router.catalog, router.model.names)
    assert prices is not None
    costs = router.route(description).expected_cost_usd
    return np.array([costs[name] for name in router.model.names]) / prices


def test_fix_the_flaky_login_test_costs_more_on_opus_than_on_sonnet(learned):
    costs = learned.route("Fix the flaky login test").expected_cost_usd
    assert costs["haiku"] < costs["sonnet"] < costs["opus"], costs


@given(st.lists(WORDS, min_size=1, max_size=12).map(" ".join))
def test_the_models_token_estimates_keep_one_ratio_on_every_task(learned, description):
    # Shared slopes: a task moves every model's token estimate by the same factor, so the ratio between
    # two models' estimates is each model's verbosity, the same on every task, and the cost ordering with it.
    reference = _tokens(learned, "Fix the flaky login test")
    here = _tokens(learned, description)
    np.testing.assert_allclose(here / here[0], reference / reference[0], rtol=1e-9)


def test_equal_token_estimates_give_costs_ordered_as_prices(learned):
    prices = unit_prices(learned.catalog, learned.model.names)
    assert prices is not None
    for description in ("Fix the flaky login test", "Design a distributed rate limiter with quotas"):
        tokens = _tokens(learned, description)
        # The same number of tokens for every model (the geometric mean of their estimates) costs, per model,
        # that number times its price: ordered exactly as the prices.
        equal = np.exp(np.mean(np.log(tokens))) * prices
        assert list(np.argsort(equal)) == list(np.argsort(prices))
        # The served costs too: here the models' verbosities differ by less than their prices.
        costs = tokens * prices
        assert list(np.argsort(costs)) == list(np.argsort(prices)), costs


def test_a_catalog_without_prices_keeps_the_per_model_regressions():
    from training.fit.router_fit import log_catalog

    frame = generate_outcomes(20, seed=1).replace({"model": {"haiku": "a", "sonnet": "b", "opus": "c"}})
    unknown = log_catalog(frame)  # a log's own models: prices unknown (zero)
    assert unit_prices(unknown, ["a", "b", "c"]) is None
    assert unit_prices(Catalog.default(), ["haiku", "sonnet", "opus"]) is not None


def test_a_log_larger_than_the_cost_fit_sample_keeps_the_shared_ratio(tmp_path, monkeypatch):
    import training.fit.cost_prices as cost_prices

    monkeypatch.setattr(cost_prices, "COST_FIT_TASKS", 150)  # 400 tasks: the fit sees 150, predicts the rest
    train_router(generate_outcomes(400, seed=4), log_to_mlflow=False, output_dir=tmp_path / "r")
    router = Router.load(tmp_path / "r", strict=True)
    assert isinstance(router, LearnedRouter)
    a, b = _tokens(router, "Fix the flaky login test"), _tokens(router, "Port the billing API to v2")
    np.testing.assert_allclose(a / a[0], b / b[0], rtol=1e-9)
    costs = router.route("Fix the flaky login test").expected_cost_usd
    assert costs["haiku"] < costs["sonnet"] < costs["opus"], costs
