"""Task metadata in the ledger: recorded with each attempt, migrated into old ledgers, exported."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import pandas as pd
import pytest
from conftest import START
from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    inspect,
    select,
)

from router import CostTracker, FallbackHandler, InvalidInputError, LedgerError, Router
from router._outcome_log import read_outcomes
from router.ledger import schema as _schema
from router.ledger.engine import open_engine, write_transaction
from router.ledger.queries import to_us
from training.data.outcomes import task_matrix

ACME = {"repo": "acme/site", "team": "web"}


def test_an_attempt_keeps_its_metadata_and_one_without_reads_empty(tracker):
    tracker.record("haiku", "t1", description="Fix typo", metadata=ACME, timestamp=START)
    tracker.record("sonnet", "t2", description="Add cache", timestamp=START + timedelta(seconds=1))
    newest, oldest = tracker.get_recent_entries(5)
    assert (oldest.metadata, newest.metadata) == (ACME, {})


def test_metadata_is_stored_as_a_json_object_and_null_when_absent(tracker):
    tracker.record("haiku", "t1", metadata={"team": "web", "repo": "acme/site"})
    tracker.record("haiku", "t2")
    with tracker._engine.connect() as conn:
        stored = conn.execute(select(_schema.entries.c["metadata"]).order_by(_schema.entries.c.id)).all()
    assert [row[0] for row in stored] == ['{"repo": "acme/site", "team": "web"}', None]


BAD_METADATA = [
    (
        {"repo": 7},
        r"Invalid cost entry: metadata must map strings to strings; key 'repo' has value 7 \(int\)",
    ),
    ({"repo": None}, r"key 'repo' has value None \(NoneType\)\. Allowed: str keys and str values"),
    ({1: "x"}, r"key 1 has value 'x'"),
    (["repo"], r"Invalid cost entry: metadata must be a mapping of string keys to string values, got list"),
]


@pytest.mark.parametrize(("metadata", "message"), BAD_METADATA, ids=["int", "none", "int-key", "list"])
def test_a_non_string_value_is_refused_and_nothing_is_stored(tracker, metadata, message):
    with pytest.raises(InvalidInputError, match=message):
        tracker.record("haiku", "t1", metadata=metadata)
    assert tracker.get_summary("all").total_requests == 0


def test_record_many_stores_no_row_when_one_has_bad_metadata(tracker):
    rows = [
        {"model": "haiku", "task_id": "t1", "metadata": ACME},
        {"model": "haiku", "task_id": "t2", "metadata": {"repo": 3.5}},
    ]
    with pytest.raises(InvalidInputError, match=r"Invalid row 1: metadata must map strings to strings"):
        tracker.record_many(rows)
    assert tracker.get_summary("all").total_requests == 0
    assert tracker.record_many(rows[:1]) == 1
    assert tracker.get_recent_entries(1)[0].metadata == ACME


# --- the fallback handler passes it on ------------------------------------------------------------------


def test_the_fallback_handler_records_the_metadata_with_every_attempt(tracker):
    handler = FallbackHandler(recorder=tracker, sleep=lambda _s: None)

    def call(model: str) -> str:
        if model == "sonnet":
            raise ConnectionError("connection refused")
        return model

    answer = handler.execute_with_fallback(
        "sonnet", "t1", call, ["haiku"], description="Fix typo", decision_id="d1", metadata=ACME
    )
    assert answer == "haiku"
    entries = sorted(tracker.get_recent_entries(5), key=lambda e: e.attempt)
    assert [(e.model, e.attempt, e.metadata) for e in entries] == [("sonnet", 1, ACME), ("haiku", 2, ACME)]


def test_the_async_driver_records_the_metadata_too(tracker):
    async def call(model: str) -> str:
        return model

    handler = FallbackHandler(recorder=tracker)
    assert asyncio.run(handler.aexecute_with_fallback("haiku", "t1", call, metadata=ACME)) == "haiku"
    assert [e.metadata for e in tracker.get_recent_entries(5)] == [ACME]


def test_execute_decision_records_the_metadata_given_to_route(tracker):
    decision = Router().route("Fix typo in README", metadata=ACME)
    FallbackHandler(recorder=tracker).execute_decision(
        decision, "t1", lambda model: model, description="Fix typo in README", metadata=ACME
    )
    [entry] = tracker.get_recent_entries(5)
    assert (entry.decision_id, entry.metadata) == (decision.decision_id, ACME)


def test_the_fallback_handler_refuses_bad_metadata_before_any_call(tracker):
    calls: list[str] = []
    with pytest.raises(InvalidInputError, match=r"key 'repo' has value 1 \(int\)"):
        FallbackHandler(recorder=tracker).execute_with_fallback(
            "haiku", "t1", calls.append, metadata={"repo": 1}
        )
    assert calls == []
    assert tracker.get_summary("all").total_requests == 0


# --- a ledger from version 1, before the metadata column ---------------------------------------------------


def create_version_1_ledger(url: str) -> None:
    """The ledger as version 1 created it (its DDL, frozen here), with one attempt recorded."""
    old = MetaData()
    entries = Table(
        "ledger_entries",
        old,
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
    )
    version = Table("ledger_schema", old, Column("version", Integer, nullable=False))
    Table(
        "ledger_alerts",
        old,
        Column("scope", String(250), primary_key=True),
        Column("period_start_us", BigInteger, primary_key=True),
        Column("share", Float(precision=53), primary_key=True),
        Column("sent_us", BigInteger, nullable=False),
    )
    engine = create_engine(url)
    with engine.begin() as conn:
        old.create_all(conn)
        conn.execute(version.insert().values(version=1))
        conn.execute(
            entries.insert().values(
                ts_us=to_us(START),
                model="haiku",
                task_id="old-1",
                input_tokens=10,
                output_tokens=2,
                total_tokens=12,
                total_cost=0.001,
                success=1.0,
                description="Fix typo",
                files="[]",
                attempt=1,
            )
        )
    engine.dispose()


def _url(location: dict[str, Any]) -> str:
    return location.get("database_url") or f"sqlite:///{location['storage_path']}"


def test_a_version_1_ledger_gets_the_metadata_column_and_keeps_its_rows(make_tracker, ledger_location):
    create_version_1_ledger(_url(ledger_location))
    tracker = make_tracker()  # opening for writing migrates
    tracker.record(
        "sonnet", "new-1", description="Add cache", metadata=ACME, timestamp=START + timedelta(days=1)
    )
    newest, oldest = tracker.get_recent_entries(5)
    assert (oldest.task_id, oldest.timestamp, oldest.metadata) == ("old-1", START, {})
    assert (newest.task_id, newest.metadata) == ("new-1", ACME)
    with tracker._engine.connect() as conn:
        assert conn.execute(_schema.version_table.select()).scalar_one() == _schema.SCHEMA_VERSION == 3
        assert "metadata" in {c["name"] for c in inspect(conn).get_columns("ledger_entries")}
    # Opening it again finds version 3 and changes nothing.
    assert len(make_tracker().get_recent_entries(5)) == 2


def test_adding_the_metadata_column_twice_is_harmless(make_tracker, ledger_location):
    create_version_1_ledger(_url(ledger_location))
    engine = open_engine(_url(ledger_location))  # migrates to version 3
    with write_transaction(engine) as conn:
        _schema.add_column_if_missing(conn, _schema.entries.c["metadata"])
    with engine.connect() as conn:
        names = [c["name"] for c in inspect(conn).get_columns("ledger_entries")]
    engine.dispose()
    assert names.count("metadata") == 1


def test_a_version_1_ledger_is_not_migrated_by_a_reading_command(ledger_location):
    create_version_1_ledger(_url(ledger_location))
    with pytest.raises(LedgerError, match=r"schema version 1, older than this router's \(3\)"):
        CostTracker(**ledger_location, read_only=True)
    engine = create_engine(_url(ledger_location))
    with engine.connect() as conn:
        assert conn.execute(_schema.version_table.select()).scalar_one() == 1
        assert "metadata" not in {c["name"] for c in inspect(conn).get_columns("ledger_entries")}
    engine.dispose()


# --- the outcome log, both ways ----------------------------------------------------------------------------


def fill(tracker: CostTracker) -> None:
    tracker.record("haiku", "t1", description="Fix typo", success=0.0, metadata=ACME, timestamp=START)
    tracker.record(
        "sonnet",
        "t1",
        description="Fix typo",
        metadata=ACME,
        attempt=2,
        timestamp=START + timedelta(seconds=5),
    )
    tracker.record("haiku", "t2", description="Add cache", metadata={"repo": "acme/api"}, timestamp=START)
    tracker.record("opus", "t3", description="Port the parser", timestamp=START)


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".jsonl"])
def test_export_writes_the_metadata_that_training_reads(tracker, tmp_path, suffix):
    fill(tracker)
    exported = tracker.export_outcomes(tmp_path / f"out{suffix}")
    log = read_outcomes(exported.path)
    assert log.rejected == {}
    by_row = {(r.task_id, r.model): r.metadata for r in log.frame.itertuples()}
    assert {key: json.loads(v) if v else {} for key, v in by_row.items()} == {
        ("t1", "haiku"): ACME,
        ("t1", "sonnet"): ACME,
        ("t2", "haiku"): {"repo": "acme/api"},
        ("t3", "opus"): {},
    }
    tasks = task_matrix(log.frame)
    assert tasks.metadata is not None
    assert dict(zip(tasks.task_ids, tasks.metadata, strict=True)) == {
        "t1": ACME,
        "t2": {"repo": "acme/api"},
        "t3": {},
    }


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_metadata_survives_export_and_import_into_another_ledger(make_tracker, tmp_path, suffix):
    source = make_tracker()
    fill(source)
    exported = source.export_outcomes(tmp_path / f"out{suffix}")
    target = make_tracker(storage_path=tmp_path / "other.db", database_url=None)
    assert target.import_outcomes(exported.path).rows == 4
    assert target.import_outcomes(exported.path).rows == 0  # the same rows, metadata included, are held

    def keyed(t: CostTracker) -> dict[tuple[str, str], dict[str, str]]:
        return {(e.task_id, e.model): e.metadata for e in t.get_recent_entries(10)}

    assert keyed(target) == keyed(source)


def test_the_cost_csv_has_the_metadata_column(tracker, tmp_path):
    fill(tracker)
    tracker.export_csv(tmp_path / "costs.csv")
    frame = pd.read_csv(tmp_path / "costs.csv", keep_default_na=False)
    assert sorted(set(frame["metadata"])) == ["", '{"repo": "acme/api"}', json.dumps(ACME, sort_keys=True)]


def test_router_logs_export_then_training_uses_the_recorded_metadata(tmp_path):
    import numpy as np
    from typer.testing import CliRunner

    from router.cli import app
    from training import train_router
    from training.synthetic import generate_outcomes

    frame = generate_outcomes(200, seed=3)
    repos = {task: f"acme/repo-{i % 4}" for i, task in enumerate(frame["task_id"].unique())}
    rows = [
        {
            "model": r.model,
            "task_id": r.task_id,
            "description": r.description,
            "success": float(r.success),
            "total_cost": float(r.cost_usd),
            "metadata": {"repo": repos[r.task_id]},
        }
        for r in frame.itertuples()
    ]
    with CostTracker(tmp_path / "ledger.db") as tracker:
        tracker.record_many(rows)
    log = tmp_path / "outcomes.parquet"
    exported = CliRunner().invoke(app, ["logs", "export", str(log), "--db", str(tmp_path / "ledger.db")])
    assert exported.exit_code == 0, exported.output
    assert set(read_outcomes(log).frame["metadata"]) == {json.dumps({"repo": r}) for r in set(repos.values())}
    train_router(log, log_to_mlflow=False, output_dir=tmp_path / "router")
    with np.load(tmp_path / "router" / "router.npz", allow_pickle=False) as arrays:
        vocabulary = set(arrays["metadata_vocab"].tolist())
    assert vocabulary == {f"repo=acme/repo-{i}" for i in range(4)}


def test_execute_decision_records_the_decisions_own_metadata_when_none_is_passed(tracker):
    decision = Router().route("Fix typo in README", metadata=ACME)
    FallbackHandler(recorder=tracker).execute_decision(decision, "t1", lambda model: model)
    plain = Router().route("Fix typo in README")
    FallbackHandler(recorder=tracker).execute_decision(plain, "t2", lambda model: model)
    by_task = {e.task_id: e.metadata for e in tracker.get_recent_entries(5)}
    assert by_task == {"t1": ACME, "t2": {}}


def test_an_explicit_metadata_argument_wins_over_the_decisions(tracker):
    decision = Router().route("Fix typo in README", metadata=ACME)
    handler = FallbackHandler(recorder=tracker)
    handler.execute_decision(decision, "t1", lambda model: model, metadata={"repo": "acme/api"})
    handler.execute_decision(decision, "t2", lambda model: model, metadata={})  # explicitly none
    by_task = {e.task_id: e.metadata for e in tracker.get_recent_entries(5)}
    assert by_task == {"t1": {"repo": "acme/api"}, "t2": {}}


# --- router costs migrate: the upgrade on purpose ----------------------------------------------------------


def _ledger_args(location: dict[str, Any]) -> list[str]:
    if "database_url" in location:
        return ["--database-url", location["database_url"]]
    return ["--db", str(location["storage_path"])]


def _cli(*args: str):
    from typer.testing import CliRunner

    from router.cli import app

    return CliRunner().invoke(app, list(args), env={"ROUTER_DATABASE_URL": ""})


def test_costs_migrate_upgrades_a_version_1_ledger_so_the_reading_commands_accept_it(ledger_location):
    create_version_1_ledger(_url(ledger_location))
    refused = _cli("costs", "summary", "--period", "all", *_ledger_args(ledger_location))
    assert refused.exit_code == 1 and "Run `router costs migrate`" in refused.stderr
    migrated = _cli("costs", "migrate", *_ledger_args(ledger_location))
    assert migrated.exit_code == 0, migrated.output
    assert "from schema version 1 to 3" in migrated.stdout
    if "storage_path" in ledger_location:
        assert str(ledger_location["storage_path"]) in migrated.stdout
    else:
        assert "router_test:***@" in migrated.stdout  # the password is never shown
    with CostTracker(**ledger_location, read_only=True) as tracker:  # read-only opens now accept it
        [entry] = tracker.get_recent_entries(5)
    assert (entry.task_id, entry.metadata) == ("old-1", {})
    summary = _cli("costs", "summary", "--period", "all", "--json", *_ledger_args(ledger_location))
    assert summary.exit_code == 0 and json.loads(summary.stdout)["total_requests"] == 1
    again = _cli("costs", "migrate", "--json", *_ledger_args(ledger_location))
    assert again.exit_code == 0, again.output
    assert {k: v for k, v in json.loads(again.stdout).items() if k != "ledger"} == {
        "from_version": 3,
        "to_version": 3,
        "migrated": False,
    }


def test_costs_migrate_creates_nothing_where_there_is_no_ledger(ledger_location, tmp_path):
    if "storage_path" in ledger_location:
        missing = _cli("costs", "migrate", "--db", str(tmp_path / "typo.db"))
        assert missing.exit_code == 2 and missing.stderr.startswith("error: No ledger at ")
        assert not (tmp_path / "typo.db").exists()
        (tmp_path / "costs.json").write_text("{}")
        not_sqlite = _cli("costs", "migrate", "--db", str(tmp_path / "costs.json"))
        assert not_sqlite.exit_code == 1 and "is not a SQLite database" in not_sqlite.stderr
        assert (tmp_path / "costs.json").read_text() == "{}"
    # A database (an empty SQLite file, an empty PostgreSQL schema) that holds no ledger stays empty.
    url = _url(ledger_location)
    if "storage_path" in ledger_location:
        ledger_location["storage_path"].write_bytes(b"")
    result = _cli("costs", "migrate", *_ledger_args(ledger_location))
    assert result.exit_code == 2  # not a ledger: the wrong database, bad input
    assert "is not a ledger (no 'ledger_schema' table): there is nothing to migrate" in result.stderr
    engine = create_engine(url)
    with engine.connect() as conn:
        assert inspect(conn).get_table_names() == []
    engine.dispose()


def test_costs_migrate_refuses_a_newer_ledger_untouched(make_tracker, ledger_location):
    make_tracker().record("haiku", "t1")
    engine = create_engine(_url(ledger_location))
    with engine.begin() as conn:
        conn.execute(_schema.version_table.update().values(version=99))
    result = _cli("costs", "migrate", *_ledger_args(ledger_location))
    assert result.exit_code == 1
    assert "schema version 99, newer than this router supports (3)" in result.stderr
    with engine.connect() as conn:
        assert conn.execute(_schema.version_table.select()).scalar_one() == 99
    engine.dispose()
