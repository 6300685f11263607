"""route_table: the same decisions as route_many and route, as columns; metadata is checked."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from router import InvalidInputError, Router
from router.learned.router import LearnedRouter
from router.selection.heuristic import HeuristicRouter
from router.selection.table import RouteTable

TEXTS = [
    "Fix typo in README: 'recieve' should be 'receive'",
    "Fix intermittent race condition in the connection pool that deadlocks under load",
    "Redesign the distributed job scheduler architecture with leader election",
    "Fix SQL injection vulnerability in the production login endpoint",
    "Add a --verbose flag to the CLI",
    "Über-naïve cache in İstanbul: speed up the \u212aelvin conversion",
    "x" * 3000 + " production outage",
] * 3


@pytest.fixture(scope="module")
def learned(artifact: Path) -> LearnedRouter:
    router = Router.load(artifact, strict=True)
    assert isinstance(router, LearnedRouter)
    return router


def assert_same_decisions(table: RouteTable, texts: list[str], router: HeuristicRouter, tradeoff):
    many = router.route_many(texts, tradeoff=tradeoff)
    assert len(table) == len(many) == len(texts)
    for i, (text, batch) in enumerate(zip(texts, many, strict=True)):
        one = router.route(text, tradeoff=tradeoff)
        assert table.model[i] == batch.model == one.model
        assert table.models[table.model_index[i]] == one.model
        assert table.level[i] == batch.complexity.level.value == one.complexity.level.value
        assert table.score[i] == pytest.approx(one.complexity.score, abs=1e-9)
        assert batch.complexity.reasons[:-1] == one.complexity.reasons[:-1]
        assert batch.escalation == one.escalation
        assert list(one.expected_cost_usd) == list(table.models)
        assert table.expected_cost_usd[i] == pytest.approx(list(one.expected_cost_usd.values()), rel=1e-12)
        assert table.propensity[i] == batch.propensity == one.propensity
        if one.p_success:
            assert table.p_success[i] == pytest.approx(list(one.p_success.values()), abs=1e-12)
            assert batch.p_success == pytest.approx(one.p_success, abs=1e-12)
        else:
            assert np.isnan(table.p_success[i]).all()


@pytest.mark.parametrize("tradeoff", [None, 0.0, 0.3, 0.6, 1.0])
def test_learned_table_equals_route_many_and_route(learned: LearnedRouter, tradeoff):
    table = learned.route_table(TEXTS, tradeoff=tradeoff)
    assert table.source == "learned"
    assert_same_decisions(table, TEXTS, learned, tradeoff)


@pytest.mark.parametrize("tradeoff", [None, 0.0, 0.3, 0.5, 0.9])
def test_heuristic_table_equals_route_many_and_route(tradeoff):
    table = Router().route_table(TEXTS, tradeoff=tradeoff)
    assert table.source == "heuristic"
    assert_same_decisions(table, TEXTS, Router(), tradeoff)


def test_heuristic_table_keeps_the_statistics_route_many_keeps():
    one, other = Router(), Router()
    one.route_table(TEXTS, tradeoff=0.3)
    other.route_many(TEXTS, tradeoff=0.3)
    assert one.selector.get_statistics() == other.selector.get_statistics()
    mine, theirs = one.estimator.get_statistics(), other.estimator.get_statistics()
    assert mine["average_score"] == pytest.approx(theirs.pop("average_score"))
    assert {k: v for k, v in mine.items() if k != "average_score"} == theirs


def test_exploration_draws_the_same_stream(artifact: Path):
    a = Router.load(artifact, strict=True, exploration_rate=0.5, seed=3)
    b = Router.load(artifact, strict=True, exploration_rate=0.5, seed=3)
    table = a.route_table(TEXTS)
    many = b.route_many(TEXTS)
    assert table.model.tolist() == [d.model for d in many]
    assert table.propensity.tolist() == [d.propensity for d in many]
    assert set(table.propensity.tolist()) <= {0.5 / 3, 0.5 / 3 + 0.5}


def test_table_columns_and_pandas(learned: LearnedRouter):
    table = learned.route_table(TEXTS[:3], tradeoff=0.4)
    assert table.p_success.shape == table.expected_cost_usd.shape == (3, len(table.models))
    frame = table.to_pandas()
    assert list(frame.columns[:5]) == ["model", "level", "score", "propensity", "novelty"]
    assert frame["novelty"].tolist() == table.novelty.tolist()
    assert frame["model"].tolist() == table.model.tolist()
    assert frame[f"p_success.{table.models[0]}"].tolist() == table.p_success[:, 0].tolist()
    assert table.tradeoff == 0.4


def test_empty_batch(learned: LearnedRouter):
    for router in (learned, Router()):
        table = router.route_table([])
        assert len(table) == 0 and table.p_success.shape == (0, len(table.models))
        assert table.novelty.shape == (0,)


def test_the_heuristic_table_scores_no_novelty():
    table = Router().route_table(TEXTS[:3])
    assert table.novelty.shape == (3,) and np.isnan(table.novelty).all()


@pytest.mark.parametrize(
    ("metadata", "message"),
    [
        ("team=a", "metadata must be None, a mapping of strings to strings, or a list of such mappings"),
        ({"team": 1}, "metadata must map strings to strings; key 'team' has value 1"),
        ([{"team": "a"}], "metadata holds 1 mappings for 2 descriptions"),
        ([{"team": "a"}, 5], r"metadata\[1\] must be a mapping"),
    ],
)
def test_bad_metadata_is_refused(learned: LearnedRouter, metadata, message):
    for router in (learned, Router()):
        with pytest.raises(InvalidInputError, match=message):
            router.route_table(TEXTS[:2], metadata=metadata)


def test_metadata_is_accepted(learned: LearnedRouter):
    plain = learned.route_table(TEXTS[:2])
    assert learned.route_table(TEXTS[:2], metadata={"team": "a"}).model.tolist() == plain.model.tolist()
    per_task = [{"team": "a"}, {"team": "b"}]
    assert learned.route_table(TEXTS[:2], metadata=per_task).model.tolist() == plain.model.tolist()


def test_bad_descriptions_and_tradeoff_are_refused(learned: LearnedRouter):
    with pytest.raises(InvalidInputError, match="use route\\(\\) for one task"):
        learned.route_table("one text")
    with pytest.raises(InvalidInputError, match="tradeoff"):
        learned.route_table(TEXTS[:1], tradeoff=2)


def test_a_broken_model_falls_back_to_the_heuristic_table(artifact: Path, caplog):
    router = Router.load(artifact, strict=True)
    assert isinstance(router, LearnedRouter)
    router.model._text_w = router.model._text_w * np.nan
    table = router.route_table(TEXTS[:3])
    assert table.source == "heuristic"
    fallback = router.route_many(TEXTS[:3])  # route_many falls back to the same heuristic decisions
    assert table.model.tolist() == [d.model for d in fallback]
    assert [d.source for d in fallback] == ["heuristic"] * 3
    assert "falling back to the heuristic" in caplog.text
