"""What a decision knew travels with it into ``execute_decision`` and is recorded with every attempt.

The README's example handed the handler a decision and a ``CostTracker`` and got rows without their text
(``router logs export`` left them all out) and without a level (``router routing stats`` said ``unknown``):
the caller had to repeat what the router already knew. Here every way of deciding (heuristic and learned,
one task and a batch) records the text, level, score, task type, tradeoff and decision id; the model version
and novelty when the decision has them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from router import CostTracker, FallbackHandler, Router, RoutingDecision

TEXTS = ["Fix typo in README", "Refactor the payment module to use the repository pattern"]


@pytest.fixture(scope="module")
def learned(tmp_path_factory: pytest.TempPathFactory) -> Router:
    from training import train_router
    from training.synthetic import generate_outcomes

    out = tmp_path_factory.mktemp("artifact") / "router"
    train_router(generate_outcomes(200, seed=4), log_to_mlflow=False, output_dir=out)
    return Router.load(out, strict=True)


def run(decisions: list[RoutingDecision], path: Path) -> list:
    with CostTracker(path) as tracker:
        handler = FallbackHandler(recorder=tracker, sleep=lambda s: None)

        def flaky(model: str, calls: list[str] = []) -> str:  # noqa: B006  (one list: each task's first call fails)
            calls.append(model)
            if len(calls) % 2:
                raise ConnectionError("connection refused")
            return "ok"

        for i, decision in enumerate(decisions):
            handler.execute_decision(decision, f"t{i}", flaky)
        return sorted(tracker.get_recent_entries(100), key=lambda e: (e.task_id, e.attempt))


@pytest.mark.parametrize(
    "how", ["heuristic route", "heuristic route_many", "learned route", "learned route_many"]
)
def test_every_attempt_is_recorded_with_what_the_decision_knew(how, learned, tmp_path):
    router = learned if how.startswith("learned") else Router()
    if how.endswith("route_many"):
        decisions = router.route_many(TEXTS, tradeoff=0.3)
    else:
        decisions = [router.route(text, tradeoff=0.3) for text in TEXTS]
    assert [d.description for d in decisions] == TEXTS
    entries = run(decisions, tmp_path / "ledger.db")
    assert len(entries) >= 2 * len(TEXTS) and {e.attempt for e in entries} >= {1, 2}  # fallbacks recorded
    for entry in entries:
        decision = decisions[int(entry.task_id[1:])]
        assert entry.description == decision.description
        assert entry.level == decision.complexity.level.value
        assert entry.score == decision.complexity.score
        assert entry.task_type == decision.complexity.task_type.value
        assert (entry.tradeoff, entry.decision_id) == (0.3, decision.decision_id)
        assert (entry.model_version, entry.novelty) == (decision.model_version, decision.novelty)
    # The heuristic has neither; a learned router from a local artifact names its hash and scores novelty.
    learned_router = how.startswith("learned")
    assert all(
        (d.model_version is not None, d.novelty is not None) == (learned_router,) * 2 for d in decisions
    )


def test_the_model_version_and_novelty_are_recorded_when_the_decision_has_them(tmp_path):
    decision = Router().route(TEXTS[0]).model_copy(update={"model_version": "7", "novelty": 0.25})
    entries = run([decision], tmp_path / "ledger.db")
    assert {(e.model_version, e.novelty) for e in entries} == {("7", 0.25)}


def test_an_explicit_description_wins_over_the_decisions(tmp_path):
    decision = Router().route(TEXTS[0])
    with CostTracker(tmp_path / "ledger.db") as tracker:
        FallbackHandler(recorder=tracker).execute_decision(
            decision, "t", str, description="Fix the typo, now"
        )
        [entry] = tracker.get_recent_entries(5)
    assert entry.description == "Fix the typo, now"
