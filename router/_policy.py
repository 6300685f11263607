"""The learned policy: from P(success) and expected cost per model to a choice, and an escalation order.

Choice at a tradeoff ``t`` in [0, 1]: the model maximising ``p - mu(t) * cost`` with
``mu(t) = kappa * (1 - t) / t``; ``t = 0`` takes the cheapest model and ``t = 1`` the most likely to succeed.
``kappa`` is the training data's success gained per dollar from the cheapest to the best model, so
``t = 0.5`` weighs a dollar as that average slope does. For a fixed task the chosen model's expected cost
never falls as ``t`` rises (the argmax of a linear scalarisation moves along the cost axis monotonically;
ties go to the cheaper model).

Escalation: after the first choice, the next model is the one with the largest ``q - mu * cost`` where ``q``
is its chance of succeeding given that every model tried so far failed, estimated on the training tasks
(``failure_table``) and shifted by how this task's predicted chance differs from the model's average. The
chain stops when no remaining model is worth its cost at this tradeoff, so a cascade is learned from data:
where to start, which models to chain, when to stop.
"""

from __future__ import annotations

import math

import numpy as np

MAX_CHAIN_MODELS = 12  # 2**12 subsets of failed models: the table stays under a few hundred KB


def mu_for(tradeoff: float, kappa: float) -> float:
    if tradeoff <= 0.0:
        return math.inf
    return kappa * (1.0 - tradeoff) / tradeoff


def choose(p: np.ndarray, cost: np.ndarray, mu: float) -> int:
    """Index of the chosen model for one task (ties to the cheaper model)."""
    if math.isinf(mu):
        return int(np.argmin(cost))
    utility = p - mu * cost
    best = utility.max()
    candidates = np.flatnonzero(utility >= best - 1e-12)
    return int(candidates[np.argmin(cost[candidates])])


def choose_many(p: np.ndarray, cost: np.ndarray, mu: float) -> np.ndarray:
    """Row-wise ``choose`` for a batch (rows are tasks)."""
    if math.isinf(mu):
        return np.argmin(cost, axis=1)
    utility = p - mu * cost
    # Break ties towards the cheaper model: a tiny penalty by cost rank within each row.
    rank = np.argsort(np.argsort(cost, axis=1), axis=1)
    return np.argmax(utility - 1e-12 * rank, axis=1)


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
        failed_all = np.all(observed[:, members] & ~won[:, members], axis=1) if members else np.ones(len(won), bool)
        for m in range(n_models):
            rows = failed_all & observed[:, m]
            table[subset, m] = (won[rows, m].sum() + prior_strength * marginal[m]) / (rows.sum() + prior_strength)
    return table


def _logit(p: np.ndarray | float) -> np.ndarray | float:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def escalation(
    first: int, p: np.ndarray, cost: np.ndarray, mu: float, table: np.ndarray | None, base: np.ndarray
) -> list[int]:
    """The chain of model indices to try, starting with ``first``."""
    chain = [first]
    if table is None or math.isinf(mu):
        return chain
    shift = _logit(p) - _logit(base)
    failed = 1 << first
    remaining = set(range(len(p))) - {first}
    while remaining:
        idx = np.fromiter(remaining, dtype=np.int64)
        q = 1.0 / (1.0 + np.exp(-(_logit(table[failed, idx]) + shift[idx])))
        gain = q - mu * cost[idx]
        best = int(np.argmax(gain))
        if gain[best] <= 0:
            break
        nxt = int(idx[best])
        chain.append(nxt)
        failed |= 1 << nxt
        remaining.discard(nxt)
    return chain
