"""The cost and outcome ledger: every attempt recorded durably, queryable, shared across machines.

``CostTracker`` is importable without SQLAlchemy or pandas; they load when a tracker is created or a log read.
"""

from router.ledger.models import (
    BudgetAlert,
    BudgetLimit,
    BudgetStatus,
    CostEntry,
    CostSummary,
    Period,
    RoutingRow,
    RoutingStats,
)
from router.ledger.outcomes import OutcomeTransfer
from router.ledger.tracker import CostTracker, default_ledger_path

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
