"""Values the ledger takes and returns: an entry, a summary, budget status and alerts, routing statistics.

They are pydantic models so a row is checked once, at the boundary, and everything the ledger returns dumps
to JSON as it is (``model_dump(mode="json")``). Validation errors become :class:`InvalidInputError` naming
the field, the bad value and what is allowed (see :func:`entry_from_fields`).
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    computed_field,
    field_validator,
    model_validator,
)

from router._exceptions import InvalidInputError


class Period(StrEnum):
    """A calendar period in UTC that ends now: this hour, today, this ISO week (from Monday), this month."""

    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    ALL = "all"

    @classmethod
    def parse(cls, value: object) -> Period:
        if isinstance(value, str) and value in {p.value for p in cls}:
            return cls(value)
        allowed = ", ".join(p.value for p in cls)
        raise InvalidInputError(f"Unknown period {value!r}. Allowed periods: {allowed}.")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", protected_namespaces=())


def _finite_ge0(**extra: Any) -> Any:
    return Field(ge=0, allow_inf_nan=False, **extra)


class CostEntry(_Frozen):
    """One attempt of one model on one task: what it cost and whether it worked.

    The specification's fields (``timestamp`` ... ``duration_ms``), with ``success`` widened from a bool to
    a share in [0, 1], plus what training needs: the task text, its files, the attempt number and decision id
    that group a fallback or escalation chain, the probability with which the router chose the model, and
    the task's metadata (string keys to string values the orchestrator knew when it routed; empty if none).
    ``level``, ``score``, ``tradeoff``, ``model_version`` and ``novelty`` are what the routing decision knew
    (``FallbackHandler.execute_decision`` records them from it); ``answer`` is the short final answer the
    orchestrator extracted, ``output`` the response text (kept only when the tracker keeps outputs).
    ``input_cost`` and ``output_cost`` are ``None`` for imported rows that only knew the total.
    """

    timestamp: datetime
    model: str = Field(min_length=1)
    task_id: str = Field(min_length=1)
    task_type: str | None = None
    input_tokens: int = Field(ge=0)
    output_tokens: int = Field(ge=0)
    total_tokens: int = Field(ge=0)
    input_cost: float | None = _finite_ge0(default=None)
    output_cost: float | None = _finite_ge0(default=None)
    total_cost: float = _finite_ge0()
    success: float = Field(ge=0, le=1, allow_inf_nan=False)
    error: str | None = None
    duration_ms: float | None = _finite_ge0(default=None)
    description: str = ""
    files: list[str] = Field(default_factory=list)
    attempt: int = Field(default=1, ge=1)
    decision_id: str | None = None
    propensity: float | None = Field(default=None, gt=0, le=1, allow_inf_nan=False)
    level: str | None = None
    metadata: dict[str, str] = Field(default_factory=dict)
    score: float | None = Field(default=None, ge=0, le=100, allow_inf_nan=False)
    tradeoff: float | None = Field(default=None, ge=0, le=1, allow_inf_nan=False)
    model_version: str | None = None
    novelty: float | None = Field(default=None, allow_inf_nan=False)
    answer: str | None = None
    output: str | None = None
    id: int | None = None

    @field_validator("timestamp", mode="before")
    @classmethod
    def _iso_timestamp(cls, value: object) -> object:
        return parse_timestamp(value)

    @field_validator("success", mode="before")
    @classmethod
    def _bool_success(cls, value: object) -> object:
        # The specification recorded success as a bool; keep accepting it.
        return float(value) if isinstance(value, bool) else value

    @field_validator("files", mode="before")
    @classmethod
    def _files_list(cls, value: object) -> object:
        if value is None:
            return []
        if isinstance(value, str):
            return _files_from_json(value)
        return [str(v) for v in value] if isinstance(value, list | tuple) else value

    @field_validator("metadata", mode="before")
    @classmethod
    def _metadata_dict(cls, value: object) -> object:
        # The ledger stores it as JSON text; None and "" are "no metadata".
        if value is None or value == "":
            return {}
        return json.loads(value) if isinstance(value, str) else value

    @model_validator(mode="after")
    def _totals_add_up(self) -> CostEntry:
        if self.total_tokens != self.input_tokens + self.output_tokens:
            raise ValueError(
                f"total_tokens ({self.total_tokens}) must equal input_tokens + output_tokens "
                f"({self.input_tokens} + {self.output_tokens})"
            )
        if self.input_cost is not None and self.output_cost is not None:
            parts = self.input_cost + self.output_cost
            if not math.isclose(self.total_cost, parts, rel_tol=1e-9, abs_tol=1e-12):
                raise ValueError(
                    f"total_cost ({self.total_cost!r}) must equal input_cost + output_cost ({parts!r})"
                )
        return self


def _files_from_json(text: str) -> list[str]:
    try:
        value = json.loads(text) if text.strip() else []
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, list):
        raise ValueError(f"files must be a list of paths or a JSON list of strings, got {text!r}")
    return [str(v) for v in value]


def parse_timestamp(value: object) -> datetime:
    """An ISO 8601 string or a datetime, as an aware UTC datetime; naive values are taken to be UTC."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise InvalidInputError(
                f"timestamp must be ISO 8601 (for example '2026-01-31T12:00:00+00:00'), got {value!r}"
            ) from None
    if not isinstance(value, datetime):
        raise InvalidInputError(f"timestamp must be an ISO 8601 string or a datetime, got {value!r}")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def entry_from_fields(fields: dict[str, Any], *, where: str = "cost entry") -> CostEntry:
    """Validate one entry's fields, turning pydantic's error into one naming each field, value and rule."""
    try:
        return CostEntry.model_validate(fields)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = ".".join(str(part) for part in err["loc"]) or "entry"
            got = "" if loc == "entry" else f" (got {err.get('input')!r})"
            problems.append(f"{loc}: {err['msg']}{got}")
        raise InvalidInputError(f"Invalid {where}: " + "; ".join(problems)) from None


class CostSummary(_Frozen):
    """Spend and usage over one period, with breakdowns by model and task type.

    The specification's fields, plus the window (``start`` is ``None`` for ``all``), request counts and mean
    success by model, and by task type (entries without one are counted under ``"unknown"``).
    ``most_expensive_model`` is the model with the largest total cost; both ``most_*`` fields are ``None``
    when the period holds no entries.
    """

    period: Period
    start: datetime | None
    end: datetime
    total_requests: int
    total_cost: float
    total_tokens: int
    cost_by_model: dict[str, float]
    cost_by_task_type: dict[str, float]
    requests_by_model: dict[str, int]
    requests_by_task_type: dict[str, int]
    success_rate_by_model: dict[str, float]
    success_rate: float | None
    avg_cost_per_request: float
    avg_tokens_per_request: float
    most_expensive_model: str | None
    most_used_model: str | None


class BudgetLimit(_Frozen):
    """How one spend limit stands: ``model`` is ``None`` for the overall daily or monthly limit."""

    period: Period
    model: str | None
    limit: float
    spent: float
    period_start: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def share(self) -> float:
        """Spent over limit: 1.0 means the limit is reached."""
        return self.spent / self.limit

    @computed_field  # type: ignore[prop-decorator]
    @property
    def remaining(self) -> float:
        return max(self.limit - self.spent, 0.0)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def exceeded(self) -> bool:
        return self.spent >= self.limit

    @property
    def name(self) -> str:
        what = "daily" if self.period is Period.DAY else "monthly"
        return f"{what} budget" + (f" for {self.model}" if self.model else "")


class BudgetStatus(_Frozen):
    """Every configured limit and how much of it is spent; what a selector consults before choosing.

    Examples
    --------
    >>> BudgetStatus(limits=[]).allows("opus")
    True
    """

    limits: list[BudgetLimit]

    @property
    def exceeded(self) -> list[BudgetLimit]:
        return [lim for lim in self.limits if lim.exceeded]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def ok(self) -> bool:
        """True while no limit is spent."""
        return not self.exceeded

    def allows(self, model: str) -> bool:
        """False when an overall limit or this model's own limit is spent."""
        return not any(lim.model in (None, model) for lim in self.exceeded)

    def blocked_models(self) -> list[str]:
        """Models whose own limit is spent (an overall limit blocks every model: see :meth:`allows`)."""
        return sorted({lim.model for lim in self.exceeded if lim.model is not None})


class BudgetAlert(_Frozen):
    """Spend crossed ``share`` of a limit; sent once per crossing per period to the callback and the log."""

    limit: BudgetLimit
    share: float

    @property
    def message(self) -> str:
        lim = self.limit
        return (
            f"Spent ${lim.spent:.4f} of the {lim.name} of ${lim.limit:.4f} "
            f"({lim.share:.0%}; alert at {self.share:.0%}) since {lim.period_start.isoformat()}"
        )


class RoutingRow(_Frozen):
    """Attempts of one model at one complexity level (``"unknown"`` when the caller did not record it)."""

    level: str
    model: str
    attempts: int
    first_attempts: int
    fallback_attempts: int
    success_rate: float | None
    total_cost: float


class RoutingStats(_Frozen):
    """How routing went: decisions per level and model, success rates, how often a fallback was needed."""

    period: Period
    rows: list[RoutingRow]
    decisions: int
    decisions_with_fallback: int
