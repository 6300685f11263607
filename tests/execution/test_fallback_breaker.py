"""The per-model circuit breaker, alone and as the selector sees it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from router import BreakerConfig, BreakerState, CircuitBreaker, ComplexityEstimator, ModelSelector
from tests.execution.fake_time import FakeTime

S = BreakerState


@pytest.fixture
def time_() -> FakeTime:
    return FakeTime(0.0)


@pytest.fixture
def events() -> list[tuple[str, BreakerState, float | None]]:
    return []


@pytest.fixture
def breaker(time_: FakeTime, events: list) -> CircuitBreaker:
    config = BreakerConfig(failure_threshold=3, cooldown_s=10.0, max_cooldown_s=60.0)
    return CircuitBreaker(config, clock=time_.clock, listener=lambda *e: events.append(e))


def test_opens_after_consecutive_failures_then_probes_and_closes(breaker, time_, events) -> None:
    breaker.record_failure("sonnet")
    breaker.record_failure("sonnet")
    assert breaker.state("sonnet") is S.CLOSED and breaker.acquire("sonnet")
    breaker.record_failure("sonnet")
    assert breaker.state("sonnet") is S.OPEN and breaker.is_cooling("sonnet")
    assert not breaker.acquire("sonnet")
    assert breaker.ready_at("sonnet") == 10.0
    time_.advance(10.0)
    assert breaker.state("sonnet") is S.HALF_OPEN and not breaker.is_cooling("sonnet")
    assert breaker.acquire("sonnet")  # the probe
    assert not breaker.acquire("sonnet")  # only one at a time
    breaker.record_success("sonnet")
    assert breaker.state("sonnet") is S.CLOSED and breaker.consecutive_failures("sonnet") == 0
    assert events == [("sonnet", S.OPEN, 10.0), ("sonnet", S.HALF_OPEN, None), ("sonnet", S.CLOSED, None)]


def test_a_success_resets_the_count(breaker) -> None:
    for _ in range(5):
        breaker.record_failure("haiku")
        breaker.record_failure("haiku")
        breaker.record_success("haiku")
    assert breaker.state("haiku") is S.CLOSED


def test_failed_probe_reopens_for_a_full_cooldown(breaker, time_) -> None:
    for _ in range(3):
        breaker.record_failure("opus")
    time_.advance(10.0)
    assert breaker.acquire("opus")
    breaker.record_failure("opus")
    assert breaker.is_cooling("opus") and breaker.ready_at("opus") == 20.0
    assert breaker.snapshot()["opus"] == {
        "state": "open",
        "consecutive_failures": 4,
        "cooling_for_s": 10.0,
        "trips": 2,
    }


def test_retry_after_opens_at_once_for_that_long_capped(breaker, time_) -> None:
    breaker.record_failure("haiku", retry_after=7.0)
    assert breaker.is_cooling("haiku") and breaker.ready_at("haiku") == 7.0
    breaker.record_failure("sonnet", retry_after=3600.0)
    assert breaker.ready_at("sonnet") == 60.0  # max_cooldown_s
    breaker.record_failure("opus", retry_after=0.0)
    assert not breaker.is_cooling("opus")


def test_a_lost_probe_is_given_up_after_a_cooldown(breaker, time_) -> None:
    for _ in range(3):
        breaker.record_failure("sonnet")
    time_.advance(10.0)
    assert breaker.acquire("sonnet")  # its caller is cancelled and never reports
    assert not breaker.acquire("sonnet")
    time_.advance(10.0)
    assert breaker.acquire("sonnet")


def test_release_frees_the_probe(breaker, time_) -> None:
    for _ in range(3):
        breaker.record_failure("sonnet")
    time_.advance(10.0)
    assert breaker.acquire("sonnet")
    breaker.release("sonnet")
    assert breaker.acquire("sonnet")


def test_selector_skips_a_cooling_model_until_its_probe_is_due(breaker, time_) -> None:
    selector = ModelSelector(breaker=breaker)
    moderate = ComplexityEstimator().estimate("Fix bug in the login flow where sessions expire early")
    assert selector.select(moderate).model.name == "sonnet"
    breaker.record_failure("sonnet", retry_after=5.0)
    assert not selector.is_available("sonnet")
    chosen = selector.select(moderate)
    assert chosen.model.name == "haiku" and "sonnet unavailable" in chosen.reason
    assert [m.name for m in selector.list_models(available_only=True)] == ["haiku", "opus"]
    assert selector.get_statistics()["unavailable_models"] == ["sonnet"]
    time_.advance(5.0)
    assert selector.is_available("sonnet") and selector.select(moderate).model.name == "sonnet"


def test_manual_unavailability_is_kept_apart_from_the_breaker(breaker, time_) -> None:
    selector = ModelSelector(breaker=breaker)
    selector.update_model_availability("opus", False)
    breaker.record_failure("opus", retry_after=1.0)
    time_.advance(1.0)
    assert not selector.is_available("opus")  # the breaker does not undo a manual choice


events_ = st.lists(
    st.tuples(
        st.sampled_from(["fail", "fail-retry-after", "ok", "acquire", "release", "tick"]),
        st.one_of(st.just(0.0), st.floats(0.001, 30)),  # no waits lost to float rounding
    ),
    max_size=60,
)


@given(events_)
def test_never_admits_a_cooling_model(sequence) -> None:
    """Whatever happens, acquire() is False while the model is cooling, and one live probe at a time."""
    time_ = FakeTime(0.0)
    breaker = CircuitBreaker(BreakerConfig(failure_threshold=2, cooldown_s=10.0), clock=time_.clock)
    probe_at: float | None = None  # when the live probe went out
    for kind, x in sequence:
        cooling = breaker.is_cooling("m")
        if kind == "acquire":
            half_open = breaker.state("m") is S.HALF_OPEN
            granted = breaker.acquire("m")
            assert not (cooling and granted)
            if half_open and granted:
                assert probe_at is None or time_.clock() - probe_at >= 10.0  # the old one was given up
                probe_at = time_.clock()
        elif kind == "tick":
            time_.advance(x)
        else:
            probe_at = None
            if kind == "fail":
                breaker.record_failure("m")
            elif kind == "fail-retry-after":
                breaker.record_failure("m", retry_after=x)
                assert breaker.is_cooling("m") or x == 0
            elif kind == "ok":
                breaker.record_success("m")
            else:
                breaker.release("m")
