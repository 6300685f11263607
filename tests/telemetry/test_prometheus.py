"""``/metrics`` over loopback, parsed by prometheus_client's own parser, agrees with the ledger."""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from datetime import UTC, datetime

import pytest
from prometheus_client.parser import text_string_to_metric_families

from router import CostTracker, FallbackHandler, Router
from router.telemetry import Collector
from router.telemetry.alerts import check_rules
from router.telemetry.prometheus import serve
from router.telemetry.rules import Rule, RuleSet

TASKS = [
    "Fix typo in README",
    "Implement OAuth2 authentication with JWT tokens",
    "Refactor the distributed task scheduler architecture with consensus-based leader election",
    "Add unit tests for the parser",
]


def scrape(port: int) -> dict[str, list[tuple[dict[str, str], float]]]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        body = response.read().decode()
    found: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            found.setdefault(sample.name, []).append((sample.labels, sample.value))
    return found


def test_metrics_match_the_ledger(db):
    location = db.get("storage_path") or db["database_url"]
    kwargs = {"database_url": location} if "database_url" in db else {"storage_path": location}
    tracker = CostTracker(**kwargs)
    collector = Collector(**db)
    router = Router(collector=collector)
    handler = FallbackHandler(recorder=tracker, collector=collector, sleep=lambda s: None)

    class Usage:
        input_tokens, output_tokens = 1200, 300

    class Reply:
        usage = Usage()

    for i in range(40):
        decision = router.route(TASKS[i % len(TASKS)])

        def call(model: str, i: int = i, first: str = decision.model) -> Reply:
            if i % 5 == 0 and model == first:
                raise ConnectionError("connection refused")
            return Reply()

        handler.execute_decision(decision, f"t{i}", call)
    assert collector.flush()
    always = Rule(name="always", metric="decision_latency_p95_ms", threshold=-1, min_samples=0)
    assert len(check_rules(collector.store, RuleSet(rules=[always]), datetime.now(UTC)).fired) == 1
    server = serve(collector.store, 0)
    try:
        metrics = scrape(server.server_port)
    finally:
        server.shutdown()
        server.server_close()
    entries = tracker.get_recent_entries(10_000)
    collector.close()
    tracker.close()

    decisions = {(lab["model"], lab["source"]): v for lab, v in metrics["router_decisions_total"]}
    assert sum(decisions.values()) == 40
    attempts = {(lab["model"], lab["outcome"]): v for lab, v in metrics["router_attempts_total"]}
    ledger_attempts: dict[tuple[str, str], int] = {}
    ledger_cost: dict[str, float] = {}
    for e in entries:
        key = (e.model, "success" if e.success == 1.0 else "failure")
        ledger_attempts[key] = ledger_attempts.get(key, 0) + 1
        ledger_cost[e.model] = ledger_cost.get(e.model, 0.0) + e.total_cost
    assert attempts == ledger_attempts
    cost = {lab["model"]: v for lab, v in metrics["router_cost_usd_total"]}
    assert cost.keys() == ledger_cost.keys()
    for model, dollars in ledger_cost.items():
        assert cost[model] == pytest.approx(dollars, rel=1e-9)
    (count,) = [v for _, v in metrics["router_decision_latency_seconds_count"]]
    assert count == 40
    inf = [v for lab, v in metrics["router_decision_latency_seconds_bucket"] if lab["le"] == "+Inf"]
    assert inf == [40]
    assert metrics["router_alerts_total"] == [({"rule": "always"}, 1.0)]


def test_import_router_leaves_prometheus_client_out():
    code = "import sys, router, router.telemetry; print('prometheus_client' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
