"""The promotion gate on a partial log: the doubly robust paired difference's lower bound decides."""

from __future__ import annotations

import pytest
from mlflow import MlflowClient
from typer.testing import CliRunner

from router._exceptions import InvalidInputError
from router._outcome_log import write_outcomes
from router.cli import app
from training import train_router
from training.synthetic import generate_outcomes
from training.tracking.registry import CHAMPION, promote

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def inverted_run(experiment, tmp_path_factory) -> str:
    """A run trained on the log with every outcome inverted: it sends tasks where they fail."""
    import pandas as pd

    frame = pd.read_parquet(experiment.log)
    where = tmp_path_factory.mktemp("inv")
    path = write_outcomes(frame.assign(success=1.0 - frame["success"]), where / "i.parquet")
    result = train_router(
        path, experiment="promote-ope", tracking_uri=experiment.tracking_uri, output_dir=where / "model"
    )
    assert result.run_id is not None
    return result.run_id


@pytest.fixture(scope="module")
def partial(tmp_path_factory) -> str:
    """A production-like log: one model per task by an exploring policy (30%), escalations after failures."""
    frame = generate_outcomes(3000, seed=21, mode="logged", epsilon=0.3, escalate=True)
    return str(write_outcomes(frame, tmp_path_factory.mktemp("ope") / "partial.parquet"))


def _tags(experiment, name: str, version: str) -> dict[str, str]:
    return MlflowClient(experiment.tracking_uri).get_model_version(name, version).tags


def test_better_candidate_is_promoted_over_a_worse_champion_and_tagged(experiment, inverted_run, partial):
    name = "ope-better"
    first = promote(inverted_run, data=partial, registered_name=name, tracking_uri=experiment.tracking_uri)
    assert first.promoted and first.lower_bound is None  # no champion yet
    good = experiment.runs["C=0.3"].run_id
    result = promote(good, data=partial, registered_name=name, tracking_uri=experiment.tracking_uri)
    assert result.promoted and not result.forced, result.reason
    assert result.metric == "dr_utility" and result.lower_bound is not None and result.lower_bound >= 0
    assert "one-sided 95% lower bound" in result.reason and "partial log" in result.reason
    tags = _tags(experiment, name, result.version)
    assert tags["promotion.estimator"] == "dr" and float(tags["promotion.lower_bound_95"]) >= 0
    # What the log can show: the improvement seen four times in five, read off this estimate's spread.
    assert result.detectable is not None and 0 < result.detectable < 1
    assert float(tags["promotion.detectable_80"]) == pytest.approx(result.detectable, rel=1e-5)
    assert "in 80% of cases" in result.reason and result.tasks_needed is not None


def test_worse_candidate_is_refused_and_force_promotes_it(experiment, inverted_run, partial):
    name = "ope-worse"
    good = experiment.runs["C=0.3"].run_id
    promote(good, data=partial, registered_name=name, tracking_uri=experiment.tracking_uri)
    runner = CliRunner()
    # Judged on success: the inverted run sends tasks where they fail, though its cheap choices can win on
    # utility at a champion's cost weight.
    base = ["promote", "--name", name, "--tracking-uri", experiment.tracking_uri, "--data", partial]
    base += ["--metric", "success"]
    refused = runner.invoke(app, [*base, "--run", inverted_run])
    assert refused.exit_code == 1, refused.output
    assert "not promoted:" in refused.stderr and "lower bound" in refused.stderr
    assert "candidate" in refused.stderr and "champion" in refused.stderr
    assert "in 80% of cases" in " ".join(refused.stderr.split())  # and what the log could have shown
    forced = runner.invoke(app, [*base, "--run", inverted_run, "--force"])
    assert forced.exit_code == 0 and "(forced)" in forced.stdout
    version = MlflowClient(experiment.tracking_uri).get_model_version_by_alias(name, CHAMPION).version
    assert _tags(experiment, name, str(version))["promotion.forced"] == "true"


def test_partial_log_without_exploration_is_refused_by_its_support(experiment, inverted_run, tmp_path):
    import pandas as pd

    name = "ope-support"
    promote(
        inverted_run, data=experiment.evaluation, registered_name=name, tracking_uri=experiment.tracking_uri
    )
    frame = pd.read_parquet(experiment.evaluation)
    one_model = frame[frame["model"] == "haiku"]  # every task to haiku, for sure (propensity 1)
    path = tmp_path / "greedy.csv"
    one_model.to_csv(path, index=False)
    with pytest.raises(InvalidInputError, match=r"could never have chosen.*exploration_rate="):
        promote(
            experiment.runs["C=0.3"].run_id, data=path, registered_name=name,
            tracking_uri=experiment.tracking_uri,
        )  # fmt: skip
