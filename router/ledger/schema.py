"""The ledger's tables (SQLAlchemy Core) and the migrations that bring a database to the current version.

Times are stored as integer microseconds since the Unix epoch, UTC: exact, the same on SQLite and
PostgreSQL, and cheap to compare in the range scans every summary and budget check starts with.

Versioning: ``ledger_schema`` holds one row with the schema version. Opening a database runs the steps from
its version to :data:`SCHEMA_VERSION` in one transaction, holding the database's write lock so two processes
opening a fresh ledger at once do not both create it. A database from a newer version is refused.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Float,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    inspect,
    select,
    text,
)

from router._exceptions import LedgerError, NotALedgerError

metadata = MetaData()

entries = Table(
    "ledger_entries",
    metadata,
    # BigInteger alone would not autoincrement on SQLite; the variant keeps it the rowid there.
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("ts_us", BigInteger, nullable=False),
    Column("model", String(200), nullable=False),
    Column("task_id", String(500), nullable=False),
    Column("task_type", String(100)),
    Column("level", String(50)),
    Column("input_tokens", BigInteger, nullable=False),
    Column("output_tokens", BigInteger, nullable=False),
    Column("total_tokens", BigInteger, nullable=False),
    Column("input_cost", Float(precision=53)),
    Column("output_cost", Float(precision=53)),
    Column("total_cost", Float(precision=53), nullable=False),
    Column("success", Float(precision=53), nullable=False),
    Column("error", Text),
    Column("duration_ms", Float(precision=53)),
    Column("description", Text, nullable=False),
    Column("files", Text, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("decision_id", String(200)),
    Column("propensity", Float(precision=53)),
    # The task's metadata (str -> str) as a JSON object, NULL when the caller gave none. JSON text rather
    # than a JSON type: the same on SQLite and PostgreSQL, and nothing queries inside it (export copies it).
    Column("metadata", Text),
    # What the decision knew, recorded with each of its attempts (schema version 3): the estimator's score,
    # the tradeoff it decided at, the trained model's registry version and the task's novelty for it.
    Column("score", Float(precision=53)),
    Column("tradeoff", Float(precision=53)),
    Column("model_version", String(200)),
    Column("novelty", Float(precision=53)),
    # The outcome log's answer (short, comparable: always kept when given) and output (the response text,
    # kept only when the tracker is configured to, cut to its size cap).
    Column("answer", Text),
    Column("output", Text),
    # Summaries and budget checks group by model and task type over a time range. Led by the grouping
    # columns, this index covers them: the groups come out in order (no sort of a million rows), and with
    # skip-scan SQLite seeks the time range inside each (model, task type) instead of reading all of it.
    Index(
        "ix_ledger_entries_summary", "model", "task_type", "ts_us", "total_cost", "total_tokens", "success"
    ),
    Index("ix_ledger_entries_ts", "ts_us"),
    Index("ix_ledger_entries_decision", "decision_id"),
    Index("ix_ledger_entries_task", "task_id"),
)

#: Budget alerts already sent: one row per (limit, period, share) so every process sends each alert once.
alerts = Table(
    "ledger_alerts",
    metadata,
    Column("scope", String(250), nullable=False),
    Column("period_start_us", BigInteger, nullable=False),
    Column("share", Float(precision=53), nullable=False),
    Column("sent_us", BigInteger, nullable=False),
    PrimaryKeyConstraint("scope", "period_start_us", "share"),
)

version_table = Table(
    "ledger_schema",
    metadata,
    Column("version", Integer, nullable=False),
)

Step = Callable[[Connection], None]


def _create_v1(conn: Connection) -> None:
    # Step 1 creates the tables as defined above, later columns included. Every later step is additive and
    # skips what is already there, so a new ledger and a migrated one end with the same tables. A change
    # that is not additive (a dropped or retyped column) would need this step's DDL frozen first.
    metadata.create_all(conn, tables=[entries, alerts])
    if conn.dialect.name == "sqlite":
        seed_sqlite_statistics(conn)


def _add_metadata_v2(conn: Connection) -> None:
    # Ledgers created by version 1 have no metadata column. ADD COLUMN of a nullable column is additive on
    # SQLite and PostgreSQL alike: existing rows read NULL (no metadata), nothing is rewritten.
    add_column_if_missing(conn, entries.c["metadata"])


#: The columns schema version 3 added: nullable, so older rows read NULL (not recorded).
_V3_COLUMNS = ("score", "tradeoff", "model_version", "novelty", "answer", "output")


def _add_decision_columns_v3(conn: Connection) -> None:
    # What a decision carries (its score, tradeoff, model version, novelty) and the attempt's answer and
    # output: additive, as in version 2.
    for name in _V3_COLUMNS:
        add_column_if_missing(conn, entries.c[name])


def add_column_if_missing(conn: Connection, column: Column[Any]) -> None:
    """``ALTER TABLE ... ADD COLUMN`` for a nullable column, unless the table has it already (idempotent)."""
    table = column.table.name
    if column.name in {c["name"] for c in inspect(conn).get_columns(table)}:
        return
    preparer = conn.dialect.identifier_preparer
    kind = column.type.compile(dialect=conn.dialect)
    conn.execute(text(f"ALTER TABLE {preparer.quote(table)} ADD COLUMN {preparer.quote(column.name)} {kind}"))


#: Planner statistics for a ledger of many entries over few models and task types (see below).
_SQLITE_STATS = {
    "ix_ledger_entries_summary": "1000000 100000 10000 1 1 1 1",
    "ix_ledger_entries_ts": "1000000 1",
}


def seed_sqlite_statistics(conn: Connection) -> None:
    """Tell SQLite's planner the shape a ledger grows into, before it has grown.

    Without statistics SQLite reads a month's range through the time index and looks up every row (seconds
    over a million entries); skip-scan over the summary index, which it only considers when statistics show
    few distinct models, takes milliseconds. Writing ``sqlite_stat1`` by hand is SQLite's documented way to
    steer the planner; a later ``ANALYZE`` replaces these estimates with measured ones of the same shape.
    """
    conn.exec_driver_sql("ANALYZE sqlite_schema")  # creates sqlite_stat1 if missing
    for index, stat in _SQLITE_STATS.items():
        conn.exec_driver_sql("DELETE FROM sqlite_stat1 WHERE idx = ?", (index,))
        conn.exec_driver_sql(
            "INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (?, ?, ?)", (entries.name, index, stat)
        )
    conn.exec_driver_sql("ANALYZE sqlite_schema")  # reloads the statistics into this connection


#: MIGRATIONS[i] takes a database from version i to i + 1; version 0 is an empty database.
MIGRATIONS: tuple[Step, ...] = (_create_v1, _add_metadata_v2, _add_decision_columns_v3)
SCHEMA_VERSION = len(MIGRATIONS)


def stored_version(conn: Connection) -> int | None:
    """The database's schema version; ``None`` when it has no ledger at all."""
    names = set(inspect(conn).get_table_names())
    if version_table.name not in names:
        if entries.name in names:
            raise LedgerError(
                f"The database has a {entries.name!r} table but no {version_table.name!r} table, so its "
                "schema version is unknown; refusing to use it. Point the ledger at another database."
            )
        return None
    versions = conn.execute(select(version_table.c.version)).scalars().all()
    if len(versions) != 1:
        raise LedgerError(
            f"The ledger's {version_table.name!r} table must hold one row, found {len(versions)}."
        )
    return int(versions[0])


def migrate(conn: Connection, steps: Sequence[Step] = MIGRATIONS, *, where: str = "ledger") -> int:
    """Bring the database to ``len(steps)``; call inside a transaction that holds the write lock."""
    target = len(steps)
    found = stored_version(conn)
    if found is None:
        refuse_foreign_tables(inspect(conn).get_table_names(), where)
        version_table.create(conn)
        conn.execute(version_table.insert().values(version=0))
        found = 0
    if found > target:
        raise LedgerError(
            f"The {where} has schema version {found}, newer than this router supports ({target}). "
            "Upgrade the llm-task-router package; the ledger was left untouched."
        )
    for version in range(found, target):
        steps[version](conn)
    if found != target:
        conn.execute(version_table.update().values(version=target))
    return target


def refuse_foreign_tables(names: Sequence[str], where: str) -> None:
    """Refuse to create a ledger in a database that holds tables already (another program's data): a
    ledger is created only in an empty or new database."""
    if names:
        shown = ", ".join(sorted(names)[:5]) + (", ..." if len(names) > 5 else "")
        raise NotALedgerError(
            f"The {where} is not a ledger: it holds other tables ({shown}) and no "
            f"{version_table.name!r} table. The ledger creates its tables only in an empty or new database; "
            "point --db or --database-url at a ledger or at a new file."
        )


def check_current(conn: Connection, *, where: str = "ledger") -> None:
    """Refuse, without changing anything, a database that is not a ledger at :data:`SCHEMA_VERSION`."""
    found = stored_version(conn)
    if found is None:
        raise NotALedgerError(
            f"The {where} is not a ledger (no {version_table.name!r} table); a read-only command creates "
            "nothing in it. Point --db or --database-url at a ledger."
        )
    if found != SCHEMA_VERSION:
        newer = found > SCHEMA_VERSION
        raise LedgerError(
            f"The {where} has schema version {found}, "
            + (
                f"newer than this router supports ({SCHEMA_VERSION}). Upgrade the llm-task-router package."
                if newer
                else f"older than this router's ({SCHEMA_VERSION}); a read-only command does not migrate "
                "it. Run `router costs migrate` (or open it once for writing: router logs import, "
                "CostTracker) to migrate it."
            )
        )


def lock_for_migration(conn: Connection) -> None:
    """Serialise migrations between processes (SQLite's BEGIN IMMEDIATE already holds the write lock)."""
    if conn.dialect.name == "postgresql":
        # A transaction-level advisory lock: released on commit, and by the server if the process dies.
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": 0x1ED6E5})
