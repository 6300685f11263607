"""``train_router``: split by task, fit, calibrate, evaluate on held-out tasks, save, log to MLflow."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from router._catalog import Catalog
from router._exceptions import InvalidInputError
from router._paths import data_dir
from router.learned.artifact import load_artifact, save_artifact
from training.data.answers import answers_of
from training.data.outcomes import Outcomes, TaskMatrix, data_identity, load_outcomes, task_matrix
from training.evaluation.cascade_eval import evaluate_cascade
from training.evaluation.holdout import evaluate_fitted, split_tasks
from training.evaluation.latency import decision_latency
from training.fit.cascade_fit import FittedCascade, fit_cascade
from training.fit.classifiers import FitParams
from training.fit.router_fit import TRADEOFF_GRID, fit_router, log_catalog
from training.fit.versions import library_versions
from training.tracking.runs import log_training_run

log = logging.getLogger("training")


@dataclass
class TrainResult:
    """Where the trained router is, the MLflow run that recorded it, and its held-out metrics."""

    model_uri: str
    run_id: str | None
    metrics: dict[str, float] = field(default_factory=dict)
    artifact_dir: Path | None = None
    details: dict[str, Any] = field(default_factory=dict)


def train_router(
    outcomes: Outcomes,
    *,
    experiment: str = "router",
    tracking_uri: str | None = None,
    register: bool = False,
    catalog: Catalog | None = None,
    output_dir: str | Path | None = None,
    test_size: float = 0.2,
    target_share: float = 0.95,
    budget_per_task: float | None = None,
    log_to_mlflow: bool = True,
    registered_name: str = "task-router",
    **params: Any,
) -> TrainResult:
    """Train a router from an outcome log and save it as a servable artifact.

    Parameters
    ----------
    outcomes : path, DataFrame or OutcomeLog
        Rows in the outcome-log schema (CSV, Parquet or JSONL when a path).
    experiment, tracking_uri, register
        MLflow experiment, tracking URI (default: a SQLite store in the data directory) and whether to
        register the model under ``registered_name``.
    catalog : Catalog, optional
        Prices and limits of the logged models; derived from the log (prices unknown) when omitted and the
        default catalog does not name them all.
    test_size : float
        Share of tasks held out for the reported metrics; the served model is then refit on every task.
    target_share, budget_per_task
        How the default tradeoff is calibrated: the least cost keeping ``target_share`` of the best single
        model's success, or the best success within ``budget_per_task`` dollars.
    **params
        ``FitParams`` fields: ``C``, ``cost_alpha``, ``calibration_folds``, ``min_outcomes``,
        ``max_features``, ``min_df``, ``seed``, ``min_metadata_count``, ``tol`` (the logistic
        regressions' stopping tolerance), ``pooling`` ("independent", "pooled" or "both"), ``guard_z`` and
        ``hull_guard`` (the hull guard's bar, and whether it is on), ``drop_dominated`` (with the guard
        off, leave models below the hull of fixed models out of the choice unless out-of-fold evidence keeps
        them), ``cost_signal`` ("auto", "per_task" or "per_model": the cost the choice decides on, each
        task's prediction or each model's mean; "auto" keeps the one that chooses better out of fold),
        ``novelty`` (True: store the training support and pull tasks unlike the training tasks towards the
        model averages; see ``router.learned.novelty``).

    Examples
    --------
    >>> from training.synthetic import generate_outcomes  # doctest: +SKIP
    >>> result = train_router(generate_outcomes(500, seed=0), log_to_mlflow=False)  # doctest: +SKIP
    """
    unknown = set(params) - set(FitParams.__dataclass_fields__)
    if unknown:
        raise InvalidInputError(
            f"Unknown training parameter(s) {sorted(unknown)}. Allowed: "
            f"{sorted(FitParams.__dataclass_fields__)}."
        )
    if not 0.0 < test_size < 1.0:
        raise InvalidInputError(f"test_size must be in (0, 1), got {test_size!r}")
    fit_params = FitParams(**params)
    outcome_log = load_outcomes(outcomes)
    frame = outcome_log.frame
    if frame["task_id"].nunique() < 10:
        raise InvalidInputError(
            f"Training needs outcomes for at least 10 tasks, got {frame['task_id'].nunique()} "
            f"({outcome_log.summary()})."
        )
    models = sorted(frame["model"].unique())
    if catalog is None:
        default = Catalog.default()
        catalog = default if all(m in default.models for m in models) else log_catalog(frame)
    else:
        for m in models:
            catalog.get(m)  # raises UnknownModelError naming the known models
    data = task_matrix(frame, models)
    train_rows, test_rows = split_tasks(len(data.task_ids), test_size, fit_params.seed)
    log.info("training on %d tasks, holding out %d", len(train_rows), len(test_rows))
    held_out = fit_router(
        data.subset(train_rows),
        catalog,
        fit_params,
        target_share=target_share,
        budget_per_task=budget_per_task,
    )
    metrics, details = evaluate_fitted(held_out, data.subset(test_rows))
    final = fit_router(data, catalog, fit_params, target_share=target_share, budget_per_task=budget_per_task)
    # With answers in the log, the learned cascade too: judged on the same held-out tasks, then refit on all.
    cascade = _answer_cascade(frame, data, train_rows, test_rows, held_out.meta, final.meta, fit_params.seed)
    if cascade is not None:
        metrics.update(cascade[1])
        details["answer_cascade"] = cascade[2]
    metrics["default_tradeoff"] = final.meta["default_tradeoff"]
    metrics.update(decision_latency(final.arrays, final.meta))
    identity = data_identity(frame)
    stamp = dt.datetime.now(dt.UTC)
    out = Path(output_dir) if output_dir else data_dir() / "models" / f"router-{stamp:%Y%m%d-%H%M%S-%f}"
    meta = {
        **final.meta,
        "created_at": stamp.isoformat(),
        "training_data": identity,
        "rejected_rows": outcome_log.rejected,
        "metrics_held_out": metrics,
        "held_out_tasks": len(test_rows),
        "library_versions": library_versions(),
    }
    arrays = final.arrays
    if cascade is not None:
        arrays = {**arrays, **cascade[0].arrays}
        meta["answer_cascade"] = cascade[0].meta()
    save_artifact(out, arrays, meta)
    run_id = None
    model_uri = str(out)
    if log_to_mlflow:
        held_out = frame[frame["task_id"].isin(set(data.task_ids[test_rows]))]
        run_id, registered_uri = log_training_run(
            out,
            load_artifact(out)[1],
            metrics,
            details=details,
            held_out=held_out,
            test_size=test_size,
            experiment=experiment,
            tracking_uri=tracking_uri,
            register=register,
            registered_name=registered_name,
        )
        model_uri = registered_uri or model_uri
    return TrainResult(model_uri=model_uri, run_id=run_id, metrics=metrics, artifact_dir=out, details=details)


def _answer_cascade(
    frame: Any,
    data: TaskMatrix,
    train_rows: Any,
    test_rows: Any,
    held_out_meta: dict[str, Any],
    final_meta: dict[str, Any],
    seed: int,
) -> tuple[FittedCascade, dict[str, float], dict[str, Any]] | None:
    """The learned cascade when the log has answers (None otherwise): fitted on the training tasks and
    judged on the held-out ones (metrics ``answer_cascade_*``), then refitted on every task for serving.

    The plans are chosen on the single choice's tradeoff grid with its exchange rate (``kappa``), so a
    tradeoff means the same in ``route`` and ``next_step``.
    """
    answers = answers_of(frame, data)
    if answers is None:
        return None
    try:
        trial = fit_cascade(
            data.subset(train_rows),
            answers.subset(train_rows),
            held_out_meta["kappa"],
            TRADEOFF_GRID,
            seed=seed,
        )
    except (
        ValueError
    ) as exc:  # no plan is replayable on enough tasks: serve the escalation, as without answers
        log.warning("the log has answers but no cascade could be trained (%s); training without one", exc)
        return None
    figures, curves = evaluate_cascade(
        data.subset(test_rows), answers.subset(test_rows), trial.acceptance, trial.plans
    )
    final = fit_cascade(data, answers, final_meta["kappa"], TRADEOFF_GRID, seed=seed)
    return final, {f"answer_cascade_{k}": v for k, v in figures.items()}, curves
