"""The data flow of the architecture, end to end on embedded parts: route (with exploration), execute with
fallbacks, record every attempt in the ledger, export the outcome log, retrain, and serve the new router."""

from __future__ import annotations

import contextlib
import math
import random
from pathlib import Path

import pytest

from router import CostTracker, ExecutionError, FallbackHandler, Router
from router.learned.router import LearnedRouter
from training import train_router
from training.bootstrap import heuristic_labels
from training.synthetic import generate_outcomes


def test_route_execute_record_export_retrain_serve(tmp_path: Path):
    tasks = generate_outcomes(400, seed=21).drop_duplicates("task_id")["description"].tolist()
    first = train_router(heuristic_labels(tasks[:200]), log_to_mlflow=False, output_dir=tmp_path / "v1")
    router = Router.load(first.artifact_dir, strict=True, exploration_rate=0.2, seed=3)
    assert isinstance(router, LearnedRouter)
    tracker = CostTracker(storage_path=tmp_path / "ledger.db")
    handler = FallbackHandler(recorder=tracker, sleep=lambda seconds: None, catalog=router.catalog)
    outcome_rng = random.Random(5)
    strength = {"haiku": 0.0, "sonnet": 1.0, "opus": 2.0}

    def call(model: str, difficulty: float):
        # A stand-in for the LLM call: stronger models pass harder tasks more often.
        if outcome_rng.random() < 0.05:
            raise TimeoutError("simulated timeout")
        return {"model": model, "ok": outcome_rng.random() < 1 / (1 + math.exp(difficulty - strength[model]))}

    for i, text in enumerate(tasks):
        decision = router.route(text)
        difficulty = decision.complexity.score / 25.0 - 1.0
        # When the escalation judges no further model worth its cost the task fails; its attempts are
        # recorded all the same.
        with contextlib.suppress(ExecutionError):
            handler.execute_decision(
                decision,
                f"task-{i}",
                lambda model, d=difficulty: call(model, d),
                accept=lambda r: r["ok"],
                description=text,
            )

    summary = tracker.get_summary("all")
    assert summary.total_requests >= len(tasks)
    entries = tracker.get_recent_entries(summary.total_requests)
    firsts = [e for e in entries if e.attempt == 1]
    assert len(firsts) == len(tasks) and all(
        e.propensity is not None and 0 < e.propensity <= 1 for e in firsts
    )
    assert any(e.propensity < 0.5 for e in firsts)  # some choices were exploration
    log = tmp_path / "outcomes.parquet"
    tracker.export_outcomes(log)
    second = train_router(log, log_to_mlflow=False, output_dir=tmp_path / "v2")
    served = Router.load(second.artifact_dir, strict=True)
    assert isinstance(served, LearnedRouter)
    assert served.route("Fix typo in README").model in {"haiku", "sonnet", "opus"}
    assert second.metrics["default_tradeoff"] == pytest.approx(served.default_tradeoff)
