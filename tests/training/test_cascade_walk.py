"""The cascade the evaluation measures is the cascade the handler executes: the same chains, outcomes and
prices give the same models, in the same order, through both."""

from __future__ import annotations

import random

import pytest

from router import ExecutionError, FallbackHandler, Router
from training.evaluation.metrics import walk_cascade

MODELS = ["haiku", "sonnet", "opus"]


@pytest.mark.parametrize("seed", range(40))
def test_walk_cascade_equals_what_the_handler_runs(seed: int) -> None:
    rng = random.Random(seed)
    chain = rng.sample(range(len(MODELS)), rng.randint(1, len(MODELS)))
    success = [float(rng.random() < 0.4) for _ in MODELS]
    cost = [rng.uniform(0.001, 1.0) for _ in MODELS]

    spent, solved, attempts = walk_cascade(chain, success, cost)

    names = [MODELS[j] for j in chain]
    decision = Router().route("Fix the parser").model_copy(update={"model": names[0], "escalation": names})
    calls: list[str] = []

    def call(model: str) -> str:
        calls.append(model)
        return model

    def accept(model: str) -> bool:
        return success[MODELS.index(model)] >= 0.5

    try:
        FallbackHandler(sleep=lambda s: None).execute_decision(decision, "t", call, accept=accept)
        handler_solved = True
    except ExecutionError:
        handler_solved = False
    assert calls == [MODELS[j] for j in chain[:attempts]]
    assert handler_solved == solved
    assert sum(cost[MODELS.index(m)] for m in calls) == pytest.approx(spent)
