"""The registry side of MLflow: compare a experiment's runs, and promote a run's model to ``champion`` only
when it is at least as good as the model serving now, on the same data.

The gate scores both models with :func:`training.evaluation.score.score_artifact` on one outcome log: the
candidate run's held-out tasks (logged as ``evaluation/held_out.parquet``) unless the caller gives another.
Caveat: a served artifact is refit on all of its training data, held-out tasks included, so the default data
is in-sample for the candidate (and for a champion trained on the same log). For an unbiased gate pass
outcomes that neither model was trained on (``router promote --data``).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from router._exceptions import InvalidInputError, RouterError
from training.data.outcomes import Outcomes, load_outcomes
from training.tracking.ope_gate import is_partial
from training.tracking.pyfunc import MODEL_NAME
from training.tracking.quiet import quietly
from training.tracking.runs import CURVES_FILE, EVALUATION_PATH, HELD_OUT_FILE, use_tracking

CHAMPION = "champion"
DEFAULT_NAME = "task-router"
#: Metrics where less is better; every other metric is better when higher.
LOWER_IS_BETTER = ("brier", "ece", "cost", "cascade_cost", "best_single_cost", "decision_latency")
#: The columns ``compare`` shows first, when the runs have them.
KEY_METRICS = (
    "apgr",
    "gain_over_hull",
    "cost_at_best_quality",
    "cascade_apgr",
    "ece_max",
    "decision_latency_p50_ms",
)


def higher_is_better(metric: str) -> bool:
    return not metric.startswith(LOWER_IS_BETTER)


def _rank_key(metric: str, value: float | None) -> tuple[int, float]:
    if value is None or not math.isfinite(value):
        return (1, 0.0)  # runs without the metric go last
    return (0, -value if higher_is_better(metric) else value)


# ---------------------------------------------------------------------------------------------- compare


@quietly
def compare_runs(
    experiment: str = "router", *, metric: str = "apgr", tracking_uri: str | None = None, max_runs: int = 100
) -> list[dict[str, Any]]:
    """The experiment's finished runs, best first on ``metric``: id, name, start time, params, metrics."""
    mlflow = use_tracking(tracking_uri)
    found = mlflow.get_experiment_by_name(experiment)
    if found is None:
        names = sorted(e.name for e in mlflow.search_experiments())
        raise InvalidInputError(
            f"Unknown experiment {experiment!r}. Experiments: {', '.join(names) or 'none'}."
        )
    runs = mlflow.search_runs(
        experiment_ids=[found.experiment_id],
        filter_string="attributes.status = 'FINISHED'",
        max_results=max_runs,
        output_format="list",
    )
    rows = [
        {
            "run_id": r.info.run_id,
            "run_name": r.info.run_name,
            "start_time": r.info.start_time,
            "params": dict(r.data.params),
            "metrics": dict(r.data.metrics),
        }
        for r in runs
    ]
    return sorted(rows, key=lambda row: _rank_key(metric, row["metrics"].get(metric)))


@quietly
def run_curves(run_id: str, *, tracking_uri: str | None = None) -> dict[str, Any]:
    """The curves a run logged (``evaluation/curves.json``), to redraw or compare it without retraining."""
    mlflow = use_tracking(tracking_uri)
    local = mlflow.artifacts.download_artifacts(
        run_id=run_id, artifact_path=f"{EVALUATION_PATH}/{CURVES_FILE}"
    )
    curves: dict[str, Any] = json.loads(Path(local).read_text())
    return curves


# ---------------------------------------------------------------------------------------------- promote


@dataclass
class Promotion:
    """What ``promote`` decided, and why."""

    promoted: bool
    forced: bool
    name: str
    version: str
    previous_version: str | None
    metric: str
    candidate_value: float
    champion_value: float | None
    data: str
    tasks: int
    reason: str
    lower_bound: float | None = None  # partial logs: one-sided 95% lower bound of the improvement
    detectable: float | None = None  # partial logs: the smallest improvement seen in 80% of such logs
    tasks_needed: int | None = None  # partial logs: tasks a 3-point improvement needs, logged the same way

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


GATE_METRICS = (
    "apgr",
    "gain_over_hull",
    "max_gain_over_hull",
    "cost_at_best_quality",
    "cascade_apgr",
    "cascade_cost_at_best_quality",
    "ece_max",
)


def check_gate_metric(metric: str) -> None:
    from training.tracking.ope_gate import OPE_METRICS

    if metric not in GATE_METRICS + OPE_METRICS and not metric.startswith(("auc_", "brier_", "ece_")):
        raise InvalidInputError(
            f"Unknown metric {metric!r} for the promotion gate. Allowed: "
            f"{', '.join(GATE_METRICS)}, or auc_MODEL, brier_MODEL, ece_MODEL; on a partial log "
            f"{', '.join(OPE_METRICS)}."
        )


def report_metrics(report: dict[str, Any]) -> dict[str, float]:
    """A ``score_artifact`` report under the names training runs log (apgr, cascade_apgr, ece_max, ...)."""
    flat = {k: float(v) for k, v in report["policy"].items()}
    flat |= {f"cascade_{k}": float(report["cascade"][k]) for k in ("apgr", "cost_at_best_quality")}
    for name, values in report["classifier"].items():
        flat |= {f"{key}_{name}": float(values[key]) for key in ("auc", "brier", "ece")}
    flat["ece_max"] = max(float(v["ece"]) for v in report["classifier"].values())
    return flat


def _score(uri: str, outcomes: Outcomes, who: str) -> dict[str, float]:
    from training.evaluation.score import score_artifact

    try:
        return report_metrics(score_artifact(uri, outcomes))
    except RouterError as exc:
        raise type(exc)(f"Cannot score the {who} ({uri}): {exc}") from exc


def _models_of(uri: str) -> list[str]:
    from router.learned.artifact import load_artifact
    from router.learned.router import resolve_uri

    return [str(m) for m in load_artifact(resolve_uri(uri))[0]["models"]]


def _candidate_version(mlflow: Any, client: Any, run_id: str, name: str) -> str:
    """The registered version holding the run's model; the run's model is registered now if it is not."""
    for version in client.search_model_versions(f"name='{name}'"):
        if version.run_id == run_id:
            return str(version.version)
    try:
        return str(mlflow.register_model(f"runs:/{run_id}/{MODEL_NAME}", name).version)
    except Exception as exc:  # MlflowException: the run logged no model
        raise InvalidInputError(f"Run {run_id} has no logged router model to promote ({exc}).") from exc


def _evaluation_data(mlflow: Any, run_id: str, data: Outcomes | None) -> tuple[Any, str]:
    if data is not None:
        return load_outcomes(data).frame, str(data) if not hasattr(data, "columns") else "the given outcomes"
    try:
        local = mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path=f"{EVALUATION_PATH}/{HELD_OUT_FILE}"
        )
    except Exception as exc:  # MlflowException, OSError: the run has no such artifact
        raise InvalidInputError(
            f"Run {run_id} has no {EVALUATION_PATH}/{HELD_OUT_FILE} to compare on (logged by an older "
            f"version, or not a training run); pass --data with an outcome log. ({exc})"
        ) from exc
    return load_outcomes(local).frame, f"run {run_id}'s held-out tasks"


@quietly
def promote(
    run_id: str,
    *,
    metric: str = "apgr",
    data: Outcomes | None = None,
    force: bool = False,
    registered_name: str = DEFAULT_NAME,
    tracking_uri: str | None = None,
) -> Promotion:
    """Move the ``champion`` alias to the run's model if it is at least as good as the champion on ``metric``.

    Both models are scored on the same outcomes: ``data`` when given, else the run's held-out tasks. The
    first promotion (no champion yet) always succeeds. ``force`` promotes whatever the comparison says, and
    tags the version ``promotion.forced``. Every promotion tags the version with the metric, both values and
    the data it was decided on.
    """
    from mlflow import MlflowClient

    check_gate_metric(metric)
    mlflow = use_tracking(tracking_uri)
    client = MlflowClient()
    try:
        client.get_run(run_id)
    except Exception as exc:  # MlflowException for an unknown or malformed id
        raise InvalidInputError(f"Unknown run {run_id!r} in {mlflow.get_tracking_uri()}: {exc}") from exc
    frame, described = _evaluation_data(mlflow, run_id, data)
    version = _candidate_version(mlflow, client, run_id, registered_name)
    candidate_uri = f"models:/{registered_name}/{version}"
    if data is not None and is_partial(frame, _models_of(candidate_uri)):
        # The data as given, not the validated frame: a partial log's bad propensities must be refused.
        return _promote_on_partial_log(client, data, described, version, metric, force, registered_name)
    tasks = _full_information_tasks(frame, _models_of(candidate_uri), described)
    scores = _score(candidate_uri, frame, f"candidate version {version}")
    if metric not in scores:
        raise InvalidInputError(f"Metric {metric!r} is not among the scores: {', '.join(sorted(scores))}.")
    value = scores[metric]
    try:
        previous: str | None = str(client.get_model_version_by_alias(registered_name, CHAMPION).version)
    except Exception:  # MlflowException: no such alias (or no such model) means no champion yet
        previous = None
    champion_value = None
    if previous is not None and previous != version:
        uri = f"models:/{registered_name}/{previous}"
        champion_value = _score(uri, frame, f"{CHAMPION} version {previous}")[metric]
    better, why = _verdict(metric, value, champion_value, previous, version)
    result = Promotion(
        promoted=better or force, forced=force and not better, name=registered_name, version=version,
        previous_version=previous, metric=metric, candidate_value=value, champion_value=champion_value,
        data=described, tasks=tasks, reason=f"{why}, on {tasks} full-information tasks of {described}",
    )  # fmt: skip
    if result.promoted:
        client.set_registered_model_alias(registered_name, CHAMPION, version)
        for key, tag in _tags(result).items():
            client.set_model_version_tag(registered_name, version, key, tag)
    return result


def _champion_version(client: Any, registered_name: str) -> str | None:
    try:
        return str(client.get_model_version_by_alias(registered_name, CHAMPION).version)
    except Exception:  # MlflowException: no such alias (or no such model) means no champion yet
        return None


def _promote_on_partial_log(
    client: Any, frame: Any, described: str, version: str, metric: str, force: bool, registered_name: str
) -> Promotion:
    """The gate on a partial log: the doubly robust paired difference's one-sided 95% lower bound >= 0."""
    from training.tracking.ope_gate import decide, ope_metric

    previous = _champion_version(client, registered_name)
    found = None
    if previous is not None and previous != version:
        found = decide(
            frame, f"models:/{registered_name}/{version}", f"models:/{registered_name}/{previous}", metric
        )
        better, why = found.better, found.reason
    else:
        better, why = _verdict(metric, math.nan, None, previous, version)
    result = Promotion(
        promoted=better or force, forced=force and not better, name=registered_name, version=version,
        previous_version=previous, metric=f"dr_{ope_metric(metric)}",
        candidate_value=found.candidate_value if found else math.nan,
        champion_value=found.champion_value if found else None, data=described,
        tasks=found.tasks if found else 0,
        reason=f"{why}, on {described}" + (f". {found.power_note}" if found else ""),
        lower_bound=found.lower_bound if found else None,
        detectable=found.detectable if found else None, tasks_needed=found.tasks_needed if found else None,
    )  # fmt: skip
    if result.promoted:
        client.set_registered_model_alias(registered_name, CHAMPION, version)
        tags = _tags(result)
        if found is not None:
            tags |= {"promotion.estimator": "dr", "promotion.lower_bound_95": f"{found.lower_bound:.6g}",
                     "promotion.difference": f"{found.difference:.6g}",
                     "promotion.cost_weight": f"{found.cost_weight:.6g}",
                     "promotion.detectable_80": f"{found.detectable:.6g}"}  # fmt: skip
        for key, tag in tags.items():
            client.set_model_version_tag(registered_name, version, key, tag)
    return result


def _full_information_tasks(frame: Any, models: list[str], described: str) -> int:
    """How many tasks of the data every one of ``models`` was tried on; the curves are drawn on those."""
    full = frame.groupby("task_id")["model"].agg(set).map(set(models).issubset)
    if not full.any():
        raise InvalidInputError(
            f"The evaluation data ({described}) has no task on which every model of the candidate was "
            f"tried; the gate needs such tasks. Pass --data with a full-information log."
        )
    return int(full.sum())


def _verdict(
    metric: str, value: float, champion_value: float | None, previous: str | None, version: str
) -> tuple[bool, str]:
    """Whether the candidate may take the alias, and why, in words."""
    if previous is None:
        return True, f"no {CHAMPION} yet"
    if champion_value is None:
        return True, f"version {version} already is the {CHAMPION}"
    higher = higher_is_better(metric)
    better = math.isfinite(value) and (
        not math.isfinite(champion_value) or (value >= champion_value if higher else value <= champion_value)
    )
    relation = "at least as good as" if better else "worse than"
    return better, (
        f"{metric} {value:.4f} is {relation} the {CHAMPION}'s (version {previous}) {champion_value:.4f} "
        f"({'higher' if higher else 'lower'} is better)"
    )


def _tags(result: Promotion) -> dict[str, str]:
    """What the model version records about its promotion (MLflow tag values are strings)."""
    tags = {
        "promotion.metric": result.metric,
        "promotion.value": f"{result.candidate_value:.6g}",
        "promotion.data": result.data,
        "promotion.previous_champion": result.previous_version or "",
        "promotion.reason": result.reason[:4000],
    }
    if result.champion_value is not None:
        tags["promotion.champion_value"] = f"{result.champion_value:.6g}"
    if result.forced:
        tags["promotion.forced"] = "true"
    return tags
