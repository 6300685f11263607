"""From a log with answers to the cascade's artifact arrays: the acceptance model and the per-tradeoff plans.

``train_router`` calls :func:`fit_cascade` when the log has answers (``training.data.answers``); a log
without them trains exactly as before, and the artifact then has no cascade arrays (``next_step`` defers to
the heuristic's escalation).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from router.learned.policy import guard_row
from training.data.answers import AnswerMatrix
from training.data.outcomes import TaskMatrix
from training.fit.acceptance import MAX_SET, Acceptance, SetScores, fit_acceptance, platt
from training.fit.cascade_plan import CascadePlans, choose_plans, plan_returns

#: Inverse regularisation of the acceptance model's logistic regression.
ACCEPT_C = 1.0
#: Tradeoffs at which the answers the chosen plans return are pooled for the final calibration: evenly
#: over [0, 1], as from a caller who may ask at any of them.
CALIBRATION_TRADEOFFS = np.linspace(0.0, 1.0, 21)


@dataclass
class FittedCascade:
    acceptance: Acceptance
    plans: CascadePlans
    models: list[str]
    default_tradeoff: float

    @property
    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays ``router.learned.cascade.CascadePolicy`` reads (plain numbers: no code on load)."""
        f = self.acceptance.featurizer
        return {
            "accept_weights": np.asarray(self.acceptance.weights, dtype=np.float64),
            "accept_bias": np.array([self.acceptance.bias], dtype=np.float64),
            "accept_length_mean": np.asarray(f.length_mean, dtype=np.float64),
            "accept_length_scale": np.asarray(f.length_scale, dtype=np.float64),
            "cascade_tradeoffs": self.plans.tradeoffs.astype(np.float64),
            "cascade_orders": self.plans.orders.astype(np.int64),
            "cascade_thresholds": self.plans.thresholds.astype(np.float64),
            "cascade_default_tradeoff": np.array([self.default_tradeoff], dtype=np.float64),
        }

    def meta(self) -> dict[str, Any]:
        """What the metadata says about the cascade: its features, and its plans in words."""
        names = self.models
        return {
            "default_tradeoff": self.default_tradeoff,
            "acceptance_features": self.acceptance.featurizer.names(),
            "max_attempts": MAX_SET,
            "plans": [
                {
                    "tradeoff": float(t),
                    "order": [names[j] for j in order if j >= 0],
                    "thresholds": [float(v) for v, j in zip(thr, order, strict=True) if j >= 0],
                    "oof_success": float(s),
                    "oof_cost": float(c),
                }
                for t, order, thr, s, c in zip(
                    self.plans.tradeoffs,
                    self.plans.orders,
                    self.plans.thresholds,
                    self.plans.success,
                    self.plans.cost,
                    strict=True,
                )
            ],
        }


def fit_cascade(
    data: TaskMatrix, answers: AnswerMatrix, kappa: float, tradeoffs: np.ndarray, *, seed: int = 0
) -> FittedCascade:
    """Fit the acceptance model on every task of ``data`` and choose the plans on its out-of-fold scores."""
    rows = np.arange(len(data.task_ids))
    acceptance, oof = fit_acceptance(data, answers, rows, C=ACCEPT_C, seed=seed)
    plans = choose_plans(data, oof, kappa, tradeoffs)
    acceptance, plans = recalibrate(data, oof, acceptance, plans)
    return FittedCascade(acceptance, plans, list(data.models), default_tradeoff(data, plans))


def recalibrate(
    data: TaskMatrix, oof: SetScores, acceptance: Acceptance, plans: CascadePlans
) -> tuple[Acceptance, CascadePlans]:
    """A second Platt map, fitted on the answers the chosen plans return (out of fold, pooled over
    ``CALIBRATION_TRADEOFFS``), folded into the weights, with every stop threshold carried through it.

    The first map (``fit_acceptance``) is fitted on the best answer of every replayed set; the plans return
    a narrower lot (answers that cleared a threshold, or the last call's best), whose P(right) it over- or
    understates a little (GSM8K's inner folds: ECE ~0.05). The map is increasing, so every decision stays
    the same: a score clears a threshold exactly when its image clears the threshold's image.
    """
    table = plans.tradeoffs.tolist()
    cache: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    parts = []
    for t in CALIBRATION_TRADEOFFS:
        r = guard_row(float(t), table)
        if r not in cache:
            order = tuple(int(j) for j in plans.orders[r] if j >= 0)
            cache[r] = plan_returns(data, oof, order, plans.thresholds[r][: len(order)].tolist())
        parts.append(cache[r])
    p = np.clip(np.concatenate([q[0] for q in parts]), 1e-9, 1 - 1e-9)
    slope, offset = platt(
        np.log(p / (1 - p)), np.concatenate([q[1] for q in parts]), np.concatenate([q[2] for q in parts])
    )
    if slope <= 0:  # a map that reverses the order would change decisions: keep the first calibration
        return acceptance, plans
    inner = np.clip(plans.thresholds, 1e-9, 1 - 1e-9)
    mapped = 1.0 / (1.0 + np.exp(-(slope * np.log(inner / (1 - inner)) + offset)))
    # 0 (always stop) and above 1 (never) keep their meaning.
    thresholds = np.where((plans.thresholds > 0) & (plans.thresholds < 1), mapped, plans.thresholds)
    return (
        Acceptance(acceptance.featurizer, acceptance.weights * slope, acceptance.bias * slope + offset),
        replace(plans, thresholds=thresholds),
    )


def default_tradeoff(data: TaskMatrix, plans: CascadePlans) -> float:
    """The least tradeoff whose plan reaches, out of fold, the best single model's success on the training
    tasks (the best model's accuracy at the least cost); the most successful plan's where none does."""
    observed = np.where(data.observed, data.success, np.nan)
    best_single = float(np.nanmax(np.nanmean(observed, axis=0)))
    reach = np.flatnonzero(plans.success >= best_single - 1e-12)
    row = int(reach[0]) if len(reach) else int(np.argmax(plans.success))
    return float(plans.tradeoffs[row])
