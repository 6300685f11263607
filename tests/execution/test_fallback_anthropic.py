"""The FallbackHandler driving the real ``anthropic`` client against a Messages API server on loopback.

Each scripted failure must end as the specification says: the waits (read from the injected sleep), the
models the server saw, and the statistics.
"""

from __future__ import annotations

import asyncio
import email.utils
import re
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import anthropic
import pytest

from router import (
    Catalog,
    ExecutionConfig,
    ExecutionError,
    FallbackHandler,
    FallbackStrategy,
    ModelSelector,
    TaskDeadlineError,
    UnrecoverableError,
)
from router.estimation.estimator import ComplexityEstimator
from tests.execution.fake_time import FakeTime
from tests.execution.messages_server import MessagesServer, Reply, error, ok, serve

CATALOG_DEFAULT = Catalog.default()
PROMPT_TOO_LONG = "prompt is too long: 250000 tokens > 200000 maximum"


def _model(tier: str, price_in: float, window: int) -> dict[str, Any]:
    return {
        "tier": tier,
        "input_cost_per_1m": price_in,
        "output_cost_per_1m": price_in * 5,
        "context_window": window,
        "max_output_tokens": 8192,
        "latency_ms": 1000,
    }


# The packaged three models plus a dearer long-context one, for the context-length upgrade.
CATALOG = Catalog.from_dict(
    {
        "models": {
            "haiku": _model("fast", 0.25, 200_000),
            "sonnet": _model("balanced", 3.0, 200_000),
            "sonnet-1m": _model("balanced", 6.0, 1_000_000),
            "opus": _model("advanced", 15.0, 200_000),
        }
    }
)
# No jitter: the waits are exact.
CONFIG = ExecutionConfig().with_retry(jitter=0.0)


class ListRecorder:
    """An in-memory ledger: keeps every ``record(**fields)`` call."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def record(self, **fields: Any) -> None:
        self.rows.append(fields)


Scripts = dict[str, list[Reply]]  # model -> replies in order; the last one repeats


def scripted(replies: Scripts) -> Callable[[str, str, int], Reply]:
    seen: dict[str, int] = {}

    def script(model: str, task_id: str, n: int) -> Reply:
        i = seen.get(model, 0)
        seen[model] = i + 1
        plan = replies.get(model, [ok()])
        return plan[min(i, len(plan) - 1)]

    return script


@pytest.fixture
def time_() -> FakeTime:
    return FakeTime()


@pytest.fixture
def recorder() -> ListRecorder:
    return ListRecorder()


@pytest.fixture
def handler(time_: FakeTime, recorder: ListRecorder) -> FallbackHandler:
    return FallbackHandler(
        config=CONFIG,
        catalog=CATALOG,
        recorder=recorder,
        clock=time_.clock,
        wall_clock=lambda: 1_700_000_000.0,
        sleep=time_.sleep,
        async_sleep=time_.async_sleep,
    )


@pytest.fixture
def api(request: pytest.FixtureRequest) -> Iterator[tuple[MessagesServer, anthropic.Anthropic]]:
    """The server (scripted by the test's ``replies`` marker-free param) and a real client pointed at it."""
    replies: Scripts = request.param
    with (
        serve(scripted(replies)) as server,
        anthropic.Anthropic(base_url=server.base_url, api_key="test", max_retries=0, timeout=0.2) as client,
    ):
        yield server, client


def call_with(client: anthropic.Anthropic, task_id: str) -> Callable[[str], anthropic.types.Message]:
    def call(model: str) -> anthropic.types.Message:
        return client.messages.create(
            model=model,
            max_tokens=64,
            messages=[{"role": "user", "content": "Fix typo in README"}],
            extra_headers={"x-task-id": task_id},
        )

    return call


def text_of(message: anthropic.types.Message) -> str:
    block = message.content[0]
    assert isinstance(block, anthropic.types.TextBlock)
    return block.text


def http_date(epoch: float) -> str:
    return email.utils.formatdate(epoch, usegmt=True)


# -- each scripted failure, end to end ----------------------------------------------------------------
RATE_LIMITED = {"sonnet": [error(429, headers={"retry-after": "7"}), ok()]}


@pytest.mark.parametrize("api", [RATE_LIMITED], indirect=True, ids=["429"])
def test_rate_limit_switches_at_once_and_cools_the_model(api, handler, time_):
    server, client = api
    result = handler.execute_with_fallback("sonnet", "t1", call_with(client, "t1"), ["haiku", "opus"])
    assert result.model == "haiku"
    assert server.models_called() == ["sonnet", "haiku"]
    assert time_.sleeps == []
    stats = handler.get_statistics()
    assert stats["failures_by_reason"]["rate_limit"] == 1
    assert stats["fallbacks"] == 1 and stats["retries_spent"] == 0
    assert stats["success_rate_after_fallback"] == 100.0
    assert stats["breakers"]["sonnet"] == {
        "state": "open",
        "consecutive_failures": 1,
        "cooling_for_s": 7.0,
        "trips": 1,
    }


@pytest.mark.parametrize("api", [RATE_LIMITED], indirect=True, ids=["429"])
def test_rate_limit_without_alternatives_waits_retry_after(api, handler, time_):
    server, client = api
    result = handler.execute_with_fallback("sonnet", "t1", call_with(client, "t1"), [])
    assert result.model == "sonnet"
    assert server.models_called() == ["sonnet", "sonnet"]
    assert time_.sleeps == [7.0]  # the server's Retry-After, not the computed 1 s
    stats = handler.get_statistics()
    assert stats["retries_spent"] == 1 and stats["waits"] == 1
    assert stats["breakers"]["sonnet"]["state"] == "closed"  # the probe after the cooldown succeeded


@pytest.mark.parametrize(
    "api",
    [{"sonnet": [error(429, headers={"retry-after": http_date(1_700_000_030)}), ok()]}],
    indirect=True,
    ids=["429-http-date"],
)
def test_retry_after_as_http_date(api, handler, time_):
    server, client = api
    handler.execute_with_fallback("sonnet", "t1", call_with(client, "t1"), [])
    assert time_.sleeps == [30.0]  # the wall clock is injected at 1_700_000_000
    assert server.models_called() == ["sonnet", "sonnet"]


@pytest.mark.parametrize("api", [{"sonnet": [error(529, "Overloaded")]}], indirect=True, ids=["529"])
def test_overloaded_switches_to_an_alternative(api, handler, time_):
    server, client = api
    result = handler.execute_with_fallback("sonnet", "t1", call_with(client, "t1"), ["haiku"])
    assert result.model == "haiku"
    assert server.models_called() == ["sonnet", "haiku"]
    assert time_.sleeps == []
    assert handler.get_statistics()["failures_by_reason"]["unavailable"] == 1


@pytest.mark.parametrize(
    "api", [{"sonnet": [error(500), error(500), error(500), ok()]}], indirect=True, ids=["500x3"]
)
def test_server_error_backs_off_1_2_4_and_succeeds(api, handler, time_):
    server, client = api
    result = handler.execute_with_fallback("sonnet", "t1", call_with(client, "t1"), ["haiku"])
    assert result.model == "sonnet"
    assert server.models_called() == ["sonnet"] * 4
    assert time_.sleeps == [1.0, 2.0, 4.0]
    stats = handler.get_statistics()
    assert stats["failures_by_reason"]["server_error"] == 3
    assert stats["retries_spent"] == 3 and stats["fallbacks"] == 0


@pytest.mark.parametrize("api", [{"sonnet": [error(500)]}], indirect=True, ids=["500-forever"])
def test_server_error_falls_back_after_the_retries(api, handler, time_):
    server, client = api
    result = handler.execute_with_fallback("sonnet", "t1", call_with(client, "t1"), ["haiku"])
    assert result.model == "haiku"
    assert server.models_called() == ["sonnet"] * 4 + ["haiku"]
    assert time_.sleeps == [1.0, 2.0, 4.0]
    stats = handler.get_statistics()
    assert stats["failures_by_model"] == {"sonnet": 4}
    assert stats["retries_spent"] == 3 and stats["fallbacks"] == 1


@pytest.mark.parametrize(
    "api", [{"sonnet": [Reply(delay_s=1.0), ok()]}], indirect=True, ids=["slower-than-timeout"]
)
def test_timeout_is_retried_with_backoff(api, handler, time_):
    server, client = api
    result = handler.execute_with_fallback("sonnet", "t1", call_with(client, "t1"), ["haiku"])
    assert result.model == "sonnet"
    assert server.models_called() == ["sonnet", "sonnet"]
    assert time_.sleeps == [1.0]
    assert handler.get_statistics()["failures_by_reason"]["timeout"] == 1


@pytest.mark.parametrize("api", [{"sonnet": [error(400, PROMPT_TOO_LONG)]}], indirect=True, ids=["400"])
def test_prompt_too_long_upgrades_to_a_model_whose_context_fits(api, handler, time_):
    server, client = api
    result = handler.execute_with_fallback(
        "sonnet", "t1", call_with(client, "t1"), ["haiku", "opus", "sonnet-1m"]
    )
    assert result.model == "sonnet-1m"  # not haiku or opus: their 200k windows do not fit 250k tokens
    assert server.models_called() == ["sonnet", "sonnet-1m"]
    assert time_.sleeps == []
    stats = handler.get_statistics()
    assert stats["failures_by_reason"]["context_length"] == 1
    assert stats["breakers"]["sonnet"]["state"] == "closed"  # a 400 is an answer, not an outage


@pytest.mark.parametrize("api", [{"sonnet": [error(400, PROMPT_TOO_LONG)]}], indirect=True, ids=["400"])
def test_prompt_too_long_without_a_larger_model_fails_clearly(api, handler):
    server, client = api
    with pytest.raises(ExecutionError, match=r"no model left to try after context_length on sonnet") as info:
        handler.execute_with_fallback("sonnet", "t1", call_with(client, "t1"), ["haiku", "opus"])
    assert isinstance(info.value.__cause__, anthropic.BadRequestError)
    assert [a.model for a in info.value.attempts] == ["sonnet"]
    assert server.models_called() == ["sonnet"]


@pytest.mark.parametrize("api", [{"sonnet": [error(401)]}], indirect=True, ids=["401"])
def test_authentication_error_is_raised_at_once(api, handler, time_):
    server, client = api
    with pytest.raises(UnrecoverableError, match=r"sonnet failed with an error no retry can fix") as info:
        handler.execute_with_fallback("sonnet", "t1", call_with(client, "t1"), ["haiku"])
    assert isinstance(info.value.__cause__, anthropic.AuthenticationError)
    assert server.models_called() == ["sonnet"]
    assert time_.sleeps == []
    assert handler.get_statistics()["tasks_failed"] == 1


@pytest.mark.parametrize("api", [{"sonnet": [error(500)]}], indirect=True, ids=["500-forever"])
def test_deadline_bounds_the_waits(api, time_):
    server, client = api
    handler = FallbackHandler(
        config=CONFIG.with_retry(task_deadline_s=5.0), catalog=CATALOG, clock=time_.clock, sleep=time_.sleep
    )
    with pytest.raises(TaskDeadlineError, match=r"waiting 4 s more would pass the task deadline of 5.0 s"):
        handler.execute_with_fallback("sonnet", "t1", call_with(client, "t1"), [])
    assert time_.sleeps == [1.0, 2.0]
    assert server.models_called() == ["sonnet"] * 3


# -- escalation and recording -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "api",
    [{"haiku": [ok(text="meh")], "sonnet": [ok(text="good", output_tokens=40)]}],
    indirect=True,
    ids=["q"],
)
def test_rejected_result_escalates_to_the_next_stronger_model(api, handler, recorder):
    server, client = api
    result = handler.execute_with_fallback(
        "haiku",
        "t1",
        call_with(client, "t1"),
        ["opus", "sonnet"],
        accept=lambda message: text_of(message) == "good",
        decision_id="d-42",
        task_type="docs",
    )
    assert text_of(result) == "good"
    assert server.models_called() == ["haiku", "sonnet"]  # the cheapest stronger one, not opus
    stats = handler.get_statistics()
    assert stats["failures_by_reason"]["quality"] == 1 and stats["escalations"] == 1
    assert recorder.rows == [
        {
            "model": "haiku",
            "task_id": "t1",
            "task_type": "docs",
            "decision_id": "d-42",
            "input_tokens": 12,
            "output_tokens": 5,
            "input_cost": None,
            "output_cost": None,
            "duration_ms": 0.0,  # the injected clock does not move during a call
            "success": 0.0,
            "error": "quality: result rejected by accept()",
            "attempt": 1,
        },
        {
            "model": "sonnet",
            "task_id": "t1",
            "task_type": "docs",
            "decision_id": "d-42",
            "input_tokens": 12,
            "output_tokens": 40,
            "input_cost": None,
            "output_cost": None,
            "duration_ms": 0.0,
            "success": 1.0,
            "error": None,
            "attempt": 2,
        },
    ]


@pytest.mark.parametrize("api", [{"haiku": [ok(text="meh")]}], indirect=True, ids=["q"])
def test_every_result_rejected_ends_with_the_last_result_attached(api, handler):
    server, client = api
    with pytest.raises(ExecutionError, match=r"no model left to try after quality on opus") as info:
        handler.execute_with_fallback(
            "haiku", "t1", call_with(client, "t1"), ["sonnet", "opus"], accept=lambda m: False
        )
    assert server.models_called() == ["haiku", "sonnet", "opus"]
    assert info.value.last_result.model == "opus"


@pytest.mark.parametrize("api", [RATE_LIMITED], indirect=True, ids=["429"])
def test_failed_attempts_are_recorded_with_reason_and_no_tokens(api, handler, recorder):
    server, client = api
    handler.execute_with_fallback("sonnet", "t1", call_with(client, "t1"), ["haiku"])
    assert [(r["model"], r["attempt"], r["success"]) for r in recorder.rows] == [
        ("sonnet", 1, 0.0),
        ("haiku", 2, 1.0),
    ]
    # Our part is the reason in front; the rest is the SDK's str() of its error, whose wording changes
    # between releases (2.x: "429 scripted 429 (path: ...)"), so only the server's message is looked for.
    error = recorder.rows[0]["error"]
    assert error.startswith("rate_limit: ")
    assert "scripted 429" in error
    assert (recorder.rows[0]["input_tokens"], recorder.rows[0]["output_tokens"]) == (0, 0)
    assert len(server.requests) == len(recorder.rows)


# -- circuit breaker seen by selection and by later tasks ---------------------------------------------
@pytest.mark.parametrize("api", [{"sonnet": [error(500), error(500), ok()]}], indirect=True, ids=["500x2"])
def test_breaker_cools_a_failing_model_for_later_tasks_and_selection(api, time_):
    server, client = api
    selector = ModelSelector(CATALOG)
    handler = FallbackHandler(
        config=CONFIG.with_breaker(failure_threshold=2, cooldown_s=30.0),
        selector=selector,
        clock=time_.clock,
        sleep=time_.sleep,
    )
    # Two server errors open sonnet's circuit, so the task leaves it even though retries remain.
    assert handler.execute_with_fallback("sonnet", "t1", call_with(client, "t1"), ["haiku"]).model == "haiku"
    assert time_.sleeps == [1.0]
    moderate = ComplexityEstimator().estimate("Fix bug in the login flow where sessions expire early")
    assert moderate.level.value == "moderate"
    assert selector.select(moderate).model.name == "haiku"  # sonnet, the level's primary, is cooling down
    # A later task that starts on sonnet skips it without calling it.
    assert handler.execute_with_fallback("sonnet", "t2", call_with(client, "t2"), ["haiku"]).model == "haiku"
    assert server.models_called() == ["sonnet", "sonnet", "haiku", "haiku"]
    # After the cooldown, one probe goes to sonnet and closes its circuit.
    time_.advance(30.0)
    assert selector.select(moderate).model.name == "sonnet"
    assert handler.execute_with_fallback("sonnet", "t3", call_with(client, "t3"), ["haiku"]).model == "sonnet"
    assert handler.get_statistics()["breakers"]["sonnet"]["state"] == "closed"


@pytest.mark.parametrize("api", [{"sonnet": [error(529)]}], indirect=True, ids=["529"])
@pytest.mark.parametrize(
    ("strategy", "expected"),
    [
        (FallbackStrategy.DOWNGRADE, "haiku"),
        (FallbackStrategy.UPGRADE, "opus"),
        (FallbackStrategy.ROUND_ROBIN, "opus"),
        (FallbackStrategy.BEST_AVAILABLE, "opus"),
    ],
    ids=["downgrade", "upgrade", "round-robin", "best-available"],
)
def test_strategy_picks_the_next_model(api, handler, strategy, expected):
    server, client = api
    result = handler.execute_with_fallback(
        "sonnet", "t1", call_with(client, "t1"), ["opus", "haiku"], strategy=strategy
    )
    assert result.model == expected
    assert server.models_called() == ["sonnet", expected]


@pytest.mark.parametrize("api", [{"sonnet": [error(529), ok()]}], indirect=True, ids=["529"])
def test_retry_strategy_retries_the_same_model_first(api, handler, time_):
    server, client = api
    result = handler.execute_with_fallback(
        "sonnet", "t1", call_with(client, "t1"), ["haiku"], strategy=FallbackStrategy.RETRY
    )
    assert result.model == "sonnet"
    assert server.models_called() == ["sonnet", "sonnet"]
    assert time_.sleeps == [1.0]


# -- the asyncio twin ---------------------------------------------------------------------------------
@pytest.mark.parametrize("replies", [{"sonnet": [error(500), error(429, headers={"retry-after": "3"})]}])
def test_async_twin_with_the_async_client(replies, handler, time_):
    async def run(server: MessagesServer) -> anthropic.types.Message:
        async with anthropic.AsyncAnthropic(
            base_url=server.base_url, api_key="test", max_retries=0, timeout=0.2
        ) as client:

            async def call(model: str) -> anthropic.types.Message:
                return await client.messages.create(
                    model=model,
                    max_tokens=64,
                    messages=[{"role": "user", "content": "hi"}],
                    extra_headers={"x-task-id": "t1"},
                )

            return await handler.aexecute_with_fallback("sonnet", "t1", call, ["haiku"])

    with serve(scripted(replies)) as server:
        result = asyncio.run(run(server))
    assert result.model == "haiku"
    assert server.models_called() == ["sonnet", "sonnet", "haiku"]  # 500: retry; then 429: switch
    assert time_.sleeps == [1.0]
    stats = handler.get_statistics()
    assert stats["failures_by_reason"]["server_error"] == 1
    assert stats["failures_by_reason"]["rate_limit"] == 1


# -- the docs' example (docs/how-to/run-with-fallbacks.md), against the loopback server ------------------
def test_readme_fallback_example_runs(monkeypatch, capsys):
    from tests._helpers import ROOT

    readme = (ROOT / "docs" / "how-to" / "run-with-fallbacks.md").read_text()
    (example,) = re.findall(r"```python fallback\n(.*?)```", readme, flags=re.DOTALL)
    haiku = CATALOG_DEFAULT.get("haiku").provider_model
    with serve(lambda model, task_id, n: error(529, "Overloaded") if model == haiku else ok()) as server:
        # The anthropic client reads these, so the example runs unchanged against the loopback server.
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.base_url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", "test")
        namespace: dict[str, Any] = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # the packaged catalog names older models
            exec(compile(example, "run-with-fallbacks.md", "exec"), namespace)
        namespace["client"].close()
    assert server.models_called() == [haiku, CATALOG_DEFAULT.get("sonnet").provider_model]
    assert "'unavailable': 1" in capsys.readouterr().out
