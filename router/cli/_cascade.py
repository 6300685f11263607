"""``router evaluate --cascade --cv K``: the learned cascade's held-out curve beside the single choice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.table import Table

from router.cli._app import out, print_json


def evaluate_cascade(data: Path, folds: int, *, catalog: Any = None, as_json: bool = False) -> None:
    from training.evaluation.cascade_cv import cascade_report

    report = cascade_report(data, folds=folds, catalog=catalog)
    if as_json:
        print_json(report)
        return
    show_cascade(report)


def show_cascade(report: dict[str, Any]) -> None:
    """Single models, then the single choice and the cascade against the hull (held-out, K folds)."""
    table = Table("model", "success", "mean cost", box=None, padding=(0, 2))
    for name, single in report["singles"].items():
        table.add_row(name, f"{single['success']:.3f}", f"${single['cost']:.5f}")
    out.print(table)
    out.print(
        f"{report['folds']}-fold over {report['tasks']} tasks; gain over the hull is curve against curve",
        highlight=False,
    )
    for key in ("single_choice", "cascade"):
        v = report[key]
        share = v["cost_share_at_best_single"]
        reach = "never" if share != share or share == float("inf") else f"{share:.0%} of its cost"
        out.print(
            f"{key:>13}: gain over hull {v['gain_vs_hull']:+.3f}, top success {v['top_success']:.3f} "
            f"(best single {v['best_single_success']:.3f}), best single's success reached at {reach}",
            highlight=False,
        )
    c = report["cascade"]
    out.print(f"{'':>13}  P(right) ECE {c['ece']:.3f}, {c['mean_calls']:.2f} calls per task", highlight=False)
