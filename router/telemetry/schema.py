"""The telemetry tables, in the ledger's database, and their migrations (versioned like the ledger's).

Telemetry keeps what only it has: decision events with their predictions, outcomes, breaker openings and
alerts, linked to the ledger's attempts by ``decision_id``. Attempts live in the ledger alone (version 2
moved the rows of the former ``telemetry_attempts`` there and dropped it).

Times are integer microseconds since the epoch, UTC, as in the ledger. ``telemetry_schema`` holds the
version; opening runs the missing steps in one transaction holding the write lock (SQLite ``BEGIN
IMMEDIATE``, a PostgreSQL advisory lock), so two processes opening a fresh database do not both create it.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    inspect,
    select,
    text,
)

from router._exceptions import LedgerError

metadata = MetaData()
_ID = BigInteger().with_variant(Integer, "sqlite")  # the rowid on SQLite, so it autoincrements
_F = Float(precision=53)

decisions = Table(
    "telemetry_decisions",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("ts_us", BigInteger, nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("decision_id", String(200), nullable=False),
    Column("source", String(50), nullable=False),
    Column("model_uri", Text),
    Column("model", String(200), nullable=False),
    Column("tradeoff", _F),
    Column("propensity", _F, nullable=False),
    Column("explored", Boolean, nullable=False),
    Column("p_chosen", _F),  # the chosen model's P(success): calibration reads it without parsing JSON
    Column("expected_cost", _F),  # the chosen model's expected cost
    Column("p_success", Text, nullable=False),  # JSON: every candidate's
    Column("expected_cost_usd", Text, nullable=False),
    Column("score", _F, nullable=False),
    Column("heuristic_score", _F, nullable=False),
    Column("level", String(50), nullable=False),
    Column("task_type", String(100), nullable=False),
    Column("is_critical", Boolean, nullable=False),
    Column("chars", BigInteger, nullable=False),
    Column("terms", Text, nullable=False),  # space-separated
    Column("metadata", Text, nullable=False),
    Column("latency_s", _F, nullable=False),
    Column("novelty", _F),  # added by version 2: how far the task lay from the training tasks
    Index("ix_telemetry_decisions_ts", "ts_us"),
    Index("ix_telemetry_decisions_decision", "decision_id"),
)

attempts = Table(
    "telemetry_attempts",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("ts_us", BigInteger, nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("decision_id", String(200), nullable=False),
    Column("task_id", String(500), nullable=False),
    Column("model", String(200), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("attempt_kind", String(20), nullable=False),
    Column("success", Boolean, nullable=False),
    Column("reason", String(50)),
    Column("duration_ms", _F),
    Column("input_tokens", BigInteger, nullable=False),
    Column("output_tokens", BigInteger, nullable=False),
    Column("cost_usd", _F, nullable=False),
    Index("ix_telemetry_attempts_ts", "ts_us"),
    Index("ix_telemetry_attempts_decision", "decision_id"),
)

outcomes = Table(
    "telemetry_outcomes",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("ts_us", BigInteger, nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("decision_id", String(200), nullable=False),
    Column("task_id", String(500), nullable=False),
    Column("model", String(200)),
    Column("succeeded", Boolean, nullable=False),
    Column("attempts", Integer, nullable=False),
    Index("ix_telemetry_outcomes_ts", "ts_us"),
)

breaker_openings = Table(
    "telemetry_breaker_openings",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("ts_us", BigInteger, nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("model", String(200), nullable=False),
    Index("ix_telemetry_breaker_ts", "ts_us"),
)

alerts = Table(
    "telemetry_alerts",
    metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("ts_us", BigInteger, nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("rule", String(200), nullable=False),
    Column("metric", String(100), nullable=False),
    Column("severity", String(20), nullable=False),
    Column("value", _F, nullable=False),
    Column("threshold", _F, nullable=False),
    Column("comparison", String(4), nullable=False),
    Column("window_s", _F, nullable=False),
    Column("samples", BigInteger, nullable=False),
    Column("message", Text, nullable=False),
    Index("ix_telemetry_alerts_ts", "ts_us"),
)

#: Each rule's state, shared by every process checking rules: an alert is claimed here once per crossing.
rule_state = Table(
    "telemetry_rule_state",
    metadata,
    Column("rule", String(200), primary_key=True),
    Column("firing", Boolean, nullable=False),
    Column("changed_us", BigInteger, nullable=False),
    Column("last_fired_us", BigInteger),
)

version_table = Table("telemetry_schema", metadata, Column("version", Integer, nullable=False))

EVENT_TABLES = {
    "decision": decisions,
    "outcome": outcomes,
    "breaker_open": breaker_openings,
    "alert": alerts,
}

Step = Callable[[Connection], None]


def _create_v1(conn: Connection) -> None:
    # Frozen: a later change to the tables goes in a new step, this one keeps creating version 1.
    metadata.create_all(conn, tables=[decisions, attempts, outcomes, breaker_openings, alerts, rule_state])


def _attempts_to_ledger_v2(conn: Connection) -> None:
    # Version 1 stored each attempt twice when a handler had both a recorder and a collector: once in the
    # ledger, once here. Attempts the ledger lacks (a handler with a collector only) move there, with what
    # the event knew; then the table goes. An attempt the ledger holds is the same decision, task, model and
    # attempt number.
    from sqlalchemy import and_, case, exists, literal, null

    from router.ledger.schema import entries

    t = attempts
    held = exists().where(
        and_(
            entries.c.decision_id == t.c.decision_id,
            entries.c.task_id == t.c.task_id,
            entries.c.model == t.c.model,
            entries.c.attempt == t.c.attempt,
        )
    )
    moved = select(
        t.c.ts_us,
        t.c.model,
        t.c.task_id,
        t.c.input_tokens,
        t.c.output_tokens,
        (t.c.input_tokens + t.c.output_tokens),
        t.c.cost_usd,
        case((t.c.success, 1.0), else_=0.0),
        case((t.c.success, null()), else_=func.coalesce(t.c.reason, literal("error"))),
        t.c.duration_ms,
        literal(""),
        literal("[]"),
        t.c.attempt,
        func.nullif(t.c.decision_id, ""),
    ).where(~held)
    columns = [
        "ts_us", "model", "task_id", "input_tokens", "output_tokens", "total_tokens", "total_cost", "success",
        "error", "duration_ms", "description", "files", "attempt", "decision_id",
    ]  # fmt: skip
    conn.execute(entries.insert().from_select(columns, moved))
    t.drop(conn)


def _add_novelty_v3(conn: Connection) -> None:
    # A database created today already has the column (create_all reads the current table); one created
    # by an older router gets it here. Nullable: decisions recorded before stay without a score.
    present = {c["name"] for c in inspect(conn).get_columns(decisions.name)}
    if "novelty" not in present:
        kind = "DOUBLE PRECISION" if conn.dialect.name == "postgresql" else "FLOAT"
        conn.execute(text(f"ALTER TABLE {decisions.name} ADD COLUMN novelty {kind}"))


MIGRATIONS: tuple[Step, ...] = (_create_v1, _attempts_to_ledger_v2, _add_novelty_v3)
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: Connection, where: str) -> int:
    """Bring the telemetry tables to :data:`SCHEMA_VERSION`; call inside a write transaction."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": 0x7E1E})
    if version_table.name not in inspect(conn).get_table_names():
        version_table.create(conn)
        conn.execute(version_table.insert().values(version=0))
    versions = conn.execute(select(version_table.c.version)).scalars().all()
    if len(versions) != 1:
        raise LedgerError(f"The {version_table.name!r} table must hold one row, found {len(versions)}.")
    found = int(versions[0])
    if found > SCHEMA_VERSION:
        raise LedgerError(
            f"The telemetry tables in {where} have schema version {found}, newer than this router supports "
            f"({SCHEMA_VERSION}). Upgrade the llm-task-router package; nothing was changed."
        )
    for version in range(found, SCHEMA_VERSION):
        MIGRATIONS[version](conn)
    if found != SCHEMA_VERSION:
        conn.execute(version_table.update().values(version=SCHEMA_VERSION))
    return SCHEMA_VERSION
