"""Time for tests: a clock that only the injected sleep moves, and a record of every wait."""

from __future__ import annotations

import threading


class FakeTime:
    """``clock`` reads it, ``sleep`` / ``async_sleep`` record the wait and move the clock by it."""

    def __init__(self, start: float = 1_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def clock(self) -> float:
        with self._lock:
            return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds

    async def async_sleep(self, seconds: float) -> None:
        self.sleep(seconds)
