"""A real ``litellm.Router`` with our plugin and ledger callback; deployments answer with ``mock_response``.

What must hold: the model that answered is the one our router chose (heuristic and learned, two tradeoffs,
60 varied tasks each), the ledger holds one row per call with LiteLLM's tokens and cost and our decision
id and propensity, a failing deployment's failure is recorded, and the exported ledger trains a router.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import litellm
import pytest

from router import CostTracker, Router
from router.integrations.litellm import METADATA_KEY, SIGNAL_KEY, LedgerLogger, RouterPlugin
from tests.integrations.litellm_setup import DEPLOYMENTS, MODELS, answered_by, model_list
from training import train_router
from training.synthetic import generate_outcomes

TRADEOFFS = (0.1, 0.9)


class Recorder:
    """A plugin after ours: keeps the signals each request left, by its task id."""

    def __init__(self) -> None:
        self.signals: dict[str, dict[str, Any]] = {}

    async def run(self, context: Any) -> Any:
        self.signals[str(context.metadata["task_id"])] = dict(context.signals[SIGNAL_KEY])
        return context


@pytest.fixture(scope="module")
def tasks() -> list[tuple[str, list[str]]]:
    """60 varied synthetic tasks (descriptions and the files they touch)."""
    frame = generate_outcomes(60, seed=21).drop_duplicates("task_id")
    return [(row.description, json.loads(row.files)) for row in frame.itertuples()]


@pytest.fixture(scope="module")
def learned(tmp_path_factory: pytest.TempPathFactory) -> Router:
    out = tmp_path_factory.mktemp("learned")
    result = train_router(generate_outcomes(300, seed=3), log_to_mlflow=False, output_dir=out)
    return Router.load(result.model_uri, strict=True, exploration_rate=0.2, seed=7)


@pytest.fixture
def ledger(tmp_path: Path) -> CostTracker:
    with CostTracker(tmp_path / "ledger.db") as tracker:
        yield tracker


async def _route_all(
    router: Router, tasks: list[tuple[str, list[str]]], logger: LedgerLogger
) -> tuple[Recorder, dict[str, Any]]:
    recorder = Recorder()
    gateway = litellm.Router(
        model_list=model_list(), plugins=[RouterPlugin(router, MODELS), recorder], num_retries=0
    )
    responses = {}
    for tradeoff in TRADEOFFS:
        for i, (description, files) in enumerate(tasks):
            task_id = f"t{tradeoff}-{i}"
            responses[task_id] = await gateway.acompletion(
                model="auto",
                messages=[
                    {"role": "system", "content": "You are a careful engineer."},
                    {"role": "user", "content": description},
                ],
                metadata={"task_id": task_id, "router_tradeoff": tradeoff, "router_files": files},
            )
    await logger.flush()
    return recorder, responses


@pytest.mark.parametrize("kind", ["heuristic", "learned"])
def test_the_model_that_answers_is_the_one_our_router_chose(
    kind, tasks, learned, ledger, monkeypatch, tmp_path
):
    router = Router() if kind == "heuristic" else learned
    logger = LedgerLogger(ledger, MODELS)
    monkeypatch.setattr(litellm, "callbacks", [logger])
    recorder, responses = asyncio.run(_route_all(router, tasks, logger))

    for task_id, response in responses.items():
        signal = recorder.signals[task_id]
        assert signal["narrowed"] and signal["deployments"] == [DEPLOYMENTS[signal["model"]]]
        assert answered_by(response) == signal["model"], task_id
    if kind == "heuristic":  # deterministic: the same decision made directly
        for tradeoff in TRADEOFFS:
            for i, (description, files) in enumerate(tasks):
                expected = router.route(
                    description, files=files, context="You are a careful engineer.", tradeoff=tradeoff
                )
                assert recorder.signals[f"t{tradeoff}-{i}"]["model"] == expected.model
    # Not a constant answer: several models at each tradeoff, and dearer choices at the higher one.
    chosen = {t: [recorder.signals[f"t{t}-{i}"] for i in range(len(tasks))] for t in TRADEOFFS}
    for t in TRADEOFFS:
        assert len({s["model"] for s in chosen[t]}) >= 2, (t, [s["model"] for s in chosen[t]])
    spend = {t: sum(s["expected_cost_usd"] for s in chosen[t]) for t in TRADEOFFS}
    assert spend[0.9] > spend[0.1]

    # The ledger: one row per call, with LiteLLM's tokens and cost and our decision.
    assert logger.errors == 0 and logger.recorded == len(responses)
    rows = {e.task_id: e for e in ledger.get_recent_entries(1000)}
    assert len(rows) == len(responses) == 2 * len(tasks)
    for task_id, response in responses.items():
        row, signal = rows[task_id], recorder.signals[task_id]
        usage = response.usage
        assert (row.model, row.success, row.error, row.attempt) == (signal["model"], 1.0, None, 1)
        assert (
            (row.input_tokens, row.output_tokens) == (usage.prompt_tokens, usage.completion_tokens) != (0, 0)
        )
        assert (
            row.total_cost == pytest.approx(response._hidden_params["response_cost"]) and row.total_cost > 0
        )
        assert (row.decision_id, row.propensity, row.level) == (
            signal["decision_id"],
            signal["propensity"],
            signal["level"],
        )
        assert row.description == tasks[int(task_id.rsplit("-", 1)[1])][0]
        assert row.duration_ms is not None and row.duration_ms >= 0
    p_success = [recorder.signals[task_id]["p_success"] for task_id in responses]
    if kind == "heuristic":
        assert set(p_success) == {None}  # the heuristic predicts no probabilities
    else:
        assert all(0 < p < 1 for p in p_success)
    if kind == "learned":  # exploration logs propensities below 1 for training to weight by
        assert any(r.propensity < 1 for r in rows.values())
        assert all(r.propensity is not None and 0 < r.propensity <= 1 for r in rows.values())

    # Exporting the ledger and training on it closes the loop.
    transfer = ledger.export_outcomes(tmp_path / "outcomes.parquet")
    assert transfer.rows == len(responses)
    result = train_router(tmp_path / "outcomes.parquet", log_to_mlflow=False, output_dir=tmp_path / "model")
    retrained = Router.load(result.model_uri, strict=True)
    assert retrained.source == "learned"
    assert retrained.route(tasks[0][0]).model in DEPLOYMENTS


def test_a_failing_deployment_is_recorded_as_a_failure(ledger, monkeypatch):
    logger = LedgerLogger(ledger, MODELS)
    monkeypatch.setattr(litellm, "callbacks", [logger])
    task = "Fix SQL injection security vulnerability in the production login endpoint"  # opus, critical

    async def run() -> None:
        gateway = litellm.Router(
            model_list=model_list(failing=frozenset({"opus"})),
            plugins=[RouterPlugin(Router(), MODELS)],
            num_retries=0,
        )
        with pytest.raises(litellm.InternalServerError):
            await gateway.acompletion(
                model="auto", messages=[{"role": "user", "content": task}], metadata={"task_id": "t1"}
            )
        await logger.flush()

    asyncio.run(run())
    (row,) = ledger.get_recent_entries(10)
    assert (row.model, row.task_id, row.success, row.attempt, row.level) == ("opus", "t1", 0.0, 1, "critical")
    assert row.error.startswith("server_error: litellm.InternalServerError")
    assert (row.input_tokens, row.output_tokens, row.total_cost) == (0, 0, 0.0)
    assert row.decision_id and row.propensity == 1.0
    assert row.description == task


def test_when_our_model_has_no_deployment_litellm_decides_and_no_propensity_is_claimed(ledger, monkeypatch):
    logger = LedgerLogger(ledger, MODELS)
    monkeypatch.setattr(litellm, "callbacks", [logger])
    cheap_only = [d for d in model_list() if d["litellm_params"]["model"] != DEPLOYMENTS["opus"]]
    task = "Fix SQL injection security vulnerability in the production login endpoint"  # opus

    async def run() -> str:
        gateway = litellm.Router(
            model_list=cheap_only, plugins=[RouterPlugin(Router(), MODELS)], num_retries=0
        )
        response = await gateway.acompletion(model="auto", messages=[{"role": "user", "content": task}])
        await logger.flush()
        return answered_by(response)

    answered = asyncio.run(run())
    (row,) = ledger.get_recent_entries(10)
    assert answered in ("haiku", "sonnet") and row.model == answered
    assert row.decision_id and row.level == "critical"
    assert row.propensity is None  # LiteLLM chose this model, not our policy


def test_unmapped_deployments_are_recorded_under_their_litellm_name(ledger, monkeypatch):
    logger = LedgerLogger(ledger, MODELS)
    monkeypatch.setattr(litellm, "callbacks", [logger])
    other = [
        {"model_name": "other", "litellm_params": {"model": "openai/gpt-4o-mini", "mock_response": "hi"}}
    ]

    async def run() -> Any:
        response = await litellm.Router(model_list=other).acompletion(
            model="other", messages=[{"role": "user", "content": "Summarise the release notes"}]
        )
        await logger.flush()
        return response

    response = asyncio.run(run())
    (row,) = ledger.get_recent_entries(10)
    assert (row.model, row.decision_id, row.propensity) == ("openai/gpt-4o-mini", None, None)
    assert row.total_cost == pytest.approx(response._hidden_params["response_cost"]) and row.total_cost > 0


def test_a_ledger_that_refuses_never_fails_the_call(monkeypatch, caplog):
    class Refusing:
        catalog = None

        def record(self, **fields: Any) -> None:
            raise RuntimeError("database is locked")

    logger = LedgerLogger(Refusing(), MODELS)
    monkeypatch.setattr(litellm, "callbacks", [logger])

    async def run() -> str:
        gateway = litellm.Router(model_list=model_list(), plugins=[RouterPlugin(Router(), MODELS)])
        response = await gateway.acompletion(model="auto", messages=[{"role": "user", "content": "Fix typo"}])
        await logger.flush()
        return answered_by(response)

    assert asyncio.run(run()) == "haiku"
    assert (logger.recorded, logger.errors) == (0, 1)
    assert "The ledger refused a LiteLLM call's row" in caplog.text


REPO = {"repo": "acme/site", "team": "web"}


def test_the_task_metadata_of_a_request_reaches_the_decision_and_the_ledger(learned, ledger, monkeypatch):
    logger = LedgerLogger(ledger, MODELS)
    monkeypatch.setattr(litellm, "callbacks", [logger])
    seen: list[dict[str, str] | None] = []
    route = learned.route

    def spy(*args: Any, **kwargs: Any) -> Any:  # the real router, watched: what metadata did route get?
        decision = route(*args, **kwargs)
        seen.append(decision.metadata)
        return decision

    monkeypatch.setattr(learned, "route", spy)

    async def run() -> None:
        gateway = litellm.Router(
            model_list=model_list(), plugins=[RouterPlugin(learned, MODELS)], num_retries=0
        )
        for task_id, extra in (("with", {METADATA_KEY: REPO}), ("without", {})):
            await gateway.acompletion(
                model="auto",
                messages=[{"role": "user", "content": "Fix the flaky login test"}],
                metadata={"task_id": task_id, **extra},
            )
        await logger.flush()

    asyncio.run(run())
    assert seen == [REPO, None]
    rows = {e.task_id: e for e in ledger.get_recent_entries(10)}
    assert (rows["with"].metadata, rows["without"].metadata) == (REPO, {})
    assert rows["with"].decision_id and logger.errors == 0


@pytest.mark.parametrize(
    ("bad", "named"),
    [({"repo": 7}, "key 'repo' has value 7 (int)"), ("acme/site", "got str")],
    ids=["int-value", "not-a-mapping"],
)
def test_bad_task_metadata_never_fails_the_request(bad, named, ledger, monkeypatch, caplog):
    logger = LedgerLogger(ledger, MODELS)
    monkeypatch.setattr(litellm, "callbacks", [logger])
    task = "Fix SQL injection security vulnerability in the production login endpoint"  # opus

    async def run() -> str:
        gateway = litellm.Router(
            model_list=model_list(), plugins=[RouterPlugin(Router(), MODELS)], num_retries=0
        )
        response = await gateway.acompletion(
            model="auto",
            messages=[{"role": "user", "content": task}],
            metadata={"task_id": "t1", METADATA_KEY: bad},
        )
        await logger.flush()
        return answered_by(response)

    with caplog.at_level(logging.WARNING, logger="router.integrations.litellm"):
        assert asyncio.run(run()) == "opus"  # routed by our router, without the metadata
    (row,) = ledger.get_recent_entries(10)
    assert (row.model, row.metadata, row.success) == ("opus", {}, 1.0)
    assert row.decision_id and row.propensity == 1.0  # the plugin narrowed: it routed despite the bad value
    assert logger.errors == 0
    messages = [r.getMessage() for r in caplog.records if r.name == "router.integrations.litellm"]
    assert any("routing without it" in m and named in m for m in messages), messages
    assert any("recording the call without it" in m and named in m for m in messages), messages
