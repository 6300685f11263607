"""Score a trained artifact on an outcome log: the same report as cross-validation, for a fixed model."""

from __future__ import annotations

from typing import Any

import numpy as np

from router._exceptions import InvalidInputError
from router.learned.artifact import load_artifact
from router.learned.model import LearnedModel
from router.learned.router import resolve_uri
from training.data.outcomes import Outcomes, load_outcomes, task_matrix
from training.evaluation.crossval import CrossValidation, quality_report


def score_artifact(uri: str, outcomes: Outcomes) -> dict[str, Any]:
    arrays, meta = load_artifact(resolve_uri(uri))
    model = LearnedModel(arrays, meta)
    frame = load_outcomes(outcomes).frame
    unknown = sorted(set(frame["model"]) - set(model.names))
    if unknown:
        raise InvalidInputError(
            f"The log names models the router was not trained on: {unknown}. Trained on: {model.names}."
        )
    data = task_matrix(frame, model.names)
    p = np.zeros(data.success.shape)
    c = np.zeros(data.success.shape)
    for i, description in enumerate(data.descriptions):
        _, p[i], c[i] = model.analyze(description, data.facts[i])
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
    )
    return quality_report(cv)
