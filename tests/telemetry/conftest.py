"""Fixtures for the telemetry tests: the ledger's PostgreSQL fixtures, and a database on both backends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.ledger.conftest import postgres_server_url, postgres_url  # noqa: F401  (fixtures, re-exported)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    """Where a test's telemetry lives: the keyword arguments that open it (SQLite file or PostgreSQL URL)."""
    if request.param == "sqlite":
        return {"storage_path": tmp_path / "ledger.db"}
    return {"database_url": request.getfixturevalue("postgres_url")}
