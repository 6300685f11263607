"""The estimators' simulation study: partial logs drawn from full-information outcomes with known logging
policies; the doubly robust 95% interval must cover the true value (known from the full information) in at
least 90% of 200 logs, with bias within +-0.01 success and RMSE at most IPS's.

The synthetic study always runs; the real sets (SWE-bench Verified, ZeroEval GSM8K and MATH level 5) skip,
with the reason, where ``../shared`` is absent. Fixed seeds: every figure replays.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from router._exceptions import InvalidInputError
from training.evaluation.ope import HeuristicPolicy, LearnedPolicy
from training.evaluation.ope.power import Z_ONE_SIDED_95, Z_POWER_80, detectable_effect, tasks_for
from training.evaluation.ope.reward import text_features
from training.evaluation.ope.simulate import (
    StudyResult,
    World,
    coverage_study,
    explore,
    gate_runs,
)
from training.synthetic import generate_outcomes

LOGS = 200


def _present(find) -> bool:
    try:
        find()
    except InvalidInputError:
        return False
    return True


def _swebench_dir() -> None:
    from training.swebench import find_data_dir

    find_data_dir()


def _zeroeval_dir() -> None:
    from training.zeroeval import find_data_dir

    find_data_dir()


needs_swebench = pytest.mark.skipif(
    not _present(_swebench_dir), reason="SWE-bench data absent: ../shared/data/swebench_verified is not there"
)
needs_zeroeval = pytest.mark.skipif(
    not _present(_zeroeval_dir), reason="ZeroEval data absent: ../shared/data/zeroeval is not there"
)


def features(world: World) -> np.ndarray:
    """The reward model's input, computed once per world (every log indexes its rows)."""
    return text_features(world.descriptions)


def check(result: StudyResult) -> None:
    assert result.logs >= 200
    assert result.coverage["dr"] >= 0.90, result
    assert abs(result.bias["dr"]) <= 0.01, result
    assert result.rmse["dr"] <= result.rmse["ips"], result


def test_synthetic_heuristic_logging():
    world = World.from_outcomes(generate_outcomes(1500, seed=0))
    logging = explore(world.probabilities(HeuristicPolicy()), 0.1)
    target = world.probabilities(HeuristicPolicy(tradeoff=0.7))
    check(coverage_study(world, logging, target, size=1000, logs=LOGS, features=features(world), folds=2))


@pytest.fixture(scope="module")
def swebench() -> tuple[World, object]:
    from training.swebench import load_swebench, swebench_catalog

    return World.from_outcomes(load_swebench().frame), swebench_catalog()


@pytest.mark.slow
@needs_swebench
@pytest.mark.parametrize("epsilon", [0.05, 0.1, 0.3])
def test_swebench_heuristic_logging_with_exploration(swebench, epsilon):
    world, catalog = swebench
    logging = explore(world.probabilities(HeuristicPolicy(catalog)), epsilon)
    target = world.probabilities(HeuristicPolicy(catalog, tradeoff=0.7))
    check(coverage_study(world, logging, target, size=2000, logs=LOGS, features=features(world), folds=2))


@pytest.mark.slow
@needs_swebench
def test_swebench_learned_router_logging_with_exploration(swebench, tmp_path: Path):
    from training import train_router
    from training.swebench import load_swebench

    world, catalog = swebench
    trained = train_router(load_swebench().frame, catalog=catalog, log_to_mlflow=False, output_dir=tmp_path)
    logging = explore(world.probabilities(LearnedPolicy(tmp_path)), 0.1)
    assert trained.artifact_dir == tmp_path
    target = world.probabilities(HeuristicPolicy(catalog, tradeoff=0.7))
    check(coverage_study(world, logging, target, size=2000, logs=LOGS, features=features(world), folds=2))


@pytest.mark.slow
@needs_zeroeval
@pytest.mark.parametrize("dataset", ["gsm8k", "math_l5"])
def test_zeroeval_heuristic_logging(dataset):
    from training.zeroeval import load_zeroeval, zeroeval_catalog

    world = World.from_outcomes(load_zeroeval(dataset))
    catalog = zeroeval_catalog()
    logging = explore(world.probabilities(HeuristicPolicy(catalog)), 0.1)
    target = world.probabilities(HeuristicPolicy(catalog, tradeoff=0.7))
    check(coverage_study(world, logging, target, size=2000, logs=LOGS, features=features(world), folds=2))


def _better_by_three_points(world: World, champion: np.ndarray, cheap: str, alike: str) -> np.ndarray:
    """The champion, except that on the fewest tasks (a seeded order) it sends to ``alike`` (about the same
    cost) what it sent to ``cheap``, so that its true success is at least 3 points higher."""
    c, a = world.models.index(cheap), world.models.index(alike)
    order = np.random.default_rng(0).permutation(np.flatnonzero(champion[:, c] == 1))
    for k in range(1, len(order) + 1):
        candidate = champion.copy()
        candidate[order[:k], c], candidate[order[:k], a] = 0.0, 1.0
        if world.value(candidate)[0] - world.value(champion)[0] >= 0.03:
            return candidate
    raise AssertionError("no candidate 3 points better")


@pytest.mark.slow
@needs_swebench
def test_gate_size_and_power_on_swebench(swebench):
    """Logs of 2,000 tasks from the champion exploring 10%: a truly worse candidate (3 points) is promoted
    in at most 5% of them. Power is measured in benchmarks.ope (it needs more exploration than 10%)."""
    world, catalog = swebench
    champion = world.probabilities(HeuristicPolicy(catalog))
    better = _better_by_three_points(world, champion, "gpt-5-nano", "gpt-5-mini")
    assert abs(world.value(better)[1] - world.value(champion)[1]) < 0.002  # equal cost, within $0.002
    logging = explore(champion, 0.1)
    x = features(world)
    worse = gate_runs(world, logging, champion, better, size=2000, logs=LOGS, features=x, folds=2)
    assert worse.power <= 0.05
    runs = gate_runs(world, explore(champion, 1.0), better, champion, size=2000, logs=100, features=x,
                     folds=2)  # fmt: skip
    assert runs.power >= 0.7  # uniform logging: 0.785 over 200 logs (see the README)
    # The gate's read-out of what a log can show predicts the power the logs then had: with the standard
    # error each log reads off its own estimate, a true gain this size is promoted with probability
    # P(Z > z95 - gain / se).
    gain = world.value(better)[0] - world.value(champion)[0]
    se = float(np.median(runs.detectable)) / (Z_ONE_SIDED_95 + Z_POWER_80)
    predicted = 0.5 * math.erfc((Z_ONE_SIDED_95 - gain / se) / math.sqrt(2))
    assert abs(predicted - runs.power) < 0.12, (predicted, runs.power)


def test_what_a_log_can_show():
    # difference 0.05 with a one-sided bound 0.01: se = 0.04 / z95, seen four times in five at (z95 + z80) se
    seen = detectable_effect(0.05, 0.01)
    assert seen == pytest.approx((Z_ONE_SIDED_95 + Z_POWER_80) * 0.04 / Z_ONE_SIDED_95)
    assert tasks_for(seen / 2, seen, 2000) == 8000  # half the effect: four times the tasks
    assert tasks_for(seen * 2, seen, 2000) == 2000  # never fewer than the log holds
    assert detectable_effect(0.05, 0.07) == 0.0  # no spread, nothing more to see
    with pytest.raises(ValueError, match="effect must be > 0"):
        tasks_for(0.0, seen, 2000)
