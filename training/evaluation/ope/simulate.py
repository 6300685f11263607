"""Simulation studies of the estimators: partial logs drawn from full-information outcomes.

A :class:`World` holds every model's outcome on every task (SWE-bench, ZeroEval, synthetic). A log is drawn
by sampling tasks with replacement and, for each, one model from a known logging policy; the value a policy
truly has is its mean outcome over the world's tasks. Repeating over many logs measures what a single log
cannot: coverage of the intervals, bias, RMSE and interval width (the tests and ``benchmarks.ope`` use it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from router.estimation.estimator import FileFacts
from training.data.outcomes import Outcomes, load_outcomes, task_matrix
from training.evaluation.ope.estimators import (
    _columns,
    _interval,
    _values,
    paired,
    prepare_probabilities,
    resample_sums,
    task_terms,
)
from training.evaluation.ope.logs import PartialLog
from training.evaluation.ope.policies import Policy
from training.evaluation.ope.power import detectable_effect
from training.evaluation.ope.reward import fit_rewards


@dataclass
class World:
    """Full-information outcomes: every model's success and cost on every task."""

    descriptions: list[str]
    facts: list[FileFacts]
    models: list[str]
    success: np.ndarray
    cost: np.ndarray
    metadata: list[dict[str, str]] | None = None

    @classmethod
    def from_outcomes(cls, outcomes: Outcomes) -> World:
        data = task_matrix(load_outcomes(outcomes).frame)
        full = data.observed.all(axis=1)
        data = data.subset(np.flatnonzero(full))
        return cls(data.descriptions, data.facts, data.models, data.success, data.cost, data.metadata)

    def probabilities(self, policy: Policy) -> np.ndarray:
        """The policy's choice probabilities on every task, over the world's models (others get none)."""
        names, raw = policy.probabilities(self.descriptions, self.facts, self.metadata)
        probs = np.zeros((len(self.descriptions), len(self.models)))
        for k, name in enumerate(names):
            if name in self.models:
                probs[:, self.models.index(name)] += raw[:, k]
        return probs

    def value(self, probs: np.ndarray) -> tuple[float, float]:
        """A policy's true mean success and cost per task."""
        return float((probs * self.success).sum(axis=1).mean()), float((probs * self.cost).sum(axis=1).mean())


def explore(probs: np.ndarray, epsilon: float) -> np.ndarray:
    """A logging policy that follows ``probs`` and, with probability ``epsilon``, picks a model at random."""
    return (1.0 - epsilon) * probs + epsilon / probs.shape[1]


def draw_log(
    world: World, logging: np.ndarray, size: int, rng: np.random.Generator
) -> tuple[PartialLog, np.ndarray]:
    """A partial log of ``size`` tasks drawn with replacement, one model each from ``logging``; and the
    world's row of each logged task."""
    n, m = world.success.shape
    tasks = rng.integers(0, n, size)
    cumulative = np.cumsum(logging[tasks], axis=1)
    action = np.minimum((rng.random(size)[:, None] > cumulative).sum(axis=1), m - 1)
    rows = np.arange(size)
    observed = np.zeros((size, m), dtype=bool)
    observed[rows, action] = True
    probability = np.where(observed, logging[tasks, action][:, None], 0.0)
    success = np.where(observed, world.success[tasks], np.nan)
    cost = np.where(observed, world.cost[tasks], np.nan)
    log = PartialLog(
        task_ids=tasks.astype(object), descriptions=[world.descriptions[i] for i in tasks],
        facts=[world.facts[i] for i in tasks], models=world.models, observed=observed,
        probability=probability, success=success, cost=cost, first=action, full=np.zeros(size, dtype=bool),
        spend=world.cost[tasks, action], solved=world.success[tasks, action], rows=size,
        metadata=None if world.metadata is None else [world.metadata[i] for i in tasks],
    )  # fmt: skip
    return log, tasks


@dataclass
class StudyResult:
    """Per estimator over many logs: coverage of the 95% interval, bias, RMSE and mean interval width."""

    truth: float
    size: int
    logs: int
    coverage: dict[str, float]
    bias: dict[str, float]
    rmse: dict[str, float]
    width: dict[str, float]


def coverage_study(
    world: World,
    logging: np.ndarray,
    target: np.ndarray,
    *,
    size: int,
    logs: int = 200,
    features: object = None,
    estimators: tuple[str, ...] = ("dr", "ips", "snips"),
    bootstrap: int = 200,
    folds: int = 5,
    seed: int = 0,
) -> StudyResult:
    """Estimate the success of the policy ``target`` (probabilities on the world's tasks) on ``logs``
    partial logs from ``logging``; ``features`` (one row per world task) feed DR's reward model."""
    truth = world.value(target)[0]
    rng = np.random.default_rng(seed)
    found: dict[str, list[tuple[float, float, float]]] = {e: [] for e in estimators}
    for k in range(logs):
        log, tasks = draw_log(world, logging, size, rng)
        probs = target[tasks]
        rewards = None
        if "dr" in estimators:
            x = None if features is None else features[tasks]  # type: ignore[index]
            rewards = fit_rewards(log, features=x, folds=folds, seed=k)
        for estimator in estimators:
            terms = task_terms(log, probs, estimator, rewards if estimator == "dr" else None)
            cols = np.vstack(_columns(terms))
            point = _values(cols.sum(axis=1)[None, :], terms, size, 0)[0][0]
            draws = _values(resample_sums(cols, bootstrap, seed + k), terms, size, 0)[0]
            interval = _interval(point, draws)
            found[estimator].append((interval.value, interval.ci_low, interval.ci_high))
    coverage, bias, rmse, width = {}, {}, {}, {}
    for estimator, rows in found.items():
        arr = np.array(rows)
        coverage[estimator] = float(np.mean((arr[:, 1] <= truth) & (truth <= arr[:, 2])))
        bias[estimator] = float(np.mean(arr[:, 0] - truth))
        rmse[estimator] = float(np.sqrt(np.mean((arr[:, 0] - truth) ** 2)))
        width[estimator] = float(np.mean(arr[:, 2] - arr[:, 1]))
    return StudyResult(truth, size, logs, coverage, bias, rmse, width)


@dataclass
class GateRuns:
    """The gate on each of a study's logs: whether it promoted, and what the log could show."""

    promoted: np.ndarray  # bool per log
    detectable: np.ndarray  # per log: the smallest improvement seen with 80% power on a log like it

    @property
    def power(self) -> float:
        return float(self.promoted.mean())


def gate_runs(
    world: World,
    logging: np.ndarray,
    candidate: np.ndarray,
    champion: np.ndarray,
    *,
    size: int = 2000,
    logs: int = 200,
    features: object = None,
    folds: int = 5,
    bootstrap: int = 200,
    seed: int = 0,
) -> GateRuns:
    """The gate (DR paired difference of success, one-sided 95% lower bound >= 0) on each of ``logs``
    partial logs: whether it promotes the policy ``candidate`` over ``champion`` (probabilities on the
    world), and what each log could show (``power.detectable_effect``); ``.power`` is the share promoted."""
    rng = np.random.default_rng(seed)
    promoted, detectable = np.zeros(logs, dtype=bool), np.zeros(logs)
    for k in range(logs):
        log, tasks = draw_log(world, logging, size, rng)
        x = None if features is None else features[tasks]  # type: ignore[index]
        rewards = fit_rewards(log, features=x, folds=folds, seed=k)
        sides = [
            prepare_probabilities(
                log, name, probs[tasks], estimator="dr", rewards=rewards, max_unsupported=1.0
            )
            for name, probs in (("candidate", candidate), ("champion", champion))
        ]
        result = paired(log, *sides, estimator="dr", cost_weight=0.0, bootstrap=bootstrap, seed=k)
        bound = result.lower_bound["utility"]
        promoted[k] = bound >= 0
        detectable[k] = detectable_effect(result.difference["utility"].value, bound)
    return GateRuns(promoted, detectable)
