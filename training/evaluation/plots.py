"""Figures of a training run: the cost-quality curve against its baselines, and the reliability diagram.

Figures are built with ``matplotlib.figure.Figure`` rather than ``pyplot``: no global backend is chosen and no
window can open, so training on a headless server, in a test or in a notebook draws the same PNG.

The inputs are the run's *curves*: the dict :func:`run_curves` builds from ``TrainResult.details`` and that
the tracking logs as ``evaluation/curves.json`` (so the comparison command and the notebook redraw any run
from MLflow without retraining).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from training.evaluation.metrics import upper_hull


def run_curves(details: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON-ready curves of one run: single models, their hull, the policy and the cascade (held-out,
    full-information tasks; cost in dollars per task, success as a share), and the reliability bins."""
    curves: dict[str, Any] = {
        "models": list(details.get("models", [])),
        "reliability": details.get("reliability", {}),
        "full_information_tasks": details.get("full_information_tasks", 0),
    }
    if "singles" in details:
        singles = np.asarray(details["singles"], dtype=float)
        curves |= {
            "singles": singles.tolist(),
            "hull": upper_hull(singles).tolist(),
            "policy": details["policy"],
            "cascade": details["cascade"],
        }
    return curves


def draw_cost_quality(
    ax: Axes, curves: Mapping[str, Any], *, label: str = "router", baselines: bool = True
) -> None:
    """The router's (cost, success) over the tradeoff grid; with ``baselines``, the single models, their
    upper convex hull and random mixing of the cheapest and the best model."""
    if "policy" not in curves:
        ax.text(0.5, 0.5, "no full-information held-out tasks", ha="center", transform=ax.transAxes)
        return
    policy = np.asarray(curves["policy"], dtype=float)
    order = np.argsort(policy[:, 0], kind="stable")
    ax.plot(policy[order, 0], policy[order, 1], "-", lw=2, label=label)
    if not baselines:
        return
    cascade = np.asarray(curves["cascade"], dtype=float)
    order = np.argsort(cascade[:, 0], kind="stable")
    ax.plot(cascade[order, 0], cascade[order, 1], "-", lw=1, alpha=0.7, label=f"{label}: cascade")
    singles = np.asarray(curves["singles"], dtype=float)
    hull = np.asarray(curves["hull"], dtype=float)
    ax.plot(hull[:, 0], hull[:, 1], "--", color="grey", label="hull of single models")
    cheap, best = singles[np.argmin(singles[:, 0])], singles[np.argmax(singles[:, 1])]
    ax.plot([cheap[0], best[0]], [cheap[1], best[1]], ":", color="black", label="random mixing")
    ax.scatter(singles[:, 0], singles[:, 1], color="black", zorder=3)
    for name, (cost, success) in zip(curves["models"], singles, strict=True):
        ax.annotate(name, (cost, success), textcoords="offset points", xytext=(4, -10), fontsize=8)


def draw_reliability(
    ax: Axes, reliability: Mapping[str, list[dict[str, float]]], *, prefix: str = ""
) -> None:
    """Observed against predicted P(success), per bin and model; the diagonal is perfect calibration."""
    if not ax.lines:  # the diagonal once, however many runs share the axes
        ax.plot([0, 1], [0, 1], ":", color="grey")
    for name, bins in reliability.items():
        if bins:
            ax.plot(
                [b["predicted"] for b in bins], [b["observed"] for b in bins], "o-", ms=3, label=prefix + name
            )
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="predicted P(success)", ylabel="observed success rate")
    if ax.get_legend_handles_labels()[0]:  # a partial log may leave nothing to label (matplotlib warns)
        ax.legend(fontsize=8)


def _cost_axes(ax: Axes, title: str) -> None:
    ax.set(xlabel="mean cost per task (USD)", ylabel="success rate", title=title)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:  # no full-information held-out tasks: nothing drawn to label
        ax.legend(fontsize=8, loc="lower right")


def cost_quality_figure(curves: Mapping[str, Any], title: str = "cost-quality on held-out tasks") -> Figure:
    fig = Figure(figsize=(7, 5), layout="constrained")
    ax = fig.add_subplot()
    draw_cost_quality(ax, curves)
    _cost_axes(ax, title)
    return fig


def reliability_figure(curves: Mapping[str, Any], title: str = "reliability on held-out tasks") -> Figure:
    fig = Figure(figsize=(5, 5), layout="constrained")
    ax = fig.add_subplot()
    draw_reliability(ax, curves.get("reliability", {}))
    ax.set_title(title)
    return fig


def compare_figure(curves_by_run: Mapping[str, Mapping[str, Any]]) -> Figure:
    """Several runs on one cost-quality plot (baselines from the first run that has them), and their
    reliability diagrams side by side."""
    fig = Figure(figsize=(12, 5), layout="constrained")
    cost_ax, rel_ax = fig.subplots(1, 2)
    first = True
    for label, curves in curves_by_run.items():
        if "policy" in curves:
            draw_cost_quality(cost_ax, curves, label=label, baselines=first)
            first = False
        draw_reliability(rel_ax, curves.get("reliability", {}), prefix=f"{label}: ")
    _cost_axes(cost_ax, "cost-quality on each run's held-out tasks")
    rel_ax.set_title("reliability")
    return fig
