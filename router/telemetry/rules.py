"""Monitoring rules: a metric over a window compared with a threshold, read from TOML and checked once.

A rule says nothing until its window holds ``min_samples``; a drift, calibration or success-drop rule also
needs its statistical test to reject "nothing changed" at ``false_alarm`` (the probability that stable
traffic fires it in one check), so noise in a small window does not page anyone.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from router._toml import load_toml_model, packaged_file
from router.telemetry.analyzer import Report
from router.telemetry.window import parse_duration

Metric = Literal[
    "drift_psi",
    "calibration_ece",
    "success_drop",
    "error_rate",
    "retry_rate",
    "fallback_rate",
    "escalation_rate",
    "exploration_share",
    "novel_share",
    "breaker_openings",
    "burn_usd_per_hour",
    "projected_month_usd",
    "decision_latency_p95_ms",
]
#: Metrics whose rules also need a statistical test to reject "no change" at the rule's false-alarm rate.
STATISTICAL = frozenset({"drift_psi", "calibration_ece", "success_drop"})
COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


class Rule(BaseModel):
    """One rule of a rules file (``[[rules]]``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    metric: Metric
    window: str = "1h"
    comparison: Literal[">", ">=", "<", "<="] = ">"
    threshold: float = Field(allow_inf_nan=False)
    min_samples: int = Field(default=100, ge=0)
    severity: Literal["info", "warning", "critical"] = "warning"
    cooldown: str = "1h"
    false_alarm: float = Field(default=0.01, gt=0, le=0.5)

    @field_validator("window", "cooldown")
    @classmethod
    def _duration(cls, value: str, info: object) -> str:
        parse_duration(value, field=getattr(info, "field_name", "window"))
        return value

    @property
    def window_length(self) -> timedelta:
        return parse_duration(self.window)

    @property
    def cooldown_length(self) -> timedelta:
        return parse_duration(self.cooldown, field="cooldown")


class Webhook(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    url: str = Field(pattern=r"^https?://")
    timeout_s: float = Field(default=5.0, gt=0, le=300)
    retries: int = Field(default=3, ge=0, le=10)


class RuleSet(BaseModel):
    """A rules file: the rules and where alerts go besides the log and the alert table."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rules: list[Rule]
    webhook: Webhook | None = None

    @field_validator("rules")
    @classmethod
    def _unique(cls, rules: list[Rule]) -> list[Rule]:
        names = [r.name for r in rules]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"rule names must be unique, repeated: {', '.join(twice)}")
        return rules

    @classmethod
    def load(cls, path: str | Path | None = None) -> RuleSet:
        """A rules file, else the packaged ``router/data/monitor.toml``; a ConfigError names bad fields."""
        return load_toml_model(cls, path or packaged_file("monitor.toml"), what="monitoring rules")


@dataclass(frozen=True)
class Verdict:
    """A rule checked against one window: ``crossed`` is None when it could not say (too few samples)."""

    rule: Rule
    value: float | None
    samples: int
    crossed: bool | None
    detail: str


def evaluate(rule: Rule, report: Report) -> Verdict:
    value, samples, p_value, why_not = _measure(rule.metric, report)
    if value is None:
        return Verdict(rule, None, samples, None, why_not)
    if samples < rule.min_samples:
        return Verdict(rule, value, samples, None, f"{samples} samples, fewer than {rule.min_samples}")
    crossed = COMPARISONS[rule.comparison](value, rule.threshold)
    detail = f"{rule.metric} {value:.4g} {rule.comparison} {rule.threshold:g}: {'yes' if crossed else 'no'}"
    if rule.metric in STATISTICAL:
        significant = p_value is not None and p_value < (
            rule.false_alarm / max(1, len(report.drift.tests))
            if rule.metric == "drift_psi"
            else rule.false_alarm
        )
        crossed = crossed and significant
        detail += f"; test p={p_value:.2g} at false-alarm rate {rule.false_alarm:g}"
    return Verdict(rule, value, samples, crossed, detail)


def _measure(metric: str, r: Report) -> tuple[float | None, int, float | None, str]:
    """(value, samples, p-value of the metric's test, why there is no value)."""
    cal = r.calibration
    if metric == "drift_psi":
        if not r.drift.available:
            return None, 0, None, f"drift not checked: {r.drift.reason}"
        p = min((t.p_value for t in r.drift.tests.values()), default=1.0)
        return r.drift.max_psi, r.drift.samples, p, ""
    if metric == "calibration_ece":
        if cal is None:
            return None, 0, None, "calibration not checked: no --model given"
        return cal.ece, cal.samples, cal.p_value, ""
    if metric == "success_drop":
        if cal is not None and cal.samples:
            return cal.drop, cal.samples, cal.drop_p_value, ""
        return r.success_drop_vs_baseline, r.attempts, r.success_drop_vs_baseline_p, ""
    values: dict[str, tuple[float | None, int]] = {
        "error_rate": (r.error_rate, r.attempts),
        "retry_rate": (r.retry_rate, r.tasks),
        "fallback_rate": (r.fallback_rate, r.tasks),
        "escalation_rate": (r.escalation_rate, r.tasks),
        "exploration_share": (r.exploration_share, r.decisions),
        "novel_share": (r.novel_share, r.novelty_scored),
        "breaker_openings": (float(sum(r.breaker_openings.values())), r.attempts),
        "burn_usd_per_hour": (r.burn_usd_per_hour, r.attempts),
        "projected_month_usd": (r.projected_month_usd, r.attempts),
        "decision_latency_p95_ms": (r.decision_latency_p95_ms, r.decisions),
    }
    value, samples = values[metric]
    return value, samples, None, "" if value is not None else "no events in the window"
