"""The ledger's SQL: inserts, the grouped aggregates behind summaries, budgets and routing statistics.

Every aggregate is computed by the database with ``GROUP BY`` over a time range that the covering index
serves; Python only adds up the handful of groups that come back.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Select, case, func, literal_column, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from router.ledger.models import CostEntry, Period
from router.ledger.schema import alerts, entries

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
UNKNOWN = "unknown"
_ONE_US = timedelta(microseconds=1)


def to_us(moment: datetime) -> int:
    """Exact microseconds since the epoch (float seconds would round away the last digits)."""
    return (moment - EPOCH) // _ONE_US


def from_us(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=int(value))


def period_window(period: Period, now: datetime) -> tuple[datetime | None, datetime | None]:
    """The calendar period in UTC that contains ``now``: [start, end); ``(None, None)`` for ``all``."""
    now = now.astimezone(UTC)
    hour = now.replace(minute=0, second=0, microsecond=0)
    day = hour.replace(hour=0)
    if period is Period.HOUR:
        return hour, hour + timedelta(hours=1)
    if period is Period.DAY:
        return day, day + timedelta(days=1)
    if period is Period.WEEK:
        monday = day - timedelta(days=day.weekday())
        return monday, monday + timedelta(days=7)
    if period is Period.MONTH:
        first = day.replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        return first, following
    return None, None


def _in_window(stmt: Select[Any], start: datetime | None, end: datetime | None) -> Select[Any]:
    if start is not None:
        stmt = stmt.where(entries.c.ts_us >= to_us(start))
    if end is not None:
        stmt = stmt.where(entries.c.ts_us < to_us(end))
    return stmt


# --- writing ---------------------------------------------------------------------------------------------


def entry_row(entry: CostEntry) -> dict[str, Any]:
    row = entry.model_dump(exclude={"id", "timestamp", "files", "metadata"})
    row["ts_us"] = to_us(entry.timestamp)
    row["files"] = json.dumps(entry.files)
    row["metadata"] = metadata_text(entry.metadata)
    return row


def metadata_text(metadata: dict[str, str]) -> str | None:
    """The metadata column's value: a JSON object with sorted keys (equal metadata, equal text), or NULL."""
    return json.dumps(metadata, sort_keys=True) if metadata else None


def insert_rows(conn: Connection, rows: Sequence[dict[str, Any]]) -> int | None:
    """Insert the rows (executemany); return the new id when there was exactly one."""
    if len(rows) == 1:
        result = conn.execute(entries.insert(), rows[0])
        key = result.inserted_primary_key
        return None if key is None else int(key[0])
    if rows:
        conn.execute(entries.insert(), list(rows))
    return None


def claim_alert(conn: Connection, scope: str, period_start: datetime, share: float, now: datetime) -> bool:
    """Record that this alert was sent; False when a process already sent it (same limit, period, share)."""
    values = {"scope": scope, "period_start_us": to_us(period_start), "share": share, "sent_us": to_us(now)}
    dialect = conn.dialect.name
    if dialect in ("sqlite", "postgresql"):
        make = sqlite.insert if dialect == "sqlite" else postgresql.insert
        # RETURNING says whether the row went in; rowcount is not reliable for this on every driver.
        stmt = make(alerts).values(values).on_conflict_do_nothing().returning(alerts.c.scope)
        return conn.execute(stmt).first() is not None
    try:
        with conn.begin_nested():
            conn.execute(alerts.insert().values(values))
    except IntegrityError:
        return False
    return True


def delete_before(conn: Connection, cutoff: datetime) -> int:
    """Delete entries older than ``cutoff`` (and the alert claims of periods that ended before it)."""
    conn.execute(alerts.delete().where(alerts.c.period_start_us < to_us(cutoff - timedelta(days=31))))
    return int(conn.execute(entries.delete().where(entries.c.ts_us < to_us(cutoff))).rowcount)


def count_before(conn: Connection, cutoff: datetime) -> int:
    """How many entries ``delete_before`` would delete."""
    return int(conn.execute(select(func.count()).where(entries.c.ts_us < to_us(cutoff))).scalar_one())


# --- reading ---------------------------------------------------------------------------------------------


def summary_groups(conn: Connection, start: datetime | None, end: datetime | None) -> list[Any]:
    """One row per (model, task type): requests, cost, tokens and summed success."""
    task_type = func.coalesce(entries.c.task_type, UNKNOWN).label("task_type")
    stmt = select(
        entries.c.model,
        task_type,
        func.count().label("n"),
        func.sum(entries.c.total_cost).label("cost"),
        func.sum(entries.c.total_tokens).label("tokens"),
        func.sum(entries.c.success).label("success"),
    ).group_by(entries.c.model, entries.c.task_type)
    return list(conn.execute(_in_window(stmt, start, end)))


def spend_by_model(
    conn: Connection, month: tuple[datetime, datetime], day: tuple[datetime, datetime]
) -> list[Any]:
    """Per model: spend this month and today, in one range scan of the month."""
    today = (entries.c.ts_us >= to_us(day[0])) & (entries.c.ts_us < to_us(day[1]))
    stmt = select(
        entries.c.model,
        func.sum(entries.c.total_cost).label("month"),
        func.sum(case((today, entries.c.total_cost), else_=0.0)).label("day"),
    ).group_by(entries.c.model)
    return list(conn.execute(_in_window(stmt, *month)))


def routing_groups(conn: Connection, start: datetime | None, end: datetime | None) -> list[Any]:
    level = func.coalesce(entries.c.level, UNKNOWN).label("level")
    stmt = select(
        level,
        entries.c.model,
        func.count().label("attempts"),
        func.sum(case((entries.c.attempt == 1, 1), else_=0)).label("first"),
        func.sum(case((entries.c.attempt > 1, 1), else_=0)).label("fallback"),
        func.avg(entries.c.success).label("success"),
        func.sum(entries.c.total_cost).label("cost"),
    ).group_by(entries.c.level, entries.c.model)
    return list(conn.execute(_in_window(stmt, start, end)))


def decisions_with_fallback(conn: Connection, start: datetime | None, end: datetime | None) -> int:
    # A chain is one decision id; rows recorded without one are grouped by their task id instead.
    # An empty decision id (the handler records "" for a task run without one) is no id either.
    chain = func.coalesce(func.nullif(entries.c.decision_id, ""), entries.c.task_id)
    stmt = select(func.count(func.distinct(chain))).where(entries.c.attempt > 1)
    return int(conn.execute(_in_window(stmt, start, end)).scalar_one())


ENTRY_COLUMNS = [c for c in entries.c if c.name != "ts_us"]


def entry_from_row(row: Any) -> CostEntry:
    data = dict(row._mapping)
    data["timestamp"] = from_us(data.pop("ts_us"))
    data["files"] = json.loads(data["files"])
    return CostEntry.model_validate(data)


def recent(conn: Connection, n: int) -> list[CostEntry]:
    stmt = select(entries).order_by(entries.c.ts_us.desc(), entries.c.id.desc()).limit(n)
    return [entry_from_row(row) for row in conn.execute(stmt)]


def iter_rows(conn: Connection, columns: Iterable[Any] = (literal_column("*"),)) -> Iterator[Any]:
    """Every entry, oldest first, fetched in chunks so an export never holds the whole ledger twice."""
    stmt = select(*columns).select_from(entries).order_by(entries.c.ts_us, entries.c.id)
    result = conn.execution_options(yield_per=10_000).execute(stmt)
    yield from result
