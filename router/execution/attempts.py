"""What one attempt was, how it is recorded to a ledger, and the handler's running statistics."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from router.execution.failures import FailureReason

if TYPE_CHECKING:
    from router._types import RoutingDecision


@dataclass(frozen=True, slots=True)
class Attempt:
    """One call of one model for one task.

    ``number`` is 1-based within the task; ``reason`` and ``error`` are None for a success;
    ``waited_s`` is the time slept just before this attempt.
    """

    model: str
    number: int
    success: bool
    reason: FailureReason | None
    error: str | None
    duration_ms: float
    waited_s: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0

    def __str__(self) -> str:
        outcome = "ok" if self.success else self.error
        return f"#{self.number} {self.model}: {outcome}"


class AttemptRecorder(Protocol):
    """Anything with a ``record(**fields)`` method, such as the ledger's ``CostTracker``.

    It is called once per attempt with the keyword fields ``model, task_id, input_tokens, output_tokens,
    input_cost, output_cost, duration_ms, success, error, attempt, decision_id``, plus ``task_type``,
    ``description``, ``propensity`` (first attempt only) and ``metadata`` (a dict of str to str) when the
    caller gave them. Costs are None: the ledger prices the tokens from its catalog. A decision run by
    ``execute_decision`` adds ``level``, ``score``, ``tradeoff``, and ``model_version`` and ``novelty``
    when the decision has them (see :func:`decision_fields`).

    In a cascade (``FallbackHandler.execute_decision(..., answer=extract)``) every attempt also carries
    ``answer`` (the str that ``extract`` returned for the response; None for an error, or when ``extract``
    returned None or raised) and ``output`` (the response text, cut to ``ExecutionConfig.output.max_chars``,
    when ``ExecutionConfig.output.keep`` is set; None otherwise). Without ``answer=`` neither is passed.
    A clean attempt is recorded with ``success=1.0`` as before (the call returned and no verifier rejected
    it): whether its answer was right is for whoever judges the answers later.
    """

    def record(self, *args: Any, **fields: Any) -> object: ...


def decision_fields(decision: RoutingDecision) -> dict[str, Any]:
    """What a routing decision knew, recorded with each of its attempts beside the handler's own fields.

    The level and score of the task as estimated, the tradeoff decided at, and the trained model's version
    and the task's novelty when the decision has them (a field that is None is left out, so a recorder
    that does not know it is not handed it). References to the decision's values: nothing is copied.
    """
    complexity = decision.complexity
    fields: dict[str, Any] = {"level": complexity.level.value, "score": complexity.score}
    for name in ("tradeoff", "model_version", "novelty"):
        value = getattr(decision, name)
        if value is not None:
            fields[name] = value
    return fields


def usage_of(result: object) -> tuple[int, int]:
    """(input, output) tokens of a result shaped like an ``anthropic`` Message or an ``openai`` chat
    completion (``prompt_tokens``, ``completion_tokens``); (0, 0) when it has none."""
    usage = getattr(result, "usage", None)
    tokens = (
        getattr(usage, "input_tokens", None) or getattr(usage, "prompt_tokens", 0),
        getattr(usage, "output_tokens", None) or getattr(usage, "completion_tokens", 0),
    )
    return tokens[0] if isinstance(tokens[0], int) else 0, tokens[1] if isinstance(tokens[1], int) else 0


def text_of(result: object) -> str | None:
    """The text of a response: a str as it is, an ``anthropic`` Message's text blocks joined, an ``openai``
    chat completion's first message; None for anything else.

    >>> text_of("42"), text_of(object())
    ('42', None)
    """
    if isinstance(result, str):
        return result
    content = getattr(result, "content", None)
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [
            text for text in (getattr(block, "text", None) for block in content) if isinstance(text, str)
        ]
        return "".join(texts) if texts else None
    choices = getattr(result, "choices", None)
    if isinstance(choices, list) and choices:
        text = getattr(getattr(choices[0], "message", None), "content", None)
        return text if isinstance(text, str) else None
    return None


class Statistics:
    """Thread-safe counters behind ``FallbackHandler.get_statistics``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reasons: Counter[FailureReason] = Counter()
        self._models: Counter[str] = Counter()
        self._counts: Counter[str] = Counter()
        self._wait_s = 0.0

    def attempt(self, kind: str) -> None:
        """An attempt went out; ``kind`` is first, retry, fallback or escalation."""
        with self._lock:
            self._counts["attempts"] += 1
            self._counts[kind] += 1

    def failure(self, model: str, reason: FailureReason) -> None:
        with self._lock:
            self._reasons[reason] += 1
            self._models[model] += 1

    def waited(self, seconds: float) -> None:
        with self._lock:
            self._counts["waits"] += 1
            self._wait_s += seconds

    def task_done(self, *, succeeded: bool, had_failures: bool) -> None:
        with self._lock:
            self._counts["tasks"] += 1
            self._counts["succeeded" if succeeded else "failed"] += 1
            if had_failures:
                self._counts["with_failures"] += 1
                self._counts["recovered"] += succeeded

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            c = self._counts
            with_failures = c["with_failures"]
            return {
                "total_failures": sum(self._reasons.values()),
                "failures_by_reason": {r.value: self._reasons[r] for r in FailureReason},
                "failures_by_model": dict(sorted(self._models.items())),
                "total_tasks": c["tasks"],
                "tasks_succeeded": c["succeeded"],
                "tasks_failed": c["failed"],
                "tasks_with_failures": with_failures,
                "tasks_recovered": c["recovered"],
                # Percent of the tasks that met a failure and still succeeded; 0.0 before any failure.
                "success_rate_after_fallback": 100.0 * c["recovered"] / with_failures
                if with_failures
                else 0.0,
                "total_attempts": c["attempts"],
                "retries_spent": c["retry"],
                "fallbacks": c["fallback"],
                "escalations": c["escalation"],
                "waits": c["waits"],
                "total_wait_s": self._wait_s,
            }
