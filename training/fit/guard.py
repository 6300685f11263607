"""The hull guard: per tradeoff, route by the learned choice only where out-of-fold evidence says it beats
the best mix of fixed models; elsewhere route as that mix does.

At a tradeoff ``t`` the policy maximises ``success - mu(t) * cost``. Among mixes of fixed models the best
value of that utility is reached by one model (a vertex of the hull of fixed models: a linear objective over
a convex set peaks at a vertex), so "the best fixed mix at ``t``" is the single model ``j*(t)``. A learned
choice whose mean utility is at least ``j*(t)``'s lies on or above the hull's supporting line of slope
``mu(t)``, hence on or above the hull at its own cost. The guard therefore compares, on the training tasks'
out-of-fold predictions and real outcomes, the mean utility of these candidate rules with ``j*(t)``'s:

* the learned choice among every model;
* the learned choice among the models on the hull (dominated models, never worth choosing as fixed
  models, are dropped: with a weak signal a noisy pick among them loses to the mix);
* the learned choice between ``j*(t)`` and its neighbours on the hull (deciding per task what the mix
  would decide by coin);

and keeps the best one whose paired per-task gain over ``j*(t)`` is at least ``z`` standard errors above
zero; otherwise it keeps ``{j*(t)}`` alone. The outcome is a boolean mask per tradeoff of the grid
(``guard_mask``), applied at serving time by ``router.learned.policy.choose(..., allowed=...)``.

With the guard off (the default), the learned choice decides, by default (``FitParams.drop_dominated``)
among the hull's models plus the dominated ones that out-of-fold evidence shows earning their place
(``hull_models_mask``), in the same mask; and (``FitParams.fixed_fallback``, on by default) only at the
tradeoffs where it beats ``j*(t)`` by ``z`` standard errors of the paired out-of-fold utility: elsewhere the
row allows ``j*(t)`` alone (``fixed_fallback``). That is the guard's test with a single rule, the one the
router would use anyway, so nothing is chosen among rules on the same evidence. At ``t = 1`` it is the test
of "the per-task pick of the most likely to succeed" against "always the model that succeeded most often":
among models within a point of each other the per-task pick mostly follows noise in the estimates, and
always the top model is the better choice there.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from router.learned.policy import choose_many, mu_for

MIN_FULL_TASKS = 30  # below this many tasks with every model tried, unobserved pairs count at prediction

RULES = ("all models", "hull models", "hull neighbours")
#: Standard errors of the paired out-of-fold utility by which adding a dominated model to the hull's models
#: must beat choosing among the hull's alone, for it to stay choosable with the guard off. Three, not one:
#: out-of-fold gains run optimistic (on held-out thirds of the three real sets the learned choice's gain over
#: the hull came out 0.3-1.5 points below its out-of-fold estimate at the same tradeoff), and with a bar of
#: one standard error the dominated models came back on most SWE-bench splits, where they then lost.
SPECIALIST_Z = 3.0
#: Past this many evidence tasks the dominated-model test runs on a fixed random sample of them: 121
#: tradeoffs times one choice per dominated model over a million tasks would take tens of seconds.
MASK_EVIDENCE_TASKS = 100_000


@dataclass
class HullGuard:
    tradeoffs: np.ndarray  # (n_grid,)
    mask: np.ndarray  # (n_grid, n_models) bool: the models the choice may pick at each tradeoff
    decisions: list[str]  # per tradeoff: "learned (<rule>)" or "fixed <model>"
    gains: np.ndarray  # per tradeoff: out-of-fold mean utility gain of the kept rule over j*(t); 0 when off
    hull_models: list[str]

    def report(self) -> dict[str, Any]:
        """What the metadata, the evaluation and the MLflow run say about the guard."""
        learned = [d.startswith("learned") for d in self.decisions]
        return {
            "tradeoffs": [float(t) for t in self.tradeoffs],
            "decisions": self.decisions,
            "oof_gain": [float(g) for g in self.gains],
            "learned_share": float(np.mean(learned)),
            "hull_models": self.hull_models,
        }

    def decision_at(self, tradeoff: float) -> str:
        from router.learned.policy import guard_row

        return self.decisions[guard_row(tradeoff, self.tradeoffs.tolist())]


def hull_vertices(cost: np.ndarray, success: np.ndarray) -> list[int]:
    """Indices of the models on the rising upper hull of (cost, success), cheapest first."""
    order = sorted(range(len(cost)), key=lambda j: (cost[j], -success[j]))
    hull: list[int] = []
    for j in order:
        if hull and success[j] <= success[hull[-1]]:
            continue  # costs at least as much, succeeds no more: dominated
        while len(hull) >= 2:
            a, b = hull[-2], hull[-1]
            cross = (cost[b] - cost[a]) * (success[j] - success[a]) - (success[b] - success[a]) * (
                cost[j] - cost[a]
            )
            if cross < 0:
                break
            hull.pop()  # b lies on or below the segment from a to j
        hull.append(j)
    return hull


def hull_at(cost: float, mean_c: np.ndarray, mean_s: np.ndarray) -> float:
    """The best success a mix of fixed models reaches at ``cost`` (the cheapest model's below its cost)."""
    hull = hull_vertices(mean_c, mean_s)
    return float(np.interp(cost, mean_c[hull], mean_s[hull]))


def fixed_choice(mean_s: np.ndarray, mean_c: np.ndarray, mu: float) -> int:
    """The single fixed model that maximises mean utility at ``mu`` (ties to the cheaper)."""
    return int(choose_many(mean_s[None, :], mean_c[None, :], mu)[0])


def evidence(
    success: np.ndarray, cost: np.ndarray, observed: np.ndarray, oof_p: np.ndarray, oof_c: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The tasks and values the guard judges on: tasks with every model tried when there are enough of
    them; otherwise every task, unobserved pairs at their out-of-fold prediction."""
    full = observed.all(axis=1)
    if full.sum() >= MIN_FULL_TASKS:
        s, c, p, ch = success[full], cost[full], oof_p[full], oof_c[full]
    else:
        s, c, p, ch = np.where(observed, success, oof_p), np.where(observed, cost, oof_c), oof_p, oof_c
    return np.asarray(s, dtype=np.float64), c, p, ch


def hull_models_mask(
    success: np.ndarray,
    cost: np.ndarray,
    observed: np.ndarray,
    oof_p: np.ndarray,
    oof_c: np.ndarray,
    kappa: float,
    tradeoffs: np.ndarray,
    z: float = SPECIALIST_Z,
) -> tuple[np.ndarray, list[str]]:
    """With the guard off: per tradeoff, the models the learned choice may pick, and what it says.

    The models on the hull of fixed models may always be picked. A dominated model (one that a mix of
    others beats on average) is left out, unless adding it to the hull's models beats choosing among them
    alone by ``z`` standard errors of the paired out-of-fold utility. With a weak signal a noisy pick of a
    dominated model loses to the mix; a specialist, worse on average but the best buy on tasks the features
    recognise, keeps its place where the evidence shows it.
    """
    s, c, p, ch = evidence(success, cost, observed, oof_p, oof_c)
    n, m = s.shape
    on_hull = np.zeros(m, dtype=bool)
    on_hull[hull_vertices(c.mean(axis=0), s.mean(axis=0))] = True
    if n > MASK_EVIDENCE_TASKS:
        keep = np.sort(np.random.default_rng(0).choice(n, MASK_EVIDENCE_TASKS, replace=False))
        s, c, p, ch, n = s[keep], c[keep], p[keep], ch[keep], MASK_EVIDENCE_TASKS
    rows = np.arange(n)
    mask = np.tile(on_hull, (len(tradeoffs), 1))
    decisions = ["learned (hull models)"] * len(tradeoffs)
    if on_hull.all() or n < 2:
        return np.ones_like(mask), ["learned (all models)"] * len(tradeoffs)
    for k, t in enumerate(tradeoffs):
        mu = mu_for(float(t), kappa)
        if math.isinf(mu):
            continue  # cost alone decides: the cheapest model, which is on the hull
        within = choose_many(p, ch, mu, on_hull)
        hull_u = s[rows, within] - mu * c[rows, within]
        for d in np.flatnonzero(~on_hull):
            allowed = on_hull.copy()
            allowed[d] = True
            chosen = choose_many(p, ch, mu, allowed)
            diff = s[rows, chosen] - mu * c[rows, chosen] - hull_u
            if diff.mean() > z * float(diff.std(ddof=1) / math.sqrt(n)):
                mask[k, d] = True
        if mask[k].all():
            decisions[k] = "learned (all models)"
        elif (mask[k] & ~on_hull).any():
            decisions[k] = "learned (hull models and specialists)"
    return mask, decisions


def fixed_fallback(
    mask: np.ndarray,
    decisions: list[str],
    success: np.ndarray,
    cost: np.ndarray,
    observed: np.ndarray,
    oof_p: np.ndarray,
    oof_c: np.ndarray,
    kappa: float,
    tradeoffs: np.ndarray,
    models: list[str],
    z: float = 1.0,
    rows: Sequence[int] | None = None,
) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Per tradeoff, keep the learned choice among ``mask``'s models only where its paired out-of-fold utility
    beats the training hull's fixed choice ``j*(t)`` by ``z`` standard errors; elsewhere allow ``j*(t)``
    alone. Only the rows ``rows`` of the grid are weighed (default: every row). Returns the new mask,
    decisions and the out-of-fold gain of each weighed row kept (0 elsewhere).

    The evidence is ``evidence``'s (tasks with every model tried, or every task with unobserved pairs at
    their prediction), sampled past ``MASK_EVIDENCE_TASKS`` tasks as ``hull_models_mask`` samples it.
    """
    s, c, p, ch = evidence(success, cost, observed, oof_p, oof_c)
    mean_s, mean_c = s.mean(axis=0), c.mean(axis=0)
    n = len(s)
    if n > MASK_EVIDENCE_TASKS:
        keep = np.sort(np.random.default_rng(0).choice(n, MASK_EVIDENCE_TASKS, replace=False))
        s, c, p, ch, n = s[keep], c[keep], p[keep], ch[keep], MASK_EVIDENCE_TASKS
    tasks = np.arange(n)
    weighed = set(range(len(tradeoffs)) if rows is None else rows)
    mask, decisions = mask.copy(), list(decisions)
    gains = np.zeros(len(tradeoffs))
    for k, t in enumerate(tradeoffs):
        mu = mu_for(float(t), kappa)
        if k not in weighed or math.isinf(mu) or mask[k].sum() < 2:
            continue  # not asked; cost alone decides (the cheapest model); or no choice to keep
        star = fixed_choice(mean_s, mean_c, mu)
        chosen = choose_many(p, ch, mu, mask[k])
        diff = s[tasks, chosen] - mu * c[tasks, chosen] - (s[:, star] - mu * c[:, star])
        gain = float(diff.mean())
        se = float(diff.std(ddof=1) / math.sqrt(n)) if n > 1 else math.inf
        if gain > 0 and gain > z * se:
            gains[k] = gain
            continue
        mask[k] = False
        mask[k, star] = True
        decisions[k] = f"fixed {models[star]}"
    return mask, decisions, gains


def guard_off(
    success: np.ndarray,
    cost: np.ndarray,
    observed: np.ndarray,
    oof_p: np.ndarray,
    oof_c: np.ndarray,
    tradeoffs: np.ndarray,
    models: list[str],
) -> HullGuard:
    """The guard when it is off: every model allowed at every tradeoff, nothing weighed (``decide_guard``'s
    rules cost seconds on large logs, for decisions that would be thrown away)."""
    s, c, _, _ = evidence(success, cost, observed, oof_p, oof_c)
    return HullGuard(
        tradeoffs,
        np.ones((len(tradeoffs), len(models)), dtype=bool),
        ["learned (all models; guard off)"] * len(tradeoffs),
        np.zeros(len(tradeoffs)),
        [models[j] for j in hull_vertices(c.mean(axis=0), s.mean(axis=0))],
    )


def decide_guard(
    success: np.ndarray,
    cost: np.ndarray,
    observed: np.ndarray,
    oof_p: np.ndarray,
    oof_c: np.ndarray,
    kappa: float,
    tradeoffs: np.ndarray,
    models: list[str],
    z: float = 1.0,
) -> HullGuard:
    """Decide the guard from out-of-fold predictions (``oof_p``, ``oof_c``) and real outcomes.

    Tasks where every model was tried are the evidence; when fewer than ``MIN_FULL_TASKS`` exist (production
    logs hold one model per task), unobserved pairs count at their out-of-fold prediction.
    """
    s, c, p, ch = evidence(success, cost, observed, oof_p, oof_c)
    mean_s, mean_c = s.mean(axis=0), c.mean(axis=0)
    n, m = s.shape
    rows = np.arange(n)
    hull = hull_vertices(mean_c, mean_s)
    on_hull = np.zeros(m, dtype=bool)
    on_hull[hull] = True
    mask = np.zeros((len(tradeoffs), m), dtype=bool)
    decisions: list[str] = []
    gains = np.zeros(len(tradeoffs))
    for k, t in enumerate(tradeoffs):
        mu = mu_for(float(t), kappa)
        star = fixed_choice(mean_s, mean_c, mu)
        mask[k, star] = True
        decisions.append(f"fixed {models[star]}")
        if math.isinf(mu) or m < 2:
            continue  # cost alone decides: the cheapest model, learned or not
        position = hull.index(star) if star in hull else None
        neighbours = np.zeros(m, dtype=bool)
        neighbours[star] = True
        if position is not None:
            neighbours[hull[max(0, position - 1) : position + 2]] = True
        fixed_u = s[:, star] - mu * c[:, star]
        best_gain, best_rule = 0.0, None
        for rule, allowed in zip(RULES, (np.ones(m, dtype=bool), on_hull, neighbours), strict=True):
            if allowed.sum() < 2:
                continue
            chosen = choose_many(p, ch, mu, allowed)
            diff = s[rows, chosen] - mu * c[rows, chosen] - fixed_u
            gain = float(diff.mean())
            se = float(diff.std(ddof=1) / math.sqrt(n)) if n > 1 else math.inf
            if gain > best_gain and gain > z * se:
                best_gain, best_rule = gain, (rule, allowed)
        if best_rule is not None:
            mask[k] = best_rule[1]
            decisions[-1] = f"learned ({best_rule[0]})"
            gains[k] = best_gain
    return HullGuard(tradeoffs, mask, decisions, gains, [models[j] for j in hull])
