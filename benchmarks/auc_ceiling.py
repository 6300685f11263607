"""How much a task's description and context can tell about its outcome: the median per-model held-out AUC
of simple success models on other inputs than the router's, beside the router itself.

Every row is scored the same way, outside the product: 5-fold cross-validation over tasks (several fold
seeds), a task score fitted on the training folds' pooled residual (each task's mean over the models of
outcome minus that model's base rate: difficulty is shared), then per model a logistic regression of its
outcome on the out-of-fold score and the out-of-fold context code, and the AUC of all folds' held-out
predictions. Rows:

* context only: the metadata code alone (the router's own encoding: residual mean per value, shrunk);
* length + context: the log of the description's length;
* embeddings + context: a ridge regression on MiniLM sentence embeddings (``.[bench-embed]``; a model far
  richer than the router's features, and too slow for its decision path);
* the router as trained: ``cross_validate``'s predictions, each fold with its fold's router;
* the other models' outcomes on the same task: a reference no router has at decision time, for how much of
  a task's outcome is shared difficulty.

    python -m benchmarks.auc_ceiling [--seeds 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks._util import progress


def _residual(success: np.ndarray) -> np.ndarray:
    """Per task: mean over models of (outcome - that model's base rate on these tasks)."""
    return (success - success.mean(axis=0)).mean(axis=1)


def _code_fit(values: np.ndarray, success: np.ndarray) -> dict[str, float]:
    """Each context value's code as the router encodes it: its tasks' residual sum over (count + SHRINK)."""
    from training.fit.context import SHRINK

    resid = _residual(success)
    codes: dict[str, float] = {}
    for value in np.unique(values):
        on = values == value
        codes[str(value)] = float(resid[on].sum() / (on.sum() + SHRINK))
    return codes


def _codes(values: np.ndarray, codes: dict[str, float]) -> np.ndarray:
    return np.array([codes.get(str(v), 0.0) for v in values])


#: A task score's fitting: (training rows, their outcomes) -> a function of rows giving their scores.
ScoreFit = Callable[[np.ndarray, np.ndarray], Callable[[np.ndarray], np.ndarray]]


def _ridge_score(features: np.ndarray, alpha: float) -> ScoreFit:
    from sklearn.linear_model import Ridge

    def fit(train: np.ndarray, success: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        model = Ridge(alpha=alpha).fit(features[train], _residual(success))
        return lambda rows: model.predict(features[rows])

    return fit


def _context_score(context: np.ndarray) -> ScoreFit:
    def fit(train: np.ndarray, success: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
        codes = _code_fit(context[train], success)
        return lambda rows: _codes(context[rows], codes)

    return fit


def _out_of_fold(fit: ScoreFit, rows: np.ndarray, success: np.ndarray, seed: int) -> np.ndarray:
    from sklearn.model_selection import KFold

    out = np.zeros(len(rows))
    for tr, te in KFold(5, shuffle=True, random_state=seed).split(rows):
        score = fit(rows[tr], success[tr])(rows[te])
        out[te] = score - score.mean()
    return out


def stacked_auc(
    score_fit: ScoreFit | None, context: np.ndarray, success: np.ndarray, seed: int, folds: int = 5
) -> list[float]:
    """Per model, the held-out AUC of a logistic regression on a task score (``score_fit``; None for none)
    and the context code, both out of fold on the training part."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import KFold

    n, m = success.shape
    pred = np.zeros((n, m))
    for tr, te in KFold(folds, shuffle=True, random_state=seed).split(np.arange(n)):
        inputs_tr = [_out_of_fold(_context_score(context), tr, success[tr], seed)]
        inputs_te = [_context_score(context)(tr, success[tr])(te)]
        if score_fit is not None:
            inputs_tr.append(_out_of_fold(score_fit, tr, success[tr], seed))
            score = score_fit(tr, success[tr])(te)
            inputs_te.append(score - score.mean())
        for j in range(m):
            cal = LogisticRegression(C=1e4).fit(np.column_stack(inputs_tr), success[tr, j])
            pred[te, j] = cal.decision_function(np.column_stack(inputs_te))
    return [float(roc_auc_score(success[:, j], pred[:, j])) for j in range(m)]


def others_auc(success: np.ndarray) -> list[float]:
    """Per model, the AUC of the other models' mean outcome on the same task (no fitting)."""
    from sklearn.metrics import roc_auc_score

    m = success.shape[1]
    return [float(roc_auc_score(success[:, j], np.delete(success, j, axis=1).mean(axis=1))) for j in range(m)]


def router_auc(frame: Any, seed: int) -> list[float]:
    from sklearn.metrics import roc_auc_score

    from training.evaluation.crossval import cross_validate

    cv = cross_validate(frame, folds=5, seed=seed)
    full = cv.data.observed.all(axis=1)
    s, p = cv.data.success[full], cv.p[full]
    return [float(roc_auc_score(s[:, j] >= 0.5, p[:, j])) for j in range(s.shape[1])]


def measure(frame: Any, key: str, seeds: int = 3, embeddings: np.ndarray | None = None) -> dict[str, Any]:
    """The rows for one outcome log whose metadata carries ``key`` (every model tried on every task)."""
    from training.data.outcomes import task_matrix

    data = task_matrix(frame)
    full = np.flatnonzero(data.observed.all(axis=1))
    success = (data.success[full] >= 0.5).astype(float)
    meta = data.metadata or [{} for _ in data.descriptions]
    context = np.array([(meta[i] or {}).get(key, "") for i in full], dtype=object)
    length = np.log1p([len(data.descriptions[i]) for i in full])[:, None]
    scores: dict[str, ScoreFit | None] = {
        f"{key} only": None,
        f"log length + {key}": _ridge_score(length, 1e-6),
    }
    if embeddings is not None:
        scores[f"MiniLM embeddings (ridge) + {key}"] = _ridge_score(embeddings[full], 3.0)
    rows: dict[str, Any] = {}
    for label, fit in scores.items():
        per_seed = [stacked_auc(fit, context, success, seed) for seed in range(seeds)]
        rows[label] = per_seed
        progress(f"auc_ceiling: {label}: median AUC {[round(float(np.median(a)), 3) for a in per_seed]}")
    rows["the router as trained (cross_validate)"] = [router_auc(frame, seed) for seed in range(seeds)]
    rows["the other models' outcomes on the task (not known at decision time)"] = [others_auc(success)]
    return {
        "models": data.models,
        "tasks": len(full),
        "seeds": seeds,
        "rows": {
            label: {
                "median_auc_per_seed": [float(np.median(a)) for a in per_seed],
                "median_auc_mean": float(np.mean([np.median(a) for a in per_seed])),
                "per_model_first_seed": per_seed[0],
            }
            for label, per_seed in rows.items()
        },
    }


def markdown(result: dict[str, Any]) -> str:
    lines = [
        f"{result['tasks']} tasks x {len(result['models'])} models, 5-fold over tasks, {result['seeds']} "
        "fold seeds",
        "",
        "| success model | median per-model AUC, per seed | mean |",
        "|---|---|---|",
    ]
    for label, row in result["rows"].items():
        seeds = " / ".join(f"{a:.3f}" for a in row["median_auc_per_seed"])
        lines.append(f"| {label} | {seeds} | {row['median_auc_mean']:.3f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.auc_ceiling",
        description="How well simple success models on the description and the repository, and the "
        "router, tell SWE-bench outcomes apart on held-out tasks (median per-model AUC).",
    )
    parser.add_argument("--seeds", type=int, default=3, help="fold seeds (default 3)")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON object")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error(f"--seeds must be at least 1, got {args.seeds}")
    from benchmarks import _embed
    from training.swebench import load_swebench

    started = time.perf_counter()
    frame = load_swebench().frame
    embeddings = None
    if _embed.unavailable() is None:
        from training.data.outcomes import task_matrix

        embeddings = _embed.cached_embeddings(list(task_matrix(frame).descriptions), progress)
    else:
        progress(f"auc_ceiling: no embedding row: {_embed.unavailable()}")
    result = measure(frame, "repo", args.seeds, embeddings)
    result["seconds"] = time.perf_counter() - started
    print(json.dumps(result, indent=1) if args.json else markdown(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
