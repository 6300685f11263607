"""Optional dependencies: which extra brings each one, and the one-line error when it is missing.

The core install (``pip install llm-task-router``) routes and serves, heuristic and learned from a local
artifact. Everything else is an extra; a feature that needs one calls :func:`require` before importing it,
so a missing extra reads as one line naming what to install, not as a ``ModuleNotFoundError`` from deep
inside a call.
"""

from __future__ import annotations

import importlib.util

from router._exceptions import RouterError

DISTRIBUTION = "llm-task-router"

# extra -> what it is for (the error says it).
EXTRAS = {
    "cli": "the router command",
    "ledger": "the cost and outcome ledger and outcome logs",
    "postgres": "a PostgreSQL ledger",
    "mlflow": "loading a router from an MLflow registry",
    "train": "training and evaluating routers",
    "monitor": "telemetry, the monitor and /metrics",
    "anthropic": "the Anthropic SDK",
    "litellm": "the LiteLLM integration (router.integrations.litellm)",
}


class MissingExtraError(RouterError, ImportError):
    """A feature was used whose optional dependency is not installed; the message names the extra.

    Attributes
    ----------
    module : str
        The module that could not be found.
    extra : str
        The extra that installs it.
    """

    def __init__(self, module: str, extra: str) -> None:
        self.module = module
        self.extra = extra
        super().__init__(
            f"{module} is not installed; install the '{extra}' extra for {EXTRAS[extra]}: "
            f"pip install '{DISTRIBUTION}[{extra}]' (from a checkout: pip install '.[{extra}]')"
        )


def require(module: str, *, extra: str) -> None:
    """Raise :class:`MissingExtraError` unless ``module`` can be imported; imports nothing.

    Parameters
    ----------
    module : str
        Top-level module name, e.g. ``"sqlalchemy"``.
    extra : str
        The extra that installs it, one of :data:`EXTRAS`.

    Examples
    --------
    >>> require("json", extra="ledger")
    >>> try:
    ...     require("no_such_module_here", extra="ledger")
    ... except MissingExtraError as exc:
    ...     print(exc.extra)
    ledger
    """
    if extra not in EXTRAS:
        raise ValueError(f"extra: {extra!r} is not one of {sorted(EXTRAS)}")
    if importlib.util.find_spec(module) is None:
        raise MissingExtraError(module, extra)
