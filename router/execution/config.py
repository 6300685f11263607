"""Typed configuration of resilient execution: retries, backoff, deadline, circuit breaking, kept outputs.

The defaults ship in ``router/data/execution.toml``; they are read on first use, never at import time.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from router._exceptions import ConfigError
from router._toml import load_toml_model, packaged_file, validation_message


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RetryConfig(_Strict):
    """Retries of one model within a task, the backoff between them and the task's deadline."""

    max_retries: int = Field(default=3, ge=0, le=100)
    initial_backoff_s: float = Field(default=1.0, gt=0, allow_inf_nan=False)
    backoff_multiplier: float = Field(default=2.0, ge=1, allow_inf_nan=False)
    max_backoff_s: float = Field(default=60.0, gt=0, allow_inf_nan=False)
    jitter: float = Field(default=0.25, ge=0, le=1)
    task_deadline_s: float | None = Field(default=600.0, gt=0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _cap_above_start(self) -> RetryConfig:
        if self.max_backoff_s < self.initial_backoff_s:
            raise ValueError(
                f"max_backoff_s ({self.max_backoff_s}) must be >= initial_backoff_s "
                f"({self.initial_backoff_s})"
            )
        return self


class BreakerConfig(_Strict):
    """When a model's circuit opens and for how long it cools down."""

    failure_threshold: int = Field(default=5, ge=1)
    cooldown_s: float = Field(default=30.0, gt=0, allow_inf_nan=False)
    max_cooldown_s: float = Field(default=600.0, gt=0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _cap_above_cooldown(self) -> BreakerConfig:
        if self.max_cooldown_s < self.cooldown_s:
            raise ValueError(
                f"max_cooldown_s ({self.max_cooldown_s}) must be >= cooldown_s ({self.cooldown_s})"
            )
        return self


class OutputConfig(_Strict):
    """Whether a cascade's attempts send their response text to the recorder, and how much of it.

    Off by default: responses can be long and may hold what a ledger should not keep. The extracted
    ``answer`` is always recorded in a cascade; this decides only the ``output`` field.
    """

    keep: bool = False
    max_chars: int = Field(default=20_000, ge=1)


class ExecutionConfig(_Strict):
    """Everything that tunes the FallbackHandler.

    Examples
    --------
    >>> cfg = ExecutionConfig.default()
    >>> cfg.retry.max_retries, cfg.retry.initial_backoff_s, cfg.breaker.failure_threshold
    (3, 1.0, 5)
    >>> ExecutionConfig.model_validate({"retry": {"max_retries": 1}}).retry.max_backoff_s
    60.0
    """

    retry: RetryConfig = Field(default_factory=RetryConfig)
    breaker: BreakerConfig = Field(default_factory=BreakerConfig)
    output: OutputConfig = Field(default_factory=OutputConfig)

    @classmethod
    def default(cls) -> ExecutionConfig:
        return _default_execution_config()

    @classmethod
    def from_toml(cls, path: str | Path) -> ExecutionConfig:
        return load_toml_model(cls, path, what="execution configuration")

    def with_retry(self, **changes: object) -> ExecutionConfig:
        """A copy with some retry fields changed, validated again.

        >>> ExecutionConfig.default().with_retry(max_retries=1, jitter=0).retry.max_retries
        1
        """
        try:
            retry = RetryConfig.model_validate({**self.retry.model_dump(), **changes})
        except ValidationError as exc:
            raise ConfigError(validation_message(exc, "invalid retry settings")) from exc
        return self.model_copy(update={"retry": retry})

    def with_breaker(self, **changes: object) -> ExecutionConfig:
        """A copy with some circuit-breaker fields changed, validated again."""
        try:
            breaker = BreakerConfig.model_validate({**self.breaker.model_dump(), **changes})
        except ValidationError as exc:
            raise ConfigError(validation_message(exc, "invalid circuit breaker settings")) from exc
        return self.model_copy(update={"breaker": breaker})

    def with_output(self, **changes: object) -> ExecutionConfig:
        """A copy with some kept-output fields changed, validated again.

        >>> ExecutionConfig.default().with_output(keep=True).output.max_chars
        20000
        """
        try:
            output = OutputConfig.model_validate({**self.output.model_dump(), **changes})
        except ValidationError as exc:
            raise ConfigError(validation_message(exc, "invalid output settings")) from exc
        return self.model_copy(update={"output": output})


@cache
def _default_execution_config() -> ExecutionConfig:
    return ExecutionConfig.from_toml(packaged_file("execution.toml"))
