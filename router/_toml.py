"""Reading typed configuration from TOML: one ConfigError per bad file, naming the file, field and value.

Shared by every stage that reads a configuration file (estimator, catalog, execution, budgets).
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from router._exceptions import ConfigError, InvalidInputError
from router._files import MAX_CONFIG_BYTES, read_bounded


def read_toml(path: str | Path, *, what: str) -> dict[str, Any]:
    """Read a TOML file, turning every failure into a ConfigError that names the file."""
    path = Path(path)
    try:
        data = read_bounded(path, limit=MAX_CONFIG_BYTES, what=f"{what} file")
        return tomllib.loads(data.decode())
    except InvalidInputError as exc:
        raise ConfigError(str(exc)) from None
    except FileNotFoundError:
        raise ConfigError(f"{what} file not found: {str(path)!r}") from None
    except OSError as exc:
        raise ConfigError(f"{what} file {str(path)!r} cannot be read: {exc.strerror or exc}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{what} file {str(path)!r} is not valid TOML: {exc}") from exc


M = TypeVar("M", bound=BaseModel)


def load_toml_model(model: type[M], path: str | Path, *, what: str) -> M:
    """Read a TOML file into a pydantic model; every failure is one ConfigError naming the file and fields."""
    data = read_toml(path, what=what)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(validation_message(exc, f"invalid {what} {str(path)!r}")) from exc


def validation_message(exc: ValidationError, source: str, *, prefix: str = "") -> str:
    """One line per problem, each naming the field path (after ``prefix``), the bad value and the rule."""
    return f"{source}:\n" + "\n".join(error_lines(exc, prefix=prefix))


def error_lines(exc: ValidationError, *, prefix: str = "") -> list[str]:
    """The lines of :func:`validation_message`, to merge the problems of several validations."""
    lines = []
    for err in exc.errors():
        loc = ".".join([prefix, *(str(part) for part in err["loc"])] if prefix else map(str, err["loc"]))
        loc = loc or "(top level)"
        value = err.get("input")
        shown = "" if isinstance(value, dict) else f" (got {value!r})"
        msg = err["msg"].removeprefix("Value error, ")  # our validators' messages already say what is wrong
        lines.append(f"  {loc}: {msg}{shown}")
    return lines


def packaged_file(name: str) -> Path:
    return Path(str(resources.files("router") / "data" / name))
