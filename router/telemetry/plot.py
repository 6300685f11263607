"""``router monitor report --plot``: success, cost and calibration over a window, in one PNG."""

from __future__ import annotations

from pathlib import Path

from router._extras import require
from router.telemetry.analyzer import analyze
from router.telemetry.store import Store
from router.telemetry.window import Window

SLICES = 24


def plot_window(store: Store, window: Window, model_uri: str | None, path: Path) -> None:
    """Three panels over ``SLICES`` equal slices of the window: success rate, cost, predicted vs observed."""
    require("matplotlib", extra="monitor")
    import matplotlib

    matplotlib.use("Agg")  # no display needed, and none assumed
    import matplotlib.pyplot as plt

    step = (window.end - window.start) / SLICES
    times, success, cost, predicted, observed = [], [], [], [], []
    for i in range(SLICES):
        part = Window(window.start + i * step, window.start + (i + 1) * step)
        r = analyze(store, part, model_uri=model_uri)
        times.append(part.end)
        success.append(r.success_rate)
        cost.append(r.cost_usd)
        cal = r.calibration
        has = cal is not None and cal.samples > 0
        predicted.append(cal.mean_predicted if has and cal is not None else None)
        observed.append(cal.observed if has and cal is not None else None)
    fig, axes = plt.subplots(3, 1, figsize=(9, 8), sharex=True)
    axes[0].plot(times, [float("nan") if v is None else v for v in success], marker="o")
    axes[0].set_ylabel("success rate")
    axes[1].bar(times, cost, width=step * 0.8)
    axes[1].set_ylabel("cost ($)")
    axes[2].plot(times, [float("nan") if v is None else v for v in predicted], label="predicted")
    axes[2].plot(times, [float("nan") if v is None else v for v in observed], label="observed")
    axes[2].set_ylabel("P(success)")
    axes[2].legend()
    fig.suptitle(f"router monitor: {window.start:%Y-%m-%d %H:%M} to {window.end:%Y-%m-%d %H:%M} UTC")
    fig.autofmt_xdate()
    fig.savefig(path, dpi=90)
    plt.close(fig)
