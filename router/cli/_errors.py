"""The command line's one rule for errors: one ``error: ...`` line on stderr and a documented exit code.

Exit 2 is bad input (a value, a path, a URI the user gave), exit 1 a failure while doing the work. Every
command's body runs inside :func:`handle_errors`; :func:`guard_commands` wraps every registered command at
import time, so a command added later cannot forget it. Known exception classes map here, in one place:
the package's own errors, the operating system's file errors, numeric ranges, and MLflow's and SQLAlchemy's
errors (matched by module name, so neither is imported for the mapping). Anything else is a bug: it still
gets one line (``internal error``) unless ``ROUTER_DEBUG=1`` asks for the traceback.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from router._exceptions import ConfigError, InvalidInputError, RouterError

BAD_INPUT = 2
FAILURE = 1

# soft_wrap: an error stays one line whatever the terminal's width, so scripts can grep it.
err = Console(stderr=True, soft_wrap=True)

P = ParamSpec("P")
R = TypeVar("R")

#: OS errors about a path the user named: bad input. Others (a full disk, an I/O error) are failures.
_PATH_ERRNOS = {
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EROFS: "read-only file system",
    errno.EEXIST: "it exists already",
    errno.ENOENT: "no such file or directory",
    errno.ENOTDIR: "a part of the path is not a directory",
    errno.EISDIR: "it is a directory",
    errno.ENAMETOOLONG: "the name is too long",
}
#: MLflow error codes that mean the user's input (a URI, a run id, a name) is wrong.
_MLFLOW_BAD_INPUT = {"INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST", "BAD_REQUEST", "NOT_FOUND"}


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    return lines[0] if lines else type(exc).__name__


def _from_module(exc: BaseException, package: str) -> bool:
    return any(cls.__module__.split(".")[0] == package for cls in type(exc).__mro__)


def classify(exc: BaseException) -> tuple[int, str] | None:
    """The exit code and the one-line message for ``exc``; None when it is not a known class (a bug)."""
    if isinstance(exc, InvalidInputError | ConfigError):
        return BAD_INPUT, str(exc)
    if isinstance(exc, RouterError):
        return FAILURE, str(exc)
    if isinstance(exc, OSError) and exc.errno in _PATH_ERRNOS:
        where = f" {str(exc.filename)!r}" if exc.filename is not None else ""
        also = f" -> {str(exc.filename2)!r}" if exc.filename2 is not None else ""
        return BAD_INPUT, f"cannot use the path{where}{also}: {_PATH_ERRNOS[exc.errno]}"
    if isinstance(exc, OSError):
        where = f" ({str(exc.filename)!r})" if exc.filename is not None else ""
        return FAILURE, f"{exc.strerror or _first_line(exc)}{where}"
    if isinstance(exc, OverflowError):
        return BAD_INPUT, f"a value is out of range: {_first_line(exc)}"
    if _from_module(exc, "mlflow"):
        code = str(getattr(exc, "error_code", ""))
        bad = code in _MLFLOW_BAD_INPUT or "Unsupported" in type(exc).__name__
        return (BAD_INPUT if bad else FAILURE), f"MLflow: {_first_line(exc)}"
    if _from_module(exc, "sqlalchemy"):
        bad = type(exc).__name__ in {"ArgumentError", "NoSuchModuleError"}
        return (BAD_INPUT if bad else FAILURE), f"database: {_first_line(exc)}"
    if isinstance(exc, ModuleNotFoundError):
        return FAILURE, f"a module this needs is not installed: {exc.name}"
    return None


@contextmanager
def naming(path: object) -> Iterator[None]:
    """Inside the block, an OS error without a file name (some writers raise them bare) names ``path``."""
    try:
        yield
    except OSError as exc:
        if exc.filename is None:
            exc.filename = str(path)
        raise


def refuse_overwrite(path: Path, force: bool, option: str = "the file") -> None:
    """Refuse to replace an existing file unless ``--force``: a command overwrites nothing unasked."""
    if path.exists() and not force:
        what = "a directory" if path.is_dir() else "a file"
        raise InvalidInputError(
            f"{option} {str(path)!r} exists already ({what}); give a new path, or --force to overwrite it"
        )


def report(exc: BaseException) -> int:
    """Print ``exc`` as the one error line and return its exit code (1 for an unknown class)."""
    known = classify(exc)
    code, message = known or (
        FAILURE,
        f"internal error ({type(exc).__name__}: {_first_line(exc)}); rerun with ROUTER_DEBUG=1 for the "
        "traceback, and please report it",
    )
    # One line whatever the message (MLflow's span several); escape: messages quote user values such as
    # "[models.x]" that Rich would read as markup.
    message = " ".join(line.strip() for line in message.splitlines() if line.strip())
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    return code


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Run a command's body under the rule: its errors become one line on stderr and the exit code."""
    if getattr(func, "__router_guarded__", False):
        return func

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except (typer.Exit, typer.Abort, SystemExit, KeyboardInterrupt):
            raise
        except Exception as exc:
            # click's own usage errors (exit 2, with the usage line) pass through untouched.
            if exc.__class__.__module__.split(".")[0] == "click" or os.environ.get("ROUTER_DEBUG") == "1":
                raise
            raise typer.Exit(report(exc)) from None

    wrapper.__router_guarded__ = True  # type: ignore[attr-defined]
    return wrapper


def guard_commands(app: typer.Typer) -> None:
    """Wrap every command registered on ``app`` and its groups in :func:`handle_errors` (once)."""
    for command in app.registered_commands:
        if command.callback is not None:
            command.callback = handle_errors(command.callback)
    for group in app.registered_groups:
        if group.typer_instance is not None:
            guard_commands(group.typer_instance)
