"""Opening a ledger database: SQLite (a file, WAL, busy timeout) or any SQLAlchemy URL such as PostgreSQL.

Faults are turned into :class:`LedgerError` with the path or URL (password hidden) and what to do. A file
that is not a SQLite database is refused, never overwritten: it may be someone's data (the specification's
JSON ledger, for one).
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError

from router._exceptions import InvalidInputError, LedgerError, NotALedgerError
from router._extras import require
from router.ledger import schema as _schema

_SQLITE_MAGIC = b"SQLite format 3\x00"
#: How long a SQLite writer waits for another process's write to finish before giving up.
BUSY_TIMEOUT_MS = 30_000


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def describe(url: str) -> str:
    """The URL as it is safe to show: the password masked."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid database URL>"


def check_sqlite_file(path: Path) -> None:
    """Refuse a path that exists but is not a SQLite database (an empty file is fine: SQLite adopts it)."""
    if path.is_dir():
        raise LedgerError(
            f"Ledger path {str(path)!r} is a directory; give a file path such as {path!s}/ledger.db"
        )
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        return
    with path.open("rb") as handle:
        head = handle.read(len(_SQLITE_MAGIC))
    if head and head != _SQLITE_MAGIC:
        raise LedgerError(
            f"{str(path)!r} is not a SQLite database (it starts with {head[:8]!r}). The ledger refuses to "
            "overwrite it; move it away or pass another path."
        )


def open_engine(url: str, *, read_only: bool = False) -> Engine:
    """Create the engine, bring the schema up to date, and return it ready for use.

    ``read_only``: create and migrate nothing (a summary must not turn another program's database into a
    ledger); a database that is not a ledger at the current schema version is refused. SQLite files are
    then opened in SQLite's read-only mode, so nothing can write through this engine.
    """
    url = _with_driver(url)
    if url.startswith("postgresql+psycopg"):
        require("psycopg", extra="postgres")
    if not read_only:
        _refuse_foreign_sqlite(url)
    engine = _create(url, read_only)
    try:
        if read_only:
            with read_transaction(engine) as conn:
                _schema.check_current(conn, where=f"database at {describe(url)}")
        else:
            with write_transaction(engine) as conn:
                _schema.lock_for_migration(conn)
                _schema.migrate(conn, where=f"ledger at {describe(url)}")
    except LedgerError:
        engine.dispose()
        raise
    except SQLAlchemyError as exc:
        engine.dispose()
        raise LedgerError(f"Cannot open the ledger at {describe(url)}: {_reason(exc)}") from None
    return engine


def upgrade(url: str) -> tuple[int, int]:
    """Migrate an existing ledger to :data:`~router.ledger.schema.SCHEMA_VERSION` explicitly; returns the
    schema versions before and after (equal when it was current already, and nothing was changed).

    Unlike opening it for writing, this creates nothing: a database without a ledger is refused, so a
    mistyped URL does not become an empty ledger. Newer versions are refused untouched, as on open.
    """
    url = _with_driver(url)
    names = _sqlite_tables(url)
    if names is not None and _schema.version_table.name not in names:
        _not_a_ledger_to_migrate(url)
    engine = _create(url, read_only=False)
    where = f"ledger at {describe(url)}"
    try:
        with write_transaction(engine) as conn:
            _schema.lock_for_migration(conn)
            found = _schema.stored_version(conn)
            if found is None:
                _not_a_ledger_to_migrate(url)
            return found, _schema.migrate(conn, where=where)
    except SQLAlchemyError as exc:
        raise LedgerError(f"Cannot migrate the {where}: {_reason(exc)}") from None
    finally:
        engine.dispose()


def _sqlite_tables(url: str) -> list[str] | None:
    """The tables of an existing, non-empty SQLite file, read through a read-only connection (a writer's
    first connection switches the file to WAL, changing its header); None for other databases."""
    if not url.startswith("sqlite"):
        return None
    database = make_url(url).database
    if not database or database == ":memory:" or not Path(database).is_file():
        return None
    if Path(database).stat().st_size == 0:
        return None
    uri = Path(database).resolve().as_uri() + "?mode=ro"
    try:
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as conn:
            return [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    except sqlite3.Error:
        return None  # not readable as SQLite: the engine's own open reports it with the path


def _refuse_foreign_sqlite(url: str) -> None:
    """Refuse, untouched, an existing SQLite file that holds other tables and no ledger."""
    names = _sqlite_tables(url)
    if names is not None and _schema.version_table.name not in names and _schema.entries.name not in names:
        _schema.refuse_foreign_tables(names, f"database at {describe(url)}")


def _not_a_ledger_to_migrate(url: str) -> NoReturn:
    raise NotALedgerError(
        f"The database at {describe(url)} is not a ledger (no {_schema.version_table.name!r} table): there "
        "is nothing to migrate, and migrate creates nothing. Point --db or --database-url at a ledger."
    )


def _with_driver(url: str) -> str:
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        # psycopg 3 is the driver the package ships with; SQLAlchemy would otherwise look for psycopg2.
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _create(url: str, read_only: bool) -> Engine:
    """The engine for ``url``, configured (SQLite: busy timeout, WAL unless read-only); no schema check."""
    check_backend(url)
    try:
        engine = create_engine(
            url, pool_pre_ping=not url.startswith("sqlite"), **_read_only_args(url, read_only)
        )
    except (ArgumentError, NoSuchModuleError, ImportError) as exc:
        raise InvalidInputError(
            f"Invalid database URL {describe(url)!r}: {exc}. Example: postgresql+psycopg://user:pass@host/db"
        ) from None
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine, wal=not read_only)
    return engine


#: The databases the ledger is built and tested for (``postgresql://`` is read as ``postgresql+psycopg://``).
SUPPORTED_BACKENDS = ("sqlite", "postgresql")
SUPPORTED_URLS = "sqlite:///PATH or postgresql+psycopg://USER:PASS@HOST/DB"


def check_backend(url: str) -> None:
    """Refuse a URL of a database the ledger does not support, naming the ones it does (before SQLAlchemy
    would look for a driver that is not installed, such as MySQLdb for ``mysql://``)."""
    try:
        backend = make_url(url).get_backend_name()
    except ArgumentError:
        raise InvalidInputError(
            f"Invalid database URL {describe(url)!r}: not a URL. Supported: {SUPPORTED_URLS}."
        ) from None
    if backend not in SUPPORTED_BACKENDS:
        raise InvalidInputError(
            f"Unsupported database URL {describe(url)!r}: the ledger supports "
            f"{', '.join(SUPPORTED_BACKENDS)} ({SUPPORTED_URLS}), not {backend!r}."
        )


def _reason(exc: SQLAlchemyError) -> str:
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        return str(exc.orig).strip().splitlines()[0]
    return str(exc).splitlines()[0]


def _read_only_args(url: str, read_only: bool) -> dict[str, Any]:
    """For a read-only SQLite ledger: connect through SQLite's ``mode=ro`` URI (a file URI, so any path)."""
    if not (read_only and url.startswith("sqlite")):
        return {}
    uri = Path(make_url(url).database or "").resolve().as_uri() + "?mode=ro"
    return {"creator": lambda: sqlite3.connect(uri, uri=True, check_same_thread=False)}


def _configure_sqlite(engine: Engine, *, wal: bool = True) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control from the sqlite3 module so the "begin" hook below decides how each
        # transaction starts.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        # WAL: readers never block the writer and a killed process leaves every committed transaction in the
        # log. synchronous=NORMAL keeps that (only a power cut can lose the last commits) at a fraction of
        # FULL's fsyncs. Switching to WAL writes the file's header: a read-only open leaves the mode alone.
        if wal:
            _retry_while_locked(lambda: cursor.execute("PRAGMA journal_mode = WAL"))
            cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A deferred transaction that reads and then writes cannot wait for the lock (SQLite returns BUSY at
        # once, whatever the timeout), so writers take the write lock up front.
        immediate = conn.get_execution_options().get("ledger_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _retry_while_locked(statement: Callable[[], object]) -> None:
    """Run ``statement``, retrying while the database is locked, for up to the busy timeout.

    Switching a new file to WAL needs an exclusive lock, and SQLite reports "database is locked" at once
    instead of waiting the busy timeout when several processes open a fresh ledger together (seen with six
    processes: one open in ten failed).
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    delay = 0.001
    while True:
        try:
            statement()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that holds the write lock from its start; committed on success, rolled back on error."""
    with engine.connect() as conn:
        conn.execution_options(ledger_write=True)
        with conn.begin():
            yield conn


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as conn, conn.begin():
        yield conn


@contextmanager
def database_errors(action: str, url: str) -> Iterator[None]:
    """Turn a driver error while doing ``action`` into a LedgerError that names the ledger."""
    try:
        yield
    except SQLAlchemyError as exc:
        raise LedgerError(f"Cannot {action} in the ledger at {describe(url)}: {_reason(exc)}") from None
