"""The ``router`` command line: one Typer app; each area of the product adds its commands in its own module.

Exit codes: 0 ok, 1 a failure while doing the work, 2 bad input (a usage error, an invalid value or file).
"""

from __future__ import annotations

from router.cli import _costs, _experiments, _logs, _monitor, _ope, _retrain, _route, _train  # noqa: F401  (each registers its commands on import)
from router.cli._app import app, main, plain_help

plain_help(app)

__all__ = ["app", "main"]
