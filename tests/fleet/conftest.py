"""A real ``mlflow server`` on loopback (SQLite backend, artifacts served by the server), for the tests of a
fleet that follows the registry, started as ``tests/training/test_tracking_server.py`` starts its own
(``tests._helpers.mlflow_server``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests._helpers import mlflow_server as start_mlflow_server


@pytest.fixture(scope="package")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with start_mlflow_server(tmp_path_factory.mktemp("fleet-mlflow-server")) as url:
        yield url


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A PostgreSQL URL whose connections work in a fresh schema of their own, dropped afterwards (other
    helpers use the same database concurrently). Skips without a server, except under ``CI=true``."""
    import os
    import uuid

    import psycopg

    url = os.environ.get("ROUTER_TEST_POSTGRES_URL") or (
        "postgresql+psycopg://router_test:router_test@127.0.0.1:5432/router_test"
    )
    plain = url.replace("postgresql+psycopg://", "postgresql://", 1)
    try:
        psycopg.connect(plain, connect_timeout=3).close()
    except psycopg.Error as exc:
        message = f"No PostgreSQL server at {url.split('@')[-1]}: {str(exc).strip().splitlines()[0]}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    schema = f"fleet_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in url else "?"
    yield f"{url}{separator}options=-csearch_path%3D{schema}"
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
