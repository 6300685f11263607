"""Serving side of the learned LLM task router: everything a running orchestrator imports.

This package never imports ``training`` and imports MLflow only while loading a model from a registry URI.
"""

import importlib as _importlib
import typing as _typing

from router._exceptions import (
    ArtifactError,
    BudgetExceededError,
    ConfigError,
    ExecutionError,
    InvalidInputError,
    LedgerError,
    NoModelAvailableError,
    RouterError,
    TaskDeadlineError,
    UnknownModelError,
    UnrecoverableError,
)
from router._extras import MissingExtraError

# Every other public name loads on first use (the module __getattr__ below, PEP 562), not with
# `import router`: a process pays for numpy, pydantic and the router's own modules when it first routes, and
# for the fallback handler (asyncio) or the ledger only if it uses them. `from router import Router` works as
# before and loads what Router needs. The exceptions above stay eager: they import nothing, and `except`
# clauses name them.
_LAZY = {
    "Catalog": "router._catalog",
    "ComplexityLevel": "router._types",
    "ModelConfig": "router._types",
    "ModelSelection": "router._types",
    "ModelTier": "router._types",
    "RoutingDecision": "router._types",
    "Step": "router._types",
    "TaskComplexity": "router._types",
    "TaskType": "router._types",
    "EstimatorConfig": "router.estimation.config",
    "ComplexityEstimator": "router.estimation.estimator",
    "RefreshingRouter": "router.learned.router",
    "Router": "router.learned.router",
    "ModelSelector": "router.selection.selector",
    "RouteTable": "router.selection.table",
    "Attempt": "router.execution.attempts",
    "AttemptRecorder": "router.execution.attempts",
    "BreakerState": "router.execution.breaker",
    "CircuitBreaker": "router.execution.breaker",
    "BreakerConfig": "router.execution.config",
    "CascadeResult": "router.execution.cascade",
    "ExecutionConfig": "router.execution.config",
    "OutputConfig": "router.execution.config",
    "RetryConfig": "router.execution.config",
    "FailureReason": "router.execution.failures",
    "classify": "router.execution.failures",
    "FallbackHandler": "router.execution.fallback",
    "FallbackStrategy": "router.execution.strategy",
    "BudgetAlert": "router.ledger",
    "BudgetLimit": "router.ledger",
    "BudgetStatus": "router.ledger",
    "CostEntry": "router.ledger",
    "CostSummary": "router.ledger",
    "CostTracker": "router.ledger",
    "OutcomeTransfer": "router.ledger",
    "RoutingStats": "router.ledger",
}

if _typing.TYPE_CHECKING:
    from router._catalog import Catalog
    from router._types import (
        ComplexityLevel,
        ModelConfig,
        ModelSelection,
        ModelTier,
        RoutingDecision,
        Step,
        TaskComplexity,
        TaskType,
    )
    from router.estimation.config import EstimatorConfig
    from router.estimation.estimator import ComplexityEstimator
    from router.execution.attempts import Attempt, AttemptRecorder
    from router.execution.breaker import BreakerState, CircuitBreaker
    from router.execution.cascade import CascadeResult
    from router.execution.config import BreakerConfig, ExecutionConfig, OutputConfig, RetryConfig
    from router.execution.failures import FailureReason, classify
    from router.execution.fallback import FallbackHandler
    from router.execution.strategy import FallbackStrategy
    from router.learned.router import RefreshingRouter, Router
    from router.ledger import (
        BudgetAlert,
        BudgetLimit,
        BudgetStatus,
        CostEntry,
        CostSummary,
        CostTracker,
        OutcomeTransfer,
        RoutingStats,
    )
    from router.selection.selector import ModelSelector
    from router.selection.table import RouteTable


def __getattr__(name: str) -> _typing.Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'router' has no attribute {name!r}")
    value = getattr(_importlib.import_module(module), name)
    globals()[name] = value  # once loaded, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "ArtifactError",
    "Attempt",
    "AttemptRecorder",
    "BreakerConfig",
    "BreakerState",
    "BudgetAlert",
    "BudgetExceededError",
    "BudgetLimit",
    "BudgetStatus",
    "CascadeResult",
    "Catalog",
    "CircuitBreaker",
    "ComplexityEstimator",
    "ComplexityLevel",
    "ConfigError",
    "CostEntry",
    "CostSummary",
    "CostTracker",
    "EstimatorConfig",
    "ExecutionConfig",
    "ExecutionError",
    "FailureReason",
    "FallbackHandler",
    "FallbackStrategy",
    "InvalidInputError",
    "LedgerError",
    "MissingExtraError",
    "ModelConfig",
    "ModelSelection",
    "ModelSelector",
    "ModelTier",
    "NoModelAvailableError",
    "OutcomeTransfer",
    "OutputConfig",
    "RefreshingRouter",
    "RetryConfig",
    "RouteTable",
    "Router",
    "RouterError",
    "RoutingDecision",
    "RoutingStats",
    "Step",
    "TaskComplexity",
    "TaskDeadlineError",
    "TaskType",
    "UnknownModelError",
    "UnrecoverableError",
    "classify",
]
