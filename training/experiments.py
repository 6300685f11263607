"""Experiments in MLflow, for scripts and notebooks: compare runs, redraw their curves, promote a champion.

Importing this module imports MLflow; ``import training`` does not.

Examples
--------
>>> from training.experiments import compare_runs, compare_figure, run_curves  # doctest: +SKIP
>>> runs = compare_runs("router", metric="apgr")  # doctest: +SKIP
>>> compare_figure({r["run_name"]: run_curves(r["run_id"]) for r in runs[:3]})  # doctest: +SKIP
"""

from __future__ import annotations

from training.evaluation.plots import compare_figure, cost_quality_figure, reliability_figure
from training.tracking.registry import (
    CHAMPION,
    KEY_METRICS,
    Promotion,
    compare_runs,
    higher_is_better,
    promote,
    run_curves,
)
from training.tracking.runs import tracking_uri_for

__all__ = [
    "CHAMPION",
    "KEY_METRICS",
    "Promotion",
    "compare_figure",
    "compare_runs",
    "cost_quality_figure",
    "higher_is_better",
    "promote",
    "reliability_figure",
    "run_curves",
    "tracking_uri_for",
]
