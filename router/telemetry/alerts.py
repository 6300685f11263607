"""Checking rules and sending alerts: once per crossing, across every process that shares the database.

Each rule's state (firing or not, when it last fired) is a row of ``telemetry_rule_state``, read and changed
in one transaction holding the write lock, so of several processes checking at once exactly one sees the
rule go from quiet to crossed and claims the alert. The alert row is written in that same transaction, then
the alert goes to the log, the callbacks and the webhook; a delivery that fails is logged, and the alert
stays in the table.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, text

from router._extras import require
from router.telemetry.analyzer import Predictor, Report, analyze
from router.telemetry.events import AlertEvent
from router.telemetry.rules import RuleSet, Verdict, Webhook, evaluate
from router.telemetry.schema import alerts as alerts_table
from router.telemetry.schema import rule_state
from router.telemetry.store import Store, event_row, to_us
from router.telemetry.window import Window

log = logging.getLogger("router.telemetry")
AlertCallback = Callable[[AlertEvent], object]
_LEVELS = {"info": logging.INFO, "warning": logging.WARNING, "critical": logging.CRITICAL}


@dataclass
class CheckResult:
    """Every rule's verdict and the alerts this check claimed (a rule already firing is not sent again)."""

    verdicts: list[Verdict]
    fired: list[AlertEvent] = field(default_factory=list)
    reports: dict[str, Report] = field(default_factory=dict)

    @property
    def crossed(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.crossed]


def check_rules(
    store: Store,
    rules: RuleSet,
    now: datetime,
    *,
    model_uri: str | None = None,
    reference: dict[str, Any] | None = None,
    reference_reason: str = "",
    callbacks: Sequence[AlertCallback] = (),
    webhook: Webhook | None = None,
    sleep: Callable[[float], object] = time.sleep,
    predict: Predictor | None = None,
) -> CheckResult:
    """Evaluate every rule over its window ending ``now``; claim, record and send the new crossings.

    ``predict`` lets the named model judge attempts that have no decision event (see ``analyze``)."""
    result = CheckResult(verdicts=[])
    for rule in rules.rules:
        if rule.window not in result.reports:
            window = Window(now - rule.window_length, now)
            kwargs = {"reference_reason": reference_reason} if reference_reason else {}
            result.reports[rule.window] = analyze(
                store, window, model_uri=model_uri, reference=reference, predict=predict, **kwargs
            )
        verdict = evaluate(rule, result.reports[rule.window])
        result.verdicts.append(verdict)
        if verdict.crossed is None:
            continue  # too few samples to say either way: the rule keeps its state
        alert = _claim(store, verdict, now)
        if alert is not None:
            result.fired.append(alert)
    for alert in result.fired:
        deliver(alert, callbacks, webhook or rules.webhook, sleep=sleep)
    return result


def _claim(store: Store, verdict: Verdict, now: datetime) -> AlertEvent | None:
    rule, now_us = verdict.rule, to_us(now)
    with store.write_lock() as conn:
        if conn.dialect.name == "postgresql":  # SQLite's BEGIN IMMEDIATE already serialises writers
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": 0x7E1E + 1})
        row = conn.execute(select(rule_state).where(rule_state.c.rule == rule.name)).first()
        was_firing = bool(row.firing) if row is not None else False
        last = row.last_fired_us if row is not None else None
        if not verdict.crossed:
            if was_firing:
                conn.execute(
                    rule_state.update()
                    .where(rule_state.c.rule == rule.name)
                    .values(firing=False, changed_us=now_us)
                )
            return None
        if was_firing:
            return None  # the same crossing, already claimed
        cooled = last is None or now_us - last >= rule.cooldown_length.total_seconds() * 1e6
        values = {"firing": True, "changed_us": now_us, "last_fired_us": now_us if cooled else last}
        if row is None:
            conn.execute(rule_state.insert().values(rule=rule.name, **values))
        else:
            conn.execute(rule_state.update().where(rule_state.c.rule == rule.name).values(**values))
        if not cooled:
            return None
        alert = AlertEvent(
            timestamp=now,
            rule=rule.name,
            metric=rule.metric,
            severity=rule.severity,
            value=float(verdict.value or 0.0),
            threshold=rule.threshold,
            comparison=rule.comparison,
            window_s=rule.window_length.total_seconds(),
            samples=verdict.samples,
            message=f"{rule.name}: {verdict.detail} over the last {rule.window} ({verdict.samples} samples)",
        )
        conn.execute(alerts_table.insert(), [event_row(alert)])
        return alert


def deliver(
    alert: AlertEvent,
    callbacks: Sequence[AlertCallback],
    webhook: Webhook | None,
    *,
    sleep: Callable[[float], object] = time.sleep,
) -> None:
    """Log the alert, call each callback and post it to the webhook; nothing here raises."""
    log.log(_LEVELS[alert.severity], "Alert [%s] %s", alert.severity, alert.message)
    for callback in callbacks:
        try:
            callback(alert)
        except Exception:
            log.exception("An alert callback failed for %s", alert.rule)
    if webhook is not None:
        post_webhook(webhook, alert.model_dump(mode="json"), sleep=sleep)


def post_webhook(webhook: Webhook, payload: dict[str, Any], *, sleep: Callable[[float], object]) -> bool:
    """POST the JSON; retry a network error, 5xx or 429 with doubling waits. True when accepted."""
    require("httpx", extra="monitor")
    import httpx

    problem = ""
    for attempt in range(webhook.retries + 1):
        if attempt:
            sleep(min(30.0, 0.5 * 2 ** (attempt - 1)))
        try:
            response = httpx.post(webhook.url, json=payload, timeout=webhook.timeout_s)
        except httpx.HTTPError as exc:
            problem = f"{type(exc).__name__}: {exc}"
            continue
        if response.status_code < 300:
            return True
        problem = f"HTTP {response.status_code}"
        if response.status_code < 500 and response.status_code != 429:
            break  # the receiver refuses this request; sending it again will not change its mind
    log.error(
        "Alert %s not delivered to the webhook %s after %d tries: %s",
        payload.get("rule"),
        webhook.url,
        attempt + 1,
        problem,
    )
    return False
