"""Typed configuration, read from TOML once and validated; the defaults ship in ``router/data``.

Loading never has side effects at import time: the default files are read on first use and cached.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from router._toml import load_toml_model, packaged_file
from router._types import TaskType


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", protected_namespaces=())


Steps = list[tuple[int, float]]


def _check_steps(steps: Steps) -> Steps:
    # The error's location names the factor (file_count, line_count, context_size).
    thresholds = [t for t, _ in steps]
    if thresholds != sorted(thresholds) or len(set(thresholds)) != len(thresholds):
        raise ValueError(f"steps must have strictly increasing thresholds, got {thresholds}")
    if any(points < 0 for _, points in steps):
        raise ValueError(f"steps points must be >= 0, got {[list(step) for step in steps]}")
    return steps


def _check_keywords(keywords: Iterable[str]) -> None:
    blank = [k for k in keywords if not k.strip()]
    if blank:
        raise ValueError(
            f"keywords must contain non-whitespace text (a blank one matches everything), got {blank}"
        )


class LevelThresholds(_Strict):
    moderate: float = Field(gt=0, lt=100)
    complex: float = Field(gt=0, lt=100)

    @model_validator(mode="after")
    def _ordered(self) -> LevelThresholds:
        if not self.moderate < self.complex:
            raise ValueError(
                f"levels.moderate ({self.moderate}) must be below levels.complex ({self.complex})"
            )
        return self


class KeywordFactor(_Strict):
    """A factor that adds ``points`` once when any of its keywords appears."""

    points: float = Field(ge=0)
    keywords: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _keywords_not_blank(self) -> KeywordFactor:
        _check_keywords(self.keywords)
        return self


class CriticalFactor(_Strict):
    points: float = Field(ge=0)
    patterns: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _patterns_not_blank(self) -> CriticalFactor:
        _check_keywords(self.patterns)
        return self


class WeightedKeywords(_Strict):
    """A factor whose keywords carry their own points, summed and capped."""

    cap: float = Field(ge=0)
    # Non-negative, like every factor's points: adding text must never lower a score.
    points: dict[str, Annotated[float, Field(ge=0)]]

    @model_validator(mode="after")
    def _keywords_not_blank(self) -> WeightedKeywords:
        _check_keywords(self.points)
        return self


class StepFactor(_Strict):
    steps: Steps

    @model_validator(mode="after")
    def _steps_ordered(self) -> StepFactor:
        _check_steps(self.steps)
        return self


class ContextFactor(StepFactor):
    chars_per_token: float = Field(gt=0)


class TaskTypeRule(_Strict):
    type: TaskType
    keywords: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _keywords_not_blank(self) -> TaskTypeRule:
        _check_keywords(self.keywords)
        return self


class EstimatorConfig(_Strict):
    """Every weight, keyword list and threshold of the heuristic estimator.

    Examples
    --------
    >>> cfg = EstimatorConfig.default()
    >>> cfg.levels.complex
    50.0
    """

    levels: LevelThresholds
    critical: CriticalFactor
    complex_keywords: WeightedKeywords
    file_count: StepFactor
    line_count: StepFactor
    context_size: ContextFactor
    architecture: KeywordFactor
    security: KeywordFactor
    performance: KeywordFactor
    concurrency: KeywordFactor
    deep_reasoning: KeywordFactor
    task_types: list[TaskTypeRule]

    @classmethod
    def default(cls) -> EstimatorConfig:
        return _default_estimator_config()

    @classmethod
    def from_toml(cls, path: str | Path) -> EstimatorConfig:
        return load_toml_model(cls, path, what="estimator configuration")


@cache
def _default_estimator_config() -> EstimatorConfig:
    return EstimatorConfig.from_toml(packaged_file("estimator.toml"))
