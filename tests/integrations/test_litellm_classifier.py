"""Our classifier inside LiteLLM's complexity router, and the plugin's and mapping's edges."""

from __future__ import annotations

import asyncio
import json
import logging
import types
from typing import Any

import litellm
import pytest

from router import Catalog, InvalidInputError, Router
from router.integrations.litellm import (
    METADATA_KEY,
    SIGNAL_KEY,
    ModelMap,
    RouterPlugin,
    TierClassifier,
)
from tests.integrations.litellm_setup import DEPLOYMENTS, MODELS, answered_by, model_list
from training.synthetic import generate_outcomes

# The complexity router's own tier table: one model group per tier.
TIER_TABLE = {"SIMPLE": "haiku", "MEDIUM": "sonnet", "COMPLEX": "opus", "REASONING": "opus"}


def _complexity_gateway(classifier: TierClassifier) -> Any:
    groups = [
        {"model_name": name, "litellm_params": {**d["litellm_params"]}}
        for name, d in zip(DEPLOYMENTS, model_list(), strict=True)
    ]
    smart = {
        "model_name": "smart",
        "litellm_params": {
            "model": "auto_router/complexity_router",
            "complexity_router_config": {
                "classifier_type": "custom",
                "classifier_plugin": classifier,
                "tiers": TIER_TABLE,
            },
        },
    }
    return litellm.Router(model_list=[*groups, smart], num_retries=0)


@pytest.mark.parametrize(
    "tiers",
    [
        {"haiku": "SIMPLE", "sonnet": "MEDIUM", "opus": "COMPLEX"},
        # Turned upside down, so the answer can only come from our decision, not LiteLLM's own scorer.
        {"haiku": "REASONING", "sonnet": "MEDIUM", "opus": "SIMPLE"},
    ],
    ids=["straight", "upside-down"],
)
def test_requests_land_on_the_tier_our_decision_maps_to(tiers):
    router = Router()
    frame = generate_outcomes(60, seed=22).drop_duplicates("task_id")
    tasks = [(row.description, json.loads(row.files)) for row in frame.itertuples()]
    gateway = _complexity_gateway(TierClassifier(router, tiers))

    async def run() -> list[str]:
        answers = []
        for description, files in tasks:
            response = await gateway.acompletion(
                model="smart",
                messages=[{"role": "user", "content": description}],
                metadata={"router_files": files},
            )
            answers.append(answered_by(response))
        return answers

    answers = asyncio.run(run())
    expected = [TIER_TABLE[tiers[router.route(d, files=f).model]] for d, f in tasks]
    assert answers == expected
    assert len(set(expected)) >= 2


@pytest.mark.parametrize(
    ("tiers", "match"),
    [
        (
            {"haiku": "SIMPLE", "sonnet": "MEDIUM", "gpt5": "COMPLEX"},
            r"tiers: unknown catalog model\(s\) 'gpt5'",
        ),
        ({"haiku": "SIMPLE", "sonnet": "MEDIUM"}, r"every catalog model needs a tier; missing 'opus'"),
        ({"haiku": "SIMPLE", "sonnet": "MEDIUM", "opus": ""}, r"tier names must be non-empty strings"),
        (["SIMPLE"], r"tiers must be a mapping"),
    ],
    ids=["unknown-model", "missing-model", "empty-tier", "not-a-mapping"],
)
def test_classifier_refuses_a_bad_tier_table(tiers, match):
    with pytest.raises(InvalidInputError, match=match):
        TierClassifier(Router(), tiers)


def test_classifier_declines_what_it_cannot_route():
    classifier = TierClassifier(Router(), {"haiku": "SIMPLE", "sonnet": "MEDIUM", "opus": "COMPLEX"})
    context = types.SimpleNamespace(structured_messages=[{"role": "assistant", "content": "hi"}], metadata={})
    assert asyncio.run(classifier.classify(context)) is None  # no user message: LiteLLM's fallback decides


@pytest.mark.parametrize(
    ("models", "kwargs", "match"),
    [
        (
            {"openai/gpt-4o": "gpt5"},
            {},
            r"models\['openai/gpt-4o'\]: unknown catalog model 'gpt5'. Known models: ",
        ),
        ({}, {}, r"models must be a non-empty mapping"),
        ({"": "haiku"}, {}, r"a LiteLLM name must be a non-empty string"),
        (
            {"anthropic/claude-haiku-4": "haiku"},
            {"model_list": model_list()},
            r"'anthropic/claude-haiku-4' not in the LiteLLM model_list .* "
            r"Known there: anthropic/claude-haiku-4-5, ",
        ),
    ],
    ids=["unknown-catalog-name", "empty", "blank-name", "not-in-model-list"],
)
def test_model_map_refuses_unknown_names(models, kwargs, match):
    with pytest.raises(InvalidInputError, match=match):
        ModelMap(models, Catalog.default(), **kwargs)


def test_model_map_accepts_deployments_and_groups_of_the_model_list():
    mapping = ModelMap({**MODELS, "auto": "sonnet"}, Catalog.default(), model_list=model_list())
    assert mapping.catalog_name("anthropic/claude-opus-4-5", "auto") == "opus"  # the deployment wins
    assert mapping.catalog_name("openai/unmapped", "auto") == "sonnet"  # else its group
    assert mapping.deployments_of("haiku", ["anthropic/claude-opus-4-5", "anthropic/claude-haiku-4-5"]) == [
        "anthropic/claude-haiku-4-5"
    ]


def _context(candidates: list[str], text: str = "Fix typo in README") -> Any:
    return types.SimpleNamespace(
        structured_messages=[{"role": "user", "content": [{"type": "text", "text": text}]}],
        metadata={},
        candidate_models=list(candidates),
        signals={},
    )


def test_plugin_leaves_the_choice_to_litellm_when_our_model_has_no_deployment():
    plugin = RouterPlugin(Router(), MODELS)
    candidates = [DEPLOYMENTS["sonnet"], DEPLOYMENTS["opus"]]  # the typo fix goes to haiku
    context = asyncio.run(plugin.run(_context(candidates)))
    assert context.candidate_models == candidates
    signal = context.signals[SIGNAL_KEY]
    assert (signal["model"], signal["narrowed"], signal["deployments"]) == ("haiku", False, [])
    assert "no deployment of 'haiku' among the candidates" in signal["why"]


def test_plugin_never_fails_a_request_it_cannot_route():
    plugin = RouterPlugin(Router(), MODELS)
    context = asyncio.run(plugin.run(_context(list(MODELS), text="   ")))
    assert context.candidate_models == list(MODELS)
    assert context.signals[SIGNAL_KEY]["narrowed"] is False
    assert context.signals[SIGNAL_KEY]["why"].startswith("not routed: ")


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (("not a router", MODELS), r"router must be a router.Router, got str"),
        ((Router(), {"x": "gpt5"}), r"unknown catalog model 'gpt5'"),
    ],
    ids=["not-a-router", "unknown-model"],
)
def test_plugin_refuses_bad_arguments(args, match):
    with pytest.raises(InvalidInputError, match=match):
        RouterPlugin(*args)


def test_plugin_refuses_a_bad_tradeoff():
    with pytest.raises(InvalidInputError, match=r"tradeoff must be a number in \[0, 1\]"):
        RouterPlugin(Router(), MODELS, tradeoff=2)


def test_classifier_passes_the_task_metadata_and_survives_a_bad_one(caplog):
    # The upside-down table: the answer can only come from our decision.
    tiers = {"haiku": "REASONING", "sonnet": "MEDIUM", "opus": "SIMPLE"}
    router = Router()
    routed: list[dict[str, str] | None] = []
    route = router.route

    def spy(*args: Any, **kwargs: Any) -> Any:  # the real router, watched
        decision = route(*args, **kwargs)
        routed.append(decision.metadata)
        return decision

    router.route = spy  # type: ignore[method-assign]
    gateway = _complexity_gateway(TierClassifier(router, tiers))

    async def ask(metadata: Any) -> str:
        response = await gateway.acompletion(
            model="smart",
            messages=[{"role": "user", "content": "Fix typo in README"}],
            metadata={METADATA_KEY: metadata},
        )
        return answered_by(response)

    async def run() -> list[str]:
        answers = [await ask({"repo": "acme/site"}), await ask({"repo": ["a", "b"]})]
        # Let LiteLLM's logging worker finish these calls here, not under the next test's callbacks.
        from litellm.litellm_core_utils.logging_worker import GLOBAL_LOGGING_WORKER
        from litellm.responses.streaming_iterator import drain_logging_tasks

        await drain_logging_tasks()
        await GLOBAL_LOGGING_WORKER.flush()
        return answers

    with caplog.at_level(logging.WARNING, logger="router.integrations.litellm"):
        answers = asyncio.run(run())
    assert answers == [TIER_TABLE["REASONING"]] * 2  # our decision, with the bad value too
    assert routed == [{"repo": "acme/site"}, None]
    assert "ignores a bad task metadata" in caplog.text and "key 'repo' has value ['a', 'b']" in caplog.text
