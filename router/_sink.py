"""What a router and a fallback handler tell a telemetry collector: the :class:`EventSink` protocol.

The collector lives in ``router.telemetry``, a later stage than the routers and the handler, so they know it
only through this protocol. Every method must return in microseconds and never raise: the caller is on the
decision path. The collector copies references into a queue and builds the events on its own thread.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from router._types import RoutingDecision


class EventSink(Protocol):
    """Receives what happened; ``router.telemetry.Collector`` is the implementation."""

    def record_decision(
        self, decision: RoutingDecision, latency_s: float, description: str, model_uri: str | None = None
    ) -> None:
        """A routing decision, how long it took, and the task's description (for its length and terms)."""

    def record_attempt(self, fields: Mapping[str, Any], kind: str, reason: str | None) -> None:
        """An attempt with the fields the ledger records; ``kind``: first, retry, fallback or escalation."""

    def record_outcome(
        self, decision_id: str, task_id: str, model: str | None, succeeded: bool, attempts: int
    ) -> None:
        """How a task ended: the model that answered last, whether it succeeded, after how many attempts."""

    def record_breaker_open(self, model: str) -> None:
        """A model's circuit breaker opened."""

    # A sink may also have ``record_refresh_failure(model_uri, error, failures)`` (the collector does): a
    # refreshing router calls it, when present, for each failed look-up of its alias.
