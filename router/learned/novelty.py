"""How far a task lies from the router's training tasks, and estimates pulled towards model averages there.

A learned router's P(success) and cost per model are only as good as the tasks it was trained on: on text
unlike anything in training they can be confidently wrong. So a trained router also carries its training
support: the distribution, over the training tasks, of the share of a task's words that no vocabulary term
contains (``unseen``), and each model's mean success and cost on the training log. A task's novelty is its
unseen share on the scale of that distribution, ``(x - median) / (q99 - median)`` floored at 0: 0 for a
typical task, 1 for one as unusual as the most unusual 1% of training tasks, more for a task further out.

Shrinking: each model's P(success) and expected cost move towards what training saw for that model overall
(its mean success and mean cost on the training log) by ``1 - trust(novelty)``, where trust is
``trust_max`` up to ``novelty = near``, falls linearly to 0 at ``novelty = far`` and stays 0 beyond. Fully
shrunk, every task has the same estimates, so the choice is the single fixed model that the training log's
means pick at that tradeoff: the training hull's fixed choice. ``near`` and ``far`` are learned at
training from folds that hold out whole groups of tasks (a metadata value, a task type, or a cluster of
similar tasks), and ``trust_max`` from the out-of-fold predictions of every training task; never set by hand
(``training.fit.novelty``).

For one task the score costs well under a microsecond: one count over the word ids the featurizer looks up
anyway. The shrinkage is per task and does not depend on
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
REFERENCE = "novelty_reference"  # (1, 2): the training tasks' median and 99th percentile of the count
TRUST = "novelty_trust"  # (3,): trust_max, near, far
MEAN_SUCCESS = "novelty_mean_success"  # (n_models,): each model's mean success on the training log
MEAN_COST = "novelty_mean_cost"  # (n_models,): each model's mean cost on the training log
#: Two more counts were tried. The dense features' distance: on held-out clusters of the shared sets its
#: outliers (long or code-heavy tasks) were routed as well as any, so it only blurred the unseen share. The
#: share of the TF-IDF row outside the training text's top 16 directions: weaker than the unseen share (23%
#: of MATH level 5 problems past GSM8K's 99th percentile, against 59%) and about 20 us per decision.
COUNTS = ("unseen",)
#: The reason a decision carries when pulling estimates towards the model averages changed its choice.
REASON = "unlike the training tasks: estimates pulled towards model averages"


def unseen_share(ids: np.ndarray) -> float:
    """One task's share of words no vocabulary term contains, from its word ids (0: unseen; 0 if none)."""
    return float(np.count_nonzero(ids == 0) / len(ids)) if len(ids) else 0.0


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
    x = np.asarray(novelty, dtype=np.float64)
    # Full trust up to ``near`` inclusive (a step when ``near == far``), then linearly none at ``far``.
    ramp = np.where(x <= near, 1.0, np.clip((far - x) / max(far - near, 1e-9), 0.0, 1.0))
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
    def from_arrays(cls, arrays: dict[str, np.ndarray], n_models: int) -> Support | None:
        """The support an artifact carries, or None for artifacts trained before novelty."""
        if REFERENCE not in arrays:
            return None
        reference = np.asarray(arrays[REFERENCE], dtype=np.float64)
        values = np.asarray(arrays[TRUST], dtype=np.float64)
        mean_s = np.asarray(arrays[MEAN_SUCCESS], dtype=np.float64)
        mean_c = np.asarray(arrays[MEAN_COST], dtype=np.float64)
        if (
            reference.shape != (len(COUNTS), 2)
            or values.shape != (3,)
            or mean_s.shape != (n_models,)
            or mean_c.shape != (n_models,)
            or not np.isfinite(values[:2]).all()
        ):
            raise ArtifactError(
                f"Router artifact novelty arrays have shapes {REFERENCE} {reference.shape}, {TRUST} "
                f"{values.shape}, {MEAN_SUCCESS} {mean_s.shape}, {MEAN_COST} {mean_c.shape}; expected "
                f"({len(COUNTS)}, 2), (3,), ({n_models},), ({n_models},)."
            )
        return cls(reference, float(values[0]), float(values[1]), float(values[2]), mean_s, mean_c)

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {
            REFERENCE: self.reference,
            TRUST: np.array([self.trust_max, self.near, self.far], dtype=np.float64),
            MEAN_SUCCESS: self.mean_success,
            MEAN_COST: self.mean_cost,
        }

    def score_one(self, ids: np.ndarray) -> float:
        """One task's novelty from its word ids (see the module's docstring)."""
        return max(0.0, (unseen_share(ids) - self._median[0]) / self._spread[0])

    def keep_one(self, novelty: float) -> float:
        """``trust`` for one task, in plain Python."""
        if novelty <= self.near:
            return self.trust_max
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

    def score_many(self, unseen: np.ndarray) -> np.ndarray:
        """Each task's novelty, from the batch's unseen-word shares."""
        return scores(unseen[:, None], self.reference)

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
        }
