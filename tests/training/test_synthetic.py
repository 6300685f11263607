"""Synthetic generator: seeded, valid outcome logs whose outcomes follow the documented latent model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from router import Catalog, ComplexityEstimator, EstimatorConfig, InvalidInputError
from router._outcome_log import COLUMNS, read_outcomes, validate_outcomes
from router.estimation.keywords import KeywordIndex
from training.data.synthetic_templates import COMPONENTS, DOC_FILES, FILLERS, MODIFIERS, MODULES, SCOPE, SLOTS
from training.swebench import swebench_catalog
from training.synthetic import DEFAULT_ABILITY, LatentModel, abilities, generate_outcomes, main

#: The one seed of this module's generated data; Hypothesis draws its own.
SEED = 20261125


@pytest.fixture(scope="module")
def full() -> pd.DataFrame:
    return generate_outcomes(4000, seed=SEED, latent=True)


@pytest.fixture(scope="module")
def logged() -> pd.DataFrame:
    return generate_outcomes(4000, seed=SEED, mode="logged", escalate=True, latent=True)


def test_same_seed_same_frame_other_seed_other_frame():
    a = generate_outcomes(200, seed=1, mode="logged", escalate=True)
    pd.testing.assert_frame_equal(a, generate_outcomes(200, seed=1, mode="logged", escalate=True))
    b = generate_outcomes(200, seed=2, mode="logged", escalate=True)
    assert not a["description"].equals(b["description"])
    assert a["task_id"].str.startswith("syn1-").all() and b["task_id"].str.startswith("syn2-").all()


@pytest.mark.parametrize("mode", ["full", "logged"])
def test_frames_are_valid_outcome_logs(mode: str):
    frame = generate_outcomes(300, seed=SEED, mode=mode, escalate=True)  # type: ignore[arg-type]
    # The schema up to propensity: synthetic tasks have no metadata, answers or ledger columns.
    assert list(frame.columns) == list(COLUMNS[: COLUMNS.index("propensity") + 1])
    log = validate_outcomes(frame)
    assert log.rejected == {}
    assert len(log.frame) == len(frame)


def test_full_mode_tries_every_model_on_every_task_for_sure(full: pd.DataFrame):
    assert len(full) == 4000 * 3
    assert (full.groupby("task_id")["model"].apply(sorted).map(tuple) == ("haiku", "opus", "sonnet")).all()
    assert (full["propensity"] == 1.0).all()


def test_success_rates_follow_abilities_and_costs_follow_prices(full: pd.DataFrame):
    by_model = full.groupby("model").agg(success=("success", "mean"), cost=("cost_usd", "mean"))
    assert (
        by_model.loc["haiku", "success"] < by_model.loc["sonnet", "success"] < by_model.loc["opus", "success"]
    )
    assert by_model.loc["haiku", "cost"] < by_model.loc["sonnet", "cost"] < by_model.loc["opus", "cost"]
    # The success rate is the mean of the latent probabilities, up to sampling noise.
    expected = full.groupby("model")["p_success"].mean()
    assert np.allclose(by_model["success"], expected, atol=0.03)


def test_latent_columns_obey_the_documented_model(full: pd.DataFrame):
    ability = full["model"].map(DEFAULT_ABILITY)
    difficulty = full["difficulty_visible"] + full["difficulty_hidden"]
    assert np.allclose(full["p_success"], 1 / (1 + np.exp(-(ability - difficulty))))
    hidden = full.drop_duplicates("task_id")["difficulty_hidden"]
    assert hidden.std() == pytest.approx(LatentModel().hidden_sigma, rel=0.05)
    # Harder kinds are visibly harder: typos are the easiest, distributed systems the hardest.
    by_kind = full.groupby("kind")["difficulty_visible"].mean()
    assert by_kind.idxmin() == "typo" and by_kind.idxmax() == "distributed"


def test_files_are_json_lists_of_distinct_paths_matching_the_size(full: pd.DataFrame):
    tasks = full.drop_duplicates("task_id")
    lists = tasks["files"].map(json.loads)
    assert (lists.map(len) == tasks["n_files"]).all()
    assert (lists.map(lambda paths: len(set(paths)) == len(paths))).all()
    assert lists.map(lambda paths: all(p.endswith((".py", ".md")) for p in paths)).all()
    assert (tasks["lines"] >= 5 * tasks["n_files"]).all()
    scope = tasks["description"].str.extract(r"(\d+) file\(s\)\D+(\d+) lines").astype(int)
    assert (scope[0] == tasks["n_files"]).all() and (scope[1] == tasks["lines"]).all()


def test_task_type_is_what_the_heuristic_estimator_says(full: pd.DataFrame):
    estimator = ComplexityEstimator()
    tasks = full.drop_duplicates("task_id").head(1500)
    named = [estimator.estimate(d).task_type.value for d in tasks["description"]]
    assert named == tasks["task_type"].tolist()


def test_fillers_hold_no_task_type_keyword():
    rules = KeywordIndex(
        {str(i): rule.keywords for i, rule in enumerate(EstimatorConfig.default().task_types)}
    )
    texts = [v for values in SLOTS.values() for v in values for v in v.split("|")]
    texts += [c for pair in COMPONENTS for c in pair] + list(MODULES) + list(DOC_FILES) + list(FILLERS)
    texts += [m.text for m in MODIFIERS] + [s.format(n_files=3, lines=120) for s in SCOPE]
    hits = {t: [k for found in rules.scan(t.lower()).values() for k in found] for t in texts}
    # A doc file may name itself as documentation: doc files appear only in doc and typo templates.
    assert {t: h for t, h in hits.items() if h and t not in DOC_FILES} == {}


def test_logged_mode_records_the_policy_propensities(logged: pd.DataFrame):
    first = logged.drop_duplicates("task_id", keep="first")
    assert len(first) == 4000
    k, epsilon = 3, 0.2
    assert set(first["propensity"].round(12)) == {
        round(epsilon / k, 12),
        round(1 - epsilon + epsilon / k, 12),
    }
    assert ((logged["propensity"] > 0) & (logged["propensity"] <= 1)).all()
    # The greedy part sends the visibly easiest tasks to the cheapest model.
    greedy = first[first["propensity"] > 0.5]
    by_model = greedy.groupby("model")["difficulty_visible"].mean()
    assert by_model["haiku"] < by_model["sonnet"] < by_model["opus"]


def test_escalations_follow_failures_one_step_dearer(logged: pd.DataFrame):
    order = {"haiku": 0, "sonnet": 1, "opus": 2}
    for _, rows in logged.groupby("task_id").head(2).groupby("task_id"):
        if len(rows) == 2:
            first, second = rows.iloc[0], rows.iloc[1]
            assert first["success"] == 0.0 and first["model"] != "opus"
            assert order[second["model"]] == order[first["model"]] + 1
            assert second["propensity"] == 1.0 and second["timestamp"] >= first["timestamp"]
    assert logged.groupby("task_id").size().max() == 2


def test_uniform_logging_policy_spreads_tasks_evenly():
    frame = generate_outcomes(6000, seed=SEED, mode="logged", epsilon=1.0)
    assert np.allclose(frame["propensity"], 1 / 3)
    assert np.allclose(frame["model"].value_counts(normalize=True), 1 / 3, atol=0.03)


def test_abilities_of_another_catalog_rise_with_price():
    catalog = swebench_catalog()
    ability = abilities(catalog)
    ranked = [ability[m.name] for m in catalog.by_price]
    assert ranked == sorted(ranked) and ranked[0] == LatentModel().ability_low
    assert ranked[-1] == LatentModel().ability_high
    frame = generate_outcomes(3000, seed=SEED, catalog=catalog)
    rates = frame.groupby("model")["success"].mean()
    assert rates["gpt-5-nano"] < rates["gpt-5"] < rates["claude-opus-4.5"]


def test_given_abilities_override_the_defaults():
    frame = generate_outcomes(3000, seed=SEED, ability={"haiku": 3.0, "sonnet": 0.0, "opus": -3.0})
    rates = frame.groupby("model")["success"].mean()
    assert rates["haiku"] > rates["sonnet"] > rates["opus"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_tasks": 0}, "n_tasks must be at least 1, got 0"),
        ({"mode": "offline"}, "Unknown mode 'offline'. Allowed modes: full, logged"),
        ({"epsilon": 0.0}, r"epsilon must be in \(0, 1\], got 0.0"),
        ({"epsilon": 1.5}, r"epsilon must be in \(0, 1\], got 1.5"),
        ({"ability": {"haiku": 1.0}}, "ability has no value for model.s. sonnet, opus"),
    ],
    ids=["no-tasks", "unknown-mode", "epsilon-zero", "epsilon-above-1", "ability-missing"],
)
def test_bad_arguments_are_refused_with_the_allowed_values(kwargs: dict[str, object], match: str):
    arguments: dict[str, object] = {"n_tasks": 5, "seed": 0, **kwargs}
    with pytest.raises(InvalidInputError, match=match):
        generate_outcomes(**arguments)  # type: ignore[arg-type]


@settings(deadline=None, max_examples=40)
@given(
    n_tasks=st.integers(1, 60),
    seed=st.integers(0, 2**32 - 1),
    mode=st.sampled_from(["full", "logged"]),
    epsilon=st.floats(0.01, 1.0),
    escalate=st.booleans(),
    n_models=st.integers(1, 5),
)
def test_invariants_hold_for_any_size_seed_and_catalog(n_tasks, seed, mode, epsilon, escalate, n_models):
    names = ["gpt-5-nano", "gpt-5-mini", "gpt-5", "claude-sonnet-4", "claude-opus-4.5"][:n_models]
    solo = {"tier": "fast", "input_cost_per_1m": 1, "output_cost_per_1m": 2, "context_window": 1000,
            "max_output_tokens": 100, "latency_ms": 10}  # fmt: skip
    catalog = swebench_catalog(names) if n_models > 1 else Catalog.from_dict({"models": {"solo": solo}})
    frame = generate_outcomes(
        n_tasks, seed=seed, catalog=catalog, mode=mode, epsilon=epsilon, escalate=escalate
    )
    assert validate_outcomes(frame).rejected == {}
    assert frame["task_id"].nunique() == n_tasks
    rows_per_task = frame.groupby("task_id").size()
    if mode == "full":
        assert (rows_per_task == len(catalog.names())).all()
    else:
        assert rows_per_task.between(1, 2 if escalate else 1).all()
    assert ((frame["propensity"] > 0) & (frame["propensity"] <= 1 + 1e-12)).all()
    assert (frame["cost_usd"] > 0).all() and (frame["output_tokens"] >= 1).all()
    assert frame["success"].isin([0.0, 1.0]).all()
    stamps = pd.to_datetime(frame["timestamp"], utc=True, format="ISO8601")
    assert stamps.is_monotonic_increasing or mode == "full" or escalate


def test_command_line_writes_a_log_and_prints_a_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    out = tmp_path / "syn.parquet"
    assert main([str(out), "--tasks", "50", "--seed", "3", "--mode", "logged", "--catalog", "swebench"]) == 0
    printed = capsys.readouterr().out
    assert "50 tasks" in printed and "gpt-5-nano" in printed
    assert read_outcomes(out).frame["task_id"].nunique() == 50


def test_command_line_reports_errors_without_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    assert main([str(tmp_path / "x.csv"), "--catalog", str(tmp_path / "absent.toml")]) == 2
    assert "error: " in capsys.readouterr().err
