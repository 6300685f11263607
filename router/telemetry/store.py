"""Where telemetry lives: the ledger's database (a SQLite file or any SQLAlchemy URL), opened and migrated."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from router._exceptions import InvalidInputError
from router._extras import require
from router.telemetry.events import Event

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)


def to_us(moment: datetime) -> int:
    return (moment - EPOCH) // _ONE_US


def from_us(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=int(value))


@dataclass(frozen=True)
class LedgerRow:
    """An attempt the collector writes to the ledger (``ledger_entries``), in the table's shape."""

    row: dict[str, Any]
    kind: str = "ledger_entry"


@dataclass
class Store:
    """An open database with the ledger's and the telemetry's tables at their current versions."""

    engine: Engine
    url: str

    @classmethod
    def open(cls, storage_path: str | Path | None = None, database_url: str | None = None) -> Store:
        require("sqlalchemy", extra="monitor")  # before the engine module, which imports it
        from router.ledger import engine as _engine
        from router.ledger.tracker import default_ledger_path
        from router.telemetry import schema

        if storage_path is not None and database_url is not None:
            raise InvalidInputError("Give storage_path (a SQLite file) or database_url, not both.")
        if database_url is None:
            path = Path(storage_path) if storage_path is not None else default_ledger_path()
            _engine.check_sqlite_file(path)
            database_url = _engine.sqlite_url(path)
        engine = _engine.open_engine(database_url)  # the ledger's tables, migrated
        try:
            with (
                _engine.database_errors("create the telemetry tables", database_url),
                _engine.write_transaction(engine) as conn,
            ):
                schema.migrate(conn, _engine.describe(database_url))
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, database_url)

    @property
    def shown_url(self) -> str:
        from router.ledger.engine import describe

        return describe(self.url)

    def close(self) -> None:
        self.engine.dispose()

    def write(self, events: Iterable[Event | LedgerRow]) -> int:
        """Insert events in one transaction, grouped by table; return how many.

        Attempts (a :class:`LedgerRow`, or an ``AttemptEvent`` a caller emitted) go to the ledger's
        ``ledger_entries``, the one record of every attempt; the other events to their telemetry tables."""
        from router.ledger import engine as _engine
        from router.ledger.schema import entries
        from router.telemetry.schema import EVENT_TABLES

        grouped: dict[str, list[dict[str, Any]]] = {}
        count = 0
        for event in events:
            if isinstance(event, LedgerRow):
                row = event.row
            elif event.kind == "attempt":
                row = attempt_entry(event)
            else:
                grouped.setdefault(event.kind, []).append(event_row(event))
                count += 1
                continue
            grouped.setdefault("ledger_entry", []).append(row)
            count += 1
        if not count:
            return 0
        with _engine.write_transaction(self.engine) as conn:
            for kind, rows in grouped.items():
                conn.execute((entries if kind == "ledger_entry" else EVENT_TABLES[kind]).insert(), rows)
        return count

    def read(self) -> Any:
        """A read transaction (a context manager yielding a connection)."""
        from router.ledger.engine import read_transaction

        return read_transaction(self.engine)

    def write_lock(self) -> Any:
        from router.ledger.engine import write_transaction

        return write_transaction(self.engine)


def event_row(event: Event) -> dict[str, Any]:
    row = event.__dict__.copy()
    del row["kind"]
    row["ts_us"] = to_us(row.pop("timestamp"))
    if event.kind == "decision":
        for name in ("p_success", "expected_cost_usd", "metadata"):
            row[name] = json.dumps(row[name])
        row["terms"] = " ".join(event.terms)
        row["p_chosen"] = event.p_success.get(event.model)
        row["expected_cost"] = event.expected_cost_usd.get(event.model)
    return row


def attempt_entry(event: Any) -> dict[str, Any]:
    """The ledger row for an ``AttemptEvent``: what it knew (no text, task type or metadata), its failure
    reason at the head of ``error`` as the handler writes it."""
    return {
        "ts_us": to_us(event.timestamp),
        "model": event.model,
        "task_id": event.task_id,
        "task_type": None,
        "level": None,
        "input_tokens": event.input_tokens,
        "output_tokens": event.output_tokens,
        "total_tokens": event.input_tokens + event.output_tokens,
        "input_cost": None,
        "output_cost": None,
        "total_cost": event.cost_usd,
        "success": 1.0 if event.success else 0.0,
        "error": event.reason if not event.success else None,
        "duration_ms": event.duration_ms,
        "description": "",
        "files": "[]",
        "attempt": event.attempt,
        "decision_id": event.decision_id or None,
        "propensity": None,
        "metadata": None,
    }


def rows(conn: Connection, stmt: Any) -> list[Any]:
    return list(conn.execute(stmt).all())
