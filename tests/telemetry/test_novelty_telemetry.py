"""Novelty in telemetry: decision events carry the score, the report shows the share of novel tasks, a rule
alerts on it, and a database made before the column gets it by migration."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from router import Router
from router.telemetry import Collector
from router.telemetry.analyzer import analyze
from router.telemetry.rules import Rule, RuleSet, evaluate
from router.telemetry.schema import SCHEMA_VERSION, decisions, version_table
from router.telemetry.store import Store
from router.telemetry.window import Window
from tests.learned.test_novelty import cooking_tasks
from training import train_router
from training.synthetic import generate_outcomes


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("novelty-telemetry") / "router"
    train_router(generate_outcomes(400, seed=7), log_to_mlflow=False, output_dir=out)
    return out


def _window() -> Window:
    now = datetime.now(UTC)
    return Window(now - timedelta(hours=1), now + timedelta(minutes=1))


def test_decisions_record_novelty_and_the_report_and_rule_see_novel_traffic(
    artifact: Path, db: dict[str, Any]
) -> None:
    collector = Collector(**db)
    try:
        router = Router.load(artifact, strict=True, collector=collector)
        familiar = generate_outcomes(60, seed=8).drop_duplicates("task_id")["description"].tolist()
        novel = cooking_tasks(140, seed=2)
        decisions_made = router.route_many(familiar + novel, tradeoff=0.5)
        collector.flush()
    finally:
        collector.close()
    store = Store.open(**db)
    try:
        with store.read() as conn:
            stored = conn.execute(select(decisions.c.decision_id, decisions.c.novelty)).all()
        by_id = {d.decision_id: d.novelty for d in decisions_made}
        assert {row.decision_id: row.novelty for row in stored} == pytest.approx(by_id)
        report = analyze(store, _window())
    finally:
        store.close()
    expected = sum(d.novelty > 1.0 for d in decisions_made) / len(decisions_made)
    assert report.novelty_scored == 200
    assert report.novel_share == pytest.approx(expected)
    assert report.novel_share >= 0.6  # the cooking tasks, at least
    packaged = {r.name: r for r in RuleSet.load().rules}["novel-tasks"]
    verdict = evaluate(packaged, report)
    assert verdict.crossed is True, verdict.detail
    strict = Rule(name="strict", metric="novel_share", threshold=0.99, min_samples=10)
    assert evaluate(strict, report).crossed is False


def test_the_heuristic_router_records_no_score_and_the_rule_stays_silent(tmp_path: Path) -> None:
    collector = Collector(tmp_path / "ledger.db")
    try:
        Router(collector=collector).route_many(["Fix the login bug"] * 5)
        collector.flush()
    finally:
        collector.close()
    store = Store.open(tmp_path / "ledger.db")
    try:
        report = analyze(store, _window())
    finally:
        store.close()
    assert report.novel_share is None and report.novelty_scored == 0
    verdict = evaluate(Rule(name="n", metric="novel_share", threshold=0.1, min_samples=0), report)
    assert verdict.crossed is None


def test_a_database_from_before_the_column_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    Store.open(path).close()
    store = Store.open(path)
    try:
        with store.write_lock() as conn:  # back to the version before the column, as an older router left it
            conn.execute(text(f"ALTER TABLE {decisions.name} DROP COLUMN novelty"))
            conn.execute(version_table.update().values(version=SCHEMA_VERSION - 1))
    finally:
        store.close()
    store = Store.open(path)
    try:
        with store.read() as conn:
            assert conn.execute(select(version_table.c.version)).scalar_one() == SCHEMA_VERSION == 3
            assert conn.execute(select(decisions.c.novelty)).all() == []
    finally:
        store.close()
