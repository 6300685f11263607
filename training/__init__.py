"""Offline side of the router: read outcome logs, fit and calibrate, evaluate, log to MLflow, register.

May import ``router`` (the featurizer above all); ``router`` never imports this package.
"""

from training._train import TrainResult, train_router

__all__ = ["TrainResult", "train_router"]
