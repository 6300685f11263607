"""Off-policy evaluation: reading partial logs, policies, the three estimators, support and refusals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from router._exceptions import InvalidInputError
from training.evaluation.ope import (
    FixedMixPolicy,
    HeuristicPolicy,
    SingleModelPolicy,
    compare_policies,
    evaluate_policy,
    fit_rewards,
    partial_log,
    policy_from_spec,
)
from training.synthetic import generate_outcomes


def _row(task: str, model: str, success: float, cost: float, propensity: float | None, ts: str) -> dict:
    return {"task_id": task, "description": f"task {task}", "model": model, "success": success,
            "cost_usd": cost, "propensity": propensity, "timestamp": ts}  # fmt: skip


@pytest.fixture(scope="module")
def logged() -> pd.DataFrame:
    return generate_outcomes(1500, seed=4, mode="logged", epsilon=0.3, escalate=True)


@pytest.fixture(scope="module")
def full() -> pd.DataFrame:
    return generate_outcomes(600, seed=5)


def test_first_attempt_carries_the_task_and_escalations_are_left_out():
    rows = [
        _row("a", "haiku", 0.0, 0.01, 0.5, "2026-01-01T00:00:00Z"),
        _row("a", "opus", 1.0, 0.30, None, "2026-01-01T00:00:05Z"),  # escalation: no propensity needed
        _row("b", "sonnet", 1.0, 0.05, 0.25, "2026-01-01T00:01:00Z"),
    ]
    log = partial_log(pd.DataFrame(rows), ["haiku", "opus", "sonnet"])
    assert log.is_partial and log.n_tasks == 2
    assert log.observed.sum() == 2  # the escalation does not count as a random draw of opus
    assert log.probability[0, 0] == 0.5 and log.probability[1, 2] == 0.25
    assert log.spend.tolist() == pytest.approx([0.31, 0.05])  # what the task really cost
    assert log.notes == {"escalation rows not used": 1}


def test_first_attempt_is_the_earliest_row_whatever_the_file_order():
    rows = [
        _row("a", "opus", 1.0, 0.30, None, "2026-01-01T00:00:05Z"),
        _row("a", "haiku", 0.0, 0.01, 0.5, "2026-01-01T00:00:00Z"),
    ]
    log = partial_log(pd.DataFrame(rows), ["haiku", "opus"])
    assert log.first.tolist() == [0] and log.success[0, 0] == 0.0


@pytest.mark.parametrize(
    ("propensities", "message"),
    [
        ([None, 0.5], r"1 \(first attempt without a propensity\)"),
        ([0.0, 0.5], r"1 \(propensity 0 or below\)"),
        ([1.5, 2.0], r"2 \(propensity above 1\)"),
        ([0.0, 1.5], r"1 \(propensity 0 or below\), 1 \(propensity above 1\)"),
    ],
    ids=["missing", "zero", "above-one", "both"],
)
def test_bad_propensities_are_refused_with_a_count_per_reason(propensities, message):
    rows = [_row(t, "haiku", 1.0, 0.01, p, f"2026-01-01T00:0{i}:00Z")
            for i, (t, p) in enumerate(zip("ab", propensities, strict=True))]  # fmt: skip
    rows.append(_row("a", "opus", 1.0, 0.2, None, "2026-01-01T00:05:00Z"))
    with pytest.raises(InvalidInputError, match=message):
        partial_log(pd.DataFrame(rows), ["haiku", "opus", "sonnet"])


def test_a_log_without_the_propensity_column_is_refused():
    frame = pd.DataFrame([_row("a", "haiku", 1.0, 0.01, None, "2026-01-01T00:00:00Z")]).drop(
        columns="propensity"
    )
    with pytest.raises(InvalidInputError, match="no propensity column"):
        partial_log(frame, ["haiku", "opus"])


def test_a_file_with_bad_propensities_is_refused(tmp_path):
    rows = [_row("a", "haiku", 1.0, 0.01, 0.0, "2026-01-01T00:00:00Z"),
            _row("b", "haiku", 1.0, 0.01, 7.0, "2026-01-01T00:00:01Z")]  # fmt: skip
    path = tmp_path / "log.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    with pytest.raises(InvalidInputError, match=r"1 \(propensity 0 or below\), 1 \(propensity above 1\)"):
        partial_log(path)


def test_full_information_ips_is_the_direct_evaluation(full):
    log = partial_log(full)
    assert not log.is_partial
    for policy in (SingleModelPolicy("opus"), FixedMixPolicy({"haiku": 1, "sonnet": 3}), HeuristicPolicy()):
        estimate = evaluate_policy(log, policy, estimator="ips", bootstrap=50)
        names, probs = policy.probabilities(log.descriptions, log.facts)
        index = [log.models.index(n) for n in names]
        direct = (probs * log.success[:, index]).sum(axis=1).mean()
        assert estimate.success.value == pytest.approx(direct)
        assert estimate.support.ess == pytest.approx(log.n_tasks)
        assert estimate.success.ci_low <= direct <= estimate.success.ci_high


def test_the_three_estimators_agree_with_the_truth_within_their_intervals(logged, full):
    truth = full[full["model"] == "opus"]["success"].mean()  # another draw of the same world: loose check
    log = partial_log(logged)
    for estimator in ("dr", "ips", "snips"):
        estimate = evaluate_policy(log, SingleModelPolicy("opus"), estimator=estimator, bootstrap=100)
        assert estimate.success.ci_low < estimate.success.value < estimate.success.ci_high
        assert abs(estimate.success.value - truth) < 0.1
        assert estimate.support.max_weight == pytest.approx(1 / 0.1)  # epsilon 0.3 over 3 models
        assert 0 < estimate.support.ess < log.n_tasks


def test_cross_fitted_rewards_never_see_their_own_task(logged):
    log = partial_log(logged).subset(np.arange(200))
    base = fit_rewards(log, seed=1)
    changed = log.subset(np.arange(200))
    changed.success = np.where(log.observed, 1.0 - np.nan_to_num(log.success), np.nan)
    flipped = fit_rewards(changed, seed=1)
    # A task's prediction is fit on other folds only: flipping only task 0's outcome leaves it unchanged.
    one = log.subset(np.arange(200))
    one.success = log.success.copy()
    one.success[0] = np.where(log.observed[0], 1.0 - np.nan_to_num(log.success[0]), np.nan)
    assert np.allclose(fit_rewards(one, seed=1).success[0], base.success[0])
    assert not np.allclose(flipped.success, base.success)


def test_a_choice_without_logging_support_is_refused_with_the_share_and_a_way_out():
    rows = [_row(f"t{i}", "haiku", 1.0, 0.01, 1.0, f"2026-01-01T00:00:{i:02d}Z") for i in range(20)]
    log = partial_log(pd.DataFrame(rows), ["haiku", "opus"])
    with pytest.raises(InvalidInputError, match=r"100\.0% of the policy \(always opus\)'s choices.*"
                       r"exploration_rate="):  # fmt: skip
        evaluate_policy(log, SingleModelPolicy("opus"))
    # The same policy on the model the log always took is supported.
    assert evaluate_policy(log, SingleModelPolicy("haiku"), estimator="ips").success.value == 1.0


def test_a_model_the_log_never_holds_counts_as_unsupported(logged):
    with pytest.raises(InvalidInputError, match=r"100\.0% of the policy"):
        evaluate_policy(partial_log(logged), SingleModelPolicy("gpt-9"), estimator="ips")


def test_paired_difference_of_a_policy_with_itself_is_exactly_zero(logged):
    log = partial_log(logged)
    paired = compare_policies(log, SingleModelPolicy("sonnet"), SingleModelPolicy("sonnet"), bootstrap=50)
    assert paired.difference["success"].value == 0.0
    assert paired.difference["success"].ci_low == paired.difference["success"].ci_high == 0.0


def test_paired_interval_is_narrower_than_the_unpaired_one(logged):
    log = partial_log(logged)
    paired = compare_policies(
        log, HeuristicPolicy(tradeoff=0.6), HeuristicPolicy(), cost_weight=0.0, bootstrap=200
    )
    diff = paired.difference["success"]
    unpaired = np.hypot(
        paired.candidate.success.ci_high - paired.candidate.success.ci_low,
        paired.champion.success.ci_high - paired.champion.success.ci_low,
    )
    assert diff.ci_high - diff.ci_low < unpaired
    assert paired.lower_bound["success"] > diff.ci_low  # one-sided 95% sits inside the two-sided 95%


def test_json_shape_holds_the_documented_fields(logged):
    data = evaluate_policy(partial_log(logged), SingleModelPolicy("haiku"), bootstrap=20).to_dict()
    assert {"estimator", "n_tasks", "ess", "estimates", "logging_policy"} <= set(data)
    for key in ("success", "cost_usd", "utility"):
        assert set(data["estimates"][key]) == {"value", "ci_low", "ci_high"}
    assert set(data["logging_policy"]) >= {"success", "cost_usd"}


@pytest.mark.parametrize(
    ("spec", "kind"),
    [
        ("heuristic", HeuristicPolicy),
        ("model:opus", SingleModelPolicy),
        ("mix:haiku=0.5,opus=0.5", FixedMixPolicy),
    ],
    ids=["heuristic", "single", "mix"],
)
def test_policy_from_spec(spec, kind):
    assert isinstance(policy_from_spec(spec), kind)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("mix:haiku=x", "Bad fixed mix"),
        ("mix:haiku=-1", "shares >= 0"),
        ("mix:haiku=0.7,opus=0.7", "the shares sum to 1.4, not 1"),
        ("nowhere/router", "No router artifact"),
    ],
    ids=["not-a-number", "negative", "sum-not-one", "missing-artifact"],
)
def test_bad_policy_specs_are_refused(spec, message):
    from router._exceptions import RouterError

    with pytest.raises(RouterError, match=message):
        policy_from_spec(spec)


def test_unknown_estimator_is_refused(logged):
    with pytest.raises(InvalidInputError, match="Allowed: dr, ips, snips"):
        evaluate_policy(partial_log(logged), SingleModelPolicy("haiku"), estimator="magic")


def test_a_learned_router_is_judged_with_the_metadata_its_log_holds(tmp_path):
    """A router that learned one team defeats the cheap model decides by the team the log records: the
    off-policy policy gets each task's logged metadata, as serving would, and routes the two teams apart."""
    import json

    from training import train_router
    from training.evaluation.ope import LearnedPolicy

    frame = generate_outcomes(600, seed=11)
    teams = {t: ("infra" if k % 2 else "docs") for k, t in enumerate(frame["task_id"].unique())}
    frame["metadata"] = frame["task_id"].map(lambda t: json.dumps({"team": teams[t]}))
    frame.loc[(frame["task_id"].map(teams) == "infra") & (frame["model"] == "haiku"), "success"] = 0.0
    train_router(frame, log_to_mlflow=False, output_dir=tmp_path / "r")
    logged = frame.drop_duplicates("task_id").assign(propensity=0.5)
    log = partial_log(logged, sorted(frame["model"].unique()))
    assert log.metadata is not None and {m["team"] for m in log.metadata} == {"infra", "docs"}
    policy = LearnedPolicy(tmp_path / "r", tradeoff=0.5)
    names, probs = policy.probabilities(log.descriptions, log.facts, log.metadata)
    haiku = probs[:, names.index("haiku")]
    infra = np.array([m["team"] == "infra" for m in log.metadata])
    assert haiku[infra].mean() < haiku[~infra].mean() - 0.1
    # Without the metadata the same router cannot tell the teams apart.
    _, blind = policy.probabilities(log.descriptions, log.facts)
    assert abs(blind[infra, names.index("haiku")].mean() - blind[~infra, names.index("haiku")].mean()) < 0.1
