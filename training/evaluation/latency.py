"""Decision latency of a trained router: what one ``route()`` call costs the orchestrator, in milliseconds.

Measured in-process on a fixed set of synthetic descriptions (the same for every run, so runs compare), after
a warm-up, with ``time.perf_counter``. It is a property of the artifact (vocabulary size, number of models)
and of the machine; it is logged so that a change that slows the decision path shows in the comparison.
"""

from __future__ import annotations

import time
from functools import cache
from typing import Any

import numpy as np

from router.learned.model import LearnedModel
from router.learned.router import LearnedRouter

N_DESCRIPTIONS = 200


@cache
def _descriptions(n: int) -> tuple[str, ...]:
    from training.data.synthetic_tasks import LatentModel, generate_tasks

    tasks = generate_tasks(n, np.random.default_rng(20261125), LatentModel(), prefix="latency-")
    return tuple(str(d) for d in tasks.description)


def decision_latency(
    arrays: dict[str, np.ndarray], meta: dict[str, Any], n: int = N_DESCRIPTIONS
) -> dict[str, float]:
    """p50 and p95 of ``route()`` in milliseconds over ``n`` synthetic descriptions."""
    router = LearnedRouter(LearnedModel(arrays, meta))
    descriptions = _descriptions(n)
    for description in descriptions[:20]:  # warm caches (regexes, numpy dispatch) before timing
        router.route(description)
    times = np.empty(len(descriptions))
    for i, description in enumerate(descriptions):
        start = time.perf_counter()
        router.route(description)
        times[i] = time.perf_counter() - start
    return {
        "decision_latency_p50_ms": float(np.percentile(times, 50) * 1e3),
        "decision_latency_p95_ms": float(np.percentile(times, 95) * 1e3),
    }
