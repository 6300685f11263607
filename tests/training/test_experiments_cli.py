"""``router experiments compare``: an experiment's runs side by side, best first, and their combined plot."""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

from router.cli import app

pytestmark = pytest.mark.slow


@pytest.fixture
def compare(experiment):
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(
            app, ["experiments", "compare", "--tracking-uri", experiment.tracking_uri, *args]
        )

    return invoke


def test_json_ranks_the_runs_best_first(experiment, compare):
    result = compare("--experiment", experiment.name, "--json")
    assert result.exit_code == 0, result.output
    runs = json.loads(result.stdout)
    assert {r["run_id"] for r in runs} == {r.run_id for r in experiment.runs.values()}
    values = [r["metrics"]["apgr"] for r in runs]
    assert values == sorted(values, reverse=True)
    assert {r["params"]["C"] for r in runs} == {"0.3", "0.01"}


def test_lower_is_better_metrics_rank_ascending(experiment, compare):
    runs = json.loads(compare("--experiment", experiment.name, "--metric", "ece_max", "--json").stdout)
    values = [r["metrics"]["ece_max"] for r in runs]
    assert values == sorted(values)


def test_runs_without_the_metric_rank_last(experiment, compare):
    from training.tracking.registry import compare_runs

    runs = compare_runs(experiment.name, metric="no_such_metric", tracking_uri=experiment.tracking_uri)
    assert len(runs) == 2
    assert all(math.isfinite(r["metrics"]["apgr"]) for r in runs)


def test_table_shows_runs_side_by_side_with_differing_params_marked(experiment, compare, tmp_path):
    plot = tmp_path / "runs.png"
    result = compare("--experiment", experiment.name, "--plot", str(plot))
    assert result.exit_code == 0, result.output
    for run in experiment.runs.values():
        assert run.run_id[:12] in result.stdout
    lines = result.stdout.splitlines()
    assert any(line.strip().startswith("C *") for line in lines), "C differs between the runs"
    assert any(line.strip().startswith("data.sha256 ") for line in lines), "the data is the same"
    apgr_row = next(line for line in lines if line.strip().startswith("apgr"))
    shown = [float(v) for v in apgr_row.split()[1:]]
    assert shown == sorted(shown, reverse=True)
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_unknown_experiment_is_bad_input_naming_the_known_ones(experiment, compare):
    result = compare("--experiment", "nope")
    assert result.exit_code == 2
    assert "Unknown experiment 'nope'" in result.stderr and experiment.name in result.stderr
