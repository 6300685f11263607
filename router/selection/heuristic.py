"""The heuristic router of the specification: the estimator's level, then the selector's model.

The public ``Router`` (``router.learned.router``) is this class plus ``Router.load``, which serves a trained
model behind the same methods; it lives above the learned stage so that this one never needs it.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, Sequence

from router._catalog import Catalog
from router._exceptions import InvalidInputError
from router._metadata import batch_metadata, check_metadata
from router._types import RoutingDecision, TaskComplexity, construct, new_decision_ids
from router.estimation.config import EstimatorConfig
from router.estimation.estimator import ComplexityEstimator, FileArg, check_descriptions, level_for
from router.selection.selector import ModelSelector


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

    Examples
    --------
    >>> d = HeuristicRouter().route("Fix typo in README")
    >>> d.model, d.complexity.level.value
    ('haiku', 'simple')
    """

    source = "heuristic"

    def __init__(
        self,
        catalog: Catalog | None = None,
        *,
        estimator_config: EstimatorConfig | None = None,
        cost_threshold: float | None = None,
    ) -> None:
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

        ``metadata`` (string keys to string values: repository, project, language, ...) is checked here and
        used by a learned router; the heuristic does not use it.

        With a ``tradeoff`` the heuristic shifts the task's score by ``(tradeoff - 0.5) * 100`` before the
        level rule: 0 leans to cheaper models, 1 to stronger ones, and the expected cost never falls as it
        rises. A critical task stays critical for any tradeoff >= 0.5.
        """
        t = check_tradeoff(tradeoff)
        check_metadata(metadata)
        complexity = self.estimator.estimate(description, files, context)
        return self._decide(complexity, t)

    def route_many(
        self,
        descriptions: Iterable[str],
        tradeoff: float | None = None,
        metadata: Mapping[str, str] | Sequence[Mapping[str, str]] | None = None,
    ) -> list[RoutingDecision]:
        """Route a batch of descriptions (no files or context) at one tradeoff; ``metadata`` is one mapping
        for the batch or one per description (checked; used by a learned router)."""
        t = check_tradeoff(tradeoff)
        texts = check_descriptions(descriptions)
        batch_metadata(metadata, len(texts))
        return [self._decide(self.estimator.estimate(d), t) for d in texts]

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
