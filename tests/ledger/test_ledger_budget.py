"""Budgets: status a selector can consult, and alerts once per crossing, by callback and log."""

from __future__ import annotations

import logging
import math

import pytest

from router import BudgetAlert, BudgetExceededError, CostTracker, InvalidInputError


def spend(tracker: CostTracker, dollars: float, model: str = "haiku") -> None:
    tracker.record(model, "t", input_tokens=1, total_cost=dollars)


def test_alerts_fire_once_per_share_crossed(make_tracker, caplog):
    alerts: list[BudgetAlert] = []
    tracker = make_tracker(budget_daily=10.0, on_alert=alerts.append)
    with caplog.at_level(logging.WARNING, logger="router.ledger"):
        spend(tracker, 7.0)
        assert alerts == []
        spend(tracker, 1.0)  # 80% crossed
        spend(tracker, 0.5)
        spend(tracker, 2.0)  # 100% crossed
        spend(tracker, 5.0)
    assert [(a.share, a.limit.spent) for a in alerts] == [(0.8, 8.0), (1.0, 10.5)]
    assert [r.getMessage() for r in caplog.records] == [f"Budget alert: {a.message}" for a in alerts]
    assert "Spent $8.0000 of the daily budget of $10.0000 (80%; alert at 80%)" in alerts[0].message


def test_a_new_day_starts_the_daily_alerts_afresh_but_not_the_monthly(make_tracker, clock):
    alerts: list[BudgetAlert] = []
    tracker = make_tracker(budget_daily=1.0, budget_monthly=100.0, alert_shares=[1.0], on_alert=alerts.append)
    spend(tracker, 1.0)
    clock.advance(days=1)
    spend(tracker, 0.5)
    spend(tracker, 0.5)
    assert [(a.limit.name, a.limit.period_start.day) for a in alerts] == [
        ("daily budget", 14),
        ("daily budget", 15),
    ]


def test_two_trackers_on_one_ledger_send_each_alert_once(make_tracker):
    alerts: list[BudgetAlert] = []
    first = make_tracker(budget_monthly=2.0, alert_shares=[1.0], on_alert=alerts.append)
    second = make_tracker(budget_monthly=2.0, alert_shares=[1.0], on_alert=alerts.append)
    spend(first, 1.5)
    spend(second, 1.0)  # crosses: second sends it
    spend(first, 1.0)  # already sent by the other tracker
    assert len(alerts) == 1 and alerts[0].limit.spent == 2.5


def test_per_model_limits_block_only_that_model(make_tracker):
    tracker = make_tracker(budget_per_model={"opus": 1.0}, budget_daily=100.0)
    spend(tracker, 1.0, "opus")
    spend(tracker, 3.0, "haiku")
    status = tracker.check_budget()
    assert not status.ok and status.blocked_models() == ["opus"]
    assert not status.allows("opus") and status.allows("haiku")
    assert [(lim.name, lim.spent, lim.remaining) for lim in status.limits] == [
        ("daily budget", 4.0, 96.0),
        ("daily budget for opus", 1.0, 0.0),
    ]
    assert tracker.check_budget("haiku", refuse=True).ok is False
    with pytest.raises(
        BudgetExceededError, match=r"Budget exceeded for opus: daily budget for opus: \$1.0000"
    ):
        tracker.check_budget("opus", refuse=True)


def test_an_overall_limit_blocks_every_model(make_tracker):
    tracker = make_tracker(budget_monthly=1.0)
    spend(tracker, 1.0, "haiku")
    assert not tracker.check_budget().allows("sonnet")
    with pytest.raises(BudgetExceededError, match=r"monthly budget: \$1.0000 of \$1.0000"):
        tracker.check_budget(refuse=True)


def test_without_limits_everything_is_allowed(tracker):
    spend(tracker, 1e6)
    status = tracker.check_budget(refuse=True)
    assert status.ok and status.limits == [] and status.allows("opus")


def test_a_failing_callback_is_logged_and_the_entry_kept(make_tracker, caplog):
    def explode(alert: BudgetAlert) -> None:
        raise RuntimeError("pager down")

    tracker = make_tracker(budget_daily=1.0, alert_shares=[1.0], on_alert=explode)
    with caplog.at_level(logging.WARNING, logger="router.ledger"):
        spend(tracker, 2.0)
    assert tracker.get_summary("all").total_requests == 1
    assert "The on_alert callback failed" in caplog.text and "pager down" in caplog.text


BAD_BUDGETS = [
    ({"budget_daily": -1.0}, r"daily: Input should be greater than 0 \(got -1.0\)"),
    ({"budget_monthly": 0}, r"monthly: Input should be greater than 0"),
    ({"budget_daily": math.nan}, r"daily: Input should be a finite number"),
    ({"budget_per_model": {"opus": -2.0}}, r"per-model limits must be dollars > 0, got \{'opus': -2.0\}"),
    ({"alert_shares": [0.0, 1.0]}, r"alert shares must be > 0 \(1.0 = the limit\), got \[0.0\]"),
]


@pytest.mark.parametrize(
    ("kwargs", "message"), BAD_BUDGETS, ids=["negative", "zero", "nan", "per-model", "share"]
)
def test_bad_budgets_are_refused(tmp_path, kwargs, message):
    with pytest.raises(InvalidInputError, match=message):
        CostTracker(tmp_path / "l.db", **kwargs)
