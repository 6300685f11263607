"""A context in which routing a task is not counted: no estimator statistics, no decision for telemetry.

``Router.next_step`` routes a task again to read its escalation order. That is not a new task or a new
decision, so the estimator's statistics and the telemetry collector must not count it. A context variable,
so that other threads and asyncio tasks routing at the same time are still counted.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

_UNCOUNTED: contextvars.ContextVar[bool] = contextvars.ContextVar("router_uncounted", default=False)


@contextlib.contextmanager
def uncounted() -> Iterator[None]:
    """Routing inside this block is not counted (in this thread or task only)."""
    token = _UNCOUNTED.set(True)
    try:
        yield
    finally:
        _UNCOUNTED.reset(token)


def counting() -> bool:
    """Whether routing is counted here (False inside :func:`uncounted`)."""
    return not _UNCOUNTED.get()
