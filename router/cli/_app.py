"""The Typer application, its error handling and output helpers shared by every command module."""

from __future__ import annotations

import json
import logging
import math
import os
import sys
from typing import Annotated, Any

import typer
from rich.console import Console

from router.cli._errors import BAD_INPUT, FAILURE, err, handle_errors

app = typer.Typer(
    name="router",
    help=(
        "Route LLM tasks to the right model: estimate a task's complexity, pick the model at the "
        "cost-quality trade-off you want, record what it cost, and retrain from the records.\n\n"
        'Start with:  router route "Fix typo in README"'
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # -h as well as --help; sub-commands inherit the names from this context.
    context_settings={"help_option_names": ["-h", "--help"]},
)

out = Console()

# The error rule (one line on stderr, exit 2 or 1) lives in router.cli._errors; re-exported for the commands.
__all__ = [
    "BAD_INPUT",
    "FAILURE",
    "VerboseOption",
    "app",
    "err",
    "handle_errors",
    "main",
    "mlflow_verbosity",
    "out",
    "plain_help",
    "print_json",
]


VerboseOption = Annotated[
    bool, typer.Option("--verbose", "-v", help="Show MLflow's INFO log lines (database set-up, validation).")
]


def mlflow_verbosity(verbose: bool) -> None:
    """MLflow logs INFO lines on every run (creating its tables, validating the model): show WARNING and
    above only, unless ``--verbose`` (or ``MLFLOW_LOGGING_LEVEL`` says otherwise).

    MLflow reads ``MLFLOW_LOGGING_LEVEL`` when it is first imported, which the commands do after this; when
    it is already imported (the tests), its logger is set directly.
    """
    level = "INFO" if verbose else os.environ.get("MLFLOW_LOGGING_LEVEL", "WARNING").upper()
    os.environ["MLFLOW_LOGGING_LEVEL"] = level
    if "mlflow" in sys.modules:
        logging.getLogger("mlflow").setLevel(level)


def print_json(payload: Any) -> None:
    """Machine output: strict JSON on stdout, nothing else (NaN and infinities become null, which every
    JSON parser reads; Python's ``NaN`` is not JSON)."""
    sys.stdout.write(json.dumps(_finite(payload), indent=2, default=str, allow_nan=False) + "\n")


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if hasattr(value, "tolist"):  # numpy scalars and arrays, without importing numpy here
        return _finite(value.tolist())
    return value


def plain_help(typer_app: typer.Typer) -> None:
    """Plain (click) help for the app and every group under it, whichever module added them.

    Typer's rich help prints a ``<bool>`` type beside every flag (``--json <bool>``), which reads as if the
    flag took a value; click's plain help shows flags bare.
    """
    typer_app.rich_markup_mode = None
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            plain_help(group.typer_instance)


def main() -> None:
    app()


@app.callback()
def _root() -> None:
    # A callback keeps `router` a group of commands even while it has only one. Every command that loads a
    # models:/ URI imports MLflow, which logs INFO lines (creating its tables) on stderr: WARNING and above
    # only, unless the environment says otherwise or a command's --verbose asks (mlflow_verbosity).
    os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")
