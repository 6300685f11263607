"""Spend limits: how each stands now, and which alert shares have just been crossed.

A limit is daily or monthly (calendar periods in UTC), overall or for one model. An alert is sent once per
(limit, period, share): the claim is a row in ``ledger_alerts`` whose primary key makes a second claim fail,
so several processes sharing a ledger send it once between them, and a new day or month starts afresh.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from router._exceptions import InvalidInputError
from router._toml import validation_message
from router.ledger.models import BudgetAlert, BudgetLimit, BudgetStatus, Period

if TYPE_CHECKING:
    from sqlalchemy import Connection


class BudgetConfig(BaseModel):
    """Limits in dollars (``None``: no limit) and the shares of a limit at which to alert."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    daily: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    monthly: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    per_model_daily: dict[str, float] = Field(default_factory=dict)
    alert_shares: tuple[float, ...] = (0.8, 1.0)

    @classmethod
    def build(cls, **fields: object) -> BudgetConfig:
        try:
            config = cls.model_validate(fields)
        except ValidationError as exc:
            raise InvalidInputError(validation_message(exc, "invalid budget")) from None
        bad = {m: v for m, v in config.per_model_daily.items() if not 0 < v < float("inf")}
        if bad:
            raise InvalidInputError(f"invalid budget: per-model limits must be dollars > 0, got {bad!r}")
        shares = [s for s in config.alert_shares if not 0 < s < float("inf")]
        if shares:
            raise InvalidInputError(
                f"invalid budget: alert shares must be > 0 (1.0 = the limit), got {shares!r}"
            )
        return config.model_copy(update={"alert_shares": tuple(sorted(set(config.alert_shares)))})

    @property
    def any(self) -> bool:
        return self.daily is not None or self.monthly is not None or bool(self.per_model_daily)


def budget_status(conn: Connection, config: BudgetConfig, now: datetime) -> BudgetStatus:
    from router.ledger.queries import period_window, spend_by_model

    day = period_window(Period.DAY, now)
    month = period_window(Period.MONTH, now)
    assert day[0] is not None and day[1] is not None and month[0] is not None and month[1] is not None
    rows = spend_by_model(conn, (month[0], month[1]), (day[0], day[1]))
    month_by_model = {r.model: float(r.month or 0.0) for r in rows}
    day_by_model = {r.model: float(r.day or 0.0) for r in rows}
    limits = []
    if config.daily is not None:
        limits.append(
            BudgetLimit(
                period=Period.DAY,
                model=None,
                limit=config.daily,
                spent=sum(day_by_model.values()),
                period_start=day[0],
            )
        )
    if config.monthly is not None:
        limits.append(
            BudgetLimit(
                period=Period.MONTH,
                model=None,
                limit=config.monthly,
                spent=sum(month_by_model.values()),
                period_start=month[0],
            )
        )
    for model, limit in sorted(config.per_model_daily.items()):
        limits.append(
            BudgetLimit(
                period=Period.DAY,
                model=model,
                limit=limit,
                spent=day_by_model.get(model, 0.0),
                period_start=day[0],
            )
        )
    return BudgetStatus(limits=limits)


def claim_new_alerts(
    conn: Connection, status: BudgetStatus, shares: tuple[float, ...], now: datetime
) -> list[BudgetAlert]:
    """Alerts for every share each limit has reached, minus those some process already claimed."""
    from router.ledger.queries import claim_alert

    fresh = []
    for limit in status.limits:
        scope = f"{limit.period.value}:{limit.model or '*'}"
        for share in shares:
            if limit.spent >= share * limit.limit and claim_alert(
                conn, scope, limit.period_start, share, now
            ):
                fresh.append(BudgetAlert(limit=limit, share=share))
    return fresh
