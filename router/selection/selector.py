"""The model selector of the specification: level -> model, then context, availability and cost rules.

Token estimate (documented because the cost estimate rests on it): input tokens are the task's
``TaskComplexity.estimated_tokens`` (description and context at 4 characters a token, plus 10 tokens per line
of the files involved); output tokens are the catalog's ``[estimation.output_tokens]`` for the task's level,
capped at the model's ``max_output_tokens``.

Rules, in order:

1. an override is honoured as it is (an unknown name raises ``UnknownModelError``);
2. the level's routing entry gives the primary model and its alternatives;
3. a primary whose context window is smaller than the input estimate is upgraded to the first model that
   fits, looking at the level's alternatives in order, then the whole catalog cheapest first, and preferring
   an available model to an unavailable one;
4. an unavailable primary is replaced by the first available alternative that fits;
5. with a cost threshold, a choice whose estimated cost exceeds it is downgraded to the cheapest available,
   fitting alternative that is cheaper; if none is under the threshold the cheapest of them is taken.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any, Protocol

from router._catalog import Catalog
from router._exceptions import InvalidInputError, NoModelAvailableError
from router._types import ModelConfig, ModelSelection, TaskComplexity, construct


class Cooling(Protocol):
    """What selection asks of a circuit breaker (``router.execution.breaker``, a later stage)."""

    def is_cooling(self, model: str) -> bool: ...


class ModelSelector:
    """Chooses a model for an estimated task.

    Parameters
    ----------
    catalog : Catalog, optional
        The models to choose from; the packaged default (haiku, sonnet, opus) when omitted.
    cost_threshold : float, optional
        Dollars per call above which the selector downgrades to a cheaper alternative.
    breaker : Cooling, optional
        Models whose circuit is cooling down are treated as unavailable until their probe is due; the
        ``FallbackHandler`` attaches its breaker here when given this selector.

    Examples
    --------
    >>> from router import ComplexityEstimator
    >>> sel = ModelSelector().select(ComplexityEstimator().estimate("Fix typo in README"))
    >>> sel.model.name
    'haiku'
    """

    def __init__(
        self,
        catalog: Catalog | None = None,
        *,
        cost_threshold: float | None = None,
        breaker: Cooling | None = None,
    ) -> None:
        if cost_threshold is not None and (
            isinstance(cost_threshold, bool)
            or not isinstance(cost_threshold, int | float)
            or not cost_threshold >= 0  # also refuses NaN
        ):
            raise InvalidInputError(f"cost_threshold must be a number >= 0 or None, got {cost_threshold!r}")
        self.catalog = catalog or Catalog.default()
        self.cost_threshold = cost_threshold
        self.breaker = breaker
        self._available = {name: m.is_available for name, m in self.catalog.models.items()}
        self._lock = threading.Lock()
        self._chosen: Counter[str] = Counter()
        self._rules: Counter[str] = Counter()

    # -- catalog views -------------------------------------------------------------------------------
    def is_available(self, name: str) -> bool:
        self.catalog.get(name)
        return self._usable(name)

    def _usable(self, name: str) -> bool:
        # A cooling model is skipped like an unavailable one, but the manual flag is left alone: the breaker
        # lets it back in by itself once its cooldown is over.
        return self._available[name] and (self.breaker is None or not self.breaker.is_cooling(name))

    def update_model_availability(self, name: str, is_available: bool) -> None:
        """Mark a model available or not; unavailable models are skipped unless overridden."""
        self.catalog.get(name)  # raises for an unknown name
        self._available[name] = bool(is_available)

    def list_models(self, available_only: bool = False) -> list[ModelConfig]:
        """Catalog models, cheapest first, with their current availability."""
        return [
            m.model_copy(update={"is_available": self._usable(m.name)})
            for m in self.catalog.by_price
            if self._usable(m.name) or not available_only
        ]

    def estimate_cost(self, model: ModelConfig, complexity: TaskComplexity) -> tuple[float, int, int]:
        """(dollars, input tokens, output tokens) the documented estimate gives for this model and task."""
        output = min(self.catalog.output_tokens[complexity.level], model.max_output_tokens)
        return model.cost(complexity.estimated_tokens, output), complexity.estimated_tokens, output

    # -- selection -----------------------------------------------------------------------------------
    def select(self, complexity: TaskComplexity, override_model: str | None = None) -> ModelSelection:
        """Apply the rules of the module docstring and say which one decided."""
        return self._select(complexity, override_model, 1)

    def select_counted(self, complexity: TaskComplexity, count: int) -> ModelSelection:
        """``select`` for ``count`` tasks of the same level and size (the rules see nothing else), counted
        as ``count`` selections in the statistics: a batch selects once per distinct (level, size)."""
        return self._select(complexity, None, count)

    def _select(self, complexity: TaskComplexity, override_model: str | None, count: int) -> ModelSelection:
        if override_model is not None:
            model = self.catalog.get(override_model)
            return self._finish(
                model, [], f"override: {model.name} requested by the caller", "override", complexity, count
            )

        names = self.catalog.routing[complexity.level]
        primary = self.catalog.get(names[0])
        alternatives = [self.catalog.get(n) for n in names[1:]]
        rule = "level"
        reason = f"{complexity.level.value} task -> {primary.name}"
        tokens = complexity.estimated_tokens

        if primary.context_window < tokens:
            fitting = [m for m in alternatives + self.catalog.by_price if m.context_window >= tokens]
            if not fitting:
                raise NoModelAvailableError(
                    f"No model's context window fits the task's ~{tokens} input tokens; largest is "
                    f"{max(m.context_window for m in self.catalog.models.values())} tokens."
                )
            # An available model that fits beats an unavailable one that rule 4 would have to replace.
            upgrade = next((m for m in fitting if self._usable(m.name)), fitting[0])
            reason += f"; upgraded to {upgrade.name}: ~{tokens} tokens exceed {primary.name}'s context window"
            primary, rule = upgrade, "context_upgrade"

        if not self._usable(primary.name):
            usable = [m for m in alternatives if self._usable(m.name) and m.context_window >= tokens]
            if not usable:
                raise NoModelAvailableError(
                    f"{primary.name} is unavailable and no alternative is both available and fits ~{tokens} "
                    f"input tokens (alternatives: {', '.join(m.name for m in alternatives) or 'none'})."
                )
            reason += f"; {primary.name} unavailable, using {usable[0].name}"
            primary, rule = usable[0], "unavailable"

        if self.cost_threshold is not None:
            cost = self.estimate_cost(primary, complexity)[0]
            if cost > self.cost_threshold:
                cheaper = sorted(
                    (
                        m
                        for m in alternatives
                        if self._usable(m.name)
                        and m.context_window >= tokens
                        and self.estimate_cost(m, complexity)[0] < cost
                    ),
                    key=lambda m: self.estimate_cost(m, complexity)[0],
                )
                if cheaper:
                    reason += (
                        f"; downgraded to {cheaper[0].name}: est. ${cost:.5f} on {primary.name} "
                        f"exceeds the ${self.cost_threshold:g} threshold"
                    )
                    primary, rule = cheaper[0], "cost_downgrade"

        return self._finish(
            primary,
            [m for m in alternatives if m.name != primary.name]
            + ([self.catalog.get(names[0])] if primary.name != names[0] else []),
            reason,
            rule,
            complexity,
            count,
        )

    def _finish(
        self,
        model: ModelConfig,
        alternatives: list[ModelConfig],
        reason: str,
        rule: str,
        complexity: TaskComplexity,
        count: int = 1,
    ) -> ModelSelection:
        cost, tokens_in, tokens_out = self.estimate_cost(model, complexity)
        with self._lock:
            self._chosen[model.name] += count
            self._rules[rule] += count
        return construct(
            ModelSelection,
            {
                "model": model,
                "reason": reason,
                "alternatives": alternatives,
                "estimated_cost": cost,
                "estimated_input_tokens": tokens_in,
                "estimated_output_tokens": tokens_out,
            },
        )

    def get_statistics(self) -> dict[str, Any]:
        """Selections made, by model and by the rule that decided them."""
        with self._lock:
            return {
                "total_selections": sum(self._chosen.values()),
                "by_model": dict(self._chosen),
                "by_rule": dict(self._rules),
                "unavailable_models": sorted(n for n in self._available if not self._usable(n)),
            }
