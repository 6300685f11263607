"""Values that cross the package's boundary: levels, tiers, task types and the records built from them.

They are pydantic models so that what a user passes in is checked once, and what the router returns can be
dumped to JSON as it is (``model_dump(mode="json")``).
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Iterator
from enum import StrEnum
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

M = TypeVar("M", bound=BaseModel)


class ComplexityLevel(StrEnum):
    """How demanding a task is, from a typo to a security incident."""

    SIMPLE = "simple"
    MODERATE = "moderate"
    COMPLEX = "complex"
    CRITICAL = "critical"


class ModelTier(StrEnum):
    """Where a model sits between cheap and fast, and strong and dear."""

    FAST = "fast"
    BALANCED = "balanced"
    ADVANCED = "advanced"


class TaskType(StrEnum):
    """What kind of work a task is, as the estimator detects it from its description."""

    TYPO = "typo"
    FORMATTING = "formatting"
    DOCS = "docs"
    TESTS = "tests"
    BUG_FIX = "bug_fix"
    REFACTOR = "refactor"
    NEW_FEATURE = "new_feature"
    PERFORMANCE = "performance"
    SECURITY = "security"
    ARCHITECTURE = "architecture"
    GENERAL = "general"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", protected_namespaces=())


class ScoreContribution(_Frozen):
    """One scoring factor's part in a complexity score."""

    factor: str
    points: float
    detail: str

    def __str__(self) -> str:
        return f"{self.factor} +{self.points:g}: {self.detail}"


class TaskComplexity(_Frozen):
    """What the estimator concluded about one task.

    ``score`` is in [0, 100]; ``level`` follows the documented rule (see ``ComplexityEstimator``);
    ``reasons`` names every contribution with its points; ``factor_points`` holds the points of each
    scoring factor (zero when it did not fire), which the learned router uses as features.
    """

    score: float = Field(ge=0, le=100)
    level: ComplexityLevel
    task_type: TaskType
    recommended_model: str
    reasons: list[str]
    factor_points: dict[str, float]
    file_count: int = Field(ge=0)
    line_count: int = Field(ge=0)
    estimated_tokens: int = Field(ge=0)
    is_critical: bool = False
    has_security_implications: bool = False
    has_performance_requirements: bool = False
    has_concurrency: bool = False
    requires_architecture_change: bool = False
    requires_deep_reasoning: bool = False


class ModelConfig(_Frozen):
    """One model of the catalog: its tier, prices per million tokens, limits and typical latency."""

    name: str = Field(min_length=1)
    tier: ModelTier
    input_cost_per_1m: float = Field(ge=0, allow_inf_nan=False)
    output_cost_per_1m: float = Field(ge=0, allow_inf_nan=False)
    context_window: int = Field(gt=0)
    max_output_tokens: int = Field(gt=0)
    latency_ms: float = Field(ge=0, allow_inf_nan=False)
    provider_model: str | None = None
    is_available: bool = True

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        """Dollars for a call of this size at this model's prices."""
        return (input_tokens * self.input_cost_per_1m + output_tokens * self.output_cost_per_1m) / 1e6


class ModelSelection(_Frozen):
    """The selector's choice: the model, why, what else would do, and what it is expected to cost."""

    model: ModelConfig
    reason: str
    alternatives: list[ModelConfig]
    estimated_cost: float = Field(ge=0)
    estimated_input_tokens: int = Field(ge=0)
    estimated_output_tokens: int = Field(ge=0)


class RoutingDecision(_Frozen):
    """What the router decided for one task.

    ``p_success`` is empty for the heuristic router; ``expected_cost_usd`` has an entry for every candidate;
    ``escalation`` is the order to try when a result is rejected, starting with ``model``; ``metadata`` is
    the task's metadata as ``route`` took it (string keys to string values), None when it was given none,
    so that ``FallbackHandler.execute_decision`` records it with the attempts. ``novelty`` is how far the task
    lies from the tasks a learned router was trained on (None for the heuristic); ``model_version`` names the
    trained model that decided: ``NAME/VERSION`` from the registry, ``sha256:`` and 12 hex digits of the
    artifact's hash for a local directory, None for the heuristic.
    ``description`` is the task's text as ``route`` took it (a reference to the caller's string, not a copy),
    so that ``FallbackHandler.execute_decision`` records it with every attempt without the caller repeating
    it; None for a decision built without one. ``cascade_start`` is the model a learned cascade (a router
    trained on answers) calls first at this decision's tradeoff, which may be cheaper than ``model`` (the
    single choice): ``execute_decision(..., answer=...)`` calls it first. None without a learned cascade.
    """

    model: str
    complexity: TaskComplexity
    selection: ModelSelection
    reason: str
    p_success: dict[str, float] = Field(default_factory=dict)
    expected_cost_usd: dict[str, float] = Field(default_factory=dict)
    escalation: list[str] = Field(default_factory=list)
    tradeoff: float | None = None
    propensity: float = Field(default=1.0, gt=0, le=1)
    source: str = "heuristic"
    decision_id: str = ""
    metadata: dict[str, str] | None = None
    novelty: float | None = None
    model_version: str | None = None
    description: str | None = None
    cascade_start: str | None = None


class Step(_Frozen):
    """What to do next for a task, given the attempts already made (``Router.next_step``).

    ``model`` is the model to call next, or None to stop; ``answer_from`` is the index, in the attempts
    given, of the answer to return when stopping (None when there is none to return); ``p_correct`` is the
    calibrated probability that this answer is right (None where the router has no acceptance model);
    ``reasons`` says why, in words a person reads ("2 of 2 answers agree", "answer empty").
    """

    model: str | None
    answer_from: int | None = None
    p_correct: float | None = Field(default=None, ge=0, le=1)
    reasons: list[str] = Field(default_factory=list)


_FIELDS: dict[type, frozenset[str]] = {}


def construct(cls: type[M], values: dict[str, Any]) -> M:
    """An instance from values this package computed, with every field given: no validation, no defaults.

    What ``model_construct`` does once it has found each field's value, without its per-field search for
    aliases and defaults (half the cost of a decision's bookkeeping). ``tests/test_types.py`` checks that
    the result equals ``model_construct``'s, so a pydantic release that changes these internals fails there.
    """
    fields = _FIELDS.get(cls)
    if fields is None:  # pydantic's model_fields is a property with a deprecation check: read it once
        fields = _FIELDS[cls] = frozenset(cls.model_fields)
    if values.keys() != fields:
        raise TypeError(f"{cls.__name__} needs exactly the fields {sorted(fields)}")
    instance = cls.__new__(cls)
    object.__setattr__(instance, "__dict__", values)
    object.__setattr__(instance, "__pydantic_fields_set__", set(values))
    object.__setattr__(instance, "__pydantic_extra__", None)
    object.__setattr__(instance, "__pydantic_private__", None)
    return instance


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Cyclic garbage collection off while a batch's records are built, back on after (unless it was off).

    The records hold no reference cycles, but every container allocated counts towards a collection: a batch
    of thousands of decisions triggers collections that walk the young objects again and again, and full ones
    that walk every object of the process (measured: about 15 us per decision, a sixth of ``route_many``).
    """
    enabled = gc.isenabled()
    if enabled:
        gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def new_decision_ids(count: int) -> list[str]:
    """``count`` random 128-bit ids as 32 hex digits, drawn from the OS in one call for a whole batch."""
    digits = os.urandom(16 * count).hex()
    return [digits[i : i + 32] for i in range(0, 32 * count, 32)]
