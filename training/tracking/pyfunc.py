"""The router as an MLflow pyfunc model: a thin wrapper around the safe artifact.

The pickled part is only this class, referenced by module path (its state is set in ``load_context``); the
router itself stays the verified ``router.npz`` + ``metadata.json`` under the model's ``artifacts/router``,
which ``Router.load("models:/...")`` reads directly without unpickling anything. The pyfunc flavour is for
MLflow's own tools (``mlflow.pyfunc.load_model``, ``mlflow models serve``, batch scoring).

Input: a DataFrame with a ``description`` column (one task per row). Output: the chosen ``model``, its
calibrated ``p_success`` and its ``expected_cost_usd``.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
from mlflow.pyfunc.model import PythonModel

from training.fit.versions import library_versions

MODEL_NAME = "model"
ROUTER_ARTIFACT = "router"
INPUT_EXAMPLE = pd.DataFrame(
    {
        "description": [
            "Fix typo in README",
            "Refactor the distributed task scheduler to support async workers",
        ]
    }
)


class RouterModel(PythonModel):
    """Routes each row's ``description`` with the wrapped artifact, at its calibrated default tradeoff."""

    def load_context(self, context: Any) -> None:
        from router.learned.router import load_router

        # strict: a pyfunc that silently served the heuristic would misreport what it is.
        self.router = load_router(context.artifacts[ROUTER_ARTIFACT], strict=True)

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        decisions = self.router.route_many([str(d) for d in model_input["description"]])
        return pd.DataFrame(
            {
                "model": [d.model for d in decisions],
                "p_success": [d.p_success[d.model] for d in decisions],
                "expected_cost_usd": [d.expected_cost_usd[d.model] for d in decisions],
            }
        )


def log_router_model(mlflow: Any, artifact_dir: Any) -> Any:
    """Log the artifact directory as the run's pyfunc model; returns MLflow's ``ModelInfo``."""
    from mlflow.models import infer_signature

    model = RouterModel()
    model.router = _load(artifact_dir)
    signature = infer_signature(INPUT_EXAMPLE, model.predict(None, INPUT_EXAMPLE))
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
            python_model=RouterModel(),
            artifacts={ROUTER_ARTIFACT: str(staged)},
            signature=signature,
            input_example=INPUT_EXAMPLE,
            pip_requirements=requirements,
        )


def _load(artifact_dir: Any) -> Any:
    from router.learned.router import load_router

    return load_router(artifact_dir, strict=True)
