"""``router monitor report|check|serve`` on a real database: default windows, exit codes, JSON, plot."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from router import Router
from router.cli import app
from router.telemetry import Collector
from tests.telemetry.traffic import Clock, serve_window, task_pool

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


@pytest.fixture(scope="module")
def artifact(tmp_path_factory) -> Path:
    """A learned router trained on a small synthetic log (no MLflow), with its traffic reference."""
    from training import train_router
    from training.synthetic import generate_outcomes

    out = tmp_path_factory.mktemp("artifact") / "router"
    train_router(generate_outcomes(300, seed=1), log_to_mlflow=False, output_dir=out)
    return out


@pytest.fixture(scope="module")
def ledger(tmp_path_factory, artifact) -> Path:
    """Half an hour of traffic ending ten minutes ago, from the learned router, with its outcomes."""
    path = tmp_path_factory.mktemp("ledger") / "ledger.db"
    clock = Clock(datetime.now(UTC) - timedelta(minutes=40))
    descriptions, _ = task_pool(500, seed=3)
    with Collector(path, clock=clock) as collector:
        router = Router.load(artifact, strict=True)
        serve_window(
            collector,
            clock,
            descriptions,
            random.Random(5),
            n=400,
            router=router,
            span_s=1800,
            uri=str(artifact),
        )
        assert collector.flush()
    return path


def test_training_stores_the_traffic_reference(artifact):
    meta = json.loads((artifact / "metadata.json").read_text())
    ref = meta["traffic_reference"]
    assert ref["version"] == 1 and ref["tasks"] > 0
    assert set(ref["counts"]) == {"score", "level", "task_type", "length", "top_term"}
    counts = [n for _, n in ref["top_terms"]]  # pairs, most common first, through the artifact's JSON
    assert 0 < len(counts) <= 30 and counts == sorted(counts, reverse=True)
    assert max(counts) <= ref["tasks"] / 2


def test_report_defaults_to_a_window_covering_the_last_hour(ledger):
    result = run("monitor", "report", "--db", str(ledger), "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["decisions"] == 400 and payload["attempts"] == 400
    assert datetime.fromisoformat(payload["end"]) - datetime.fromisoformat(payload["start"]) >= timedelta(
        hours=1
    )
    assert payload["calibration"] is None and payload["drift"]["available"] is False


def test_report_with_the_model_checks_drift_and_calibration_and_plots(ledger, artifact, tmp_path):
    plot = tmp_path / "monitor.png"
    result = run(
        "monitor",
        "report",
        "--db",
        str(ledger),
        "--model",
        str(artifact),
        "--window",
        "1h",
        "--plot",
        str(plot),
    )
    assert result.exit_code == 0, result.output
    assert "Per model" in result.stdout and "Drift against" in result.stdout
    assert "Calibration (first attempts)" in result.stdout and "ECE" in result.stdout
    assert plot.stat().st_size > 10_000 and plot.read_bytes()[:4] == b"\x89PNG"


def test_an_artifact_without_a_reference_says_so(ledger, artifact, tmp_path):
    old = tmp_path / "old"
    shutil.copytree(artifact, old)
    meta = json.loads((old / "metadata.json").read_text())
    del meta["traffic_reference"]
    (old / "metadata.json").write_text(json.dumps(meta))
    result = run("monitor", "report", "--db", str(ledger), "--model", str(old), "--json")
    assert result.exit_code == 0, result.output
    drift = json.loads(result.stdout)["drift"]
    assert drift["available"] is False and "trained before" in drift["reason"]


def rules_file(tmp_path: Path, threshold: float) -> Path:
    path = tmp_path / f"rules-{threshold}.toml"
    path.write_text(
        f'[[rules]]\nname = "errors"\nmetric = "error_rate"\nwindow = "1h"\nthreshold = {threshold}\n'
        "min_samples = 10\n"
    )
    return path


def test_check_exits_0_when_quiet_and_1_when_a_rule_is_crossed(ledger, tmp_path):
    quiet = run("monitor", "check", "--db", str(ledger), "--rules", str(rules_file(tmp_path, 0.99)))
    assert quiet.exit_code == 0, quiet.output
    crossed = run(
        "monitor", "check", "--db", str(ledger), "--rules", str(rules_file(tmp_path, 0.01)), "--json"
    )
    assert crossed.exit_code == 1, crossed.output
    payload = json.loads(crossed.stdout)
    assert payload["crossed"] == ["errors"] and len(payload["fired"]) == 1
    again = run("monitor", "check", "--db", str(ledger), "--rules", str(rules_file(tmp_path, 0.01)), "--json")
    assert again.exit_code == 1 and json.loads(again.stdout)["fired"] == []  # the same crossing


def test_check_with_the_shipped_rules_and_the_model(ledger, artifact):
    result = run("monitor", "check", "--db", str(ledger), "--model", str(artifact), "--json")
    assert result.exit_code in (0, 1), result.output
    rules = {r["rule"]: r for r in json.loads(result.stdout)["rules"]}
    assert rules["traffic-drift"]["samples"] == 400


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["report", "--window", "-1h"], "window must be"),
        (["report", "--plot", "out.jpg"], "--plot must name a .png"),
        (["check", "--webhook", "ftp://x"], "--webhook must be"),
        (["report", "--db", "missing.db"], "No ledger at"),
    ],
    ids=["negative window", "plot format", "webhook scheme", "missing ledger"],
)
def test_bad_input_exits_2_with_one_error_line(ledger, tmp_path, args, message):
    if "--db" not in args:
        args = [*args, "--db", str(ledger)]
    result = runner.invoke(app, ["monitor", *args])
    assert result.exit_code == 2, result.output
    assert message in result.stderr and result.stderr.count("error:") == 1


def test_a_bad_rules_file_exits_2_naming_the_field(ledger, tmp_path):
    path = tmp_path / "rules.toml"
    path.write_text('[[rules]]\nname = "x"\nmetric = "vibes"\nthreshold = 1\n')
    result = run("monitor", "check", "--db", str(ledger), "--rules", str(path))
    assert result.exit_code == 2 and "rules.0.metric" in result.stderr


def test_serve_exposes_metrics_until_interrupted(ledger):
    env = {**os.environ, "PYTHONPATH": str(Path.cwd())}
    with subprocess.Popen(
        [sys.executable, "-m", "router.cli", "monitor", "serve", "--port", "0", "--db", str(ledger)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
        # A test run started in the background of a non-interactive shell inherits SIGINT ignored, and
        # the server would then never see the interrupt this test sends: give it the default handler.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    ) as server:
        assert server.stdout is not None
        line = server.stdout.readline()
        url = line.split()[1]
        try:
            with urllib.request.urlopen(url, timeout=120) as response:
                body = response.read().decode()
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=30)
    assert "router_decisions_total" in body and server.returncode == 0


def test_the_learned_router_records_its_decisions_with_predictions_and_its_uri(artifact, tmp_path):
    from sqlalchemy import select

    from router.telemetry.schema import decisions

    with Collector(tmp_path / "ledger.db") as collector:
        router = Router.load(artifact, strict=True, exploration_rate=0.5, seed=1, collector=collector)
        router.route("Fix the flaky login test", files=["login_test.py"], metadata={"repo": "acme/site"})
        router.route_many([f"Add a unit test for parser case {i}" for i in range(20)])
        assert collector.flush()
        with collector.store.read() as conn:
            rows = conn.execute(select(decisions)).all()
    assert len(rows) == 21
    assert {r.source for r in rows} == {"learned"} and {r.model_uri for r in rows} == {str(artifact)}
    assert all(r.p_chosen is not None and 0 < r.p_chosen < 1 and r.latency_s > 0 for r in rows)
    assert any(r.explored for r in rows) and any(r.propensity < 1 for r in rows)
    # The decision carries the metadata route took, and the telemetry event keeps it.
    assert sorted(json.loads(r.metadata) for r in rows if r.metadata != "{}") == [{"repo": "acme/site"}]
    assert sum(r.metadata == "{}" for r in rows) == 20
