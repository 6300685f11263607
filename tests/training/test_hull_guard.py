"""The hull guard: the learned choice only where out-of-fold evidence says it beats the best fixed mix."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from router.learned.model import LearnedModel
from router.learned.policy import choose, choose_many, guard_row, mu_for
from training.data.outcomes import task_matrix
from training.fit.classifiers import FitParams
from training.fit.guard import decide_guard, fixed_fallback, hull_vertices
from training.fit.router_fit import TRADEOFF_GRID, fit_router, log_catalog
from training.synthetic import generate_outcomes

MODELS = ["cheap", "mid", "dear"]


def test_hull_vertices_drop_dominated_models():
    cost = np.array([1.0, 2.0, 3.0, 2.5, 0.5])
    success = np.array([0.5, 0.7, 0.8, 0.6, 0.2])
    # 3 (2.5, 0.6) costs more than 1 (2.0, 0.7) and succeeds less; 4 is the cheapest, so it stays.
    assert hull_vertices(cost, success) == [4, 0, 1, 2]


def _outcomes(n: int, seed: int, signal: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Three models; each task's difficulty decides who succeeds; ``signal`` of it is visible to p."""
    rng = np.random.default_rng(seed)
    difficulty = rng.uniform(size=n)
    skill = np.array([0.35, 0.6, 0.85])
    success = (rng.uniform(size=(n, 3)) < np.clip(skill + 0.5 - difficulty[:, None], 0, 1)).astype(float)
    cost = np.tile([0.1, 1.0, 3.0], (n, 1))
    seen = signal * difficulty + (1 - signal) * rng.uniform(size=n)
    p = np.clip(skill + 0.5 - seen[:, None], 0.01, 0.99)
    return success, cost, p


def test_no_signal_routes_as_the_best_fixed_model_at_every_tradeoff():
    success, cost, p = _outcomes(600, 0, signal=0.0)
    guard = decide_guard(success, cost, np.ones_like(success, bool), p, cost, 0.5, TRADEOFF_GRID, MODELS)
    assert all(d.startswith("fixed") for d in guard.decisions)
    assert (guard.mask.sum(axis=1) == 1).all()
    # The fixed model is the one a mix of fixed models would use: the best mean utility at that tradeoff.
    k = int(np.searchsorted(TRADEOFF_GRID, 0.5))
    mu = mu_for(float(TRADEOFF_GRID[k]), 0.5)
    utility = success.mean(0) - mu * cost.mean(0)
    assert guard.mask[k, int(np.argmax(utility))]


def test_a_real_signal_lets_the_learned_choice_decide_and_never_loses_to_the_fixed_model():
    success, cost, p = _outcomes(600, 1, signal=1.0)
    guard = decide_guard(success, cost, np.ones_like(success, bool), p, cost, 0.5, TRADEOFF_GRID, MODELS)
    assert sum(d.startswith("learned") for d in guard.decisions) >= 3
    rows = np.arange(len(success))
    for k, t in enumerate(TRADEOFF_GRID):
        mu = mu_for(float(t), 0.5)
        if np.isinf(mu):
            continue
        chosen = choose_many(p, cost, mu, guard.mask[k])
        guarded = success[rows, chosen].mean() - mu * cost[rows, chosen].mean()
        fixed = (success.mean(0) - mu * cost.mean(0)).max()
        assert guarded >= fixed - 1e-12  # on the evidence it was decided on, never below the best fixed mix


def test_choose_honours_the_allowed_models():
    p, c = [0.9, 0.8, 0.2], [3.0, 1.0, 0.1]
    assert choose(p, c, 0.0) == 0
    assert choose(p, c, 0.0, [1, 2]) == 1
    assert choose(p, c, mu_for(0.0, 1.0), [0, 1]) == 1  # cost alone decides among the allowed
    batch = choose_many(np.array([p, p]), np.array([c, c]), 0.0, np.array([False, True, True]))
    assert batch.tolist() == [1, 1]


def test_guard_row_is_the_nearest_tradeoff():
    grid = [0.0, 0.1, 0.5, 1.0]
    assert [guard_row(t, grid) for t in (0.0, 0.04, 0.06, 0.31, 0.9, 1.0)] == [0, 0, 1, 2, 3, 3]


@pytest.fixture(scope="module")
def fitted():
    frame = generate_outcomes(600, seed=3)
    data = task_matrix(frame)
    return fit_router(data, log_catalog(frame), FitParams(hull_guard=True, pooling="both")), data


def test_the_artifact_carries_the_guard_and_serving_applies_it(fitted):
    router, data = fitted
    meta = router.meta["hull_guard"]
    assert len(meta["decisions"]) == len(TRADEOFF_GRID) == router.arrays["guard_mask"].shape[0]
    assert meta["default"] in meta["decisions"]
    arrays = {**router.arrays, "guard_mask": router.arrays["guard_mask"].copy()}
    arrays["guard_mask"][:] = False
    arrays["guard_mask"][:, 1] = True  # a guard that routes everything to one fixed model
    model = LearnedModel(arrays, router.meta)
    assert model.allowed(0.7) == [1]
    _, p, c = model.analyze(data.descriptions[0])
    assert choose(p, c, mu_for(0.7, model.kappa), model.allowed(0.7)) == 1


def test_an_artifact_without_guard_arrays_allows_every_model(fitted):
    router, _ = fitted
    arrays = {k: v for k, v in router.arrays.items() if not k.startswith("guard_")}
    assert LearnedModel(arrays, router.meta).allowed(0.5) is None


def test_evaluate_cv_says_per_tradeoff_whether_the_guard_routes_learned_or_fixed(tmp_path):
    from typer.testing import CliRunner

    from router.cli import app

    log = tmp_path / "log.csv"
    generate_outcomes(300, seed=4).to_csv(log, index=False)
    result = CliRunner().invoke(app, ["evaluate", "--data", str(log), "--cv", "3"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "hull guard per tradeoff" in text
    assert "default: success" in text and "over the hull at that cost" in text
    assert "fixed " in text or "learned (" in text
    folds = text.split("cost term at each fold: ")[1].split(" hull guard")[0].split(", ")
    assert len(folds) == 3 and set(folds) <= {"per_task", "per_model"}


def test_the_guard_can_be_turned_off():
    frame = generate_outcomes(300, seed=8)
    params = FitParams(hull_guard=False, drop_dominated=False, top_fallback=False)
    off = fit_router(task_matrix(frame), log_catalog(frame), params)
    assert off.arrays["guard_mask"].all()
    assert off.meta["hull_guard"]["learned_share"] == 1.0
    # The top fallback weighs t = 1 alone: every other tradeoff keeps every model.
    top = fit_router(task_matrix(frame), log_catalog(frame), replace(params, top_fallback=True))
    assert top.arrays["guard_mask"][:-1].all()
    decision = top.meta["hull_guard"]["decisions"][-1]
    assert decision.startswith(("learned", "fixed ")) and top.arrays["guard_mask"][-1].sum() in (1, 3)


def _specialist_log(n: int, seed: int) -> pd.DataFrame:
    """Four models on two kinds of task. ``cheap`` and ``dear`` make the hull; ``sql`` is dominated on
    average (it fails poems) but the best buy on SQL tasks, which the text names; ``noise`` is dominated and
    no better anywhere."""
    rng = np.random.default_rng(seed)
    rows = []
    chance = {"cheap": (0.55, 0.55), "sql": (0.97, 0.05), "noise": (0.45, 0.45), "dear": (0.8, 0.8)}
    price = {"cheap": 0.01, "sql": 0.02, "noise": 0.02, "dear": 0.10}
    for i in range(n):
        is_sql = i % 2 == 0
        text = (
            f"Write the SQL query joining orders and customers for report {i}"
            if is_sql
            else f"Write a short poem about the sea and the autumn wind, number {i}"
        )
        for model, (p_sql, p_poem) in chance.items():
            success = float(rng.uniform() < (p_sql if is_sql else p_poem))
            rows.append({"task_id": f"t{i}", "description": text, "model": model, "success": success,
                         "cost_usd": price[model]})  # fmt: skip
    return pd.DataFrame(rows)


def test_a_dominated_model_is_left_out_and_a_specialist_kept():
    frame = _specialist_log(400, seed=11)
    data = task_matrix(frame)
    fitted = fit_router(data, log_catalog(frame), FitParams())
    meta = fitted.meta["hull_guard"]
    models = list(data.models)
    mask = fitted.arrays["guard_mask"]
    assert not mask[:, models.index("noise")].any()  # never worth choosing: dropped everywhere
    assert "noise" in meta["dropped_models"] and "sql" not in meta["dropped_models"]
    keeps = mask[:, models.index("sql")]
    assert keeps.any() and not keeps.all()  # kept where the evidence shows it, not at every tradeoff
    assert {"learned (hull models and specialists)", "learned (hull models)"} <= set(meta["decisions"])
    model = LearnedModel(fitted.arrays, fitted.meta)
    t = float(TRADEOFF_GRID[int(np.flatnonzero(keeps)[len(np.flatnonzero(keeps)) // 2])])
    _, p, c = model.analyze("Write the SQL query joining invoices and customers for the audit")
    assert models[choose(p, c, mu_for(t, model.kappa), model.allowed(t))] == "sql"


def test_dropping_dominated_models_can_be_turned_off():
    frame = _specialist_log(200, seed=12)
    fitted = fit_router(task_matrix(frame), log_catalog(frame), FitParams(drop_dominated=False))
    assert fitted.arrays["guard_mask"].all()
    assert fitted.meta["hull_guard"]["dropped_models"] == []


def _near_equal_top(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A cheap model and three dear ones within two points of each other; the estimates of the dear ones
    differ per task by noise alone (what a per-task pick at t = 1 then follows)."""
    rng = np.random.default_rng(seed)
    rates = np.array([0.80, 0.95, 0.96, 0.97])
    success = (rng.uniform(size=(n, 4)) < rates).astype(float)
    cost = np.tile([0.1, 2.0, 2.5, 3.0], (n, 1))
    p = np.clip(rates + rng.normal(0.0, 0.05, size=(n, 4)), 0.01, 0.99)
    return success, cost, p


def test_the_fallback_routes_t1_to_the_top_model_when_per_task_picks_follow_noise():
    success, cost, p = _near_equal_top(2000, 3)
    models = ["cheap", "a", "b", "top"]
    everything = np.ones((len(TRADEOFF_GRID), 4), dtype=bool)
    mask, decisions, gains = fixed_fallback(
        everything, ["learned"] * len(TRADEOFF_GRID), success, cost, np.ones_like(success, bool), p, cost,
        0.5, TRADEOFF_GRID, models,
    )  # fmt: skip
    assert decisions[-1] == "fixed top" and mask[-1].tolist() == [False, False, False, True]
    assert gains[-1] == 0.0
    assert mask[0].all()  # t = 0: cost alone decides (the cheapest), nothing to weigh
    # Weighing t = 1 alone (as training does) leaves every other row as it was.
    last = len(TRADEOFF_GRID) - 1
    only_top, decided, _ = fixed_fallback(
        everything, ["learned"] * len(TRADEOFF_GRID), success, cost, np.ones_like(success, bool), p, cost,
        0.5, TRADEOFF_GRID, models, rows=[last],
    )  # fmt: skip
    assert only_top[:last].all() and decided[:last] == ["learned"] * last
    assert only_top[last].tolist() == [False, False, False, True]


def test_the_fallback_keeps_a_learned_choice_that_beats_the_fixed_one_out_of_fold():
    success, cost, p = _outcomes(600, 1, signal=1.0)
    everything = np.ones((len(TRADEOFF_GRID), 3), dtype=bool)
    mask, decisions, gains = fixed_fallback(
        everything, ["learned"] * len(TRADEOFF_GRID), success, cost, np.ones_like(success, bool), p, cost,
        0.5, TRADEOFF_GRID, MODELS,
    )  # fmt: skip
    kept = [k for k, d in enumerate(decisions) if d == "learned" and TRADEOFF_GRID[k] > 0]
    assert len(kept) >= 3 and all(gains[k] > 0 for k in kept) and mask[kept].all()
    fixed = [k for k, d in enumerate(decisions) if d.startswith("fixed")]
    assert all(mask[k].sum() == 1 for k in fixed)
