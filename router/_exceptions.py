"""Exceptions raised by the router.

Every error the package raises on purpose derives from :class:`RouterError`, so a caller can catch one
class. Each message names the bad value and what is allowed.

Tree::

    RouterError
    ├── ConfigError              a catalog or estimator configuration file is missing, malformed or invalid
    ├── InvalidInputError        an argument (description, files, tradeoff, ...) is not what is allowed
    │   └── UnknownModelError    a model name that the catalog does not know
    ├── NoModelAvailableError    every candidate model is marked unavailable or cooling down
    ├── ArtifactError            a trained router artifact is corrupt, tampered with or incompatible
    ├── LedgerError              the cost and outcome ledger cannot be opened or written
    │   ├── BudgetExceededError  a spend limit has been reached and the caller asked to refuse
    │   └── NotALedgerError      the database holds other tables and no ledger: nothing is created in it
    │                            (also an InvalidInputError: the caller named the wrong database)
    └── ExecutionError           a task failed on every model that was tried (carries the attempts)
        ├── UnrecoverableError   no retry or other model can fix it (authentication, permission, a bug);
        │                        raised at once, the original error chained
        └── TaskDeadlineError    the task's deadline passed (or a wait would pass it) before it succeeded
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from router.execution.attempts import Attempt


class RouterError(Exception):
    """Root of every error this package raises on purpose."""


class ConfigError(RouterError):
    """A configuration file or object is missing, malformed or holds a value that is not allowed."""


class InvalidInputError(RouterError, ValueError):
    """An argument is not what is allowed; the message names the field, the value and the rule."""


class UnknownModelError(InvalidInputError, KeyError):
    """A model name that the catalog does not know."""

    def __init__(self, name: object, known: list[str]) -> None:
        self.name = name
        self.known = known
        super().__init__(f"Unknown model {name!r}. Known models: {', '.join(known)}.")

    def __str__(self) -> str:
        # KeyError would otherwise quote the whole message.
        return str(self.args[0])


class NoModelAvailableError(RouterError):
    """No candidate model is available."""


class ArtifactError(RouterError):
    """A trained router artifact cannot be trusted or used."""


class LedgerError(RouterError):
    """The ledger cannot be opened, migrated or written."""


class BudgetExceededError(LedgerError):
    """A spend limit has been reached."""


class NotALedgerError(LedgerError, InvalidInputError):
    """The database holds tables but no ledger: another program's data, which is never written to."""


class ExecutionError(RouterError):
    """A task failed on every model that was tried.

    ``attempts`` lists every attempt in order (model, number, reason, error, duration, wait before it);
    ``last_result`` is the last result a model returned, if any (when ``accept`` rejected every result).
    The last underlying error is chained as ``__cause__``.
    """

    def __init__(
        self, message: str, *, task_id: str = "", attempts: Sequence[Attempt] = (), last_result: object = None
    ) -> None:
        super().__init__(message)
        self.task_id = task_id
        self.attempts: list[Attempt] = list(attempts)
        self.last_result = last_result


class UnrecoverableError(ExecutionError):
    """An error that no retry and no other model can fix; the original is chained as ``__cause__``."""


class TaskDeadlineError(ExecutionError):
    """The task's deadline passed, or the next wait would have passed it, before the task succeeded."""
