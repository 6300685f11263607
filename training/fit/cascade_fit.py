"""From a log with answers to the cascade's artifact arrays: the acceptance model and the per-tradeoff plans.

``train_router`` calls :func:`fit_cascade` when the log has answers (``training.data.answers``); a log
without them trains exactly as before, and the artifact then has no cascade arrays (``next_step`` defers to
the heuristic's escalation).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from training.data.answers import AnswerMatrix
from training.data.outcomes import TaskMatrix
from training.fit.acceptance import MAX_SET, Acceptance, fit_acceptance
from training.fit.cascade_plan import CascadePlans, choose_plans

#: Inverse regularisation of the acceptance model's logistic regression.
ACCEPT_C = 1.0


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
    return FittedCascade(acceptance, plans, list(data.models), default_tradeoff(data, plans))


def default_tradeoff(data: TaskMatrix, plans: CascadePlans) -> float:
    """The least tradeoff whose plan reaches, out of fold, the best single model's success on the training
    tasks (the best model's accuracy at the least cost); the most successful plan's where none does."""
    observed = np.where(data.observed, data.success, np.nan)
    best_single = float(np.nanmax(np.nanmean(observed, axis=0)))
    reach = np.flatnonzero(plans.success >= best_single - 1e-12)
    row = int(reach[0]) if len(reach) else int(np.argmax(plans.success))
    return float(plans.tradeoffs[row])
