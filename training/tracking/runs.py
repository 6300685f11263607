"""MLflow, in the ``training/tracking/`` package only: the one place training talks to it.

With no tracking URI (argument or ``MLFLOW_TRACKING_URI``), runs go to a SQLite store in the data directory
(``data_dir()/mlflow.db``) with artifacts in ``data_dir()/mlartifacts``; with one, to whatever it names (a
team's tracking server). Every training run records:

* params: the featurizer's settings, the estimator and its hyper-parameters, calibration, the policy target;
* the training data's identity: content hash, rows, tasks, models, time range;
* metrics: per-model AUC / Brier / ECE, APGR, gain over the hull, cost at the best single model's quality,
  the cascade's, and decision latency (see ``training.evaluation.metrics`` and
  ``training.evaluation.latency``);
* artifacts: ``model/`` (a pyfunc wrapping the safe artifact, with a signature and an input example; see
  ``training.tracking.pyfunc``), and ``evaluation/``: ``cost_quality.png``, ``reliability.png``,
  ``evaluation.csv``, ``curves.json`` (the data behind the plots) and ``held_out.parquet`` (the held-out
  tasks' outcomes, which ``router promote`` scores candidate and champion on).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from router._paths import data_dir
from router._paths import default_tracking_uri as embedded_tracking_uri
from router.learned.features import FEATURE_VERSION
from training.tracking.quiet import quiet_mlflow, quietly

if TYPE_CHECKING:
    import pandas as pd

ESTIMATOR = "per-model L2 logistic + pooled difficulty, stacked calibration; ridge log-cost; hull guard"
_UNSAFE = re.compile(r"[^A-Za-z0-9_\-. /]")
EVALUATION_PATH = "evaluation"
CURVES_FILE = "curves.json"
HELD_OUT_FILE = "held_out.parquet"


def default_tracking_uri() -> str:
    data_dir().mkdir(parents=True, exist_ok=True)
    return embedded_tracking_uri()


def tracking_uri_for(tracking_uri: str | None = None) -> str:
    """The argument, else ``MLFLOW_TRACKING_URI``, else the embedded SQLite store."""
    return tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or default_tracking_uri()


def use_tracking(tracking_uri: str | None = None) -> Any:
    """Point MLflow at the tracking store and return the ``mlflow`` module (imported here, never at import
    time, so ``import training`` stays light)."""
    import mlflow

    mlflow.set_tracking_uri(tracking_uri_for(tracking_uri))
    return mlflow


def _experiment_id(mlflow: Any, name: str) -> str:
    found = mlflow.get_experiment_by_name(name)
    if found is not None:
        return str(found.experiment_id)
    location = None
    uri = mlflow.get_tracking_uri()
    if uri == embedded_tracking_uri():  # not default_tracking_uri(): asking must not create ./.router
        # The embedded store keeps artifacts beside it, not in ./mlruns of whatever the working directory is.
        location = (data_dir() / "mlartifacts").resolve().as_uri()
    elif uri.startswith("sqlite:///"):
        # Any SQLite store likewise: MLflow's default would be ./mlruns of the working directory.
        location = (Path(uri.removeprefix("sqlite:///")).parent / "mlartifacts").resolve().as_uri()
    return str(mlflow.create_experiment(name, artifact_location=location))


def run_params(meta: dict[str, Any], test_size: float) -> dict[str, Any]:
    """What a run is, as MLflow params (strings of at most a few hundred characters)."""
    params = meta["params"]
    data = meta["training_data"]
    time_range = data.get("time_range") or ["", ""]
    return {
        "estimator": ESTIMATOR,
        "C": params["C"],
        "cost_alpha": params["cost_alpha"],
        "min_outcomes": params["min_outcomes"],
        "featurizer.max_features": params["max_features"],
        "featurizer.min_df": params["min_df"],
        "featurizer.feature_version": FEATURE_VERSION,
        "calibration": f"Platt on {params['calibration_folds']}-fold out-of-fold scores",
        "calibration_folds": params["calibration_folds"],
        "policy.target_share": meta["tradeoff_target"]["target_share"],
        "policy.budget_per_task": meta["tradeoff_target"]["budget_per_task"],
        "policy.default_tradeoff": meta["default_tradeoff"],
        "policy.pooling": params.get("pooling", "independent"),
        "policy.guard_z": params.get("guard_z", ""),
        # The cost the choice decides on: as asked ("auto", ...) and as kept (per-task or per-model).
        "policy.cost_signal": params.get("cost_signal", "per_task"),
        "policy.cost_signal_used": meta.get("cost_signal", {}).get("used", "per_task"),
        # Whether the router decides by the learned choice or routes as the best fixed mix at its default.
        "policy.hull_guard_default": meta.get("hull_guard", {}).get("default", ""),
        "seed": params["seed"],
        "test_size": test_size,
        "data.sha256": data["data_sha256"],
        "data.rows": data["rows"],
        "data.tasks": data["tasks"],
        "data.models": ",".join(data["models"]),
        "data.time_start": time_range[0],
        "data.time_end": time_range[1],
        "held_out_tasks": meta["held_out_tasks"],
    }


def metric_name(name: str) -> str:
    """A name MLflow accepts for a metric or artifact: letters, digits, ``_ - . /`` and spaces are kept,
    anything else (parentheses, colons, ...) becomes ``_``. Model names are data: they can hold any text."""
    return _UNSAFE.sub("_", name).strip() or "_"


def safe_names(names: list[str]) -> dict[str, str]:
    """``metric_name`` for each name, kept unique: a collision gets a short hash of the original name."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for name in names:
        safe = metric_name(name)
        if safe in taken:
            safe = f"{safe}_{hashlib.sha256(name.encode()).hexdigest()[:8]}"
        taken.add(safe)
        out[name] = safe
    return out


def _numeric(metrics: dict[str, Any]) -> dict[str, float]:
    # NaN is kept: it says "measured, and undefined" (for example cost_at_best_quality when the policy never
    # reaches the best single model's success), which a missing metric would not.
    numeric = {k: float(v) for k, v in metrics.items() if isinstance(v, int | float)}
    names = safe_names(list(numeric))
    return {names[k]: v for k, v in numeric.items()}


def evaluation_table(metrics: dict[str, float], details: dict[str, Any]) -> pd.DataFrame:
    """One row per single model (cost, success, classifier quality) and one per router curve."""
    import pandas as pd

    rows: list[dict[str, Any]] = []
    singles = details.get("singles")
    for j, name in enumerate(details.get("models", [])):
        row: dict[str, Any] = {"kind": "model", "name": name, **details["per_model"].get(name, {})}
        if singles is not None:
            row |= {"mean_cost_usd": singles[j][0], "success": singles[j][1]}
        rows.append(row)
    for kind, prefix in (("router", ""), ("cascade", "cascade_")):
        rows.append(
            {
                "kind": kind,
                "name": kind,
                "apgr": metrics.get(f"{prefix}apgr"),
                "gain_over_hull": metrics.get("gain_over_hull") if kind == "router" else None,
                "cost_at_best_quality": metrics.get(f"{prefix}cost_at_best_quality"),
            }
        )
    return pd.DataFrame(rows)


def _write_evaluation(
    folder: Path, metrics: dict[str, float], details: dict[str, Any], held_out: pd.DataFrame
) -> None:
    from training.evaluation.plots import cost_quality_figure, reliability_figure, run_curves

    curves = run_curves(details)
    (folder / CURVES_FILE).write_text(json.dumps(curves, indent=1))
    cost_quality_figure(curves).savefig(folder / "cost_quality.png", dpi=110)
    reliability_figure(curves).savefig(folder / "reliability.png", dpi=110)
    evaluation_table(metrics, details).to_csv(folder / "evaluation.csv", index=False)
    held_out.to_parquet(folder / HELD_OUT_FILE, index=False)


@quietly
def log_training_run(
    artifact_dir: Path,
    meta: dict[str, Any],
    metrics: dict[str, float],
    *,
    details: dict[str, Any],
    held_out: pd.DataFrame,
    test_size: float,
    experiment: str,
    tracking_uri: str | None,
    register: bool,
    registered_name: str,
) -> tuple[str, str | None]:
    """Log one training run; returns its run id and, when registered, ``models:/NAME/VERSION``."""
    from training.tracking.pyfunc import log_router_model

    mlflow = use_tracking(tracking_uri)
    experiment_id = _experiment_id(mlflow, experiment)
    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_params(run_params(meta, test_size))
        mlflow.log_metrics(_numeric(metrics))
        mlflow.set_tags(
            {"router.artifact_sha256": meta.get("arrays_sha256", ""), "router.kind": "task-router"}
        )
        with tempfile.TemporaryDirectory() as tmp:
            _write_evaluation(Path(tmp), metrics, details, held_out)
            if "hull_guard" in meta:  # per tradeoff: the learned choice, or the fixed model it routes as
                (Path(tmp) / "hull_guard.json").write_text(json.dumps(meta["hull_guard"], indent=1))
            mlflow.log_artifacts(tmp, artifact_path=EVALUATION_PATH)
        info = log_router_model(mlflow, artifact_dir)
        registered = None
        if register:
            with quiet_mlflow():  # again: logging the model turns MLflow's output back on when it is done
                version = mlflow.register_model(info.model_uri, registered_name)
            registered = f"models:/{registered_name}/{version.version}"
        return run.info.run_id, registered
