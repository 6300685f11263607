"""From what a caller passes to ``record`` to a checked :class:`CostEntry`: defaults, totals and prices."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from datetime import datetime
from enum import Enum
from typing import Any

from router._catalog import Catalog
from router._exceptions import InvalidInputError
from router._metadata import check_metadata
from router.ledger.models import CostEntry, entry_from_fields

#: What ``record`` and ``record_many`` accept; every other name is refused.
RECORD_FIELDS = frozenset(
    {
        "model", "task_id", "task_type", "input_tokens", "output_tokens", "input_cost", "output_cost",
        "total_cost", "success", "error", "duration_ms", "description", "files", "attempt", "decision_id",
        "propensity", "level", "timestamp", "metadata", "score", "tradeoff", "model_version", "novelty",
        "answer", "output",
    }
)  # fmt: skip


def build_entry(
    fields: dict[str, Any], catalog: Catalog, now: Callable[[], datetime], where: str
) -> CostEntry:
    """Check and complete one entry's fields; raise InvalidInputError naming ``where`` and the field."""
    unknown = sorted(set(fields) - RECORD_FIELDS)
    if unknown:
        raise InvalidInputError(
            f"Invalid {where}: unknown field(s) {', '.join(unknown)}. "
            f"Allowed: {', '.join(sorted(RECORD_FIELDS))}."
        )
    for name in ("task_type", "level"):
        if isinstance(fields.get(name), Enum):
            fields[name] = fields[name].value
    # The one check of task metadata (the same as route's), so a bad value is refused with its clear error.
    fields["metadata"] = check_metadata(fields.get("metadata"), f"Invalid {where}: metadata")
    if fields.get("success") is None:
        fields["success"] = 1.0
    if fields.get("timestamp") is None:
        fields["timestamp"] = now()
    complete_costs(fields, catalog, where)
    return entry_from_fields(fields, where=where)


def complete_costs(fields: dict[str, Any], catalog: Catalog, where: str) -> None:
    """Fill ``total_tokens`` and the costs the caller left out, from the tokens and the catalog's prices."""
    for name in ("input_tokens", "output_tokens"):
        value = fields.get(name)
        value = 0 if value is None else value
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
            raise InvalidInputError(f"Invalid {where}: {name} must be a whole number >= 0, got {value!r}")
        fields[name] = int(value)
    fields["total_tokens"] = fields["input_tokens"] + fields["output_tokens"]
    given = {k: fields.get(k) for k in ("input_cost", "output_cost", "total_cost")}
    for name, value in given.items():
        if value is not None and not _dollars(value):
            raise InvalidInputError(
                f"Invalid {where}: {name} must be a finite number of dollars >= 0, got {value!r}"
            )
    if given["input_cost"] is None and given["output_cost"] is None:
        if given["total_cost"] is None:
            model = catalog.get(fields.get("model"))  # type: ignore[arg-type]
            fields["input_cost"] = model.cost(fields["input_tokens"], 0)
            fields["output_cost"] = model.cost(0, fields["output_tokens"])
    elif given["input_cost"] is None or given["output_cost"] is None:
        raise InvalidInputError(
            f"Invalid {where}: give both input_cost and output_cost, or neither "
            f"(got input_cost={given['input_cost']!r}, output_cost={given['output_cost']!r})"
        )
    if fields.get("total_cost") is None:
        fields["total_cost"] = fields["input_cost"] + fields["output_cost"]


def _dollars(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return False
    return math.isfinite(value) and float(value) >= 0
