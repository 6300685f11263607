"""``make demo`` runs scripts/demo.py: it must route its tasks end to end and show each decision, then run the
learning loop (record, retrain twice, compare, promote, serve the champion) and print before and after."""

from __future__ import annotations

import re

import pytest

from tests._helpers import ROOT, run_python

HEADER = re.compile(
    r"^(haiku|sonnet|opus)  \((simple|moderate|complex|critical), score (\d+)/100, ", re.MULTILINE
)
BEFORE_AFTER = re.compile(r"^\s+(before|after)\s+(\d+\.\d)%\s+\$(\d+\.\d+)", re.MULTILINE)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("demo")
    result = run_python([str(ROOT / "scripts" / "demo.py")], cwd=cwd, timeout=300)
    assert result.returncode == 0, result.stderr
    return result, cwd


def test_demo_prints_decisions_for_haiku_sonnet_and_opus(demo):
    result, _ = demo
    assert result.stderr == ""
    decisions = HEADER.findall(result.stdout)
    assert len(decisions) >= 4
    assert {model for model, _, _ in decisions} == {"haiku", "sonnet", "opus"}
    assert ("haiku", "simple") in {(m, lvl) for m, lvl, _ in decisions}
    assert ("opus", "critical") in {(m, lvl) for m, lvl, _ in decisions}
    assert result.stdout.count("escalation: ") == len(decisions)
    assert "estimator statistics:" in result.stdout


@pytest.mark.slow
def test_demo_runs_the_learning_loop_on_the_embedded_store(demo):
    result, cwd = demo
    out = result.stdout
    assert "attempts recorded in outcomes.parquet" in out
    assert len(re.findall(r"-> [0-9a-f]{8}", out)) == 2, "two training runs"
    assert re.search(r": promoted \(version 1\): no champion yet", out), "the first promotion succeeds"
    assert "4. promotion gate on a partial log" in out and "with its propensity" in out
    assert re.search(
        r": (promoted|refused) \(version 2\): doubly robust utility .* one-sided 95% lower bound [-+][\d.]+",
        out,
    )
    assert "models:/task-router@champion (learned)" in out
    rows = {name: (float(s), float(c)) for name, s, c in BEFORE_AFTER.findall(out)}
    assert set(rows) == {"before", "after"}
    assert (cwd / ".router" / "demo" / "mlflow.db").is_file(), "the embedded default store, in the data dir"
