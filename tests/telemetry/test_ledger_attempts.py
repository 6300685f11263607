"""The monitor and ``/metrics`` read attempts from the ledger, whatever wrote them; each is stored once.

Attempts imported with ``router logs import`` (no telemetry event behind them) are judged like the served
ones: 400 that all failed cross the success-drop rule against the named model's predictions and show in
``router_attempts_total``. A database from telemetry version 1, which kept attempts in ``telemetry_attempts``
as well, moves the attempts the ledger lacks into it and drops that table.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import create_engine, func, inspect, select
from typer.testing import CliRunner

from router.cli import app
from router.ledger.schema import entries
from router.telemetry import schema as telemetry_schema
from router.telemetry.prometheus import build_registry
from router.telemetry.store import Store
from tests.telemetry.traffic import task_pool

runner = CliRunner()


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A learned router trained on a small synthetic log (no MLflow)."""
    from training import train_router
    from training.synthetic import generate_outcomes

    out = tmp_path_factory.mktemp("artifact") / "router"
    train_router(generate_outcomes(300, seed=1), log_to_mlflow=False, output_dir=out)
    return out


def failed_log(path: Path, n: int = 400) -> Path:
    """``n`` attempts that all failed over the last hour, as an integration's export would hold them."""
    descriptions, task_types = task_pool(n, seed=11)
    now = datetime.now(UTC)
    rows = [
        {
            "task_id": f"imported-{i}",
            "description": descriptions[i],
            "model": ["haiku", "sonnet"][i % 2],
            "success": 0.0,
            "cost_usd": 0.002,
            "task_type": task_types[i],
            "timestamp": (now - timedelta(minutes=55) + timedelta(seconds=8 * i)).isoformat(),
        }
        for i in range(n)
    ]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def scrape(location: dict[str, object]) -> dict[tuple[str, str], float]:
    store = Store.open(**location)  # type: ignore[arg-type]
    try:
        body = generate_latest(build_registry(store)).decode()
    finally:
        store.close()
    return {
        (s.labels["model"], s.labels["outcome"]): s.value
        for family in text_string_to_metric_families(body)
        for s in family.samples
        if s.name == "router_attempts_total"
    }


def test_imported_failures_cross_the_success_drop_rule_and_show_in_metrics(db, artifact, tmp_path):
    where = (
        ["--db", str(db["storage_path"])] if "storage_path" in db else ["--database-url", db["database_url"]]
    )
    imported = runner.invoke(app, ["logs", "import", str(failed_log(tmp_path / "failed.csv")), *where])
    assert imported.exit_code == 0, imported.output
    result = runner.invoke(app, ["monitor", "check", "--model", str(artifact), "--json", *where])
    assert result.exit_code == 1, result.output
    payload = json.loads(result.stdout)
    assert "success-drop" in payload["crossed"]
    drop = next(r for r in payload["rules"] if r["rule"] == "success-drop")
    # Every imported first attempt, judged against the model's own P(success) for its task and model.
    assert drop["samples"] == 400 and drop["value"] > 0.1
    report = runner.invoke(app, ["monitor", "report", "--window", "2h", "--json", *where])
    assert report.exit_code == 0, report.output
    assert (json.loads(report.stdout)["attempts"], json.loads(report.stdout)["success_rate"]) == (400, 0.0)
    assert scrape(db) == {("haiku", "failure"): 200, ("sonnet", "failure"): 200}


def _version_1_telemetry(url: str) -> None:
    """The ledger at its current version and the telemetry tables as version 1 left them, with two attempts
    in ``telemetry_attempts``: one the ledger holds too (a handler with a recorder), one it lacks."""
    store_engine = create_engine(url)
    from router.ledger.engine import open_engine

    open_engine(url).dispose()  # the ledger's tables
    with store_engine.begin() as conn:
        telemetry_schema.metadata.create_all(conn)
        conn.execute(telemetry_schema.version_table.insert().values(version=1))
        at = int(datetime(2026, 3, 1, tzinfo=UTC).timestamp() * 1e6)
        common = {"schema_version": 1, "input_tokens": 100, "output_tokens": 10, "duration_ms": 5.0}
        conn.execute(
            telemetry_schema.attempts.insert(),
            [
                {**common, "ts_us": at, "decision_id": "d1", "task_id": "t1", "model": "haiku", "attempt": 1,
                 "attempt_kind": "first", "success": False, "reason": "timeout", "cost_usd": 0.001},
                {**common, "ts_us": at + 1, "decision_id": "d1", "task_id": "t1", "model": "sonnet",
                 "attempt": 2, "attempt_kind": "fallback", "success": True, "reason": None,
                 "cost_usd": 0.002},
            ],
        )  # fmt: skip
        conn.execute(
            entries.insert().values(
                ts_us=at, model="haiku", task_id="t1", input_tokens=100, output_tokens=10, total_tokens=110,
                total_cost=0.001, success=0.0, error="timeout: read timed out", description="Fix it",
                files="[]", attempt=1, decision_id="d1",
            )
        )  # fmt: skip
    store_engine.dispose()


def test_a_version_1_database_moves_its_telemetry_attempts_into_the_ledger(db):
    url = db.get("database_url") or f"sqlite:///{db['storage_path']}"
    _version_1_telemetry(str(url))
    Store.open(**db).close()  # opening migrates
    engine = create_engine(str(url))
    with engine.connect() as conn:
        assert "telemetry_attempts" not in inspect(conn).get_table_names()
        version = conn.execute(select(telemetry_schema.version_table.c.version)).scalar_one()
        rows = conn.execute(
            select(
                entries.c.model, entries.c.attempt, entries.c.success, entries.c.error, entries.c.decision_id
            ).order_by(entries.c.attempt)
        ).all()
        total = conn.execute(select(func.count()).select_from(entries)).scalar_one()
    engine.dispose()
    assert version == telemetry_schema.SCHEMA_VERSION == 3
    # The attempt the ledger held stays as it was; the other moves in, once.
    assert total == 2
    assert [tuple(r) for r in rows] == [
        ("haiku", 1, 0.0, "timeout: read timed out", "d1"),
        ("sonnet", 2, 1.0, None, "d1"),
    ]
