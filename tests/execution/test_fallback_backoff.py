"""Backoff delays and the execution configuration that tunes them."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from router import ConfigError, ExecutionConfig, RetryConfig
from router.execution.backoff import Backoff


def test_delays_double_from_one_second_up_to_the_cap() -> None:
    backoff = Backoff(RetryConfig(jitter=0.0))
    assert [backoff.delay(n) for n in range(8)] == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]


def test_retry_after_wins_over_the_computed_delay_without_jitter() -> None:
    backoff = Backoff(RetryConfig(jitter=1.0), random.Random(1))
    assert backoff.delay(5, retry_after=90.0) == 90.0  # above the cap: the server knows best
    assert backoff.delay(0, retry_after=0.0) == 0.0


def test_the_packaged_defaults_are_the_documented_ones() -> None:
    cfg = ExecutionConfig.default()
    assert cfg == ExecutionConfig()  # the TOML and the field defaults say the same
    assert (cfg.retry.max_retries, cfg.retry.initial_backoff_s, cfg.retry.backoff_multiplier) == (3, 1.0, 2.0)
    assert cfg.retry.max_backoff_s == 60.0


@given(
    retry=st.integers(0, 10_000),
    initial=st.floats(0.001, 100),
    multiplier=st.floats(1, 1e6),
    cap_extra=st.floats(0, 1e4),
    jitter=st.floats(0, 1),
    seed=st.integers(0, 2**32),
)
def test_jittered_delay_stays_within_its_bounds(retry, initial, multiplier, cap_extra, jitter, seed) -> None:
    cfg = RetryConfig(
        initial_backoff_s=initial,
        backoff_multiplier=multiplier,
        max_backoff_s=initial + cap_extra,
        jitter=jitter,
    )
    backoff = Backoff(cfg, random.Random(seed))
    computed = backoff.computed(retry)
    delay = backoff.delay(retry)
    assert initial <= computed <= cfg.max_backoff_s
    assert computed * (1 - jitter) - 1e-9 <= delay <= computed
    assert backoff.computed(retry + 1) >= computed  # never shorter for a later retry


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"retry": {"max_retries": -1}}, r"retry.max_retries: Input should be greater than or equal to 0"),
        ({"retry": {"initial_backoff_s": 0}}, r"retry.initial_backoff_s: Input should be greater than 0"),
        (
            {"retry": {"backoff_multiplier": 0.5}},
            r"retry.backoff_multiplier: Input should be greater than or",
        ),
        ({"retry": {"jitter": 1.5}}, r"retry.jitter: Input should be less than or equal to 1"),
        ({"retry": {"max_backoff_s": 0.5}}, r"max_backoff_s \(0.5\) must be >= initial_backoff_s \(1.0\)"),
        ({"retry": {"task_deadline_s": 0}}, r"retry.task_deadline_s: Input should be greater than 0"),
        (
            {"breaker": {"failure_threshold": 0}},
            r"breaker.failure_threshold: Input should be greater than or",
        ),
        ({"breaker": {"max_cooldown_s": 1}}, r"max_cooldown_s \(1.0\) must be >= cooldown_s \(30.0\)"),
        ({"retry": {"retries": 3}}, r"retry.retries: Extra inputs are not permitted"),
    ],
    ids=[
        "negative-retries",
        "zero-backoff",
        "shrinking",
        "jitter>1",
        "cap<start",
        "zero-deadline",
        "zero-threshold",
        "cap<cooldown",
        "unknown-field",
    ],
)
def test_invalid_configuration_names_field_and_rule(tmp_path: Path, data: dict, match: str) -> None:
    lines = [
        f"[{section}]\n" + "".join(f"{k} = {v}\n" for k, v in fields.items())
        for section, fields in data.items()
    ]
    path = tmp_path / "execution.toml"
    path.write_text("\n".join(lines))
    with pytest.raises(ConfigError, match=match):
        ExecutionConfig.from_toml(path)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (
            {"max_retries": 101},
            r"invalid retry settings:\n  max_retries: Input should be less than or equal to 100",
        ),
        ({"jitter": -0.1}, r"jitter: Input should be greater than or equal to 0"),
    ],
    ids=["too-many-retries", "negative-jitter"],
)
def test_with_retry_validates_again(change: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        ExecutionConfig.default().with_retry(**change)


def test_missing_configuration_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"execution configuration file not found: '.*nope.toml'"):
        ExecutionConfig.from_toml(tmp_path / "nope.toml")
