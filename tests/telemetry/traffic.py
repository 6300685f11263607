"""Simulated served traffic for the monitoring tests: synthetic tasks, routed, predicted, and their outcomes.

Time is a fake clock the tests move an hour per window. Predictions come from a fixed function of the
estimator's score, and outcomes are drawn from them (``drop`` lowers the true success rate), so a stable
stream is calibrated by construction and a drop is a known number of points.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import numpy as np

from router import ComplexityEstimator, Router
from router.telemetry import Collector
from router.telemetry.reference import traffic_reference
from training.data.synthetic_tasks import LatentModel, generate_tasks

URI = "models:/router@champion"
START = datetime(2026, 3, 10, 0, 0, tzinfo=UTC)


class Clock:
    """Epoch seconds, moved by hand."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now.timestamp()

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def task_pool(n: int, seed: int) -> tuple[list[str], list[str]]:
    """Synthetic task descriptions and their task types."""
    tasks = generate_tasks(n, np.random.default_rng(seed), LatentModel(), "t")
    return [str(d) for d in tasks.description], [str(t) for t in tasks.task_type]


def reference_of(descriptions: list[str]) -> dict[str, object]:
    return traffic_reference(descriptions, ComplexityEstimator())


def predicted(score: float) -> float:
    return min(0.95, max(0.1, 0.9 - 0.007 * score))


def serve_window(
    collector: Collector,
    clock: Clock,
    descriptions: list[str],
    rng: random.Random,
    *,
    n: int,
    drop: float = 0.0,
    router: Router | None = None,
    span_s: float = 3600.0,
    uri: str = URI,
) -> None:
    """``n`` decisions spread over the next ``span_s`` seconds, each with its first attempt's outcome."""
    router = router or Router()
    step = span_s / n
    for i in range(n):
        text = descriptions[rng.randrange(len(descriptions))]
        decision = router.route(text)
        p = predicted(decision.complexity.score)
        decision = decision.model_copy(update={"p_success": {decision.model: p}})
        collector.record_decision(decision, 1e-4, text, uri)
        success = rng.random() < max(0.0, p - drop)
        fields = {
            "model": decision.model,
            "task_id": f"{clock.now.isoformat()}-{i}",
            "decision_id": decision.decision_id,
            "success": success,
            "attempt": 1,
            "input_tokens": 1000,
            "output_tokens": 200,
        }
        collector.record_attempt(fields, "first", None if success else "server_error")
        clock.advance(seconds=step)
