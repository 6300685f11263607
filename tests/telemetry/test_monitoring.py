"""Rules over simulated traffic: drift and success drops are caught, stable traffic raises nothing."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from router.telemetry import Collector
from router.telemetry.alerts import check_rules
from router.telemetry.analyzer import analyze
from router.telemetry.rules import RuleSet
from router.telemetry.window import Window
from tests.telemetry.traffic import URI, Clock, reference_of, serve_window, task_pool

PER_WINDOW = 300


@pytest.fixture(scope="module")
def pool() -> tuple[list[str], list[str]]:
    return task_pool(4000, seed=7)


@pytest.fixture(scope="module")
def reference(pool):
    return reference_of(pool[0][:2000])


def open_all(tmp_path, clock):
    collector = Collector(tmp_path / "ledger.db", clock=clock)
    return collector, collector.store


def drift_and_calibration_rules() -> RuleSet:
    return RuleSet.model_validate(
        {
            "rules": [
                rule
                for rule in RuleSet.load().model_dump()["rules"]
                if rule["metric"] in ("drift_psi", "calibration_ece", "success_drop")
            ]
        }
    ).model_copy()


def hourly(rules: RuleSet) -> RuleSet:
    """The rules over one-hour windows, so each check sees exactly one simulated window."""
    return RuleSet(rules=[r.model_copy(update={"window": "1h"}) for r in rules.rules])


@pytest.mark.slow
def test_stable_traffic_fires_no_drift_or_calibration_alert_in_100_windows(tmp_path, pool, reference):
    clock, rng = Clock(), random.Random(1)
    collector, store = open_all(tmp_path, clock)
    rules = hourly(drift_and_calibration_rules())
    fired, checked = [], 0
    served = pool[0][2000:]  # the same mix as the reference, other tasks
    for _ in range(100):
        serve_window(collector, clock, served, rng, n=PER_WINDOW)
        assert collector.flush()
        result = check_rules(store, rules, clock.now, model_uri=URI, reference=reference)
        checked += sum(v.crossed is not None for v in result.verdicts)
        fired += result.fired
    collector.close()
    assert checked == 100 * len(rules.rules)  # every check had enough samples to decide
    assert fired == []


@pytest.mark.slow
def test_a_new_task_mix_fires_the_drift_rule_once_in_its_first_window(tmp_path, pool, reference):
    clock, rng = Clock(), random.Random(2)
    collector, store = open_all(tmp_path, clock)
    descriptions, types = pool
    rules = hourly(drift_and_calibration_rules())
    stable = descriptions[2000:]
    shifted = [
        d
        for d, t in zip(descriptions, types, strict=True)
        if t in ("security", "architecture", "performance")
    ]
    assert len(shifted) > 100
    drift_alerts = []
    for hour in range(8):
        serve_window(collector, clock, stable if hour < 4 else shifted, rng, n=PER_WINDOW)
        assert collector.flush()
        result = check_rules(store, rules, clock.now, model_uri=URI, reference=reference)
        drift_alerts += [(hour, a) for a in result.fired if a.metric == "drift_psi"]
    collector.close()
    assert [hour for hour, _ in drift_alerts] == [4]  # the first shifted window, and only once
    assert drift_alerts[0][1].value > 0.1


@pytest.mark.slow
def test_a_15_point_success_drop_is_caught_within_500_outcomes(tmp_path, pool):
    clock, rng = Clock(), random.Random(3)
    collector, store = open_all(tmp_path, clock)
    rules = RuleSet(
        rules=[
            r.model_copy(update={"window": "1h"})
            for r in RuleSet.load().rules
            if r.metric in ("calibration_ece", "success_drop")
        ]
    )
    serve_window(collector, clock, pool[0], rng, n=500, drop=0.15)
    assert collector.flush()
    result = check_rules(store, rules, clock.now, model_uri=URI, reference=None)
    collector.close()
    assert result.reports["1h"].calibration.samples == 500
    assert {a.rule for a in result.fired} & {"success-drop", "calibration"}


def test_report_metrics_over_a_window(tmp_path, pool, reference):
    clock, rng = Clock(), random.Random(4)
    collector, store = open_all(tmp_path, clock)
    serve_window(collector, clock, pool[0], rng, n=200)
    assert collector.flush()
    report = analyze(
        store, Window(clock.now - timedelta(hours=1), clock.now), model_uri=URI, reference=reference
    )
    collector.close()
    assert report.decisions == 200 and report.attempts == 200 and report.tasks == 200
    assert sum(m.decisions for m in report.models) == 200
    assert report.calibration is not None and report.calibration.samples == 200
    assert report.drift.available and set(report.drift.features) == {
        "score",
        "level",
        "task_type",
        "length",
        "top_term",
    }
    assert report.cost_usd > 0 and report.projected_month_usd >= report.month_to_date_usd > 0
    assert 0 <= report.error_rate <= 1
    no_model = analyze(store, Window(clock.now - timedelta(hours=1), clock.now))
    assert no_model.calibration is None and not no_model.drift.available
    assert "no --model" in no_model.drift.reason
