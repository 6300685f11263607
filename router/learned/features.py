"""The one featurizer, used by training and serving alike.

A task becomes two blocks of features:

* dense: the heuristic estimator's factor points and task type, and numbers (description length and lines,
  code blocks, tracebacks, files, file lines, context size), standardized with the training data's mean
  and deviation;
* text: TF-IDF over word unigrams and bigrams (sublinear term frequency, smoothed IDF, L2 norm) with a
  vocabulary of the most frequent terms in the training descriptions. Words are runs of two or more ASCII
  letters, digits and underscores, cut by C-level ``translate`` and ``split``; terms are found by integer
  look-ups in numpy, so the text costs a few Python operations per task, not per term.

``fit`` learns the vocabulary, IDF and scaling; ``transform`` builds a sparse matrix for training and
batches (``text_matrix`` for the text block alone); ``text_weights`` gives the same numbers for one task.
``FEATURE_VERSION`` changes whenever the meaning of a feature changes; artifacts record it and loading
refuses a mismatch.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from itertools import chain, pairwise, repeat
from typing import TYPE_CHECKING, Any

import numpy as np

from router._types import TaskComplexity, TaskType
from router.estimation.batch_estimate import estimate_batch
from router.estimation.estimator import FACTORS, ComplexityEstimator, FileFacts
from router.estimation.text_batch import PerfectSlots, TextBatch, WordTable, text_batch
from router.learned.batch_features import (
    BatchAnalysis,
    DocumentFrequencies,
    WordSpans,
    dense_matrix,
    word_spans,
    word_spans_of,
)

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

FEATURE_VERSION = "1"
# Bigram pairs from which a hash table beats a binary search (a batch); one task's few hundred search.
_HASH_FROM = 4096
FIT_CHUNK = 8192  # tasks per batch analysis when featurizing a training set
NO_FILES = FileFacts(0, 0)
_TASK_TYPES = tuple(TaskType)
DENSE_NAMES = (
    *(f"factor_{f}" for f in FACTORS),
    *(f"type_{t.value}" for t in _TASK_TYPES),
    "log_chars",
    "log_lines",
    "code_blocks",
    "has_traceback",
    "log_files",
    "log_file_lines",
    "log_context_tokens",
)
# ASCII letters, digits and "_" stay; every other byte (non-ASCII characters arrive as "?") separates words.
_WORD_BYTES = bytes(
    c + 32 if 65 <= c <= 90 else c if (48 <= c <= 57 or 97 <= c <= 122 or c == 95) else 32 for c in range(256)
)


_WORD_CHARACTERS = b"abcdefghijklmnopqrstuvwxyz0123456789_"


def words(lowered: str) -> list[bytes]:
    """The words of lower-cased text: runs of two or more of ``[a-z0-9_]`` (C-level translate and split).

    The same words as ``re.findall(r"[a-z0-9_]{2,}", lowered)``, three times faster; single characters are
    dropped before bigrams are formed ("fix a bug" gives "fix bug"), which measured better on SWE-bench.
    """
    return [w for w in lowered.encode("ascii", "replace").translate(_WORD_BYTES).split() if len(w) > 1]


def terms(task_words: list[bytes]) -> list[bytes]:
    """Word unigrams and bigrams (the vocabulary's candidates when fitting)."""
    return task_words + list(map(b" ".join, pairwise(task_words)))


def dense_row(lowered: str, complexity: TaskComplexity, context_tokens: int) -> list[float]:
    row = [complexity.factor_points[f] / 100.0 for f in FACTORS]
    row += [1.0 if complexity.task_type == t else 0.0 for t in _TASK_TYPES]
    row += [
        math.log1p(len(lowered)),
        math.log1p(lowered.count("\n")),
        lowered.count("```") / 2.0,
        1.0 if "traceback" in lowered else 0.0,
        math.log1p(complexity.file_count),
        math.log1p(complexity.line_count),
        math.log1p(context_tokens),
    ]
    return row


class Featurizer:
    """Turns task descriptions (and files, context) into the model's features.

    Parameters
    ----------
    max_features : int
        Size of the text vocabulary.
    min_df : int
        A term must appear in at least this many training descriptions.
    """

    def __init__(
        self, *, max_features: int = 20_000, min_df: int = 2, estimator: ComplexityEstimator | None = None
    ):
        self.max_features = max_features
        self.min_df = min_df
        self.estimator = estimator or ComplexityEstimator(recommend=lambda level: "")
        self.vocabulary_: dict[str, int] = {}
        self.idf_ = np.zeros(0)
        self.mean_ = np.zeros(len(DENSE_NAMES))
        self.scale_ = np.ones(len(DENSE_NAMES))
        self._bigram_slots: PerfectSlots | None = None
        self._bigram_first = self._bigram_second = np.zeros(0, dtype=bool)
        self._set_vocabulary([])

    @property
    def n_features(self) -> int:
        return len(DENSE_NAMES) + len(self.vocabulary_)

    # -- per task ------------------------------------------------------------------------------------
    def analyze(
        self, description: str, facts: FileFacts = NO_FILES, context_chars: int = 0
    ) -> tuple[TaskComplexity, list[float], list[bytes]]:
        """The heuristic complexity, the raw dense row and the words of one validated task."""
        lowered = description.lower()
        complexity = self.estimator.estimate_text(lowered, facts, context_chars)
        tokens = int(context_chars / self.estimator.config.context_size.chars_per_token)
        return complexity, dense_row(lowered, complexity, tokens), words(lowered)

    def analyze_ids(
        self, description: str, facts: FileFacts = NO_FILES, context_chars: int = 0
    ) -> tuple[TaskComplexity, list[float], np.ndarray]:
        """``analyze`` with the words as their ids (``word_ids``): what a decision needs, a little sooner."""
        lowered = description.lower()
        complexity = self.estimator.estimate_text(lowered, facts, context_chars)
        tokens = int(context_chars / self.estimator.config.context_size.chars_per_token)
        return complexity, dense_row(lowered, complexity, tokens), self.word_ids(lowered)

    def word_ids(self, lowered: str) -> np.ndarray:
        """The word ids (0: not in the vocabulary) of ``words(lowered)``, without building that list: every
        run of word bytes is looked up, one-character runs in the same dict as -1, then dropped."""
        runs = lowered.encode("ascii", "replace").translate(_WORD_BYTES).split()
        n = len(runs)
        ids = np.fromiter(map(self._run_ids.get, runs, repeat(0, n)), dtype=np.int64, count=n)
        return ids[ids >= 0]

    def text_weights(self, task_words: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
        """Vocabulary indices and TF-IDF weights (L2-normalised) of one task's words."""
        n = len(task_words)
        ids = np.fromiter(map(self._word_ids.get, task_words, repeat(0, n)), dtype=np.int64, count=n)
        return self.id_weights(ids)

    def id_weights(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``text_weights`` from the words' ids."""
        unigrams = self._unigram_col[ids]
        at, hit = self._bigram_hits(ids)
        counts = np.bincount(
            np.concatenate((unigrams[unigrams >= 0], self._bigram_col[at[hit]])), minlength=len(self.idf_)
        )
        cols = np.flatnonzero(counts)
        tf = counts[cols]
        weights = (1.0 + np.log(tf)) * self.idf_[cols]
        # A running sum, not a dot product: the batch path sums each row's squares in the same order, so
        # both give the same norm to the last bit (BLAS's dot may sum in another order).
        squares = np.cumsum(weights * weights)
        return cols, weights / (math.sqrt(squares[-1]) if len(squares) else 0.0)

    def _bigram_hits(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each adjacent pair of word ids: its place in the bigram table and whether it is there.

        A pair with an unknown word (id 0) has a key no bigram has (``0 * n + b < n`` and ``a * n + 0`` has
        no second word), so no masking is needed; the table ends with a sentinel larger than any key.
        """
        if len(ids) > _HASH_FROM:
            return self._bigram_hits_batch(ids)
        keys = ids[:-1] * self._n_ids + ids[1:]
        at = np.searchsorted(self._bigram_keys, keys)
        return at, self._bigram_keys[at] == keys

    def _bigram_hits_batch(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``_bigram_hits`` for a batch: only pairs whose first word begins some bigram and whose second ends
        one are looked up, in a perfect hash of the bigram keys (built on first use)."""
        maybe, found = self._hashed_bigrams(ids, np.ones(max(len(ids) - 1, 0), dtype=bool))
        at = np.full(len(ids) - 1, len(self._bigram_col) - 1, dtype=np.int64)  # the sentinel: no bigram
        at[maybe] = np.where(found >= 0, found, len(self._bigram_col) - 1)
        hit = np.zeros(len(ids) - 1, dtype=bool)
        hit[maybe] = found >= 0
        return at, hit

    def _hashed_bigrams(self, ids: np.ndarray, allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The pairs (by their first word's place) that ``allowed`` lets through and whose words both occur in
        bigrams, and each one's place in the bigram table (-1: none)."""
        if self._bigram_slots is None:
            keys = self._bigram_keys[:-1]
            self._bigram_slots = PerfectSlots(keys.astype(np.uint64))
            self._bigram_first = np.zeros(self._n_ids, dtype=bool)
            self._bigram_first[keys // self._n_ids] = True
            self._bigram_second = np.zeros(self._n_ids, dtype=bool)
            self._bigram_second[keys % self._n_ids] = True
        allowed &= self._bigram_first[ids[:-1]]
        allowed &= self._bigram_second[ids[1:]]
        maybe = np.flatnonzero(allowed)
        return maybe, self._bigram_slots.find((ids[maybe] * self._n_ids + ids[maybe + 1]).astype(np.uint64))

    def _set_vocabulary(self, kept: Sequence[str]) -> None:
        """The vocabulary, and the integer tables that let numpy find a batch's terms without Python loops.

        Every word of a vocabulary term gets an id (0 is "no such word"); a unigram column is looked up by
        word id, a bigram column by ``first id * n_ids + second id`` in a sorted key array.
        """
        self.vocabulary_ = {t: i for i, t in enumerate(kept)}
        word_ids: dict[bytes, int] = {}
        for term in kept:
            for word in term.encode("ascii").split():
                word_ids.setdefault(word, len(word_ids) + 1)
        n_ids = len(word_ids) + 1
        unigram_col = np.full(n_ids, -1, dtype=np.int64)
        bigrams: dict[int, int] = {}
        for col, term in enumerate(kept):
            parts = [word_ids[w] for w in term.encode("ascii").split()]
            if len(parts) not in (1, 2):
                raise ValueError(f"vocabulary term {term!r} is not one or two words")
            if len(parts) == 1:
                unigram_col[parts[0]] = col
            else:
                bigrams[parts[0] * n_ids + parts[1]] = col
        keys = sorted(bigrams)
        self._word_ids = word_ids
        # The same ids, and -1 for the one-character runs that ``words`` drops (none is a vocabulary word).
        self._run_ids = {**word_ids, **{bytes([c]): -1 for c in _WORD_CHARACTERS}}
        self._word_table = WordTable(list(word_ids))  # item i is word id i + 1 (dicts keep insertion order)
        self._n_ids = n_ids
        self._unigram_col = unigram_col
        self._bigram_keys = np.array([*keys, np.iinfo(np.int64).max], dtype=np.int64)
        self._bigram_col = np.array([*(bigrams[k] for k in keys), -1], dtype=np.int64)
        self._bigram_slots = None

    def _text_entries(self, docs: Sequence[list[bytes]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rows, columns and TF-IDF weights of the text block for a batch of tasks' words (rows sorted)."""
        n_docs = len(docs)
        lengths = np.fromiter(map(len, docs), dtype=np.int64, count=n_docs)
        total = int(lengths.sum())
        joined = chain.from_iterable(docs)
        ids = np.fromiter(map(self._word_ids.get, joined, repeat(0, total)), dtype=np.int64, count=total)
        return self._entries(ids, np.repeat(np.arange(n_docs, dtype=np.int64), lengths), n_docs)

    def _entries(
        self, ids: np.ndarray, doc: np.ndarray, n_docs: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rows, columns and TF-IDF weights from every task's word ids in order (``doc``: each word's task).

        One set of numpy operations serves the whole batch; a pair of consecutive words of two tasks is no
        bigram. Cells (task, term) are sorted as 32-bit integers when they fit (half the sort of 64-bit ones);
        the order, and so every sum, is the same.
        """
        unigrams = self._unigram_col[ids]
        uni_at = np.flatnonzero(unigrams >= 0)
        same_task = doc[:-1] == doc[1:]
        if len(ids) > _HASH_FROM:
            bi_at, found = self._hashed_bigrams(ids, same_task)
            hit = found >= 0
            bi_at, bigrams = bi_at[hit], self._bigram_col[found[hit]]
        else:
            at, hit = self._bigram_hits(ids)
            bi_at = np.flatnonzero(hit & same_task)
            bigrams = self._bigram_col[at[bi_at]]
        # A cell is (task << bits) | term: rows and columns come back by a shift and a mask, and cells sort
        # by task, then term, as (task, term) pairs do.
        bits = max(len(self.vocabulary_), 1).bit_length()
        cells = np.concatenate(((doc[uni_at] << bits) | unigrams[uni_at], (doc[bi_at] << bits) | bigrams))
        if n_docs << bits < 2**31:
            cells = cells.astype(np.int32)
        cells.sort()
        head = np.ones(len(cells), dtype=bool)
        np.not_equal(cells[1:], cells[:-1], out=head[1:])
        first = np.flatnonzero(head)
        tf = np.diff(first, append=len(cells))
        cell = cells[first]
        rows, cols = cell >> bits, cell & ((1 << bits) - 1)
        weights = (1.0 + np.log(tf)) * self.idf_[cols]
        norms = np.sqrt(np.bincount(rows, weights * weights, minlength=n_docs))
        return rows, cols, weights / norms[rows]

    def scale_dense(self, rows: np.ndarray) -> np.ndarray:
        return (rows - self.mean_) / self.scale_

    # -- many tasks ----------------------------------------------------------------------------------
    def fit(self, descriptions: Sequence[str], facts: Sequence[FileFacts] | None = None) -> Featurizer:
        self._fit_analyzed(self._analyze_many(descriptions, facts))
        return self

    def fit_transform(
        self, descriptions: Sequence[str], facts: Sequence[FileFacts] | None = None
    ) -> tuple[csr_matrix, list[TaskComplexity]]:
        """``fit`` then ``transform``, analysing each task once (the analysis is most of the cost)."""
        analyzed = self._analyze_many(descriptions, facts)
        self._fit_analyzed(analyzed)
        return self._matrix(analyzed)

    def _fit_analyzed(self, analyzed: list[tuple[TaskComplexity, list[float], list[bytes]]]) -> None:
        df: Counter[bytes] = Counter()
        for _, _, task_words in analyzed:
            df.update(set(terms(task_words)))
        self._fit_from(df, len(analyzed), np.array([row for _, row, _ in analyzed]))

    def _fit_from(self, df: Mapping[bytes, int], n_docs: int, dense: np.ndarray) -> None:
        """Vocabulary (the most frequent terms, ties by term), IDF and scaling from document frequencies."""
        kept = sorted((t for t, n in df.items() if n >= self.min_df), key=lambda t: (-df[t], t))
        kept = sorted(kept[: self.max_features])
        self._set_vocabulary([t.decode("ascii") for t in kept])
        self.idf_ = np.array([math.log((1 + n_docs) / (1 + df[t])) + 1.0 for t in kept])
        self.mean_ = dense.mean(axis=0)
        self.scale_ = np.where(dense.std(axis=0) > 1e-12, dense.std(axis=0), 1.0)

    def transform(
        self, descriptions: Sequence[str], facts: Sequence[FileFacts] | None = None
    ) -> tuple[csr_matrix, list[TaskComplexity]]:
        """Features of many tasks as one sparse matrix (dense block first), and their complexities."""
        return self._matrix(self._analyze_many(descriptions, facts))

    def _matrix(
        self, analyzed: list[tuple[TaskComplexity, list[float], list[bytes]]]
    ) -> tuple[csr_matrix, list[TaskComplexity]]:
        from scipy.sparse import csr_matrix, hstack

        n = len(analyzed)
        dense = self.scale_dense(np.array([row for _, row, _ in analyzed]).reshape(n, -1))
        return hstack([csr_matrix(dense), self.text_matrix([w for _, _, w in analyzed])], format="csr"), [
            c for c, _, _ in analyzed
        ]

    def text_matrix(self, docs: Sequence[list[bytes]]) -> csr_matrix:
        """The text block (TF-IDF) of a batch of tasks' words as a sparse matrix."""
        return self._csr(*self._text_entries(docs), len(docs))

    def _csr(self, rows: np.ndarray, cols: np.ndarray, weights: np.ndarray, n_docs: int) -> csr_matrix:
        from scipy.sparse import csr_matrix

        indptr = np.concatenate([[0], np.cumsum(np.bincount(rows, minlength=n_docs))])
        return csr_matrix((weights, cols, indptr), shape=(n_docs, len(self.vocabulary_)))

    def analyze_many(
        self, descriptions: Sequence[str], facts: Sequence[FileFacts] | None = None
    ) -> tuple[list[TaskComplexity], list[list[float]], list[list[bytes]]]:
        """``analyze`` for a batch (no context), one stage at a time over every task:
        complexities, raw dense rows and words."""
        facts = facts or [NO_FILES] * len(descriptions)
        lowered = [d.lower() for d in descriptions]
        estimate = self.estimator.estimate_text
        complexities = [estimate(text, f, 0) for text, f in zip(lowered, facts, strict=True)]
        dense = [dense_row(text, c, 0) for text, c in zip(lowered, complexities, strict=True)]
        return complexities, dense, [words(text) for text in lowered]

    def _analyze_many(
        self, descriptions: Sequence[str], facts: Sequence[FileFacts] | None
    ) -> list[tuple[TaskComplexity, list[float], list[bytes]]]:
        return list(zip(*self.analyze_many(descriptions, facts), strict=True))

    # -- a batch in numpy passes (batch_features) ---------------------------------------------------
    def analyze_batch(
        self,
        descriptions: Sequence[str],
        facts: Sequence[FileFacts] | None = None,
        context_chars: Sequence[int] | None = None,
    ) -> BatchAnalysis:
        """``analyze`` for a batch of validated descriptions, in arrays: same numbers, no loop per word."""
        batch = text_batch(descriptions)
        n = len(batch)
        counts = lines = None
        if facts is not None:
            counts = np.fromiter((f.count for f in facts), dtype=np.int64, count=n)
            lines = np.fromiter((f.lines for f in facts), dtype=np.int64, count=n)
        context = None if context_chars is None else np.asarray(context_chars, dtype=np.int64)
        complexity = estimate_batch(self.estimator, batch, counts, lines, context)
        tokens = (complexity.context_chars / self.estimator.config.context_size.chars_per_token).astype(
            np.int64
        )
        return BatchAnalysis(batch, complexity, dense_matrix(batch, complexity, tokens), word_spans(batch))

    def batch_text_matrix(self, analysis: BatchAnalysis) -> csr_matrix:
        """The text block (TF-IDF) of an analysed batch, equal to ``text_matrix`` of its tasks' words."""
        return self._text_block((analysis.batch, analysis.spans))

    def _text_block(self, words: tuple[TextBatch, WordSpans]) -> csr_matrix:
        return self.batch_text_unseen_block(words)[0]

    def batch_text_unseen(self, analysis: BatchAnalysis) -> tuple[csr_matrix, np.ndarray]:
        """``batch_text_matrix``, and each task's share of words that no vocabulary term contains (0 for a
        task without words): the novelty's ``unseen`` count, from the same word look-up."""
        return self.batch_text_unseen_block((analysis.batch, analysis.spans))

    def batch_text_unseen_block(self, words: tuple[TextBatch, WordSpans]) -> tuple[csr_matrix, np.ndarray]:
        batch, spans = words
        ids = self._word_table.find_plus_one(batch.view("<u8"), spans.starts, spans.lengths, spans.first8)
        n = len(batch)
        total = np.bincount(spans.doc, minlength=n)
        unseen = np.bincount(spans.doc, ids == 0, minlength=n) / np.maximum(total, 1)
        return self._csr(*self._entries(ids, spans.doc, n), n), unseen

    def batch_matrix(self, analysis: BatchAnalysis) -> csr_matrix:
        """Every feature of an analysed batch (dense block first), as ``transform`` gives it."""
        from scipy.sparse import csr_matrix, hstack

        dense = self.scale_dense(analysis.dense)
        return hstack([csr_matrix(dense), self.batch_text_matrix(analysis)], format="csr")

    def matrix(self, descriptions: Sequence[str], facts: Sequence[FileFacts] | None = None) -> csr_matrix:
        """``transform``'s matrix alone, without a complexity record per task (training and evaluation).

        Analysed in chunks of ``FIT_CHUNK`` tasks, so a million tasks never sit in one buffer.
        """
        from scipy.sparse import vstack

        parts = [self.batch_matrix(a) for a in self._chunks(descriptions, facts)]
        return vstack(parts, format="csr") if parts else self.batch_matrix(self.analyze_batch([]))

    def fit_matrix(self, descriptions: Sequence[str], facts: Sequence[FileFacts] | None = None) -> csr_matrix:
        """``fit`` then ``matrix``: the same vocabulary, IDF and scaling as ``fit``, and the same matrix.

        One pass counts document frequencies chunk by chunk (``DocumentFrequencies``); the chunks' dense rows
        are kept for the scaling, and the words are analysed again for the matrix once the vocabulary is
        known (re-reading costs less than keeping every chunk's buffer).
        """
        from scipy.sparse import csr_matrix, hstack, vstack

        df = DocumentFrequencies()
        dense = []
        for analysis in self._chunks(descriptions, facts):
            df.add(analysis)
            dense.append(analysis.dense)
        rows = np.vstack(dense) if dense else np.zeros((0, len(DENSE_NAMES)))
        self._fit_from(df.candidates(self.min_df, self.max_features), len(rows), rows)
        if not len(rows):
            return csr_matrix((0, self.n_features))
        # The second pass reads only the words: the dense rows are kept from the first.
        text = [
            self._text_block(word_spans_of(descriptions[at : at + FIT_CHUNK]))
            for at in range(0, len(descriptions), FIT_CHUNK)
        ]
        return hstack([csr_matrix(self.scale_dense(rows)), vstack(text, format="csr")], format="csr")

    def _chunks(
        self, descriptions: Sequence[str], facts: Sequence[FileFacts] | None
    ) -> Iterator[BatchAnalysis]:
        for at in range(0, len(descriptions), FIT_CHUNK):
            part = None if facts is None else facts[at : at + FIT_CHUNK]
            yield self.analyze_batch(descriptions[at : at + FIT_CHUNK], part)

    # -- persistence (plain arrays, so artifacts load without executing code) ------------------------
    def to_arrays(self) -> dict[str, Any]:
        terms_sorted = sorted(self.vocabulary_, key=self.vocabulary_.__getitem__)
        return {
            "vocabulary": np.array(terms_sorted, dtype=str),
            "idf": self.idf_,
            "dense_mean": self.mean_,
            "dense_scale": self.scale_,
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, Any], estimator: ComplexityEstimator | None = None) -> Featurizer:
        feat = cls(estimator=estimator)
        feat._set_vocabulary([str(t) for t in arrays["vocabulary"]])
        feat.idf_ = np.asarray(arrays["idf"], dtype=np.float64)
        feat.mean_ = np.asarray(arrays["dense_mean"], dtype=np.float64)
        feat.scale_ = np.asarray(arrays["dense_scale"], dtype=np.float64)
        return feat
