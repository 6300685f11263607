"""A circuit breaker per model: a model that keeps failing is cooled down, skipped, then probed.

States::

    CLOSED ──(failure_threshold consecutive health failures, or a Retry-After)──> OPEN
    OPEN ──(cooldown over; the next acquire() is the probe)──> HALF_OPEN
    HALF_OPEN ──(probe succeeds)──> CLOSED        HALF_OPEN ──(probe fails)──> OPEN

While a model is OPEN and its cooldown runs, ``acquire`` refuses it and ``is_cooling`` says so; the
``ModelSelector`` given this breaker skips it like an unavailable model. In HALF_OPEN one caller at a time
gets the probe; a probe that never reports back (its caller was cancelled) is given up after ``cooldown_s``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from router.execution.config import BreakerConfig, ExecutionConfig


class BreakerState(StrEnum):
    """Where a model's circuit stands."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


#: Told of every state change: (model, new state, when its cooldown ends or None). It runs under the
#: breaker's lock, so that changes arrive in order: keep it short and do not call the breaker from it.
BreakerListener = Callable[[str, BreakerState, float | None], None]


@dataclass
class _Circuit:
    state: BreakerState = BreakerState.CLOSED
    failures: int = 0  # consecutive health failures
    open_until: float = 0.0
    probe_since: float | None = None
    trips: int = 0


class CircuitBreaker:
    """Circuit breakers for any number of models, keyed by name.

    Parameters
    ----------
    config : BreakerConfig, optional
        Threshold and cooldowns; the packaged defaults when omitted.
    clock : callable, optional
        Monotonic seconds (``time.monotonic``); inject a fake one in tests.
    listener : callable, optional
        Called on every state change (see ``BreakerListener``).

    Examples
    --------
    >>> now = [0.0]
    >>> cb = CircuitBreaker(BreakerConfig(failure_threshold=2, cooldown_s=10), clock=lambda: now[0])
    >>> cb.record_failure("haiku"); cb.record_failure("haiku")
    >>> cb.state("haiku"), cb.acquire("haiku")
    (<BreakerState.OPEN: 'open'>, False)
    >>> now[0] = 10.0
    >>> cb.acquire("haiku"), cb.acquire("haiku")  # one probe at a time
    (True, False)
    >>> cb.record_success("haiku"); cb.state("haiku")
    <BreakerState.CLOSED: 'closed'>
    """

    def __init__(
        self,
        config: BreakerConfig | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        listener: BreakerListener | None = None,
    ) -> None:
        self.config = config or ExecutionConfig.default().breaker
        self._clock = clock
        self._listener = listener
        self._lock = threading.Lock()
        self._circuits: dict[str, _Circuit] = {}

    # -- reading -------------------------------------------------------------------------------------
    def state(self, model: str) -> BreakerState:
        """The model's state; an OPEN circuit whose cooldown is over reads HALF_OPEN (a probe is due)."""
        with self._lock:
            c = self._circuits.get(model)
            if c is None:
                return BreakerState.CLOSED
            if c.state is BreakerState.OPEN and self._clock() >= c.open_until:
                return BreakerState.HALF_OPEN
            return c.state

    def is_cooling(self, model: str) -> bool:
        """True while the model's cooldown runs: selection and execution skip it."""
        with self._lock:
            c = self._circuits.get(model)
            return c is not None and c.state is BreakerState.OPEN and self._clock() < c.open_until

    def consecutive_failures(self, model: str) -> int:
        """Health failures since the model's last success."""
        with self._lock:
            c = self._circuits.get(model)
            return 0 if c is None else c.failures

    def ready_at(self, model: str) -> float:
        """Clock reading from which ``acquire(model)`` may succeed (now or earlier when it may already)."""
        with self._lock:
            c = self._circuits.get(model)
            if c is None or c.state is BreakerState.CLOSED:
                return self._clock()
            if c.state is BreakerState.OPEN:
                return c.open_until
            return self._clock() if c.probe_since is None else c.probe_since + self.config.cooldown_s

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """Per model: state, consecutive failures, seconds of cooldown left, and how often it opened."""
        with self._lock:
            now = self._clock()
            out = {}
            for name, c in sorted(self._circuits.items()):
                state = c.state
                if state is BreakerState.OPEN and now >= c.open_until:
                    state = BreakerState.HALF_OPEN
                out[name] = {
                    "state": state.value,
                    "consecutive_failures": c.failures,
                    "cooling_for_s": max(0.0, c.open_until - now) if state is BreakerState.OPEN else 0.0,
                    "trips": c.trips,
                }
            return out

    # -- admitting and reporting ---------------------------------------------------------------------
    def acquire(self, model: str) -> bool:
        """May a call to ``model`` go out now? In HALF_OPEN the caller that gets True makes the probe."""
        with self._lock:
            c = self._circuits.setdefault(model, _Circuit())
            now = self._clock()
            if c.state is BreakerState.CLOSED:
                return True
            if c.state is BreakerState.OPEN:
                if now < c.open_until:
                    return False
                self._set(model, c, BreakerState.HALF_OPEN)
            if c.probe_since is not None and now - c.probe_since < self.config.cooldown_s:
                return False  # another caller's probe is out
            c.probe_since = now
            return True

    def release(self, model: str) -> None:
        """A call ended without saying anything about the model's health: free the probe it held."""
        with self._lock:
            c = self._circuits.get(model)
            if c is not None and c.state is BreakerState.HALF_OPEN:
                c.probe_since = None

    def record_success(self, model: str) -> None:
        """The model answered: close its circuit and forget its failures."""
        with self._lock:
            c = self._circuits.setdefault(model, _Circuit())
            c.failures = 0
            c.probe_since = None
            if c.state is not BreakerState.CLOSED:
                self._set(model, c, BreakerState.CLOSED)

    def record_failure(self, model: str, retry_after: float | None = None) -> None:
        """A health failure. The circuit opens at the threshold, when a probe fails, or when the server
        asked for a wait (``retry_after`` > 0: then for that long, capped at ``max_cooldown_s``)."""
        cfg = self.config
        with self._lock:
            c = self._circuits.setdefault(model, _Circuit())
            c.failures += 1
            tripped = c.failures >= cfg.failure_threshold or c.state is BreakerState.HALF_OPEN
            wait = max(retry_after or 0.0, cfg.cooldown_s if tripped else 0.0)
            if wait <= 0:
                return
            now = self._clock()
            c.open_until = max(c.open_until, now + min(wait, cfg.max_cooldown_s))
            c.probe_since = None
            if c.state is not BreakerState.OPEN:
                c.trips += 1
            self._set(model, c, BreakerState.OPEN)

    def _set(self, model: str, c: _Circuit, state: BreakerState) -> None:
        c.state = state
        if self._listener is not None:
            self._listener(model, state, c.open_until if state is BreakerState.OPEN else None)
