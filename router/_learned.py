"""The learned router: a trained artifact served in-process behind the ``Router`` interface.

A decision is a handful of numpy operations on the featurizer's output: the same features training used,
one matrix product for every model's success logit and log-cost, then the policy (``_policy``). No network
call and no MLflow on the decision path; MLflow is imported only to fetch a ``models:/`` or ``runs:/`` URI.

If the artifact cannot be used, ``load_router`` logs a warning and returns the heuristic router (or raises
``ArtifactError`` when ``strict``); if a decision fails unexpectedly, that one decision falls back to the
heuristic and a warning is logged, so the decision path never crashes on a broken model.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from router._artifact import load_artifact
from router._catalog import Catalog
from router._config import EstimatorConfig
from router._estimator import (
    ComplexityEstimator,
    FileArg,
    FileFacts,
    check_description,
    count_file_lines,
    level_for,
)
from router._exceptions import ArtifactError, InvalidInputError, RouterError
from router._features import DENSE_NAMES, Featurizer
from router._paths import default_tracking_uri
from router._policy import choose, escalation, mu_for
from router._router import Router, check_tradeoff
from router._types import ModelSelection, RoutingDecision, TaskComplexity

log = logging.getLogger("router")


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
            self.catalog = Catalog.from_dict(meta["catalog"], source="artifact catalog")
            estimator = ComplexityEstimator(
                EstimatorConfig.model_validate(meta["estimator_config"]), recommend=lambda level: ""
            )
            self.featurizer = Featurizer.from_arrays(arrays, estimator)
            self.kappa = float(meta["kappa"])
            self.default_tradeoff = float(meta["default_tradeoff"])
            self.levels = estimator.config
        except (KeyError, ValueError, TypeError, RouterError) as exc:
            raise ArtifactError(f"Router artifact is incomplete or inconsistent: {exc!r}") from exc
        m = len(self.names)
        expected = (len(DENSE_NAMES) + len(self.featurizer.vocabulary_), 2 * m)
        if self.weights.shape != expected or self.bias.shape != (2 * m,) or self.base_rate.shape != (m,):
            raise ArtifactError(
                f"Router artifact arrays have shapes weights {self.weights.shape}, bias {self.bias.shape}; "
                f"expected {expected} and ({2 * m},) for {m} models."
            )
        missing = [n for n in self.names if n not in self.catalog.models]
        if missing:
            raise ArtifactError(f"Router artifact models {missing} are not in its catalog.")
        self._n_dense = len(DENSE_NAMES)
        # Fold the dense features' standardisation into the weights once, so a decision is one product:
        # ((x - mean) / scale) @ W + b  ==  x @ (W / scale) + (b - (mean / scale) @ W).
        dense_w = self.weights[: self._n_dense]
        scale, mean = self.featurizer.scale_[:, None], self.featurizer.mean_
        self._dense_w = dense_w / scale
        self._bias = self.bias - (mean / self.featurizer.scale_) @ dense_w
        self._text_w = self.weights[self._n_dense :]

    def predict(self, dense_raw: list[float], task_terms: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """P(success) and expected cost in dollars for every model, for one analysed task."""
        z = self._bias + np.asarray(dense_raw) @ self._dense_w
        idx, w = self.featurizer.text_weights(task_terms)
        if len(idx):
            z = z + w @ self._text_w[idx]
        m = len(self.names)
        if not np.all(np.isfinite(z)):
            raise ArtifactError(f"learned model produced non-finite scores {z.tolist()}")
        return 1.0 / (1.0 + np.exp(-z[:m])), np.exp(z[m:])


class LearnedComplexityEstimator:
    """``estimate()`` as the heuristic has it, with score and level derived from the learned P(success).

    score = 100 x (1 - mean predicted P(success) over the candidate models); the level follows the same
    documented rule as the heuristic (a critical pattern makes a task critical; otherwise score bands).
    """

    def __init__(self, model: LearnedModel) -> None:
        self.model = model

    def estimate(
        self, description: str, files: Sequence[FileArg] | None = None, context: str | None = None
    ) -> TaskComplexity:
        facts = count_file_lines(files)
        return self._estimate(check_description(description), facts, len(context or ""))[0]

    def _estimate(
        self, description: str, facts: FileFacts, context_chars: int, tradeoff: float | None = None
    ) -> tuple[TaskComplexity, np.ndarray, np.ndarray, int]:
        model = self.model
        heuristic, dense_raw, task_terms = model.featurizer.analyze(description, facts, context_chars)
        p, cost = model.predict(dense_raw, task_terms)
        score = float(100.0 * (1.0 - p.mean()))
        level = level_for(score, heuristic.is_critical, model.levels)
        t = model.default_tradeoff if tradeoff is None else tradeoff
        chosen = choose(p, cost, mu_for(t, model.kappa))
        learned = "learned P(success): " + ", ".join(
            f"{n} {q:.2f}" for n, q in zip(model.names, p.tolist(), strict=True)
        )
        complexity = TaskComplexity.model_construct(  # a copy with four fields changed, without revalidation
            **{
                **heuristic.__dict__,
                "score": score,
                "level": level,
                "recommended_model": model.names[chosen],
                "reasons": [*heuristic.reasons, learned],
            }
        )
        return complexity, p, cost, chosen


class LearnedRouter(Router):
    """A trained router behind the ``Router`` interface (see ``Router.load``).

    Parameters
    ----------
    model : LearnedModel
        The verified artifact.
    exploration_rate : float
        Share of decisions that pick a model uniformly at random, so production logs cover every model;
        each decision's ``propensity`` is the probability with which its model was chosen.
    seed : int, optional
        Seed of the exploration's random choices.
    """

    source = "learned"

    def __init__(
        self, model: LearnedModel, *, exploration_rate: float = 0.0, seed: int | None = None
    ) -> None:
        super().__init__(model.catalog, estimator_config=model.levels)
        if not 0.0 <= exploration_rate <= 1.0:
            raise InvalidInputError(f"exploration_rate must be in [0, 1], got {exploration_rate!r}")
        self.model = model
        self.learned_estimator = LearnedComplexityEstimator(model)
        self.exploration_rate = exploration_rate
        self._rng = random.Random(seed)

    @property
    def default_tradeoff(self) -> float:
        return self.model.default_tradeoff

    def route(
        self,
        description: str,
        files: Sequence[FileArg] | None = None,
        context: str | None = None,
        tradeoff: float | None = None,
    ) -> RoutingDecision:
        t = check_tradeoff(tradeoff)
        text = check_description(description)
        if context is not None and not isinstance(context, str):
            raise InvalidInputError(f"context must be a str or None, got {type(context).__name__}")
        return self._learned_decision(text, count_file_lines(files), len(context or ""), t)

    def route_many(self, descriptions: Iterable[str], tradeoff: float | None = None) -> list[RoutingDecision]:
        t = check_tradeoff(tradeoff)
        if isinstance(descriptions, str):
            raise InvalidInputError(
                "descriptions must be a list of str, got one str; use route() for one task"
            )
        facts = FileFacts(0, 0)
        return [self._learned_decision(check_description(d), facts, 0, t) for d in descriptions]

    def _learned_decision(
        self, description: str, facts: FileFacts, context_chars: int, tradeoff: float | None
    ) -> RoutingDecision:
        try:
            return self._decide_learned(description, facts, context_chars, tradeoff)
        except Exception as exc:  # never let a broken model take the orchestrator down
            log.warning("learned router failed (%r); falling back to the heuristic for this decision", exc)
            complexity = self.estimator.estimate_text(description.lower(), facts, context_chars)
            return self._decide(complexity, tradeoff, source=Router.source)

    def _decide_learned(
        self, description: str, facts: FileFacts, context_chars: int, tradeoff: float | None
    ) -> RoutingDecision:
        model = self.model
        t = model.default_tradeoff if tradeoff is None else tradeoff
        complexity, p, cost, greedy = self.learned_estimator._estimate(description, facts, context_chars, t)
        mu = mu_for(t, model.kappa)
        chosen, propensity = greedy, 1.0
        n = len(model.names)
        if self.exploration_rate > 0.0:
            if self._rng.random() < self.exploration_rate:
                chosen = self._rng.randrange(n)
            propensity = self.exploration_rate / n + (1.0 - self.exploration_rate) * (chosen == greedy)
        chain = escalation(chosen, p, cost, mu, model.chain_table, model.base_rate)
        names = model.names
        config = model.catalog.models[names[chosen]]
        reason = (
            f"learned policy at tradeoff {t:.2f}: {names[chosen]} (P(success) {p[chosen]:.2f}, "
            f"expected ${cost[chosen]:.4f})" + ("; exploring" if chosen != greedy else "")
        )
        selection = ModelSelection.model_construct(
            model=config,
            reason=reason,
            alternatives=[model.catalog.models[names[j]] for j in chain[1:]],
            estimated_cost=float(cost[chosen]),
            estimated_input_tokens=complexity.estimated_tokens,
            estimated_output_tokens=0,
        )
        return RoutingDecision.model_construct(
            model=names[chosen],
            complexity=complexity,
            selection=selection,
            reason=reason,
            p_success=dict(zip(names, p.tolist(), strict=True)),
            expected_cost_usd=dict(zip(names, cost.tolist(), strict=True)),
            escalation=[names[j] for j in chain],
            tradeoff=t,
            propensity=propensity,
            source=self.source,
            decision_id=uuid.uuid4().hex,
        )


def resolve_uri(uri: str | Path) -> Path:
    """A local directory holding ``metadata.json`` for a path, ``models:/NAME@ALIAS`` or ``runs:/ID/PATH``."""
    text = str(uri)
    if text.startswith(("models:/", "runs:/")):
        try:
            import mlflow  # only here: fetching from a registry, never while deciding
        except ImportError as exc:  # pragma: no cover - mlflow is a dependency
            raise ArtifactError(f"Loading {text!r} needs mlflow: {exc}") from exc
        # Unless the process or the environment names a tracking server, read the embedded store training
        # writes to by default (not MLflow's own default, ./mlflow.db of the working directory). Set for the
        # process, as training does: MLflow's registry look-up ignores a per-call registry URI.
        if not mlflow.tracking.is_tracking_uri_set():
            mlflow.set_tracking_uri(default_tracking_uri())
        try:
            local = Path(mlflow.artifacts.download_artifacts(artifact_uri=text))
        except Exception as exc:  # mlflow raises several unrelated types for a missing model
            raise ArtifactError(f"Cannot fetch {text!r} from MLflow: {exc}") from exc
    else:
        local = Path(text)
    if (local / "metadata.json").is_file() or not local.is_dir():
        return local
    # An MLflow pyfunc model (training._tracking_pyfunc) keeps the artifact under artifacts/router.
    if (local / "artifacts" / "router" / "metadata.json").is_file():
        return local / "artifacts" / "router"
    found = sorted(local.rglob("metadata.json"))
    return found[0].parent if found else local


def load_router(
    uri: str | Path, *, strict: bool = False, exploration_rate: float = 0.0, seed: int | None = None
) -> Router:
    """See ``Router.load``."""
    try:
        arrays, meta = load_artifact(resolve_uri(uri))
        return LearnedRouter(LearnedModel(arrays, meta), exploration_rate=exploration_rate, seed=seed)
    except ArtifactError as exc:
        if strict:
            raise
        log.warning("%s Falling back to the heuristic router.", exc)
        return Router()
