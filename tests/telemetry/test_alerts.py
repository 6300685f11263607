"""Alerts: once per crossing across processes, to the log, callbacks, a webhook and the alert table."""

from __future__ import annotations

import json
import logging
import socket
import threading
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from sqlalchemy import func, select

from router import ConfigError
from router.telemetry.alerts import check_rules
from router.telemetry.rules import Rule, RuleSet, Webhook
from router.telemetry.schema import alerts
from router.telemetry.store import Store
from tests.telemetry.traffic import START

ALWAYS = Rule(name="always", metric="decision_latency_p95_ms", threshold=-1, min_samples=0, window="1h")


def empty_rules(*rules: Rule, webhook: Webhook | None = None) -> RuleSet:
    return RuleSet(rules=list(rules), webhook=webhook)


def seed_decision(store: Store, at: datetime) -> None:
    from router import Router
    from router.telemetry.collector import decision_event

    store.write([decision_event(Router().route("Fix typo in README"), at, 2e-4, "Fix typo in README", None)])


def alert_rows(store: Store) -> int:
    with store.read() as conn:
        return int(conn.execute(select(func.count()).select_from(alerts)).scalar_one())


def test_a_crossing_fires_once_across_processes_and_again_after_it_clears(db):
    stores = [Store.open(**db) for _ in range(4)]
    seed_decision(stores[0], START - timedelta(minutes=5))
    fired = []
    barrier = threading.Barrier(len(stores))

    def check(store: Store) -> None:
        barrier.wait()
        fired.extend(
            check_rules(store, empty_rules(ALWAYS.model_copy(update={"cooldown": "1s"})), START).fired
        )

    threads = [threading.Thread(target=check, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(fired) == 1  # four checkers, one claim
    # Still crossed an hour later: the same crossing, not sent again.
    later = START + timedelta(minutes=30)
    assert check_rules(stores[1], empty_rules(ALWAYS), later).fired == []
    # Back under the threshold (raised here), then crossed anew two hours on: a new alert.
    quiet = START + timedelta(hours=1, minutes=30)
    seed_decision(stores[2], quiet - timedelta(minutes=1))
    calm = ALWAYS.model_copy(update={"threshold": 1e9})
    assert check_rules(stores[2], empty_rules(calm), quiet).verdicts[0].crossed is False
    assert len(check_rules(stores[3], empty_rules(ALWAYS), quiet + timedelta(minutes=2)).fired) == 1
    assert alert_rows(stores[0]) == 2
    for s in stores:
        s.close()


def test_too_few_samples_says_nothing(tmp_path):
    store = Store.open(tmp_path / "ledger.db")
    seed_decision(store, START - timedelta(minutes=5))
    result = check_rules(store, empty_rules(ALWAYS.model_copy(update={"min_samples": 2})), START)
    assert result.verdicts[0].crossed is None and "fewer than 2" in result.verdicts[0].detail
    assert result.fired == []
    store.close()


class Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, object]]] = []
    status = 200

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(json.loads(body))
        self.send_response(type(self).status)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver():
    Receiver.received, Receiver.status = [], 200
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_an_alert_goes_to_the_log_the_callbacks_the_webhook_and_the_table(tmp_path, receiver, caplog):
    store = Store.open(tmp_path / "ledger.db")
    seed_decision(store, START - timedelta(minutes=5))
    seen = []
    hook = Webhook(url=f"http://127.0.0.1:{receiver.server_port}/alerts", timeout_s=2, retries=1)
    with caplog.at_level(logging.WARNING, logger="router.telemetry"):
        result = check_rules(store, empty_rules(ALWAYS, webhook=hook), START, callbacks=[seen.append])
    assert [a.rule for a in result.fired] == ["always"]
    assert seen == result.fired
    assert Receiver.received[0]["rule"] == "always" and Receiver.received[0]["schema_version"] == 1
    assert "Alert [warning] always" in caplog.text
    assert alert_rows(store) == 1
    store.close()


def test_a_webhook_that_is_down_gets_retries_then_a_logged_error_and_the_alert_stays(
    tmp_path, receiver, caplog
):
    Receiver.status = 503
    store = Store.open(tmp_path / "ledger.db")
    seed_decision(store, START - timedelta(minutes=5))
    waits: list[float] = []
    hook = Webhook(url=f"http://127.0.0.1:{receiver.server_port}/alerts", timeout_s=2, retries=3)
    with caplog.at_level(logging.ERROR, logger="router.telemetry"):
        result = check_rules(store, empty_rules(ALWAYS, webhook=hook), START, sleep=waits.append)
    assert len(result.fired) == 1
    assert len(Receiver.received) == 4 and waits == [0.5, 1.0, 2.0]
    assert "not delivered" in caplog.text and "HTTP 503" in caplog.text
    assert alert_rows(store) == 1
    store.close()


def test_a_webhook_nobody_listens_on_times_out_or_is_refused_without_crashing(tmp_path, caplog):
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    store = Store.open(tmp_path / "ledger.db")
    seed_decision(store, START - timedelta(minutes=5))
    hook = Webhook(url=f"http://127.0.0.1:{port}/", timeout_s=0.5, retries=2)
    with caplog.at_level(logging.ERROR, logger="router.telemetry"):
        result = check_rules(store, empty_rules(ALWAYS, webhook=hook), START, sleep=lambda s: None)
    assert len(result.fired) == 1 and "ConnectError" in caplog.text
    assert alert_rows(store) == 1
    store.close()


BAD_RULES = [
    ('metric = "nonsense"', "rules.0.metric"),
    ('comparison = "=>"', "rules.0.comparison"),
    ('window = "-1h"', "rules.0.window"),
    ('cooldown = "soon"', "rules.0.cooldown"),
    ("min_samples = -3", "rules.0.min_samples"),
    ("false_alarm = 0", "rules.0.false_alarm"),
    ("colour = 1", "rules.0.colour"),
]


@pytest.mark.parametrize(("line", "field"), BAD_RULES, ids=[f for _, f in BAD_RULES])
def test_a_bad_rules_file_is_a_config_error_naming_the_field(tmp_path: Path, line: str, field: str):
    base = {"name": '"r"', "metric": '"error_rate"', "threshold": "0.1"}
    key = line.split(" = ")[0]
    base[key] = line.split(" = ", 1)[1]
    path = tmp_path / "rules.toml"
    path.write_text("[[rules]]\n" + "\n".join(f"{k} = {v}" for k, v in base.items()) + "\n")
    with pytest.raises(ConfigError, match=field.replace(".", r"\.")):
        RuleSet.load(path)


def test_the_shipped_rules_load():
    rules = RuleSet.load()
    assert {r.metric for r in rules.rules} >= {"drift_psi", "calibration_ece", "success_drop", "error_rate"}
    assert all(r.window_length >= timedelta(hours=1) for r in rules.rules)
