"""Fixtures shared by the test suite.

Randomness has one owner: Hypothesis draws the inputs of property tests (its profile below), and the ``rng``
fixture is the only other source, seeded so that a failure replays. Timing never decides a test: the
Hypothesis profile has no deadline.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from router import ComplexityEstimator

settings.register_profile(
    "router",
    deadline=None,  # a slow machine must not fail a test
    max_examples=100,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("router")


@pytest.fixture
def rng() -> random.Random:
    """The one seeded source of randomness for tests outside Hypothesis."""
    return random.Random(20261125)


@pytest.fixture
def estimator() -> ComplexityEstimator:
    return ComplexityEstimator()


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in an empty directory, so relative file names such as README.md do not exist."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def write_catalog(tmp_path: Path) -> Callable[[str], Path]:
    def write(text: str, name: str = "catalog.toml") -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return write
