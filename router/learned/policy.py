"""The learned policy: from P(success) and expected cost per model to a choice, and an escalation order.

Choice at a tradeoff ``t`` in [0, 1]: the model maximising ``p - mu(t) * cost`` with
``mu(t) = kappa * (1 - t) / t``; ``t = 0`` takes the cheapest model and ``t = 1`` the most likely to succeed.
``kappa`` is the training data's success gained per dollar from the cheapest to the best model, so
``t = 0.5`` weighs a dollar as that average slope does. For a fixed task and a fixed set of allowed
models the chosen model's expected cost never falls as ``t`` rises (the argmax of a linear scalarisation
moves along the cost axis monotonically; ties go to the cheaper model).

Escalation: after the first choice, the next model is, among those with ``q - mu * cost > 0``, the one
with the most success per dollar ``q / cost``, where ``q`` is its chance of succeeding given that every
model tried so far failed, estimated on the training tasks (``failure_table``) and shifted by how this
task's predicted chance differs from the model's average. The chain stops when no remaining model is worth
its cost at this tradeoff, so a cascade is learned from data: which models to chain, in which order, and
when to stop.

Hull guard: a trained router also carries, per tradeoff of a grid, the set of models its choice may pick
(``guard_tradeoffs``, ``guard_mask``). Training decides it from out-of-fold evidence: the learned choice
among every model, among the models on the hull of fixed models, or only the single fixed model that the best
mix of fixed models would use at that tradeoff (a one-model set: routing exactly as that mix does).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

import numpy as np

MAX_CHAIN_MODELS = 12  # 2**12 subsets of failed models: the table stays under a few hundred KB


_MIN_TRADEOFF = 1e-9  # below this, a dollar outweighs any success gap: the cheapest model wins


def mu_for(tradeoff: float, kappa: float) -> float:
    """Dollars-to-success exchange rate at a tradeoff (infinite at 0: cost alone decides)."""
    if tradeoff < _MIN_TRADEOFF:
        return math.inf
    return kappa * (1.0 - tradeoff) / tradeoff


def choose(p: Sequence[float], cost: Sequence[float], mu: float, allowed: Sequence[int] | None = None) -> int:
    """Index of the chosen model for one task (ties to the cheaper model), among ``allowed`` (default all).

    Plain Python over lists (callers pass ``ndarray.tolist()``): for a handful of models numpy's per-call
    overhead costs more than the arithmetic.
    """
    if allowed is None:  # the common case, kept as lean as before the guard existed
        if math.isinf(mu):
            return min(range(len(cost)), key=cost.__getitem__)
        utility = [q - mu * c for q, c in zip(p, cost, strict=True)]
        best = max(utility)
        return min((c, j) for j, (u, c) in enumerate(zip(utility, cost, strict=True)) if u >= best - 1e-12)[1]
    if math.isinf(mu):
        return min(allowed, key=cost.__getitem__)
    allowed_utility = {j: p[j] - mu * cost[j] for j in allowed}
    top = max(allowed_utility.values())
    return min((cost[j], j) for j, u in allowed_utility.items() if u >= top - 1e-12)[1]


def choose_many(p: np.ndarray, cost: np.ndarray, mu: float, allowed: np.ndarray | None = None) -> np.ndarray:
    """Row-wise ``choose`` for a batch (rows are tasks), with the same tie rule; ``allowed`` is a boolean
    mask over models (default all)."""
    if math.isinf(mu):
        return np.argmin(cost if allowed is None else np.where(allowed, cost, np.inf), axis=1)
    utility = p - mu * cost
    if allowed is not None:
        utility = np.where(allowed, utility, -np.inf)
    near_best = utility >= utility.max(axis=1, keepdims=True) - 1e-12
    return np.argmin(np.where(near_best, cost, np.inf), axis=1)


def guard_row(tradeoff: float, guard_tradeoffs: Sequence[float]) -> int:
    """The row of the hull guard that governs ``tradeoff``: the nearest tradeoff the guard was decided at."""
    at = bisect.bisect_left(guard_tradeoffs, tradeoff)
    if at == 0:
        return 0
    if at == len(guard_tradeoffs):
        return at - 1
    return at if guard_tradeoffs[at] - tradeoff < tradeoff - guard_tradeoffs[at - 1] else at - 1


def failure_table(success: np.ndarray, observed: np.ndarray, prior_strength: float = 5.0) -> np.ndarray:
    """``table[F, m]``: P(m succeeds | every model in bit-set F failed), from a task x model outcome matrix.

    ``observed`` marks which pairs were tried. Estimates shrink towards the model's marginal rate with a
    Beta prior of ``prior_strength`` pseudo-tasks, so rare conditions do not give extreme values.
    """
    n_models = success.shape[1]
    if n_models > MAX_CHAIN_MODELS:
        raise ValueError(f"escalation tables support at most {MAX_CHAIN_MODELS} models, got {n_models}")
    won = (success >= 0.5) & observed
    marginal = (won.sum(0) + 1.0) / (observed.sum(0) + 2.0)
    table = np.empty((1 << n_models, n_models))
    for subset in range(1 << n_models):
        members = [j for j in range(n_models) if subset >> j & 1]
        failed_all = (
            np.all(observed[:, members] & ~won[:, members], axis=1) if members else np.ones(len(won), bool)
        )
        for m in range(n_models):
            rows = failed_all & observed[:, m]
            table[subset, m] = (won[rows, m].sum() + prior_strength * marginal[m]) / (
                rows.sum() + prior_strength
            )
    return table


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def base_logits(base: Sequence[float]) -> list[float]:
    """The models' base rates on ``escalation``'s logit scale (computed once per loaded model)."""
    return [_logit(b) for b in base]


def logit_table(table: np.ndarray) -> np.ndarray:
    """``failure_table`` on the logit scale, clipped as ``_logit`` clips (computed once per loaded model)."""
    clipped = np.clip(table, 1e-6, 1 - 1e-6)
    return np.log(clipped / (1 - clipped))


def escalation(
    first: int,
    p: Sequence[float],
    cost: Sequence[float],
    mu: float,
    table_logits: list[list[float]] | None,
    base: Sequence[float],
    *,
    base_logits: Sequence[float] | None = None,
) -> list[int]:
    """The chain of model indices to try, starting with ``first`` (``table_logits``: ``logit_table`` rows;
    ``base_logits``: ``base_logits(base)``, when the caller keeps them).

    Plain Python on purpose: with a handful of models, numpy's per-call overhead costs more than the loop.
    """
    chain = [first]
    if table_logits is None or math.isinf(mu):
        return chain
    if base_logits is None:
        base_logits = [_logit(b) for b in base]
    shift = [_logit(q) - b for q, b in zip(p, base_logits, strict=True)]
    failed = 1 << first
    remaining = [j for j in range(len(p)) if j != first]
    while remaining:
        row = table_logits[failed]
        # Worth trying: expected success gain above its price at this tradeoff. Among those, the most
        # success per dollar goes first (the classic order for "stop at the first success" searches).
        worth = []
        for j in remaining:
            q = 1.0 / (1.0 + math.exp(-(row[j] + shift[j])))
            if q - mu * cost[j] > 0:
                worth.append((q / max(cost[j], 1e-12), j))
        if not worth:
            break
        nxt = max(worth)[1]
        chain.append(nxt)
        failed |= 1 << nxt
        remaining.remove(nxt)
    return chain


def escalation_many(
    first: np.ndarray,
    p: np.ndarray,
    cost: np.ndarray,
    mu: float,
    table_logits: np.ndarray | None,
    base: np.ndarray,
) -> list[list[int]]:
    """``escalation`` for a batch (rows are tasks), one numpy step per link of the chain for all rows."""
    n, m = p.shape
    if table_logits is None or math.isinf(mu) or m < 2:
        return [[j] for j in first.tolist()]
    clipped = np.clip(p, 1e-6, 1 - 1e-6)
    base_clipped = np.clip(base, 1e-6, 1 - 1e-6)
    shift = np.log(clipped / (1 - clipped)) - np.log(base_clipped / (1 - base_clipped))
    rows = np.arange(n)
    chains = np.full((n, m), -1, dtype=np.int64)
    chains[:, 0] = first
    tried = np.zeros((n, m), dtype=bool)
    tried[rows, first] = True
    failed = np.left_shift(1, first.astype(np.int64))
    length = np.ones(n, dtype=np.int64)
    active = np.ones(n, dtype=bool)
    per_dollar_cost = np.maximum(cost, 1e-12)
    for step in range(1, m):
        q = 1.0 / (1.0 + np.exp(-(table_logits[failed] + shift)))
        worth = ~tried & (q - mu * cost > 0) & active[:, None]
        ratio = np.where(worth, q / per_dollar_cost, -np.inf)
        # Ties go to the higher index, as ``max`` over (ratio, index) pairs does in ``escalation``.
        nxt = m - 1 - np.argmax(ratio[:, ::-1], axis=1)
        active &= worth.any(axis=1)
        if not active.any():
            break
        chains[active, step] = nxt[active]
        tried[rows[active], nxt[active]] = True
        failed[active] |= np.left_shift(1, nxt[active])
        length[active] += 1
    return [chain[:k] for chain, k in zip(chains.tolist(), length.tolist(), strict=True)]
