"""The Typer application, its error handling and output helpers shared by every command module."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from router._exceptions import ConfigError, InvalidInputError, RouterError

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
)

out = Console()
# soft_wrap: an error stays one line whatever the terminal's width, so scripts can grep it.
err = Console(stderr=True, soft_wrap=True)

P = ParamSpec("P")
R = TypeVar("R")

BAD_INPUT = 2
FAILURE = 1


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn the package's errors into one clear line on stderr and the documented exit code."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except (InvalidInputError, ConfigError) as exc:
            # escape: messages quote user values such as "[models.x]" that Rich would read as markup.
            err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
            raise typer.Exit(BAD_INPUT) from None
        except RouterError as exc:
            err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
            raise typer.Exit(FAILURE) from None

    return wrapper


def print_json(payload: Any) -> None:
    """Machine output: plain JSON on stdout, nothing else."""
    sys.stdout.write(json.dumps(payload, indent=2, default=str) + "\n")


def main() -> None:
    app()


@app.callback()
def _root() -> None:
    # A callback keeps `router` a group of commands even while it has only one.
    pass
