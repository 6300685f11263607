"""Cascades in the fallback handler: ``execute_decision(..., answer=extract, router=r)``.

Models are plain functions here (a reply per model, or an error to raise); the real ``anthropic`` client is
driven in ``test_cascade_anthropic.py`` and a real log is replayed in ``test_cascade_replay.py``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from router import (
    CascadeResult,
    ExecutionConfig,
    FallbackHandler,
    InvalidInputError,
    Router,
    Step,
    UnrecoverableError,
)
from tests.execution.fake_time import FakeTime

TYPO = "Fix typo in README"  # the heuristic's decision: haiku, escalation haiku, sonnet, opus
CONFIG = ExecutionConfig().with_retry(jitter=0.0)
ROUTER = Router()
DECISION = ROUTER.route(TYPO)


class Rows:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def record(self, **fields: Any) -> None:
        self.rows.append(fields)


# model -> replies in order (exceptions are raised); the last one repeats
Replies = Mapping[str, Sequence[object]]


class Models:
    """Plain-function models: ``call(model)`` returns or raises that model's next scripted reply."""

    def __init__(self, replies: Replies) -> None:
        self.replies = replies
        self.calls: list[str] = []

    def __call__(self, model: str) -> object:
        seen = self.calls.count(model)
        self.calls.append(model)
        script = self.replies.get(model, ["unscripted"])
        reply = script[min(seen, len(script) - 1)]
        if isinstance(reply, Exception):
            raise reply
        return reply

    async def acall(self, model: str) -> object:
        await asyncio.sleep(0)
        return self(model)


def identity(response: object) -> str | None:
    return response if isinstance(response, str) else None


@pytest.fixture
def time_() -> FakeTime:
    return FakeTime()


@pytest.fixture
def rows() -> Rows:
    return Rows()


@pytest.fixture
def handler(time_: FakeTime, rows: Rows) -> FallbackHandler:
    return FallbackHandler(
        config=CONFIG, recorder=rows, clock=time_.clock, sleep=time_.sleep, async_sleep=time_.async_sleep
    )


def run(handler: FallbackHandler, models: Models, **kwargs: Any) -> Any:
    kwargs.setdefault("answer", identity)
    kwargs.setdefault("router", ROUTER)
    kwargs.setdefault("description", TYPO)
    return handler.execute_decision(DECISION, "t1", models, **kwargs)


# -- the heuristic cascade ----------------------------------------------------------------------------
CASCADES = [
    ({"haiku": ["42"]}, ["haiku"], "42", 0, 1),
    ({"haiku": [""], "sonnet": ["7"]}, ["haiku", "sonnet"], "7", 1, 2),
    ({"haiku": [""], "sonnet": ["  "], "opus": ["9"]}, ["haiku", "sonnet", "opus"], "9", 2, 3),
    ({"haiku": [""], "sonnet": [""], "opus": [""]}, ["haiku", "sonnet", "opus"], None, None, 3),
    ({"haiku": [TimeoutError("read timed out"), "42"]}, ["haiku", "haiku"], "42", 0, 2),
    # An outage falls back to sonnet (today's rule); its empty answer sends the cascade back to haiku.
    ({"haiku": [ConnectionError("refused"), "5"], "sonnet": [""]}, ["haiku", "sonnet", "haiku"], "5", 1, 3),
]


@pytest.mark.parametrize(
    ("replies", "calls", "answer", "answer_from", "attempt"),
    CASCADES,
    ids=[
        "first-answer-stops",
        "empty-escalates",
        "blank-escalates-twice",
        "no-answer-anywhere",
        "timeout-retried-then-answers",
        "outage-falls-back-then-cascade-returns",
    ],
)
def test_cascade(handler, time_, replies, calls, answer, answer_from, attempt):
    models = Models(replies)
    done = run(handler, models)
    assert isinstance(done, CascadeResult)
    assert models.calls == calls
    assert (done.answer, done.answer_from) == (answer, answer_from)
    assert done.p_correct is None and done.reasons
    # The response returned is the chosen attempt's; with no answer at all, the last one that came back.
    assert done.response == (answer if answer is not None else "")
    assert done.model == done.answers[answer_from if answer_from is not None else -1].model
    assert done.attempt == attempt
    # Errors back off as before; a model that failed is called again only after its backoff.
    assert time_.sleeps == ([1.0] if "Error(" in repr(replies) else [])


def test_an_answer_from_an_earlier_attempt_is_returned_with_its_attempt_number(handler, rows):
    class Confirm:
        """Asks haiku and sonnet; returns haiku's answer when they agree."""

        def next_step(self, description: str, attempts: Sequence[Any], **kwargs: Any) -> Step:
            if len(attempts) < 2:
                return Step(model=["haiku", "sonnet"][len(attempts)])
            agree = attempts[0][1] == attempts[1][1]
            return Step(model=None, answer_from=0, p_correct=0.9 if agree else 0.4, reasons=["2 of 2 agree"])

    models = Models({"haiku": ["42"], "sonnet": [TimeoutError("slow"), "42"]})
    done = run(handler, models, router=Confirm())
    assert models.calls == ["haiku", "sonnet", "sonnet"]
    assert (done.model, done.attempt, done.answer, done.p_correct) == ("haiku", 1, "42", 0.9)
    assert done.reasons == ("2 of 2 agree",)
    assert [r["attempt"] for r in rows.rows] == [1, 2, 3]


def test_records_carry_answer_and_output_only_in_a_cascade(time_, rows):
    handler = FallbackHandler(config=CONFIG, recorder=rows, clock=time_.clock, sleep=time_.sleep)
    handler.execute_decision(DECISION, "plain", Models({"haiku": ["42"]}))
    assert "answer" not in rows.rows[0] and "output" not in rows.rows[0]  # exactly today's fields
    run(handler, Models({"haiku": [TimeoutError("slow"), ""], "sonnet": ["7"]}))
    cascade = rows.rows[1:]
    assert [(r["model"], r["answer"], r["output"], r["success"]) for r in cascade] == [
        ("haiku", None, None, 0.0),  # the error: no answer
        ("haiku", "", None, 1.0),  # it came back (the call succeeded); its answer is empty
        ("sonnet", "7", None, 1.0),  # outputs are not kept unless configured
    ]


def test_kept_outputs_are_cut_to_the_configured_size(time_, rows):
    config = CONFIG.with_output(keep=True, max_chars=5)
    handler = FallbackHandler(config=config, recorder=rows, clock=time_.clock, sleep=time_.sleep)
    done = run(handler, Models({"haiku": ["the answer is 42"]}), answer=lambda r: r.split()[-1])
    assert (rows.rows[0]["answer"], rows.rows[0]["output"]) == ("42", "the a")
    assert done.answers[0].output == "the answer is 42"  # next_step sees the whole text


@pytest.mark.parametrize(
    ("extract", "logged"),
    [
        (lambda r: 1 / 0, "answer extraction failed (ZeroDivisionError"),
        (lambda r: 42, "answer extraction returned a int, not a str or None"),
    ],
    ids=["raises", "not-a-str"],
)
def test_a_broken_extract_gives_no_answer_and_a_warning(handler, rows, caplog, extract, logged):
    models = Models({"haiku": ["42"], "sonnet": ["42"], "opus": ["42"]})
    with caplog.at_level(logging.WARNING, logger="router"):
        done = run(handler, models, answer=extract)
    assert models.calls == ["haiku", "sonnet", "opus"]  # no answer anywhere: the whole escalation
    assert done.answer is None and [r["answer"] for r in rows.rows] == [None, None, None]
    assert logged in caplog.text


# -- a verifier wins ----------------------------------------------------------------------------------
def test_a_verified_success_stops_even_without_an_answer(handler):
    models = Models({"haiku": [""]})
    done = run(handler, models, accept=lambda r: True)
    assert models.calls == ["haiku"]
    assert (done.answer_from, done.answer, done.reasons) == (0, "", ("the verifier accepted it",))


def test_a_verified_failure_escalates_even_with_an_answer(handler, rows):
    models = Models({"haiku": ["41"], "sonnet": ["42"]})
    done = run(handler, models, accept=lambda r: r == "42")
    assert models.calls == ["haiku", "sonnet"]
    assert (done.model, done.answer, done.answer_from) == ("sonnet", "42", 1)
    assert [(r["answer"], r["success"]) for r in rows.rows] == [("41", 0.0), ("42", 1.0)]
    assert handler.get_statistics()["escalations"] == 1


def test_every_answer_rejected_by_the_verifier_still_fails(handler):
    from router import ExecutionError

    with pytest.raises(ExecutionError, match=r"no model left to try after quality on opus"):
        run(handler, Models({"haiku": ["1"], "sonnet": ["2"], "opus": ["3"]}), accept=lambda r: False)


# -- when no further model can be called ---------------------------------------------------------------
class AskAll:
    """Wants every model's answer before stopping with the first: a router that checks answers."""

    def __init__(self, order: Sequence[str] = ("haiku", "sonnet", "opus")) -> None:
        self.order = list(order)

    def next_step(self, description: str, attempts: Sequence[Any], **kwargs: Any) -> Step:
        if len(attempts) < len(self.order):
            return Step(model=self.order[len(attempts)], answer_from=0 if attempts else None)
        return Step(model=None, answer_from=0, reasons=["all asked"])


def test_answers_in_hand_end_the_task_when_the_deadline_stops_more_calls(time_, rows):
    config = CONFIG.with_retry(task_deadline_s=2.5)
    handler = FallbackHandler(config=config, recorder=rows, clock=time_.clock, sleep=time_.sleep)
    models = Models({"haiku": ["42"], "sonnet": [TimeoutError("slow")]})
    done = run(handler, models, router=AskAll())
    assert models.calls == ["haiku", "sonnet", "sonnet"]  # the second wait (2 s) would pass the deadline
    assert time_.sleeps == [1.0]
    assert (done.model, done.answer, done.answer_from) == ("haiku", "42", 0)
    assert (
        "no further model could be called (waiting 2 s more would pass the task deadline" in done.reasons[0]
    )
    assert handler.get_statistics()["tasks_succeeded"] == 1


def test_an_unrecoverable_error_still_raises_with_answers_in_hand(handler):
    models = Models({"haiku": ["42"], "sonnet": [TypeError("bad argument")]})
    with pytest.raises(UnrecoverableError, match="sonnet failed with an error no retry can fix"):
        run(handler, models, router=AskAll())


def test_a_fallback_never_calls_a_model_that_already_answered(handler):
    models = Models(
        {"haiku": [""], "sonnet": [ConnectionError("refused")], "opus": [ConnectionError("refused")]}
    )
    done = run(handler, models)
    assert models.calls.count("haiku") == 1
    assert set(models.calls) == {"haiku", "sonnet", "opus"}
    assert (done.model, done.answer, done.answer_from) == ("haiku", None, None)
    assert done.reasons[0].startswith("no further model could be called")


# -- a router that cannot be followed -------------------------------------------------------------------
class Scripted:
    def __init__(self, step: Callable[[Sequence[Any]], Any]) -> None:
        self.step = step

    def next_step(self, description: str, attempts: Sequence[Any], **kwargs: Any) -> Any:
        return self.step(attempts)


def _raise(attempts: Sequence[Any]) -> Step:
    raise RuntimeError("model file gone")


MISBEHAVING = [
    (_raise, "next_step failed (RuntimeError('model file gone'))"),
    (lambda a: Step(model="haiku", answer_from=0), "next_step asked for haiku again, which already answered"),
    (lambda a: Step(model="gpt5"), "next_step asked for 'gpt5', which the handler's catalog does not know"),
    (lambda a: Step(model=None, answer_from=3), "next_step's answer_from 3 is not an index of the 1 answers"),
    (lambda a: "opus", "next_step returned a str, not a Step"),
]


@pytest.mark.parametrize(
    ("step", "logged"), MISBEHAVING, ids=["raises", "repeats", "unknown-model", "bad-index", "not-a-step"]
)
def test_a_next_step_that_cannot_be_followed_stops_at_the_answer_in_hand(handler, caplog, step, logged):
    models = Models({"haiku": ["42"]})
    with caplog.at_level(logging.WARNING, logger="router"):
        done = run(handler, models, router=Scripted(step))
    assert models.calls == ["haiku"]
    assert (done.answer, done.answer_from, done.reasons) == ("42", 0, (logged,))
    assert logged in caplog.text


def test_next_step_gets_the_decisions_tradeoff_and_the_task(handler):
    seen: list[dict[str, Any]] = []

    class Spy:
        def next_step(self, description: str, attempts: Sequence[Any], **kwargs: Any) -> Step:
            seen.append({"description": description, "attempts": list(attempts), **kwargs})
            return Step(model=None, answer_from=0)

    decision = ROUTER.route(TYPO, tradeoff=0.2, metadata={"repo": "r"})
    handler.execute_decision(
        decision, "t", Models({"haiku": ["1"]}), answer=identity, router=Spy(), description=TYPO, context="c"
    )
    assert seen == [
        {
            "description": TYPO,
            "attempts": [("haiku", "1", "1")],
            "tradeoff": 0.2,
            "files": None,
            "context": "c",
            "metadata": {"repo": "r"},
        }
    ]


def test_the_cascade_opens_with_the_decisions_cascade_start_not_its_single_choice(handler, tmp_path):
    """A learned cascade's first call may be cheaper than the single choice: the handler calls it first,
    keeps the routed model as the first alternative and records no single-choice propensity for it."""
    decision = ROUTER.route(TYPO, tradeoff=0.2).model_copy(update={"cascade_start": "sonnet"})
    assert decision.model != "sonnet"
    seen: list[list[Any]] = []

    class StopAtOnce:
        def next_step(self, description: str, attempts: Sequence[Any], **kwargs: Any) -> Step:
            seen.append(list(attempts))
            return Step(model=None, answer_from=0)

    models = Models({"sonnet": ["7"], decision.model: ["8"]})
    done = handler.execute_decision(decision, "t", models, answer=identity, router=StopAtOnce())
    assert models.calls == ["sonnet"]
    assert (done.model, done.answer) == ("sonnet", "7")
    assert seen == [[("sonnet", "7", "7")]]
    # Without answer= the decision runs as a single choice: its own model first.
    plain = Models({"sonnet": ["7"], decision.model: ["8"]})
    assert handler.execute_decision(decision, "t2", plain) == "8"
    assert plain.calls == [decision.model]


# -- arguments ----------------------------------------------------------------------------------------
BAD_ARGUMENTS = [
    ({"router": None}, r"answer= needs router=, the router that made the decision .* got None"),
    ({"router": object()}, r"answer= needs router=.* got <object object"),
    ({"description": "  "}, r"answer= needs the task text the router routed .* got '  '"),
    ({"answer": "42"}, r"answer must be a callable extract\(response\) -> str \| None, got '42'"),
    ({"answer": None}, r"router= is used with answer= \(a cascade\); pass both, or neither"),
]


@pytest.mark.parametrize(
    ("changes", "match"),
    BAD_ARGUMENTS,
    ids=["no-router", "not-a-router", "blank-description", "answer-str", "router-alone"],
)
def test_bad_cascade_arguments_are_refused_before_any_call(handler, changes, match):
    models = Models({})
    with pytest.raises(InvalidInputError, match=match):
        run(handler, models, **changes)
    assert models.calls == []


# -- async --------------------------------------------------------------------------------------------
def test_async_cascade_escalates_like_the_sync_one(handler, rows):
    models = Models({"haiku": [""], "sonnet": [TimeoutError("slow"), "7"]})
    done = asyncio.run(
        handler.aexecute_decision(
            DECISION, "t", models.acall, answer=identity, router=ROUTER, description=TYPO
        )
    )
    assert models.calls == ["haiku", "sonnet", "sonnet"]
    assert (done.model, done.answer, done.attempt) == ("sonnet", "7", 3)
    assert [r["answer"] for r in rows.rows] == ["", None, "7"]


def test_async_without_answer_is_todays_path(handler, rows):
    models = Models({"haiku": [""]})
    assert asyncio.run(handler.aexecute_decision(DECISION, "t", models.acall)) == ""
    assert models.calls == ["haiku"] and "answer" not in rows.rows[0]


# -- property: the handler's cascade is next_step's ------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(
    st.fixed_dictionaries({m: st.sampled_from(["", "1", "2"]) for m in ("haiku", "sonnet", "opus")}),
    st.sets(st.sampled_from(["haiku", "sonnet", "opus"])),
    st.sampled_from([0.0, 0.5, 1.0]),
)
def test_the_handler_answers_with_the_models_next_step_asks_for(answers, slow, tradeoff):
    """Whatever the answers, and with some models timing out once first (retried), the models that answer
    are the ones ``next_step`` asks for offline, and the answer returned is the one it stops with."""
    decision = ROUTER.route(TYPO, tradeoff=tradeoff)
    offline: list[tuple[str, str, str]] = []
    step = ROUTER.next_step(TYPO, offline, tradeoff=tradeoff)
    while step.model is not None:
        offline.append((step.model, answers[step.model], answers[step.model]))
        step = ROUTER.next_step(TYPO, offline, tradeoff=tradeoff)
    replies = {m: [TimeoutError("slow"), a] if m in slow else [a] for m, a in answers.items()}
    models = Models(replies)
    done = FallbackHandler(config=CONFIG, sleep=lambda s: None).execute_decision(
        decision, "t", models, answer=identity, router=ROUTER, description=TYPO
    )
    assert [a.model for a in done.answers] == [m for m, _, _ in offline]
    assert len(models.calls) == len(offline) + len(slow & {m for m, _, _ in offline})
    assert done.answer_from == step.answer_from


def test_the_decision_carries_the_text_next_step_reads(handler):
    """Without ``description=``, the cascade asks ``next_step`` about the text the decision was routed on."""
    models = Models({"haiku": [""], "sonnet": ["7"]})
    done = run(handler, models, description=None)
    assert DECISION.description == TYPO
    assert (done.answer, models.calls) == ("7", ["haiku", "sonnet"])
