"""A columnar batch result: one numpy array per field of the decisions, no record per task.

``route_table`` fills it (heuristic and learned routers alike) for large batches: replaying logged tasks to
evaluate a candidate router, re-scoring traffic for drift. ``route_many`` returns the same decisions as
``RoutingDecision`` records.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True, slots=True)
class RouteTable:
    """Decisions for a batch of tasks as columns (row ``i`` is the ``i``-th description).

    Attributes
    ----------
    models : tuple of str
        Names of the columns of ``p_success`` and ``expected_cost_usd``.
    model : ndarray of str
        The chosen model of each task.
    model_index : ndarray of int64
        Its column in ``models``.
    level : ndarray of str
        The complexity level (``ComplexityLevel`` values) of each decision's ``complexity``.
    score : ndarray of float64
        The complexity score (0-100) of each decision's ``complexity``.
    p_success : ndarray of float64, shape (tasks, models)
        Predicted P(success) per model; NaN for the heuristic router, which predicts none.
    expected_cost_usd : ndarray of float64, shape (tasks, models)
        Expected cost in dollars per model.
    propensity : ndarray of float64
        The probability with which each task's model was chosen (1.0 without exploration).
    tradeoff : float or None
        The tradeoff the batch was routed at.
    source : str
        ``"learned"`` or ``"heuristic"``.
    novelty : ndarray of float64
        How far each task lies from the learned router's training tasks, as ``RoutingDecision.novelty``
        (0 typical, 1 as unusual as the most unusual 1% of training tasks); NaN where the router scores
        none (the heuristic router, an artifact trained before novelty or with ``novelty=False``). Left
        out, it is all NaN.
    """

    models: tuple[str, ...]
    model: np.ndarray
    model_index: np.ndarray
    level: np.ndarray
    score: np.ndarray
    p_success: np.ndarray
    expected_cost_usd: np.ndarray
    propensity: np.ndarray
    tradeoff: float | None
    source: str
    novelty: np.ndarray = None  # type: ignore[assignment]  # None: NaN for every task (__post_init__)

    def __post_init__(self) -> None:
        if self.novelty is None:  # frozen: set through object, as dataclasses do
            object.__setattr__(self, "novelty", np.full(len(self.model_index), np.nan))

    def __len__(self) -> int:
        return len(self.model_index)

    def to_pandas(self) -> Any:
        """A ``pandas.DataFrame``: model, level, score, propensity, novelty, then ``p_success.<model>``
        and ``expected_cost_usd.<model>`` per model. Needs pandas (imported here, never by
        ``import router``)."""
        import pandas as pd

        columns: dict[str, Any] = {
            "model": self.model,
            "level": self.level,
            "score": self.score,
            "propensity": self.propensity,
            "novelty": self.novelty,
        }
        for j, name in enumerate(self.models):
            columns[f"p_success.{name}"] = self.p_success[:, j]
        for j, name in enumerate(self.models):
            columns[f"expected_cost_usd.{name}"] = self.expected_cost_usd[:, j]
        return pd.DataFrame(columns)


def concat_tables(parts: Sequence[RouteTable]) -> RouteTable:
    """One table from the tables of consecutive chunks of a batch (at least one part)."""
    first = parts[0]
    if len(parts) == 1:
        return first
    return RouteTable(
        models=first.models,
        model=np.concatenate([p.model for p in parts]),
        model_index=np.concatenate([p.model_index for p in parts]),
        level=np.concatenate([p.level for p in parts]),
        score=np.concatenate([p.score for p in parts]),
        p_success=np.concatenate([p.p_success for p in parts]),
        expected_cost_usd=np.concatenate([p.expected_cost_usd for p in parts]),
        propensity=np.concatenate([p.propensity for p in parts]),
        tradeoff=first.tradeoff,
        source=first.source,
        novelty=np.concatenate([p.novelty for p in parts]),
    )
