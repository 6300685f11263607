"""The acceptance features: serving's per-attempt vector equals training's batch computation."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from router.learned.answer_features import SHARED_NAMES, AnswerFeaturizer

MODELS = ["a", "b", "c", "d"]
FEATURIZER = AnswerFeaturizer(MODELS, [5.0, 6.0, 7.0, 4.0], [1.0, 2.0, 0.5, 1.5])


@settings(max_examples=60, deadline=None)
@given(
    order=st.permutations(range(4)).flatmap(lambda p: st.integers(1, 4).map(lambda k: p[:k])),
    answers=st.lists(st.sampled_from(["", "1", "2", "3"]), min_size=4, max_size=4),
    lengths=st.lists(st.floats(0, 10), min_size=4, max_size=4),
)
def test_vector_equals_batch(order, answers, lengths):
    subset = np.array(order)
    ans = np.array(answers, dtype=object)[None, :]
    nonempty = ans != ""
    agree = (ans[:, :, None] == ans[:, None, :]) & nonempty[:, :, None] & nonempty[:, None, :]
    batch = FEATURIZER.batch(agree, nonempty, np.array(lengths)[None, :], subset)[0]
    models = [MODELS[j] for j in order]
    got = [answers[j] for j in order]
    lens = [lengths[j] for j in order]
    for i in range(len(order)):
        np.testing.assert_allclose(FEATURIZER.vector(models, got, lens, i), batch[i], atol=1e-12)


def test_agreement_and_empty_answers_are_read_as_evidence_only_when_present():
    x = FEATURIZER.vector(["a", "b", "c"], ["7", "7", ""], [5.0, 6.0, 7.0], 0)
    named = dict(zip(FEATURIZER.names(), x, strict=True))
    assert named["model:a"] == 1 and named["agree:b"] == 1 and named["disagree:c"] == 0
    assert (named["n_agree"], named["n_disagree"], named["empty"]) == (1, 0, 0)
    empty = dict(
        zip(FEATURIZER.names(), FEATURIZER.vector(["a", "c"], ["7", ""], [5.0, 0.0], 1), strict=True)
    )
    assert empty["empty"] == 1 and empty["n_agree"] == 0 and empty["n_disagree"] == 0


def test_unknown_models_get_only_the_shared_features():
    x = FEATURIZER.vector(["zzz", "a"], ["1", "1"], [3.0, 5.0], 0)
    assert x[: 3 * len(MODELS)].count(1.0) == 1  # only "agree:a"
    assert len(x) == 3 * len(MODELS) + len(SHARED_NAMES)
