"""``make demo`` runs scripts/demo.py: it must route its tasks end to end and show each decision."""

from __future__ import annotations

import re

from tests._helpers import ROOT, run_python

HEADER = re.compile(
    r"^(haiku|sonnet|opus)  \((simple|moderate|complex|critical), score (\d+)/100, ", re.MULTILINE
)


def test_demo_prints_decisions_for_haiku_sonnet_and_opus(tmp_path):
    result = run_python([str(ROOT / "scripts" / "demo.py")], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    decisions = HEADER.findall(result.stdout)
    assert len(decisions) >= 4
    assert {model for model, _, _ in decisions} == {"haiku", "sonnet", "opus"}
    assert ("haiku", "simple") in {(m, lvl) for m, lvl, _ in decisions}
    assert ("opus", "critical") in {(m, lvl) for m, lvl, _ in decisions}
    assert result.stdout.count("escalation: ") == len(decisions)
    assert "estimator statistics:" in result.stdout
