"""One set's routers side by side on the same held-out tasks (the per-set tables of ``quality_sets``).

Every row is a router's realised success and cost per task on the tasks where every model was tried, its
success minus the hull of the single models at its own cost ("vs hull", what a single operating point
gains), and, over the cost range from the cheapest model to the best, its APGR and mean gain over the hull
(``training.evaluation.metrics.curve_metrics``, mixing allowed). Routers with a tradeoff are scored on
their curve over the tradeoff grid and placed at their default tradeoff; routers without one (LiteLLM's
table by cost) have one point, whose curve is that point mixed with the cheapest model, as for the oracle.
Everything learned or tuned comes from the other folds' tasks: the learned router from
``cross_validate``, the kNN peer's neighbours and LiteLLM's tuned tier table from each fold's training
tasks (``benchmarks._peers.held_out_tables``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from benchmarks._util import Progress, progress


def _row(router: str, cost: float | None, success: float | None, **extra: Any) -> dict[str, Any]:
    return {"router": router, "cost": cost, "success": success, **extra}


def _scored(
    router: str, point: tuple[float, float], curve: np.ndarray, singles: np.ndarray
) -> dict[str, Any]:
    from training.evaluation.metrics import curve_metrics, point_vs_hull

    metrics = curve_metrics(curve, singles)
    return _row(
        router,
        float(point[0]),
        float(point[1]),
        vs_hull=point_vs_hull(point, singles),
        apgr=metrics["apgr"],
        gain=metrics["gain_over_hull"],
    )


def _curve_row(router: str, curve: np.ndarray, singles: np.ndarray) -> dict[str, Any]:
    """A mix of fixed models: a curve, no single operating point."""
    from training.evaluation.metrics import curve_metrics

    metrics = curve_metrics(curve, singles)
    return _row(router, None, None, vs_hull=None, apgr=metrics["apgr"], gain=metrics["gain_over_hull"])


def _tuned_at(
    tiers: list[str],
    s: np.ndarray,
    c: np.ndarray,
    models: list[str],
    folds: np.ndarray,
    kappa: dict[int, float],
    tradeoff: float,
) -> tuple[float, float]:
    """LiteLLM's tier table tuned per fold at one tradeoff (each fold's own kappa), realised held out."""
    from benchmarks._peers import held_out_tables
    from router.learned.policy import mu_for

    mu = {k: mu_for(tradeoff, kappa_k) for k, kappa_k in kappa.items()}
    return _realised(held_out_tables(tiers, s, c, models, folds, mu), s, c)


def _realised(chosen: np.ndarray, s: np.ndarray, c: np.ndarray) -> tuple[float, float]:
    rows = np.arange(len(s))
    return float(c[rows, chosen].mean()), float(s[rows, chosen].mean())


def router_rows(
    cvs: dict[str, Any],
    default_pooling: str,
    catalog: Any,
    say: Progress = progress,
) -> list[dict[str, Any]]:
    """The rows of one set's table. ``cvs``: a ``CrossValidation`` per pooling value, same folds (the
    seed is the same); the baselines and peers are scored on the default pooling's folds."""
    from benchmarks.quality import cascade_at_tradeoffs
    from training.evaluation.crossval import quality_report
    from training.evaluation.metrics import single_points

    cv = cvs[default_pooling]
    models = list(cv.data.models)
    full: np.ndarray = np.asarray(cv.data.observed.all(axis=1))
    s, c = cv.data.success[full], cv.data.cost[full]
    singles = single_points(s, c)
    descriptions = [d for d, keep in zip(cv.data.descriptions, full, strict=True) if keep]
    rows: list[dict[str, Any]] = []
    for j, m in enumerate(models):
        point = (float(singles[j, 0]), float(singles[j, 1]))
        rows.append(_scored(f"single: {m}", point, singles[[j]], singles) | {"apgr": None, "gain": None})
    rows.append(_curve_row("hull of the single models (best fixed mix)", singles, singles))
    cheap, best = int(np.argmin(singles[:, 0])), int(np.argmax(singles[:, 1]))
    rows.append(
        _curve_row(f"random mix of {models[cheap]} and {models[best]}", singles[[cheap, best]], singles)
    )
    rows.append(heuristic_row(descriptions, models, s, c, catalog))

    report = quality_report(cv)
    for pooling, fold_cv in cvs.items():
        rep = report if pooling == default_pooling else quality_report(fold_cv)
        default = rep["default"]
        label = f"learned policy, pooling={pooling}" + (" (default)" if pooling == default_pooling else "")
        rows.append(
            _row(label, default["cost"], default["success"], vs_hull=default["gain_over_hull"],
                 apgr=rep["policy"]["apgr"], gain=rep["policy"]["gain_over_hull"])
        )  # fmt: skip
    cascade = cascade_at_tradeoffs(cv, full)
    rows.append(
        _row("learned cascade (acceptance check stops at the first success)", cascade["cost"],
             cascade["success"], vs_hull=_vs_hull(cascade, singles), apgr=report["cascade"]["apgr"],
             gain=report["cascade"]["gain_over_hull"])
    )  # fmt: skip
    kappa = float(np.median(cv.kappa[full]))
    rows.append(knn_row(cv, full, s, c, singles, kappa, say))
    rows.extend(litellm_rows(cv, full, descriptions, models, s, c, singles, say))
    return rows


def _vs_hull(point: dict[str, Any], singles: np.ndarray) -> float:
    from training.evaluation.metrics import point_vs_hull

    return point_vs_hull((point["cost"], point["success"]), singles)


def heuristic_row(
    descriptions: list[str], models: list[str], s: np.ndarray, c: np.ndarray, catalog: Any
) -> dict[str, Any]:
    """The heuristic router (untrained) at its default, its curve over the 11 tradeoffs of ``quality``."""
    from benchmarks.quality import HEURISTIC_TRADEOFFS
    from router import Router
    from training.evaluation.metrics import single_points

    router = Router(catalog)
    points = {}
    for t in HEURISTIC_TRADEOFFS:
        chosen = np.array([models.index(d.model) for d in router.route_many(descriptions, tradeoff=t)])
        points[t] = _realised(chosen, s, c)
    curve = np.array(list(points.values()))
    return _scored(
        "heuristic router (default; curve over 11 tradeoffs)", points[None], curve, single_points(s, c)
    )


def knn_row(
    cv: Any, full: np.ndarray, s: np.ndarray, c: np.ndarray, singles: np.ndarray, kappa: float, say: Progress
) -> dict[str, Any]:
    from benchmarks import _embed
    from benchmarks.quality import at_tradeoffs, knn_predictions
    from training.evaluation.metrics import policy_points

    label = "embedding kNN peer (MiniLM, k=10; same policy and tradeoffs)"
    off = _embed.unavailable()
    if off is not None:
        return _row(label, None, None, status=f"{off[0]}: {off[1]}")
    embeddings = _embed.cached_embeddings(list(cv.data.descriptions), say)
    if embeddings is None:
        return _row(label, None, None, status="failed: the embedding worker failed")
    p, ch = knn_predictions(cv, embeddings, full)
    point = at_tradeoffs(p[full], ch[full], s, c, cv.tradeoff[full], cv.kappa[full])
    curve = policy_points(s, c, p[full], ch[full], kappa)
    return _scored(label, (point["cost"], point["success"]), curve, singles)


def litellm_rows(
    cv: Any,
    full: np.ndarray,
    descriptions: list[str],
    models: list[str],
    s: np.ndarray,
    c: np.ndarray,
    singles: np.ndarray,
    say: Progress,
) -> list[dict[str, Any]]:
    """LiteLLM's complexity router, per classifier type: the tier table by cost (one point) and tuned on
    each fold's training tasks (placed at the learned router's default tradeoff of that fold; its curve
    re-tunes the table at every tradeoff of the grid)."""
    from benchmarks._peers import (
        LITELLM_CLASSIFIERS,
        LiteLLMComplexityPeer,
        held_out_tables,
        litellm_unavailable,
        tiers_by_cost,
    )
    from router.learned.policy import mu_for
    from training.fit.router_fit import TRADEOFF_GRID

    reason = litellm_unavailable()
    if reason is not None:
        return [
            _row(f"LiteLLM complexity router, {ct}, tiers {how}", None, None, status=reason)
            for ct in LITELLM_CLASSIFIERS
            for how in ("by cost", "tuned on training folds")
        ]
    folds = cv.fold_of[full]
    kappa = {int(k): float(cv.kappa[full][folds == k][0]) for k in np.unique(folds)}
    tradeoff = {int(k): float(cv.tradeoff[full][folds == k][0]) for k in np.unique(folds)}
    rows = []
    for ct in LITELLM_CLASSIFIERS:
        say(f"quality_sets: LiteLLM {ct} on {len(descriptions)} tasks")
        # The classifier is untrained: each task's tier is the same whichever fold it is in.
        tiers = LiteLLMComplexityPeer(ct, tiers_by_cost(models, singles[:, 0].tolist())).tiers_of(
            descriptions
        )
        by_cost = _realised(held_out_tables(tiers, s, c, models, folds), s, c)
        row = _scored(
            f"LiteLLM complexity router, {ct}, tiers by cost", by_cost, np.array([by_cost]), singles
        )
        row["tier_share"] = {t: tiers.count(t) / len(tiers) for t in sorted(set(tiers))}
        rows.append(row)
        at_default = {k: mu_for(tradeoff[k], kappa[k]) for k in kappa}
        tuned = _realised(held_out_tables(tiers, s, c, models, folds, at_default), s, c)
        curve = np.array([_tuned_at(tiers, s, c, models, folds, kappa, float(t)) for t in TRADEOFF_GRID])
        rows.append(
            _scored(f"LiteLLM complexity router, {ct}, tiers tuned on training folds", tuned, curve, singles)
        )
    return rows
