"""Where the router keeps its files when the user names none: ``$ROUTER_DATA_DIR``, else ``./.router``.

The directory is created on first use by whoever writes to it, never at import time.
"""

from __future__ import annotations

import os
from pathlib import Path


def data_dir() -> Path:
    return Path(os.environ.get("ROUTER_DATA_DIR") or Path.cwd() / ".router")


def default_tracking_uri() -> str:
    """The embedded MLflow store used when ``MLFLOW_TRACKING_URI`` is unset: SQLite in the data directory.

    Training logs there and ``Router.load("models:/...")`` reads from there, so both agree without any set-up.
    """
    return f"sqlite:///{(data_dir() / 'mlflow.db').resolve()}"
