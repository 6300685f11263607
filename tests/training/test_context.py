"""The metadata's pooled success codes: shrinkage toward the global rate, out-of-fold scores that never see
their own fold, and held-out AUC that rises when the context carries the signal."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.sparse import csr_matrix

from router.estimation.estimator import FileFacts
from router.learned.metadata_features import MetadataFeatures
from training.data.outcomes import TaskMatrix
from training.evaluation.crossval import cross_validate, quality_report
from training.fit import context as ctx
from training.synthetic import generate_outcomes


def _matrix(success: np.ndarray, metadata: list[dict[str, str]]) -> TaskMatrix:
    n, m = success.shape
    return TaskMatrix(
        np.array([f"t{i}" for i in range(n)]),
        ["x"] * n,
        [FileFacts(0, 0)] * n,
        [f"m{j}" for j in range(m)],
        success,
        np.ones((n, m)),
        np.where(np.isnan(success), 0.0, 1.0),
        metadata,
    )


def test_codes_are_residual_means_shrunk_toward_the_global_rate():
    # 20 tasks of team a all succeed, 20 of team b all fail, on two models: residuals +0.5 and -0.5.
    success = np.repeat([[1.0, 1.0], [0.0, 0.0]], 20, axis=0)
    meta = [{"team": "a"}] * 20 + [{"team": "b"}] * 20
    data = _matrix(success, meta)
    block = MetadataFeatures.fit(meta, 5).matrix(meta, 40)
    codes = ctx.encode(block, *ctx.task_residuals(data, np.arange(40)))
    assert codes == pytest.approx([0.5 * 20 / (20 + ctx.SHRINK), -0.5 * 20 / (20 + ctx.SHRINK)])


def test_a_task_without_outcomes_does_not_dilute_its_value():
    success = np.array([[1.0], [1.0], [np.nan]])
    data = _matrix(success, [{"k": "v"}] * 3)
    residuals, present = ctx.task_residuals(data, np.arange(3))
    assert present.tolist() == [1.0, 1.0, 0.0]
    block = csr_matrix(np.ones((3, 1)))
    assert ctx.encode(block, residuals, present) == pytest.approx([0.0])  # all tried ones at the base rate


def test_out_of_fold_scores_never_use_the_tasks_own_fold():
    # The value "solo" exists only in fold 1: its tasks' out-of-fold code must be 0 (unseen elsewhere).
    success = np.array([[1.0], [0.0], [1.0], [0.0], [1.0], [1.0]])
    meta = [{"k": "solo"}, {"k": "solo"}, {"k": "pair"}, {"k": "pair"}, {"k": "pair"}, {"k": "pair"}]
    data = _matrix(success, meta)
    features = MetadataFeatures.fit(meta, 1)
    block = features.matrix(meta, 6)
    key_of = np.asarray(features.key_of)
    folds = np.array([1, 1, 0, 0, 1, 1])
    scores = ctx.out_of_fold_scores(block, data, folds, key_of, 1)
    assert scores[:2, 0].tolist() == [0.0, 0.0]
    assert scores[2:4, 0] @ np.ones(2) != 0.0  # "pair" is seen in fold 1, so fold 0's tasks get a code


def test_context_that_carries_the_signal_raises_held_out_auc():
    """One team's tasks are harder for every model; only the metadata says which team."""
    frame = generate_outcomes(600, seed=5)
    rng = np.random.default_rng(1)
    teams = {t: str(rng.choice(["core", "docs", "infra", "web"])) for t in frame["task_id"].unique()}
    frame["metadata"] = frame["task_id"].map(lambda t: json.dumps({"team": teams[t]}))
    harder = (frame["task_id"].map(teams) == "infra") & (rng.random(len(frame)) < 0.6)
    frame.loc[harder, "success"] = 0.0

    def median_auc(log) -> float:
        report = quality_report(cross_validate(log, folds=3))
        return float(np.median([v["auc_within_folds"] for v in report["classifier"].values()]))

    with_context = median_auc(frame)
    without = median_auc(frame.drop(columns=["metadata"]))
    assert with_context > without + 0.03
