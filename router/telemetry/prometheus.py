"""Prometheus metrics from the database: ``router monitor serve`` or your own app's ``/metrics``.

The values are read from the database at each scrape (grouped counts and sums over the time index), so every
process that shares the database is counted and restarts lose nothing. Decisions and alerts come from the
telemetry tables; attempts and spend from the ledger, whatever wrote them (the handler, an import, an
integration), so the numbers are the ledger's.
``prometheus_client`` is imported here only, never by ``import router``.

Mount in your own app::

    from prometheus_client import make_wsgi_app
    from router.telemetry.prometheus import build_registry
    app = make_wsgi_app(build_registry(Store.open(database_url=...)))
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from sqlalchemy import case, func, select

from router._extras import require
from router.ledger.schema import entries
from router.telemetry.schema import alerts, decisions
from router.telemetry.store import Store

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

#: Upper bounds in seconds of the decision-latency histogram: the router decides in tens of microseconds
#: to a few milliseconds.
LATENCY_BUCKETS = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1)


class TelemetryMetrics:
    """A ``prometheus_client`` collector reading the telemetry tables and the ledger at scrape time."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def describe(self) -> list[Any]:
        return []  # no description pass: registering must not query the database

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily

        with self.store.read() as conn:
            by_model = conn.execute(
                select(decisions.c.model, decisions.c.source, func.count()).group_by(
                    decisions.c.model, decisions.c.source
                )
            ).all()
            # An attempt that solved at least half of what it was asked counts as a success (1 or 0 mostly).
            succeeded = case((entries.c.success >= 0.5, True), else_=False).label("succeeded")
            tried = conn.execute(
                select(entries.c.model, succeeded, func.count(), func.sum(entries.c.total_cost)).group_by(
                    entries.c.model, succeeded
                )
            ).all()
            buckets = [func.sum(case((decisions.c.latency_s <= b, 1), else_=0)) for b in LATENCY_BUCKETS]
            latency = conn.execute(select(func.count(), func.sum(decisions.c.latency_s), *buckets)).one()
            fired = conn.execute(select(alerts.c.rule, func.count()).group_by(alerts.c.rule)).all()
        made = CounterMetricFamily("router_decisions", "Routing decisions.", labels=["model", "source"])
        for model, source, n in by_model:
            made.add_metric([model, source], n)
        yield made
        outcomes = CounterMetricFamily(
            "router_attempts", "Model calls by outcome.", labels=["model", "outcome"]
        )
        cost = CounterMetricFamily("router_cost_usd", "Dollars spent on model calls.", labels=["model"])
        spent: dict[str, float] = {}
        for model, success, n, dollars in tried:
            outcomes.add_metric([model, "success" if success else "failure"], n)
            spent[model] = spent.get(model, 0.0) + float(dollars or 0.0)
        for model, dollars in sorted(spent.items()):
            cost.add_metric([model], dollars)
        yield outcomes
        yield cost
        count, total, *cumulative = latency
        histogram = HistogramMetricFamily("router_decision_latency_seconds", "Time to decide, in seconds.")
        histogram.add_metric(
            [],
            [(repr(b), int(c or 0)) for b, c in zip(LATENCY_BUCKETS, cumulative, strict=True)]
            + [("+Inf", int(count))],
            float(total or 0.0),
        )
        yield histogram
        alerted = CounterMetricFamily("router_alerts", "Monitoring alerts fired.", labels=["rule"])
        for rule, n in fired:
            alerted.add_metric([rule], n)
        yield alerted


def build_registry(store: Store) -> CollectorRegistry:
    """A registry holding the telemetry metrics, to serve or to mount in another app."""
    require("prometheus_client", extra="monitor")
    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry(auto_describe=False)
    registry.register(TelemetryMetrics(store))
    return registry


def serve(store: Store, port: int, host: str = "127.0.0.1") -> Any:
    """Serve ``/metrics`` on ``host:port`` from a daemon thread; ``shutdown()`` the server to stop."""
    require("prometheus_client", extra="monitor")
    from prometheus_client import start_http_server

    server, _thread = start_http_server(port, addr=host, registry=build_registry(store))
    return server
