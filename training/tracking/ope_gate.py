"""The promotion gate on a partial log: promote only when the candidate is better with 95% confidence.

On the logs production has (one model per task, with its propensity), the candidate and the champion are
compared by the doubly robust paired difference (candidate - champion) of the gate metric, ``utility``
(success - cost_weight x cost, at the candidate's own exchange rate) or ``success``; the candidate takes the
alias only when the one-sided 95% lower bound of the improvement is >= 0. Both estimates and the bound are
returned for printing and tagging.

With them goes what the log can show: the smallest improvement the gate would promote in 80% of logs like
this one (the one-sided 95% bound's z plus 80% power's z, times the difference's standard error), and how
many tasks logged the same way a ``GATE_EFFECT`` improvement needs (the standard error shrinks as one over
the square root of the tasks). A candidate that is not promoted is then either shown no better, or beyond
what the log can see, and the message says which and what would fix it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from router._exceptions import InvalidInputError
from training.data.outcomes import Outcomes
from training.evaluation.ope import LearnedPolicy, compare_policies, partial_log
from training.evaluation.ope.power import detectable_effect, tasks_for

OPE_METRICS = ("utility", "success")
DEFAULT_METRIC = "utility"
GATE_EFFECT = 0.03  # the improvement the read-out sizes the log for: 3 success points


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
    detectable: float = float("nan")  # the smallest improvement promoted in 80% of logs like this one
    tasks_needed: int = 0  # tasks logged the same way that a GATE_EFFECT improvement needs (80% power)
    power_note: str = ""  # the two above in words, for the message


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
    detectable = detectable_effect(cand - champ, bound)
    needed = tasks_for(GATE_EFFECT, detectable, log.n_tasks)
    reason = (
        f"doubly robust {metric} on {log.n_tasks} tasks of a partial log: candidate {cand:.4f}, champion "
        f"{champ:.4f}, difference {cand - champ:+.4f}, one-sided 95% lower bound {bound:+.4f} "
        f"({'>= 0' if better else '< 0: not shown to be better'}; "
        f"cost weight {paired.candidate.cost_weight:.3g}, "
        f"effective sample size {paired.candidate.support.ess:.0f})"
    )
    return GateDecision(
        better, metric, cand, champ, cand - champ, bound, paired.candidate.cost_weight,
        paired.candidate.support.ess, log.n_tasks, reason, detectable, needed,
        _power_note(detectable, needed, log.n_tasks),
    )  # fmt: skip


def _power_note(detectable: float, needed: int, tasks: int) -> str:
    """What this log can show, in words: the improvement it sees four times in five, and the tasks a
    ``GATE_EFFECT`` one needs when that is more than the log holds."""
    seen = f"A log like this one shows an improvement of {detectable:.3f} or more in 80% of cases"
    if needed <= tasks:
        return f"{seen}, so a {GATE_EFFECT:.2f} improvement would be seen."
    return (
        f"{seen}; a {GATE_EFFECT:.2f} improvement needs about {needed:,} tasks logged the same way, or "
        f"more exploration (Router.load(..., exploration_rate=)), which puts more weight on the models the "
        f"champion seldom picks."
    )
