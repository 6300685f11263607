"""Synthetic full-information logs with answers and known truth (imported as ``tests._answers``).

Each task has a right answer; each model answers right with its own probability (lower on hard tasks),
otherwise gives one of a few wrong answers (so wrong answers sometimes agree) or none. The model names are
the default catalog's, so ``train_router`` prices them without a catalog.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

MODELS = {"haiku": (0.55, 0.0004), "sonnet": (0.75, 0.003), "opus": (0.85, 0.015)}  # P(right), cost


def answer_log(n_tasks: int, seed: int, *, models: dict[str, tuple[float, float]] = MODELS) -> pd.DataFrame:
    """A log in the outcome-log schema with ``answer`` and ``output`` columns."""
    rng = np.random.default_rng(seed)
    rows = []
    for t in range(n_tasks):
        hard = rng.random() < 0.4
        truth = str(int(rng.integers(0, 1000)))
        wrong = [str(int(rng.integers(1000, 2000))) for _ in range(4)]
        for name, (p_right, cost) in models.items():
            p = p_right * (0.6 if hard else 1.1)
            right = rng.random() < min(p, 0.98)
            missing = rng.random() < 0.15
            answer = truth if right else ("" if missing else wrong[int(rng.integers(0, 4))])
            length = int(rng.integers(200, 800)) * (2 if hard else 1)
            rows.append(
                {
                    "task_id": f"t{seed}-{t}",
                    "description": f"Compute the value of problem {t} ({'hard' if hard else 'easy'})",
                    "model": name,
                    "success": float(right),
                    "cost_usd": cost * (1.5 if hard else 1.0),
                    "answer": answer,
                    "output": "x" * length + f" answer: {answer}",
                }
            )
    return pd.DataFrame(rows)
