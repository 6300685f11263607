"""``Router.load(..., refresh=)`` without a server: the swap, a failed refresh, the version on decisions,
stopping the thread, and what is refused."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from router import Router
from router._exceptions import ArtifactError, InvalidInputError
from router.learned.router import LearnedRouter, RefreshingRouter, load_learned
from router.telemetry import Collector
from training import train_router
from training.synthetic import generate_outcomes


@pytest.fixture(scope="module")
def two_artifacts(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("refresh")
    for name, seed in (("a", 41), ("b", 42)):
        train_router(generate_outcomes(120, seed=seed), log_to_mlflow=False, output_dir=root / name)
    return root / "a", root / "b"


def test_a_local_artifact_names_its_hash_on_every_decision(two_artifacts):
    router = Router.load(two_artifacts[0], strict=True)
    assert isinstance(router, LearnedRouter)
    decision = router.route("Fix the flaky login test")
    assert decision.model_version is not None and decision.model_version.startswith("sha256:")
    assert len(decision.model_version) == len("sha256:") + 12
    assert {d.model_version for d in router.route_many(["Fix typo", "Add a cache"])} == {
        decision.model_version
    }
    other = Router.load(two_artifacts[1], strict=True).route("Fix the flaky login test")
    assert other.model_version != decision.model_version
    assert Router().route("Fix typo").model_version is None  # the heuristic has no trained model


def test_a_refresh_swaps_models_between_decisions_and_a_failure_keeps_the_current_one(
    two_artifacts, tmp_path
):
    first = load_learned(two_artifacts[0], version="demo/1")
    script: list[object] = []

    def fetch(current: str | None):
        step = script.pop(0)
        if isinstance(step, Exception):
            raise step
        if step == current:
            return None
        return load_learned(two_artifacts[1], version=str(step)), str(step)

    with Collector(tmp_path / "ledger.db") as collector:
        router = RefreshingRouter("models:/demo@champion", first, "demo/1", 3600, fetch, collector=collector)
        with router:
            assert router.route("Fix the flaky login test").model_version == "demo/1"
            script[:] = ["demo/1"]
            assert router.refresh_now() is False  # the alias did not move
            script[:] = [ArtifactError("Cannot reach the MLflow tracking server at http://127.0.0.1:9")]
            assert router.refresh_now() is False
            assert router.refresh_failures == 1 and "Cannot reach" in (router.last_error or "")
            assert router.route("Fix the flaky login test").model_version == "demo/1"
            script[:] = ["demo/2"]
            assert router.refresh_now() is True
            assert router.route("Fix the flaky login test").model_version == "demo/2"
            assert router.model_version == "demo/2" and router.refreshes == 1
            assert router.catalog is router.current.catalog  # everything else reads the current router
        assert collector.flush()
        with collector.store.read() as conn:
            from sqlalchemy import select

            from router.telemetry.schema import alerts

            rows = conn.execute(select(alerts.c.rule, alerts.c.value, alerts.c.message)).all()
    assert [(r.rule, r.value) for r in rows] == [("model_refresh", 1.0)]
    assert "the current model keeps serving" in rows[0].message


def test_the_refresh_thread_is_a_daemon_and_stops_on_close(two_artifacts):
    calls = threading.Event()

    def fetch(current: str | None):
        calls.set()
        return None

    router = RefreshingRouter("models:/demo@champion", load_learned(two_artifacts[0]), "demo/1", 0.5, fetch)
    assert router._thread.daemon
    assert calls.wait(10), "the thread looked the alias up"
    router.close()
    assert not router._thread.is_alive()
    assert router.route("Fix typo in README").source == "learned"  # still serves after close


@pytest.mark.parametrize(
    ("uri", "refresh", "message"),
    [
        ("some/dir", 2, "models:/NAME@ALIAS"),
        ("models:/task-router/3", 2, "models:/NAME@ALIAS"),
        ("models:/task-router@champion", 0.1, "refresh must be seconds >= 0.5"),
        ("models:/task-router@champion", "2", "refresh must be seconds"),
    ],
)
def test_refresh_is_refused_where_it_cannot_follow_an_alias(uri, refresh, message):
    with pytest.raises(InvalidInputError, match=message.replace("(", r"\(")):
        Router.load(uri, refresh=refresh)
