"""Task metadata: string keys to string values an orchestrator knows at decision time (repository, project,
language, tool, team). Checked the same way wherever it enters: ``route``, ``route_many`` and outcome logs."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from router._exceptions import InvalidInputError

Metadata = Mapping[str, str]


def check_metadata(metadata: Any, where: str = "metadata") -> dict[str, str]:
    """``metadata`` as a plain dict, or InvalidInputError naming the key and value that is not a string."""
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise InvalidInputError(
            f"{where} must be a mapping of string keys to string values, got {type(metadata).__name__}"
        )
    for key, value in metadata.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise InvalidInputError(
                f"{where} must map strings to strings; key {key!r} has value {value!r} "
                f"({type(value).__name__}). Allowed: str keys and str values."
            )
    return dict(metadata)


def metadata_json(value: Any) -> str | None:
    """An outcome log's ``metadata`` cell as canonical JSON text ("" when absent), or None when it is not a
    JSON object of strings to strings (the row is then rejected)."""
    if value is None or (isinstance(value, float) and value != value) or value == "":
        return ""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None
    try:
        checked = check_metadata(value)
    except InvalidInputError:
        return None
    return json.dumps(checked, sort_keys=True) if checked else ""


def metadata_tokens(metadata: Mapping[str, str]) -> list[str]:
    """The categorical features of one task's metadata: ``key=value`` per pair."""
    return [f"{key}={value}" for key, value in metadata.items()]


def batch_metadata(metadata: Any, n: int) -> list[dict[str, str]] | None:
    """``route_many``'s ``metadata``: None, one mapping for the batch, or one mapping per description."""
    if metadata is None:
        return None
    if isinstance(metadata, Mapping):
        one = check_metadata(metadata)
        return [one] * n
    if isinstance(metadata, str | bytes) or not hasattr(metadata, "__len__"):
        raise InvalidInputError(
            "metadata must be None, a mapping of strings to strings, or a list of such mappings (one per "
            f"description); got {type(metadata).__name__}"
        )
    if len(metadata) != n:
        raise InvalidInputError(
            f"metadata holds {len(metadata)} mappings for {n} descriptions; give one per description, "
            "or one mapping for the whole batch."
        )
    return [check_metadata(m, f"metadata[{i}]") for i, m in enumerate(metadata)]


def decision_metadata(metas: list[dict[str, str]] | None, n: int) -> list[dict[str, str] | None]:
    """Each decision's own ``metadata`` for a checked batch: None where a task has none, else a copy, so that
    one mapping given for the whole batch is not one dict shared by every decision."""
    if metas is None:
        return [None] * n
    return [dict(m) if m else None for m in metas]
