"""Task metadata: checked where it enters, carried by outcome logs, and used by the learned model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from router import InvalidInputError, Router, RoutingDecision
from router._outcome_log import validate_outcomes
from training import train_router
from training.synthetic import generate_outcomes


def test_non_string_values_are_refused_naming_key_and_value():
    router = Router()
    with pytest.raises(InvalidInputError, match=r"key 'pr' has value 12"):
        router.route("Fix the login bug", metadata={"repo": "a/b", "pr": 12})
    with pytest.raises(InvalidInputError, match=r"2 mappings for 3 descriptions"):
        router.route_many(["a", "b", "c"], metadata=[{"repo": "x"}, {"repo": "y"}])
    with pytest.raises(InvalidInputError, match=r"metadata\[1\].*'lang'"):
        router.route_many(["a", "b"], metadata=[{"repo": "x"}, {"lang": None}])
    assert len(router.route_many(["a", "b"], metadata={"repo": "x"})) == 2


def test_outcome_logs_carry_metadata_and_reject_bad_cells():
    frame = pd.DataFrame(
        {
            "task_id": ["1", "2", "3", "4"],
            "description": ["a", "b", "c", "d"],
            "model": ["m"] * 4,
            "success": [1, 0, 1, 0],
            "cost_usd": [0.1] * 4,
            "metadata": ['{"repo": "x"}', {"repo": "y"}, '{"n": 3}', None],
        }
    )
    log = validate_outcomes(frame)
    assert log.rejected == {"metadata not a JSON object of strings to strings": 1}
    assert log.frame["metadata"].tolist() == ['{"repo": "x"}', '{"repo": "y"}', ""]


@pytest.fixture(scope="module")
def trained_with_team(tmp_path_factory) -> Path:
    """Synthetic outcomes where one team's tasks defeat the cheap model: only the metadata says which."""
    frame = generate_outcomes(600, seed=11)
    rng = np.random.default_rng(0)
    teams = {t: rng.choice(["infra", "docs"]) for t in frame["task_id"].unique()}
    frame["metadata"] = frame["task_id"].map(lambda t: json.dumps({"team": teams[t]}))
    hard = (frame["task_id"].map(teams) == "infra") & (frame["model"] == "haiku")
    frame.loc[hard, "success"] = 0.0
    out = tmp_path_factory.mktemp("meta") / "r"
    train_router(frame, log_to_mlflow=False, output_dir=out)
    return out


def test_the_learned_model_uses_metadata_and_ignores_unknown_values(trained_with_team: Path):
    router = Router.load(trained_with_team, strict=True)
    text = "Update the docs for the new endpoint"
    infra = router.route(text, metadata={"team": "infra"}).p_success["haiku"]
    docs = router.route(text, metadata={"team": "docs"}).p_success["haiku"]
    plain = router.route(text).p_success["haiku"]
    unknown = router.route(text, metadata={"team": "legal", "tool": "x"}).p_success["haiku"]
    other = router.route(text, metadata={"lang": "go"}).p_success["haiku"]
    # No metadata: the training tasks' mean contribution, between the two teams.
    assert infra < plain < docs
    assert unknown == pytest.approx(other)  # unknown keys and values add nothing
    many = router.route_many([text, text], metadata=[{"team": "infra"}, {"team": "docs"}])
    assert many[0].p_success["haiku"] == pytest.approx(infra)
    assert many[1].p_success["haiku"] == pytest.approx(docs)
    assert router.route_many([text])[0].p_success["haiku"] == pytest.approx(plain)


# --- the decision carries the metadata it was routed with ------------------------------------------------

TEAM = {"team": "infra", "repo": "acme/site"}


def test_a_heuristic_decision_carries_its_metadata():
    router = Router()
    assert router.route("Fix typo in README", metadata=TEAM).metadata == TEAM
    assert router.route("Fix typo in README").metadata is None
    assert router.route("Fix typo in README", metadata={}).metadata is None  # empty is "none", as the ledger
    shared = router.route_many(["Fix typo", "Add cache"], metadata=TEAM)
    assert [d.metadata for d in shared] == [TEAM, TEAM]
    assert shared[0].metadata is not shared[1].metadata  # each decision holds its own copy
    each = router.route_many(
        ["Fix typo", "Add cache", "Port it"], metadata=[{"team": "a"}, {}, {"team": "c"}]
    )
    assert [d.metadata for d in each] == [{"team": "a"}, None, {"team": "c"}]
    assert [d.metadata for d in router.route_many(["Fix typo"])] == [None]


def test_a_decision_keeps_a_copy_not_the_callers_mapping():
    given = {"team": "infra"}
    decision = Router().route("Fix typo", metadata=given)
    given["team"] = "docs"
    assert decision.metadata == {"team": "infra"}


def test_a_learned_decision_carries_its_metadata_on_every_path(trained_with_team: Path):
    router = Router.load(trained_with_team, strict=True)
    text = "Update the docs for the new endpoint"
    assert router.route(text, metadata=TEAM).metadata == TEAM
    assert router.route(text).metadata is None
    many = router.route_many([text, text, text], metadata=[{"team": "infra"}, {}, {"team": "docs"}])
    assert [d.metadata for d in many] == [{"team": "infra"}, None, {"team": "docs"}]
    shared = router.route_many([text, text], metadata=TEAM)
    assert [d.metadata for d in shared] == [TEAM, TEAM] and shared[0].metadata is not shared[1].metadata
    assert router.route_many([text])[0].metadata is None
    # A model gone bad in memory: the heuristic's fallback decisions still carry the task's metadata.
    router.model._bias = router.model._bias * np.nan
    assert router.route(text, metadata=TEAM).source == "heuristic"
    assert router.route(text, metadata=TEAM).metadata == TEAM
    assert [d.metadata for d in router.route_many([text, text], metadata=[TEAM, {}])] == [TEAM, None]


def test_the_decision_record_checks_and_dumps_its_metadata():
    decision = Router().route("Fix typo", metadata=TEAM)
    dumped = decision.model_dump(mode="json")
    assert dumped["metadata"] == TEAM
    assert RoutingDecision.model_validate(dumped) == decision
    with pytest.raises(ValidationError, match=r"metadata\.pr"):
        RoutingDecision.model_validate({**dumped, "metadata": {"pr": 12}})
