"""``router evaluate``'s human output never prints ``nan``: an undefined figure reads ``n/a (why)``."""

from __future__ import annotations

from typer.testing import CliRunner

from router._outcome_log import write_outcomes
from router.cli import app
from training import train_router
from training.synthetic import generate_outcomes


def test_an_undefined_auc_reads_n_a_with_the_reason(tmp_path):
    frame = generate_outcomes(80, seed=2)
    artifact = tmp_path / "artifact"
    train_router(frame, output_dir=artifact, log_to_mlflow=False)
    always = frame.copy()
    always.loc[always["model"] == "opus", "success"] = 1.0  # one class: opus's AUC is undefined
    log = write_outcomes(always, tmp_path / "always.parquet")
    result = CliRunner().invoke(app, ["evaluate", "--data", str(log), "--model", str(artifact)])
    assert result.exit_code == 0, result.output
    assert "nan" not in result.stdout.lower()
    assert "n/a (its outcomes are all" in result.stdout  # the table may wrap the rest of the reason
