"""Novelty: the training support in the artifact, estimates pulled towards model averages far from it, the
tradeoff's order kept, and the score on every decision (router.learned.novelty, training.fit.novelty)."""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from router import Router
from router.learned.novelty import REASON, shrink, trust
from router.learned.policy import choose_many, mu_for
from router.learned.router import LearnedRouter
from training import train_router
from training.fit.novelty import curve_area, group_folds, oof_areas, oof_ceiling, oof_ramp, within_one_se
from training.synthetic import generate_outcomes

GRID = [round(0.05 * k, 2) for k in range(21)]

# Words from a field no synthetic coding task uses: the unfamiliar family.
_COOKING_TEXT = (
    "whisk the eggs with sugar until pale fold in sifted flour bake at moderate heat knead dough "
    "proof overnight simmer broth reduce sauce season with salt pepper garnish parsley marinate "
    "chicken roast vegetables caramelise onions deglaze pan braise shoulder poach pears blanch beans"
)
_COOKING = tuple(_COOKING_TEXT.split())


def cooking_tasks(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choices(_COOKING, k=rng.randint(12, 40))).capitalize() + "." for _ in range(n)]


@st.composite
def traffic(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, tuple]:
    n = draw(st.integers(1, 12))
    m = draw(st.integers(2, 6))
    unit = st.floats(0.0, 1.0, allow_nan=False)
    price = st.floats(1e-5, 1.0, allow_nan=False)
    p = np.array(draw(st.lists(st.lists(unit, min_size=m, max_size=m), min_size=n, max_size=n)))
    cost = np.array(draw(st.lists(st.lists(price, min_size=m, max_size=m), min_size=n, max_size=n)))
    mean_s = np.array(draw(st.lists(unit, min_size=m, max_size=m)))
    mean_c = np.array(draw(st.lists(price, min_size=m, max_size=m)))
    novelty = np.array(draw(st.lists(st.floats(0.0, 20.0), min_size=n, max_size=n)))
    near = draw(st.floats(0.0, 5.0))
    ramp = (draw(st.sampled_from([0.0, 0.25, 0.5, 1.0])), near, near + draw(st.floats(0.0, 5.0)))
    return p, cost, mean_s, mean_c, novelty, ramp


@settings(max_examples=200, deadline=None)
@given(traffic(), st.floats(0.01, 100.0))
def test_raising_the_tradeoff_never_lowers_the_mean_predicted_success(case: tuple, kappa: float) -> None:
    p, cost, mean_s, mean_c, novelty, ramp = case
    ps, cs = shrink(p, cost, trust(novelty, *ramp), mean_s, mean_c)
    rows = np.arange(len(ps))
    means = [float(ps[rows, choose_many(ps, cs, mu_for(t, kappa))].mean()) for t in GRID]
    assert all(b >= a - 1e-12 for a, b in itertools.pairwise(means)), means
    # t = 1 takes the model with the highest P(success) after shrinking (ties: the cheaper of them).
    top = choose_many(ps, cs, mu_for(1.0, kappa))
    assert np.allclose(ps[rows, top], ps.max(axis=1))


@given(traffic())
def test_full_shrinkage_is_the_fixed_choice(case: tuple) -> None:
    p, cost, mean_s, mean_c, _, _ = case
    ps, cs = shrink(p, cost, np.zeros(len(p)), mean_s, mean_c)
    for t in (0.0, 0.3, 0.7, 1.0):
        fixed = choose_many(mean_s[None, :], mean_c[None, :], mu_for(t, 5.0))[0]
        assert (choose_many(ps, cs, mu_for(t, 5.0)) == fixed).all()


def test_trust_is_full_near_none_far_and_falls_in_between() -> None:
    values = trust(np.array([0.0, 1.0, 1.5, 2.0, 9.0]), 0.8, 1.0, 2.0)
    assert values.tolist() == pytest.approx([0.8, 0.8, 0.4, 0.0, 0.0])
    # A step: full trust up to and at ``near``, none past it.
    assert trust(np.array([0.0, 1.0, 1.0001]), 1.0, 1.0, 1.0).tolist() == [1.0, 1.0, 0.0]


def test_groups_stay_whole_in_folds() -> None:
    labels = np.array([0] * 50 + [1] * 30 + [2] * 20 + [3] * 10 + [4] * 5 + [5] * 5)
    folds = group_folds(labels, folds=3)
    for g in np.unique(labels):
        assert len(set(folds[labels == g])) == 1
    assert len(set(folds)) == 3


def test_curve_area_of_a_single_point_is_it_over_the_range_and_the_floor_below() -> None:
    assert curve_area(np.array([(1.0, 0.5)]), 1.0, 2.0, 0.0) == pytest.approx(0.5)
    # Mixing the two ends: the diagonal, whose mean over [0, 1] is the middle.
    assert curve_area(np.array([(0.0, 0.0), (1.0, 1.0)]), 0.0, 1.0, 0.0) == pytest.approx(0.5)


def _two_models(n: int, seed: int) -> tuple:
    """A cheap model and a dear, better one, with a real difference per task (outcomes, costs, averages)."""
    rng = np.random.default_rng(seed)
    rates = np.column_stack([rng.uniform(0.1, 0.6, n), rng.uniform(0.4, 0.95, n)])
    success = (rng.uniform(size=(n, 2)) < rates).astype(float)
    cost = np.tile([0.001, 0.01], (n, 1))
    return success, cost, success.mean(axis=0), cost.mean(axis=0)


def test_the_ceiling_stays_at_full_trust_where_the_estimates_hold_and_falls_where_they_mislead() -> None:
    novelty = np.zeros(4000)  # familiar tasks: only the ceiling can pull them
    success, cost, mean_s, mean_c = _two_models(4000, 1)
    sure = np.clip(success, 0.01, 0.99)  # estimates that know each outcome
    level, areas = oof_ceiling((success, cost, sure, cost), novelty, (1.0, 3.0), mean_s, mean_c, 20.0)
    assert level == 1.0 and set(areas) == {str(v) for v in (1.0, 0.75, 0.5, 0.25, 0.0)}
    wrong = np.clip(1.0 - success, 0.01, 0.99)  # confidently wrong: the model averages route better
    level, areas = oof_ceiling((success, cost, wrong, cost), novelty, (1.0, 3.0), mean_s, mean_c, 20.0)
    assert level < 1.0 and areas[str(level)] > areas["1.0"]


def test_a_ramp_that_pulls_familiar_tasks_it_routes_well_is_passed_over() -> None:
    success, cost, mean_s, mean_c = _two_models(4000, 5)
    sure = np.clip(success, 0.01, 0.99)
    novelty = np.random.default_rng(6).uniform(0.0, 2.0, 4000)  # as unusual as training tasks get
    # Held-out groups ranked a ramp that pulls from novelty 0 first; on these tasks the estimates hold.
    ramps = [(0.0, 0.0), (0.5, 1.0), (2.5, 3.0)]
    assert oof_ramp((success, cost, sure, cost), novelty, ramps, mean_s, mean_c, 20.0) == (2.5, 3.0)
    wrong = np.clip(1.0 - success, 0.01, 0.99)  # estimates that mislead: pulling costs nothing
    assert oof_ramp((success, cost, wrong, cost), novelty, ramps, mean_s, mean_c, 20.0) == (0.0, 0.0)


def test_a_ramp_that_costs_familiar_tasks_anything_is_passed_over_even_within_the_noise() -> None:
    rng = np.random.default_rng(0)
    rates = np.column_stack([rng.uniform(0.1, 0.6, 4000), rng.uniform(0.4, 0.95, 4000)])
    success = (rng.uniform(size=(4000, 2)) < rates).astype(float)
    cost = np.tile([0.001, 0.01], (4000, 1))
    mean_s, mean_c = success.mean(axis=0), cost.mean(axis=0)
    novelty = np.random.default_rng(6).uniform(0.0, 2.0, 4000)
    # Estimates that know each task's rate: pulling the 2% most unusual tasks loses a little, less than one
    # bootstrap standard error here; in distribution that loss is what the curve pays, so the ramp goes.
    ramps = [(1.96, 1.98), (2.5, 3.0)]
    areas = oof_areas(
        (success, cost, rates, cost), [np.ones(4000), trust(novelty, 1.0, *ramps[0])], mean_s, mean_c, 20.0
    )
    assert areas[0, 0] > areas[1, 0] and within_one_se(areas, 0)[1]
    assert oof_ramp((success, cost, rates, cost), novelty, ramps, mean_s, mean_c, 20.0) == (2.5, 3.0)


@pytest.fixture(scope="module")
def familiar_router(artifact: Path) -> LearnedRouter:
    router = Router.load(artifact, strict=True)
    assert isinstance(router, LearnedRouter)
    return router


def test_the_artifact_carries_the_support_and_how_far_counts_as_far(artifact: Path) -> None:
    meta = json.loads((artifact / "metadata.json").read_text())["novelty"]
    calibration = meta["calibration"]
    assert calibration["evidence_tasks"] > 0, calibration  # learned from held-out groups, not the fallback
    assert 0.0 <= meta["trust_max"] <= 1.0 and meta["near"] <= meta["far"]
    assert set(meta["reference"]) == {"unseen"}


def test_unfamiliar_tasks_score_higher_and_route_to_the_training_best_at_t1(
    familiar_router: LearnedRouter,
) -> None:
    training = generate_outcomes(600, seed=11)
    best = training.groupby("model")["success"].mean().idxmax()
    familiar = training.drop_duplicates("task_id")["description"].tolist()[:200]
    unfamiliar = cooking_tasks(200)
    near = [d.novelty for d in familiar_router.route_many(familiar, tradeoff=1.0)]
    far_decisions = familiar_router.route_many(unfamiliar, tradeoff=1.0)
    far = [d.novelty for d in far_decisions]
    assert all(v is not None for v in near + far)
    assert np.median(far) > np.quantile(near, 0.95)
    assert [d.model for d in far_decisions] == [best] * len(unfamiliar)
    # Fully pulled: every unfamiliar task has the model averages as its estimates.
    assert far_decisions[0].p_success == far_decisions[1].p_success


def test_route_and_route_many_agree_on_novelty_model_and_reason(familiar_router: LearnedRouter) -> None:
    texts = (
        cooking_tasks(20, seed=3)
        + generate_outcomes(40, seed=5).drop_duplicates("task_id")["description"].tolist()
    )
    for t in (0.2, 0.6):
        many = familiar_router.route_many(texts, tradeoff=t)
        for text, batch in zip(texts, many, strict=True):
            one = familiar_router.route(text, tradeoff=t)
            assert one.model == batch.model
            assert one.novelty == pytest.approx(batch.novelty, abs=1e-9)
            assert (REASON in one.reason) == (REASON in batch.reason)
        table = familiar_router.route_table(texts, tradeoff=t)
        assert table.model.tolist() == [d.model for d in many]
        assert table.novelty.tolist() == pytest.approx([d.novelty for d in many], abs=1e-12)
        assert table.to_pandas()["novelty"].tolist() == table.novelty.tolist()


def test_a_changed_choice_says_why(familiar_router: LearnedRouter) -> None:
    model = familiar_router.model
    texts = cooking_tasks(100, seed=9)
    reasons, changes = [], 0
    for t in GRID:
        batch = model.assess_batch(texts)
        mu, mask = mu_for(t, model.kappa), model.allowed_mask(t)
        changed = choose_many(batch.p, batch.cost, mu, mask) != choose_many(
            batch.p_raw, batch.cost_raw, mu, mask
        )
        decisions = familiar_router.route_many(texts, tradeoff=t)
        reasons += [(REASON in d.reason) == bool(c) for d, c in zip(decisions, changed, strict=True)]
        changes += int(changed.sum())
    assert changes > 0 and all(reasons)


def test_the_trained_router_keeps_the_tradeoff_order_on_mixed_traffic(
    familiar_router: LearnedRouter,
) -> None:
    texts = (
        cooking_tasks(50, seed=1)
        + generate_outcomes(150, seed=2).drop_duplicates("task_id")["description"].tolist()
    )
    means = []
    for t in GRID:
        decisions = familiar_router.route_many(texts, tradeoff=t)
        means.append(float(np.mean([d.p_success[d.model] for d in decisions])))
    assert all(b >= a - 1e-12 for a, b in itertools.pairwise(means)), means


def test_an_artifact_without_a_support_reports_no_novelty(artifact: Path, tmp_path: Path) -> None:
    from router.learned.artifact import load_artifact, save_artifact

    arrays, meta = load_artifact(artifact)
    old = {k: v for k, v in arrays.items() if not k.startswith("novelty_")}
    save_artifact(tmp_path / "old", old, {k: v for k, v in meta.items() if k not in ("arrays_sha256",)})
    router = Router.load(tmp_path / "old", strict=True)
    decision = router.route("Fix the login bug", tradeoff=0.5)
    assert decision.novelty is None and REASON not in decision.reason
    assert np.isnan(router.route_table(["Fix the login bug"]).novelty).all()


def test_a_router_trained_on_one_family_routes_another_as_the_training_best(tmp_path: Path) -> None:
    """Train on coding tasks, route cooking ones: at t = 1 every unfamiliar task goes to the model that
    succeeded most often in training, whatever the per-task estimates said."""
    frame = generate_outcomes(400, seed=21)
    best = frame.groupby("model")["success"].mean().idxmax()
    result = train_router(frame, log_to_mlflow=False, output_dir=tmp_path / "r")
    router = Router.load(result.artifact_dir, strict=True)
    chosen = pd.Series([d.model for d in router.route_many(cooking_tasks(100, seed=4), tradeoff=1.0)])
    assert (chosen == best).all(), chosen.value_counts()


def test_novelty_can_be_turned_off_at_training(tmp_path: Path) -> None:
    result = train_router(
        generate_outcomes(200, seed=6), log_to_mlflow=False, output_dir=tmp_path / "r", novelty=False
    )
    router = Router.load(result.artifact_dir, strict=True)
    decisions = router.route_many(cooking_tasks(5), tradeoff=1.0)
    assert all(d.novelty is None and REASON not in d.reason for d in decisions)
