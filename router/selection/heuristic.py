"""The heuristic router of the specification: the estimator's level, then the selector's model.

The public ``Router`` (``router.learned.router``) is this class plus ``Router.load``, which serves a trained
model behind the same methods; it lives above the learned stage so that this one never needs it.
"""

from __future__ import annotations

import logging
import math
import numbers
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from router._catalog import Catalog
from router._exceptions import InvalidInputError
from router._metadata import Metadata, batch_metadata, check_metadata, decision_metadata
from router._types import (
    ComplexityLevel,
    RoutingDecision,
    Step,
    TaskComplexity,
    TaskType,
    construct,
    gc_paused,
    new_decision_ids,
)
from router._uncounted import counting, uncounted
from router.estimation.batch_estimate import (
    LEVELS,
    TASK_TYPES,
    BatchComplexity,
    estimate_batch,
    levels_for,
)
from router.estimation.config import EstimatorConfig
from router.estimation.estimator import ComplexityEstimator, FileArg, check_descriptions, level_for
from router.estimation.text_batch import text_batch
from router.selection.next_step import check_attempts, follow_escalation
from router.selection.selector import ModelSelector
from router.selection.table import RouteTable, concat_tables

# Tasks per numpy pass of route_table: temporaries small enough for malloc to reuse; at 2,048 every batch
# faulted in fresh pages (6.5 us of system time per task).
TABLE_CHUNK = 512

if TYPE_CHECKING:
    from router._sink import EventSink

log = logging.getLogger("router")


def check_tradeoff(tradeoff: object) -> float | None:
    if tradeoff is None:
        return None
    # numbers.Real: numpy scalars too, as a policy sweep may pass them; bool is an int but not a tradeoff.
    value = (
        float(tradeoff) if isinstance(tradeoff, numbers.Real) and not isinstance(tradeoff, bool) else math.nan
    )
    if not 0 <= value <= 1:  # also refuses NaN
        raise InvalidInputError(f"tradeoff must be a number in [0, 1] or None, got {tradeoff!r}")
    return value


class HeuristicRouter:
    """Decides which model should take a task by the specification's rules: estimator, then selector.

    Parameters
    ----------
    catalog : Catalog, optional
        Models, prices and the level routing table; the packaged default when omitted.
    estimator_config : EstimatorConfig, optional
        Weights and keywords of the heuristic estimator; the packaged default when omitted.
    cost_threshold : float, optional
        Dollars per call above which the selector downgrades.
    collector : EventSink, optional
        Receives every decision (``router.telemetry.Collector``); without one nothing is recorded.

    Examples
    --------
    >>> d = HeuristicRouter().route("Fix typo in README")
    >>> d.model, d.complexity.level.value
    ('haiku', 'simple')
    """

    source = "heuristic"
    #: What the telemetry names as the served model (the artifact's URI for a learned router).
    model_uri: str | None = None

    def __init__(
        self,
        catalog: Catalog | None = None,
        *,
        estimator_config: EstimatorConfig | None = None,
        cost_threshold: float | None = None,
        collector: EventSink | None = None,
    ) -> None:
        self.collector = collector
        self.catalog = catalog or Catalog.default()
        self.estimator = ComplexityEstimator(estimator_config, recommend=self.catalog.primary_for)
        self.selector = ModelSelector(self.catalog, cost_threshold=cost_threshold)

    def route(
        self,
        description: str,
        files: Sequence[FileArg] | None = None,
        context: str | None = None,
        tradeoff: float | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> RoutingDecision:
        """Decide which model should take one task.

        ``metadata`` (string keys to string values: repository, project, language, ...) is checked here,
        carried by the decision (``decision.metadata``, for the ledger) and used by a learned router; the
        heuristic does not decide by it.

        With a ``tradeoff`` the heuristic shifts the task's score by ``(tradeoff - 0.5) * 100`` before the
        level rule: 0 leans to cheaper models, 1 to stronger ones, and the expected cost never falls as it
        rises. A critical task stays critical for any tradeoff >= 0.5.
        """
        start = time.perf_counter()
        t = check_tradeoff(tradeoff)
        meta = check_metadata(metadata) or None
        complexity = self.estimator.estimate(description, files, context)
        decision = self._decide(complexity, t, metadata=meta, description=description)
        if self.collector is not None:
            self._emit(decision, time.perf_counter() - start, description)
        return decision

    def route_many(
        self,
        descriptions: Iterable[str],
        tradeoff: float | None = None,
        metadata: Mapping[str, str] | Sequence[Mapping[str, str]] | None = None,
    ) -> list[RoutingDecision]:
        """Route a batch of descriptions (no files or context) at one tradeoff; ``metadata`` is one mapping
        for the batch or one per description (checked, carried by each decision, used by a learned router)."""
        start = time.perf_counter()
        t = check_tradeoff(tradeoff)
        texts = check_descriptions(descriptions)
        metas = decision_metadata(batch_metadata(metadata, len(texts)), len(texts))
        decisions = []
        with gc_paused():
            for at in range(0, len(texts), TABLE_CHUNK):
                # The batch estimate (numpy over the chunk), then the records route() would build.
                found = self._estimate_batch(texts[at : at + TABLE_CHUNK])
                decisions += [
                    self._decide(c, t, metadata=m, description=text)
                    for c, m, text in zip(
                        found.records(self.estimator),
                        metas[at : at + TABLE_CHUNK],
                        texts[at : at + TABLE_CHUNK],
                        strict=True,
                    )
                ]
        if self.collector is not None:
            self._emit_many(decisions, texts, time.perf_counter() - start)
        return decisions

    def next_step(
        self,
        description: str,
        attempts: Sequence[object],
        *,
        tradeoff: float | None = None,
        files: Sequence[FileArg] | None = None,
        context: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> Step:
        """What to do next for a task, given the attempts already made: call a model, or stop.

        The heuristic cascade: the models of ``route(...).escalation`` in turn, stopping at the first
        attempt whose answer is not empty (what the fallback handler did before answers existed). With no
        attempt, the router's choice; after an empty answer, the escalation's next model not yet tried; when
        none is left, stop with no answer (``answer_from=None``). ``p_correct`` is None: the heuristic has no
        model of whether an answer is right. A learned router overrides this with its acceptance model.

        Parameters
        ----------
        description, tradeoff, files, context, metadata
            As given to ``route`` for this task.
        attempts : sequence
            ``(model, answer, output)`` tuples, or objects with those attributes, in the order made;
            ``model`` is a catalog model, ``answer`` and ``output`` are str or None.

        Returns
        -------
        Step
            ``model`` to call next or None to stop, ``answer_from`` the index in ``attempts`` of the answer
            to return, and ``reasons`` in words.

        Raises
        ------
        InvalidInputError
            An attempt of another shape or a model outside the catalog (naming its index and value), or
            the arguments ``route`` refuses.

        Examples
        --------
        >>> r = HeuristicRouter()
        >>> r.next_step("Fix typo in README", []).model
        'haiku'
        >>> r.next_step("Fix typo in README", [("haiku", "", "no idea")]).model
        'sonnet'
        >>> step = r.next_step("Fix typo in README", [("haiku", "", ""), ("sonnet", "done", "done")])
        >>> step.model, step.answer_from
        (None, 1)
        """
        checked = check_attempts(attempts, self.catalog)
        with uncounted():  # routing the task again is not a new decision
            escalation = self.route(description, files, context, tradeoff, metadata).escalation
        return follow_escalation(escalation, checked)

    def _emit(self, decision: RoutingDecision, latency_s: float, description: str) -> None:
        """Tell the collector; a failing one is logged, never raised into the caller's decision."""
        collector = self.collector
        if collector is None or not counting():
            return
        try:
            collector.record_decision(decision, latency_s, description, self.model_uri)
        except Exception as exc:
            log.warning("telemetry collector failed (%r); the decision stands", exc)

    def _emit_many(self, decisions: list[RoutingDecision], texts: list[str], latency_s: float) -> None:
        each = latency_s / len(decisions) if decisions else 0.0  # a batch's decisions share its time
        for decision, text in zip(decisions, texts, strict=True):
            self._emit(decision, each, text)

    def _estimate_batch(self, texts: list[str]) -> BatchComplexity:
        """The estimator's arrays for a chunk of validated texts, counted in its statistics as ``estimate``
        counts each task."""
        found = estimate_batch(self.estimator, text_batch(texts))
        self.estimator.count_batch(
            (LEVELS[i].value for i in found.level.tolist()),
            (TASK_TYPES[i].value for i in found.task_type.tolist()),
            float(found.score.sum()),
        )
        return found

    def route_table(
        self,
        descriptions: Iterable[str],
        tradeoff: float | None = None,
        metadata: Metadata | Sequence[Metadata] | None = None,
    ) -> RouteTable:
        """Route a batch (no files or context) and return the decisions as columns, without records.

        The same decisions as ``route_many`` (model, complexity level and score, expected cost per model),
        computed in numpy over the whole batch. ``metadata`` is one mapping of str to str for every task,
        or one per description; it is checked, and used by routers that have metadata features.
        """
        t = check_tradeoff(tradeoff)
        texts = check_descriptions(descriptions)
        batch_metadata(metadata, len(texts))
        parts = [self._table(texts[at : at + TABLE_CHUNK], t) for at in range(0, len(texts), TABLE_CHUNK)]
        return concat_tables(parts) if parts else self._table([], t)

    def _table(self, texts: list[str], tradeoff: float | None, source: str | None = None) -> RouteTable:
        estimator, catalog = self.estimator, self.catalog
        found = self._estimate_batch(texts)
        routed = found.level
        if tradeoff is not None and tradeoff != 0.5:
            shifted = np.minimum(100.0, np.maximum(0.0, found.score + (tradeoff - 0.5) * 100))
            routed = levels_for(shifted, found.is_critical & (tradeoff >= 0.5), estimator.config)
        # Selection sees only a task's level and size: select once per distinct pair.
        models = [m.name for m in catalog.by_price]
        pairs, which = np.unique(routed * (1 << 40) + found.estimated_tokens, return_inverse=True)
        counts = np.bincount(which, minlength=len(pairs))
        chosen = np.empty(len(pairs), dtype=np.int64)
        costs = np.empty((len(pairs), len(models)))
        for g, (pair, count) in enumerate(zip(pairs.tolist(), counts.tolist(), strict=True)):
            task = _sized_task(LEVELS[pair >> 40], pair & ((1 << 40) - 1))
            chosen[g] = models.index(self.selector.select_counted(task, count).model.name)
            costs[g] = [self.selector.estimate_cost(m, task)[0] for m in catalog.by_price]
        index = chosen[which]
        return RouteTable(
            models=tuple(models),
            model=np.array(models, dtype=str)[index] if len(texts) else np.array([], dtype=str),
            model_index=index,
            level=np.array([lvl.value for lvl in LEVELS])[found.level],
            score=found.score,
            p_success=np.full((len(texts), len(models)), np.nan),
            expected_cost_usd=costs[which].reshape(len(texts), len(models)),
            propensity=np.ones(len(texts)),
            tradeoff=tradeoff,
            source=source or self.source,
        )

    def _decide(
        self,
        complexity: TaskComplexity,
        tradeoff: float | None,
        source: str | None = None,
        metadata: dict[str, str] | None = None,
        description: str | None = None,
    ) -> RoutingDecision:
        routed = complexity
        if tradeoff is not None and tradeoff != 0.5:
            shifted = min(100.0, max(0.0, complexity.score + (tradeoff - 0.5) * 100))
            level = level_for(shifted, complexity.is_critical and tradeoff >= 0.5, self.estimator.config)
            routed = complexity.model_copy(update={"level": level})
        selection = self.selector.select(routed)
        chosen = selection.model.name
        expected = {m.name: self.selector.estimate_cost(m, routed)[0] for m in self.catalog.by_price}
        return construct(
            RoutingDecision,
            {
                "model": chosen,
                "complexity": complexity,
                "selection": selection,
                "reason": selection.reason,
                "p_success": {},
                "expected_cost_usd": expected,
                "escalation": [chosen, *self.catalog.stronger_than(chosen)],
                "tradeoff": tradeoff,
                "propensity": 1.0,
                "source": source or self.source,
                "decision_id": new_decision_ids(1)[0],
                "metadata": metadata,
                "novelty": None,
                "model_version": None,
                "description": description,
                "cascade_start": None,
            },
        )


def _sized_task(level: ComplexityLevel, tokens: int) -> TaskComplexity:
    """A task of this level and size: all that selection and its cost estimate read."""
    return construct(
        TaskComplexity,
        {
            "score": 0.0,
            "level": level,
            "task_type": TaskType.GENERAL,
            "recommended_model": "",
            "reasons": [],
            "factor_points": {},
            "file_count": 0,
            "line_count": 0,
            "estimated_tokens": tokens,
            "is_critical": level is ComplexityLevel.CRITICAL,
            "has_security_implications": False,
            "has_performance_requirements": False,
            "has_concurrency": False,
            "requires_architecture_change": False,
            "requires_deep_reasoning": False,
        },
    )
