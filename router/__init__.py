"""Serving side of the learned LLM task router: everything a running orchestrator imports.

This package never imports ``training`` and imports MLflow only while loading a model from a registry URI.
"""

from router._catalog import Catalog
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
from router.execution.config import BreakerConfig, ExecutionConfig, RetryConfig
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
    "ModelConfig",
    "ModelSelection",
    "ModelSelector",
    "ModelTier",
    "NoModelAvailableError",
    "OutcomeTransfer",
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
