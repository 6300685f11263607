"""Exponential backoff with jitter, where a server's ``Retry-After`` wins over the computed delay."""

from __future__ import annotations

import math
import random

from router.execution.config import RetryConfig


class Backoff:
    """Delays between retries of one model.

    Parameters
    ----------
    config : RetryConfig
        Start, factor, cap and jitter.
    rng : random.Random, optional
        The source of jitter; pass a seeded one for reproducible delays.

    Examples
    --------
    >>> b = Backoff(RetryConfig(jitter=0))
    >>> [b.delay(n) for n in range(4)]
    [1.0, 2.0, 4.0, 8.0]
    >>> b.delay(10)
    60.0
    >>> b.delay(0, retry_after=7.5)
    7.5
    """

    def __init__(self, config: RetryConfig, rng: random.Random | None = None) -> None:
        self.config = config
        self._rng = rng or random.Random()

    def computed(self, retry: int) -> float:
        """The delay before retry number ``retry`` (0-based) without jitter: start x factor^n, capped."""
        cfg = self.config
        try:
            raw = cfg.initial_backoff_s * cfg.backoff_multiplier ** max(retry, 0)
        except OverflowError:  # a float power past 1e308 raises instead of giving inf
            raw = math.inf
        return min(raw, cfg.max_backoff_s)

    def delay(self, retry: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``retry``; the server's ``retry_after`` when it gave one."""
        if retry_after is not None:
            return max(0.0, retry_after)
        # Jitter only shortens the delay, so the cap holds.
        return self.computed(retry) * (1.0 - self.config.jitter * self._rng.random())
