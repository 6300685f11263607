"""One task's way through attempts, waits and model switches, written once for the sync and async drivers.

``TaskRun.steps()`` is a generator: it yields ``Call(model)`` and ``Sleep(seconds)`` and is sent back the
``Outcome`` of each call. The sync driver makes the calls and sleeps with plain functions, the async driver
awaits them; the decisions are the same code.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

from router._catalog import Catalog
from router._exceptions import ExecutionError, TaskDeadlineError, UnrecoverableError
from router.execution.attempts import Attempt, AttemptRecorder, Statistics, usage_of
from router.execution.backoff import Backoff
from router.execution.breaker import BreakerState, CircuitBreaker
from router.execution.config import ExecutionConfig
from router.execution.failures import HEALTH_FAILURES, Failure, FailureReason, describe
from router.execution.strategy import FallbackStrategy, order_by_strategy, plan_next

if TYPE_CHECKING:
    from router._sink import EventSink
    from router._types import Step as CascadeStep
    from router.execution.cascade import Cascade


log = logging.getLogger("router")


class Handler(Protocol):
    """What a run reads from its ``FallbackHandler``: a protocol, so this module never imports the handler."""

    config: ExecutionConfig
    catalog: Catalog
    breaker: CircuitBreaker
    recorder: AttemptRecorder | None
    collector: EventSink | None
    backoff: Backoff
    _stats: Statistics
    _clock: Callable[[], float]
    _wall_clock: Callable[[], float]

    def _health(self, model: str) -> tuple[bool, int]: ...


@dataclass(frozen=True, slots=True)
class Call:
    model: str


@dataclass(frozen=True, slots=True)
class Sleep:
    seconds: float


@dataclass(frozen=True, slots=True)
class Outcome:
    result: Any = None
    error: Exception | None = None
    duration_s: float = 0.0


Step = Call | Sleep
Steps = Generator[Step, Outcome | None, Any]


class TaskRun:
    """The state of one task: its pool of models, attempts so far, and the models ruled out."""

    def __init__(
        self,
        handler: Handler,
        task_id: str,
        pool: list[str],
        strategy: FallbackStrategy,
        accept: Callable[[Any], bool] | None,
        record_fields: dict[str, Any],
        escalation: list[str] | None = None,
        cascade: Cascade | None = None,
    ) -> None:
        self.h = handler
        self.task_id = task_id
        self.pool = pool
        self.strategy = strategy
        self.accept = accept
        self.fields = record_fields
        self.escalation = escalation or []
        self.attempts: list[Attempt] = []
        self.per_model: Counter[str] = Counter()
        self.excluded: set[str] = set()
        self.last_result: Any = None
        self.last_error: BaseException | None = None
        self.escalating = False
        self.kind = "first"  # the current attempt's kind, for telemetry
        self.cascade = cascade
        start = handler._clock()
        deadline_s = handler.config.retry.task_deadline_s
        self.deadline = start + deadline_s if deadline_s is not None else math.inf

    # -- the whole task ------------------------------------------------------------------------------
    def steps(self) -> Steps:
        try:
            return (yield from self._walk())
        except _Settled as settled:  # a cascade ran out of models after answers came back: stop with those
            assert self.cascade is not None
            return self._conclude(self.cascade.fallback(settled.why))

    def _walk(self) -> Steps:
        order = self._initial_order()
        not_before: dict[str, float] = {}
        while True:
            waited, model = yield from self._admit(order, not_before)
            outcome = yield Call(model)
            assert outcome is not None  # the drivers always send the outcome of a Call
            failure = self._judge(model, outcome, waited)
            if failure is None and self.cascade is not None:
                # Its answer is in hand: a later fallback must not pay for the same model again.
                self.excluded.add(model)
                # A verifier's word, where there is one, wins over the router's.
                step = (
                    self.cascade.verified() if self.accept is not None else self.cascade.decide(self._known)
                )
                if step.model is None:
                    return self._conclude(step)
                order, self.escalating = [step.model], True
                continue
            if failure is None:
                self._finish(succeeded=True)
                return outcome.result
            plan = plan_next(
                failure,
                model,
                strategy=self.strategy,
                pool=self.pool,
                attempts=self.per_model,
                excluded=self.excluded,
                max_retries=self.h.config.retry.max_retries,
                catalog=self.h.catalog,
                health=self.h._health,
                escalation=self.escalation,
            )
            if not plan.order:
                self._give_up(ExecutionError, f"no model left to try after {failure.reason.value} on {model}")
            # Whenever this model is tried again in this task, it is after its backoff: kept per model, so two
            # failing models are not called in turn without a pause.
            retry = self.per_model[model] - 1  # retries of this model so far
            not_before[model] = self.h._clock() + self.h.backoff.delay(retry, failure.retry_after)
            self.escalating = failure.reason is FailureReason.QUALITY
            order = plan.order

    def _known(self, model: str) -> bool:
        """Whether the handler can call ``model``; a cascade's pick outside the pool joins it."""
        if model not in self.h.catalog.names():
            return False
        if model not in self.pool:
            self.pool.append(model)
        return True

    def _conclude(self, step: CascadeStep) -> Any:
        assert self.cascade is not None
        self._finish(succeeded=True)
        return self.cascade.result(step)

    def _initial_order(self) -> list[str]:
        first, others = self.pool[0], self.pool[1:]
        return [
            first,
            *order_by_strategy(self.strategy, first, others, self.pool, self.h.catalog, self.h._health),
        ]

    # -- admission: who may be called now, and waiting when nobody may -------------------------------
    def _admit(
        self, order: list[str], not_before: dict[str, float]
    ) -> Generator[Step, Any, tuple[float, str]]:
        """Yield the waits needed and return (seconds waited, the model to call); raise when none can be."""
        breaker, waited = self.h.breaker, 0.0
        rounds = self.h.config.retry.max_retries + 1  # waits for a pool that is all cooling down
        for round_ in range(rounds + 1):
            for model in order:
                if breaker.is_cooling(model):
                    continue  # skipped like an unavailable model: the others are tried now
                pause = not_before.get(model, -math.inf) - self.h._clock()
                if pause > 0:
                    waited += yield from self._sleep(pause)
                self._check_deadline()
                if breaker.acquire(model):
                    return waited, model
            if round_ == rounds:
                break
            # Every candidate is cooling down (or another caller holds its probe): wait for the first one.
            ready = min(max(breaker.ready_at(m), not_before.get(m, -math.inf)) for m in order)
            waited += yield from self._sleep(max(0.0, ready - self.h._clock()))
        self._give_up(ExecutionError, f"every candidate model stayed cooling down: {', '.join(order)}")

    def _sleep(self, seconds: float) -> Generator[Step, Any, float]:
        if self.h._clock() + seconds > self.deadline:
            self._give_up(
                TaskDeadlineError,
                f"waiting {seconds:.3g} s more would pass the task deadline of "
                f"{self.h.config.retry.task_deadline_s} s",
            )
        yield Sleep(seconds)
        self.h._stats.waited(seconds)
        return seconds

    def _check_deadline(self) -> None:
        if self.h._clock() >= self.deadline:
            self._give_up(
                TaskDeadlineError, f"the task deadline of {self.h.config.retry.task_deadline_s} s passed"
            )

    # -- one outcome ---------------------------------------------------------------------------------
    def _judge(self, model: str, outcome: Outcome, waited: float) -> Failure | None:
        """Record the attempt; return its failure, or None when it succeeded and was accepted."""
        self._count_attempt(model)
        tokens = usage_of(outcome.result) if outcome.error is None else (0, 0)
        cascade, answered = self.cascade, None
        if outcome.error is None:
            self.h.breaker.record_success(model)  # it answered, whatever we think of the answer
            self.last_result = outcome.result
            if cascade is not None:
                answered = cascade.read(outcome.result)
            if self.accept is None or self.accept(outcome.result):
                self._record(model, outcome, waited, tokens, None, answered)
                return None
            failure = Failure(FailureReason.QUALITY, "result rejected by accept()")
        else:
            failure = describe(outcome.error, self.h._wall_clock)
            self.last_error = outcome.error
            if failure.reason in HEALTH_FAILURES:
                self._breaker_failure(model, failure.retry_after)
            elif failure.fatal:
                self.h.breaker.release(model)
            else:
                self.h.breaker.record_success(model)  # a 400 is an answer: the model is up
        self._record(model, outcome, waited, tokens, failure, answered)
        self.h._stats.failure(model, failure.reason)
        if failure.fatal:
            self._give_up(UnrecoverableError, f"{model} failed with an error no retry can fix")
        return failure

    def _count_attempt(self, model: str) -> None:
        if self.per_model[model]:
            kind = "retry"
        elif not self.attempts:
            kind = "first"
        else:
            kind = "escalation" if self.escalating else "fallback"
        self.per_model[model] += 1
        self.h._stats.attempt(kind)
        self.kind = kind

    def _breaker_failure(self, model: str, retry_after: float | None) -> None:
        breaker, collector = self.h.breaker, self.h.collector
        if collector is None:
            breaker.record_failure(model, retry_after)
            return
        was_open = breaker.state(model) is BreakerState.OPEN
        breaker.record_failure(model, retry_after)
        if not was_open and breaker.state(model) is BreakerState.OPEN:
            try:
                collector.record_breaker_open(model)
            except Exception as exc:
                log.warning("telemetry collector failed (%r); the task goes on", exc)

    def _record(
        self,
        model: str,
        outcome: Outcome,
        waited: float,
        tokens: tuple[int, int],
        failure: Failure | None,
        answered: tuple[str | None, str | None] | None = None,
    ) -> None:
        error = None if failure is None else f"{failure.reason.value}: {failure.message}"
        attempt = Attempt(
            model=model,
            number=len(self.attempts) + 1,
            success=failure is None,
            reason=None if failure is None else failure.reason,
            error=error,
            duration_ms=outcome.duration_s * 1000.0,
            waited_s=waited,
            input_tokens=tokens[0],
            output_tokens=tokens[1],
        )
        self.attempts.append(attempt)
        cascade = self.cascade
        # In a cascade every attempt carries its answer and output fields (None for an error).
        extra = {} if cascade is None else cascade.fields(*(answered or (None, None)))
        if cascade is not None and answered is not None:
            cascade.answered(model, attempt.number, outcome.result, *answered)
        if self.h.recorder is not None:
            self.h.recorder.record(
                model=model,
                task_id=self.task_id,
                input_tokens=tokens[0],
                output_tokens=tokens[1],
                input_cost=None,
                output_cost=None,
                duration_ms=attempt.duration_ms,
                success=1.0 if failure is None else 0.0,
                error=error,
                attempt=attempt.number,
                # The router's propensity belongs to its own choice, the first attempt; later attempts
                # follow from that attempt's failure.
                **(self.fields if attempt.number == 1 else _without(self.fields, "propensity")),
                **extra,
            )
        collector = self.h.collector
        # The ledger is the one record of an attempt: the collector writes it there only for a handler that
        # has no recorder of its own.
        if collector is not None and self.h.recorder is None:
            fields = {
                **self.fields,
                "model": model,
                "task_id": self.task_id,
                "input_tokens": tokens[0],
                "output_tokens": tokens[1],
                "duration_ms": attempt.duration_ms,
                "success": failure is None,
                "attempt": attempt.number,
            }
            try:
                collector.record_attempt(fields, self.kind, None if failure is None else failure.reason.value)
            except Exception as exc:
                log.warning("telemetry collector failed (%r); the task goes on", exc)

    # -- the end -------------------------------------------------------------------------------------
    def _finish(self, *, succeeded: bool) -> None:
        had_failures = any(not a.success for a in self.attempts)
        self.h._stats.task_done(succeeded=succeeded, had_failures=had_failures)
        collector = self.h.collector
        if collector is not None:
            last = self.attempts[-1].model if self.attempts else None
            try:
                collector.record_outcome(
                    self.fields.get("decision_id") or "", self.task_id, last, succeeded, len(self.attempts)
                )
            except Exception as exc:
                log.warning("telemetry collector failed (%r); the task goes on", exc)

    def _give_up(self, kind: type[ExecutionError], why: str) -> NoReturn:
        cascade = self.cascade
        if (
            cascade is not None
            and cascade.answers
            and self.accept is None  # with a verifier, a response it did not accept is never returned
            and not issubclass(kind, UnrecoverableError)
        ):
            raise _Settled(f"no further model could be called ({why})")
        self._finish(succeeded=False)
        tried = ", ".join(f"#{a.number} {a.model} {a.reason or 'ok'}" for a in self.attempts) or "none"
        last = f" Last error: {type(self.last_error).__name__}: {self.last_error}" if self.last_error else ""
        message = f"Task {self.task_id!r} failed: {why}. Attempts: {tried}.{last}"
        raise kind(
            message, task_id=self.task_id, attempts=self.attempts, last_result=self.last_result
        ) from self.last_error


class _Settled(Exception):
    """A cascade's run cannot call another model but has answers: it ends with them, not with an error."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


def _without(fields: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if k != key}
