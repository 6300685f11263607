"""The router as an MLflow pyfunc model: a thin wrapper around the safe artifact, logged from code.

The model is logged with MLflow's models-from-code: ``pyfunc_model.py`` is passed by file path, copied into
the model and run when it loads, so no cloudpickle is written or loaded. The router itself stays the
verified ``router.npz`` + ``metadata.json`` under the model's ``artifacts/router``, which
``Router.load("models:/...")`` reads directly (versions logged before, with a pickled wrapper, load the same
way: their pickle is never opened). The pyfunc flavour is for MLflow's own tools
(``mlflow.pyfunc.load_model``, ``mlflow models serve``, batch scoring).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from training.fit.versions import library_versions

MODEL_NAME = "model"
ROUTER_ARTIFACT = "router"
MODEL_CODE = Path(__file__).with_name("pyfunc_model.py")
INPUT_EXAMPLE = pd.DataFrame(
    {
        "description": [
            "Fix typo in README",
            "Refactor the distributed task scheduler to support async workers",
        ]
    }
)


def log_router_model(mlflow: Any, artifact_dir: Any) -> Any:
    """Log the artifact directory as the run's pyfunc model; returns MLflow's ``ModelInfo``."""
    from mlflow.models import infer_signature

    signature = infer_signature(INPUT_EXAMPLE, _predict(_load(artifact_dir), INPUT_EXAMPLE))
    versions = library_versions()
    # Listed, not inferred: MLflow's inference imports the model in a subprocess, seconds per run.
    requirements = [f"mlflow=={mlflow.__version__}"] + [
        f"{name}=={v}" for name, v in versions.items() if name != "python" and v != "unknown"
    ]
    with tempfile.TemporaryDirectory() as tmp:
        # MLflow keeps the directory's own name: copy it to "router" so the model always holds
        # artifacts/router/{router.npz, metadata.json}, where Router.load looks first.
        staged = shutil.copytree(artifact_dir, Path(tmp) / ROUTER_ARTIFACT)
        return mlflow.pyfunc.log_model(
            name=MODEL_NAME,
            python_model=str(MODEL_CODE),  # a file path: models-from-code, no pickle
            artifacts={ROUTER_ARTIFACT: str(staged)},
            signature=signature,
            input_example=INPUT_EXAMPLE,
            pip_requirements=requirements,
        )


def _predict(router: Any, frame: pd.DataFrame) -> pd.DataFrame:
    """What the pyfunc returns (``pyfunc_model.RouterModel.predict``), for the signature."""
    decisions = router.route_many([str(d) for d in frame["description"]])
    return pd.DataFrame(
        {
            "model": [d.model for d in decisions],
            "p_success": [d.p_success[d.model] for d in decisions],
            "expected_cost_usd": [d.expected_cost_usd[d.model] for d in decisions],
        }
    )


def _load(artifact_dir: Any) -> Any:
    from router.learned.router import load_router

    return load_router(artifact_dir, strict=True)
