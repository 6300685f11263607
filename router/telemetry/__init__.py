"""Telemetry: what a served router decided and how it went, and whether it still does what it was trained for.

``Collector`` records events from the routers and the fallback handler into the ledger's database; the
analyzer, the rules and the alerts read them (``router monitor``). Importing this package loads neither
SQLAlchemy nor ``prometheus_client``: they load when a collector is created or metrics are served.
"""

from router.telemetry.collector import Collector, CollectorStats
from router.telemetry.events import (
    EVENT_SCHEMA_VERSION,
    AlertEvent,
    AttemptEvent,
    BreakerEvent,
    DecisionEvent,
    OutcomeEvent,
)

__all__ = [
    "EVENT_SCHEMA_VERSION",
    "AlertEvent",
    "AttemptEvent",
    "BreakerEvent",
    "Collector",
    "CollectorStats",
    "DecisionEvent",
    "OutcomeEvent",
]
