"""The ``router`` command line: one Typer app; each area of the product adds its commands in its own module.

Exit codes: 0 ok, 1 a failure while doing the work, 2 bad input (a usage error, an invalid value or file);
an error is one ``error: ...`` line on stderr, never a traceback (router/cli/_errors.py).
"""

from __future__ import annotations

from router.cli import _costs, _experiments, _logs, _monitor, _ope, _retrain, _route, _train  # noqa: F401  (each registers its commands on import)
from router.cli._app import app, main, plain_help
from router.cli._errors import guard_commands

plain_help(app)
# Every command, including one a module forgot to decorate, answers errors by the one rule (_errors.py).
guard_commands(app)

__all__ = ["app", "main"]
