"""MLflow quiet around our own calls: no progress bars, INFO lines, WARNINGs or "Created version" prints.

MLflow reports on stderr as it works (artifact progress bars, INFO lines on every run, its own warnings,
``eprint`` lines when a model is registered). Around a training run, a promotion or a comparison that is
noise: the caller gets the result, and an error still reaches it as an exception. :func:`quiet_mlflow`
silences that only for the duration of the call and restores everything afterwards, so an application that
configured MLflow's logging keeps its settings. ``MLFLOW_LOGGING_LEVEL=INFO`` (or ``DEBUG``), which
``router ... --verbose`` sets, leaves MLflow as loud as it is.
"""

from __future__ import annotations

import logging
import logging.config
import os
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")

_LOGGERS = ("mlflow", "alembic")
_PROGRESS = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"


def _keep_logging(*args: object, **kwargs: object) -> None:
    """Stands in for ``logging.config.fileConfig`` inside the block: MLflow 2.x runs its database
    migrations with ``fileConfig(alembic.ini)``, which points the root logger at stderr and alembic at INFO
    for the rest of the process (dozens of "Running upgrade" lines on a new store)."""


def _verbose() -> bool:
    return os.environ.get("MLFLOW_LOGGING_LEVEL", "").upper() in ("INFO", "DEBUG")


@contextmanager
def quiet_mlflow() -> Iterator[None]:
    """Silence MLflow's progress bars, log lines, warnings and prints inside the block; restore after."""
    if _verbose():
        yield
        return
    from mlflow.utils import logging_utils  # the stream MLflow's logs and eprint() write to

    stream = getattr(logging_utils, "MLFLOW_LOGGING_STREAM", None)
    enabled = getattr(stream, "enabled", None)
    levels = {name: logging.getLogger(name).level for name in _LOGGERS}
    progress = os.environ.get(_PROGRESS)
    file_config = logging.config.fileConfig
    logging.config.fileConfig = _keep_logging
    os.environ[_PROGRESS] = "false"
    for name in _LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    if enabled is not None:
        stream.enabled = False  # type: ignore[union-attr]
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", module=r"mlflow(\.|$)")
            yield
    finally:
        logging.config.fileConfig = file_config
        if enabled is not None:
            stream.enabled = enabled  # type: ignore[union-attr]
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
        if progress is None:
            os.environ.pop(_PROGRESS, None)
        else:
            os.environ[_PROGRESS] = progress


def quietly(func: Callable[P, R]) -> Callable[P, R]:
    """Run ``func`` inside :func:`quiet_mlflow`."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with quiet_mlflow():
            return func(*args, **kwargs)

    return wrapper
