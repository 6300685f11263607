"""Catalog: the packaged default, user catalogs of any shape, and every way a catalog file can be wrong."""

from __future__ import annotations

import pytest

from router import Catalog, ComplexityLevel, ConfigError, ModelTier, UnknownModelError
from router._toml import packaged_file
from tests._helpers import catalog_toml

DEFAULT_TEXT = packaged_file("catalog.toml").read_text()
LEVELS = list(ComplexityLevel)


def test_default_catalog_holds_the_specification_table():
    cat = Catalog.default()
    assert cat.names() == ["haiku", "sonnet", "opus"]
    haiku, sonnet, opus = (cat.get(n) for n in cat.names())
    assert (haiku.tier, sonnet.tier, opus.tier) == (ModelTier.FAST, ModelTier.BALANCED, ModelTier.ADVANCED)
    assert (haiku.input_cost_per_1m, haiku.output_cost_per_1m) == (0.25, 1.25)
    assert (sonnet.input_cost_per_1m, sonnet.output_cost_per_1m) == (3.0, 15.0)
    assert (opus.input_cost_per_1m, opus.output_cost_per_1m) == (15.0, 75.0)
    assert {m.context_window for m in (haiku, sonnet, opus)} == {200_000}
    assert (haiku.latency_ms, sonnet.latency_ms, opus.latency_ms) == (500, 1000, 2000)
    assert cat.routing == {
        ComplexityLevel.SIMPLE: ["haiku", "sonnet"],
        ComplexityLevel.MODERATE: ["sonnet", "haiku", "opus"],
        ComplexityLevel.COMPLEX: ["opus", "sonnet"],
        ComplexityLevel.CRITICAL: ["opus", "sonnet"],
    }
    assert [cat.primary_for(level) for level in LEVELS] == ["haiku", "sonnet", "opus", "opus"]


def test_default_catalog_orders_by_price_and_escalates_to_dearer_models():
    cat = Catalog.default()
    assert [m.name for m in cat.by_price] == ["haiku", "sonnet", "opus"]
    assert cat.stronger_than("haiku") == ["sonnet", "opus"]
    assert cat.stronger_than("opus") == []


def test_model_cost_is_per_million_tokens():
    sonnet = Catalog.default().get("sonnet")
    assert sonnet.cost(1_000_000, 0) == pytest.approx(3.0)
    assert sonnet.cost(2_000, 1_000) == pytest.approx((2_000 * 3.0 + 1_000 * 15.0) / 1e6)


def test_get_unknown_model_names_the_known_ones():
    with pytest.raises(
        UnknownModelError, match=r"Unknown model 'gpt5'\. Known models: haiku, sonnet, opus\."
    ):
        Catalog.default().get("gpt5")


USER_MODELS = [
    {"name": "premium", "inp": 20.0, "out": 80.0},
    {"name": "local-llama", "inp": 0.0, "out": 0.0, "tier": "fast"},
    {"name": "mid", "inp": 2.0, "out": 8.0},
    {"name": "cheap", "inp": 0.1, "out": 0.4, "tier": "fast"},
    {"name": "strong", "inp": 5.0, "out": 25.0, "tier": "advanced"},
]


def test_user_catalog_without_routing_is_routed_by_price(write_catalog):
    cat = Catalog.from_toml(write_catalog(catalog_toml(USER_MODELS)))
    assert cat.names() == [m["name"] for m in USER_MODELS]  # catalog order kept
    assert [m.name for m in cat.by_price] == ["local-llama", "cheap", "mid", "strong", "premium"]
    primaries = [cat.primary_for(level) for level in LEVELS]
    assert primaries[0] == "local-llama"
    assert primaries[-1] == "premium"
    prices = [cat.get(name).cost(3_000, 1_000) for name in primaries]
    assert prices == sorted(prices)
    for level in LEVELS:
        primary, *alternatives = cat.routing[level]
        assert alternatives, level
        assert primary not in alternatives


@pytest.mark.parametrize("count", [1, 2, 3, 4, 7], ids=lambda n: f"{n}-models")
def test_price_routing_covers_every_level_for_any_number_of_models(write_catalog, count):
    models = [{"name": f"m{i}", "inp": float(count - i), "out": float(count - i)} for i in range(count)]
    cat = Catalog.from_toml(write_catalog(catalog_toml(models)))
    assert set(cat.routing) == set(LEVELS)
    assert cat.primary_for(ComplexityLevel.SIMPLE) == f"m{count - 1}"  # the cheapest
    assert cat.primary_for(ComplexityLevel.CRITICAL) == "m0"  # the dearest


def test_user_catalog_routing_and_estimates_are_read(write_catalog):
    extra = """
[routing]
simple = ["cheap"]
moderate = ["mid", "cheap"]
complex = ["strong", "mid"]
critical = ["premium", "strong"]

[estimation.output_tokens]
simple = 100
critical = 9000
"""
    cat = Catalog.from_toml(write_catalog(catalog_toml(USER_MODELS, extra)))
    assert cat.routing[ComplexityLevel.CRITICAL] == ["premium", "strong"]
    assert cat.output_tokens[ComplexityLevel.SIMPLE] == 100
    assert cat.output_tokens[ComplexityLevel.MODERATE] == 2000  # the default for a level left out
    assert cat.output_tokens[ComplexityLevel.CRITICAL] == 9000


def test_availability_and_provider_model_are_read(write_catalog):
    text = (
        catalog_toml([{"name": "a", "inp": 1, "out": 1}])
        + 'provider_model = "vendor-a-1"\nis_available = false\n'
    )
    model = Catalog.from_toml(write_catalog(text)).get("a")
    assert model.provider_model == "vendor-a-1"
    assert model.is_available is False


ONE_MODEL = catalog_toml([{"name": "solo", "inp": 1.0, "out": 2.0}])


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (
            DEFAULT_TEXT.replace("input_cost_per_1m = 0.25\n", ""),
            r"models\.haiku\.input_cost_per_1m: Field required",
        ),
        (
            DEFAULT_TEXT.replace("output_cost_per_1m = 15.00", "output_cost_per_1m = -15.0"),
            r"models\.sonnet\.output_cost_per_1m: Input should be greater than or equal to 0 \(got -15\.0\)",
        ),
        (
            DEFAULT_TEXT.replace("input_cost_per_1m = 15.00", 'input_cost_per_1m = "cheap"'),
            r"models\.opus\.input_cost_per_1m: Input should be a valid number",
        ),
        (
            DEFAULT_TEXT.replace("input_cost_per_1m = 0.25", "input_cost_per_1m = nan"),
            r"models\.haiku\.input_cost_per_1m: Input should be a finite number",
        ),
        (
            DEFAULT_TEXT.replace('complex = ["opus", "sonnet"]', 'complex = ["gpt5", "sonnet"]'),
            r"routing\.complex names unknown model 'gpt5'; known: haiku, sonnet, opus",
        ),
        (
            DEFAULT_TEXT.replace('critical = ["opus", "sonnet"]', "critical = []"),
            r"routing\.critical must list at least one model",
        ),
        (
            DEFAULT_TEXT.replace('critical = ["opus", "sonnet"]\n', ""),
            r"routing\.critical must list at least one model",
        ),
        (
            DEFAULT_TEXT.replace('simple = ["haiku", "sonnet"]', 'trivial = ["haiku"]'),
            r"routing\.trivial\.\[key\]: Input should be 'simple', 'moderate', 'complex' or 'critical'",
        ),
        (ONE_MODEL + "\n[models.broken]\n", r"models\.broken\.tier: Field required"),
        ('models.haiku = "fast"\n', r"models\.haiku: Input should be a valid dictionary \(got 'fast'\)"),
        (
            DEFAULT_TEXT.replace('tier = "fast"', 'tier = "turbo"'),
            r"models\.haiku\.tier: Input should be 'fast', 'balanced' or 'advanced'",
        ),
        (
            DEFAULT_TEXT.replace("context_window = 200000", "context_window = 0", 1),
            r"models\.haiku\.context_window: Input should be greater than 0",
        ),
        (
            DEFAULT_TEXT.replace("[models.sonnet]\n", '[models.sonnet]\nname = "claude"\n'),
            r"models\.sonnet\.name: must be left out or equal the table's key 'sonnet' \(got 'claude'\)",
        ),
        (
            DEFAULT_TEXT.replace("[models.sonnet]\n", '[models.sonnet]\ncolour = "blue"\n'),
            r"models\.sonnet\.colour: Extra inputs are not permitted",
        ),
        (
            DEFAULT_TEXT.replace("simple = 500", "simple = -500"),
            r"estimation\.output_tokens\.simple: Input should be greater than 0",
        ),
        (
            DEFAULT_TEXT.replace("[estimation.output_tokens]", "[estimation.output_tokenz]"),
            r"estimation\.output_tokenz: Extra inputs are not permitted",
        ),
        ("[routing]\nsimple = []\n", r"models: Field required"),
        ("models = {}\n", r"models: Dictionary should have at least 1 item"),
        ("[models.a\ntier = 1", r"is not valid TOML"),
        (None, r"model catalog file not found: '.*nowhere\.toml'"),
    ],
    ids=[
        "missing-price",
        "negative-price",
        "price-not-a-number",
        "price-nan",
        "unknown-routing-model",
        "empty-routing-level",
        "missing-routing-level",
        "unknown-level",
        "empty-model-table",
        "model-not-a-table",
        "unknown-tier",
        "zero-context-window",
        "name-differs-from-key",
        "unknown-model-field",
        "negative-output-tokens",
        "unknown-estimation-table",
        "no-models",
        "empty-models",
        "bad-toml",
        "missing-file",
    ],
)
def test_invalid_catalog_raises_config_error_naming_the_field(tmp_path, text, match):
    path = tmp_path / ("nowhere.toml" if text is None else "catalog.toml")
    if text is not None:
        path.write_text(text)
    with pytest.raises(ConfigError, match=match) as info:
        Catalog.from_toml(path)
    assert str(path) in str(info.value)


def test_name_equal_to_the_key_is_allowed(write_catalog):
    text = DEFAULT_TEXT.replace("[models.sonnet]\n", '[models.sonnet]\nname = "sonnet"\n')
    assert Catalog.from_toml(write_catalog(text)).get("sonnet").name == "sonnet"


def test_from_dict_builds_the_same_catalog_as_the_file():
    import tomllib

    data = tomllib.loads(DEFAULT_TEXT)
    assert Catalog.from_dict(data) == Catalog.default()
