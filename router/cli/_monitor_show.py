"""The human form of ``router monitor report``: a few short tables."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from router.telemetry.analyzer import Report


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def show_report(out: Console, r: Report) -> None:
    out.print(
        f"[bold]Window[/] {r.start:%Y-%m-%d %H:%M} → {r.end:%Y-%m-%d %H:%M} UTC: {r.decisions:,} decisions, "
        f"{r.tasks:,} tasks, {r.attempts:,} attempts, ${r.cost_usd:,.4f}",
        highlight=False,
    )
    models = Table(
        "model", "decisions", "attempts", "success", "cost $", "p50 ms", "p95 ms", "realized/expected",
        title="Per model",
    )  # fmt: skip
    for m in r.models:
        ratio = "-" if m.realized_over_expected is None else f"{m.realized_over_expected:.2f}"
        models.add_row(
            m.model, f"{m.decisions:,}", f"{m.attempts:,}", _pct(m.success_rate), f"{m.cost_usd:,.4f}",
            _ms(m.latency_p50_ms), _ms(m.latency_p95_ms), ratio,
        )  # fmt: skip
    out.print(models)
    rates = Table("measure", "value", title="Traffic")
    rows = [
        ("success rate", _pct(r.success_rate)),
        ("success 7 windows before", _pct(r.baseline_success_rate)),
        ("retries / task", _pct(r.retry_rate)),
        ("fallbacks / task", _pct(r.fallback_rate)),
        ("escalations / task", _pct(r.escalation_rate)),
        ("exploration share", _pct(r.exploration_share)),
        ("novel tasks (novelty > 1)", _pct(r.novel_share)),
        (
            "decision latency p50 / p95 ms",
            f"{_ms(r.decision_latency_p50_ms)} / {_ms(r.decision_latency_p95_ms)}",
        ),
        ("failures by reason", ", ".join(f"{k} {v}" for k, v in r.failures_by_reason.items()) or "none"),
        ("breaker openings", ", ".join(f"{k} {v}" for k, v in r.breaker_openings.items()) or "none"),
        ("burn rate", f"${r.burn_usd_per_hour:,.4f}/h"),
        ("month to date / projected", f"${r.month_to_date_usd:,.2f} / ${r.projected_month_usd:,.2f}"),
    ]
    for name, value in rows:
        rates.add_row(name, value)
    out.print(rates)
    cal = r.calibration
    if cal is None:
        out.print("Calibration: not checked (give --model).", highlight=False)
    elif not cal.samples:
        out.print(f"Calibration: no outcomes of {r.model_uri}'s decisions in the window.", highlight=False)
    else:
        table = Table(
            "predicted", "tasks", "mean predicted", "observed", title="Calibration (first attempts)"
        )
        for row in cal.table:
            table.add_row(
                f"{row.low:.1f}–{row.high:.1f}",
                f"{row.count:,}",
                f"{row.predicted:.3f}",
                f"{row.observed:.3f}",
            )
        out.print(table)
        out.print(
            f"ECE {cal.ece:.3f} (Hosmer–Lemeshow p={cal.p_value:.2g}); predicted {cal.mean_predicted:.3f}, "
            f"observed {cal.observed:.3f} (drop p={cal.drop_p_value:.2g})",
            highlight=False,
        )
    drift = r.drift
    if not drift.available:
        out.print(f"Drift: not checked ({drift.reason}).", highlight=False)
        return
    table = Table(
        "feature", "PSI", "p-value", title=f"Drift against {drift.reference_tasks:,} training tasks"
    )
    for name, feature in drift.features.items():
        table.add_row(name, f"{feature.psi:.3f}", f"{feature.p_value:.2g}")
    out.print(table)
