"""The policy's invariants: monotone expected cost in the tradeoff, extremes, and learned escalation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from router.learned.policy import (
    choose,
    choose_many,
    escalation,
    escalation_many,
    failure_table,
    logit_table,
    mu_for,
)

probs = arrays(np.float64, 4, elements=st.floats(0.01, 0.99))
costs = arrays(np.float64, 4, elements=st.floats(0.001, 5.0))


@given(probs, costs, st.floats(0, 1), st.floats(0, 1), st.floats(0.01, 100))
def test_chosen_cost_is_monotone_in_tradeoff(p, c, a, b, kappa):
    low, high = sorted((a, b))
    assert c[choose(p, c, mu_for(high, kappa))] >= c[choose(p, c, mu_for(low, kappa))]


@given(probs, costs, st.floats(0.01, 100))
def test_extremes(p, c, kappa):
    assert c[choose(p, c, mu_for(0.0, kappa))] == c.min()
    assert p[choose(p, c, mu_for(1.0, kappa))] >= p.max() - 1e-12  # ties within 1e-12 go to the cheaper


@given(
    arrays(np.float64, (6, 4), elements=st.floats(0.01, 0.99)),
    arrays(np.float64, (6, 4), elements=st.floats(0.001, 5.0)),
    st.floats(0, 1),
)
def test_batch_choice_equals_single_choice(p, c, t):
    mu = mu_for(t, 1.0)
    expected = [c[i, choose(p[i], c[i], mu)] for i in range(6)]
    got = c[np.arange(6), choose_many(p, c, mu)]
    assert np.allclose(got, expected)


def test_mu_for_rejects_nothing_and_is_infinite_at_zero():
    assert math.isinf(mu_for(0.0, 2.0))
    assert mu_for(1.0, 2.0) == 0.0
    assert mu_for(0.5, 2.0) == pytest.approx(2.0)


def test_failure_table_conditions_on_failures():
    # Model 1 succeeds exactly where model 0 fails: after a failure of 0, model 1 is (almost) certain.
    success = np.array([[1, 0], [0, 1]] * 50, dtype=float)
    observed = np.ones_like(success, dtype=bool)
    table = failure_table(success, observed, prior_strength=1.0)
    assert table[0b01, 1] > 0.95
    assert table[0b00, 1] == pytest.approx(0.5, abs=0.02)


def test_escalation_stops_when_no_model_is_worth_its_cost():
    success = np.array([[1, 0, 1], [0, 1, 1], [0, 0, 1], [1, 1, 1]] * 25, dtype=float)
    table = failure_table(success, np.ones_like(success, dtype=bool))
    base = success.mean(0)
    p, c, rows = base.tolist(), [0.01, 0.1, 1.0], logit_table(table).tolist()
    assert escalation(0, p, c, 0.0, rows, base.tolist())[0] == 0
    assert len(escalation(0, p, c, 0.0, rows, base.tolist())) > 1  # free escalation: keep going
    assert escalation(0, p, c, 1e6, rows, base.tolist()) == [0]  # dear escalation: stop at once


@given(
    arrays(np.float64, (8, 4), elements=st.floats(0.01, 0.99)),
    arrays(np.float64, (8, 4), elements=st.floats(0.001, 5.0)),
    arrays(np.float64, (16, 4), elements=st.floats(0.0, 1.0)),
    arrays(np.float64, 4, elements=st.floats(0.05, 0.95)),
    st.floats(0.01, 1.0),
    st.floats(0.1, 10.0),
)
def test_batch_escalation_equals_single_escalation(p, c, table, base, t, kappa):
    mu = mu_for(t, kappa)
    first = choose_many(p, c, mu)
    logits = logit_table(table)
    expected = [
        escalation(int(first[i]), p[i].tolist(), c[i].tolist(), mu, logits.tolist(), base.tolist())
        for i in range(len(p))
    ]
    assert escalation_many(first, p, c, mu, logits, base) == expected
