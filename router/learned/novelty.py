"""How far a task lies from the router's training tasks, and estimates pulled towards model averages there.

A learned router's P(success) and cost per model are only as good as the tasks it was trained on: on text
unlike anything in training they can be confidently wrong. So a trained router also carries its training
support, two counts per task measured on the training tasks:

* ``unseen``: the share of the task's words that no vocabulary term contains;
* ``residual``: the share of the task's TF-IDF row (L2 norm 1) outside the training rows' main directions
  (a rank-``r`` projection of the text block, ``novelty_projection``).

Each is put on one scale by the training tasks' own distribution of it: ``(x - median) / (q99 - median)``,
floored at 0, and a task's novelty is the larger of the two: 0 for a typical task, 1 for one as unusual as
the most unusual 1% of training tasks on some count, more for a task further out.

Shrinking: each model's P(success) and expected cost move towards what training saw for that model overall
(its mean success and mean cost on the training log) by ``1 - trust(novelty)``, where trust is
``trust_max`` up to ``novelty = near``, falls linearly to 0 at ``novelty = far`` and stays 0 beyond. Fully
shrunk, every task has the same estimates, so the choice is the single fixed model that the training log's
means pick at that tradeoff: the training hull's fixed choice. ``trust_max``, ``near`` and ``far`` are learned
at training from folds that hold out whole groups of tasks (a metadata value, a task type, or a cluster of
similar tasks), never set by hand (``training.fit.novelty``).

For one task the score costs a few microseconds: a gather and a product of the task's few TF-IDF entries with
the ``r``-column projection. The shrinkage is per task and does not depend on
the tradeoff, so for a fixed task the usual argument still holds: as the tradeoff rises, the chosen model's
(shrunk) P(success) never falls, and at tradeoff 1 the choice is the model with the highest.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from router._exceptions import ArtifactError

#: Arrays of the artifact (absent in artifacts trained before novelty: such routers report None).
PROJECTION = "novelty_projection"  # (n_text_terms, r): orthonormal directions of the training text block
REFERENCE = "novelty_reference"  # (2, 2): per count, the training tasks' median and 99th percentile
TRUST = "novelty_trust"  # (3,): trust_max, near, far
MEAN_SUCCESS = "novelty_mean_success"  # (n_models,): each model's mean success on the training log
MEAN_COST = "novelty_mean_cost"  # (n_models,): each model's mean cost on the training log
#: (The dense features' distance was tried as a third count: on held-out clusters of the shared sets its
#: outliers, long or code-heavy tasks, were routed as well as any, so it only blurred the other two.)
COUNTS = ("unseen", "residual")
#: The reason a decision carries when pulling estimates towards the model averages changed its choice.
REASON = "unlike the training tasks: estimates pulled towards model averages"


def counts_one(
    ids: np.ndarray, cols: np.ndarray, weights: np.ndarray, projection: np.ndarray
) -> tuple[float, float]:
    """The counts of one task, from its word ids (0: unseen) and TF-IDF entries."""
    unseen = float(np.count_nonzero(ids == 0) / len(ids)) if len(ids) else 0.0
    if len(cols):
        proj = weights @ projection[cols]
        residual = max(0.0, 1.0 - float(proj @ proj))
    else:
        residual = 1.0
    return unseen, residual


def counts_many(unseen: np.ndarray, text: Any, projection: np.ndarray) -> np.ndarray:
    """The counts of a batch (rows are tasks): ``text`` is the batch's TF-IDF block (sparse, rows L2 norm 1
    or empty), ``unseen`` each task's share of unseen words."""
    proj = np.asarray(text @ projection)
    has_terms = np.diff(text.indptr) > 0
    residual = np.where(has_terms, np.maximum(0.0, 1.0 - np.einsum("ij,ij->i", proj, proj)), 1.0)
    return np.column_stack([unseen, residual])


def reference_of(counts: np.ndarray) -> np.ndarray:
    """Per count (column), the median and the 99th percentile over training tasks (rows)."""
    return np.column_stack([np.median(counts, axis=0), np.quantile(counts, 0.99, axis=0)])


def scores(counts: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Novelty of each row of counts: the largest of ``(x - median) / (q99 - median)``, floored at 0."""
    median, q99 = reference[:, 0], reference[:, 1]
    spread = np.maximum(q99 - median, 1e-9)
    return np.maximum(0.0, ((counts - median) / spread).max(axis=-1))


def trust(novelty: np.ndarray | float, trust_max: float, near: float, far: float) -> np.ndarray:
    """How much of a task's own deviation from the model averages to keep, by its novelty."""
    ramp = np.clip((far - np.asarray(novelty, dtype=np.float64)) / max(far - near, 1e-9), 0.0, 1.0)
    return trust_max * ramp


def shrink(
    p: np.ndarray, cost: np.ndarray, keep: np.ndarray, mean_success: np.ndarray, mean_cost: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """P(success) and cost moved towards the model averages: ``mean + keep * (own - mean)`` (``keep`` per
    task, broadcast over models)."""
    k = np.asarray(keep, dtype=np.float64)[..., None] if np.ndim(p) > 1 else keep
    return mean_success + k * (p - mean_success), mean_cost + k * (cost - mean_cost)


@dataclass
class Support:
    """A trained router's support: what it needs to tell how far a task lies from its training tasks."""

    projection: np.ndarray
    reference: np.ndarray
    trust_max: float
    near: float
    far: float
    mean_success: np.ndarray
    mean_cost: np.ndarray

    def __post_init__(self) -> None:
        # The plain-Python copies one decision uses (numpy's per-call overhead on 3 numbers costs more).
        self._median = self.reference[:, 0].tolist()
        self._spread = np.maximum(self.reference[:, 1] - self.reference[:, 0], 1e-9).tolist()
        self._mean_success = self.mean_success.tolist()
        self._mean_cost = self.mean_cost.tolist()

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], n_models: int, n_text: int) -> Support | None:
        """The support an artifact carries, or None for artifacts trained before novelty."""
        if PROJECTION not in arrays:
            return None
        projection = np.asarray(arrays[PROJECTION], dtype=np.float64)
        reference = np.asarray(arrays[REFERENCE], dtype=np.float64)
        values = np.asarray(arrays[TRUST], dtype=np.float64)
        mean_s = np.asarray(arrays[MEAN_SUCCESS], dtype=np.float64)
        mean_c = np.asarray(arrays[MEAN_COST], dtype=np.float64)
        if (
            projection.ndim != 2
            or projection.shape[0] != n_text
            or reference.shape != (len(COUNTS), 2)
            or values.shape != (3,)
            or mean_s.shape != (n_models,)
            or mean_c.shape != (n_models,)
            or not np.isfinite(values[:2]).all()
        ):
            raise ArtifactError(
                f"Router artifact novelty arrays have shapes {PROJECTION} {projection.shape}, {REFERENCE} "
                f"{reference.shape}, {TRUST} {values.shape}, {MEAN_SUCCESS} {mean_s.shape}, {MEAN_COST} "
                f"{mean_c.shape}; expected ({n_text}, r), ({len(COUNTS)}, 2), (3,), ({n_models},), "
                f"({n_models},)."
            )
        return cls(
            projection, reference, float(values[0]), float(values[1]), float(values[2]), mean_s, mean_c
        )

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {
            PROJECTION: self.projection,
            REFERENCE: self.reference,
            TRUST: np.array([self.trust_max, self.near, self.far], dtype=np.float64),
            MEAN_SUCCESS: self.mean_success,
            MEAN_COST: self.mean_cost,
        }

    def score_one(self, ids: np.ndarray, cols: np.ndarray, weights: np.ndarray) -> float:
        """One task's novelty (see the module's docstring)."""
        counts = counts_one(ids, cols, weights, self.projection)
        return max(0.0, *((x - m) / s for x, m, s in zip(counts, self._median, self._spread, strict=True)))

    def keep_one(self, novelty: float) -> float:
        """``trust`` for one task, in plain Python."""
        span = max(self.far - self.near, 1e-9)
        return self.trust_max * min(1.0, max(0.0, (self.far - novelty) / span))

    def shrink_one(
        self, p: list[float], cost: list[float], novelty: float
    ) -> tuple[list[float], list[float]]:
        """``shrink`` for one task's lists (the decision path's plain-Python twin of ``shrink``)."""
        k = self.keep_one(novelty)
        if k == 1.0:
            return p, cost
        ms, mc = self._mean_success, self._mean_cost
        return (
            [a + k * (q - a) for q, a in zip(p, ms, strict=True)],
            [a + k * (c - a) for c, a in zip(cost, mc, strict=True)],
        )

    def score_many(self, unseen: np.ndarray, text: Any) -> np.ndarray:
        """Each task's novelty, from the batch's unseen-word shares and TF-IDF block."""
        return scores(counts_many(unseen, text, self.projection), self.reference)

    def shrink_many(
        self, p: np.ndarray, cost: np.ndarray, novelty: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        keep = trust(novelty, self.trust_max, self.near, self.far)
        if (keep == 1.0).all():
            return p, cost
        return shrink(p, cost, keep, self.mean_success, self.mean_cost)

    def describe(self) -> dict[str, Any]:
        """What metadata.json says about the support (JSON-ready)."""
        return {
            "counts": list(COUNTS),
            "reference": {
                name: {"median": float(m), "q99": float(q)}
                for name, (m, q) in zip(COUNTS, self.reference.tolist(), strict=True)
            },
            "trust_max": self.trust_max,
            "near": self.near,
            "far": None if math.isinf(self.far) else self.far,
            "rank": int(self.projection.shape[1]),
        }
