"""The acceptance model: a calibrated P(this answer is right) from the answers of the attempts made so far.

Training data are replays. A full-information log (every model answered every task) replays sets of
models tried on a task (every set up to ``max_size`` models, sampled when there are too many rows); a
production log replays the prefixes of the chain it recorded. Each member of a replayed set is a row: its
features (``router.learned.answer_features``) and whether its answer was right, weighted by the inverse
propensity the log gives its attempt.

The model is an L2 logistic regression, then Platt scaling fitted on out-of-fold scores of the answers a
cascade returns (each set's most likely answer), so the probability a ``Step`` reports is calibrated on the
answers that are actually returned, on tasks the regression did not see. Both maps fold into one weight
vector and a bias, stored as plain arrays.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import KFold

from router.learned.answer_features import AnswerFeaturizer
from training.data.answers import AnswerMatrix
from training.data.outcomes import TaskMatrix

#: Sets of up to this many attempts are all replayed; larger ones are sampled (``LARGE_SETS`` of them).
SMALL_SET = 3
LARGE_SETS = 256
#: Longest cascade plan, in calls.
MAX_SET = 9
#: Replay rows kept per fit, at most: past it more rows add little to a few dozen weights (on GSM8K, 60k
#: rows fit in a fifth of the time of 300k with the same out-of-fold log loss to three decimals).
MAX_ROWS = 60_000


@dataclass
class Acceptance:
    """A fitted acceptance model: the featurizer, and the weights and bias of its calibrated logit."""

    featurizer: AnswerFeaturizer
    weights: np.ndarray
    bias: float

    def predict(self, features: np.ndarray) -> np.ndarray:
        z = features @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


def all_subsets(n_models: int, max_size: int = SMALL_SET) -> list[tuple[int, ...]]:
    """Every set of up to ``max_size`` model indices (sorted tuples), smallest first."""
    return [s for k in range(1, max_size + 1) for s in itertools.combinations(range(n_models), k)]


def replay_subsets(n_models: int, seed: int = 0) -> list[tuple[int, ...]]:
    """The sets replayed for training: every one of up to ``SMALL_SET`` models, and ``LARGE_SETS`` larger
    ones drawn at random (every larger one where there are fewer), so that the model also learns how
    many voices weigh when many answered, without 2^m sets when there are many models."""
    small = all_subsets(n_models, min(SMALL_SET, n_models))
    sizes = range(SMALL_SET + 1, n_models + 1)
    total = sum(math.comb(n_models, k) for k in sizes)
    if total <= LARGE_SETS:
        return small + [c for k in sizes for c in itertools.combinations(range(n_models), k)]
    rng = np.random.default_rng(seed)
    weights = np.array([math.comb(n_models, k) for k in sizes], dtype=float)
    drawn: set[tuple[int, ...]] = set()
    while len(drawn) < LARGE_SETS:
        k = int(rng.choice(list(sizes), p=weights / weights.sum()))
        drawn.add(tuple(sorted(rng.choice(n_models, size=k, replace=False).tolist())))
    return small + sorted(drawn, key=lambda c: (len(c), c))


def featurizer_for(data: TaskMatrix, answers: AnswerMatrix, rows: np.ndarray) -> AnswerFeaturizer:
    """Per-model output-length statistics on the attempts of ``rows``."""
    observed = data.observed[rows]
    length = answers.length[rows]
    means, scales = [], []
    for j in range(len(data.models)):
        values = length[observed[:, j], j]
        means.append(float(values.mean()) if len(values) else 0.0)
        scales.append(float(values.std()) if len(values) > 1 else 1.0)
    return AnswerFeaturizer(data.models, means, scales)


def replay_sets(data: TaskMatrix, rows: np.ndarray) -> Iterator[tuple[tuple[int, ...], np.ndarray]]:
    """(set of models, the tasks of ``rows`` that tried every model of it) for every replayable set.

    Every set of ``replay_subsets`` that a task tried is a replay, whatever order the log called
    them in: an attempt's answer does not depend on which calls came before it, so a production chain
    A -> B -> C also shows what {A, C} would have said. What the chain's selection skews (tasks reach C
    because A and B were rejected) the inverse-propensity weights correct where they are logged.
    """
    observed = data.observed[rows]
    for subset in replay_subsets(len(data.models)):
        keep = observed[:, list(subset)].all(axis=1)
        if keep.any():
            yield subset, rows[keep]


def replay_rows(
    data: TaskMatrix,
    answers: AnswerMatrix,
    rows: np.ndarray,
    featurizer: AnswerFeaturizer,
    *,
    seed: int = 0,
    max_rows: int = MAX_ROWS,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features, outcomes and weights of every member of every replayed set (sampled to ``max_rows``)."""
    agree = answers.agree
    sets = list(replay_sets(data, rows))
    total = sum(len(tasks) * len(s) for s, tasks in sets)
    keep_share = min(1.0, max_rows / max(total, 1))
    rng = np.random.default_rng(seed)
    xs, ys, ws = [], [], []
    for subset, tasks in sets:
        if keep_share < 1.0:
            tasks = tasks[rng.random(len(tasks)) < keep_share]
        if not len(tasks):
            continue
        x = featurizer.batch(agree[tasks], answers.nonempty[tasks], answers.length[tasks], np.array(subset))
        cols = list(subset)
        xs.append(x.reshape(-1, x.shape[2]))
        ys.append(data.success[tasks][:, cols].reshape(-1))
        ws.append(data.weight[tasks][:, cols].reshape(-1))
    n = featurizer.n_features
    if not xs:
        return np.zeros((0, n)), np.zeros(0), np.zeros(0)
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(ws)


def _logistic(x: np.ndarray, y: np.ndarray, w: np.ndarray, C: float) -> tuple[np.ndarray, float]:
    """Weights and bias of an L2 logistic regression on fractional outcomes (a row split by outcome)."""
    frac = (y > 0) & (y < 1)
    if frac.any():
        x = np.concatenate([x, x[frac]])
        w = np.concatenate([np.where(frac, w * y, w), w[frac] * (1 - y[frac])])
        y = np.concatenate([np.where(frac, 1.0, y), np.zeros(int(frac.sum()))])
    labels = (y >= 0.5).astype(int)
    if labels.min() == labels.max():  # one class only: a constant at the smoothed rate
        rate = (labels.sum() + 1.0) / (len(labels) + 2.0)
        return np.zeros(x.shape[1]), float(np.log(rate / (1 - rate)))
    from threadpoolctl import threadpool_limits

    clf = LogisticRegression(C=C, max_iter=2000)
    with threadpool_limits(limits=1, user_api="blas"):  # a few dozen columns: threads cost more than bring
        clf.fit(x, labels, sample_weight=w)
    return clf.coef_[0].astype(np.float64), float(clf.intercept_[0])


def fit_acceptance(
    data: TaskMatrix,
    answers: AnswerMatrix,
    rows: np.ndarray,
    *,
    C: float = 1.0,
    seed: int = 0,
    folds: int = 5,
) -> tuple[Acceptance, SetScores]:
    """Fit the acceptance model on the tasks ``rows``; also return its calibrated out-of-fold scores.

    The Platt map is fitted on the out-of-fold logits of the answers a cascade returns (each replayed set's
    most likely member) and applied both to the final fit and to the out-of-fold scores, which the plan
    search then reads as probabilities no model saw the outcome of.
    """
    featurizer = featurizer_for(data, answers, rows)
    oof = oof_scores(data, answers, rows, C=C, seed=seed, folds=folds, featurizer=featurizer)
    score, outcome, weight = returned_answers(data, oof)
    a, b = platt(score, outcome, weight)
    x, y, w = replay_rows(data, answers, rows, featurizer, seed=seed)
    coef, bias = _logistic(x, y, w, C)
    calibrated = SetScores(data, answers, rows, featurizer, oof.models, oof.fold_of)
    calibrated.platt = (a, b)
    return Acceptance(featurizer, coef * a, bias * a + b), calibrated


def platt(score: np.ndarray, outcome: np.ndarray, weight: np.ndarray) -> tuple[float, float]:
    """Slope and offset mapping a logit to a calibrated one (identity when there is too little to fit)."""
    labels = (outcome >= 0.5).astype(int)
    if len(labels) < 20 or labels.min() == labels.max():
        return 1.0, 0.0
    clf = LogisticRegression(C=1e4, max_iter=1000)
    clf.fit(score.reshape(-1, 1), labels, sample_weight=weight)
    return float(clf.coef_[0, 0]), float(clf.intercept_[0])


class SetScores:
    """Out-of-fold scores of sets of attempts on the tasks ``rows``, computed when first asked for.

    ``get(subset)`` gives the positions (in ``rows``) of the tasks that tried every model of the set and
    each member's score, from the fold model that did not see the task: a logit, or with ``platt`` set, a
    calibrated probability.
    """

    def __init__(
        self,
        data: TaskMatrix,
        answers: AnswerMatrix,
        rows: np.ndarray,
        featurizer: AnswerFeaturizer,
        models: list[tuple[np.ndarray, float]],
        fold_of: np.ndarray,
    ) -> None:
        self.data, self.answers, self.rows, self.featurizer = data, answers, rows, featurizer
        self.models, self.fold_of = models, fold_of
        self.platt: tuple[float, float] | None = None
        self._agree = answers.agree[rows]
        self._observed = data.observed[rows]
        self._cache: dict[tuple[int, ...], tuple[np.ndarray, np.ndarray]] = {}

    def get(self, subset: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        key = tuple(sorted(subset))
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = self._score(key)
        return found

    def _score(self, subset: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        pos = np.flatnonzero(self._observed[:, list(subset)].all(axis=1))
        tasks = self.rows[pos]
        a = self.answers
        x = self.featurizer.batch(self._agree[pos], a.nonempty[tasks], a.length[tasks], np.array(subset))
        z = np.zeros((len(pos), len(subset)))
        for f, (coef, bias) in enumerate(self.models):
            here = self.fold_of[pos] == f
            if here.any():
                z[here] = x[here] @ coef + bias
        if self.platt is not None:
            slope, offset = self.platt
            z = 1.0 / (1.0 + np.exp(-np.clip(slope * z + offset, -30, 30)))
        return pos, z


def oof_scores(
    data: TaskMatrix,
    answers: AnswerMatrix,
    rows: np.ndarray,
    *,
    C: float = 1.0,
    seed: int = 0,
    folds: int = 5,
    featurizer: AnswerFeaturizer | None = None,
) -> SetScores:
    """The fold models: each task of ``rows`` is scored by a model fitted without its fold."""
    featurizer = featurizer or featurizer_for(data, answers, rows)
    fold_of = np.zeros(len(rows), dtype=np.int64)
    splitter = KFold(n_splits=min(folds, len(rows)), shuffle=True, random_state=seed)
    models = []
    for f, (train_pos, test_pos) in enumerate(splitter.split(rows)):
        fold_of[test_pos] = f
        x, y, w = replay_rows(data, answers, rows[train_pos], featurizer, seed=seed + f)
        models.append(_logistic(x, y, w, C))
    return SetScores(data, answers, rows, featurizer, models, fold_of)


def returned_answers(data: TaskMatrix, scores: SetScores) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For every replayed (task, set): the score of its most likely member, that member's outcome, weight."""
    s, y, w = [], [], []
    for subset in replay_subsets(len(data.models)):
        pos, z = scores.get(subset)
        if not len(pos):
            continue
        best = z.argmax(axis=1)
        tasks = scores.rows[pos]
        model = np.array(subset)[best]
        s.append(z[np.arange(len(z)), best])
        y.append(data.success[tasks, model])
        w.append(data.weight[tasks, model])
    score = np.concatenate(s) if s else np.zeros(0)
    return score, np.concatenate(y) if y else np.zeros(0), np.concatenate(w) if w else np.zeros(0)
