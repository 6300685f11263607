"""Router: route and route_many, the tradeoff contract, escalation, and bad input."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from router import (
    Catalog,
    ComplexityEstimator,
    EstimatorConfig,
    InvalidInputError,
    NoModelAvailableError,
    Router,
    RoutingDecision,
)
from tests._helpers import catalog_toml

SPEC = [
    ("Fix typo in README", ["README.md"], "haiku", "simple"),
    ("Implement OAuth2 authentication with JWT tokens", ["auth.py", "middleware.py"], "sonnet", "moderate"),
    (
        "Refactor the distributed task scheduler architecture to support async workers with "
        "consensus-based leader election",
        ["scheduler.py", "worker.py", "raft.py", "election.py"],
        "opus",
        "complex",
    ),
    (
        "Fix SQL injection security vulnerability in the production login endpoint",
        ["login.py"],
        "opus",
        "critical",
    ),
]


@pytest.fixture(scope="module")
def router() -> Router:
    return Router()


@pytest.mark.parametrize(
    ("description", "files", "model", "level"), SPEC, ids=["typo", "auth", "distributed", "sql"]
)
def test_route_spec_examples(router, in_tmp, description, files, model, level):
    decision = router.route(description, files=files)
    assert isinstance(decision, RoutingDecision)
    assert (decision.model, decision.complexity.level.value) == (model, level)
    assert decision.selection.model.name == decision.model
    assert decision.reason == decision.selection.reason
    assert decision.source == "heuristic" and decision.p_success == {}
    assert decision.propensity == 1.0
    assert set(decision.expected_cost_usd) == set(Catalog.default().names())
    assert decision.expected_cost_usd[model] == pytest.approx(decision.selection.estimated_cost)


def test_escalation_starts_with_the_chosen_model_then_dearer_ones(router):
    assert router.route("Fix typo in README").escalation == ["haiku", "sonnet", "opus"]
    assert router.route("Add password reset").escalation == ["sonnet", "opus"]
    assert router.route("Data loss in production").escalation == ["opus"]


def test_decisions_have_unique_ids(router):
    ids = {router.route("Fix typo").decision_id for _ in range(5)}
    assert len(ids) == 5 and all(len(i) == 32 for i in ids)


def test_decision_dumps_to_json(router):
    dumped = router.route("Fix typo in README", tradeoff=0.2).model_dump(mode="json")
    assert dumped["model"] == "haiku"
    assert dumped["complexity"]["level"] == "simple"
    assert dumped["tradeoff"] == 0.2


def test_route_many_keeps_each_decision_whatever_the_order(router, rng):
    descriptions = [p[0] for p in SPEC] + ["Update the changelog", "Speed up the report query"]
    expected = {d: router.route(d).model for d in descriptions}
    rng.shuffle(descriptions)
    assert [d.model for d in router.route_many(descriptions)] == [expected[d] for d in descriptions]


def test_route_many_matches_route(router):
    descriptions = [p[0] for p in SPEC]
    decisions = router.route_many(descriptions)
    assert [d.model for d in decisions] == [router.route(d).model for d in descriptions]
    assert router.route_many(iter(descriptions), tradeoff=1.0)[0].model == "opus"
    assert router.route_many([]) == []


@pytest.mark.parametrize(
    ("descriptions", "match"),
    [
        ("Fix typo", "descriptions must be a list of str, got one str; use route"),
        (None, "descriptions must be a list of str, got NoneType"),
        (123, "descriptions must be a list of str, got int"),
        (["ok", ""], "description must contain non-whitespace text"),
        (["ok", None], "description must be a str, got NoneType"),
    ],
    ids=["bare-str", "none", "int", "empty-item", "none-item"],
)
def test_route_many_bad_input(router, descriptions, match):
    with pytest.raises(InvalidInputError, match=match):
        router.route_many(descriptions)


@pytest.mark.parametrize(
    "tradeoff",
    [math.nan, -0.1, 1.5, "x", True, math.inf, "0.5", [0.5]],
    ids=["nan", "negative", "above-one", "str", "bool", "inf", "numeric-str", "list"],
)
def test_invalid_tradeoff_is_refused(router, tradeoff):
    with pytest.raises(InvalidInputError, match=r"tradeoff must be a number in \[0, 1\] or None, got "):
        router.route("Fix typo", tradeoff=tradeoff)
    with pytest.raises(InvalidInputError, match=r"tradeoff must be a number in \[0, 1\]"):
        router.route_many(["Fix typo"], tradeoff=tradeoff)


@pytest.mark.parametrize(
    "tradeoff", [0, 0.0, 0.5, 1, 1.0, None, np.float32(0.25), np.float64(0.75), Fraction(1, 3)], ids=repr
)
def test_valid_tradeoffs_are_accepted(router, tradeoff):
    decision = router.route("Fix typo", tradeoff=tradeoff)
    assert decision.tradeoff == (None if tradeoff is None else float(tradeoff))


def test_tradeoff_ends_reach_the_cheapest_and_the_strongest(router, in_tmp):
    distributed, files = SPEC[2][0], SPEC[2][1]  # score 80: 80 - 50 = 30 at tradeoff 0, a moderate task
    assert router.route(distributed, files, tradeoff=0.0).model == "sonnet"
    assert router.route(distributed, files, tradeoff=0.5).model == "opus"
    assert router.route("Fix typo in README", tradeoff=1.0).model == "opus"
    assert router.route("Fix typo in README", tradeoff=0.0).model == "haiku"
    critical = router.route(SPEC[3][0], tradeoff=0.5)
    assert critical.model == "opus"
    assert critical.complexity.level.value == "critical"  # the decision reports the estimate as it was


VOCABULARY = [
    "fix", "typo", "readme", "implement", "oauth", "distributed", "consensus", "async", "architecture",
    "sql injection", "production outage", "refactor", "cache", "investigate", "tests", "docs", "the",
]  # fmt: skip
descriptions = st.one_of(
    st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=12).map(" ".join),
    st.text(min_size=1, max_size=80).filter(str.strip),
)
tradeoffs = st.floats(min_value=0, max_value=1, allow_nan=False)


@given(descriptions, tradeoffs, tradeoffs)
def test_expected_cost_never_falls_as_tradeoff_rises(description, t1, t2):
    low, high = sorted((t1, t2))
    router = Router()
    cheap = router.route(description, tradeoff=low)
    dear = router.route(description, tradeoff=high)
    assert dear.expected_cost_usd[dear.model] >= cheap.expected_cost_usd[cheap.model]
    assert dear.escalation[0] == dear.model and cheap.escalation[0] == cheap.model


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"description": ""}, "description must contain non-whitespace text"),
        ({"description": "   \n\t"}, "description must contain non-whitespace text"),
        ({"description": None}, "description must be a str, got NoneType"),
        ({"description": 123}, "description must be a str, got int"),
        ({"description": b"bytes"}, "description must be a str, got bytes"),
        ({"description": "Fix", "files": "a.py"}, "files must be a list of paths"),
        ({"description": "Fix", "files": ["a.py", 1.5]}, r"files\[1\] must be a path"),
        ({"description": "Fix", "context": b"ctx"}, "context must be a str or None"),
    ],
    ids=["empty", "whitespace", "none", "int", "bytes", "files-str", "files-float-item", "context-bytes"],
)
def test_route_bad_input(router, kwargs, match):
    with pytest.raises(InvalidInputError, match=match):
        router.route(**kwargs)


def test_router_uses_a_user_catalog(write_catalog):
    models = [
        {"name": "small", "inp": 0.1, "out": 0.2, "tier": "fast"},
        {"name": "large", "inp": 10.0, "out": 30.0, "tier": "advanced"},
    ]
    router = Router(Catalog.from_toml(write_catalog(catalog_toml(models))))
    assert router.route("Fix typo").model == "small"
    decision = router.route("Production outage in the payment service")
    assert decision.model == "large"
    assert decision.complexity.recommended_model == "large"
    assert decision.escalation == ["large"]


def test_router_uses_the_estimator_config_and_cost_threshold():
    cfg = EstimatorConfig.default()
    cfg = cfg.model_copy(update={"levels": cfg.levels.model_copy(update={"moderate": 3.0})})
    assert Router(estimator_config=cfg).route("Reduce latency").model == "sonnet"
    assert Router(cost_threshold=0.0).route("Reduce latency of the architecture").model == "haiku"


def test_router_reports_no_model_available():
    router = Router()
    for name in ("opus", "sonnet"):
        router.selector.update_model_availability(name, False)
    with pytest.raises(NoModelAvailableError):
        router.route("Data loss in production")
    assert isinstance(router.estimator, ComplexityEstimator)
