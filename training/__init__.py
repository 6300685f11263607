"""Offline side of the router: read outcome logs, fit and calibrate, evaluate, log to MLflow, register.

May import ``router`` (the featurizer above all); ``router`` never imports this package.
"""

from router._extras import require

# Training needs the [train] extra; a missing part says so in one line, not deep inside an import below.
for _module in ("sklearn", "pandas", "pyarrow", "mlflow", "matplotlib", "threadpoolctl"):
    require(_module, extra="train")

from training._train import TrainResult, train_router  # noqa: E402  (after the check above, on purpose)

__all__ = ["TrainResult", "train_router"]
