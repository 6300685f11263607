"""Decision quality on the shared SWE-bench Verified outcomes, from held-out folds only.

5-fold cross-validation over tasks (``training.cross_validate``): every task's P(success) and expected cost
come from a router that never saw it; ``training.evaluation.crossval.quality_report`` scores the learned
policy and cascade with the real outcomes. Beside it, on the same tasks: every single model, the convex hull
of the single models (random mixing of fixed models), random mixing of the cheapest and the best, the
heuristic router (untrained, so it needs no folds), the embedding kNN peer (neighbours drawn from the fold's
training
tasks only) and the per-task oracle; the fixed cascade "gpt-5-mini, then claude-opus-4.5" against the
learned one. No claim here rests on synthetic data: without the shared files the section is skipped.

    python -m benchmarks.quality [--quick]
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._util import Progress, progress, write_json

FOLDS = 5
FIXED_CASCADE = ("gpt-5-mini", "claude-opus-4.5")
HEURISTIC_TRADEOFFS = (None, 0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


def _point(cost: float, success: float, **extra: Any) -> dict[str, Any]:
    return {"cost": float(cost), "success": float(success), **extra}


def heuristic_points(
    descriptions: list[str], models: list[str], s: np.ndarray, c: np.ndarray
) -> dict[str, Any]:
    """The heuristic router on every task at several tradeoffs: realised (cost, success) per tradeoff."""
    from router import Router
    from training.swebench import swebench_catalog

    router = Router(swebench_catalog(models))
    rows = np.arange(len(s))
    points = {}
    for t in HEURISTIC_TRADEOFFS:
        chosen = np.array([models.index(d.model) for d in router.route_many(descriptions, tradeoff=t)])
        points["default" if t is None else f"{t:.1f}"] = _point(
            c[rows, chosen].mean(), s[rows, chosen].mean()
        )
    return points


def knn_predictions(cv: Any, embeddings: np.ndarray, full: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Out-of-fold kNN predictions: each task's neighbours come from the other folds' tasks only."""
    from benchmarks._embed import neighbour_means

    data = cv.data
    p = np.full(data.success.shape, np.nan)
    ch = np.full(data.success.shape, np.nan)
    for k in np.unique(cv.fold_of):
        test = cv.fold_of == k
        train = ~test & full
        p[test], ch[test] = neighbour_means(
            embeddings[test], embeddings[train], (data.success[train] >= 0.5).astype(float), data.cost[train]
        )
    return p, ch


def at_tradeoffs(
    p: np.ndarray, ch: np.ndarray, s: np.ndarray, c: np.ndarray, tradeoff: np.ndarray, kappa: np.ndarray
) -> dict[str, Any]:
    """Realised (cost, success) when each task is routed at its own fold's calibrated tradeoff."""
    from router.learned.policy import choose, mu_for

    chosen = np.array(
        [choose(p[i], ch[i], mu_for(float(tradeoff[i]), float(kappa[i]))) for i in range(len(s))]
    )
    rows = np.arange(len(s))
    return _point(c[rows, chosen].mean(), s[rows, chosen].mean(), tradeoff_median=float(np.median(tradeoff)))


def cascade_at_tradeoffs(cv: Any, full: np.ndarray) -> dict[str, Any]:
    """The learned escalation at each task's calibrated tradeoff; an acceptance check that sees the true
    outcome stops the chain at the first success, and the cost is the sum of the attempts made."""
    from router.learned.policy import choose, escalation, logit_table, mu_for
    from training.evaluation.metrics import walk_cascade

    logits = [None if table is None else logit_table(table).tolist() for table in cv.tables]
    idx = np.flatnonzero(full)
    spent = solved = 0.0
    attempts = 0
    for i in idx:
        k = cv.fold_of[i]
        mu = mu_for(float(cv.tradeoff[i]), float(cv.kappa[i]))
        p, ch = cv.p[i].tolist(), cv.cost_hat[i].tolist()
        chain = escalation(choose(p, ch, mu), p, ch, mu, logits[k], cv.base_rates[k].tolist())
        cost, solved_i, tries = walk_cascade(chain, cv.data.success[i], cv.data.cost[i])
        spent, solved, attempts = spent + cost, solved + solved_i, attempts + tries
    return _point(spent / len(idx), solved / len(idx), attempts_per_task=attempts / len(idx))


def run(quick: bool = False, workdir: Path | None = None, say: Progress = progress) -> dict[str, Any]:
    from benchmarks import _embed
    from benchmarks._data import swebench_or_reason
    from training.evaluation.crossval import cross_validate, quality_report
    from training.evaluation.metrics import (
        curve_metrics,
        fixed_cascade,
        policy_points,
        single_points,
        upper_hull,
    )

    data, reason = swebench_or_reason()
    if data is None:
        say(f"quality: skipped: {reason}")
        return {"status": "skipped", "reason": reason}
    say(f"quality: {FOLDS}-fold cross-validation of the learned router on {data.source}")
    cv = cross_validate(data.frame, folds=FOLDS, catalog=data.catalog)
    report = quality_report(cv)
    models = cv.data.models
    full: np.ndarray = np.asarray(cv.data.observed.all(axis=1))
    s, c = cv.data.success[full], cv.data.cost[full]
    singles = single_points(s, c)
    kappa = float(np.median(cv.kappa[full]))
    descriptions = [d for d, keep in zip(cv.data.descriptions, full, strict=True) if keep]

    say("quality: the heuristic router at its default and 11 tradeoffs")
    heuristic = heuristic_points(descriptions, models, s, c)
    heuristic_curve = np.array([[v["cost"], v["success"]] for v in heuristic.values()])
    learned_default = at_tradeoffs(cv.p[full], cv.cost_hat[full], s, c, cv.tradeoff[full], cv.kappa[full])
    order = [models.index(m) for m in FIXED_CASCADE if m in models]
    fixed = dict(zip(("cost", "success"), fixed_cascade(s, c, order), strict=True))
    oracle = report["oracle"]
    result: dict[str, Any] = {
        "status": "ok",
        "data": data.source,
        "tasks": report["tasks"],
        "folds": FOLDS,
        "models": models,
        "singles": report["singles"],
        "hull": {**curve_metrics(singles, singles), "points": upper_hull(singles).tolist()},
        "random_mix": {
            **report["random_mix"],
            "between": [models[int(np.argmin(singles[:, 0]))], models[int(np.argmax(singles[:, 1]))]],
        },
        "heuristic": {**curve_metrics(heuristic_curve, singles), "points": heuristic},
        "learned_policy": {**report["policy"], "default": learned_default, "points": report["policy_points"]},
        "learned_cascade": {
            **report["cascade"],
            "default": cascade_at_tradeoffs(cv, full),
            "points": report["cascade_points"],
        },
        "fixed_cascade": {**fixed, "order": list(FIXED_CASCADE)},
        "oracle": {**oracle, **curve_metrics(np.array([[oracle["cost"], oracle["success"]]]), singles)},
        "calibration": report["classifier"],
        "kappa": kappa,
    }
    off = _embed.unavailable()
    if off is not None:
        result["embedding_knn"] = {"status": off[0], "reason": off[1]}
    else:
        embeddings = _embed.cached_embeddings(list(cv.data.descriptions), say)
        if embeddings is None:
            result["embedding_knn"] = {"status": "failed", "reason": "the embedding worker failed"}
        else:
            say("quality: the embedding kNN peer on the same folds")
            p, ch = knn_predictions(cv, embeddings, full)
            points = policy_points(s, c, p[full], ch[full], kappa)
            result["embedding_knn"] = {
                "status": "ok",
                **curve_metrics(points, singles),
                "points": points.tolist(),
                "default": at_tradeoffs(p[full], ch[full], s, c, cv.tradeoff[full], cv.kappa[full]),
            }
    if workdir is not None:
        plot_path = Path(workdir) / "quality.png"
        plot(result, plot_path)
        result["plot"] = plot_path.name  # beside latest.md
    say(
        f"quality: learned APGR {result['learned_policy']['apgr']:.3f}, gain over hull "
        f"{100 * result['learned_policy']['gain_over_hull']:+.2f} points"
    )
    return result


def plot(result: dict[str, Any], path: Path) -> None:
    """The cost-quality plane: single models and their hull, the curves, the heuristic, cascades, oracle."""
    import matplotlib

    matplotlib.use("Agg")  # no display on a server or in CI
    import matplotlib.pyplot as plt

    from training.evaluation.metrics import upper_hull

    def dense(curve: np.ndarray) -> np.ndarray:
        # Mixing two points moves along a straight line in linear cost; on the log axis that line is a
        # curve, so each segment is drawn through many interpolated points.
        if len(curve) < 2:
            return curve
        parts = [np.linspace(a, b, 40) for a, b in itertools.pairwise(curve)]
        return np.vstack(parts)

    fig, ax = plt.subplots(figsize=(8, 5.5), dpi=120)
    hull = dense(np.array(result["hull"]["points"]))
    ax.plot(hull[:, 0], 100 * hull[:, 1], "k--", lw=1, label="hull of single models")
    for name, point in result["singles"].items():
        ax.plot(point["cost"], 100 * point["success"], "ko")
        ax.annotate(
            name,
            (point["cost"], 100 * point["success"]),
            textcoords="offset points",
            xytext=(5, -10),
            fontsize=8,
        )
    curves = [
        ("learned_policy", "learned policy", "C0"),
        ("learned_cascade", "learned cascade", "C2"),
        ("embedding_knn", "embedding kNN", "C1"),
    ]
    for key, label, colour in curves:
        points = result.get(key, {}).get("points")
        if points:
            curve = dense(upper_hull(np.array(points)))
            ax.plot(
                curve[:, 0], 100 * curve[:, 1], "-", color=colour, lw=2, label=f"{label} (upper envelope)"
            )
            ax.plot(np.array(points)[:, 0], 100 * np.array(points)[:, 1], ".", color=colour, ms=3, alpha=0.5)
    heuristic = np.array([[v["cost"], v["success"]] for v in result["heuristic"]["points"].values()])
    ax.plot(heuristic[:, 0], 100 * heuristic[:, 1], "s", color="C3", ms=5, label="heuristic (tradeoff sweep)")
    ax.plot(
        result["fixed_cascade"]["cost"],
        100 * result["fixed_cascade"]["success"],
        "D",
        color="C4",
        label="fixed cascade " + " -> ".join(result["fixed_cascade"]["order"]),
    )
    ax.plot(
        result["oracle"]["cost"], 100 * result["oracle"]["success"], "*", color="C5", ms=12, label="oracle"
    )
    ax.set_xscale("log")
    ax.set_xlabel("mean cost per task (US$, log scale)")
    ax.set_ylabel("tasks resolved (%)")
    ax.set_title(f"SWE-bench Verified, {result['tasks']} tasks, {result['folds']}-fold CV (held-out)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.quality", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    result = run(args.quick, args.out.parent if args.out else None)
    print(
        json.dumps({k: v for k, v in result.items() if k in ("learned_policy", "heuristic")}, default=str)[
            :2000
        ]
    )
    if args.out:
        write_json(args.out, result)


if __name__ == "__main__":
    main()
