"""MLflow, in one module: the only place training imports it.

With no tracking URI (argument or ``MLFLOW_TRACKING_URI``), runs go to a SQLite store in the data
directory, with artifacts beside it.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

from router._features import FEATURE_VERSION
from router._paths import data_dir


def default_tracking_uri() -> str:
    root = data_dir()
    root.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(root / 'mlflow.db').resolve()}"


def _experiment_id(mlflow: Any, name: str) -> str:
    found = mlflow.get_experiment_by_name(name)
    if found is not None:
        return str(found.experiment_id)
    location = None
    if not os.environ.get("MLFLOW_TRACKING_URI") and mlflow.get_tracking_uri().startswith("sqlite:"):
        location = (data_dir() / "mlartifacts").resolve().as_uri()
    return str(mlflow.create_experiment(name, artifact_location=location))


def log_training_run(
    artifact_dir: Path,
    meta: dict[str, Any],
    metrics: dict[str, float],
    *,
    experiment: str,
    tracking_uri: str | None,
    register: bool,
    registered_name: str,
) -> tuple[str, str | None]:
    import mlflow

    mlflow.set_tracking_uri(tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or default_tracking_uri())
    experiment_id = _experiment_id(mlflow, experiment)
    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_params({**meta["params"], **meta["tradeoff_target"], "feature_version": FEATURE_VERSION})
        data = meta["training_data"]
        mlflow.log_params({"data_sha256": data["data_sha256"], "data_rows": data["rows"], "data_tasks": data["tasks"]})
        mlflow.log_metrics({k: float(v) for k, v in metrics.items() if isinstance(v, int | float) and math.isfinite(v)})
        mlflow.log_artifacts(str(artifact_dir), artifact_path="router")
        registered = None
        if register:
            version = mlflow.register_model(f"runs:/{run.info.run_id}/router", registered_name)
            registered = f"models:/{registered_name}/{version.version}"
        return run.info.run_id, registered
