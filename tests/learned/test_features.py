"""The featurizer's text block: the integer look-ups give exactly the TF-IDF written the obvious way."""

from __future__ import annotations

import math
import re
from collections import Counter
from itertools import pairwise

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from router.learned.features import Featurizer, words

WORDS = ["fix", "the", "race", "condition", "in", "pool", "a", "x_1", "Über", "naïve", "db", "lock"]
TEXTS = st.lists(
    st.tuples(st.sampled_from(WORDS), st.sampled_from([" ", ", ", "\n", "-", "é", "()", " . "])),
    min_size=0,
    max_size=30,
).map(lambda parts: "".join(w + sep for w, sep in parts))


def reference_words(text: str) -> list[str]:
    """Words as feature version 1 defines them: runs of two or more ASCII [a-z0-9_] in the lower text."""
    return re.findall(r"[a-z0-9_]{2,}", text.lower())


def reference_tfidf(featurizer: Featurizer, text: str) -> dict[int, float]:
    tokens = reference_words(text)
    terms = tokens + [f"{a} {b}" for a, b in pairwise(tokens)]
    counts = Counter(t for t in terms if t in featurizer.vocabulary_)
    weights = {
        featurizer.vocabulary_[t]: (1 + math.log(n)) * featurizer.idf_[featurizer.vocabulary_[t]]
        for t, n in counts.items()
    }
    norm = math.sqrt(sum(w * w for w in weights.values()))
    return {col: w / norm for col, w in weights.items()}


@pytest.fixture(scope="module")
def featurizer() -> Featurizer:
    corpus = [
        "fix the race condition in the pool",
        "fix the lock in the db pool",
        "a race in the db lock, fix a naïve pool",
        "Über x_1 condition: fix the pool",
    ] * 3
    return Featurizer(min_df=2, max_features=25).fit(corpus)


@given(TEXTS)
def test_words_are_ascii_runs(text):
    assert [w.decode() for w in words(text.lower())] == reference_words(text)


@given(TEXTS)
def test_one_task_weights_equal_the_reference(featurizer: Featurizer, text: str):
    cols, weights = featurizer.text_weights(words(text.lower()))
    assert dict(zip(cols.tolist(), weights.tolist(), strict=True)) == pytest.approx(
        reference_tfidf(featurizer, text)
    )


@given(st.lists(TEXTS, max_size=6))
def test_batch_matrix_equals_one_task_at_a_time(featurizer: Featurizer, texts: list[str]):
    # Tasks are joined for the batch: no bigram may span the end of one task and the start of the next.
    matrix = featurizer.text_matrix([words(t.lower()) for t in texts]).toarray()
    assert matrix.shape == (len(texts), len(featurizer.vocabulary_))
    for row, text in zip(matrix, texts, strict=True):
        expected = np.zeros(len(featurizer.vocabulary_))
        for col, w in reference_tfidf(featurizer, text).items():
            expected[col] = w
        assert row == pytest.approx(expected)


def test_vocabulary_holds_unigrams_and_bigrams(featurizer: Featurizer):
    assert {"pool", "the pool", "fix the"} <= set(featurizer.vocabulary_)
    restored = Featurizer.from_arrays(featurizer.to_arrays())
    assert restored.vocabulary_ == featurizer.vocabulary_


def test_a_vocabulary_term_of_three_words_is_refused(featurizer: Featurizer):
    arrays = featurizer.to_arrays()
    arrays["vocabulary"] = np.array(["one two three", *arrays["vocabulary"][1:]])
    with pytest.raises(ValueError, match="not one or two words"):
        Featurizer.from_arrays(arrays)
