"""The FallbackHandler driving the real ``openai`` client against a Chat Completions server on loopback.

The same scripted failures as the ``anthropic`` tests, through OpenAI's SDK: its status mapping, exception
classes, error bodies (``code: context_length_exceeded``) and usage fields run unchanged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import openai
import pytest
from openai.types.chat import ChatCompletion

from router import ExecutionError, FallbackHandler, UnrecoverableError, classify
from router.execution.failures import describe
from tests.execution.fake_time import FakeTime
from tests.execution.messages_server import MessagesServer, Reply, error, ok, serve
from tests.execution.test_fallback_anthropic import CATALOG, CONFIG, ListRecorder, Scripts, scripted

# OpenAI's own words for a prompt over the window; and the same error with words we do not look for.
TOO_LONG = (
    "This model's maximum context length is 200000 tokens. However, your messages resulted in 250000 "
    "tokens. Please reduce the length of the messages."
)
CONTEXT_LENGTH = {"sonnet": [error(400, TOO_LONG, code="context_length_exceeded")]}
CONTEXT_CODE_ONLY = {"sonnet": [error(400, "Input too big for this model.", code="context_length_exceeded")]}
RATE_LIMITED = {"sonnet": [error(429, "Rate limit reached", headers={"retry-after": "7"}), ok()]}


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
def api(request: pytest.FixtureRequest) -> Iterator[tuple[MessagesServer, openai.OpenAI]]:
    replies: Scripts = request.param
    with (
        serve(scripted(replies)) as server,
        openai.OpenAI(base_url=f"{server.base_url}/v1", api_key="test", max_retries=0, timeout=0.2) as client,
    ):
        yield server, client


def call_with(client: openai.OpenAI, task_id: str) -> Callable[[str], ChatCompletion]:
    def call(model: str) -> ChatCompletion:
        return client.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": "Fix typo in README"}],
            extra_headers={"x-task-id": task_id},
        )

    return call


@pytest.mark.parametrize("api", [RATE_LIMITED], indirect=True, ids=["429"])
def test_rate_limit_switches_at_once_and_cools_the_model(api, handler, time_):
    server, client = api
    result = handler.execute_with_fallback("sonnet", "t1", call_with(client, "t1"), ["haiku", "opus"])
    assert result.model == "haiku"
    assert server.models_called() == ["sonnet", "haiku"]
    assert time_.sleeps == []
    stats = handler.get_statistics()
    assert stats["failures_by_reason"]["rate_limit"] == 1 and stats["fallbacks"] == 1
    assert stats["breakers"]["sonnet"]["state"] == "open"
    assert stats["breakers"]["sonnet"]["cooling_for_s"] == 7.0  # the server's Retry-After


@pytest.mark.parametrize("api", [RATE_LIMITED], indirect=True, ids=["429"])
def test_rate_limit_without_alternatives_waits_retry_after(api, handler, time_):
    server, client = api
    result = handler.execute_with_fallback("sonnet", "t1", call_with(client, "t1"), [])
    assert result.model == "sonnet"
    assert server.models_called() == ["sonnet", "sonnet"]
    assert time_.sleeps == [7.0]


@pytest.mark.parametrize(
    "api", [CONTEXT_LENGTH, CONTEXT_CODE_ONLY], indirect=True, ids=["words", "code-only"]
)
def test_context_length_moves_to_a_model_whose_window_fits(api, handler, time_):
    server, client = api
    result = handler.execute_with_fallback(
        "sonnet", "t1", call_with(client, "t1"), ["haiku", "opus", "sonnet-1m"]
    )
    assert result.model == "sonnet-1m"  # haiku's and opus's 200k windows are no larger than sonnet's
    assert server.models_called() == ["sonnet", "sonnet-1m"]
    assert time_.sleeps == []
    assert handler.get_statistics()["failures_by_reason"]["context_length"] == 1


def test_context_length_reads_the_tokens_openai_reports():
    with serve(scripted(CONTEXT_LENGTH)) as server:
        client = openai.OpenAI(base_url=f"{server.base_url}/v1", api_key="test", max_retries=0)
        with pytest.raises(openai.BadRequestError) as info:
            call_with(client, "t1")("sonnet")
        client.close()
    failure = describe(info.value)
    assert (failure.reason.value, failure.status_code, failure.tokens_needed) == (
        "context_length",
        400,
        250000,
    )


@pytest.mark.parametrize(
    "api", [{"sonnet": [error(401, "Incorrect API key provided")]}], indirect=True, ids=["401"]
)
def test_authentication_error_is_not_retried(api, handler, time_):
    server, client = api
    with pytest.raises(UnrecoverableError, match=r"sonnet failed with an error no retry can fix") as info:
        handler.execute_with_fallback("sonnet", "t1", call_with(client, "t1"), ["haiku"])
    assert isinstance(info.value.__cause__, openai.AuthenticationError)
    assert server.models_called() == ["sonnet"]
    assert time_.sleeps == []


@pytest.mark.parametrize(
    "api", [{"sonnet": [error(500), error(500), error(500), ok()]}], indirect=True, ids=["500x3"]
)
def test_server_error_backs_off_1_2_4_and_succeeds(api, handler, time_):
    server, client = api
    result = handler.execute_with_fallback("sonnet", "t1", call_with(client, "t1"), ["haiku"])
    assert result.model == "sonnet"
    assert server.models_called() == ["sonnet"] * 4
    assert time_.sleeps == [1.0, 2.0, 4.0]
    assert handler.get_statistics()["failures_by_reason"]["server_error"] == 3


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


@pytest.mark.parametrize(
    "api",
    [{"sonnet": [error(529, "Overloaded")], "haiku": [ok(input_tokens=30, output_tokens=7)]}],
    indirect=True,
    ids=["529"],
)
def test_attempts_are_recorded_with_openai_usage(api, handler, recorder):
    _, client = api
    handler.execute_with_fallback("sonnet", "t1", call_with(client, "t1"), ["haiku"])
    assert [(r["model"], r["success"], r["input_tokens"], r["output_tokens"]) for r in recorder.rows] == [
        ("sonnet", 0.0, 0, 0),
        ("haiku", 1.0, 30, 7),
    ]
    # The reason is ours; the rest is the SDK's wording, which changes between releases.
    error = recorder.rows[0]["error"]
    assert error.startswith("unavailable: ")
    assert "Overloaded" in error


@pytest.mark.parametrize("status", [400, 403, 404, 409, 422, 500, 503])
def test_openai_status_errors_classify_like_anthropic_ones(status):
    """The same status through both SDKs' exception classes gives the same reason."""
    import anthropic

    def raised(sdk: Any, url: str) -> BaseException:
        with serve(lambda model, task_id, n: error(status, "scripted")) as server:
            try:
                if sdk is openai:
                    with openai.OpenAI(base_url=f"{server.base_url}/v1", api_key="t", max_retries=0) as c:
                        call_with(c, "t")("sonnet")
                else:
                    with anthropic.Anthropic(base_url=server.base_url, api_key="t", max_retries=0) as a:
                        a.messages.create(
                            model="sonnet", max_tokens=8, messages=[{"role": "user", "content": "x"}]
                        )
            except Exception as exc:
                return exc
        raise AssertionError(f"{url}: no error raised")

    assert classify(raised(openai, "openai")) is classify(raised(anthropic, "anthropic"))


def test_async_twin_with_the_async_openai_client(handler, time_):
    replies = {"sonnet": [error(500), error(429, headers={"retry-after": "3"})]}

    async def run(server: MessagesServer) -> ChatCompletion:
        async with openai.AsyncOpenAI(
            base_url=f"{server.base_url}/v1", api_key="test", max_retries=0, timeout=0.2
        ) as client:

            async def call(model: str) -> ChatCompletion:
                return await client.chat.completions.create(
                    model=model,
                    messages=[{"role": "user", "content": "hi"}],
                    extra_headers={"x-task-id": "t1"},
                )

            return await handler.aexecute_with_fallback("sonnet", "t1", call, ["haiku"])

    with serve(scripted(replies)) as server:
        result = asyncio.run(run(server))
    assert result.model == "haiku"
    assert server.models_called() == ["sonnet", "sonnet", "haiku"]
    assert time_.sleeps == [1.0]


@pytest.mark.parametrize("api", [CONTEXT_LENGTH], indirect=True, ids=["400"])
def test_a_context_length_without_a_larger_model_fails_clearly(api, handler):
    server, client = api
    with pytest.raises(ExecutionError, match=r"no model left to try after context_length on sonnet") as info:
        handler.execute_with_fallback("sonnet", "t1", call_with(client, "t1"), ["haiku", "opus"])
    assert isinstance(info.value.__cause__, openai.BadRequestError)
    assert server.models_called() == ["sonnet"]
