"""An unreachable tracking server: ``router route --model models:/...`` ends within 10 s with one clear
error (it blocked 251 s behind MLflow's retries), and ``Router.load`` warns and serves the heuristic unless
``strict``."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from router import Router
from router._exceptions import ArtifactError
from tests._helpers import ROOT, free_port

URI = "models:/task-router@champion"


@pytest.fixture
def closed_port_uri(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    import mlflow

    url = f"http://127.0.0.1:{free_port()}"  # bound, then released: nothing listens there
    monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
    # An earlier test in this process may have set a tracking URI, which MLflow prefers to the environment.
    before = mlflow.get_tracking_uri() if mlflow.tracking.is_tracking_uri_set() else None
    mlflow.set_tracking_uri(url)
    yield url
    mlflow.set_tracking_uri(before)  # type: ignore[arg-type]  # None unsets it


def test_route_with_an_unreachable_tracking_server_fails_within_10_s(closed_port_uri, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "ROUTER_DATA_DIR": str(tmp_path)}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "router.cli", "route", "Fix the flaky login test", "--model", URI],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    elapsed = time.monotonic() - started
    assert done.returncode == 2, done.stderr  # a --model that cannot be loaded is bad input, as in monitor
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: --model {URI!r} cannot be loaded: "), lines
    assert "Cannot reach the MLflow tracking server at " in lines[0]
    assert closed_port_uri in lines[0] and "MLFLOW_TRACKING_URI" in lines[0]
    print(f"router route --model {URI} against a closed port ended in {elapsed:.1f} s")
    assert elapsed < 10, f"took {elapsed:.1f} s"


def test_load_raises_when_strict_and_serves_the_heuristic_otherwise(closed_port_uri, caplog):
    with pytest.raises(ArtifactError, match="Cannot reach the MLflow tracking server"):
        Router.load(URI, strict=True)
    with caplog.at_level(logging.WARNING, logger="router"):
        router = Router.load(URI)
    assert router.route("Fix typo in README").source == "heuristic"
    assert "Falling back to the heuristic router" in caplog.text


def test_a_refreshing_router_starts_on_the_heuristic_and_counts_failed_look_ups(closed_port_uri):
    with Router.load(URI, refresh=3600) as router:
        assert router.route("Fix typo in README").source == "heuristic"
        assert router.refresh_now() is False
        assert router.refresh_failures == 1
    with pytest.raises(ArtifactError):
        Router.load(URI, refresh=3600, strict=True)


def test_user_settings_of_mlflow_http_variables_win(closed_port_uri, monkeypatch, tmp_path):
    from router.learned.registry import check_reachable, registry_calls

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "77")
    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", raising=False)
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")  # the fixture restores it
    with registry_calls():
        assert os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "77"
        assert os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == "1"
    assert "MLFLOW_HTTP_REQUEST_MAX_RETRIES" not in os.environ
    check_reachable("sqlite:///x.db")  # a local store needs no connection
