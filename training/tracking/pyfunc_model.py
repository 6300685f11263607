"""The pyfunc model's code, logged by file path (MLflow's models-from-code): no pickle is written or loaded.

MLflow copies this file into the model and runs it when the model loads; it defines the model and hands it
to ``set_model``. It imports only ``router`` and MLflow, so a serving environment needs no ``training``.

Input: a DataFrame with a ``description`` column (one task per row). Output: the chosen ``model``, its
calibrated ``p_success`` and its ``expected_cost_usd``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from mlflow.models import set_model
from mlflow.pyfunc.model import PythonModel

ROUTER_ARTIFACT = "router"


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


set_model(RouterModel())
