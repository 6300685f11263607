"""Against a real ``mlflow server`` on loopback (SQLite backend, artifacts served by the server): train,
register, promote, and load ``models:/task-router@champion`` from a fresh process, as a team would."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests._helpers import ROOT, mlflow_server
from training import train_router
from training.experiments import CHAMPION, promote

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with mlflow_server(tmp_path_factory.mktemp("mlflow-server")) as url:
        yield url


def test_train_register_promote_and_serve_the_champion_from_a_fresh_process(server, tmp_path):
    import mlflow

    from training.synthetic import generate_outcomes

    # Small: this test is about the round trip through a server, not about the model's quality.
    log = generate_outcomes(150, seed=21)
    result = train_router(
        log, experiment="server", tracking_uri=server, register=True, output_dir=tmp_path / "a"
    )
    assert result.model_uri == "models:/task-router/1"
    promotion = promote(result.run_id, tracking_uri=server)
    assert promotion.promoted and promotion.version == "1"
    # The run's artifacts went through the server, not to a path this process wrote itself.
    assert mlflow.get_run(result.run_id).info.artifact_uri.startswith("mlflow-artifacts:")

    code = (
        "from router import Router\n"
        f"router = Router.load('models:/task-router@{CHAMPION}', strict=True)\n"
        "d = router.route('Fix the race condition in the connection pool under load')\n"
        "print(d.source, d.model, sorted(d.p_success))\n"
    )
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": server,
        "PYTHONPATH": str(ROOT),
        "ROUTER_DATA_DIR": str(tmp_path / "fresh"),
        "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    }
    fresh = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert fresh.returncode == 0, fresh.stderr
    source, model, names = fresh.stdout.split(" ", 2)
    assert source == "learned"
    assert model in {"haiku", "sonnet", "opus"}
    assert names.strip() == "['haiku', 'opus', 'sonnet']"
    assert not (tmp_path / "fresh" / "mlflow.db").exists(), (
        "the fresh process read the server, no local store"
    )
