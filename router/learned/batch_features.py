"""The featurizer's numbers for a whole batch in numpy passes, equal to the per-task ``Featurizer.analyze``.

Words: the runs of ``[a-z0-9_]`` in the batch's one-byte-per-character buffer (``TextBatch``), from one
boolean diff; runs of one character are dropped, as ``features.words`` drops them. Each word's bytes are read
as fixed-width integer keys from a ``uint64`` view of the buffer and looked up in the vocabulary's
``WordTable`` (exact: a word of up to 8 bytes is its own key, a longer one is checked); bigram ids come from
consecutive word ids of one text. The dense block's columns come from the batch estimate's arrays and from
the buffer (newlines, code fences, "traceback"); its logarithms go through ``math.log1p`` like the per-task
row's, so both paths give the same floats (numpy's SIMD ``log1p`` may not).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from router.estimation.batch_estimate import TASK_TYPES, BatchComplexity
from router.estimation.text_batch import TextBatch, text_batch


@dataclass(frozen=True, slots=True)
class WordSpans:
    """Where the featurizer's words are in a ``TextBatch``: start, length and text of each, in text order."""

    starts: np.ndarray
    lengths: np.ndarray
    doc: np.ndarray
    first8: np.ndarray  # uint64: the 8 bytes read at each start


def word_spans(batch: TextBatch) -> WordSpans:
    """The words (two or more of ``[a-z0-9_]``) of every text of the batch."""
    starts, ends, first8 = batch.ascii_word_runs()
    lengths = ends - starts
    keep = lengths > 1
    starts = starts[keep]
    return WordSpans(starts, lengths[keep], batch.doc_of_sorted(starts), first8[keep])


def word_spans_of(descriptions: Sequence[str]) -> tuple[TextBatch, WordSpans]:
    """The buffer and word spans of raw descriptions: all the text block needs (no keyword scan)."""
    batch = text_batch(descriptions)
    return batch, word_spans(batch)


def _log1p(values: np.ndarray) -> np.ndarray:
    return np.fromiter(map(math.log1p, values.tolist()), dtype=np.float64, count=len(values))


def dense_matrix(batch: TextBatch, complexity: BatchComplexity, context_tokens: np.ndarray) -> np.ndarray:
    """``features.dense_row`` for every text of the batch (rows are tasks), the same floats."""
    n = len(batch)
    types = (complexity.task_type[:, None] == np.arange(len(TASK_TYPES))).astype(np.float64)
    numbers = np.column_stack(
        [
            _log1p(batch.lengths),
            _log1p(batch.count_byte(ord("\n"))),
            batch.count_runs(ord("`"), 3) / 2.0,
            batch.contains(b"traceback").astype(np.float64),
            _log1p(complexity.file_count),
            _log1p(complexity.line_count),
            _log1p(np.asarray(context_tokens, dtype=np.int64)),
        ]
    )
    return np.hstack([complexity.factor_points / 100.0, types, numbers.reshape(n, -1)])


def bigram_pairs(ids: np.ndarray, doc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The place of each pair of consecutive words of one text in ``ids`` (the first word's), and whether
    the two belong to the same text (pairs across texts are not bigrams)."""
    at = np.arange(len(ids) - 1) if len(ids) else np.zeros(0, dtype=np.int64)
    return at, doc[:-1] == doc[1:]


@dataclass(frozen=True, slots=True)
class BatchAnalysis:
    """A batch read once: its buffer, heuristic estimate, raw dense rows and word spans."""

    batch: TextBatch
    complexity: BatchComplexity
    dense: np.ndarray  # float64 (tasks, len(DENSE_NAMES)), unscaled
    spans: WordSpans


class DocumentFrequencies:
    """In how many tasks each word unigram and bigram appears, accumulated over a stream of batches.

    Words are cut from each batch's buffer by C-level ``translate`` and ``split`` and numbered with one dict
    shared by every batch; counting is numpy over (task, term id) pairs, so Python touches each distinct word
    once per batch and each distinct term once at the end, for the terms that can enter the vocabulary.
    """

    def __init__(self) -> None:
        self._numbering: dict[bytes, int] = {}
        self._unigram_df = np.zeros(0, dtype=np.int64)
        self._pairs: list[tuple[np.ndarray, np.ndarray]] = []  # (bigram keys, their df) per batch
        self._pair_rows = 0

    def add(self, analysis: BatchAnalysis) -> None:
        text = analysis.batch.raw.translate(_WORD_BYTES)
        found = [w for w in text.split() if len(w) > 1]  # the spans' words, in the same order
        numbering = self._numbering
        ids = np.fromiter(
            (numbering.setdefault(w, len(numbering)) for w in found), dtype=np.int64, count=len(found)
        )
        doc = analysis.spans.doc
        width = max(len(numbering), 1)
        first = np.unique(doc * width + ids) % width
        df = np.bincount(first, minlength=len(numbering))
        df[: len(self._unigram_df)] += self._unigram_df
        self._unigram_df = df
        same = np.flatnonzero(doc[:-1] == doc[1:])
        pair = ids[same] << 32 | ids[same + 1]
        # Each (task, pair) once: sorted by task then pair, a row equal to the one before is a repeat.
        pair_doc = doc[same]
        order = np.lexsort((pair, pair_doc))
        pair, pair_doc = pair[order], pair_doc[order]
        new = np.ones(len(pair), dtype=bool)
        new[1:] = (pair[1:] != pair[:-1]) | (pair_doc[1:] != pair_doc[:-1])
        self._pairs.append(np.unique(pair[new], return_counts=True))
        self._pair_rows += len(self._pairs[-1][0])
        if len(self._pairs) > 1 and self._pair_rows > 4 * len(self._pairs[0][0]) + 1_000_000:
            self._pairs = [self._merged()]  # bound the memory of a long stream
            self._pair_rows = len(self._pairs[0][0])

    def _merged(self) -> tuple[np.ndarray, np.ndarray]:
        if not self._pairs:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        keys = np.concatenate([k for k, _ in self._pairs])
        counts = np.concatenate([c for _, c in self._pairs])
        distinct, which = np.unique(keys, return_inverse=True)
        return distinct, np.bincount(which, counts, minlength=len(distinct)).astype(np.int64)

    def candidates(self, min_df: int, max_features: int) -> dict[bytes, int]:
        """The terms (with their df) among which the vocabulary is chosen: every term with ``df >= min_df``
        whose df is at least the ``max_features``-th largest, so ties at the cut stay for the term order."""
        pair_keys, pair_df = self._merged()
        df = np.concatenate([self._unigram_df, pair_df])
        ok = np.flatnonzero(df >= min_df)
        if len(ok) > max_features:
            cut = np.partition(df[ok], len(ok) - max_features)[len(ok) - max_features]
            ok = ok[df[ok] >= cut]
        words = list(self._numbering)
        n_uni = len(self._unigram_df)
        out: dict[bytes, int] = {}
        for i, n in zip(ok.tolist(), df[ok].tolist(), strict=True):
            if i < n_uni:
                out[words[i]] = n
            else:
                key = int(pair_keys[i - n_uni])
                out[words[key >> 32] + b" " + words[key & 0xFFFFFFFF]] = n
        return out


# ASCII letters, digits and "_" stay; every other byte (0x80 and 0x81 included) separates words.
_WORD_BYTES = bytes(
    c + 32 if 65 <= c <= 90 else c if (48 <= c <= 57 or 97 <= c <= 122 or c == 95) else 32 for c in range(256)
)
