"""Off-policy estimates of a policy's mean success, mean cost per task and utility, from a partial log.

For task ``i`` with models ``a`` observed with probability ``q[i, a]`` (the logged propensity of the first
attempt, or 1 on a full-information task) and a policy choosing ``a`` with probability ``pi[i, a]``, the
importance ratio of an observed pair is ``pi / q`` and:

* **IPS** (inverse propensity scoring): the mean over tasks of ``sum_a ratio * r``;
* **SNIPS** (self-normalised): ``sum_i sum_a ratio * r / sum_i sum_a ratio``, biased by O(1/n), less
  variable when ratios are large;
* **DR** (doubly robust): the mean of ``sum_a pi * r_hat + sum_a ratio * (r - r_hat)``, with ``r_hat`` the
  cross-fitted reward model (:mod:`.reward`): unbiased when the propensities are right, whatever the reward
  model, and close to it in variance when the reward model is good.

Intervals are normal intervals with the bootstrap's standard error over tasks (the reward model held fixed:
cross-fitting keeps each task's prediction independent of its own outcome). Utility is
``success - cost_weight * cost``, both from the same resample; a paired difference of two policies uses one
shared resample, so what the tasks have in common cancels.

Support: with ``w_i = sum_a ratio``, the effective sample size ``(sum w)^2 / sum w^2`` and the largest weight
are reported. A choice the logging policy could never have made has no weight to correct it: the share of the
policy's choices that are models the log never holds, or another model than the one a task's logging router
chose with propensity 1, is measured, and above ``max_unsupported`` the estimate is refused.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from router._exceptions import InvalidInputError
from training.evaluation.ope.logs import PartialLog
from training.evaluation.ope.policies import Policy
from training.evaluation.ope.reward import Rewards, fit_rewards

ESTIMATORS = ("dr", "ips", "snips")
BOOTSTRAP = 200
MAX_UNSUPPORTED = 0.05
CONFIDENCE = 0.95
_Z = {0.95: 1.959964, 0.9: 1.644854}  # two-sided normal quantiles; 0.9 two-sided = 0.95 one-sided
_SURE = 1.0 - 1e-9  # a propensity this close to 1: the logging router could choose nothing else


@dataclass
class Interval:
    """A point estimate and its two-sided interval."""

    value: float
    ci_low: float
    ci_high: float


@dataclass
class Support:
    """How well the log supports a policy: effective sample size, largest weight, unsupported share."""

    ess: float
    max_weight: float
    unsupported_share: float
    matched_tasks: int


@dataclass
class PolicyEstimate:
    """One policy's estimated success, cost and utility on a log, with the log's own observed figures."""

    policy: str
    estimator: str
    n_tasks: int
    full_information_tasks: int
    cost_weight: float
    success: Interval
    cost_usd: Interval
    utility: Interval
    support: Support
    logging: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of ``router evaluate --ope --json``."""
        return {
            "policy": self.policy,
            "estimator": self.estimator,
            "n_tasks": self.n_tasks,
            "full_information_tasks": self.full_information_tasks,
            "ess": self.support.ess,
            "max_weight": self.support.max_weight,
            "unsupported_share": self.support.unsupported_share,
            "matched_tasks": self.support.matched_tasks,
            "cost_weight": self.cost_weight,
            "estimates": {
                "success": asdict(self.success),
                "cost_usd": asdict(self.cost_usd),
                "utility": asdict(self.utility),
            },
            "logging_policy": self.logging,
        }


@dataclass
class Terms:
    """One policy's per-task pieces: numerators of success and cost, and SNIPS's denominators."""

    success: np.ndarray
    cost: np.ndarray
    norm: np.ndarray | None


def check_estimator(estimator: str) -> str:
    if estimator not in ESTIMATORS:
        raise InvalidInputError(f"Unknown estimator {estimator!r}. Allowed: {', '.join(ESTIMATORS)}.")
    return estimator


def on_log(log: PartialLog, names: list[str], probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A policy's probabilities over the log's models, and per task the mass on models the log never holds."""
    index = {n: j for j, n in enumerate(log.models)}
    mapped = np.zeros((len(probs), len(log.models)))
    outside = np.zeros(len(probs))
    for k, name in enumerate(names):
        if name in index:
            mapped[:, index[name]] += probs[:, k]
        else:
            outside += probs[:, k]
    return mapped, outside


def ratios(log: PartialLog, probs: np.ndarray) -> np.ndarray:
    """``pi / q`` on the observed pairs, 0 elsewhere (where ``q`` is 0 and nothing was seen)."""
    return np.divide(probs, log.probability, out=np.zeros_like(probs), where=log.observed)


def support(log: PartialLog, probs: np.ndarray, outside: np.ndarray) -> Support:
    ratio = ratios(log, probs)
    weight = ratio.sum(axis=1)
    sure = ~log.full & (log.probability[np.arange(log.n_tasks), log.first] >= _SURE)
    off_choice = probs.sum(axis=1) - probs[np.arange(log.n_tasks), log.first]
    unsupported = outside + np.where(sure, off_choice, 0.0)
    total = float(weight.sum())
    return Support(
        ess=total**2 / float((weight**2).sum()) if total > 0 else 0.0,
        max_weight=float(weight.max()),
        unsupported_share=float(unsupported.mean()),
        matched_tasks=int((weight > 0).sum()),
    )


def refuse_unsupported(found: Support, n_tasks: int, max_unsupported: float, who: str) -> None:
    if found.unsupported_share <= max_unsupported:
        return
    raise InvalidInputError(
        f"{found.unsupported_share:.1%} of {who}'s choices (about {found.unsupported_share * n_tasks:.0f} of "
        f"{n_tasks} tasks) are models the logging policy could never have chosen there (it chose another "
        f"model with propensity 1, or the log never holds the model); above {max_unsupported:.0%} an "
        "estimate would be a guess, so none is given. Log with exploration so that every model has a chance "
        "on every task: Router.load(uri, exploration_rate=0.1) records each decision's propensity."
    )


def task_terms(log: PartialLog, probs: np.ndarray, estimator: str, rewards: Rewards | None) -> Terms:
    ratio = ratios(log, probs)
    s = np.nan_to_num(log.success)
    c = np.nan_to_num(log.cost)
    if estimator == "dr":
        assert rewards is not None
        return Terms(
            (probs * rewards.success).sum(axis=1) + (ratio * (s - rewards.success)).sum(axis=1),
            (probs * rewards.cost).sum(axis=1) + (ratio * (c - rewards.cost)).sum(axis=1),
            None,
        )
    return Terms(
        (ratio * s).sum(axis=1), (ratio * c).sum(axis=1), ratio.sum(axis=1) if estimator == "snips" else None
    )


def resample_sums(vectors: np.ndarray, bootstrap: int, seed: int) -> np.ndarray:
    """Sums of each row of ``vectors`` (k x n tasks) over ``bootstrap`` resamples of the tasks: (B, k).

    Every row sees the same resamples, so differences between rows are paired.
    """
    k, n = vectors.shape
    rng = np.random.default_rng(seed)
    out = np.empty((bootstrap, k))
    chunk = max(1, 2_000_000 // n)
    for start in range(0, bootstrap, chunk):
        size = min(chunk, bootstrap - start)
        draws = rng.integers(0, n, size=(size, n)) + (np.arange(size) * n)[:, None]
        counts = np.bincount(draws.ravel(), minlength=size * n).reshape(size, n)
        out[start : start + size] = counts @ vectors.T
    return out


def _values(sums: np.ndarray, terms: Terms, n: int, at: int) -> tuple[np.ndarray, np.ndarray]:
    """Success and cost from a policy's columns of (B, k) sums: plain means, or SNIPS ratios."""
    if terms.norm is None:
        return sums[:, at] / n, sums[:, at + 1] / n
    den = np.where(sums[:, at + 2] > 0, sums[:, at + 2], np.nan)
    return sums[:, at] / den, sums[:, at + 1] / den


def _columns(terms: Terms) -> list[np.ndarray]:
    return [terms.success, terms.cost] + ([terms.norm] if terms.norm is not None else [])


def _interval(point: float, draws: np.ndarray, confidence: float = CONFIDENCE) -> Interval:
    """``point`` plus or minus the normal quantile times the bootstrap's standard error.

    Not the percentiles of the draws: with a few large importance weights the resampled means are skewed
    and narrow exactly when a rare large term is missing, and the percentile interval then covers the truth
    less often (0.895 against 0.935 for this one in the synthetic study of ``tests/training``).
    """
    half = _Z[confidence] * float(np.nanstd(draws, ddof=1))
    return Interval(float(point), float(point - half), float(point + half))


def _logging(log: PartialLog) -> dict[str, float]:
    rows = np.arange(log.n_tasks)
    return {
        "success": float(np.mean(log.success[rows, log.first])),
        "cost_usd": float(np.mean(log.cost[rows, log.first])),
        "spend_per_task_usd": float(np.mean(log.spend)),
    }


@dataclass
class Prepared:
    """A policy made ready for one log: its probabilities, support and per-task terms."""

    name: str
    probs: np.ndarray
    support: Support
    terms: Terms


def prepare(
    log: PartialLog,
    policy: Policy,
    *,
    estimator: str,
    rewards: Rewards | None,
    max_unsupported: float,
    who: str = "the policy",
) -> Prepared:
    names, raw = policy.probabilities(log.descriptions, log.facts, log.metadata)
    probs, outside = on_log(log, names, raw)
    return prepare_probabilities(
        log, policy.name, probs, outside, estimator=estimator, rewards=rewards,
        max_unsupported=max_unsupported, who=who,
    )  # fmt: skip


def prepare_probabilities(
    log: PartialLog,
    name: str,
    probs: np.ndarray,
    outside: np.ndarray | None = None,
    *,
    estimator: str,
    rewards: Rewards | None,
    max_unsupported: float,
    who: str = "the policy",
) -> Prepared:
    """``prepare`` for probabilities already on the log's models (``outside``: mass on other models)."""
    found = support(log, probs, np.zeros(log.n_tasks) if outside is None else outside)
    refuse_unsupported(found, log.n_tasks, max_unsupported, f"{who} ({name})")
    return Prepared(name, probs, found, task_terms(log, probs, estimator, rewards))


def _estimate(
    prepared: Prepared, sums: np.ndarray, at: int, log: PartialLog, estimator: str, cost_weight: float
) -> tuple[PolicyEstimate, np.ndarray]:
    """The policy's estimate from its columns of the shared resample, and its utility draws."""
    n = log.n_tasks
    full = np.vstack(_columns(prepared.terms)).sum(axis=1)[None, :]
    point_s, point_c = _values(full, prepared.terms, n, 0)
    draw_s, draw_c = _values(sums, prepared.terms, n, at)
    utility = draw_s - cost_weight * draw_c
    estimate = PolicyEstimate(
        policy=prepared.name, estimator=estimator, n_tasks=n, full_information_tasks=int(log.full.sum()),
        cost_weight=cost_weight, success=_interval(point_s[0], draw_s),
        cost_usd=_interval(point_c[0], draw_c),
        utility=_interval(point_s[0] - cost_weight * point_c[0], utility), support=prepared.support,
        logging=_logging(log),
    )  # fmt: skip
    return estimate, np.column_stack([draw_s, draw_c, utility])


def evaluate_policy(
    log: PartialLog,
    policy: Policy,
    *,
    estimator: str = "dr",
    cost_weight: float | None = None,
    rewards: Rewards | None = None,
    bootstrap: int = BOOTSTRAP,
    seed: int = 0,
    max_unsupported: float = MAX_UNSUPPORTED,
) -> PolicyEstimate:
    """Estimate ``policy``'s mean success, cost per task and utility on ``log``, with 95% intervals.

    Parameters
    ----------
    log : PartialLog
        From :func:`training.evaluation.ope.logs.partial_log`.
    policy : Policy
        What to judge (see :mod:`.policies`).
    estimator : {"dr", "ips", "snips"}
        Doubly robust (default), inverse propensity scoring, or its self-normalised form.
    cost_weight : float, optional
        Success points one dollar is worth in the utility ``success - cost_weight * cost``; default the
        policy's own exchange rate (a learned router's at its tradeoff; 0 for the others).
    rewards : Rewards, optional
        A cross-fitted reward model for DR (fit here when omitted).
    bootstrap, seed
        Resamples of the tasks for the intervals, and their seed.
    max_unsupported : float
        Largest share of the policy's choices without logging support before the estimate is refused.
    """
    check_estimator(estimator)
    if estimator == "dr" and rewards is None:
        rewards = fit_rewards(log, seed=seed)
    prepared = prepare(log, policy, estimator=estimator, rewards=rewards, max_unsupported=max_unsupported)
    weight = policy.cost_weight if cost_weight is None else cost_weight
    sums = resample_sums(np.vstack(_columns(prepared.terms)), bootstrap, seed)
    return _estimate(prepared, sums, 0, log, estimator, weight)[0]


@dataclass
class PairedEstimate:
    """Two policies on one log, and the difference candidate - champion with one shared resample."""

    candidate: PolicyEstimate
    champion: PolicyEstimate
    difference: dict[str, Interval]
    lower_bound: dict[str, float]  # one-sided 95% lower bound of each difference

    def to_dict(self) -> dict[str, Any]:
        return {
            "candidate": self.candidate.to_dict(),
            "champion": self.champion.to_dict(),
            "difference": {k: asdict(v) for k, v in self.difference.items()},
            "lower_bound_95": self.lower_bound,
        }


def compare_policies(
    log: PartialLog,
    candidate: Policy,
    champion: Policy,
    *,
    estimator: str = "dr",
    cost_weight: float | None = None,
    rewards: Rewards | None = None,
    bootstrap: int = BOOTSTRAP,
    seed: int = 0,
    max_unsupported: float = MAX_UNSUPPORTED,
) -> PairedEstimate:
    """Both policies' estimates and their paired difference (candidate - champion) on ``log``.

    The utility of both is taken at one ``cost_weight`` (default: the candidate's own exchange rate).
    """
    check_estimator(estimator)
    if estimator == "dr" and rewards is None:
        rewards = fit_rewards(log, seed=seed)
    sides = [
        prepare(log, p, estimator=estimator, rewards=rewards, max_unsupported=max_unsupported, who=who)
        for p, who in ((candidate, "the candidate"), (champion, "the champion"))
    ]
    weight = candidate.cost_weight if cost_weight is None else cost_weight
    return paired(
        log, sides[0], sides[1], estimator=estimator, cost_weight=weight, bootstrap=bootstrap, seed=seed
    )


def paired(
    log: PartialLog,
    candidate: Prepared,
    champion: Prepared,
    *,
    estimator: str,
    cost_weight: float,
    bootstrap: int = BOOTSTRAP,
    seed: int = 0,
) -> PairedEstimate:
    """The paired estimate of two prepared policies: one shared resample of the tasks."""
    sides, weight = (candidate, champion), cost_weight
    columns = [_columns(side.terms) for side in sides]
    sums = resample_sums(np.vstack(columns[0] + columns[1]), bootstrap, seed)
    cand, cand_draws = _estimate(sides[0], sums, 0, log, estimator, weight)
    champ, champ_draws = _estimate(sides[1], sums, len(columns[0]), log, estimator, weight)
    diff = cand_draws - champ_draws
    points = {
        "success": cand.success.value - champ.success.value,
        "cost_usd": cand.cost_usd.value - champ.cost_usd.value,
        "utility": cand.utility.value - champ.utility.value,
    }
    return PairedEstimate(
        cand,
        champ,
        {k: _interval(points[k], diff[:, j]) for j, k in enumerate(points)},
        # One-sided 95%: the lower end of the two-sided 90% interval.
        {k: _interval(points[k], diff[:, j], 0.9).ci_low for j, k in enumerate(points)},
    )
