"""The one featurizer, used by training and serving alike.

A task becomes two blocks of features:

* dense: the heuristic estimator's factor points and task type, and numbers (description length and lines,
  code blocks, tracebacks, files, file lines, context size), standardized with the training data's mean
  and deviation;
* text: TF-IDF over word unigrams and bigrams (sublinear term frequency, smoothed IDF, L2 norm) with a
  vocabulary of the most frequent terms in the training descriptions.

``fit`` learns the vocabulary, IDF and scaling; ``transform`` builds a sparse matrix for training and
batches; ``transform_one`` gives the same numbers for one task without scipy, for the decision path.
``FEATURE_VERSION`` changes whenever the meaning of a feature changes; artifacts record it and loading
refuses a mismatch.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from itertools import pairwise
from typing import TYPE_CHECKING, Any

import numpy as np

from router._estimator import FACTORS, ComplexityEstimator, FileFacts
from router._types import TaskComplexity, TaskType

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

FEATURE_VERSION = "1"
NO_FILES = FileFacts(0, 0)
_TOKEN = re.compile(r"[a-z0-9_]{2,}")
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


def terms(lowered: str) -> list[str]:
    """Word unigrams and bigrams of lower-cased text."""
    words = _TOKEN.findall(lowered)
    # Bigrams built by a C-level map (hot path); the list is made before extending what it reads.
    return words + list(map(" ".join, pairwise(words)))


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
        self._shifted: dict[str, int] = {}
        self.idf_ = np.zeros(0)
        self.mean_ = np.zeros(len(DENSE_NAMES))
        self.scale_ = np.ones(len(DENSE_NAMES))

    @property
    def n_features(self) -> int:
        return len(DENSE_NAMES) + len(self.vocabulary_)

    # -- per task ------------------------------------------------------------------------------------
    def analyze(
        self, description: str, facts: FileFacts = NO_FILES, context_chars: int = 0
    ) -> tuple[TaskComplexity, list[float], list[str]]:
        """The heuristic complexity, the raw dense row and the text terms of one validated task."""
        lowered = description.lower()
        complexity = self.estimator.estimate_text(lowered, facts, context_chars)
        tokens = int(context_chars / self.estimator.config.context_size.chars_per_token)
        return complexity, dense_row(lowered, complexity, tokens), terms(lowered)

    def text_weights(self, task_terms: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Vocabulary indices and TF-IDF weights (L2-normalised) of one task's terms."""
        # Ids are stored shifted by one so that filter(None, ...) drops unknown terms at C speed.
        counts = Counter(filter(None, map(self._shifted.get, task_terms)))
        if not counts:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        idx = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts)) - 1
        tf = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        w = (1.0 + np.log(tf)) * self.idf_[idx]
        return idx, w / np.sqrt(w @ w)

    def _set_vocabulary(self, kept: Sequence[str]) -> None:
        self.vocabulary_ = {t: i for i, t in enumerate(kept)}
        self._shifted = {t: i + 1 for i, t in enumerate(kept)}

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

    def _fit_analyzed(self, analyzed: list[tuple[TaskComplexity, list[float], list[str]]]) -> None:
        df: Counter[str] = Counter()
        for _, _, task_terms in analyzed:
            df.update(set(task_terms))
        kept = sorted((t for t, n in df.items() if n >= self.min_df), key=lambda t: (-df[t], t))
        kept = sorted(kept[: self.max_features])
        self._set_vocabulary(kept)
        n_docs = len(analyzed)
        self.idf_ = np.array([math.log((1 + n_docs) / (1 + df[t])) + 1.0 for t in kept])
        dense = np.array([row for _, row, _ in analyzed])
        self.mean_ = dense.mean(axis=0)
        self.scale_ = np.where(dense.std(axis=0) > 1e-12, dense.std(axis=0), 1.0)

    def transform(
        self, descriptions: Sequence[str], facts: Sequence[FileFacts] | None = None
    ) -> tuple[csr_matrix, list[TaskComplexity]]:
        """Features of many tasks as one sparse matrix (dense block first), and their complexities."""
        return self._matrix(self._analyze_many(descriptions, facts))

    def _matrix(
        self, analyzed: list[tuple[TaskComplexity, list[float], list[str]]]
    ) -> tuple[csr_matrix, list[TaskComplexity]]:
        from scipy.sparse import csr_matrix, hstack

        dense = self.scale_dense(np.array([row for _, row, _ in analyzed]).reshape(len(analyzed), -1))
        indptr, indices, data = [0], [], []
        for _, _, task_terms in analyzed:
            idx, w = self.text_weights(task_terms)
            indices.append(idx)
            data.append(w)
            indptr.append(indptr[-1] + len(idx))
        text = csr_matrix(
            (
                np.concatenate(data) if data else np.zeros(0),
                np.concatenate(indices) if indices else [],
                indptr,
            ),
            shape=(len(analyzed), len(self.vocabulary_)),
        )
        return hstack([csr_matrix(dense), text], format="csr"), [c for c, _, _ in analyzed]

    def _analyze_many(
        self, descriptions: Sequence[str], facts: Sequence[FileFacts] | None
    ) -> list[tuple[TaskComplexity, list[float], list[str]]]:
        facts = facts or [FileFacts(0, 0)] * len(descriptions)
        return [self.analyze(d, f) for d, f in zip(descriptions, facts, strict=True)]

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
