"""Score a trained artifact on an outcome log: the same report as cross-validation, for a fixed model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from router._exceptions import InvalidInputError
from router.learned.artifact import load_artifact
from router.learned.model import LearnedModel
from router.learned.router import resolve_uri
from training.data.outcomes import Outcomes, load_outcomes, task_matrix
from training.evaluation.crossval import CrossValidation, quality_report, require_full_tasks
from training.fit.router_fit import TRADEOFF_GRID


def unguarded_report(n_models: int) -> dict[str, Any]:
    """The guard report of an artifact trained before the hull guard: the learned choice everywhere."""
    return {
        "tradeoffs": TRADEOFF_GRID.tolist(),
        "decisions": ["learned (all models)"] * len(TRADEOFF_GRID),
        "learned_share": 1.0,
        "default": "learned (all models)",
        "dropped_models": [],
    }


def score_artifact(uri: str, outcomes: Outcomes, *, full_tasks_only: bool = True) -> dict[str, Any]:
    """The artifact's decision quality on the log's tasks where every model was tried (``tasks`` of
    ``tasks_in_log`` in the report); with ``full_tasks_only=False`` a partial log is refused with the
    off-policy command that fits it."""
    arrays, meta = load_artifact(resolve_uri(uri))
    model = LearnedModel(arrays, meta)
    frame = load_outcomes(outcomes).frame
    unknown = sorted(set(frame["model"]) - set(model.names))
    if unknown:
        raise InvalidInputError(
            f"The log names models the router was not trained on: {unknown}. Trained on: {model.names}."
        )
    data = task_matrix(frame, model.names)
    require_full_tasks(data, source=str(outcomes) if isinstance(outcomes, str | Path) else "LOG",
                       full_tasks_only=full_tasks_only)  # fmt: skip
    p = np.zeros(data.success.shape)
    c = np.zeros(data.success.shape)
    for i, description in enumerate(data.descriptions):
        metadata = data.metadata[i] if data.metadata is not None else None
        _, p[i], c[i] = model.analyze(description, data.facts[i], 0, metadata)
    n = len(data.task_ids)
    cv = CrossValidation(
        data,
        p,
        c,
        np.full(n, model.kappa),
        np.full(n, model.default_tradeoff),
        [model.chain_table],
        np.zeros(n, dtype=int),
        [model.base_rate],
        [arrays.get("guard_mask", np.ones((len(TRADEOFF_GRID), len(model.names)), dtype=bool))],
        [meta.get("hull_guard") or unguarded_report(len(model.names))],
    )
    return quality_report(cv, full_tasks_only=full_tasks_only)
