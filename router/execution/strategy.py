"""Fallback strategies and the plan after one failure: retry the same model, or which model to try next.

Handling per reason (the specification's table, whatever the strategy):

==============================  =====================================================================
Reason                          Plan
==============================  =====================================================================
RATE_LIMIT, UNAVAILABLE         switch now; retry the same model after backoff only if nothing else is
                                left (with the RETRY strategy: retry first, then switch)
TIMEOUT, SERVER_ERROR, UNKNOWN  retry with backoff up to ``max_retries``, then switch
CONTEXT_LENGTH                  switch to the cheapest model whose context window is larger and fits
INVALID_REQUEST                 switch (another model may accept it); never retry the same one
QUALITY                         follow the task's escalation order when it has one (a router's
                                decision: the learned chain may go to a cheaper model); otherwise
                                escalate to the cheapest stronger (dearer) model: a cascade
UNRECOVERABLE                   raise at once
==============================  =====================================================================

"Switch" takes the other models of the task's pool in the strategy's order; models not yet tried in this
task come before those already tried.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Hashable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from router._catalog import Catalog
from router.execution.failures import Failure, FailureReason


class FallbackStrategy(StrEnum):
    """The order in which other models are tried.

    - RETRY: the pool's order, and every transient failure (rate limit and unavailable included) is
      retried on the same model first;
    - DOWNGRADE: cheaper models, the nearest in price first, then dearer ones;
    - UPGRADE: dearer models, the nearest in price first, then cheaper ones;
    - ROUND_ROBIN: the pool's order, continuing after the model that failed;
    - BEST_AVAILABLE (default): the healthiest first (not cooling down, fewest consecutive failures), ties
      in the pool's order.
    """

    RETRY = "retry"
    DOWNGRADE = "downgrade"
    UPGRADE = "upgrade"
    ROUND_ROBIN = "round_robin"
    BEST_AVAILABLE = "best_available"


H = TypeVar("H", bound=Hashable)

_RETRY_FIRST = frozenset({FailureReason.TIMEOUT, FailureReason.SERVER_ERROR, FailureReason.UNKNOWN})
_SWITCH_FIRST = frozenset({FailureReason.RATE_LIMIT, FailureReason.UNAVAILABLE})
_NEVER_SAME = frozenset({FailureReason.CONTEXT_LENGTH, FailureReason.INVALID_REQUEST, FailureReason.QUALITY})


@dataclass(frozen=True, slots=True)
class Plan:
    """Models to try next, preferred first; ``retry_same`` says whether the first is the one that failed."""

    order: list[str]
    retry_same: bool


def order_by_strategy(
    strategy: FallbackStrategy,
    failed: str,
    others: list[str],
    pool: list[str],
    catalog: Catalog,
    health: Callable[[str], tuple[bool, int]],
) -> list[str]:
    """``others`` (pool models other than ``failed``) in the strategy's order.

    ``health(model)`` is (is cooling, consecutive failures): lower sorts first for BEST_AVAILABLE.
    """
    rank = {m.name: i for i, m in enumerate(catalog.by_price)}
    if strategy in (FallbackStrategy.DOWNGRADE, FallbackStrategy.UPGRADE):
        cheaper = sorted((m for m in others if rank[m] < rank[failed]), key=rank.__getitem__, reverse=True)
        dearer = sorted((m for m in others if rank[m] > rank[failed]), key=rank.__getitem__)
        return cheaper + dearer if strategy is FallbackStrategy.DOWNGRADE else dearer + cheaper
    if strategy is FallbackStrategy.ROUND_ROBIN and failed in pool:
        i = pool.index(failed)
        after = pool[i + 1 :] + pool[:i]
        return [m for m in after if m in others]
    if strategy is FallbackStrategy.BEST_AVAILABLE:
        return sorted(others, key=lambda m: (*health(m), pool.index(m)))
    return list(others)


def cascade_next(escalation: Sequence[H], tried: Container[H]) -> list[H]:
    """The models of ``escalation`` not yet ``tried`` in this task, in the escalation's order (names, or
    column indices offline).

    The one rule for where a rejected result goes next when a decision carries an escalation order: the
    handler follows it (``plan_next``) and the offline evaluation walks cascades with it
    (``training.evaluation.metrics.walk_cascade``), so the measured cascade is the one that executes.

    Examples
    --------
    >>> cascade_next(["sonnet", "haiku", "opus"], {"sonnet"})
    ['haiku', 'opus']
    """
    return [m for m in dict.fromkeys(escalation) if m not in tried]


def plan_next(
    failure: Failure,
    failed: str,
    *,
    strategy: FallbackStrategy,
    pool: list[str],
    attempts: Mapping[str, int],
    excluded: set[str],
    max_retries: int,
    catalog: Catalog,
    health: Callable[[str], tuple[bool, int]],
    escalation: Sequence[str] = (),
) -> Plan:
    """What to try after ``failure`` on ``failed``. Adds to ``excluded`` the models that can no longer help.

    ``attempts`` counts the attempts each model made in this task; a model is attempted at most
    ``1 + max_retries`` times. ``escalation``, when not empty, is the order a rejected result (QUALITY)
    follows, through ``cascade_next``; it ends where the escalation ends.
    """
    reason = failure.reason
    if reason in _NEVER_SAME or attempts.get(failed, 0) > max_retries:
        excluded.add(failed)
    others = [m for m in pool if m != failed and m not in excluded]
    if reason is FailureReason.CONTEXT_LENGTH:
        window = catalog.get(failed).context_window
        need = failure.tokens_needed or window + 1
        fitting = [
            m
            for m in others
            if catalog.get(m).context_window > window and catalog.get(m).context_window >= need
        ]
        others = _cheapest_first(fitting, catalog)
    elif reason is FailureReason.QUALITY and escalation:
        candidates = set(others)
        tried = {m for m, n in attempts.items() if n} | {failed}
        others = [m for m in cascade_next(escalation, tried) if m in candidates]
    elif reason is FailureReason.QUALITY:
        stronger = set(catalog.stronger_than(failed))
        others = _cheapest_first([m for m in others if m in stronger], catalog)
    else:
        others = order_by_strategy(strategy, failed, others, pool, catalog, health)
        # Fresh models first: a model that already failed this task is the weaker bet.
        others.sort(key=lambda m: attempts.get(m, 0) > 0)
    if failed in excluded:
        return Plan(others, retry_same=False)
    retry_first = reason in _RETRY_FIRST or (strategy is FallbackStrategy.RETRY and reason in _SWITCH_FIRST)
    if retry_first:
        return Plan([failed, *others], retry_same=True)
    return Plan([*others, failed], retry_same=not others)


def _cheapest_first(models: list[str], catalog: Catalog) -> list[str]:
    rank = {m.name: i for i, m in enumerate(catalog.by_price)}
    return sorted(models, key=rank.__getitem__)
