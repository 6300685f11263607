"""The heuristic router of the specification: the estimator's level, then the selector's model.

The public ``Router`` (``router.learned.router``) is this class plus ``Router.load``, which serves a trained
model behind the same methods; it lives above the learned stage so that this one never needs it.
"""

from __future__ import annotations

import logging
import math
import numbers
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from router._catalog import Catalog
from router._exceptions import InvalidInputError
from router._types import RoutingDecision, TaskComplexity, construct, new_decision_ids
from router.estimation.config import EstimatorConfig
from router.estimation.estimator import ComplexityEstimator, FileArg, check_descriptions, level_for
from router.selection.selector import ModelSelector

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
    ) -> RoutingDecision:
        """Decide which model should take one task.

        With a ``tradeoff`` the heuristic shifts the task's score by ``(tradeoff - 0.5) * 100`` before the
        level rule: 0 leans to cheaper models, 1 to stronger ones, and the expected cost never falls as it
        rises. A critical task stays critical for any tradeoff >= 0.5.
        """
        start = time.perf_counter()
        t = check_tradeoff(tradeoff)
        complexity = self.estimator.estimate(description, files, context)
        decision = self._decide(complexity, t)
        if self.collector is not None:
            self._emit(decision, time.perf_counter() - start, description)
        return decision

    def route_many(self, descriptions: Iterable[str], tradeoff: float | None = None) -> list[RoutingDecision]:
        """Route a batch of descriptions (no files or context) at one tradeoff."""
        start = time.perf_counter()
        t = check_tradeoff(tradeoff)
        texts = check_descriptions(descriptions)
        decisions = [self._decide(self.estimator.estimate(d), t) for d in texts]
        if self.collector is not None:
            self._emit_many(decisions, texts, time.perf_counter() - start)
        return decisions

    def _emit(self, decision: RoutingDecision, latency_s: float, description: str) -> None:
        """Tell the collector; a failing one is logged, never raised into the caller's decision."""
        collector = self.collector
        if collector is None:
            return
        try:
            collector.record_decision(decision, latency_s, description, self.model_uri)
        except Exception as exc:
            log.warning("telemetry collector failed (%r); the decision stands", exc)

    def _emit_many(self, decisions: list[RoutingDecision], texts: list[str], latency_s: float) -> None:
        each = latency_s / len(decisions) if decisions else 0.0  # a batch's decisions share its time
        for decision, text in zip(decisions, texts, strict=True):
            self._emit(decision, each, text)

    def _decide(
        self, complexity: TaskComplexity, tradeoff: float | None, source: str | None = None
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
            },
        )
