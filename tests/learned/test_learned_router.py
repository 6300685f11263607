"""The learned router: served behind the Router interface, round-trips through a fresh process, refuses
artifacts it cannot trust, falls back to the heuristic loudly, and explores with logged propensities."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from router import ArtifactError, Router, RoutingDecision
from router.learned.router import LearnedRouter
from tests._helpers import ROOT, run_python

DESCRIPTIONS = [
    "Fix typo in README: 'recieve' should be 'receive'",
    "Fix intermittent race condition in the connection pool that deadlocks under load",
    "Redesign the distributed job scheduler architecture with leader election",
    "Fix SQL injection vulnerability in the production login endpoint",
    "Add a --verbose flag to the CLI",
]


@pytest.fixture(scope="module")
def learned(artifact: Path) -> LearnedRouter:
    router = Router.load(artifact, strict=True)
    assert isinstance(router, LearnedRouter)
    return router


def test_learned_decision_fills_the_public_fields(learned: LearnedRouter):
    decision = learned.route(DESCRIPTIONS[1], files=["pool.py"])
    assert isinstance(decision, RoutingDecision)
    assert decision.source == "learned"
    assert set(decision.p_success) == set(decision.expected_cost_usd) == {"haiku", "sonnet", "opus"}
    assert all(0.0 < p < 1.0 for p in decision.p_success.values())
    assert all(c > 0.0 for c in decision.expected_cost_usd.values())
    assert decision.escalation[0] == decision.model
    assert len(set(decision.escalation)) == len(decision.escalation)
    assert decision.complexity.recommended_model == decision.model
    assert any(r.startswith("learned P(success)") for r in decision.complexity.reasons)


def test_learned_estimator_returns_the_heuristic_shape(learned: LearnedRouter):
    complexity = learned.learned_estimator.estimate(DESCRIPTIONS[3])
    assert complexity.level.value == "critical"  # critical patterns keep their meaning
    assert 0.0 <= complexity.score <= 100.0


@pytest.mark.parametrize("tradeoff", [None, 0.0, 0.3, 0.6, 1.0])
def test_route_many_matches_route(learned: LearnedRouter, tradeoff: float | None):
    # The batch path (one sparse product, vectorised choice and escalation) must agree with route().
    texts = [*DESCRIPTIONS, *(t.lower() + " and the docs too" for t in DESCRIPTIONS)]
    batch = learned.route_many(texts, tradeoff=tradeoff)
    for text, many in zip(texts, batch, strict=True):
        one = learned.route(text, tradeoff=tradeoff)
        assert (many.model, many.escalation, many.reason) == (one.model, one.escalation, one.reason)
        assert many.p_success == pytest.approx(one.p_success, abs=1e-12)
        assert many.expected_cost_usd == pytest.approx(one.expected_cost_usd, rel=1e-12)
        assert many.complexity.score == pytest.approx(one.complexity.score, abs=1e-9)
        assert many.complexity.model_dump(exclude={"score"}) == one.complexity.model_dump(exclude={"score"})
    assert learned.route_many([]) == []


@given(st.sampled_from(DESCRIPTIONS), st.floats(0, 1), st.floats(0, 1))
def test_expected_cost_never_falls_as_tradeoff_rises(learned: LearnedRouter, text: str, a: float, b: float):
    low, high = sorted((a, b))
    # Monotone where the hull guard allows the same models at both tradeoffs (it may switch between the
    # learned choice and a fixed model from one tradeoff to the next).
    assume(learned.model.allowed(low) == learned.model.allowed(high))
    cheap = learned.route(text, tradeoff=low)
    dear = learned.route(text, tradeoff=high)
    assert dear.expected_cost_usd[dear.model] >= cheap.expected_cost_usd[cheap.model] - 1e-12


def test_tradeoff_extremes_pick_cheapest_and_most_likely(learned: LearnedRouter):
    for text in DESCRIPTIONS:
        d0, d1 = learned.route(text, tradeoff=0.0), learned.route(text, tradeoff=1.0)
        allowed_0 = learned.model.allowed(0.0) or range(len(learned.model.names))
        allowed_1 = learned.model.allowed(1.0) or range(len(learned.model.names))
        names = learned.model.names
        assert d0.expected_cost_usd[d0.model] == min(d0.expected_cost_usd[names[j]] for j in allowed_0)
        assert d1.p_success[d1.model] == max(d1.p_success[names[j]] for j in allowed_1)


def test_same_decisions_in_a_fresh_process(learned: LearnedRouter, artifact: Path, tmp_path: Path):
    script = (
        "import json, sys; from router import Router\n"
        f"r = Router.load({str(artifact)!r}, strict=True)\n"
        f"print(json.dumps([[d.model, d.p_success] for d in r.route_many({DESCRIPTIONS!r})]))\n"
    )
    result = run_python(["-c", script], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    fresh = json.loads(result.stdout)
    here = [[d.model, d.p_success] for d in learned.route_many(DESCRIPTIONS)]
    assert [m for m, _ in fresh] == [m for m, _ in here]
    for (_, p_fresh), (_, p_here) in zip(fresh, here, strict=True):
        assert p_fresh == pytest.approx(p_here, abs=1e-12)


def _copy(artifact: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(artifact, target)
    return target


def _flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _set_meta(path: Path, **changes: object) -> None:
    meta = json.loads((path / "metadata.json").read_text())
    meta.update(changes)
    (path / "metadata.json").write_text(json.dumps(meta))


@pytest.mark.parametrize(
    ("damage", "match"),
    [
        (lambda p: _flip_a_byte(p / "router.npz"), "does not match its recorded hash"),
        (lambda p: (p / "metadata.json").write_text("{not json"), "not valid JSON"),
        (lambda p: (p / "router.npz").unlink(), "router.npz is missing"),
        (lambda p: _set_meta(p, feature_version="0"), "feature version"),
        (lambda p: _set_meta(p, format_version=99), "format 99 is not supported"),
        (lambda p: _set_meta(p, kappa="lots"), "incomplete or inconsistent"),
    ],
    ids=[
        "tampered-arrays",
        "corrupt-metadata",
        "missing-arrays",
        "feature-version",
        "format-version",
        "bad-field",
    ],
)
def test_untrustworthy_artifact_is_refused(artifact: Path, tmp_path: Path, damage, match: str):
    broken = _copy(artifact, tmp_path)
    damage(broken)
    with pytest.raises(ArtifactError, match=match):
        Router.load(broken, strict=True)


def test_refused_artifact_falls_back_to_the_heuristic_with_a_warning(
    artifact: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    broken = _copy(artifact, tmp_path)
    _flip_a_byte(broken / "router.npz")
    with caplog.at_level(logging.WARNING, logger="router"):
        router = Router.load(broken)
    assert not isinstance(router, LearnedRouter)
    assert router.route("Fix typo in README").source == "heuristic"
    assert "Falling back to the heuristic router" in caplog.text


def test_a_model_that_breaks_at_decision_time_falls_back_loudly(
    learned: LearnedRouter, artifact: Path, caplog: pytest.LogCaptureFixture
):
    router = Router.load(artifact, strict=True)
    assert isinstance(router, LearnedRouter)
    router.model._bias = router.model._bias * np.nan  # a model gone bad in memory
    with caplog.at_level(logging.WARNING, logger="router"):
        decision = router.route(DESCRIPTIONS[0])
    assert decision.source == "heuristic"
    assert "falling back to the heuristic" in caplog.text


def test_exploration_logs_the_propensity_of_each_choice(artifact: Path):
    router = Router.load(artifact, strict=True, exploration_rate=0.3, seed=7)
    greedy = {text: Router.load(artifact, strict=True).route(text).model for text in DESCRIPTIONS}
    explored = 0
    for text in DESCRIPTIONS * 40:
        decision = router.route(text)
        best = greedy[text]
        assert decision.propensity == pytest.approx(0.3 / 3 + (0.7 if decision.model == best else 0.0))
        explored += decision.model != best
    assert 0 < explored < 200


@pytest.mark.parametrize("rate", [-0.1, 1.5], ids=["negative", "above-one"])
def test_exploration_rate_out_of_range(artifact: Path, rate: float):
    with pytest.raises(ValueError, match="exploration_rate must be in"):
        Router.load(artifact, strict=True, exploration_rate=rate)


def test_layering_holds_while_serving_a_learned_router(artifact: Path, tmp_path: Path):
    script = (
        "import sys; from router import Router\n"
        f"Router.load({str(artifact)!r}, strict=True).route('Fix typo')\n"
        "print([m for m in ('training', 'mlflow', 'sklearn') if m in sys.modules])\n"
    )
    result = run_python(["-c", script], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
    assert ROOT.is_dir()
