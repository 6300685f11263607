"""Task metadata as categorical features: a block of columns after the text featurizer's, one per
``key=value`` pair seen on at least ``min_count`` training tasks.

The block is separate from ``features.Featurizer`` on purpose (its own vocabulary array, its own rows of the
weight matrix), so either can change without the other. Rare values get no column, and the classifier's L2
penalty shrinks every column's weight toward zero, i.e. a value seen on few tasks moves the prediction little
from the rate of tasks without it. Unknown keys or values at serving time simply add nothing.
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


class MetadataFeatures:
    """The metadata block: ``key=value`` -> column."""

    def __init__(self, vocabulary: Sequence[str]) -> None:
        self.vocabulary = list(vocabulary)
        self.index = {token: j for j, token in enumerate(self.vocabulary)}

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
        return {VOCABULARY: np.array(self.vocabulary, dtype=str)}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, Any]) -> MetadataFeatures:
        """The block an artifact carries (empty for artifacts trained before metadata)."""
        return cls([str(t) for t in arrays[VOCABULARY]] if VOCABULARY in arrays else [])
