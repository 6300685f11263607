"""Summaries and routing statistics, added up from the few groups the database returns."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from router.ledger.models import CostSummary, Period, RoutingRow, RoutingStats

if TYPE_CHECKING:
    from sqlalchemy import Engine

V = TypeVar("V", int, float)


def summarize(engine: Engine, url: str, period: Period, now: datetime) -> CostSummary:
    from router.ledger import engine as _engine
    from router.ledger import queries as _queries

    start, end = _queries.period_window(period, now)
    with _engine.database_errors("summarise entries", url), _engine.read_transaction(engine) as conn:
        groups = _queries.summary_groups(conn, start, end)
    cost_by_model: defaultdict[str, float] = defaultdict(float)
    cost_by_type: defaultdict[str, float] = defaultdict(float)
    n_by_model: Counter[str] = Counter()
    n_by_type: Counter[str] = Counter()
    success_by_model: defaultdict[str, float] = defaultdict(float)
    tokens = 0
    for g in groups:
        cost_by_model[g.model] += float(g.cost)
        cost_by_type[g.task_type] += float(g.cost)
        n_by_model[g.model] += int(g.n)
        n_by_type[g.task_type] += int(g.n)
        success_by_model[g.model] += float(g.success)
        tokens += int(g.tokens)
    total = sum(n_by_model.values())
    cost = sum(cost_by_model.values())
    return CostSummary(
        period=period,
        start=start,
        end=end if end is not None else now,
        total_requests=total,
        total_cost=cost,
        total_tokens=tokens,
        cost_by_model=_by_value(cost_by_model),
        cost_by_task_type=_by_value(cost_by_type),
        requests_by_model=_by_value(n_by_model),
        requests_by_task_type=_by_value(n_by_type),
        success_rate_by_model={m: success_by_model[m] / n for m, n in sorted(n_by_model.items())},
        success_rate=sum(success_by_model.values()) / total if total else None,
        avg_cost_per_request=cost / total if total else 0.0,
        avg_tokens_per_request=tokens / total if total else 0.0,
        # Ties go to the name that sorts first, so the answer does not depend on the database's row order.
        most_expensive_model=min(cost_by_model, key=lambda m: (-cost_by_model[m], m)) if total else None,
        most_used_model=min(n_by_model, key=lambda m: (-n_by_model[m], m)) if total else None,
    )


def _by_value(values: Mapping[str, V]) -> dict[str, V]:
    """Largest first, then by name: the order a reader wants and a stable one."""
    return dict(sorted(values.items(), key=lambda kv: (-kv[1], kv[0])))


def routing_stats(engine: Engine, url: str, period: Period, now: datetime) -> RoutingStats:
    from router.ledger import engine as _engine
    from router.ledger import queries as _queries

    start, end = _queries.period_window(period, now)
    with _engine.database_errors("summarise routing", url), _engine.read_transaction(engine) as conn:
        groups = _queries.routing_groups(conn, start, end)
        chains = _queries.decisions_with_fallback(conn, start, end)
    rows = [
        RoutingRow(
            level=g.level,
            model=g.model,
            attempts=int(g.attempts),
            first_attempts=int(g.first),
            fallback_attempts=int(g.fallback),
            success_rate=None if g.success is None else float(g.success),
            total_cost=float(g.cost),
        )
        for g in groups
    ]
    rows.sort(key=lambda r: (r.level, r.model))
    return RoutingStats(
        period=period,
        rows=rows,
        decisions=sum(r.first_attempts for r in rows),
        decisions_with_fallback=chains,
    )
