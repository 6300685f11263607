"""EstimatorConfig: the packaged defaults, a user file that changes weights, and invalid files."""

from __future__ import annotations

from pathlib import Path

import pytest

from router import ComplexityEstimator, ConfigError, EstimatorConfig
from router._toml import packaged_file

DEFAULT_TEXT = packaged_file("estimator.toml").read_text()


def write_config(tmp_path: Path, old: str, new: str) -> Path:
    assert old in DEFAULT_TEXT, old
    path = tmp_path / "estimator.toml"
    path.write_text(DEFAULT_TEXT.replace(old, new, 1))
    return path


def test_default_config_loads_with_the_documented_thresholds():
    cfg = EstimatorConfig.default()
    assert (cfg.levels.moderate, cfg.levels.complex) == (25.0, 50.0)
    assert cfg.critical.points == 80.0
    assert cfg is EstimatorConfig.default()  # read once, cached


def test_user_config_changes_weights(tmp_path):
    path = write_config(tmp_path, "[security]\npoints = 25.0", "[security]\npoints = 40.0")
    cfg = EstimatorConfig.from_toml(path)
    result = ComplexityEstimator(cfg).estimate("Harden password storage")
    assert result.factor_points["security"] == 40.0
    assert result.level.value == "moderate"  # 40 >= 25; with the default 25 points it is moderate too
    default = ComplexityEstimator().estimate("Harden password storage")
    assert default.factor_points["security"] == 25.0


def test_user_config_changes_thresholds(tmp_path):
    path = write_config(tmp_path, "moderate = 25.0", "moderate = 10.0")
    result = ComplexityEstimator(EstimatorConfig.from_toml(path)).estimate("Reduce latency")  # 15 points
    assert result.level.value == "moderate"
    assert ComplexityEstimator().estimate("Reduce latency").level.value == "simple"


def test_user_config_adds_keywords(tmp_path):
    path = write_config(tmp_path, '"distributed" = 30.0', '"distributed" = 30.0\n"kubernetes" = 25.0')
    result = ComplexityEstimator(EstimatorConfig.from_toml(path)).estimate("Move the jobs to Kubernetes")
    assert result.factor_points["complex_keywords"] == 25.0


@pytest.mark.parametrize(
    ("old", "new", "match"),
    [
        (
            "moderate = 25.0",
            "moderate = 50.0",
            r"levels: .*levels\.moderate \(50\.0\) must be below levels\.complex",
        ),
        (
            "moderate = 25.0",
            "moderate = 60.0",
            r"levels\.moderate \(60\.0\) must be below levels\.complex \(50\.0\)",
        ),
        ("complex = 50.0", "complex = 100.0", r"levels\.complex: Input should be less than 100"),
        (
            "[security]\npoints = 25.0",
            "[security]\npoints = -1.0",
            r"security\.points: .*greater than or equal to 0",
        ),
        (
            "[critical]\npoints = 80.0",
            "[critical]\npoints = -80.0",
            r"critical\.points: .*greater than or equal to 0",
        ),
        (
            '"distributed" = 30.0',
            '"distributed" = -30.0',
            r"complex_keywords\.points\.distributed: Input should be greater than or equal to 0",
        ),
        ("cap = 30.0", "cap = -1.0", r"complex_keywords\.cap: .*greater than or equal to 0"),
        (
            "steps = [[1, 5.0], [3, 10.0]",
            "steps = [[3, 5.0], [1, 10.0]",
            r"file_count: .*steps must have strictly increasing thresholds, got \[3, 1",
        ),
        ("steps = [[50, 5.0]", "steps = [[50, -5.0]", r"line_count: .*steps points must be >= 0"),
        ("chars_per_token = 4.0", "chars_per_token = 0", r"context_size\.chars_per_token: .*greater than 0"),
        ('"security vulnerabilit",', '" ",', r"critical: .*keywords must contain non-whitespace text"),
        ('"architecture", "architectural",', '"", "architectural",', r"architecture: .*non-whitespace text"),
        ('type = "typo"', 'type = "chores"', r"task_types\.1\.type: Input should be 'typo', 'formatting'"),
        ("[levels]", "unknown = 1\n[levels]", r"unknown: Extra inputs are not permitted"),
        ("[performance]\npoints = 15.0\n", "[performance]\n", r"performance\.points: Field required"),
    ],
    ids=[
        "moderate-equals-complex",
        "moderate-above-complex",
        "complex-100",
        "negative-flag-points",
        "negative-critical-points",
        "negative-keyword-points",
        "negative-cap",
        "unordered-steps",
        "negative-step-points",
        "zero-chars-per-token",
        "blank-pattern",
        "empty-keyword",
        "unknown-task-type",
        "unknown-field",
        "missing-field",
    ],
)
def test_invalid_config_raises_config_error_naming_the_field(tmp_path, old, new, match):
    path = write_config(tmp_path, old, new)
    with pytest.raises(ConfigError, match=match) as info:
        EstimatorConfig.from_toml(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (None, "estimator configuration file not found: '.*missing.toml'"),
        ("[levels\nmoderate = 1", "estimator configuration file '.*' is not valid TOML"),
        (b"\xff\xfe not utf-8", "estimator configuration file '.*' is not valid TOML"),
        ("", r"levels: Field required"),
    ],
    ids=["missing-file", "bad-toml", "not-utf8", "empty-file"],
)
def test_unreadable_config_raises_config_error_naming_the_file(tmp_path, content, match):
    path = tmp_path / ("missing.toml" if content is None else "estimator.toml")
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError, match=match):
        EstimatorConfig.from_toml(path)


def test_a_directory_is_not_a_config_file(tmp_path):
    with pytest.raises(ConfigError, match=r"estimator configuration file '.*' cannot be read"):
        EstimatorConfig.from_toml(tmp_path)
