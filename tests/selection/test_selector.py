"""ModelSelector: each rule of its docstring, availability, listing, statistics and the cost estimate."""

from __future__ import annotations

import math

import pytest

from router import (
    Catalog,
    ComplexityLevel,
    InvalidInputError,
    ModelSelector,
    NoModelAvailableError,
    UnknownModelError,
)
from tests._helpers import catalog_toml, make_task

SIMPLE, MODERATE, COMPLEX, CRITICAL = ComplexityLevel


@pytest.fixture
def selector() -> ModelSelector:
    return ModelSelector()


@pytest.mark.parametrize(
    ("level", "model", "alternatives"),
    [
        (SIMPLE, "haiku", ["sonnet"]),
        (MODERATE, "sonnet", ["haiku", "opus"]),
        (COMPLEX, "opus", ["sonnet"]),
        (CRITICAL, "opus", ["sonnet"]),
    ],
    ids=lambda v: v.value if isinstance(v, ComplexityLevel) else None,
)
def test_level_picks_the_primary_and_its_alternatives(selector, level, model, alternatives):
    selection = selector.select(make_task(level))
    assert selection.model.name == model
    assert [m.name for m in selection.alternatives] == alternatives
    assert selection.reason == f"{level.value} task -> {model}"


def test_override_is_honoured_even_when_unavailable(selector):
    selector.update_model_availability("haiku", False)
    selection = selector.select(make_task(CRITICAL), override_model="haiku")
    assert selection.model.name == "haiku"
    assert "override" in selection.reason
    assert selection.alternatives == []


@pytest.mark.parametrize(
    "name", ["gpt5", "", "Haiku", 3], ids=["unknown", "empty", "wrong-case", "not-a-str"]
)
def test_unknown_override_raises_with_the_known_models(selector, name):
    with pytest.raises(
        UnknownModelError, match=r"Unknown model .*\. Known models: haiku, sonnet, opus\."
    ) as info:
        selector.select(make_task(SIMPLE), override_model=name)
    assert isinstance(info.value, InvalidInputError) and isinstance(info.value, KeyError)
    assert info.value.known == ["haiku", "sonnet", "opus"]


def test_cost_threshold_downgrades_to_a_cheaper_alternative():
    task = make_task(COMPLEX, tokens=10_000)
    full = ModelSelector().select(task)
    cheap = ModelSelector(cost_threshold=full.estimated_cost / 2).select(task)
    assert (full.model.name, cheap.model.name) == ("opus", "sonnet")
    assert "downgraded to sonnet" in cheap.reason and "threshold" in cheap.reason
    assert cheap.estimated_cost < full.estimated_cost
    assert [m.name for m in cheap.alternatives] == ["opus"]  # the replaced primary stays an alternative


def test_cost_threshold_picks_the_cheapest_cheaper_alternative():
    selection = ModelSelector(cost_threshold=0.0).select(make_task(MODERATE))
    assert selection.model.name == "haiku"


def test_cost_under_the_threshold_keeps_the_primary():
    task = make_task(COMPLEX)
    cost = ModelSelector().select(task).estimated_cost
    assert ModelSelector(cost_threshold=cost).select(task).model.name == "opus"


def test_cost_threshold_without_a_cheaper_alternative_keeps_the_primary():
    assert ModelSelector(cost_threshold=0.0).select(make_task(SIMPLE)).model.name == "haiku"


@pytest.mark.parametrize("threshold", [-0.01, math.nan, "x", True], ids=["negative", "nan", "str", "bool"])
def test_invalid_cost_threshold_is_refused(threshold):
    with pytest.raises(InvalidInputError, match=r"cost_threshold must be a number >= 0 or None, got "):
        ModelSelector(cost_threshold=threshold)


def test_unavailable_primary_is_replaced_by_the_first_available_alternative(selector):
    selector.update_model_availability("sonnet", False)
    selection = selector.select(make_task(MODERATE))
    assert selection.model.name == "haiku"
    assert "sonnet unavailable, using haiku" in selection.reason
    selector.update_model_availability("haiku", False)
    assert selector.select(make_task(MODERATE)).model.name == "opus"


def test_all_candidates_unavailable_raises(selector):
    selector.update_model_availability("opus", False)
    selector.update_model_availability("sonnet", False)
    with pytest.raises(NoModelAvailableError, match=r"opus is unavailable .*alternatives: sonnet"):
        selector.select(make_task(COMPLEX))
    assert selector.select(make_task(SIMPLE)).model.name == "haiku"  # other levels still route


def test_availability_can_be_restored(selector):
    selector.update_model_availability("opus", False)
    assert not selector.is_available("opus")
    selector.update_model_availability("opus", True)
    assert selector.select(make_task(COMPLEX)).model.name == "opus"


def test_update_availability_of_an_unknown_model_raises(selector):
    with pytest.raises(
        UnknownModelError, match=r"Unknown model 'gpt5'\. Known models: haiku, sonnet, opus\."
    ):
        selector.update_model_availability("gpt5", False)
    with pytest.raises(UnknownModelError, match="gpt5"):
        selector.is_available("gpt5")


def small_context_catalog(write_catalog, extra: str = "", sonnet_ctx: int = 200_000) -> Catalog:
    models = [
        {"name": "haiku", "inp": 0.25, "out": 1.25, "ctx": 1_000, "tier": "fast"},
        {"name": "sonnet", "inp": 3.0, "out": 15.0, "ctx": sonnet_ctx},
        {"name": "opus", "inp": 15.0, "out": 75.0, "ctx": 200_000, "tier": "advanced"},
    ]
    routing = """
[routing]
simple = ["haiku", "sonnet"]
moderate = ["sonnet", "haiku", "opus"]
complex = ["opus", "sonnet"]
critical = ["opus", "sonnet"]
"""
    return Catalog.from_toml(write_catalog(catalog_toml(models, routing + extra)))


def test_context_over_the_window_upgrades_to_a_model_that_fits(write_catalog):
    selector = ModelSelector(small_context_catalog(write_catalog))
    assert selector.select(make_task(SIMPLE, tokens=900)).model.name == "haiku"
    selection = selector.select(make_task(SIMPLE, tokens=5_000))
    assert selection.model.name == "sonnet"
    assert "upgraded to sonnet: ~5000 tokens exceed haiku's context window" in selection.reason
    assert [m.name for m in selection.alternatives] == ["haiku"]
    assert selector.get_statistics()["by_rule"] == {"level": 1, "context_upgrade": 1}


def test_context_upgrade_prefers_an_available_model(write_catalog):
    # sonnet (the level's alternative) fits but is down; opus fits and is up: take opus, do not fail.
    selector = ModelSelector(small_context_catalog(write_catalog, sonnet_ctx=50_000))
    selector.update_model_availability("sonnet", False)
    selection = selector.select(make_task(SIMPLE, tokens=10_000))
    assert selection.model.name == "opus"


def test_nothing_fits_the_context_raises(write_catalog):
    selector = ModelSelector(small_context_catalog(write_catalog))
    with pytest.raises(
        NoModelAvailableError, match=r"No model's context window fits .*~300000 .*largest is 200000"
    ):
        selector.select(make_task(SIMPLE, tokens=300_000))


def test_list_models_cheapest_first_with_current_availability(selector):
    assert [m.name for m in selector.list_models()] == ["haiku", "sonnet", "opus"]
    selector.update_model_availability("sonnet", False)
    listed = {m.name: m.is_available for m in selector.list_models()}
    assert listed == {"haiku": True, "sonnet": False, "opus": True}
    assert [m.name for m in selector.list_models(available_only=True)] == ["haiku", "opus"]
    assert Catalog.default().get("sonnet").is_available  # the catalog itself is untouched


def test_catalog_availability_is_the_starting_state(write_catalog):
    text = catalog_toml([{"name": "a", "inp": 1, "out": 1}, {"name": "b", "inp": 2, "out": 2}])
    text = text.replace("[models.b]\n", "[models.b]\nis_available = false\n")
    selector = ModelSelector(Catalog.from_toml(write_catalog(text)))
    assert [m.name for m in selector.list_models(available_only=True)] == ["a"]


def test_estimated_cost_follows_the_documented_token_estimate(selector):
    task = make_task(MODERATE, tokens=12_345)
    selection = selector.select(task)
    output = Catalog.default().output_tokens[MODERATE]
    assert (selection.estimated_input_tokens, selection.estimated_output_tokens) == (12_345, output)
    assert selection.estimated_cost == pytest.approx((12_345 * 3.0 + output * 15.0) / 1e6)


def test_output_estimate_is_capped_at_the_models_max_output(write_catalog):
    models = [{"name": "tiny", "inp": 1.0, "out": 1.0, "max_out": 300}]
    selector = ModelSelector(Catalog.from_toml(write_catalog(catalog_toml(models))))
    selection = selector.select(make_task(COMPLEX))
    assert selection.estimated_output_tokens == 300


def test_statistics_count_models_and_rules(selector):
    selector.select(make_task(SIMPLE))
    selector.select(make_task(COMPLEX))
    selector.select(make_task(SIMPLE), override_model="opus")
    selector.update_model_availability("haiku", False)
    selector.select(make_task(SIMPLE))
    stats = selector.get_statistics()
    assert stats["total_selections"] == 4
    assert stats["by_model"] == {"haiku": 1, "opus": 2, "sonnet": 1}
    assert stats["by_rule"] == {"level": 2, "override": 1, "unavailable": 1}
    assert stats["unavailable_models"] == ["haiku"]
