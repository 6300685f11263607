"""The promotion gate on a partial log: promote only when the candidate is better with 95% confidence.

On the logs production has (one model per task, with its propensity), the candidate and the champion are
compared by the doubly robust paired difference (candidate - champion) of the gate metric, ``utility``
(success - cost_weight x cost, at the candidate's own exchange rate) or ``success``; the candidate takes the
alias only when the one-sided 95% lower bound of the improvement is >= 0. Both estimates and the bound are
returned for printing and tagging.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from router._exceptions import InvalidInputError
from training.data.outcomes import Outcomes
from training.evaluation.ope import LearnedPolicy, compare_policies, partial_log

OPE_METRICS = ("utility", "success")
DEFAULT_METRIC = "utility"


@dataclass
class GateDecision:
    """What the partial-log gate found: both estimates, the paired difference and its lower bound."""

    better: bool
    metric: str
    candidate_value: float
    champion_value: float
    difference: float
    lower_bound: float
    cost_weight: float
    ess: float
    tasks: int
    reason: str


def is_partial(frame: Any, models: list[str]) -> bool:
    """True when some task of ``frame`` was not tried on every one of ``models``."""
    full = frame.groupby("task_id")["model"].agg(set).map(set(models).issubset)
    return not bool(full.all())


def ope_metric(metric: str) -> str:
    """The gate metric on a partial log: ``utility`` or ``success``; the curve metrics of full-information
    logs (apgr, ...) cannot be estimated from one model per task, so they mean ``utility`` here."""
    return metric if metric in OPE_METRICS else DEFAULT_METRIC


def decide(
    data: Outcomes, candidate_uri: str, champion_uri: str, metric: str, *, seed: int = 0
) -> GateDecision:
    """Compare the two registered models on the partial log ``data`` (DR, one shared bootstrap)."""
    metric = ope_metric(metric)
    candidate, champion = LearnedPolicy(candidate_uri), LearnedPolicy(champion_uri)
    log = partial_log(data)
    if log.n_tasks < 2:
        raise InvalidInputError("The partial log needs at least 2 tasks for the gate.")
    paired = compare_policies(log, candidate, champion, estimator="dr", seed=seed)
    cand = getattr(paired.candidate, metric).value
    champ = getattr(paired.champion, metric).value
    bound = paired.lower_bound[metric]
    better = bound >= 0
    reason = (
        f"doubly robust {metric} on {log.n_tasks} tasks of a partial log: candidate {cand:.4f}, champion "
        f"{champ:.4f}, difference {cand - champ:+.4f}, one-sided 95% lower bound {bound:+.4f} "
        f"({'>= 0' if better else '< 0: not shown to be better'}; "
        f"cost weight {paired.candidate.cost_weight:.3g}, "
        f"effective sample size {paired.candidate.support.ess:.0f})"
    )
    return GateDecision(
        better, metric, cand, champ, cand - champ, bound, paired.candidate.cost_weight,
        paired.candidate.support.ess, log.n_tasks, reason,
    )  # fmt: skip
