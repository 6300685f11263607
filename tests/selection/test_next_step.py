"""The heuristic router's ``next_step``: follow the escalation, stop at the first answer; attempts checked."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from router import Catalog, InvalidInputError, Router, Step
from router.selection.next_step import Answered, check_attempts, follow_escalation

TYPO = "Fix typo in README"  # the heuristic routes it to haiku: escalation haiku, sonnet, opus
ESCALATION = ["haiku", "sonnet", "opus"]


@dataclass
class Attempt:
    """An orchestrator's own record of an attempt: anything with model, answer and output will do."""

    model: str
    answer: str | None
    output: str | None


@pytest.fixture(scope="module")
def router_() -> Router:
    return Router()


def test_the_escalation_is_the_routers(router_):
    assert router_.route(TYPO).escalation == ESCALATION


CASES = [
    ([], Step(model="haiku", reasons=["no attempt yet: haiku is the router's choice"])),
    ([("haiku", "42", "so 42")], Step(model=None, answer_from=0)),
    ([("haiku", "", "hmm")], Step(model="sonnet")),
    ([("haiku", None, None)], Step(model="sonnet")),
    ([("haiku", "  ", "blank")], Step(model="sonnet")),
    ([("haiku", "", ""), ("sonnet", "7", "7")], Step(model=None, answer_from=1)),
    ([("haiku", "", ""), ("sonnet", "", "")], Step(model="opus")),
    ([("haiku", "", ""), ("sonnet", "", ""), ("opus", "", "")], Step(model=None, answer_from=None)),
    # Attempts the handler made outside the escalation (a fallback after an error) count as tried ones.
    ([("sonnet", "", "")], Step(model="haiku")),
    ([("opus", "", ""), ("haiku", "", "")], Step(model="sonnet")),
    # The first answer wins, whatever came after it.
    ([("haiku", "1", ""), ("sonnet", "2", "")], Step(model=None, answer_from=0)),
    ([Attempt("haiku", "", "x"), Attempt("sonnet", "5", "5")], Step(model=None, answer_from=1)),
]


@pytest.mark.parametrize(
    ("attempts", "expected"),
    CASES,
    ids=[
        "none-yet",
        "first-answers",
        "empty-escalates",
        "none-answer-escalates",
        "blank-escalates",
        "second-answers",
        "two-empty-to-opus",
        "all-empty-stops",
        "fallback-model-counts-as-tried",
        "untried-in-escalation-order",
        "first-answer-wins",
        "objects-with-attributes",
    ],
)
def test_next_step(router_, attempts, expected):
    step = router_.next_step(TYPO, attempts)
    assert (step.model, step.answer_from, step.p_correct) == (expected.model, expected.answer_from, None)
    assert step.reasons  # always says why
    if expected.reasons:
        assert step.reasons == expected.reasons


def test_reasons_are_plain_words(router_):
    assert router_.next_step(TYPO, [("haiku", "", "")]).reasons == [
        "answer empty from haiku: escalate to sonnet, the next model"
    ]
    assert router_.next_step(TYPO, [("haiku", "42", "")]).reasons == [
        "haiku gave an answer: the first answer is returned"
    ]
    assert router_.next_step(TYPO, [(m, "", "") for m in ESCALATION]).reasons == [
        "no model gave an answer; every model of the escalation was tried: haiku, sonnet, opus"
    ]


def test_tradeoff_and_arguments_reach_route(router_):
    """next_step follows route(...)'s escalation for the same arguments (a typo starts higher at 1)."""
    decision = router_.route(TYPO, tradeoff=1.0)
    assert router_.next_step(TYPO, [], tradeoff=1.0).model == decision.model
    assert (
        router_.next_step(TYPO, [], tradeoff=1.0, metadata={"repo": "a"}, context="x").model == decision.model
    )


BAD = [
    ("a string", r"attempts must be a sequence of \(model, answer, output\) tuples, got str"),
    (None, r"attempts must be a sequence .* got NoneType"),
    ([("haiku", "1")], r"attempts\[0\] must be a \(model, answer, output\) tuple .* got \('haiku', '1'\)"),
    ([{"model": "haiku"}], r"attempts\[0\] must be .* got \{'model': 'haiku'\}"),
    (
        [("haiku", "", ""), ("gpt5", "", "")],
        r"attempts\[1\]\.model: 'gpt5' is not in the catalog\. Known models",
    ),
    ([(None, "", "")], r"attempts\[0\]\.model: None is not in the catalog"),
    ([("haiku", 42, "")], r"attempts\[0\]\.answer must be a str or None, got 42"),
    ([("haiku", "", b"bytes")], r"attempts\[0\]\.output must be a str or None, got b'bytes'"),
]


@pytest.mark.parametrize(
    ("attempts", "match"),
    BAD,
    ids=["str", "none", "pair", "dict", "unknown-model", "model-none", "int-answer", "bytes-output"],
)
def test_bad_attempts_are_refused_naming_index_and_value(router_, attempts, match):
    with pytest.raises(InvalidInputError, match=match):
        router_.next_step(TYPO, attempts)


def test_bad_route_arguments_are_refused(router_):
    with pytest.raises(InvalidInputError, match=r"tradeoff must be a number in \[0, 1\] or None, got 2"):
        router_.next_step(TYPO, [], tradeoff=2)


def test_next_step_is_not_counted_as_a_decision():
    """It routes the task again to read the escalation: neither telemetry nor the estimator counts that."""

    class Decisions:
        def __init__(self) -> None:
            self.seen: list[Any] = []

        def record_decision(self, decision: Any, *args: Any) -> None:
            self.seen.append(decision)

    collector = Decisions()
    r = Router(collector=collector)  # type: ignore[arg-type]
    r.next_step(TYPO, [("haiku", "", "")])
    assert collector.seen == []
    assert r.estimator.get_statistics()["total_tasks"] == 0
    r.route(TYPO)
    assert len(collector.seen) == 1
    assert r.estimator.get_statistics()["total_tasks"] == 1


def test_empty_escalation_is_refused():
    with pytest.raises(InvalidInputError, match="the escalation order is empty"):
        follow_escalation([], [])


def test_check_attempts_returns_answered_tuples():
    assert check_attempts((Attempt("haiku", "1", None),), Catalog.default()) == [Answered("haiku", "1", None)]


# -- properties ---------------------------------------------------------------------------------------
MODELS = Catalog.default().names()
answers = st.one_of(st.none(), st.just(""), st.just(" "), st.text(min_size=1, max_size=3))
attempt_lists = st.lists(st.tuples(st.sampled_from(MODELS), answers, st.none()), max_size=5)


@given(attempts=attempt_lists, tradeoff=st.sampled_from([None, 0.0, 0.3, 0.5, 1.0]))
def test_never_asks_for_a_model_already_tried(attempts, tradeoff):
    step = Router().next_step(TYPO, attempts, tradeoff=tradeoff)
    assert step.model is None or step.model not in {m for m, _, _ in attempts}


@given(attempts=attempt_lists)
def test_stops_exactly_at_the_first_answer_or_when_the_escalation_is_spent(attempts):
    step = Router().next_step(TYPO, attempts)
    answered = [i for i, (_, a, _) in enumerate(attempts) if a and a.strip()]
    if answered:
        assert (step.model, step.answer_from) == (None, answered[0])
    elif attempts and set(ESCALATION) <= {m for m, _, _ in attempts}:
        assert (step.model, step.answer_from) == (None, None)
    else:
        assert step.model in ESCALATION and step.answer_from is None


@given(st.lists(st.sampled_from(MODELS), min_size=1, max_size=4, unique=True), st.integers(0, 6))
def test_a_cascade_of_empty_answers_walks_the_whole_escalation(escalation, _seed):
    """Fed its own picks with empty answers, the rule calls each model of the escalation once, in order."""
    attempts: list[Answered] = []
    step = follow_escalation(escalation, attempts)
    while step.model is not None:
        attempts.append(Answered(step.model, "", None))
        step = follow_escalation(escalation, attempts)
    assert [a.model for a in attempts] == escalation
    assert step.answer_from is None
