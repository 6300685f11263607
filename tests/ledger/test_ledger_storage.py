"""Opening a ledger: SQLite settings, schema versions, migrations, and what is refused, never replaced."""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import Connection, create_engine, inspect, text

from router import CostTracker, InvalidInputError, LedgerError
from router.ledger import schema as _schema
from router.ledger.engine import open_engine, write_transaction


def test_the_default_ledger_lives_in_the_data_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("ROUTER_DATA_DIR", str(tmp_path / "data"))
    with CostTracker() as tracker:
        tracker.record("haiku", "t1")
    assert (tmp_path / "data" / "ledger.db").is_file()


def test_entries_survive_reopening(make_tracker):
    make_tracker().record("haiku", "t1", description="kept")
    [entry] = make_tracker().get_recent_entries(5)
    assert entry.description == "kept"


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path):
    path = tmp_path / "l.db"
    with CostTracker(path) as tracker:
        tracker.record("haiku", "t1")
        with tracker._engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30_000


NOT_A_DATABASE = [
    (b'{"entries": []}', "the specification's JSON ledger"),
    (b"\x00" * 200, "zeros"),
    (b"SQLite format 3\x00" + b"\xff" * 200, "a corrupt header"),
]


@pytest.mark.parametrize(("content", "what"), NOT_A_DATABASE, ids=["json", "zeros", "corrupt"])
def test_a_file_that_is_not_a_database_is_refused_and_left_as_it_was(tmp_path, content, what):
    path = tmp_path / "costs.json"
    path.write_bytes(content)
    with pytest.raises(LedgerError, match=r"not a SQLite database|Cannot open the ledger"):
        CostTracker(path)
    assert path.read_bytes() == content


def test_a_directory_is_refused(tmp_path):
    with pytest.raises(LedgerError, match="is a directory; give a file path"):
        CostTracker(tmp_path)


def test_an_empty_file_becomes_a_ledger(tmp_path):
    path = tmp_path / "l.db"
    path.touch()
    with CostTracker(path) as tracker:
        assert tracker.record("haiku", "t").id == 1


def set_version(location: dict, version: int) -> None:
    url = location.get("database_url") or f"sqlite:///{location['storage_path']}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(_schema.version_table.update().values(version=version))
    engine.dispose()


def test_a_ledger_from_a_newer_version_is_refused_untouched(make_tracker, ledger_location):
    make_tracker().record("haiku", "t1")
    set_version(ledger_location, _schema.SCHEMA_VERSION + 1)
    newer, current = _schema.SCHEMA_VERSION + 1, _schema.SCHEMA_VERSION
    with pytest.raises(
        LedgerError, match=rf"schema version {newer}, newer than this router supports \({current}\)\. Upgrade"
    ):
        make_tracker()
    set_version(ledger_location, _schema.SCHEMA_VERSION)
    assert make_tracker().get_summary("all").total_requests == 1


def test_entries_without_a_version_table_are_refused(tmp_path):
    path = tmp_path / "l.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE ledger_entries (id INTEGER)")
    with pytest.raises(LedgerError, match="no 'ledger_schema' table, so its schema version is unknown"):
        CostTracker(path)


def _add_note_column(conn: Connection) -> None:
    conn.execute(text("ALTER TABLE ledger_entries ADD COLUMN note TEXT"))


def test_opening_runs_the_missing_migration_steps_once(make_tracker, ledger_location):
    make_tracker().record("haiku", "t1")
    url = ledger_location.get("database_url") or f"sqlite:///{ledger_location['storage_path']}"
    steps = (*_schema.MIGRATIONS, _add_note_column)
    engine = open_engine(url)
    for _ in range(2):  # the second pass finds the new version and has nothing to do
        with write_transaction(engine) as conn:
            _schema.lock_for_migration(conn)
            assert _schema.migrate(conn, steps) == len(steps)
    with engine.connect() as conn:
        assert "note" in {c["name"] for c in inspect(conn).get_columns("ledger_entries")}
        assert conn.execute(_schema.version_table.select()).scalar_one() == len(steps)
        assert conn.execute(text("SELECT count(*) FROM ledger_entries")).scalar_one() == 1
    engine.dispose()


def test_a_failed_migration_step_leaves_the_old_version(tmp_path):
    def broken(conn: Connection) -> None:
        conn.execute(text("ALTER TABLE ledger_entries ADD COLUMN note TEXT"))
        raise RuntimeError("step failed half way")

    path = tmp_path / "l.db"
    CostTracker(path).close()
    engine = open_engine(f"sqlite:///{path}")
    with pytest.raises(RuntimeError, match="half way"), write_transaction(engine) as conn:
        _schema.migrate(conn, (*_schema.MIGRATIONS, broken))
    with engine.connect() as conn:
        assert conn.execute(_schema.version_table.select()).scalar_one() == _schema.SCHEMA_VERSION
        assert "note" not in {c["name"] for c in inspect(conn).get_columns("ledger_entries")}
    engine.dispose()


BAD_LOCATIONS = [
    ({"storage_path": "x.db", "database_url": "sqlite://"}, InvalidInputError, "not both"),
    ({"database_url": "nosuchdb://x"}, InvalidInputError, r"Unsupported database URL 'nosuchdb://x'"),
    (
        {"database_url": "postgresql://u:secret@127.0.0.1:1/db"},
        LedgerError,
        r"Cannot open the ledger at postgresql\+psycopg://u:\*\*\*@127.0.0.1:1/db",
    ),
]


@pytest.mark.parametrize(("kwargs", "error", "message"), BAD_LOCATIONS, ids=["both", "bad-url", "no-server"])
def test_bad_locations_are_refused_without_showing_passwords(kwargs, error, message):
    with pytest.raises(error, match=message) as info:
        CostTracker(**kwargs)
    assert "secret" not in str(info.value)
