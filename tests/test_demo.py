"""``make demo`` runs scripts/demo.py: it must route its tasks end to end and show each decision, then run the
learning loop (record, retrain twice, compare, promote, serve the champion) and print before and after."""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests._helpers import ROOT, run_python

HEADER = re.compile(
    r"^(haiku|sonnet|opus)  \((simple|moderate|complex|critical), score (\d+)/100, ", re.MULTILINE
)
BEFORE_AFTER = re.compile(r"^\s+(before|after)\s+(\d+\.\d)%\s+\$(\d+\.\d+)", re.MULTILINE)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    # A stand-in for the checkout make demo runs in: its notebooks/, and no .router yet.
    cwd = tmp_path_factory.mktemp("demo")
    (cwd / "notebooks").mkdir()  # a copy, not a link: the kernel's ".." must be this directory
    shutil.copy(ROOT / "notebooks" / "01-compare-experiments.ipynb", cwd / "notebooks")
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
    assert (cwd / ".router" / "mlflow.db").is_file(), "the embedded default store, in the data dir"


def next_steps(out: str) -> list[str]:
    """The commands the demo prints at its end, to be run from the directory it ran in."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.endswith("Next, from this directory:"))
    return [line.strip() for line in lines[start + 1 :] if line.startswith("  ")]


@pytest.mark.slow
def test_the_commands_after_make_demo_read_what_it_wrote(demo):
    """As a new user goes on: the ledger's summary and routing stats, routing with the champion and the
    notebook, exactly as printed, from the same directory, with no environment set up."""
    result, cwd = demo
    commands = next_steps(result.stdout)
    assert [c.split()[1:3] for c in commands[:3]] == [
        ["costs", "summary"],
        ["routing", "stats"],
        ["route", "--model"],
    ]
    assert commands[3].endswith("jupyter-execute notebooks/01-compare-experiments.ipynb")
    assert commands[4].endswith("ui --backend-store-uri sqlite:///.router/mlflow.db")
    env = {k: v for k, v in os.environ.items() if k not in ("ROUTER_DATA_DIR", "MLFLOW_TRACKING_URI")}
    env["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"
    outputs = []
    for command in commands[:4]:
        done = subprocess.run(
            shlex.split(command), cwd=cwd, env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, (command, done.stdout, done.stderr)
        outputs.append(done.stdout)
    summary, stats, routed, _ = outputs
    readme = (ROOT / "README.md").read_text()
    venv_bin = str(Path(sys.executable).parent) + "/"
    for command in commands[:4]:
        assert command.replace(venv_bin, ".venv/bin/") in readme, command
    spent = re.search(r"^all \(since all time\): ([\d,]+) requests, \$([\d,.]+)", summary, re.M)
    assert spent and int(spent[1].replace(",", "")) > 1000, summary
    # The ledger holds what the handler did: first attempts and escalations (attempt 2+) by level.
    decisions = re.search(r"^all: ([\d,]+) decisions, ([\d,]+) needed a fallback", stats, re.M)
    assert decisions and 0 < int(decisions[2].replace(",", "")) < int(decisions[1].replace(",", ""))
    assert {"simple", "moderate", "complex", "critical"} <= set(
        re.findall(r"^\s+(\w+)\s+(?:haiku|sonnet|opus)\s", stats, re.M)
    )
    assert re.match(r"^(haiku|sonnet|opus)  \(\w+, score [\d.]+/100, \w+, learned\)$", routed.splitlines()[0])


def test_the_demo_routes_the_same_from_inside_the_checkout(monkeypatch, capsys):
    # The first task names README.md: run from the repository (whose README has 500 lines) it must still
    # be the simple task the README's table shows, not a longer one.
    monkeypatch.chdir(ROOT)
    spec = importlib.util.spec_from_file_location("demo_script", ROOT / "scripts" / "demo.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.show_heuristic()
    first = HEADER.search(capsys.readouterr().out)
    assert first is not None and first.groups()[:2] == ("haiku", "simple")


def test_the_demo_keeps_to_demo_dir_when_the_data_dir_holds_other_data(monkeypatch, tmp_path):
    spec = importlib.util.spec_from_file_location("demo_script", ROOT / "scripts" / "demo.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.syspath_prepend(str(ROOT / "scripts"))  # as when the script runs: demo_files beside it
    from demo_files import write_manifest

    data = tmp_path / "data"
    monkeypatch.setenv("ROUTER_DATA_DIR", str(data))
    assert module.demo_root() == (data, True)  # nothing there yet
    data.mkdir()
    (data / "ledger.db").write_bytes(b"")  # someone's ledger
    assert module.demo_root() == (data / "demo", False)
    write_manifest(data)  # an earlier demo's directory: its files listed, unchanged
    assert module.demo_root() == (data, True)
    (data / "ledger.db").write_bytes(b"rows the user imported since")
    assert module.demo_root() == (data / "demo", False)  # changed since: the user's now


@pytest.mark.slow
def test_demo_ends_with_a_monitor_report_then_the_drift_alert(demo):
    out = demo[0].stdout
    assert "router monitor report --window 1h" in out and "Drift against" in out
    # The usual traffic of the first hour does not drift (the champion's calibration on it may be off: the
    # demo's simulated world is not what the model learned, and that rule is allowed to say so).
    quiet = re.search(r"^router monitor check: \d+ rules crossed after the first hour \((.*)\)$", out, re.M)
    assert quiet is not None and "traffic-drift" not in quiet[1]
    assert re.search(r"^Alert \[warning\] traffic-drift: drift_psi [\d.]+ > 0\.1", out, re.MULTILINE)
    assert re.search(r"alerts fired: .*traffic-drift", out)
