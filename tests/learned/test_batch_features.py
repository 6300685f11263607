"""The batch path reads texts exactly as the per-task path does: keyword hits, heuristic estimates, dense rows
and TF-IDF rows are equal (to the last bit) on generated text with non-ASCII characters and on SWE-bench."""

from __future__ import annotations

import csv
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from router import InvalidInputError
from router.estimation.batch_estimate import LEVELS, TASK_TYPES, estimate_batch
from router.estimation.batch_keywords import BatchKeywords
from router.estimation.config import EstimatorConfig
from router.estimation.estimator import ComplexityEstimator, FileFacts
from router.estimation.keywords import KeywordIndex
from router.estimation.text_batch import WordTable, text_batch
from router.learned.batch_features import word_spans
from router.learned.features import Featurizer
from training.swebench import find_data_dir

# Pieces that exercise every rule: keywords (multi-word, whole-word, with "-" and "'"), words glued to
# keywords by letters, digits, "_" or non-ASCII letters, separators, and the characters whose lower() is
# ASCII ("K" Kelvin sign, "İ") or context-dependent (final sigma).
PIECES = [
    "fix",
    "cache",
    "caching",
    "cache invalidation",
    "speed up",
    "lock",
    "locks",
    "block",
    "doesn't work",
    "cve-",
    "sev-1",
    "p0",
    "rce",
    "auth",
    "oauth",
    "thread",
    "async",
    "asyncio",
    "the",
    "a",
    "x_1",
    "typo",
    "Über",
    "naïve",
    "ΣΑΣ",
    "İ",
    "\u212a",
    "é",
    "日本",
    "²",
    "_",
    "9",
    "ß",
    "Security",
    "PRODUCTION OUTAGE",
    "distributed",
    "migration",
    "traceback",
    "```",
]
SEPARATORS = [" ", "", "\n", "-", ", ", "é", "_", "'", "  ", ".", "\t", "()", "\u00a0", "1"]
TEXTS = st.one_of(
    st.lists(st.tuples(st.sampled_from(PIECES), st.sampled_from(SEPARATORS)), max_size=40).map(
        lambda parts: "".join(p + s for p, s in parts)
    ),
    st.text(max_size=300),
)
BATCHES = st.lists(TEXTS, min_size=1, max_size=8)


@pytest.fixture(scope="module")
def estimator() -> ComplexityEstimator:
    return ComplexityEstimator(recommend=lambda level: "")


@pytest.fixture(scope="module")
def featurizer() -> Featurizer:
    corpus = [" ".join(PIECES[i:] + PIECES[:i]) for i in range(len(PIECES))] + ["fix the cache", "a b c"]
    return Featurizer(min_df=2, max_features=200).fit(corpus)


def assert_batch_equals_per_task(estimator: ComplexityEstimator, featurizer: Featurizer, texts: list[str]):
    lowered = [t.lower() for t in texts]
    found = estimate_batch(estimator, text_batch(lowered))
    records = found.records(estimator)
    for i, text in enumerate(lowered):
        one = estimator.estimate_text(text, FileFacts(0, 0), 0)
        assert records[i] == one
        assert found.score[i] == one.score
        assert LEVELS[found.level[i]] is one.level
        assert TASK_TYPES[found.task_type[i]] is one.task_type
        assert found.estimated_tokens[i] == one.estimated_tokens
    analysis = featurizer.analyze_batch(texts)
    matrix = featurizer.batch_text_matrix(analysis)
    for i, text in enumerate(texts):
        complexity, dense, words = featurizer.analyze(text)
        assert analysis.complexity.records(featurizer.estimator)[i] == complexity
        assert np.array_equal(analysis.dense[i], np.array(dense))
        cols, weights = featurizer.text_weights(words)
        ids = featurizer.word_ids(text.lower())  # the decision path's ids, from the same words
        assert ids.tolist() == [featurizer._word_ids.get(w, 0) for w in words]
        row = matrix.getrow(i)
        assert np.array_equal(row.indices, cols)
        assert np.array_equal(row.data, weights)  # exact: the same operations in the same order


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(BATCHES)
def test_batch_equals_per_task_on_generated_text(estimator, featurizer, texts):
    assert_batch_equals_per_task(estimator, featurizer, texts)


def test_batch_equals_per_task_on_edge_cases(estimator, featurizer):
    texts = [
        "x",
        "İstanbul \u212aelvin ΣΑΣ. naïve_cache écache x_cache cache_x cachex",
        "speed  up, speed up! lock locks block locker p0 p0x sev-1 cve-2024",
        "a" * 70 + " cache " + "b" * 9 + " " + "ab" * 40,
        "\ud800 lone surrogate cache",
        "ends with a keyword: distributed",
        "Traceback (most recent call last):\n```\ncode\n```",
    ]
    assert_batch_equals_per_task(estimator, featurizer, texts)


@settings(max_examples=10, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(TEXTS, min_size=1, max_size=8))
def test_large_batches_take_the_hashed_look_ups_with_the_same_results(estimator, featurizer, texts):
    """Batches of thousands of words look bigrams up in a perfect hash instead of a binary search."""
    assert_batch_equals_per_task(estimator, featurizer, [*texts, " ".join(PIECES) * 3] * 25)


KEYWORD = st.text(alphabet="abcxyz_- '.é0", min_size=1, max_size=6)


@settings(max_examples=300)
@given(
    st.dictionaries(st.sampled_from(["one", "two", "three"]), st.lists(KEYWORD, max_size=5), min_size=1),
    st.lists(st.text(alphabet="abcxyz_- '.é0\nÉ", max_size=40), min_size=1, max_size=5),
)
def test_keyword_scan_of_a_batch_equals_keyword_index(lists, texts):
    """Any keyword lists (a keyword starting with "-" or holding "é" takes the per-text fallback)."""
    lowered = [t.lower() for t in texts]
    index = KeywordIndex(lists)
    found = BatchKeywords(lists).scan(text_batch(lowered)).as_dicts()
    assert found == [index.scan(t) for t in lowered]


def test_fast_path_covers_the_packaged_keywords():
    assert ComplexityEstimator().keywords_batch().exact


def test_unusual_keywords_fall_back_to_the_same_results(featurizer):
    default = EstimatorConfig.default()
    security = default.security.model_copy(
        update={"keywords": [*default.security.keywords, "-xss", "sécurité"]}
    )
    config = default.model_copy(update={"security": security})
    estimator = ComplexityEstimator(config, recommend=lambda level: "")
    assert not estimator.keywords_batch().exact
    texts = ["Fix the -xss hole", "sécurité du login", "plain text"]
    assert_batch_equals_per_task(estimator, featurizer, texts)


def test_fit_matrix_equals_fit_transform():
    corpus = [" ".join(PIECES[i : i + 7]) for i in range(len(PIECES))] * 3 + ["naïve İ fix", "x"]
    for max_features, min_df in ((1000, 2), (15, 2), (40, 1)):
        one = Featurizer(max_features=max_features, min_df=min_df)
        expected, _ = one.fit_transform(corpus)
        batch = Featurizer(max_features=max_features, min_df=min_df)
        got = batch.fit_matrix(corpus)
        assert batch.vocabulary_ == one.vocabulary_
        assert np.array_equal(batch.idf_, one.idf_)
        assert np.array_equal(batch.mean_, one.mean_) and np.array_equal(batch.scale_, one.scale_)
        assert (got != expected).nnz == 0
        assert (batch.matrix(corpus) != expected).nnz == 0


def _swebench_texts() -> list[str] | None:
    try:
        path = find_data_dir() / "tasks.csv"
    except InvalidInputError:
        return None
    csv.field_size_limit(sys.maxsize)
    with path.open(newline="", encoding="utf-8") as fh:
        return [row["problem_statement"] for row in csv.DictReader(fh)]


SWEBENCH = _swebench_texts()


@pytest.mark.skipif(SWEBENCH is None, reason="SWE-bench data absent (../shared/data/swebench_verified)")
def test_batch_equals_per_task_on_swebench(estimator):
    assert SWEBENCH is not None
    featurizer = Featurizer(max_features=20_000).fit(SWEBENCH)
    assert_batch_equals_per_task(estimator, featurizer, SWEBENCH)


def test_the_buffer_lower_cases_as_str_lower_does():
    """The buffer is built without ``str.lower`` per text; it must hold what lower-casing first gives, with
    "İ" (whose lower case is two characters) anywhere in a batch, astral characters and lone surrogates."""
    texts = ["ABC İX Σ", "plain", "", "\U0001f600 KELVIN \u212a \ud800 Straße ΣΑΣ.", "ＡＢＣ x\u0130y"]
    batch = text_batch(texts)
    assert batch.lowered() == [t.lower() for t in texts]
    assert batch.lengths.tolist() == [len(t.lower()) for t in texts]
    for i, text in enumerate(texts):
        low = text.lower()
        got = batch.codes[batch.starts[i] : batch.starts[i] + batch.lengths[i]].tolist()
        want = [ord(c) if ord(c) < 0x80 else 0x80 if c.isalnum() else 0x81 for c in low]
        assert got == want


def test_lower_is_idempotent_and_expands_one_character_only():
    """What the buffer relies on: lower() of a lower-cased text changes nothing (checked over every code point
    of this Python's Unicode database); "İ" is a character whose lower case is two (read in Python first)."""
    expanding = []
    for code_point in range(sys.maxunicode + 1):
        low = chr(code_point).lower()
        assert low.lower() == low
        if len(low) != 1:
            expanding.append(code_point)
    assert 0x130 in expanding


@settings(max_examples=100)
@given(
    st.lists(st.text(alphabet="ab_9", min_size=1, max_size=30), max_size=40, unique=True),
    st.lists(st.text(alphabet="ab_9", min_size=1, max_size=40), max_size=60),
)
# Two short words whose keys a multiplication alone left with the same high bits under every salt.
@example(["9_", "aabb_"], ["9_", "aabb_", "ab"])
def test_word_table_finds_exactly_the_stored_words(items, words):
    """Words sharing long prefixes, of lengths around the 8-byte chunks, and longer than every item."""
    table = WordTable([w.encode() for w in items])
    batch = text_batch([" ".join(words)])
    spans = word_spans(batch)
    got = table.find_plus_one(batch.view("<u8"), spans.starts, spans.lengths).tolist()
    text = batch.raw
    spans_found = zip(spans.starts.tolist(), spans.lengths.tolist(), strict=True)
    found = [text[s : s + n].decode() for s, n in spans_found]
    position = {w: i + 1 for i, w in enumerate(items)}
    assert got == [position.get(w, 0) for w in found]


def test_a_keyword_tried_past_the_end_of_its_text_does_not_match_a_shorter_one():
    """A span running into the zero padding (or NULs in the text) reads as the shorter keyword's bytes."""
    lists = {"one": ["abcde", "abcdefgh", "abcdefghij", "abcdefghijk"], "two": ["abcdefgh"]}
    texts = ["abcde\x00\x00\x00 x", "abcdefghij", "zz abcdefgh", "abcdefgh\x00", "x abcde"]
    index = KeywordIndex(lists)
    found = BatchKeywords(lists).scan(text_batch(texts)).as_dicts()
    assert found == [index.scan(t) for t in texts]


def test_batch_records_with_files_lines_and_context_equal_the_per_task_ones(estimator):
    texts = ["fix the cache", "Production outage: race condition", "plain", "refactor the architecture"]
    counts, lines, context = [0, 3, 12, 1], [0, 150, 4000, 20], [0, 40_000, 900_000, 10]
    found = estimate_batch(
        estimator, text_batch(texts), np.array(counts), np.array(lines), np.array(context)
    ).records(estimator)
    for i, text in enumerate(texts):
        one = estimator.estimate_text(text.lower(), FileFacts(counts[i], lines[i]), context[i])
        assert found[i] == one
        assert found[i].reasons == one.reasons
