"""Task metadata as categorical features: a block of columns after the text featurizer's, one per
``key=value`` pair seen on at least ``min_count`` training tasks.

The block is separate from ``features.Featurizer`` on purpose (its own vocabulary array, its own rows of the
weight matrix), so either can change without the other. Rare values get no column, and the classifier's L2
penalty shrinks every column's weight toward zero, i.e. a value seen on few tasks moves the prediction
little from the rate of tasks without it. A call without metadata gets the block's mean contribution over
the training tasks (``key_means``, per key), so a caller that passes none gets predictions calibrated on
average, rather than ones shifted as if the task had none of the training values. With metadata, unknown
keys or values add nothing, as in training.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from router._metadata import metadata_tokens

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

VOCABULARY = "metadata_vocab"  # the artifact array holding the block's ``key=value`` columns, in order
KEY_MEANS = "metadata_key_means"  # per key: its columns' mean contribution over the training tasks


class MetadataFeatures:
    """The metadata block: ``key=value`` -> column."""

    def __init__(self, vocabulary: Sequence[str], key_means: np.ndarray | None = None) -> None:
        self.vocabulary = list(vocabulary)
        self.index = {token: j for j, token in enumerate(self.vocabulary)}
        self.keys = sorted({token.split("=", 1)[0] for token in self.vocabulary})
        self.key_of = [self.keys.index(token.split("=", 1)[0]) for token in self.vocabulary]
        self.key_means = key_means  # (keys, outputs) once the weights are known (``set_key_means``)
        self.no_metadata = None if key_means is None else key_means.sum(axis=0)

    def set_key_means(self, block: csr_matrix, weights: np.ndarray) -> None:
        """Each key's mean contribution to the outputs over the training tasks (``block`` @ ``weights``)."""
        means = np.zeros((len(self.keys), weights.shape[1]))
        for k in range(len(self.keys)):
            columns = [j for j, key in enumerate(self.key_of) if key == k]
            means[k] = np.asarray((block[:, columns] @ weights[columns]).mean(axis=0)).ravel()
        self.key_means = means
        self.no_metadata = means.sum(axis=0)

    def contribution(self, metadata: Mapping[str, str] | None, weights: np.ndarray) -> np.ndarray | None:
        """The block's addition to one task's outputs (None when the block is empty)."""
        if not self.vocabulary:
            return None
        if not metadata:  # the caller passed none: the training tasks' mean, not "no repository at all"
            return self.no_metadata if self.no_metadata is not None else np.zeros(weights.shape[1])
        columns = self.columns(metadata)
        return weights[columns].sum(axis=0) if columns else np.zeros(weights.shape[1])

    def __len__(self) -> int:
        return len(self.vocabulary)

    @classmethod
    def fit(cls, metadata: Sequence[Mapping[str, str]] | None, min_count: int = 5) -> MetadataFeatures:
        """Columns for the ``key=value`` pairs of at least ``min_count`` tasks (none without metadata)."""
        counts: Counter[str] = Counter()
        for row in metadata or ():
            counts.update(set(metadata_tokens(row)))
        return cls(sorted(token for token, n in counts.items() if n >= min_count))

    def columns(self, metadata: Mapping[str, str] | None) -> list[int]:
        """The block's columns that one task's metadata sets."""
        if not metadata or not self.index:
            return []
        return [j for j in (self.index.get(t) for t in metadata_tokens(metadata)) if j is not None]

    def matrix(self, metadata: Sequence[Mapping[str, str] | None] | None, n_rows: int) -> csr_matrix:
        """The block for a batch of tasks: ones where a task's metadata sets a column."""
        from scipy.sparse import csr_matrix

        rows: list[int] = []
        cols: list[int] = []
        for i, row in enumerate(metadata or ()):
            found = self.columns(row)
            rows += [i] * len(found)
            cols += found
        data = np.ones(len(rows))
        return csr_matrix((data, (rows, cols)), shape=(n_rows, len(self.vocabulary)))

    def to_arrays(self) -> dict[str, Any]:
        means = self.key_means if self.key_means is not None else np.zeros((len(self.keys), 0))
        return {VOCABULARY: np.array(self.vocabulary, dtype=str), KEY_MEANS: means}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, Any]) -> MetadataFeatures:
        """The block an artifact carries (empty for artifacts trained before metadata)."""
        if VOCABULARY not in arrays:
            return cls([])
        means = np.asarray(arrays[KEY_MEANS], dtype=np.float64) if KEY_MEANS in arrays else None
        return cls([str(t) for t in arrays[VOCABULARY]], means if means is not None and means.size else None)
