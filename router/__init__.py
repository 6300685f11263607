"""Serving side of the learned LLM task router: everything a running orchestrator imports.

This package never imports ``training`` and imports MLflow only while loading a model from a registry URI.
"""

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
    UnknownModelError,
)
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
    "BudgetAlert",
    "BudgetExceededError",
    "BudgetLimit",
    "BudgetStatus",
    "Catalog",
    "ComplexityEstimator",
    "ComplexityLevel",
    "ConfigError",
    "CostEntry",
    "CostSummary",
    "CostTracker",
    "EstimatorConfig",
    "ExecutionError",
    "InvalidInputError",
    "LedgerError",
    "ModelConfig",
    "ModelSelection",
    "ModelSelector",
    "ModelTier",
    "NoModelAvailableError",
    "OutcomeTransfer",
    "Router",
    "RouterError",
    "RoutingDecision",
    "RoutingStats",
    "TaskComplexity",
    "TaskType",
    "UnknownModelError",
]
