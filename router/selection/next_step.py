"""The attempts a cascade has made for one task, checked; and the heuristic rule for what to do next.

``Router.next_step(description, attempts, ...)`` takes the attempts already made as ``(model, answer,
output)`` tuples, or objects with those three attributes (the fallback handler passes ``Answered``
tuples). :func:`check_attempts` turns either shape into :class:`Answered` and refuses anything else, naming
the index and the value. :func:`follow_escalation` is the heuristic router's rule: follow the escalation
order and stop at the first non-empty answer, which is what the fallback handler did before answers
existed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from router._catalog import Catalog
from router._exceptions import InvalidInputError
from router._types import Step


class Answered(NamedTuple):
    """One attempt that came back: the model, the answer extracted from its response, the response text.

    ``answer`` is the short comparable final answer (a number, a test signature, a patch hash); None or
    ``''`` when none could be extracted. ``output`` is the response text, None when unknown.
    """

    model: str
    answer: str | None
    output: str | None


def check_attempts(attempts: object, catalog: Catalog) -> list[Answered]:
    """``attempts`` as a list of :class:`Answered`, or ``InvalidInputError`` naming the bad index and value.

    Each item is a ``(model, answer, output)`` tuple or an object with ``model``, ``answer`` and ``output``
    attributes; ``model`` must be a catalog model; ``answer`` and ``output`` are str or None.

    Examples
    --------
    >>> check_attempts([("haiku", "42", None)], Catalog.default())
    [Answered(model='haiku', answer='42', output=None)]
    >>> check_attempts([("gpt5", "42", None)], Catalog.default())
    Traceback (most recent call last):
    ...
    router._exceptions.InvalidInputError: attempts[0].model: 'gpt5' is not in the catalog. Known models: ...
    """
    if isinstance(attempts, (str, bytes)) or not isinstance(attempts, Sequence):
        raise InvalidInputError(
            f"attempts must be a sequence of (model, answer, output) tuples, got {type(attempts).__name__}"
        )
    known = set(catalog.names())
    return [_check_one(i, item, known) for i, item in enumerate(attempts)]


def _check_one(i: int, item: object, known: set[str]) -> Answered:
    if isinstance(item, tuple) and len(item) == 3:
        model, answer, output = item
    elif not isinstance(item, tuple) and all(hasattr(item, a) for a in Answered._fields):
        model, answer, output = item.model, item.answer, item.output  # type: ignore[attr-defined]
    else:
        raise InvalidInputError(
            f"attempts[{i}] must be a (model, answer, output) tuple or an object with those attributes, "
            f"got {item!r}"
        )
    if not isinstance(model, str) or model not in known:
        raise InvalidInputError(
            f"attempts[{i}].model: {model!r} is not in the catalog. Known models: {', '.join(sorted(known))}."
        )
    for field, value in (("answer", answer), ("output", output)):
        if value is not None and not isinstance(value, str):
            raise InvalidInputError(f"attempts[{i}].{field} must be a str or None, got {value!r}")
    return Answered(model, answer, output)


def follow_escalation(escalation: Sequence[str], attempts: Sequence[Answered]) -> Step:
    """The heuristic cascade: the escalation's models in turn, stopping at the first non-empty answer.

    No attempts: the escalation's first model. An attempt with a non-empty answer: stop and return the
    first such answer. Otherwise the escalation's next model not yet tried; none left: stop, with no answer.

    Examples
    --------
    >>> follow_escalation(["haiku", "sonnet"], []).model
    'haiku'
    >>> follow_escalation(["haiku", "sonnet"], [Answered("haiku", "", "I could not say")]).model
    'sonnet'
    >>> step = follow_escalation(["haiku", "sonnet"], [Answered("haiku", "42", "... 42")])
    >>> step.model, step.answer_from, step.reasons
    (None, 0, ['haiku gave an answer: the first answer is returned'])
    """
    if not escalation:
        raise InvalidInputError("the escalation order is empty: there is no model to call")
    if not attempts:
        return Step(model=escalation[0], reasons=[f"no attempt yet: {escalation[0]} is the router's choice"])
    for i, attempt in enumerate(attempts):
        if has_answer(attempt.answer):
            return Step(
                model=None,
                answer_from=i,
                reasons=[f"{attempt.model} gave an answer: the first answer is returned"],
            )
    tried = {a.model for a in attempts}
    following = next((m for m in escalation if m not in tried), None)
    if following is None:
        return Step(
            model=None,
            answer_from=None,
            reasons=[
                f"no model gave an answer; every model of the escalation was tried: {', '.join(escalation)}"
            ],
        )
    return Step(
        model=following,
        reasons=[f"answer empty from {attempts[-1].model}: escalate to {following}, the next model"],
    )


def has_answer(answer: str | None) -> bool:
    """Whether an extracted answer says anything: None, ``''`` and blanks do not."""
    return bool(answer and answer.strip())
