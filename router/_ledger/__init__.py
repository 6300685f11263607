"""The cost and outcome ledger: every attempt recorded durably, queryable, shared across machines.

``CostTracker`` is importable without SQLAlchemy or pandas; they load when a tracker is created or a log read.
"""

from router._ledger._models import (
    BudgetAlert,
    BudgetLimit,
    BudgetStatus,
    CostEntry,
    CostSummary,
    Period,
    RoutingRow,
    RoutingStats,
)
from router._ledger._outcomes import OutcomeTransfer
from router._ledger._tracker import CostTracker, default_ledger_path

__all__ = [
    "BudgetAlert",
    "BudgetLimit",
    "BudgetStatus",
    "CostEntry",
    "CostSummary",
    "CostTracker",
    "OutcomeTransfer",
    "Period",
    "RoutingRow",
    "RoutingStats",
    "default_ledger_path",
]
