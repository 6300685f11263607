"""The acceptance model's contract: calibrated P(right) on synthetic answers whose truth is known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests._answers import answer_log
from training.data.answers import answers_of, has_answers
from training.data.outcomes import task_matrix
from training.evaluation.cascade_eval import replay_plan
from training.evaluation.metrics import expected_calibration_error
from training.fit.acceptance import fit_acceptance, replay_rows
from training.fit.cascade_plan import choose_plans
from training.fit.router_fit import TRADEOFF_GRID, kappa_of


@pytest.fixture(scope="module")
def fitted():
    train = answer_log(600, seed=1)
    data = task_matrix(train)
    answers = answers_of(train, data)
    assert answers is not None
    acceptance, oof = fit_acceptance(data, answers, np.arange(len(data.task_ids)))
    return data, answers, acceptance, oof


def test_held_out_probabilities_are_calibrated(fitted):
    data, _, acceptance, _ = fitted
    test = answer_log(400, seed=2)
    tdata = task_matrix(test, data.models)
    tanswers = answers_of(test, tdata)
    x, y, _ = replay_rows(tdata, tanswers, np.arange(len(tdata.task_ids)), acceptance.featurizer)
    p = acceptance.predict(x)
    assert expected_calibration_error(y, p) < 0.05
    assert abs(p.mean() - y.mean()) < 0.03


def test_agreement_raises_and_an_empty_answer_lowers_p(fitted):
    _, _, acceptance, _ = fitted
    f = acceptance.featurizer
    alone = acceptance.predict(np.array([f.vector(["haiku"], ["5"], [6.0], 0)]))[0]
    agreed = acceptance.predict(np.array([f.vector(["haiku", "sonnet"], ["5", "5"], [6.0, 6.0], 0)]))[0]
    disputed = acceptance.predict(np.array([f.vector(["haiku", "sonnet"], ["5", "6"], [6.0, 6.0], 0)]))[0]
    empty = acceptance.predict(np.array([f.vector(["haiku"], [""], [6.0], 0)]))[0]
    assert disputed < alone < agreed
    assert empty < 0.1


def test_plans_cost_more_as_the_tradeoff_rises_and_start_with_the_cheapest_call(fitted):
    data, answers, acceptance, oof = fitted
    plans = choose_plans(data, oof, kappa_of(data.success, data.cost), TRADEOFF_GRID)
    # Not step by step: where the cross-fitting hands a tradeoff to the other family, or a long set's own
    # figures differ from the average over nearby thresholds it was compared on, a step may dip.
    assert plans.cost[-1] > plans.cost[0] and plans.success[-1] > plans.success[0]
    cheapest = int(np.argmin(np.nanmean(data.cost, axis=0)))
    assert plans.orders[0].tolist() == [cheapest] + [-1] * (plans.orders.shape[1] - 1)
    top = [int(v) for v in plans.orders[-1] if v >= 0]
    replay = replay_plan(data, answers, acceptance, top, plans.thresholds[-1].tolist())
    assert replay.success.mean() > np.nanmean(data.success, axis=0).max()  # more voices buy accuracy


def test_a_log_without_answers_has_none():
    frame = answer_log(20, seed=3)
    assert has_answers(frame)
    assert answers_of(frame.drop(columns=["answer", "output"]), task_matrix(frame)) is None
    assert answers_of(frame.assign(answer=""), task_matrix(frame)) is None


def test_a_production_log_of_chains_trains_a_cascade_from_the_attempts_made(tmp_path):
    """Only the attempts a chain made (haiku; sonnet when haiku's answer was empty or, at random, doubted;
    opus after that), with their propensities: the cascade is trained on what was tried."""
    from router import Router
    from training import train_router

    full = answer_log(400, seed=4)
    rng = np.random.default_rng(0)
    kept = []
    for _, task in full.groupby("task_id", sort=False):
        by_model = task.set_index("model")
        chain = ["haiku"]
        if by_model.loc["haiku", "answer"] == "" or rng.random() < 0.6:
            chain.append("sonnet")
            if rng.random() < 0.5:
                chain.append("opus")
        rows = task.set_index("model").loc[chain].reset_index()
        kept.append(rows.assign(propensity=[1.0, 0.6, 0.3][: len(chain)]))
    log = pd.concat(kept, ignore_index=True)
    result = train_router(log, log_to_mlflow=False, output_dir=tmp_path / "router")
    router = Router.load(tmp_path / "router", strict=True)
    assert router.model.cascade is not None
    # Judged, as every held-out figure, on the held-out tasks where every model answered (the long chains).
    assert 0 <= result.metrics["answer_cascade_top_success"] <= 1
    step = router.next_step("Compute the value of problem 1", [("haiku", "", "...")], tradeoff=1.0)
    assert step.model in ("sonnet", "opus")


def test_recalibration_on_the_returned_answers_changes_p_not_decisions(fitted):
    """The second calibration map is increasing and carries the thresholds with it: every plan stops on the
    same tasks with the same answer; only the P(right) reported moves, closer to what the returned answers
    score out of fold."""
    from training.evaluation.cascade_eval import replay_plans
    from training.fit.cascade_fit import CALIBRATION_TRADEOFFS, recalibrate

    data, _, acceptance, oof = fitted
    plans = choose_plans(data, oof, kappa_of(data.success, data.cost), TRADEOFF_GRID)
    new_acceptance, new_plans = recalibrate(data, oof, acceptance, plans)
    assert new_plans.orders.tolist() == plans.orders.tolist()
    test = answer_log(400, seed=5)
    tdata = task_matrix(test, data.models)
    tanswers = answers_of(test, tdata)
    before = replay_plans(tdata, tanswers, acceptance, plans, CALIBRATION_TRADEOFFS)
    after = replay_plans(tdata, tanswers, new_acceptance, new_plans, CALIBRATION_TRADEOFFS)
    for b, a in zip(before, after, strict=True):
        assert np.array_equal(b.success, a.success) and np.array_equal(b.calls, a.calls)
        order = np.argsort(b.p_correct, kind="stable")
        assert np.all(np.diff(a.p_correct[order]) >= -1e-12)  # the same ranking of returned answers
    y = np.concatenate([r.success for r in after])
    assert expected_calibration_error(y, np.concatenate([r.p_correct for r in after])) < 0.05


def test_long_sets_are_compared_on_figures_averaged_over_neighbouring_thresholds():
    from training.fit.cascade_plan import _neighbour_mean

    values = np.array([[0.0, 3.0, 0.0, 6.0], [np.nan, np.nan, np.nan, np.nan], [1.0, np.nan, 5.0, 7.0]])
    smoothed = _neighbour_mean(values)
    assert np.allclose(smoothed[0], [1.5, 1.0, 3.0, 3.0])  # a lone peak is pulled towards its neighbours
    assert np.isnan(smoothed[1]).all()  # a set no task replayed stays unjudged
    assert np.allclose(smoothed[2, [0, 2, 3]], [1.0, 6.0, 6.0]) and np.isnan(smoothed[2, 1])
