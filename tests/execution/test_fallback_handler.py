"""FallbackHandler decisions without a server: handle_failure, invalid input, waiting for cooling models,
errors that must not be swallowed, threads, the async twin's cancellation, and the public surface."""

from __future__ import annotations

import asyncio
import doctest
import threading
from typing import Any

import pytest

import router
from router import (
    BreakerState,
    ExecutionConfig,
    ExecutionError,
    FailureReason,
    FallbackHandler,
    FallbackStrategy,
    InvalidInputError,
    LedgerError,
    Router,
    UnknownModelError,
    UnrecoverableError,
)
from router.execution import backoff as _backoff
from router.execution import breaker as _breaker
from router.execution import config as _exec_config
from router.execution import failures as _failures
from router.execution import fallback as _fallback
from tests.execution.fake_time import FakeTime

CONFIG = ExecutionConfig().with_retry(jitter=0.0)


class Status(Exception):
    def __init__(self, status_code: int, message: str = "", retry_after: str | None = None) -> None:
        super().__init__(message or f"status {status_code}")
        self.status_code = status_code
        self.response = type("R", (), {"headers": {"retry-after": retry_after} if retry_after else {}})()


@pytest.fixture
def time_() -> FakeTime:
    return FakeTime()


@pytest.fixture
def handler(time_: FakeTime) -> FallbackHandler:
    return FallbackHandler(config=CONFIG, clock=time_.clock, sleep=time_.sleep, async_sleep=time_.async_sleep)


# -- handle_failure: the specification's manual API ---------------------------------------------------
@pytest.mark.parametrize(
    ("error", "alternatives", "retry_count", "strategy", "expected"),
    [
        (TimeoutError(), ["haiku"], 0, None, ("sonnet", True)),
        (TimeoutError(), ["haiku"], 3, None, ("haiku", True)),
        (TimeoutError(), [], 3, None, (None, False)),
        (Status(500), ["haiku", "opus"], 1, None, ("sonnet", True)),
        (Status(429), ["haiku"], 0, None, ("haiku", True)),
        (Status(429), [], 0, None, ("sonnet", True)),
        (Status(429), ["haiku"], 0, FallbackStrategy.RETRY, ("sonnet", True)),
        (Status(529), ["opus", "haiku"], 0, FallbackStrategy.DOWNGRADE, ("haiku", True)),
        (Status(529), ["haiku", "opus"], 0, FallbackStrategy.UPGRADE, ("opus", True)),
        (Status(400, "prompt is too long: 250000 tokens > 200000 maximum"), ["opus"], 0, None, (None, False)),
        (Status(400, "bad field"), ["haiku"], 0, None, ("haiku", True)),
        (Status(400, "bad field"), [], 0, None, (None, False)),
    ],
    ids=[
        "timeout-retries",
        "timeout-retries-spent",
        "timeout-nothing-left",
        "500-retries",
        "429-switches",
        "429-alone-retries",
        "429-retry-strategy",
        "529-downgrade",
        "529-upgrade",
        "too-long-no-fit",
        "400-switches",
        "400-alone-gives-up",
    ],
)
def test_handle_failure(handler, error, alternatives, retry_count, strategy, expected) -> None:
    result = handler.handle_failure("sonnet", error, "t1", alternatives, retry_count, strategy=strategy)
    assert result == expected
    assert handler.get_statistics()["total_failures"] == 1


def test_handle_failure_raises_for_what_no_retry_fixes(handler) -> None:
    cause = Status(403, "permission denied")
    with pytest.raises(
        UnrecoverableError, match=r"Task 't1': sonnet failed with an error no retry can fix"
    ) as info:
        handler.handle_failure("sonnet", cause, "t1", ["haiku"], 0)
    assert info.value.__cause__ is cause


@pytest.mark.parametrize("retry_count", [-1, 1.5, True], ids=["negative", "float", "bool"])
def test_handle_failure_refuses_a_bad_retry_count(handler, retry_count) -> None:
    with pytest.raises(InvalidInputError, match=r"retry_count must be an int >= 0, got"):
        handler.handle_failure("sonnet", TimeoutError(), "t1", ["haiku"], retry_count)


def test_recorder_gets_description_and_task_type_when_given(time_) -> None:
    rows: list[dict[str, Any]] = []

    class Recorder:
        def record(self, **fields: Any) -> None:
            rows.append(fields)

    handler = FallbackHandler(config=CONFIG, recorder=Recorder(), clock=time_.clock, sleep=time_.sleep)
    handler.execute_with_fallback("haiku", "t1", lambda m: m, [], description="Fix typo", task_type="typo")
    handler.execute_with_fallback("haiku", "t2", lambda m: m, [])
    assert (rows[0]["description"], rows[0]["task_type"]) == ("Fix typo", "typo")
    assert "description" not in rows[1] and "task_type" not in rows[1]  # the ledger's defaults apply
    assert (rows[1]["input_tokens"], rows[1]["output_tokens"], rows[1]["decision_id"]) == (0, 0, "")


# -- invalid input --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"model": "gpt5"}, UnknownModelError, r"Unknown model 'gpt5'. Known models: haiku, sonnet, opus."),
        ({"alternatives": ["haiku", "nope"]}, UnknownModelError, r"Unknown model 'nope'"),
        (
            {"alternatives": "haiku"},
            InvalidInputError,
            r"alternatives must be a list of model names, got the str",
        ),
        ({"task_id": ""}, InvalidInputError, r"task_id must be a non-empty string, got ''"),
        (
            {"strategy": "fastest"},
            InvalidInputError,
            r"Unknown fallback strategy 'fastest'. Allowed: retry, down",
        ),
    ],
    ids=["unknown-model", "unknown-alternative", "alternatives-str", "empty-task-id", "unknown-strategy"],
)
def test_invalid_input(handler, kwargs: dict[str, Any], error: type[Exception], match: str) -> None:
    args: dict[str, Any] = {"model": "sonnet", "task_id": "t1", "alternatives": None, **kwargs}
    calls: list[str] = []
    with pytest.raises(error, match=match):
        handler.execute_with_fallback(
            args.pop("model"), args.pop("task_id"), calls.append, args.pop("alternatives"), **args
        )
    assert calls == []


def test_unknown_default_strategy_is_refused() -> None:
    with pytest.raises(InvalidInputError, match=r"Unknown fallback strategy 'cheapest'"):
        FallbackHandler("cheapest")  # type: ignore[arg-type]


def test_max_retries_argument_overrides_the_config(time_) -> None:
    handler = FallbackHandler(max_retries=1, config=CONFIG, clock=time_.clock, sleep=time_.sleep)
    calls: list[str] = []

    def always_500(model: str) -> None:
        calls.append(model)
        raise Status(500)

    with pytest.raises(ExecutionError, match=r"no model left to try after server_error on sonnet"):
        handler.execute_with_fallback("sonnet", "t1", always_500, [])
    assert calls == ["sonnet", "sonnet"] and time_.sleeps == [1.0]


# -- cooling models: waiting, and giving up ------------------------------------------------------------
def test_waits_for_the_first_model_to_cool_down_when_all_are_cooling(handler, time_) -> None:
    handler.breaker.record_failure("haiku", retry_after=20.0)
    handler.breaker.record_failure("sonnet", retry_after=5.0)
    calls: list[str] = []
    result = handler.execute_with_fallback("haiku", "t1", lambda m: calls.append(m) or m, ["sonnet"])
    assert result == "sonnet" and calls == ["sonnet"]
    assert time_.sleeps == [5.0]
    assert handler.get_statistics()["breakers"]["sonnet"]["state"] == "closed"


def test_gives_up_when_the_deadline_comes_before_any_cooldown_ends(time_) -> None:
    handler = FallbackHandler(
        config=CONFIG.with_retry(task_deadline_s=10.0), clock=time_.clock, sleep=time_.sleep
    )
    handler.breaker.record_failure("haiku", retry_after=60.0)
    with pytest.raises(ExecutionError, match=r"waiting 60 s more would pass the task deadline of 10.0 s"):
        handler.execute_with_fallback("haiku", "t1", lambda m: m, [])
    assert time_.sleeps == []


def test_a_probe_lost_by_another_caller_is_taken_over_after_a_cooldown(handler, time_) -> None:
    for _ in range(5):
        handler.breaker.record_failure("haiku")
    time_.advance(30.0)
    assert handler.breaker.acquire("haiku")  # another caller's probe is out and never comes back
    assert handler.execute_with_fallback("haiku", "t1", lambda m: m, []) == "haiku"
    assert time_.sleeps == [30.0]


def test_gives_up_when_the_pool_stays_cooling_after_the_waits(time_) -> None:
    waits: list[float] = []
    # A sleep that returns early (the clock does not move), so the model is still cooling after each wait.
    handler = FallbackHandler(config=CONFIG, clock=time_.clock, sleep=waits.append)
    handler.breaker.record_failure("haiku", retry_after=5.0)
    with pytest.raises(ExecutionError, match=r"every candidate model stayed cooling down: haiku"):
        handler.execute_with_fallback("haiku", "t1", lambda m: m, [])
    assert waits == [5.0] * (CONFIG.retry.max_retries + 1)


# -- errors that are not the model's: propagate, free the probe ---------------------------------------
def test_router_errors_from_the_call_propagate_and_free_the_probe(handler, time_) -> None:
    handler.breaker.record_failure("haiku", retry_after=1.0)
    time_.advance(1.0)

    def refuse(model: str) -> None:
        raise LedgerError("the ledger refused")

    with pytest.raises(LedgerError, match="the ledger refused"):
        handler.execute_with_fallback("haiku", "t1", refuse, [])
    assert handler.breaker.acquire("haiku")  # the probe was released


def test_async_cancellation_frees_the_probe(handler, time_) -> None:
    handler.breaker.record_failure("haiku", retry_after=1.0)
    time_.advance(1.0)

    async def main() -> None:
        started = asyncio.Event()

        async def hang(model: str) -> None:
            started.set()
            await asyncio.Event().wait()

        task = asyncio.ensure_future(handler.aexecute_with_fallback("haiku", "t1", hang, []))
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    assert handler.breaker.state("haiku") is BreakerState.HALF_OPEN
    assert handler.breaker.acquire("haiku")


def test_an_unrecoverable_error_is_not_retried_and_keeps_its_cause(handler, time_) -> None:
    calls: list[str] = []

    def buggy(model: str) -> None:
        calls.append(model)
        raise TypeError("create() got an unexpected keyword argument 'modle'")

    with pytest.raises(
        UnrecoverableError, match=r"Attempts: #1 sonnet unrecoverable. Last error: TypeError"
    ) as e:
        handler.execute_with_fallback("sonnet", "t1", buggy, ["haiku"])
    assert isinstance(e.value.__cause__, TypeError) and calls == ["sonnet"]
    assert e.value.attempts[0].reason is FailureReason.UNRECOVERABLE


# -- a router's decision ---------------------------------------------------------------------------------
def test_execute_decision_follows_the_escalation_order(handler) -> None:
    decision = Router().route("Fix typo in README")
    calls: list[str] = []

    def call(model: str) -> str:
        calls.append(model)
        return "poor" if model == "haiku" else "good"

    assert handler.execute_decision(decision, "t1", call, accept=lambda r: r == "good") == "good"
    assert calls == ["haiku", "sonnet"]


@pytest.mark.parametrize(
    ("escalation", "good", "expected"),
    [
        (["sonnet", "haiku", "opus"], None, ["sonnet", "haiku", "opus"]),
        (["sonnet", "haiku"], None, ["sonnet", "haiku"]),
        (["opus", "haiku", "sonnet"], None, ["opus", "haiku", "sonnet"]),
        (["opus", "haiku", "sonnet"], "haiku", ["opus", "haiku"]),
        (["haiku"], None, ["haiku"]),
    ],
)
def test_a_rejected_result_follows_the_decisions_escalation(handler, escalation, good, expected) -> None:
    # The learned chain orders by success per dollar and may go to a cheaper model: the handler must
    # follow it, not "the next stronger model", and stop where it ends.
    decision = (
        Router()
        .route("Fix typo in README")
        .model_copy(update={"model": escalation[0], "escalation": escalation})
    )
    calls: list[str] = []

    def call(model: str) -> str:
        calls.append(model)
        return model

    if good is None:
        with pytest.raises(ExecutionError, match="no model left"):
            handler.execute_decision(decision, "t1", call, accept=lambda r: False)
    else:
        assert handler.execute_decision(decision, "t1", call, accept=lambda r: r == good) == good
    assert calls == expected


def test_the_escalation_skips_a_cooling_model(time_) -> None:
    handler = FallbackHandler(
        config=CONFIG.with_breaker(failure_threshold=1), clock=time_.clock, sleep=time_.sleep
    )
    handler.breaker.record_failure("haiku")
    decision = (
        Router()
        .route("Fix typo in README")
        .model_copy(update={"model": "opus", "escalation": ["opus", "haiku", "sonnet"]})
    )
    calls: list[str] = []

    def call(model: str) -> str:
        calls.append(model)
        return model

    assert handler.execute_decision(decision, "t1", call, accept=lambda r: r != "opus") == "sonnet"
    assert calls == ["opus", "sonnet"]


# -- threads: statistics stay exact -----------------------------------------------------------------------
def test_statistics_are_exact_under_8_threads() -> None:
    # A high threshold keeps the breaker out of the way, so every count is known in advance.
    handler = FallbackHandler(config=CONFIG.with_breaker(failure_threshold=10**6), sleep=lambda s: None)
    per_thread, threads = 250, 8
    barrier = threading.Barrier(threads)

    def call_for(i: int):
        seen = {"n": 0}

        def call(model: str) -> str:
            seen["n"] += 1
            if i % 2 == 0 and seen["n"] == 1:
                raise TimeoutError("slow")  # retried on the same model
            if i % 3 == 0 and model == "sonnet":
                raise Status(429)  # switches to haiku
            return model

        return call

    def work(t: int) -> None:
        barrier.wait()
        for j in range(per_thread):
            i = t * per_thread + j
            handler.execute_with_fallback("sonnet", f"t{i}", call_for(i), ["haiku"])

    pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join()

    n = per_thread * threads
    evens = sum(1 for i in range(n) if i % 2 == 0)
    sixes = sum(1 for i in range(n) if i % 3 == 0)  # of which those also even saw a timeout first
    stats = handler.get_statistics()
    assert stats["total_tasks"] == n and stats["tasks_succeeded"] == n
    assert stats["failures_by_reason"]["timeout"] == evens
    assert stats["failures_by_reason"]["rate_limit"] == sixes
    assert stats["total_failures"] == evens + sixes
    assert stats["retries_spent"] == evens
    assert stats["fallbacks"] == sixes
    assert stats["total_attempts"] == n + evens + sixes
    assert stats["tasks_with_failures"] == sum(1 for i in range(n) if i % 2 == 0 or i % 3 == 0)
    assert stats["success_rate_after_fallback"] == 100.0


# -- the public surface ----------------------------------------------------------------------------------
def test_public_names_are_exported_and_sorted() -> None:
    for name in ("FallbackHandler", "FallbackStrategy", "FailureReason", "CircuitBreaker", "ExecutionConfig"):
        assert name in router.__all__ and hasattr(router, name)
    assert router.__all__ == sorted(router.__all__)


@pytest.mark.parametrize(
    "module", [_backoff, _breaker, _exec_config, _failures, _fallback], ids=lambda m: m.__name__
)
def test_docstring_examples_run(module) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_two_failing_models_are_not_called_in_turn_without_a_pause(handler, time_) -> None:
    calls: list[tuple[str, float]] = []

    def overloaded(model: str) -> None:
        calls.append((model, time_.clock() - 1_000.0))
        raise Status(529, "Overloaded")

    with pytest.raises(ExecutionError, match=r"no model left to try after unavailable on"):
        handler.execute_with_fallback("sonnet", "t1", overloaded, ["haiku"])
    # Each switch is immediate; going back to a model that already failed waits out its backoff.
    assert calls == [
        ("sonnet", 0.0),
        ("haiku", 0.0),
        ("sonnet", 1.0),
        ("haiku", 1.0),
        ("sonnet", 3.0),
        ("haiku", 3.0),
        ("sonnet", 7.0),
        ("haiku", 7.0),
    ]


def test_selector_gets_the_handler_breaker_and_refuses_a_second_one() -> None:
    from router import CircuitBreaker, ModelSelector

    selector = ModelSelector()
    handler = FallbackHandler(selector=selector)
    assert selector.breaker is handler.breaker
    assert FallbackHandler(selector=selector).breaker is handler.breaker  # shared, not replaced
    with pytest.raises(InvalidInputError, match=r"the selector already has a different circuit breaker"):
        FallbackHandler(selector=selector, breaker=CircuitBreaker())
