"""A cascade inside one task: each clean attempt's answer, and the router's word on what to do next.

``FallbackHandler.execute_decision(..., answer=extract, router=r)`` gives its task run a :class:`Cascade`.
After every attempt that comes back without error, the run reads the response's answer with ``extract``
and asks ``r.next_step`` (through the ``next_step`` callable bound here) whether to call another model or to
stop, and with which attempt's answer. A verifier (``accept``) still wins where the caller has one: the run
asks only when there is none. The run ends with a :class:`CascadeResult`.

A cascade must never fail the task for a reason of its own: an ``extract`` that raises gives no answer, and a
``next_step`` that raises or returns what cannot be followed stops at the best answer so far; each is logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from router._exceptions import InvalidInputError
from router._types import RoutingDecision, Step
from router.execution.attempts import text_of
from router.execution.config import ExecutionConfig, OutputConfig
from router.selection.next_step import Answered, has_answer

T = TypeVar("T")
Extract = Callable[[Any], "str | None"]
NextStep = Callable[[Sequence[Answered]], Step]

log = logging.getLogger("router")


class NextStepRouter(Protocol):
    """What a cascade needs of a router: ``Router.next_step`` (every router has it)."""

    def next_step(
        self,
        description: str,
        attempts: Sequence[Any],
        *,
        tradeoff: float | None = None,
        files: Sequence[Any] | None = None,
        context: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> Step: ...


@dataclass(frozen=True, slots=True)
class CascadeResult(Generic[T]):
    """How a cascade ended: the response returned, which attempt gave it, and why.

    Attributes
    ----------
    response
        The chosen attempt's response, as ``execute_fn`` returned it. When no answer was chosen
        (``answer_from`` is None: no model gave one), the last response that came back.
    model : str
        The model of that response.
    attempt : int
        Its attempt number in the task (1-based, errors and retries included): the ``attempt`` the
        recorder got with it.
    answer : str or None
        The chosen answer; None when none was chosen.
    answer_from : int or None
        The index in ``answers`` of the chosen answer (``Step.answer_from``).
    p_correct : float or None
        The router's probability that the answer is right; None from the heuristic or a verifier.
    reasons : tuple of str
        Why the cascade stopped, in words.
    answers : tuple of Answered
        ``(model, answer, output)`` of every attempt that came back, in order: what ``next_step`` saw.
    """

    response: T
    model: str
    attempt: int
    answer: str | None
    answer_from: int | None
    p_correct: float | None
    reasons: tuple[str, ...]
    answers: tuple[Answered, ...]


class Cascade:
    """One task's cascade: reads answers, keeps the responses, asks ``next_step`` and checks its word."""

    def __init__(self, extract: Extract, next_step: NextStep, output: OutputConfig) -> None:
        self.extract = extract
        self.next_step = next_step
        self.output = output
        self.answers: list[Answered] = []
        self.responses: list[Any] = []
        self.numbers: list[int] = []  # each answered attempt's number in the task
        self.last: Step | None = None

    def read(self, response: object) -> tuple[str | None, str | None]:
        """(answer, response text) of a response; never raises."""
        try:
            answer = self.extract(response)
        except Exception as exc:
            log.warning("answer extraction failed (%r); the attempt counts as giving no answer", exc)
            answer = None
        if answer is not None and not isinstance(answer, str):
            log.warning(
                "answer extraction returned a %s, not a str or None; no answer", type(answer).__name__
            )
            answer = None
        return answer, text_of(response)

    def fields(self, answer: str | None, text: str | None) -> dict[str, str | None]:
        """The recorder's ``answer`` and ``output`` fields for one attempt."""
        kept = text[: self.output.max_chars] if self.output.keep and text is not None else None
        return {"answer": answer, "output": kept}

    def answered(
        self, model: str, number: int, response: object, answer: str | None, text: str | None
    ) -> None:
        self.answers.append(Answered(model, answer, text))
        self.responses.append(response)
        self.numbers.append(number)

    def decide(self, known: Callable[[str], bool]) -> Step:
        """The router's next step after the latest answer, or a stop when it cannot be followed.

        ``known(model)`` says whether the handler can call a model. A step that names an unknown model, a
        model that already answered in this task, or an ``answer_from`` out of range is not followed.
        """
        try:
            step = self.next_step(tuple(self.answers))
            problem = self._problem(step, known)
        except Exception as exc:
            problem = f"next_step failed ({exc!r})"
        if problem is not None:
            log.warning("cascade: %s; stopping with the best answer so far", problem)
            return self.fallback(problem)
        self.last = step
        return step

    def _problem(self, step: object, known: Callable[[str], bool]) -> str | None:
        if not isinstance(step, Step):
            return f"next_step returned a {type(step).__name__}, not a Step"
        if step.answer_from is not None and not 0 <= step.answer_from < len(self.answers):
            count = len(self.answers)
            return f"next_step's answer_from {step.answer_from} is not an index of the {count} answers"
        if step.model is None:
            return None
        if not known(step.model):
            return f"next_step asked for {step.model!r}, which the handler's catalog does not know"
        if any(a.model == step.model for a in self.answers):
            return f"next_step asked for {step.model} again, which already answered"
        return None

    def fallback(self, why: str) -> Step:
        """A stop at the best answer so far: the router's latest choice, else the first non-empty answer."""
        chosen = self.last.answer_from if self.last is not None else None
        if chosen is None:
            chosen = next((i for i, a in enumerate(self.answers) if has_answer(a.answer)), None)
        return Step(model=None, answer_from=chosen, reasons=[why])

    def verified(self) -> Step:
        return Step(model=None, answer_from=len(self.answers) - 1, reasons=["the verifier accepted it"])

    def result(self, step: Step) -> CascadeResult[Any]:
        at = len(self.answers) - 1 if step.answer_from is None else step.answer_from
        chosen = self.answers[at]
        return CascadeResult(
            response=self.responses[at],
            model=chosen.model,
            attempt=self.numbers[at],
            answer=None if step.answer_from is None else chosen.answer,
            answer_from=step.answer_from,
            p_correct=step.p_correct,
            reasons=tuple(step.reasons),
            answers=tuple(self.answers),
        )


def build_cascade(
    decision: RoutingDecision,
    answer: Extract | None,
    router: NextStepRouter | None,
    description: str | None,
    files: Sequence[Any] | None,
    context: str | None,
    metadata: Mapping[str, str] | None,
    config: ExecutionConfig,
) -> Cascade | None:
    """The cascade that ``execute_decision``'s arguments ask for, checked before any call (None without
    ``answer``): ``router.next_step`` bound to the task as ``route`` saw it and to the decision's tradeoff."""
    if answer is None:
        if router is not None:
            raise InvalidInputError("router= is used with answer= (a cascade); pass both, or neither")
        return None
    if not callable(answer):
        raise InvalidInputError(f"answer must be a callable extract(response) -> str | None, got {answer!r}")
    if router is None or not callable(getattr(router, "next_step", None)):
        raise InvalidInputError(
            f"answer= needs router=, the router that made the decision (its next_step decides after each "
            f"answer); got {router!r}"
        )
    if not isinstance(description, str) or not description.strip():
        raise InvalidInputError(
            f"answer= needs the task text the router routed (next_step reads it): description= or a decision "
            f"that carries it; "
            f"got {description!r}"
        )
    tradeoff, text = decision.tradeoff, description

    def next_step(answers: Sequence[Answered]) -> Step:
        return router.next_step(
            text, answers, tradeoff=tradeoff, files=files, context=context, metadata=metadata
        )

    return Cascade(answer, next_step, config.output)
