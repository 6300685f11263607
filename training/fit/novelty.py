"""The training support and how far counts as far (``router.learned.novelty``), learned from held-out groups.

The support (projection, reference distribution of the three counts, the model averages) is measured on
every training task. Where the trust in a task's own estimates falls off with its novelty (``near``,
``far``) is learned from folds that hold out whole groups of tasks, so that the held-out tasks are new in the
way a new kind of work is new:

* a metadata key whose values split the tasks into several groups (a repository, a project, a language);
* otherwise clusters of similar tasks (k-means on the rank-``r`` projection of the text).

Each fold fits the featurizer and the models on the other groups, as training does, and measures the
held-out tasks' novelty against that fold's own support. On the held-out tasks' real outcomes, every
candidate ramp (full trust up to ``near``, none from ``far``, both among quantiles of the held-out novelty)
routes at a grid of tradeoffs; the one whose curve of (mean cost, mean success) has the largest area under
its upper hull wins (ties to more trust). ``far`` never lies past the held-out tasks' novelty: beyond what
the evidence reached, nothing says the estimates still hold, so there the router routes as the training
hull's fixed choice.

A ramp also pulls the training tasks it calls unusual, so it is kept only where the out-of-fold
predictions of every training task route no worse with it than with full trust (``oof_ramp``).

The ceiling ``trust_max`` pulls every task, familiar ones too, so it is judged on tasks like the training
ones: the out-of-fold predictions of every training task (``oof_ceiling``), with the ramp in place; a
ceiling below 1 has to beat full trust by a bootstrap standard error.
"""

from __future__ import annotations

import itertools
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from router.learned.features import DENSE_NAMES, Featurizer
from router.learned.novelty import Support, reference_of, scores, shrink, trust
from router.learned.policy import choose_many, mu_for

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix

    from router.estimation.estimator import ComplexityEstimator
    from training.data.outcomes import TaskMatrix
    from training.fit.classifiers import FitParams

log = logging.getLogger("training")

RANK = 16  # directions of the text block the clusters are found in
GROUP_FOLDS = 5
CLUSTERS = 8  # groups when no metadata key splits the tasks
MIN_EVIDENCE_TASKS = 30  # held-out tasks with every model tried, below which the fallback trust applies
CALIBRATION_TASKS = 20_000  # past this many tasks, the held-out-group folds run on a random sample
TRUST_LEVELS = (1.0, 0.75, 0.5, 0.25, 0.0)
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.9, 0.95, 1.0)
#: With too little evidence to learn from (a handful of tasks, one group), trust is full up to novelty 1 (as
#: unusual as the 1% most unusual training tasks) and gone at 3.
FALLBACK = (1.0, 1.0, 3.0)
CURVE_TRADEOFFS = np.linspace(0.0, 1.0, 41)
CEILING_DRAWS = 50  # bootstrap draws of the training tasks that weigh a trust ceiling below 1


@dataclass
class Calibration:
    trust_max: float
    near: float
    far: float
    groups: str
    evidence_tasks: int
    area: float | None = None
    area_full_trust: float | None = None
    area_fixed: float | None = None
    ceiling_areas: dict[str, float] | None = None  # out-of-fold curve area per trust ceiling
    ramps: list[tuple[float, float]] | None = None  # full-trust ramps (near, far), best held-out area first

    def report(self) -> dict[str, Any]:
        return {
            "trust_max": self.trust_max,
            "near": self.near,
            "far": self.far,
            "groups": self.groups,
            "evidence_tasks": self.evidence_tasks,
            "curve_area": self.area,
            "curve_area_full_trust": self.area_full_trust,
            "curve_area_fixed_choice": self.area_fixed,
            "ceiling_oof_curve_areas": self.ceiling_areas,
        }


def projection_of(text: csr_matrix, rank: int = RANK, seed: int = 0) -> np.ndarray:
    """The text block's top ``rank`` right singular vectors (terms x rank, orthonormal columns)."""
    n, v = text.shape
    r = max(0, min(rank, n - 1, v - 1))
    if r == 0 or text.nnz == 0:
        return np.zeros((v, 0))
    from sklearn.utils.extmath import randomized_svd

    _, _, vt = randomized_svd(text, r, random_state=seed)
    return np.ascontiguousarray(vt.T)


def task_counts(featurizer: Featurizer, descriptions: list[str], facts: list[Any] | None) -> np.ndarray:
    """The counts (one column: the unseen share) of every task, as serving computes them (batch path)."""
    parts = []
    for at in range(0, len(descriptions), 8192):
        part = None if facts is None else facts[at : at + 8192]
        analysis = featurizer.analyze_batch(descriptions[at : at + 8192], part)
        parts.append(featurizer.batch_text_unseen(analysis)[1])
    return np.concatenate(parts)[:, None] if parts else np.zeros((0, 1))


def model_means(data: TaskMatrix) -> tuple[np.ndarray, np.ndarray]:
    """Each model's mean success and cost on the log (inverse-propensity weighted; where never tried, the
    smallest mean success and the largest mean cost of the others)."""
    w = np.where(data.observed, data.weight, 0.0)
    total = w.sum(axis=0)
    s = np.where(data.observed, data.success, 0.0)
    c = np.where(data.observed, data.cost, 0.0)
    tried = total > 0
    mean_s = np.where(tried, (w * s).sum(axis=0) / np.maximum(total, 1e-12), np.nan)
    mean_c = np.where(tried, (w * c).sum(axis=0) / np.maximum(total, 1e-12), np.nan)
    if not tried.all():
        mean_s = np.where(tried, mean_s, np.nanmin(mean_s) if tried.any() else 0.5)
        mean_c = np.where(tried, mean_c, np.nanmax(mean_c) if tried.any() else 1e-6)
    return mean_s, mean_c


def group_labels(
    data: TaskMatrix, text: csr_matrix, projection: np.ndarray, seed: int
) -> tuple[np.ndarray, str]:
    """A group per task: the values of the metadata key that splits the tasks into the most groups of at
    least 5 tasks (3 or more of them), else clusters of similar texts."""
    n = len(data.descriptions)
    if data.metadata:
        keys: Counter[str] = Counter(k for row in data.metadata if row for k in row)
        best: tuple[int, str] | None = None
        for key, present in keys.items():
            if present < 0.8 * n:
                continue
            values = Counter((row or {}).get(key, "") for row in data.metadata)
            sizable = sum(1 for v in values.values() if v >= 5)
            if sizable >= 3 and sizable <= n // 5 and (best is None or sizable > best[0]):
                best = (sizable, key)
        if best is not None:
            key = best[1]
            labels = [(row or {}).get(key, "") for row in data.metadata]
            codes = {v: i for i, v in enumerate(sorted(set(labels)))}
            return np.array([codes[v] for v in labels]), f"metadata {key!r}"
    from sklearn.cluster import KMeans

    points = np.asarray(text @ projection) if projection.shape[1] else np.zeros((n, 1))
    distinct = len(np.unique(points, axis=0))  # k-means warns when asked for more clusters than points
    k = min(max(2, min(CLUSTERS, n // 20)), distinct)
    if k < 2:
        return np.zeros(n, dtype=np.int64), "one group (the texts do not split into clusters)"
    labels = KMeans(k, n_init=3, random_state=seed).fit_predict(points)
    return labels, f"{k} clusters of similar tasks"


def group_folds(labels: np.ndarray, folds: int = GROUP_FOLDS) -> np.ndarray:
    """Whole groups dealt into at most ``folds`` folds of similar size (largest group first)."""
    groups, sizes = np.unique(labels, return_counts=True)
    k = min(folds, len(groups))
    fold_sizes = [0] * k
    fold_of_group = {}
    for g in groups[np.argsort(-sizes, kind="stable")]:
        f = fold_sizes.index(min(fold_sizes))
        fold_of_group[g] = f
        fold_sizes[f] += int(sizes[groups == g][0])
    return np.array([fold_of_group[g] for g in labels])


def curve_area(points: np.ndarray, lo: float, hi: float, floor: float) -> float:
    """Mean, over budgets in [lo, hi], of the best success reachable by mixing ``points`` (cost, success)
    within the budget (the upper concave envelope; ``floor`` below the cheapest point)."""
    pts = sorted({(float(c), float(s)) for c, s in points})
    hull: list[tuple[float, float]] = []
    for c, s in pts:
        if hull and s <= hull[-1][1]:
            continue
        while len(hull) >= 2:
            (c1, s1), (c2, s2) = hull[-2], hull[-1]
            if (c2 - c1) * (s - s1) - (s2 - s1) * (c - c1) < 0:
                break
            hull.pop()
        hull.append((c, s))
    budgets = np.linspace(lo, hi, 200)
    hc, hs = np.array([h[0] for h in hull]), np.array([h[1] for h in hull])
    value = np.interp(budgets, hc, hs, left=floor, right=hs[-1])
    value[budgets < hc[0]] = floor
    return float(value.mean())


@dataclass
class _Fold:
    s: np.ndarray  # held-out tasks with every model tried: outcomes
    c: np.ndarray
    p: np.ndarray  # the fold's predictions
    ch: np.ndarray
    novelty: np.ndarray
    mean_s: np.ndarray  # the fold's training means
    mean_c: np.ndarray
    kappa: float


def _fold_evidence(
    data: TaskMatrix,
    train: np.ndarray,
    held: np.ndarray,
    params: FitParams,
    estimator: ComplexityEstimator,
    per_model_cost: bool,
    kappa_of: Callable[[np.ndarray, np.ndarray], float],
) -> _Fold | None:
    from training.fit.classifiers import fit_models
    from training.fit.cost_signal import per_model_costs

    full = np.flatnonzero(data.observed[held].all(axis=1))
    if len(full) == 0:
        return None
    sub, out = data.subset(train), data.subset(held[full])
    featurizer = Featurizer(max_features=params.max_features, min_df=params.min_df, estimator=estimator)
    x = featurizer.fit_matrix(sub.descriptions, sub.facts)
    fitted = fit_models(x, sub, replace(params, calibration_folds=min(params.calibration_folds, 3)))
    if per_model_cost:
        fitted = per_model_costs(fitted, sub)
    x_out = featurizer.matrix(out.descriptions, out.facts)
    n_models = len(data.models)
    z = x_out @ fitted.weights[: x_out.shape[1]] + fitted.bias
    p, ch = 1.0 / (1.0 + np.exp(-z[:, :n_models])), np.exp(z[:, n_models:])
    reference = reference_of(task_counts(featurizer, sub.descriptions, sub.facts))
    novelty = scores(task_counts(featurizer, out.descriptions, out.facts), reference)
    mean_s, mean_c = model_means(sub)
    kappa = kappa_of(np.where(sub.observed, sub.success, np.nan), np.where(sub.observed, sub.cost, np.nan))
    return _Fold(out.success, out.cost, p, ch, novelty, mean_s, mean_c, kappa)


def _area(fold: _Fold, keep: np.ndarray) -> float:
    p, ch = shrink(fold.p, fold.ch, keep, fold.mean_s, fold.mean_c)
    rows = np.arange(len(p))
    points = []
    for t in CURVE_TRADEOFFS:
        chosen = choose_many(p, ch, mu_for(float(t), fold.kappa))
        points.append((fold.c[rows, chosen].mean(), fold.s[rows, chosen].mean()))
    single_s, single_c = fold.s.mean(axis=0), fold.c.mean(axis=0)
    cheap = int(np.argmin(single_c))
    return curve_area(np.array(points), float(single_c[cheap]), float(single_c.max()), float(single_s[cheap]))


def oof_areas(
    evidence: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    keeps: list[np.ndarray],
    mean_s: np.ndarray,
    mean_c: np.ndarray,
    kappa: float,
    *,
    draws: int = CEILING_DRAWS,
    seed: int = 0,
) -> np.ndarray:
    """Curve area of routing the evidence tasks with each trust vector of ``keeps``: (len(keeps), draws + 1),
    column 0 on the tasks as they are, the others on bootstrap draws of them (the same draws for every
    vector, so differences are paired).

    ``evidence``: outcomes, costs, out-of-fold P(success) and cost term of the tasks (as the hull guard
    weighs them)."""
    s, c, p, ch = evidence
    n = len(s)
    rows = np.arange(n)
    weights = np.random.default_rng(seed).multinomial(n, np.full(n, 1.0 / n), size=draws) / n
    weights = np.vstack([np.full(n, 1.0 / n), weights])
    single_s, single_c = weights @ s, weights @ c  # (draws + 1, models)
    areas = np.empty((len(keeps), draws + 1))
    for i, keep in enumerate(keeps):
        ps, cs = shrink(p, ch, keep, mean_s, mean_c)
        chosen = np.array([choose_many(ps, cs, mu_for(float(t), kappa)) for t in CURVE_TRADEOFFS])
        s_curve, c_curve = weights @ s[rows, chosen].T, weights @ c[rows, chosen].T  # (draws + 1, tradeoffs)
        for b in range(draws + 1):
            cheap = int(np.argmin(single_c[b]))
            areas[i, b] = curve_area(
                np.column_stack([c_curve[b], s_curve[b]]),
                float(single_c[b, cheap]),
                float(single_c[b].max()),
                float(single_s[b, cheap]),
            )
    return areas


def within_one_se(areas: np.ndarray, of: int) -> np.ndarray:
    """Which rows of ``oof_areas``'s result lie within one bootstrap standard error of row ``of`` (or above
    it): the paired difference's mean on the tasks as they are against its spread over the draws."""
    lag = areas[of] - areas
    return lag[:, 0] <= lag[:, 1:].std(axis=1) + 1e-12


def oof_ramp(
    evidence: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    novelty: np.ndarray,
    ramps: list[tuple[float, float]],
    mean_s: np.ndarray,
    mean_c: np.ndarray,
    kappa: float,
) -> tuple[float, float] | None:
    """The first ramp of ``ramps`` (best held-out-group area first) whose out-of-fold routing of the training
    tasks is no worse than with full trust; None if none is.

    The held-out groups say how to route tasks unlike the training ones, but a ramp also pulls the training
    tasks it calls unusual: on SWE-bench's text alone one of the judge's training folds chose ``near = far =
    0``, pulling every task above the median (64 of its 100 test tasks fully). Tasks like the training ones
    are what the out-of-fold predictions measure, so they are the check, and on the point estimate, with no
    allowance for noise: new tasks of the same kind have the training tasks' novelty, so whatever a ramp costs
    these, it costs the in-distribution curve. An allowance of one bootstrap standard error had let through a
    ramp (``near = 0``, ``far = 0.03``) that cost its training tasks 0.0027 of area (one standard error to
    the digit) and its test fold's tasks more (SWE-bench's text, the judge's seed-0 fold 0).
    """
    if not ramps or len(evidence[0]) < 2:
        return None
    keeps = [np.ones(len(novelty))] + [trust(novelty, 1.0, near, far) for near, far in ramps]
    areas = oof_areas(evidence, keeps, mean_s, mean_c, kappa, draws=0)[:, 0]
    ok = areas[1:] >= areas[0] - 1e-12
    return next((ramp for ramp, fine in zip(ramps, ok.tolist(), strict=True) if fine), None)


def oof_ceiling(
    evidence: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    novelty: np.ndarray,
    ramp: tuple[float, float],
    mean_s: np.ndarray,
    mean_c: np.ndarray,
    kappa: float,
) -> tuple[float, dict[str, float]]:
    """The trust ceiling, from the training tasks' out-of-fold predictions, and the curve area of each level
    of ``TRUST_LEVELS``.

    ``evidence`` as ``oof_areas`` takes it; ``novelty``: those tasks' novelty; ``ramp``: ``near`` and
    ``far``. The ceiling is the most trust whose curve area is within one bootstrap standard error of the
    level with the largest area: pulling familiar tasks towards the model averages has to earn its place. A
    ceiling below 1 answers overconfidence of the per-task estimates on tasks like the training ones, which
    the out-of-fold predictions of every training task measure with far more tasks than a handful of
    held-out groups (on SWE-bench's text alone, the judge's five training folds had chosen ceilings from
    0.25 to 1 on their groups, and the pull had cost the curve two thirds of its in-distribution gain over
    the hull).
    """
    if len(evidence[0]) < 2:
        return 1.0, {}
    keeps = [trust(novelty, level, *ramp) for level in TRUST_LEVELS]
    areas = oof_areas(evidence, keeps, mean_s, mean_c, kappa)
    close = within_one_se(areas, int(np.argmax(areas[:, 0])))
    level = max(v for v, fine in zip(TRUST_LEVELS, close.tolist(), strict=True) if fine)
    return level, {str(v): float(areas[i, 0]) for i, v in enumerate(TRUST_LEVELS)}


def calibrate_trust(
    data: TaskMatrix,
    text: csr_matrix,
    projection: np.ndarray,
    params: FitParams,
    estimator: ComplexityEstimator,
    per_model_cost: bool,
    kappa_of: Callable[[np.ndarray, np.ndarray], float],
) -> Calibration:
    """Learn ``trust_max``, ``near`` and ``far`` from folds holding out whole groups of tasks."""
    n = len(data.descriptions)
    rows = np.arange(n)
    if n > CALIBRATION_TASKS:
        rows = np.sort(np.random.default_rng(params.seed).choice(n, CALIBRATION_TASKS, replace=False))
    sample = data.subset(rows)
    labels, described = group_labels(sample, text[rows], projection, params.seed)
    fold_of = group_folds(labels)
    if len(np.unique(fold_of)) < 2 or len(sample.models) < 2:
        return Calibration(*FALLBACK, groups=f"{described}: too few groups", evidence_tasks=0)
    folds = []
    for k in np.unique(fold_of):
        held = np.flatnonzero(fold_of == k)
        train = np.flatnonzero(fold_of != k)
        if len(train) < 10:
            continue
        fold = _fold_evidence(sample, train, held, params, estimator, per_model_cost, kappa_of)
        if fold is not None:
            folds.append(fold)
    evidence = sum(len(f.s) for f in folds)
    if evidence < MIN_EVIDENCE_TASKS:
        return Calibration(*FALLBACK, groups=f"{described}: too little evidence", evidence_tasks=evidence)
    novelty = np.concatenate([f.novelty for f in folds])
    marks = sorted({float(q) for q in np.quantile(novelty, QUANTILES)})
    candidates = [(1.0, marks[-1], marks[-1])] + [
        (level, near, far)
        for level in TRUST_LEVELS
        for near, far in itertools.combinations_with_replacement(marks, 2)
    ]
    weights = np.array([len(f.s) for f in folds], dtype=np.float64) / evidence

    per_fold = np.array(
        [[_area(f, trust(f.novelty, *cand)) for f in folds] for cand in candidates]
    )  # (candidates, folds)
    areas = per_fold @ weights
    # The held-out groups choose the ramp (near, far) at full trust; the ceiling is the out-of-fold
    # predictions' to choose (``oof_ceiling``).
    pick = max((k for k, cand in enumerate(candidates) if cand[0] >= 1.0), key=lambda k: areas[k])
    pick = max(
        (k for k in range(len(candidates)) if per_fold[k].tolist() == per_fold[pick].tolist()),
        key=lambda k: (candidates[k][0], candidates[k][2], candidates[k][1]),
    )  # among ramps that route the evidence alike, the most trust (the least change from the estimates)
    area, (level, near, far) = float(areas[pick]), candidates[pick]
    full = sorted(
        (k for k, cand in enumerate(candidates) if cand[0] >= 1.0),
        key=lambda k: (-areas[k], -candidates[k][2], -candidates[k][1]),
    )
    log.info("novelty: trust %.2f up to novelty %.2f, none past %.2f (%s)", level, near, far, described)
    return Calibration(
        level,
        near,
        far,
        described,
        evidence,
        area,
        float(sum(w * _area(f, np.ones(len(f.s))) for w, f in zip(weights, folds, strict=True))),
        float(sum(w * _area(f, np.zeros(len(f.s))) for w, f in zip(weights, folds, strict=True))),
        ramps=[(candidates[k][1], candidates[k][2]) for k in full],
    )


def fit_support(
    data: TaskMatrix,
    featurizer: Featurizer,
    x: csr_matrix,
    params: FitParams,
    per_model_cost: bool,
    kappa_of: Callable[[np.ndarray, np.ndarray], float],
    oof: tuple[np.ndarray, np.ndarray, float] | None = None,
) -> tuple[Support, Calibration]:
    """The support of a router fitted on ``data`` (``featurizer`` fitted, ``x`` its matrix of the tasks).

    ``per_model_cost``: whether the router decides on each model's mean cost (``cost_signal``); ``kappa_of``:
    the router's exchange rate of success for dollars from a fold's outcomes (passed in, as this module sits
    below the router fit); ``oof``: the out-of-fold P(success) and cost term the router's choice was judged
    on, and its ``kappa``, from which the trust ceiling is chosen (``oof_ceiling``; None: full trust)."""
    from threadpoolctl import threadpool_limits

    text = x[:, len(DENSE_NAMES) :]
    projection = projection_of(text, seed=params.seed)  # for the clusters, when no metadata groups tasks
    counts = task_counts(featurizer, data.descriptions, data.facts)
    reference = reference_of(counts)
    with threadpool_limits(limits=1, user_api="blas"):  # as fit_router's fits: one BLAS thread is faster
        calibration = calibrate_trust(
            data, text, projection, params, featurizer.estimator, per_model_cost, kappa_of
        )
    mean_s, mean_c = model_means(data)
    if oof is not None and calibration.evidence_tasks > 0:
        rows = _ceiling_rows(data, params.seed)
        oof_p, oof_c, kappa = oof
        evidence = (
            np.where(data.observed, data.success, oof_p)[rows],
            np.where(data.observed, data.cost, oof_c)[rows],
            oof_p[rows],
            oof_c[rows],
        )
        novelty = scores(counts[rows], reference)
        ramps = calibration.ramps or [(calibration.near, calibration.far)]
        # Where every ramp costs familiar tasks, trust them up to what the held-out groups reached.
        ramp = oof_ramp(evidence, novelty, ramps, mean_s, mean_c, kappa) or max(ramps, key=lambda r: r[::-1])
        level, areas = oof_ceiling(evidence, novelty, ramp, mean_s, mean_c, kappa)
        calibration = replace(calibration, trust_max=level, near=ramp[0], far=ramp[1], ceiling_areas=areas)
        log.info("novelty: trust ceiling %.2f from out-of-fold predictions", level)
    support = Support(reference, calibration.trust_max, calibration.near, calibration.far, mean_s, mean_c)
    return support, calibration


def _ceiling_rows(data: TaskMatrix, seed: int) -> np.ndarray:
    """The tasks the ceiling is judged on: those with every model tried when there are enough of them
    (otherwise every task, unobserved pairs at their prediction), at most ``CALIBRATION_TASKS`` of them."""
    full = np.flatnonzero(data.observed.all(axis=1))
    rows = full if len(full) >= MIN_EVIDENCE_TASKS else np.arange(len(data.descriptions))
    if len(rows) > CALIBRATION_TASKS:
        rows = np.sort(np.random.default_rng(seed).choice(rows, CALIBRATION_TASKS, replace=False))
    return rows
