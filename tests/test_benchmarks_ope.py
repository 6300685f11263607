"""The off-policy evaluation benchmark runs at a tiny size and renders its table (no figure is asserted)."""

from __future__ import annotations

import pytest

from benchmarks import ope
from benchmarks._report import ope_md


@pytest.mark.slow
def test_scale_part_runs_and_renders(tmp_path):
    result = ope.run(True, tmp_path, parts=("scale",), rows=3000)
    scale = result["scale"]
    assert scale["rows"] == 3000 and scale["total_s"] > 0
    assert set(scale["stages"]) == {
        "read and check the log",
        "reward model (features, 5 folds)",
        "policy's choices (featurize, decide)",
        "estimate and 200 bootstrap resamples",
    }
    text = "\n".join(ope_md(result))
    assert "3,000-row partial log" in text and "goal <= 60 s" in text


def test_study_renders_every_cell():
    cell = {
        "epsilon": 0.1,
        "size": 500,
        "logs": 200,
        "truth": 0.5,
        "coverage": {"dr": 0.93, "ips": 0.9, "snips": 0.92},
        "bias": {"dr": 0.001, "ips": -0.002, "snips": 0.0},
        "rmse": {"dr": 0.05, "ips": 0.08, "snips": 0.05},
        "width": {"dr": 0.2, "ips": 0.3, "snips": 0.2},
    }
    gate = {
        "swap": "a -> b",
        "gain": 0.032,
        "cost_gap": -0.0005,
        "rows": [{"epsilon": 0.1, "power": 0.3, "size": 0.0, "logs": 200}],
    }
    text = "\n".join(ope_md({"study": {"world": "synthetic", "cells": [cell], "gate": gate}}))
    assert "| 0.1 | 500 | 200 | 0.930 / 0.900 / 0.920 |" in text
    assert "3.2 points better" in text and "| 0.1 | 30.0% | 0.0% | 200 |" in text


def test_the_gate_against_log_size_runs_on_the_synthetic_world_and_renders(monkeypatch):
    """Part "gate" on the synthetic world (SWE-bench is made to look absent): every size x epsilon cell, a
    promotion share in [0, 1] for both directions, and the table with the size column."""
    from router._exceptions import InvalidInputError

    def absent(*args, **kwargs):
        raise InvalidInputError("no shared data here")

    monkeypatch.setattr("training.swebench.load_swebench", absent)
    monkeypatch.setattr(ope, "QUICK_GATE_SIZES", (300, 600))
    monkeypatch.setattr(ope, "QUICK_LOGS", 5)
    result = ope.gate_by_size(quick=True)
    assert result["world"].startswith("synthetic")
    assert [(r["tasks"], r["epsilon"]) for r in result["rows"]] == [
        (t, e) for t in (300, 600) for e in ope.GATE_EPSILONS
    ]
    assert all(0.0 <= r["power"] <= 1.0 and 0.0 <= r["size"] <= 1.0 for r in result["rows"])
    text = "\n".join(ope_md({"gate": result}))
    assert "| tasks | epsilon | promotes the better | promotes the worse | logs |" in text
    assert "| 600 | 1 |" in text
