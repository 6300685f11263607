"""``router evaluate --cascade --cv K``: the learned cascade's held-out curve beside the single choice's.

The same K folds over tasks as ``cross_validate`` (same seed, same task order): in each, the single-choice
router and the cascade are fitted on the training part and replayed on the held-out part. Both curves are
read against the hull of the single models on the same tasks with the issue's figure (``gain_vs_hull``):
mean over budgets from the cheapest to the dearest model of (best mix of the curve's points - best mix of
single models), divided by (best single success - cheapest model's success).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.model_selection import KFold

from router._catalog import Catalog
from router._exceptions import InvalidInputError
from training.data.answers import answers_of
from training.data.outcomes import Outcomes, load_outcomes, task_matrix
from training.evaluation.cascade_eval import CURVE_TRADEOFFS, curve_summary, replay_plans
from training.evaluation.crossval import cross_validate, require_full_tasks
from training.evaluation.metrics import expected_calibration_error, policy_points, single_points, upper_hull
from training.fit.cascade_fit import fit_cascade
from training.fit.router_fit import TRADEOFF_GRID


def cascade_report(
    outcomes: Outcomes, *, folds: int = 5, catalog: Catalog | None = None, seed: int = 0
) -> dict[str, Any]:
    """Cross-validated figures of the learned cascade, the single choice and the single models."""
    frame = load_outcomes(outcomes).frame
    models = sorted(frame["model"].unique())
    data = task_matrix(frame, models)
    answers = answers_of(frame, data)
    if answers is None:
        raise InvalidInputError(
            "--cascade needs answers: the log has no 'answer' column with a non-empty value (see the outcome "
            "log's optional answer and output columns)"
        )
    require_full_tasks(data)
    cv = cross_validate(frame, folds=folds, catalog=catalog, seed=seed)
    n = len(data.task_ids)
    full = np.asarray(data.observed.all(axis=1), dtype=bool)
    cascade = np.zeros((len(CURVE_TRADEOFFS), 2))
    single = None
    ys, ps, calls = [], [], []
    for k, (tr, te) in enumerate(KFold(folds, shuffle=True, random_state=seed).split(np.arange(n))):
        te = te[full[te]]
        kappa = float(cv.kappa[te][0]) if len(te) else 1.0
        fitted = fit_cascade(data.subset(tr), answers.subset(tr), kappa, TRADEOFF_GRID, seed=seed)
        replays = replay_plans(
            data.subset(te), answers.subset(te), fitted.acceptance, fitted.plans, CURVE_TRADEOFFS
        )
        cascade += np.array([(r.cost.sum(), r.success.sum()) for r in replays])
        chosen = policy_points(
            data.success[te], data.cost[te], cv.p[te], cv.cost_hat[te], kappa, cv.guards[k]
        ) * len(te)
        single = chosen if single is None else single + chosen
        ys += [r.success for r in replays]
        ps += [r.p_correct for r in replays]
        calls.append(np.mean([r.calls.sum() for r in replays]))
    m = int(full.sum())
    cascade /= m
    assert single is not None
    single /= m
    singles = single_points(data.success[full], data.cost[full])
    y, p = np.concatenate(ys), np.concatenate(ps)
    return {
        "tasks": m,
        "folds": folds,
        "singles": {
            name: {"cost": float(singles[j, 0]), "success": float(singles[j, 1])}
            for j, name in enumerate(models)
        },
        "hull": upper_hull(singles).tolist(),
        "single_choice": {**curve_summary(single, singles), "points": single.tolist()},
        "cascade": {
            **curve_summary(cascade, singles),
            "ece": expected_calibration_error((y >= 0.5).astype(float), p),
            "mean_calls": float(np.sum(calls) / m),
            "tradeoffs": CURVE_TRADEOFFS.tolist(),
            "points": cascade.tolist(),
        },
    }
