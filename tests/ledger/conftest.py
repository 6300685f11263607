"""Fixtures for the ledger's tests: a fake clock, and a tracker factory over SQLite and PostgreSQL.

PostgreSQL tests need a real server: ``$ROUTER_TEST_POSTGRES_URL``, else the role and database that
``.ci/run`` creates on 127.0.0.1:5432. Without one they skip with the reason, except under ``CI=true``,
where a missing server fails them, so CI cannot pass by skipping. Each test gets its own PostgreSQL schema,
dropped afterwards, so tests do not see each other's rows.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from router import CostTracker

DEFAULT_POSTGRES_URL = "postgresql+psycopg://router_test:router_test@127.0.0.1:5432/router_test"
#: A Wednesday, mid-month, mid-day: every calendar period around it is easy to reason about.
START = datetime(2026, 1, 14, 12, 30, tzinfo=UTC)


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def _plain_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _reachable(url: str) -> str | None:
    """None when a server answers at ``url``, else why not."""
    import psycopg

    try:
        with psycopg.connect(_plain_url(url), connect_timeout=3):
            return None
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0]


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    url = os.environ.get("ROUTER_TEST_POSTGRES_URL") or DEFAULT_POSTGRES_URL
    problem = _reachable(url)
    if problem is not None:
        message = (
            f"No PostgreSQL server for the ledger tests at {url.split('@')[-1]} ({problem}). "
            "Set ROUTER_TEST_POSTGRES_URL or run the server set-up in .ci/run."
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return url


@pytest.fixture
def postgres_url(postgres_server_url: str) -> Iterator[str]:
    """A URL whose connections work in a fresh schema of their own."""
    import psycopg

    schema = f"ledger_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_plain_url(postgres_server_url), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in postgres_server_url else "?"
    yield f"{postgres_server_url}{separator}options=-csearch_path%3D{schema}"
    with psycopg.connect(_plain_url(postgres_server_url), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


TrackerFactory = Callable[..., CostTracker]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def ledger_location(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """Where a test's ledger lives: the keyword arguments that open it (same place on every call)."""
    if request.param == "sqlite":
        return {"storage_path": tmp_path / "ledger.db"}
    return {"database_url": request.getfixturevalue("postgres_url")}


@pytest.fixture
def make_tracker(ledger_location: dict[str, Any], clock: FakeClock) -> Iterator[TrackerFactory]:
    """Open the test's ledger (both backends), with the fake clock unless told otherwise; closes them all."""
    opened: list[CostTracker] = []

    def make(**kwargs: Any) -> CostTracker:
        tracker = CostTracker(**{**ledger_location, "clock": clock, **kwargs})
        opened.append(tracker)
        return tracker

    yield make
    for tracker in opened:
        tracker.close()


@pytest.fixture
def tracker(make_tracker: TrackerFactory) -> CostTracker:
    return make_tracker()
