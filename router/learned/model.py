"""A trained router's arrays and the arithmetic that turns features into P(success) and cost per model."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from router._catalog import Catalog
from router._exceptions import ArtifactError, RouterError
from router._types import TaskComplexity, construct
from router.estimation.config import EstimatorConfig
from router.estimation.estimator import (
    ComplexityEstimator,
    FileArg,
    FileFacts,
    check_description,
    count_file_lines,
    level_for,
)
from router.learned.batch_features import BatchAnalysis
from router.learned.cascade import CascadePolicy
from router.learned.features import DENSE_NAMES, NO_FILES, Featurizer
from router.learned.metadata_features import MetadataFeatures
from router.learned.novelty import Support
from router.learned.policy import choose, guard_row, logit_table, mu_for

log = logging.getLogger("router")
BATCH_CHUNK = 256  # tasks per vectorised step of route_many


class LearnedModel:
    """The arrays of a trained router and the arithmetic that turns features into (p, cost) per model."""

    def __init__(self, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
        try:
            self.names = [str(n) for n in arrays["models"]]
            self.weights = np.asarray(arrays["weights"], dtype=np.float64)
            self.bias = np.asarray(arrays["bias"], dtype=np.float64)
            self.base_rate = np.asarray(arrays["base_rate"], dtype=np.float64)
            table = arrays["chain_table"]
            self.chain_table = table if table.size else None
            self.table_logits = None if self.chain_table is None else logit_table(self.chain_table)
            self.table_rows = None if self.table_logits is None else self.table_logits.tolist()
            self.catalog = Catalog.from_dict(meta["catalog"], source="artifact catalog")
            estimator = ComplexityEstimator(
                EstimatorConfig.model_validate(meta["estimator_config"]), recommend=lambda level: ""
            )
            self.featurizer = Featurizer.from_arrays(arrays, estimator)
            self.metadata_features = MetadataFeatures.from_arrays(arrays)
            self.kappa = float(meta["kappa"])
            self.default_tradeoff = float(meta["default_tradeoff"])
            self.levels = estimator.config
            self._guard_tradeoffs, self._guard_masks, self._guard_allowed = _guard(arrays, len(self.names))
            # The learned cascade (next_step), where the log had answers; None otherwise.
            self.cascade = CascadePolicy.from_arrays(arrays, self.names)
        except (KeyError, ValueError, TypeError, RouterError) as exc:
            raise ArtifactError(f"Router artifact is incomplete or inconsistent: {exc!r}") from exc
        m = len(self.names)
        n_text = len(self.featurizer.vocabulary_)
        expected = (len(DENSE_NAMES) + n_text + len(self.metadata_features), 2 * m)
        if self.weights.shape != expected or self.bias.shape != (2 * m,) or self.base_rate.shape != (m,):
            raise ArtifactError(
                f"Router artifact arrays have shapes weights {self.weights.shape}, bias {self.bias.shape}; "
                f"expected {expected} and ({2 * m},) for {m} models."
            )
        missing = [n for n in self.names if n not in self.catalog.models]
        if missing:
            raise ArtifactError(f"Router artifact models {missing} are not in its catalog.")
        self.configs = [self.catalog.models[n] for n in self.names]
        self._n_dense = len(DENSE_NAMES)
        # Fold the dense features' standardisation into the weights once, so a decision is one product:
        # ((x - mean) / scale) @ W + b  ==  x @ (W / scale) + (b - (mean / scale) @ W).
        dense_w = self.weights[: self._n_dense]
        scale, mean = self.featurizer.scale_[:, None], self.featurizer.mean_
        self._dense_w = dense_w / scale
        self._bias = self.bias - (mean / self.featurizer.scale_) @ dense_w
        self._text_w = self.weights[self._n_dense : self._n_dense + n_text]
        self._metadata_w = self.weights[self._n_dense + n_text :]
        # How far a task lies from the training tasks (None: an artifact trained before novelty).
        try:
            self.support = Support.from_arrays(arrays, m)
        except (KeyError, ValueError, TypeError) as exc:
            raise ArtifactError(f"Router artifact novelty arrays are inconsistent: {exc!r}") from exc

    def allowed(self, tradeoff: float) -> list[int] | None:
        """The models the hull guard lets the choice pick at ``tradeoff`` (None: every model)."""
        if not self._guard_tradeoffs:
            return None
        return self._guard_allowed[guard_row(tradeoff, self._guard_tradeoffs)]

    def allowed_mask(self, tradeoff: float) -> np.ndarray | None:
        """``allowed`` as a boolean mask over models, for ``choose_many``."""
        if not self._guard_tradeoffs:
            return None
        return self._guard_masks[guard_row(tradeoff, self._guard_tradeoffs)]

    def analyze(
        self,
        description: str,
        facts: FileFacts = NO_FILES,
        context_chars: int = 0,
        metadata: Mapping[str, str] | None = None,
    ) -> tuple[TaskComplexity, list[float], list[float]]:
        """The heuristic complexity, and P(success) and expected cost per model, of one validated task
        (pulled towards the model averages as far as the task is unlike the training tasks)."""
        one = self.assess(description, facts, context_chars, metadata)
        return one.complexity, one.p, one.cost

    def assess(
        self,
        description: str,
        facts: FileFacts = NO_FILES,
        context_chars: int = 0,
        metadata: Mapping[str, str] | None = None,
    ) -> Assessment:
        """``analyze`` with the task's novelty and the model's own estimates before shrinking."""
        heuristic, dense_raw, ids = self.featurizer.analyze_ids(description, facts, context_chars)
        text = self.featurizer.id_weights(ids)
        p_raw, cost_raw = self._predict(dense_raw, text, metadata)
        p, cost = p_raw.tolist(), cost_raw.tolist()
        support = self.support
        if support is None:
            return Assessment(heuristic, p, cost, p, cost, None)
        novelty = support.score_one(ids)
        shrunk_p, shrunk_cost = support.shrink_one(p, cost, novelty)
        return Assessment(heuristic, shrunk_p, shrunk_cost, p, cost, novelty)

    def predict(
        self, dense_raw: list[float], task_words: list[bytes], metadata: Mapping[str, str] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """P(success) and expected cost in dollars for every model, for one analysed task."""
        return self._predict(dense_raw, self.featurizer.text_weights(task_words), metadata)

    def _predict(
        self,
        dense_raw: list[float],
        text: tuple[np.ndarray, np.ndarray],
        metadata: Mapping[str, str] | None,
    ) -> tuple[np.ndarray, np.ndarray]:
        z = self._bias + np.asarray(dense_raw) @ self._dense_w
        idx, w = text
        if len(idx):
            z = z + w @ self._text_w[idx]
        extra = self.metadata_features.contribution(metadata, self._metadata_w)
        if extra is not None:
            z = z + extra
        return self._outputs(z)

    def predict_many(
        self,
        dense_raw: list[list[float]],
        words: list[list[bytes]],
        metadata: Sequence[Mapping[str, str] | None] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """``predict`` for a batch: one dense product and one sparse product for every task and model."""
        dense = np.asarray(dense_raw, dtype=np.float64).reshape(len(dense_raw), self._n_dense)
        z = self._bias + dense @ self._dense_w + self.featurizer.text_matrix(words) @ self._text_w
        return self._outputs(self._with_metadata(z, metadata))

    def predict_batch(
        self, analysis: BatchAnalysis, metadata: Sequence[Mapping[str, str] | None] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """``predict`` for a batch from ``Featurizer.analyze_batch``: one dense and one sparse product, plus
        the metadata block's contribution when the model has one."""
        z = (
            self._bias
            + analysis.dense @ self._dense_w
            + self.featurizer.batch_text_matrix(analysis) @ self._text_w
        )
        return self._outputs(self._with_metadata(z, metadata))

    def _with_metadata(
        self, z: np.ndarray, metadata: Sequence[Mapping[str, str] | None] | None
    ) -> np.ndarray:
        block = self.metadata_features
        if not len(block):
            return z
        if metadata is None:  # every trained key missing: the same mean contribution for every task
            extra = block.contribution(None, self._metadata_w)
            return z if extra is None else z + extra
        for i, row in enumerate(metadata):  # a few pairs per task: cheaper than a sparse block
            z[i] += block.contribution(row, self._metadata_w)
        return z

    def analyze_batch(
        self, texts: Sequence[str], metadata: Sequence[Mapping[str, str]] | None = None
    ) -> tuple[BatchAnalysis, np.ndarray, np.ndarray]:
        """The batch analysis, P(success) and expected cost per model (rows are tasks) of validated texts,
        pulled towards the model averages as far as each task is unlike the training tasks.

        ``metadata`` (checked by the caller, one mapping per task) feeds the metadata features when the
        model has them.
        """
        batch = self.assess_batch(texts, metadata)
        return batch.analysis, batch.p, batch.cost

    def assess_batch(
        self, texts: Sequence[str], metadata: Sequence[Mapping[str, str]] | None = None
    ) -> BatchAssessment:
        """``analyze_batch`` with each task's novelty and the estimates before shrinking: the one analysis
        ``route_many`` and ``route_table`` share."""
        analysis = self.featurizer.analyze_batch(texts)
        if self.support is None:
            p, cost = self.predict_batch(analysis, metadata)
            return BatchAssessment(analysis, p, cost, p, cost, None)
        text, unseen = self.featurizer.batch_text_unseen(analysis)
        z = self._bias + analysis.dense @ self._dense_w + text @ self._text_w
        p_raw, cost_raw = self._outputs(self._with_metadata(z, metadata))
        novelty = self.support.score_many(unseen)
        p, cost = self.support.shrink_many(p_raw, cost_raw, novelty)
        return BatchAssessment(analysis, p, cost, p_raw, cost_raw, novelty)

    def _outputs(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        m = len(self.names)
        finite = np.isfinite(z)
        if not finite.all():
            raise ArtifactError(
                f"learned model produced {int((~finite).sum())} non-finite scores of {z.size}"
            )
        return 1.0 / (1.0 + np.exp(-z[..., :m])), np.exp(z[..., m:])


@dataclass
class Assessment:
    """One task as the model sees it: estimates after shrinking (``p``, ``cost``), before (``p_raw``,
    ``cost_raw``), and its novelty (None for artifacts without a training support)."""

    complexity: TaskComplexity
    p: list[float]
    cost: list[float]
    p_raw: list[float]
    cost_raw: list[float]
    novelty: float | None


@dataclass
class BatchAssessment:
    """``Assessment`` for a batch, as arrays (rows are tasks)."""

    analysis: BatchAnalysis
    p: np.ndarray
    cost: np.ndarray
    p_raw: np.ndarray
    cost_raw: np.ndarray
    novelty: np.ndarray | None


def _guard(
    arrays: dict[str, np.ndarray], n_models: int
) -> tuple[list[float], np.ndarray, list[list[int] | None]]:
    """The hull guard's tradeoffs, masks, and per row the allowed model indices (None where all are).

    Artifacts trained before the guard carry no guard arrays: every model stays allowed.
    """
    if "guard_mask" not in arrays:
        return [], np.ones((0, n_models), dtype=bool), []
    masks = np.asarray(arrays["guard_mask"], dtype=bool)
    tradeoffs = np.asarray(arrays["guard_tradeoffs"], dtype=np.float64)
    if masks.shape != (len(tradeoffs), n_models) or not masks.any(axis=1).all():
        raise ArtifactError(
            f"Router artifact guard_mask has shape {masks.shape} with rows allowing no model; expected "
            f"({len(tradeoffs)}, {n_models}) with at least one model per row."
        )
    allowed = [None if row.all() else np.flatnonzero(row).tolist() for row in masks]
    return tradeoffs.tolist(), masks, allowed


class LearnedComplexityEstimator:
    """``estimate()`` as the heuristic has it, with score and level derived from the learned P(success).

    score = 100 x (1 - mean predicted P(success) over the candidate models); the level follows the same
    documented rule as the heuristic (a critical pattern makes a task critical; otherwise score bands).
    """

    def __init__(self, model: LearnedModel) -> None:
        self.model = model
        # "learned P(success): name 0.42, ..." as one format call (braces in a name are escaped).
        self._learned_reason = "learned P(success): " + ", ".join(
            n.replace("{", "{{").replace("}", "}}") + " {:.2f}" for n in model.names
        )

    def estimate(
        self, description: str, files: Sequence[FileArg] | None = None, context: str | None = None
    ) -> TaskComplexity:
        model = self.model
        heuristic, probs, costs = model.analyze(
            check_description(description), count_file_lines(files), len(context or "")
        )
        return self.learned(
            heuristic,
            probs,
            choose(
                probs,
                costs,
                mu_for(model.default_tradeoff, model.kappa),
                model.allowed(model.default_tradeoff),
            ),
        )

    def learned(self, heuristic: TaskComplexity, probs: list[float], recommended: int) -> TaskComplexity:
        """The heuristic's complexity with score, level, recommendation and reasons from the model."""
        return self.learned_from({**heuristic.__dict__}, probs, recommended)

    def learned_from(self, values: dict[str, Any], probs: list[float], recommended: int) -> TaskComplexity:
        """``learned`` from the heuristic complexity's fields (``BatchComplexity.record_values``), which it
        changes in place: one record per task instead of a heuristic one and its copy."""
        model = self.model
        score = 100.0 * (1.0 - sum(probs) / len(probs))
        learned = self._learned_reason.format(*probs)
        values["score"] = score
        values["level"] = level_for(score, values["is_critical"], model.levels)
        values["recommended_model"] = model.names[recommended]
        values["reasons"] = [*values["reasons"], learned]
        return construct(TaskComplexity, values)  # without revalidation
