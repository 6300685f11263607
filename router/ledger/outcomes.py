"""Between the ledger and files: the cost CSV, and the outcome log (``router._outcome_log``) both ways.

The outcome-log schema is the architecture note's, read and written by ``router._outcome_log`` only; this
module maps ledger columns onto it (``total_cost`` is ``cost_usd``) and back.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from router._exceptions import InvalidInputError
from router.ledger.models import CostEntry

if TYPE_CHECKING:
    import pandas as pd
    from sqlalchemy import Engine


class OutcomeTransfer(BaseModel):
    """What an export or import moved: the file, the rows, and the rows left out by reason."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: Path
    rows: int
    skipped: dict[str, int] = Field(default_factory=dict)
    #: Rows of an imported file that repeated another row of it, field for field: one attempt written twice.
    merged: int = 0


#: The cost CSV's columns: CostEntry's fields in the specification's order, then the outcome fields.
CSV_COLUMNS = list(CostEntry.model_fields)


def export_csv(engine: Engine, url: str, path: Path) -> int:
    from router.ledger import engine as _engine
    from router.ledger import queries as _queries

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    count = 0
    with (
        _engine.database_errors("export entries", url),
        _engine.read_transaction(engine) as conn,
        tmp.open("w", newline="", encoding="utf-8") as handle,
    ):
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for row in _queries.iter_rows(conn):
            data = row._mapping
            values = {**data, "timestamp": _queries.from_us(data["ts_us"]).isoformat()}
            writer.writerow(["" if values[c] is None else values[c] for c in CSV_COLUMNS])
            count += 1
    # Written, then renamed: a reader never sees half a file, and a failed export leaves the old one.
    tmp.replace(path)
    return count


_OUTCOME_SOURCES = {
    "task_id": "task_id",
    "description": "description",
    "model": "model",
    "success": "success",
    "cost_usd": "total_cost",
    "input_tokens": "input_tokens",
    "output_tokens": "output_tokens",
    "duration_ms": "duration_ms",
    "task_type": "task_type",
    "files": "files",
    "timestamp": "ts_us",
    "propensity": "propensity",
    "metadata": "metadata",
    "answer": "answer",
    "output": "output",
    "attempt": "attempt",
    "decision_id": "decision_id",
    "level": "level",
    "error": "error",
    "score": "score",
    "tradeoff": "tradeoff",
    "model_version": "model_version",
    "novelty": "novelty",
}


def export_outcomes(engine: Engine, url: str, path: Path) -> OutcomeTransfer:
    import pandas as pd

    from router._outcome_log import TEXT_COLUMNS, log_format, write_outcomes
    from router.ledger import engine as _engine
    from router.ledger import queries as _queries
    from router.ledger.schema import entries

    log_format(path)  # refuse an unknown extension before reading the whole ledger
    columns = [entries.c[source] for source in _OUTCOME_SOURCES.values()]
    with _engine.database_errors("export outcomes", url), _engine.read_transaction(engine) as conn:
        frame = pd.DataFrame(list(_queries.iter_rows(conn, columns)), columns=list(_OUTCOME_SOURCES))
    frame["timestamp"] = [_queries.from_us(us).isoformat() for us in frame["timestamp"]]
    # The stored JSON object as it is (keys sorted when recorded); "" for attempts recorded without metadata,
    # and "" for the other text columns left empty (the import reads "" back as none).
    for name in ("metadata", *TEXT_COLUMNS):
        frame[name] = frame[name].fillna("")
    frame["attempt"] = frame["attempt"].astype("Int64")
    no_text = frame["description"].str.strip() == ""
    write_outcomes(frame[~no_text].reset_index(drop=True), path)
    skipped = {"description empty": int(no_text.sum())} if no_text.any() else {}
    return OutcomeTransfer(path=path, rows=int((~no_text).sum()), skipped=skipped)


def read_for_import(path: Path, *, skip_invalid: bool) -> tuple[pd.DataFrame, dict[str, int]]:
    from router._outcome_log import read_outcomes

    log = read_outcomes(path)
    if log.rejected and not skip_invalid:
        reasons = ", ".join(f"{n} ({why})" for why, n in sorted(log.rejected.items()))
        raise InvalidInputError(
            f"Outcome log {str(path)!r} has invalid rows: {reasons}. Nothing was imported; fix the file or "
            "import the valid rows only (skip_invalid=True, or --skip-invalid on the command line)."
        )
    return log.frame, dict(log.rejected)


def outcome_rows(frame: pd.DataFrame, source: str) -> Iterator[dict[str, Any]]:
    """``record_many`` rows from a validated outcome log; missing optional values become the defaults."""
    for record in frame.to_dict(orient="records"):
        row = {
            "task_id": record["task_id"],
            "description": record["description"],
            "model": record["model"],
            "success": float(record["success"]),
            "total_cost": float(record["cost_usd"]),
        }
        for name in ("input_tokens", "output_tokens"):
            value = _present(record.get(name))
            row[name] = 0 if value is None else _whole(value, name, source)
        for name in ("duration_ms", "propensity"):
            value = _present(record.get(name))
            row[name] = None if value is None else float(value)
        for name in ("task_type", "timestamp", "files"):
            # files stays JSON text here: CostEntry parses it and names the row when it is not a list.
            row[name] = _present(record.get(name))
        for name in ("score", "tradeoff", "novelty"):
            value = _present(record.get(name))
            row[name] = None if value is None else float(value)
        attempt = _present(record.get("attempt"))
        row["attempt"] = 1 if attempt is None else _whole(attempt, "attempt", source)
        for name in ("answer", "output", "decision_id", "level", "error", "model_version"):
            # The log writes "" for a value the ledger did not have: it reads back as none.
            row[name] = _present(record.get(name)) or None
        # read_outcomes has made it a JSON object of strings to strings, or "" when the row has none.
        metadata = _present(record.get("metadata"))
        row["metadata"] = json.loads(metadata) if metadata else None
        yield row


#: What makes two ledger rows the same attempt for an import: every recorded field but the id, and the
#: time only when the file gave one (rows without a time are stamped with the import's, which differs).
_SAME_ROW = (
    "task_id",
    "model",
    "description",
    "files",
    "task_type",
    "level",
    "success",
    "total_cost",
    "input_tokens",
    "output_tokens",
    "duration_ms",
    "propensity",
    "attempt",
    "decision_id",
    "error",
    "metadata",
    "score",
    "tradeoff",
    "model_version",
    "novelty",
    "answer",
    "output",
)
_CHUNK = 500  # task ids per lookup: well under every database's limit on bound parameters


def merge_identical(rows: list[dict[str, Any]], timed: list[bool]) -> tuple[list[dict[str, Any]], list[bool]]:
    """The rows of one file with each repeated row left out: identical in every field (the time included,
    when the file gave one), they are one attempt written twice, not two attempts."""
    seen: set[tuple[Any, ...]] = set()
    kept, kept_timed = [], []
    for row, has_time in zip(rows, timed, strict=True):
        key = (has_time, _key(row, timed=has_time))
        if key in seen:
            continue
        seen.add(key)
        kept.append(row)
        kept_timed.append(has_time)
    return kept, kept_timed


def unseen_rows(conn: Any, rows: list[dict[str, Any]], timed: list[bool]) -> list[dict[str, Any]]:
    """The import rows the ledger does not hold yet, so importing a file twice adds nothing.

    Rows are matched as multisets (one stored row answers for one file row). ``timed[i]`` says whether row
    ``i``'s time came from the file (then it is part of the match). Runs in the import's write transaction,
    so two processes importing the same file at once still add it once.
    """
    from collections import Counter

    from sqlalchemy import select

    from router.ledger.schema import entries

    held: Counter[tuple[Any, ...]] = Counter()
    held_untimed: Counter[tuple[Any, ...]] = Counter()
    task_ids = sorted({row["task_id"] for row in rows})
    columns = [entries.c[name] for name in (*_SAME_ROW, "ts_us")]
    for start in range(0, len(task_ids), _CHUNK):
        stmt = select(*columns).where(entries.c.task_id.in_(task_ids[start : start + _CHUNK]))
        for found in conn.execute(stmt):
            data = found._mapping
            held[_key(data, timed=True)] += 1
            held_untimed[_key(data, timed=False)] += 1
    fresh = []
    for row, has_time in zip(rows, timed, strict=True):
        key, untimed = _key(row, timed=True), _key(row, timed=False)
        if has_time and held[key]:
            held[key] -= 1
            held_untimed[untimed] -= 1
        elif not has_time and held_untimed[untimed] > 0:
            held_untimed[untimed] -= 1
        else:
            fresh.append(row)
    return fresh


def _key(row: Any, *, timed: bool) -> tuple[Any, ...]:
    # Floats to 12 significant digits: a cost that went through a file (15 digits) matches its stored value.
    values = tuple(
        float(f"{row[name]:.12g}") if isinstance(row[name], float) else row[name] for name in _SAME_ROW
    )
    return (*values, row["ts_us"]) if timed else values


def _present(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    try:
        import pandas as pd

        if value is pd.NaT or value is pd.NA:
            return None
    except ImportError:  # pragma: no cover - pandas is a dependency
        pass
    return value


def _whole(value: Any, name: str, source: str) -> int:
    number = float(value)
    if not number.is_integer():
        raise InvalidInputError(f"{source}: {name} must be a whole number of tokens, got {value!r}")
    return int(number)
