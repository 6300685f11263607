"""``python -m benchmarks.cascade_bound``: three hindsight bounds on a log small enough to check by hand."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import cascade_bound as cb

# Four tasks, two models: the cheap one (cost 1) solves tasks 0 and 1, the dear one (cost 10) tasks 0-2.
SOLVED = np.array([[True, True], [True, True], [False, True], [False, False]])
COST = np.array([[1.0, 10.0]] * 4)
ANSWERS = np.array([["a", "a"], ["b", "b"], ["x", "c"], ["y", "z"]], dtype=object)


def test_foresight_solves_the_needed_tasks_each_by_its_cheapest_solver():
    assert cb.foresight_cost(SOLVED, COST, 0.75) == pytest.approx((1 + 1 + 10) / 4)
    assert cb.foresight_cost(SOLVED, COST, 1.0) == float("inf")  # task 3 is solved by no one


def test_the_verifier_stops_at_the_first_right_answer_of_a_fixed_order():
    points = cb.verifier_points(SOLVED, COST)
    # cheap then dear: 1 on every task, 10 on the two the cheap one misses
    assert cb.cheapest_reaching(points, 0.75) == pytest.approx((4 * 1 + 2 * 10) / 4)
    assert cb.cheapest_reaching(points, 0.9) == float("inf")


def test_answers_only_cannot_tell_the_cheap_models_misses_and_pays_for_the_dear_model():
    ids = cb.answer_ids(ANSWERS)
    assert ids[2].tolist() == [0, 1] and ids[0].tolist() == [0, 0]
    # at a small exchange rate: the dear model alone (calling the cheap one first adds cost, not success)
    assert cb.answers_only_point(SOLVED, COST, ids, 1e-3, n_min=1) == pytest.approx((0.75, 10.0))
    # at a large one: the cheap model alone
    assert cb.answers_only_point(SOLVED, COST, ids, 1e3, n_min=1) == pytest.approx((0.5, 1.0))
