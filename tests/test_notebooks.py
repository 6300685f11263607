"""Notebooks run in the test suite, so they never rot: each is executed on a small synthetic experiment."""

from __future__ import annotations

import os

import nbformat
import pytest
from nbclient import NotebookClient

from tests._helpers import ROOT

pytestmark = pytest.mark.slow


def test_compare_experiments_notebook_runs_on_the_experiment(experiment, monkeypatch, tmp_path):
    # The kernel inherits this environment: it reads the session's runs and imports this checkout's packages.
    monkeypatch.setenv("MLFLOW_TRACKING_URI", experiment.tracking_uri)
    monkeypatch.setenv("ROUTER_EXPERIMENT", experiment.name)
    monkeypatch.setenv("ROUTER_DATA_DIR", str(experiment.data_dir))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setenv("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    notebook = nbformat.read(ROOT / "notebooks" / "01-compare-experiments.ipynb", as_version=4)
    client = NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert f"experiment: {experiment.name}" in text
    html = "".join(o.get("data", {}).get("text/html", "") for o in outputs)
    assert "apgr" in html and "<th>C</th>" in html, "the runs' table: metrics, then the differing params"
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 1 + len(experiment.runs), (
        "the comparison figure and one reliability diagram per run"
    )
