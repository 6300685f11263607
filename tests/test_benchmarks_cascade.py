"""``python -m benchmarks.cascade``: the quick run measures next_step and says why the rest was skipped."""

from __future__ import annotations

import json

import pytest

from benchmarks import cascade


def test_quick_run_writes_latency_and_a_skip_reason(tmp_path):
    assert cascade.main(["--quick", "--out-dir", str(tmp_path)]) == 0
    result = json.loads((tmp_path / "cascade.json").read_text())
    assert 0 < result["latency"]["p50_us"] <= result["latency"]["p99_us"]
    assert "quick run" in result["held_out"]["skipped"]
    md = (tmp_path / "cascade.md").read_text()
    assert "`next_step` with three attempts of 2 KB outputs" in md and "skipped" in md


def test_the_table_shows_both_policies_per_set_and_never_for_an_unreached_cost():
    row = {"name": "learned cascade", "gain_vs_zero": 0.1, "top_quality": 0.6, "best_single": 0.59,
           "cost_at_best_quality": float("inf"), "ece": 0.04}  # fmt: skip
    section = {
        "latency": {"p50_us": 20.0, "p99_us": 50.0, "repeats": 5, "iterations": 3000},
        "held_out": {
            "math_l5": {"learned": row, "agreement": {**row, "name": "agreement rule", "ece": None}}
        },
        "cross_family": {"gsm8k_to_math_l5": {"learned": row, "agreement": row}},
    }
    md = "\n".join(cascade.cascade_md(section))
    assert "| math_l5 | learned cascade | +0.100 | 0.600 | 0.590 | never | 0.040 |" in md
    assert "| math_l5 | agreement rule | +0.100 | 0.600 | 0.590 | never | - |" in md
    assert "gsm8k → math_l5" in md


def test_an_unknown_set_is_refused(capsys):
    with pytest.raises(SystemExit) as exc:
        cascade.main(["--sets", "gsm9k"])
    assert exc.value.code == 2
    assert "unknown set(s) gsm9k; known: gsm8k, math_l5" in capsys.readouterr().err
