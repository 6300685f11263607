"""Serving side of the learned LLM task router: everything a running orchestrator imports.

This package never imports ``training`` and imports MLflow only while loading a model from a registry URI.
"""

from router._attempts import Attempt, AttemptRecorder
from router._breaker import BreakerState, CircuitBreaker
from router._catalog import Catalog
from router._config import EstimatorConfig
from router._estimator import ComplexityEstimator
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
from router._exec_config import BreakerConfig, ExecutionConfig, RetryConfig
from router._failures import FailureReason, classify
from router._fallback import FallbackHandler
from router._ledger import (
    BudgetAlert,
    BudgetLimit,
    BudgetStatus,
    CostEntry,
    CostSummary,
    CostTracker,
    OutcomeTransfer,
    RoutingStats,
)
from router._router import Router
from router._selector import ModelSelector
from router._strategy import FallbackStrategy
from router._types import (
    ComplexityLevel,
    ModelConfig,
    ModelSelection,
    ModelTier,
    RoutingDecision,
    TaskComplexity,
    TaskType,
)

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
    "RetryConfig",
    "Router",
    "RouterError",
    "RoutingDecision",
    "RoutingStats",
    "TaskComplexity",
    "TaskDeadlineError",
    "TaskType",
    "UnknownModelError",
    "UnrecoverableError",
    "classify",
]
