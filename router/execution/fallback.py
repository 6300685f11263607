"""The fallback handler: runs a task's call with retries, fallbacks, circuit breaking and escalation.

What happens after each failure is decided in ``router.execution.strategy`` (per reason and strategy) and
carried out in ``router.execution.run`` (waits, breaker, deadline, recording); a cascade's answers and the
router's next step are kept in ``router.execution.cascade``. This module is the public face and the two
drivers, one for plain functions and one for coroutines. It is longer than most because each public method
has a sync and an async twin, and the decision methods' typed overloads (a response, or a ``CascadeResult``
with ``answer=``) spell out their signatures twice more.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, overload

from router._catalog import Catalog
from router._exceptions import InvalidInputError, RouterError, UnrecoverableError
from router._metadata import check_metadata
from router._types import RoutingDecision
from router.execution.attempts import AttemptRecorder, Statistics, decision_fields
from router.execution.backoff import Backoff
from router.execution.breaker import CircuitBreaker
from router.execution.cascade import Cascade, CascadeResult, Extract, NextStepRouter, build_cascade
from router.execution.config import ExecutionConfig
from router.execution.failures import HEALTH_FAILURES, describe
from router.execution.run import Call, Outcome, Sleep, Steps, TaskRun
from router.execution.strategy import FallbackStrategy, plan_next
from router.selection.selector import ModelSelector

if TYPE_CHECKING:
    from router._sink import EventSink
    from router.estimation.estimator import FileArg

T = TypeVar("T")


class FallbackHandler:
    """Runs ``execute_fn(model)`` until a model succeeds, as the failure reasons and the strategy say.

    Parameters
    ----------
    default_strategy : FallbackStrategy
        The order in which other models are tried (BEST_AVAILABLE by default).
    max_retries : int, optional
        Retries of one model within a task; overrides ``config.retry.max_retries``.
    config : ExecutionConfig, optional
        Backoff, deadline and breaker settings; the packaged defaults (``router/data/execution.toml``).
    catalog : Catalog, optional
        Prices and context windows, for downgrade, upgrade, context and quality escalation; the selector's
        catalog or the packaged default.
    selector : ModelSelector, optional
        Given one, the handler attaches its circuit breaker to it, so selection skips cooling models.
    breaker : CircuitBreaker, optional
        Shared breaker; a new one (with ``config.breaker`` and ``clock``) when omitted.
    recorder : AttemptRecorder, optional
        A ledger: its ``record(**fields)`` is called once per attempt. Its errors propagate.
    collector : EventSink, optional
        Telemetry (``router.telemetry.Collector``): told of every attempt, each task's outcome and each
        breaker opening. Never raises into the task.
    clock, wall_clock, sleep, async_sleep : callables, optional
        Monotonic seconds, epoch seconds (for HTTP-date ``Retry-After``), and the two ways to wait.
    rng : random.Random, optional
        Source of backoff jitter.

    Examples
    --------
    >>> waits = []
    >>> handler = FallbackHandler(sleep=waits.append)
    >>> calls = []
    >>> def call(model):
    ...     calls.append(model)
    ...     if model == "sonnet":
    ...         raise ConnectionError("connection refused")
    ...     return f"answer from {model}"
    >>> handler.execute_with_fallback("sonnet", "task-1", call, alternatives=["haiku", "opus"])
    'answer from haiku'
    >>> calls, waits
    (['sonnet', 'haiku'], [])
    >>> handler.get_statistics()["failures_by_reason"]["unavailable"]
    1
    """

    def __init__(
        self,
        default_strategy: FallbackStrategy = FallbackStrategy.BEST_AVAILABLE,
        max_retries: int | None = None,
        *,
        config: ExecutionConfig | None = None,
        catalog: Catalog | None = None,
        selector: ModelSelector | None = None,
        breaker: CircuitBreaker | None = None,
        recorder: AttemptRecorder | None = None,
        collector: EventSink | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], object] = time.sleep,
        async_sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        config = config or ExecutionConfig.default()
        if max_retries is not None:
            config = config.with_retry(max_retries=max_retries)
        self.config = config
        self.default_strategy = _strategy(default_strategy)
        self.catalog = catalog or (selector.catalog if selector is not None else Catalog.default())
        attached = selector.breaker if selector is not None else None
        if attached is not None and not isinstance(attached, CircuitBreaker):
            raise InvalidInputError(
                f"the selector's breaker must be a CircuitBreaker, got {type(attached).__name__}"
            )
        self.breaker = breaker or attached or CircuitBreaker(config.breaker, clock=clock)
        if selector is not None:
            if selector.breaker not in (None, self.breaker):
                raise InvalidInputError("the selector already has a different circuit breaker; pass that one")
            selector.breaker = self.breaker
        self.recorder = recorder
        self.collector = collector
        self.backoff = Backoff(config.retry, rng)
        self._clock, self._wall_clock = clock, wall_clock
        self._sleep, self._async_sleep = sleep, async_sleep
        self._stats = Statistics()

    # -- running a task ------------------------------------------------------------------------------
    def execute_with_fallback(
        self,
        model: str,
        task_id: str,
        execute_fn: Callable[[str], T],
        alternatives: Sequence[str] | None = None,
        *,
        accept: Callable[[T], bool] | None = None,
        decision_id: str | None = None,
        strategy: FallbackStrategy | str | None = None,
        task_type: str | None = None,
        description: str | None = None,
        propensity: float | None = None,
        escalation: Sequence[str] | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> T:
        """Call ``execute_fn(model)``, then retry, fall back or escalate until a result is accepted.

        Parameters
        ----------
        model : str
            The model to try first.
        task_id : str
            Names the task in statistics, records and errors.
        execute_fn : callable
            Makes the call for a model name and returns its result, or raises.
        alternatives : sequence of str, optional
            The other models this task may use, in order; None means every catalog model, cheapest first.
        accept : callable, optional
            ``accept(result) -> bool``; a rejected result goes to the next model of ``escalation`` when
            given, else to the cheapest stronger model.
        decision_id, task_type, description : str, optional
            Passed on to the recorder with every attempt.
        propensity : float, optional
            The probability with which the router chose ``model``; recorded with the first attempt only
            (later attempts follow from its failure), so training can weight logged outcomes by it.
        strategy : FallbackStrategy, optional
            Overrides ``default_strategy`` for this task.
        escalation : sequence of str, optional
            The order a rejected result follows (a decision's ``escalation``): the next model of it not yet
            tried, and no further when it ends. Breakers, availability and context windows still apply.
        metadata : mapping of str to str, optional
            The task's metadata, as given to ``route`` (repository, team, ...); passed on to the recorder with
            every attempt, so the ledger keeps it for training. A value that is not a string raises
            ``InvalidInputError`` before any call.

        Returns
        -------
        The first accepted result.

        Raises
        ------
        ExecutionError
            No model succeeded within the retries, the pool or the deadline (``TaskDeadlineError``); it
            carries ``attempts`` and chains the last error.
        UnrecoverableError
            An authentication or permission error, or a bug, at once (no retry can fix it).
        """
        steps = self._start(
            model,
            task_id,
            alternatives,
            accept,
            decision_id,
            strategy,
            task_type,
            description,
            propensity,
            escalation,
            metadata,
        )
        return self._drive(steps, execute_fn)

    async def aexecute_with_fallback(
        self,
        model: str,
        task_id: str,
        execute_fn: Callable[[str], Awaitable[T]],
        alternatives: Sequence[str] | None = None,
        *,
        accept: Callable[[T], bool] | None = None,
        decision_id: str | None = None,
        strategy: FallbackStrategy | str | None = None,
        task_type: str | None = None,
        description: str | None = None,
        propensity: float | None = None,
        escalation: Sequence[str] | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> T:
        """The asyncio twin of ``execute_with_fallback``: awaits ``execute_fn(model)`` and ``async_sleep``.

        Examples
        --------
        >>> import asyncio
        >>> async def call(model):
        ...     return model.upper()
        >>> asyncio.run(FallbackHandler().aexecute_with_fallback("haiku", "t-1", call))
        'HAIKU'
        """
        steps = self._start(
            model,
            task_id,
            alternatives,
            accept,
            decision_id,
            strategy,
            task_type,
            description,
            propensity,
            escalation,
            metadata,
        )
        return await self._adrive(steps, execute_fn)

    @overload
    def execute_decision(
        self,
        decision: RoutingDecision,
        task_id: str,
        execute_fn: Callable[[str], T],
        *,
        accept: Callable[[T], bool] | None = None,
        description: str | None = None,
        metadata: Mapping[str, str] | None = None,
        answer: None = None,
        router: None = None,
        files: Sequence[FileArg] | None = None,
        context: str | None = None,
    ) -> T: ...

    @overload
    def execute_decision(
        self,
        decision: RoutingDecision,
        task_id: str,
        execute_fn: Callable[[str], T],
        *,
        accept: Callable[[T], bool] | None = None,
        description: str | None = None,
        metadata: Mapping[str, str] | None = None,
        answer: Callable[[T], str | None],
        router: NextStepRouter,
        files: Sequence[FileArg] | None = None,
        context: str | None = None,
    ) -> CascadeResult[T]: ...

    def execute_decision(
        self,
        decision: RoutingDecision,
        task_id: str,
        execute_fn: Callable[[str], Any],
        *,
        accept: Callable[[Any], bool] | None = None,
        description: str | None = None,
        metadata: Mapping[str, str] | None = None,
        answer: Extract | None = None,
        router: NextStepRouter | None = None,
        files: Sequence[FileArg] | None = None,
        context: str | None = None,
    ) -> Any:
        """Run a router's decision: its model first, then its escalation and alternatives.

        A result that ``accept`` rejects goes to the next model of ``decision.escalation`` (the learned
        chain may go to a cheaper model than the one rejected) and stops where the escalation ends; failures
        (rate limits, outages, context length) fall back through the escalation and the alternatives.
        Every attempt is recorded with what the decision knew: its text (``decision.description``), level,
        score, task type, tradeoff, ``decision_id`` and, when set, ``model_version`` and ``novelty``; the
        caller repeats none of them. ``description`` and ``metadata``, when given, win over the decision's
        own ``decision.description`` and ``decision.metadata`` (what ``route`` took).

        With ``answer`` (``extract(response) -> str | None``) the task runs as a cascade: first
        ``decision.cascade_start`` (a learned cascade's first call) or else the decision's model; after
        every attempt that comes back without error, the answer is extracted and recorded, and
        ``router.next_step(description, answers, tradeoff=decision.tradeoff, files=files, context=context,
        metadata=...)`` says whether to call another model or to stop and with which answer; the result is a
        :class:`~router.execution.cascade.CascadeResult` (the chosen response, its attempt, ``p_correct``,
        reasons). ``router`` (the router that made ``decision``) is then required; ``description``
        defaults to the text it routed (``decision.description``); ``files`` and ``context`` are what
        ``route`` took. A verifier still wins:
        with ``accept``, an accepted response stops the cascade and a rejected one escalates as above.
        Errors are retried and fall back as without ``answer``; when no model is left to call after some
        answers came back, the cascade stops with the best of them instead of raising. An ``extract`` that
        raises counts as no answer (logged); a ``next_step`` that fails stops at the best answer (logged).

        Examples
        --------
        >>> from router import Router
        >>> d = Router().route("Fix typo in README")
        >>> FallbackHandler().execute_decision(d, "t-2", lambda model: f"done by {model}")
        'done by haiku'
        >>> r = Router()
        >>> d = r.route("Fix typo in README")
        >>> replies = {"haiku": "", "sonnet": "fixed"}
        >>> done = FallbackHandler().execute_decision(
        ...     d, "t-3", replies.get, answer=str, router=r, description="Fix typo in README"
        ... )
        >>> done.response, done.model, done.attempt, [a.model for a in done.answers]
        ('fixed', 'sonnet', 2, ['haiku', 'sonnet'])
        """
        steps = self._decision_steps(
            decision, task_id, accept, description, metadata, answer, router, files, context
        )
        return self._drive(steps, execute_fn)

    @overload
    async def aexecute_decision(
        self,
        decision: RoutingDecision,
        task_id: str,
        execute_fn: Callable[[str], Awaitable[T]],
        *,
        accept: Callable[[T], bool] | None = None,
        description: str | None = None,
        metadata: Mapping[str, str] | None = None,
        answer: None = None,
        router: None = None,
        files: Sequence[FileArg] | None = None,
        context: str | None = None,
    ) -> T: ...

    @overload
    async def aexecute_decision(
        self,
        decision: RoutingDecision,
        task_id: str,
        execute_fn: Callable[[str], Awaitable[T]],
        *,
        accept: Callable[[T], bool] | None = None,
        description: str | None = None,
        metadata: Mapping[str, str] | None = None,
        answer: Callable[[T], str | None],
        router: NextStepRouter,
        files: Sequence[FileArg] | None = None,
        context: str | None = None,
    ) -> CascadeResult[T]: ...

    async def aexecute_decision(
        self,
        decision: RoutingDecision,
        task_id: str,
        execute_fn: Callable[[str], Awaitable[Any]],
        *,
        accept: Callable[[Any], bool] | None = None,
        description: str | None = None,
        metadata: Mapping[str, str] | None = None,
        answer: Extract | None = None,
        router: NextStepRouter | None = None,
        files: Sequence[FileArg] | None = None,
        context: str | None = None,
    ) -> Any:
        """The asyncio twin of ``execute_decision``: awaits ``execute_fn(model)`` and ``async_sleep``.

        Examples
        --------
        >>> import asyncio
        >>> from router import Router
        >>> async def call(model):
        ...     return model.upper()
        >>> d = Router().route("Fix typo in README")
        >>> asyncio.run(FallbackHandler().aexecute_decision(d, "t-4", call))
        'HAIKU'
        """
        steps = self._decision_steps(
            decision, task_id, accept, description, metadata, answer, router, files, context
        )
        return await self._adrive(steps, execute_fn)

    # -- one failure, decided by hand ----------------------------------------------------------------
    def handle_failure(
        self,
        model: str,
        error: BaseException,
        task_id: str,
        alternatives: Sequence[str] | None = None,
        retry_count: int = 0,
        *,
        strategy: FallbackStrategy | str | None = None,
    ) -> tuple[str | None, bool]:
        """Classify ``error``, count it, and say which model to try next.

        ``retry_count`` is how often ``model`` was already retried for this task. Returns
        ``(next_model, should_retry)``: ``next_model == model`` means retry the same model after
        ``handler.backoff.delay(retry_count, describe(error).retry_after)`` seconds; ``(None, False)`` means
        give up. Raises ``UnrecoverableError`` for errors no retry can fix.

        Examples
        --------
        >>> h = FallbackHandler()
        >>> h.handle_failure("sonnet", TimeoutError("read timed out"), "t-3", ["haiku"], retry_count=0)
        ('sonnet', True)
        >>> h.handle_failure("sonnet", TimeoutError("read timed out"), "t-3", ["haiku"], retry_count=3)
        ('haiku', True)
        """
        if isinstance(retry_count, bool) or not isinstance(retry_count, int) or retry_count < 0:
            raise InvalidInputError(f"retry_count must be an int >= 0, got {retry_count!r}")
        pool = self._pool(model, alternatives)
        failure = describe(error, self._wall_clock)
        self._stats.failure(model, failure.reason)
        if failure.reason in HEALTH_FAILURES:
            self.breaker.record_failure(model, failure.retry_after)
        if failure.fatal:
            raise UnrecoverableError(
                f"Task {task_id!r}: {model} failed with an error no retry can fix: {failure.message}",
                task_id=task_id,
            ) from error
        plan = plan_next(
            failure,
            model,
            strategy=_strategy(strategy or self.default_strategy),
            pool=pool,
            attempts={model: retry_count + 1},
            excluded=set(),
            max_retries=self.config.retry.max_retries,
            catalog=self.catalog,
            health=self._health,
        )
        nxt = next((m for m in plan.order if not self.breaker.is_cooling(m)), None)
        return nxt, nxt is not None

    def get_statistics(self) -> dict[str, Any]:
        """Failures (total, by reason, by model), tasks, success rate after fallback (percent), retries,
        fallbacks, escalations, waits, and each model's breaker state.

        Examples
        --------
        >>> stats = FallbackHandler().get_statistics()
        >>> stats["total_failures"], stats["breakers"]["haiku"]["state"]
        (0, 'closed')
        """
        stats = self._stats.snapshot()
        seen = self.breaker.snapshot()
        closed = {"state": "closed", "consecutive_failures": 0, "cooling_for_s": 0.0, "trips": 0}
        stats["breakers"] = {name: seen.get(name, closed) for name in sorted({*self.catalog.names(), *seen})}
        return stats

    # -- internals -----------------------------------------------------------------------------------
    def _drive(self, steps: Steps, execute_fn: Callable[[str], Any]) -> Any:
        try:
            outcome: Outcome | None = None
            while True:
                try:
                    step = steps.send(outcome)
                except StopIteration as done:
                    return done.value
                if isinstance(step, Sleep):
                    self._sleep(step.seconds)
                    outcome = None
                else:
                    outcome = self._call(execute_fn, step)
        finally:
            steps.close()

    async def _adrive(self, steps: Steps, execute_fn: Callable[[str], Awaitable[Any]]) -> Any:
        try:
            outcome: Outcome | None = None
            while True:
                try:
                    step = steps.send(outcome)
                except StopIteration as done:
                    return done.value
                if isinstance(step, Sleep):
                    await self._async_sleep(step.seconds)
                    outcome = None
                else:
                    outcome = await self._acall(execute_fn, step)
        finally:
            steps.close()

    def _decision_steps(
        self,
        decision: RoutingDecision,
        task_id: str,
        accept: Callable[[Any], bool] | None,
        description: str | None,
        metadata: Mapping[str, str] | None,
        answer: Extract | None,
        router: NextStepRouter | None,
        files: Sequence[FileArg] | None,
        context: str | None,
    ) -> Steps:
        metadata = decision.metadata if metadata is None else metadata
        description = decision.description if description is None else description
        cascade = build_cascade(decision, answer, router, description, files, context, metadata, self.config)
        alternatives = [*decision.escalation[1:], *(m.name for m in decision.selection.alternatives)]
        # A learned cascade opens with its plan's first call, which may be cheaper than the single choice
        # (it checks that answer afterwards); the routed model stays the first alternative.
        first: str = decision.model
        propensity: float | None = decision.propensity
        if cascade is not None and decision.cascade_start is not None:
            # The plan's calls are not the single choice's draw: its propensity does not describe them.
            first, propensity = decision.cascade_start, None
            alternatives.insert(0, decision.model)
        return self._start(
            first,
            task_id,
            alternatives,
            accept,
            decision.decision_id,
            None,
            decision.complexity.task_type.value,
            description,
            propensity,
            decision.escalation or None,
            metadata,
            cascade,
            decided=decision_fields(decision),
        )

    def _start(
        self,
        model: str,
        task_id: str,
        alternatives: Sequence[str] | None,
        accept: Callable[[Any], bool] | None,
        decision_id: str | None,
        strategy: FallbackStrategy | str | None,
        task_type: str | None,
        description: str | None,
        propensity: float | None = None,
        escalation: Sequence[str] | None = None,
        metadata: Mapping[str, str] | None = None,
        cascade: Cascade | None = None,
        *,
        decided: Mapping[str, Any] | None = None,
    ) -> Steps:
        if not isinstance(task_id, str) or not task_id:
            raise InvalidInputError(f"task_id must be a non-empty string, got {task_id!r}")
        # Checked before the first call: a bad value must not fail at the recorder after the model has run.
        checked = check_metadata(metadata)
        fields: dict[str, Any] = {"decision_id": decision_id or ""}
        # Optional fields go only when known: the ledger gives them its own defaults ("" for description).
        fields.update(
            {
                k: v
                for k, v in (
                    ("task_type", task_type),
                    ("description", description),
                    ("propensity", propensity),
                    ("metadata", checked or None),
                )
                if v is not None
            }
        )
        fields.update(decided or {})
        chain = self._escalation(escalation)
        pool = self._pool(model, alternatives)
        # The escalation's models belong to the pool: a rejected result may go to any of them.
        pool += [m for m in chain or () if m not in pool]
        run = TaskRun(
            self, task_id, pool, _strategy(strategy or self.default_strategy), accept, fields, chain, cascade
        )
        return run.steps()

    def _escalation(self, escalation: Sequence[str] | None) -> list[str] | None:
        if escalation is None:
            return None
        if isinstance(escalation, str):
            raise InvalidInputError(
                f"escalation must be a list of model names, got the string {escalation!r}"
            )
        names = list(escalation)
        for name in names:
            self.catalog.get(name)
        return names

    def _pool(self, model: str, alternatives: Sequence[str] | None) -> list[str]:
        if isinstance(alternatives, str):
            raise InvalidInputError(
                f"alternatives must be a list of model names, got the string {alternatives!r}"
            )
        names = [m.name for m in self.catalog.by_price] if alternatives is None else list(alternatives)
        pool = list(dict.fromkeys([model, *names]))
        for name in pool:
            self.catalog.get(name)  # an unknown name raises UnknownModelError naming the known ones
        return pool

    def _health(self, model: str) -> tuple[bool, int]:
        return self.breaker.is_cooling(model), self.breaker.consecutive_failures(model)

    def _call(self, fn: Callable[[str], Any], step: Call) -> Outcome:
        start = self._clock()
        try:
            result = fn(step.model)
        except RouterError:
            self.breaker.release(step.model)  # our own error (a ledger refusing, say): not the model's fault
            raise
        except Exception as exc:
            return Outcome(error=exc, duration_s=self._clock() - start)
        except BaseException:
            self.breaker.release(step.model)  # interrupted: the probe, if it was one, must not stay held
            raise
        return Outcome(result=result, duration_s=self._clock() - start)

    async def _acall(self, fn: Callable[[str], Awaitable[Any]], step: Call) -> Outcome:
        start = self._clock()
        try:
            result = await fn(step.model)
        except RouterError:
            self.breaker.release(step.model)
            raise
        except Exception as exc:
            return Outcome(error=exc, duration_s=self._clock() - start)
        except BaseException:  # asyncio.CancelledError above all
            self.breaker.release(step.model)
            raise
        return Outcome(result=result, duration_s=self._clock() - start)


def _strategy(value: FallbackStrategy | str) -> FallbackStrategy:
    try:
        return FallbackStrategy(value)
    except ValueError:
        allowed = ", ".join(s.value for s in FallbackStrategy)
        raise InvalidInputError(f"Unknown fallback strategy {value!r}. Allowed: {allowed}.") from None
