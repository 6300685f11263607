"""``LearnedRouter.next_step``: the learned cascade's decisions, its artifact, and logs without answers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from router import InvalidInputError, Router, Step
from router.learned.artifact import load_artifact
from router.learned.cascade import CASCADE_ARRAYS
from tests._answers import MODELS, answer_log
from training import train_router
from training.data.answers import answers_of
from training.data.outcomes import task_matrix
from training.evaluation.cascade_eval import replay_plan
from training.fit.acceptance import Acceptance

NAMES = sorted(MODELS)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cascade") / "router"
    train_router(answer_log(300, seed=5), log_to_mlflow=False, output_dir=out)
    return out


@pytest.fixture(scope="module")
def router(trained: Path) -> Router:
    return Router.load(trained, strict=True)


def test_the_artifact_carries_the_cascade_as_plain_arrays(trained: Path, router: Router):
    arrays, meta = load_artifact(trained)
    assert set(CASCADE_ARRAYS) <= set(arrays)
    plans = meta["answer_cascade"]["plans"]
    assert plans[0]["tradeoff"] == 0.0 and len(plans[0]["order"]) == 1
    assert "answer_cascade_gain_vs_hull" in meta["metrics_held_out"]
    again = Router.load(trained, strict=True)
    attempts = [("haiku", "5", "x" * 300), ("sonnet", "6", "x" * 500)]
    assert again.next_step("task", attempts, tradeoff=0.6) == router.next_step("task", attempts, tradeoff=0.6)


attempt = st.tuples(
    st.sampled_from([*NAMES, "unknown-model"]),
    st.sampled_from(["", "1", "2", "3"]),
    st.one_of(st.none(), st.text(max_size=50)),
)


@settings(max_examples=80, deadline=None)
@given(
    attempts=st.lists(attempt, max_size=4, unique_by=lambda a: a[0]),
    tradeoff=st.one_of(st.none(), st.floats(0, 1)),
)
def test_next_step_never_repeats_or_invents_a_model(router: Router, attempts, tradeoff):
    step = router.next_step("Compute the value of problem 3", attempts, tradeoff=tradeoff)
    assert isinstance(step, Step)
    tried = {a[0] for a in attempts}
    if step.model is not None:
        assert step.model in NAMES and step.model not in tried
    if step.answer_from is not None:
        assert 0 <= step.answer_from < len(attempts)
        assert step.p_correct is not None and 0 <= step.p_correct <= 1
    if step.model is None and attempts:
        assert step.answer_from is not None
    assert step.reasons


def test_tradeoff_zero_is_the_cheapest_single_call(router: Router):
    first = router.next_step("Compute the value of problem 3", [], tradeoff=0.0)
    assert first.model == "haiku"
    for answer in ("7", ""):
        after = router.next_step("Compute the value of problem 3", [("haiku", answer, "...")], tradeoff=0.0)
        assert (after.model, after.answer_from) == (None, 0)


def test_agreement_and_empty_answers_are_given_as_reasons(router: Router):
    agreed = router.next_step("p", [("haiku", "4", "..."), ("sonnet", "4", "...")], tradeoff=1.0)
    assert "2 of 2 answers agree" in agreed.reasons
    empty = router.next_step("p", [("haiku", "", "...")], tradeoff=1.0)
    assert any(r.startswith("answer empty") for r in empty.reasons)


def test_next_step_replays_as_the_vectorised_replay(trained: Path, router: Router):
    """What next_step decides step by step is what training's replay (the CLI's figures) computes."""
    arrays, _ = load_artifact(trained)
    log = answer_log(60, seed=9)
    data = task_matrix(log, NAMES)
    answers = answers_of(log, data)
    cascade = router.model.cascade
    acceptance = Acceptance(cascade.featurizer, np.array(cascade.weights), cascade.bias)
    for t in (0.0, 0.3, 1.0):
        row = int(np.argmin(np.abs(arrays["cascade_tradeoffs"] - t)))
        order = [int(v) for v in arrays["cascade_orders"][row] if v >= 0]
        replay = replay_plan(data, answers, acceptance, order, arrays["cascade_thresholds"][row].tolist())
        by_task = log.set_index(["task_id", "model"])
        for n, task in enumerate(data.task_ids):
            attempts: list[tuple[str, str, str]] = []
            while (step := router.next_step("p", attempts, tradeoff=t)).model is not None:
                row_ = by_task.loc[(task, step.model)]
                attempts.append((step.model, row_["answer"], row_["output"]))
            assert len(attempts) == replay.calls[n]
            assert data.success[n, NAMES.index(attempts[step.answer_from][0])] == replay.success[n]
            assert step.p_correct == pytest.approx(replay.p_correct[n])


def test_mean_cost_rises_with_the_tradeoff_on_held_out_tasks(router: Router):
    log = answer_log(150, seed=10)
    by_task = log.set_index(["task_id", "model"])
    costs = []
    for t in (0.0, 0.5, 1.0):
        total = 0.0
        for task in log["task_id"].unique():
            attempts: list[tuple[str, str, str]] = []
            while (step := router.next_step("p", attempts, tradeoff=t)).model is not None:
                row = by_task.loc[(task, step.model)]
                total += row["cost_usd"]
                attempts.append((step.model, row["answer"], row["output"]))
        costs.append(total)
    assert costs[0] <= costs[1] <= costs[2] and costs[0] < costs[2]


@pytest.mark.parametrize(
    ("attempts", "match"),
    [
        ("haiku", "attempts must be a sequence"),
        ([("haiku", "1")], r"attempts\[0\] must be \(model, answer, output\)"),
        ([("", "1", None)], r"attempts\[0\].model must be a non-empty str"),
        ([("haiku", 1, None)], r"attempts\[0\].answer must be a str or None"),
        ([object()], r"attempts\[0\] must be a \(model, answer, output\) tuple"),
    ],
    ids=["string", "two-values", "empty-model", "int-answer", "object"],
)
def test_bad_attempts_name_the_field(router: Router, attempts, match):
    with pytest.raises(InvalidInputError, match=match):
        router.next_step("p", attempts)


def test_attempts_may_be_objects_with_the_three_attributes(router: Router):
    class Attempt:
        def __init__(self, model: str, answer: str | None, output: str | None) -> None:
            self.model, self.answer, self.output = model, answer, output

    objects = router.next_step(
        "p", [Attempt("haiku", "4", "..."), Attempt("sonnet", None, None)], tradeoff=0.5
    )
    tuples = router.next_step("p", [("haiku", "4", "..."), ("sonnet", "", None)], tradeoff=0.5)
    assert objects == tuples


def test_a_log_without_answers_trains_the_same_artifact_and_decisions(tmp_path: Path):
    log = answer_log(150, seed=12)
    without = train_router(
        log.drop(columns=["answer", "output"]), log_to_mlflow=False, output_dir=tmp_path / "a"
    )
    empty = train_router(log.assign(answer=""), log_to_mlflow=False, output_dir=tmp_path / "b")
    arrays_a, meta_a = load_artifact(tmp_path / "a")
    arrays_b, meta_b = load_artifact(tmp_path / "b")
    assert not set(CASCADE_ARRAYS) & set(arrays_a)
    assert arrays_a.keys() == arrays_b.keys()
    for name in arrays_a:
        np.testing.assert_array_equal(arrays_a[name], arrays_b[name])
    volatile = {"created_at", "training_data", "metrics_held_out", "arrays_sha256"}
    same = {k: v for k, v in meta_a.items() if k not in volatile}
    assert json.dumps(same, sort_keys=True) == json.dumps(
        {k: v for k, v in meta_b.items() if k not in volatile}, sort_keys=True
    )
    assert "answer_cascade" not in meta_a and "answer_cascade_gain_vs_hull" not in without.metrics
    a, b = Router.load(tmp_path / "a", strict=True), Router.load(tmp_path / "b", strict=True)
    assert a.model.cascade is None
    for attempts in ([], [("haiku", "", None)], [("haiku", "3", "...")]):
        step_a = a.next_step("Compute the value of problem 3", attempts, tradeoff=0.5)
        assert step_a == b.next_step("Compute the value of problem 3", attempts, tradeoff=0.5)
        assert step_a.p_correct is None
    decision = a.route("Compute the value of problem 3", tradeoff=0.5)
    assert a.next_step("Compute the value of problem 3", [], tradeoff=0.5).model == decision.escalation[0]
    assert a.next_step("x", [("haiku", "3", "...")], tradeoff=0.5).model is None  # a clean answer stops
    del empty


@pytest.fixture(scope="module")
def router_without_answers(tmp_path_factory: pytest.TempPathFactory) -> Router:
    out = tmp_path_factory.mktemp("no-answers") / "router"
    log = answer_log(300, seed=5).drop(columns=["answer", "output"], errors="ignore")
    train_router(log, log_to_mlflow=False, output_dir=out)
    return Router.load(out, strict=True)


@pytest.mark.parametrize("tradeoff", [None, 0.0, 0.3, 0.7, 1.0])
def test_route_is_the_single_choice_whether_or_not_the_log_had_answers(
    router: Router, router_without_answers: Router, tradeoff
):
    """A cascade is next_step's; route, route_many and route_table keep answering "which one model", as a
    router trained on the same rows without answers does (the cascade's cheap first call is not that)."""
    texts = [f"Compute the value of problem {i}" for i in range(40)]
    single = [d.model for d in router_without_answers.route_many(texts, tradeoff=tradeoff)]
    assert [d.model for d in router.route_many(texts, tradeoff=tradeoff)] == single
    assert [router.route(t, tradeoff=tradeoff).model for t in texts] == single
    assert router.route_table(texts, tradeoff=tradeoff).model.tolist() == single
    assert router.default_tradeoff == router_without_answers.default_tradeoff
    # What the fallback handler calls first when it runs the cascade: next_step's first call at that tradeoff.
    t = router.default_tradeoff if tradeoff is None else tradeoff
    opening = router.next_step(texts[0], [], tradeoff=t).model
    assert {d.cascade_start for d in router.route_many(texts, tradeoff=tradeoff)} == {opening}
    assert router.route(texts[0], tradeoff=tradeoff).cascade_start == opening
    assert router_without_answers.route(texts[0], tradeoff=tradeoff).cascade_start is None
    if tradeoff is None:
        assert router.route(texts[0]).tradeoff == router.model.default_tradeoff
