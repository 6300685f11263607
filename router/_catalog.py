"""The model catalog: which models exist, what they cost, and which serve each complexity level.

Read from TOML (the default ships in ``router/data/catalog.toml``). A user catalog may hold any number of
models with any names; its ``[routing]`` table is optional: without it, models are ordered by price and the
four levels are spread over them from the cheapest (simple) to the dearest (critical).
"""

from __future__ import annotations

from functools import cache, cached_property
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from router._exceptions import ConfigError, UnknownModelError
from router._toml import error_lines, packaged_file, read_toml, validation_message
from router._types import ComplexityLevel, ModelConfig

#: A reference call used only to order models by price: 3 input tokens per output token.
_REFERENCE_CALL = (3_000, 1_000)


class _Estimation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    output_tokens: dict[ComplexityLevel, Annotated[int, Field(gt=0)]] = Field(default_factory=dict)


class _CatalogFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    models: dict[str, dict[str, Any]] = Field(min_length=1)
    routing: dict[ComplexityLevel, list[str]] | None = None
    estimation: _Estimation = Field(default_factory=_Estimation)


def _model_configs(specs: dict[str, dict[str, Any]], source: str) -> dict[str, ModelConfig]:
    """Every ``[models.NAME]`` table; the table's key is the model's name.

    Errors name ``models.NAME.field`` and list the problems of every model at once.
    """
    models, problems = {}, []
    for name, spec in specs.items():
        if "name" in spec and spec["name"] != name:
            problems.append(
                f"  models.{name}.name: must be left out or equal the table's key {name!r} "
                f"(got {spec['name']!r})"
            )
            continue
        try:
            models[name] = ModelConfig.model_validate({**spec, "name": name})
        except ValidationError as exc:
            problems += error_lines(exc, prefix=f"models.{name}")
    if problems:
        raise ConfigError(f"{source}:\n" + "\n".join(problems))
    return models


class Catalog(BaseModel):
    """Models by name, the level routing table and the output-token estimates.

    Examples
    --------
    >>> cat = Catalog.default()
    >>> cat.names()
    ['haiku', 'sonnet', 'opus']
    >>> cat.primary_for(ComplexityLevel.CRITICAL)
    'opus'
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    models: dict[str, ModelConfig] = Field(min_length=1)
    routing: dict[ComplexityLevel, list[str]]
    output_tokens: dict[ComplexityLevel, int]

    @model_validator(mode="after")
    def _routing_names_known(self) -> Catalog:
        for level in ComplexityLevel:
            names = self.routing.get(level)
            if not names:
                raise ValueError(f"routing.{level.value} must list at least one model")
            for name in names:
                if name not in self.models:
                    raise ValueError(
                        f"routing.{level.value} names unknown model {name!r}; known: {', '.join(self.models)}"
                    )
        return self

    @classmethod
    def default(cls) -> Catalog:
        return _default_catalog()

    @classmethod
    def from_toml(cls, path: str | Path) -> Catalog:
        data = read_toml(path, what="model catalog")
        return cls.from_dict(data, source=f"invalid model catalog {str(path)!r}")

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "invalid model catalog") -> Catalog:
        try:
            raw = _CatalogFile.model_validate(data)
        except ValidationError as exc:
            raise ConfigError(validation_message(exc, source)) from exc
        models = _model_configs(raw.models, source)
        routing = raw.routing or _routing_by_price(models)
        defaults = {"simple": 500, "moderate": 2000, "complex": 4000, "critical": 4000}
        output = {lvl: raw.estimation.output_tokens.get(lvl, defaults[lvl.value]) for lvl in ComplexityLevel}
        try:
            return cls(models=models, routing=routing, output_tokens=output)
        except ValidationError as exc:
            raise ConfigError(validation_message(exc, source)) from exc

    def names(self) -> list[str]:
        return list(self.models)

    def get(self, name: str) -> ModelConfig:
        try:
            return self.models[name]
        except (KeyError, TypeError):
            raise UnknownModelError(name, self.names()) from None

    def primary_for(self, level: ComplexityLevel) -> str:
        return self.routing[level][0]

    @cached_property
    def by_price(self) -> list[ModelConfig]:
        """Models from the cheapest to the dearest (for a reference call), ties broken by catalog order."""
        return sorted(self.models.values(), key=lambda m: m.cost(*_REFERENCE_CALL))

    def stronger_than(self, name: str) -> list[str]:
        """Models dearer than ``name``, cheapest first: the order to escalate in."""
        names = [m.name for m in self.by_price]
        return names[names.index(name) + 1 :]


def _routing_by_price(models: dict[str, ModelConfig]) -> dict[ComplexityLevel, list[str]]:
    ordered = [m.name for m in sorted(models.values(), key=lambda m: m.cost(*_REFERENCE_CALL))]
    last = len(ordered) - 1
    routing = {}
    for i, level in enumerate(ComplexityLevel):
        pick = round(i * last / (len(ComplexityLevel) - 1))
        # Alternatives: the neighbours by price, cheaper first, as the specification's table has them.
        alternatives = [ordered[j] for j in (pick - 1, pick + 1) if 0 <= j <= last]
        routing[level] = [ordered[pick], *alternatives]
    return routing


@cache
def _default_catalog() -> Catalog:
    return Catalog.from_toml(packaged_file("catalog.toml"))
