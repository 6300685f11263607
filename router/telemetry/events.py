"""The telemetry events, versioned: what the collector writes and ``router monitor`` reads.

Each event carries ``schema_version``; a change to an event's fields bumps :data:`EVENT_SCHEMA_VERSION` and
adds a migration step in ``router.telemetry.schema``. Attempts are stored in the ledger only (an emitted
``AttemptEvent`` becomes a ledger entry), linked to their decision by ``decision_id`` as outcomes are.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

EVENT_SCHEMA_VERSION: Literal[1] = 1

AttemptKind = Literal["first", "retry", "fallback", "escalation"]
Severity = Literal["info", "warning", "critical"]


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", protected_namespaces=())

    schema_version: Literal[1] = EVENT_SCHEMA_VERSION
    timestamp: datetime


class DecisionEvent(_Event):
    """One routing decision.

    ``score`` and ``level`` are what the router served (the learned router derives them from its predicted
    success); ``heuristic_score`` is the estimator's score of the description alone, the feature the
    training reference bins, so drift is measured the same way for both routers, with or without files.
    ``p_success`` and ``expected_cost_usd`` are per candidate model (``p_success`` is empty for the
    heuristic router).
    """

    kind: Literal["decision"] = "decision"
    decision_id: str
    source: str
    model_uri: str | None = None
    model: str
    tradeoff: float | None = None
    propensity: float = Field(gt=0, le=1)
    explored: bool = False
    p_success: dict[str, float] = Field(default_factory=dict)
    expected_cost_usd: dict[str, float] = Field(default_factory=dict)
    score: float
    heuristic_score: float
    level: str
    task_type: str
    is_critical: bool = False
    chars: int = Field(ge=0)
    #: The description's distinct words (see ``router.telemetry.reference.terms_of``), for term drift.
    terms: list[str] = Field(default_factory=list)
    metadata: dict[str, str] = Field(default_factory=dict)
    latency_s: float = Field(ge=0)
    #: How far the task lay from the learned router's training tasks (``RoutingDecision.novelty``): None for
    #: the heuristic and for artifacts trained before novelty. Optional, so events without it still parse.
    novelty: float | None = None


class AttemptEvent(_Event):
    """One call of one model for one task, as a caller may ``emit`` it: stored as a ledger entry (the one
    record of every attempt), its failure reason at the head of ``error``; the kind is read back from the
    attempt's chain."""

    kind: Literal["attempt"] = "attempt"
    decision_id: str = ""
    task_id: str
    model: str
    attempt: int = Field(ge=1)
    attempt_kind: AttemptKind
    success: bool
    reason: str | None = None
    duration_ms: float | None = None
    input_tokens: int = Field(default=0, ge=0)
    output_tokens: int = Field(default=0, ge=0)
    cost_usd: float = Field(default=0.0, ge=0)


class OutcomeEvent(_Event):
    """How a task ended after all its attempts."""

    kind: Literal["outcome"] = "outcome"
    decision_id: str = ""
    task_id: str
    model: str | None = None
    succeeded: bool
    attempts: int = Field(ge=0)


class BreakerEvent(_Event):
    """A model's circuit breaker opened."""

    kind: Literal["breaker_open"] = "breaker_open"
    model: str


class AlertEvent(_Event):
    """A monitoring rule crossed its threshold (sent once per crossing, across processes)."""

    kind: Literal["alert"] = "alert"
    rule: str
    metric: str
    severity: Severity
    value: float
    threshold: float
    comparison: str
    window_s: float
    samples: int
    message: str


Event = DecisionEvent | AttemptEvent | OutcomeEvent | BreakerEvent | AlertEvent
