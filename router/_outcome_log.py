"""The outcome log: one schema from the ledger to training (see docs in ``datasets/README.md``).

Every attempt of one model on one task is a row. Files are CSV, Parquet or JSONL, chosen by extension.
Reading validates: missing required columns are listed in one error; rows with a bad value are counted and
reported by reason (``OutcomeLog.rejected``), never dropped silently. pandas is imported only when a log is
read or written, so importing the serving package stays light.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from router._exceptions import InvalidInputError
from router._extras import require

if TYPE_CHECKING:
    import pandas as pd

REQUIRED_COLUMNS = ("task_id", "description", "model", "success", "cost_usd")
OPTIONAL_COLUMNS = (
    "input_tokens",
    "output_tokens",
    "duration_ms",
    "task_type",
    "files",
    "timestamp",
    "propensity",
    "metadata",
    "answer",
    "output",
    # What the ledger records besides, so that an export imports back into the same ledger: the attempt's
    # place in its fallback chain and its error, and what the routing decision knew.
    "attempt",
    "decision_id",
    "level",
    "error",
    "score",
    "tradeoff",
    "model_version",
    "novelty",
)
COLUMNS = REQUIRED_COLUMNS + OPTIONAL_COLUMNS
#: Optional columns of free text: read as text whatever they hold (an answer "42", a hex id "12e4"), and
#: empty (no value) when missing.
TEXT_COLUMNS = ("answer", "output", "decision_id", "level", "error", "model_version")
FORMATS = {".csv": "csv", ".parquet": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl"}


@dataclass
class OutcomeLog:
    """A validated outcome log: the accepted rows and, by reason, how many rows were rejected."""

    frame: pd.DataFrame
    rejected: dict[str, int] = field(default_factory=dict)

    @property
    def n_rejected(self) -> int:
        return sum(self.rejected.values())

    def summary(self) -> str:
        f = self.frame
        text = f"{len(f)} rows, {f['task_id'].nunique()} tasks, {f['model'].nunique()} models"
        if self.rejected:
            text += "; rejected " + ", ".join(f"{n} ({why})" for why, n in sorted(self.rejected.items()))
        return text


def log_format(path: str | Path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise InvalidInputError(
            f"Unknown outcome-log format {suffix or '(no extension)'!r} for {str(path)!r}. "
            f"Allowed extensions: {', '.join(FORMATS)}."
        )
    return FORMATS[suffix]


def read_outcomes(path: str | Path) -> OutcomeLog:
    """Read and validate an outcome-log file (CSV, Parquet or JSONL by extension)."""
    return validate_outcomes(read_frame(path))


def read_frame(path: str | Path) -> pd.DataFrame:
    """An outcome-log file's rows as they are, before validation (``read_outcomes`` validates them)."""
    require("pandas", extra="ledger")
    import pandas as pd

    fmt = log_format(path)
    if fmt == "parquet":
        require("pyarrow", extra="ledger")
    if not Path(path).is_file():
        raise InvalidInputError(f"Outcome log not found: {str(path)!r}")
    pandas_major = int(pd.__version__.split(".")[0])
    try:
        if fmt == "csv":
            text = dict.fromkeys(("task_id", "description", "model", "task_type", *TEXT_COLUMNS), str)
            # Every float must read back as the one written: pandas 2 parses the last digits with a faster,
            # inexact parser unless asked for round_trip (an export -> import -> export changed them);
            # pandas 3 reads them exactly and deprecates the keyword.
            exact = {"float_precision": "round_trip"} if pandas_major < 3 else {}
            frame = pd.read_csv(path, dtype=text, keep_default_na=False, na_values=_CSV_NULLS, **exact)
        elif fmt == "parquet":
            frame = pd.read_parquet(path)
        else:
            # dtype=False: no guessing, so a timestamp stays the ISO text it was and numbers stay numbers.
            # precise_float: the shortest repr a writer gave reads back as the same float.
            # pandas 2 also needs convert_dates=False (2.1 converts a "timestamp" column despite dtype=False);
            # pandas 3 deprecates that keyword, and dtype=False alone does it.
            dates = {"convert_dates": False} if pandas_major < 3 else {}
            frame = _integral_ids(pd.read_json(path, lines=True, dtype=False, precise_float=True, **dates))
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        raise InvalidInputError(f"Cannot read outcome log {str(path)!r} as {fmt}: {exc}") from exc
    return frame


#: What reads as "no value" in a CSV cell of the outcome log: an empty cell only. pandas' default list also
#: takes "NA", "null" and "None", which are answers a model may well give.
_CSV_NULLS = [""]


def _integral_ids(frame: pd.DataFrame) -> pd.DataFrame:
    """JSON ids written as numbers become floats when one is null (7 -> 7.0); give them back as integers."""
    import pandas as pd

    ids = frame.get("task_id")
    if ids is not None and pd.api.types.is_float_dtype(ids) and bool((ids.dropna() % 1 == 0).all()):
        frame["task_id"] = ids.astype("Int64")
    return frame


def validate_outcomes(frame: pd.DataFrame) -> OutcomeLog:
    """Check columns and values; return the good rows and the count of rejected ones by reason."""
    import numpy as np
    import pandas as pd

    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise InvalidInputError(
            f"Outcome log is missing required column(s): {', '.join(missing)}. "
            f"Required: {', '.join(REQUIRED_COLUMNS)}; optional: {', '.join(OPTIONAL_COLUMNS)}."
        )
    frame = frame[[c for c in COLUMNS if c in frame.columns]].copy()
    bad = pd.Series(False, index=frame.index)
    rejected: dict[str, int] = {}

    def reject(mask: pd.Series, reason: str) -> None:
        nonlocal bad
        new = mask & ~bad
        if new.any():
            rejected[reason] = int(new.sum())
            bad |= new

    for col in ("task_id", "description", "model"):
        text = frame[col].astype("string")
        reject(text.isna() | (text.str.strip() == ""), f"{col} empty")
    for col, low, high, rule in (
        ("success", 0.0, 1.0, "not in [0, 1]"),
        ("cost_usd", 0.0, np.inf, "not a finite number >= 0"),
    ):
        values = pd.to_numeric(frame[col], errors="coerce")
        # An infinite cost (or 1e400, which parses as inf) would poison every mean downstream.
        reject(values.isna() | ~np.isfinite(values) | (values < low) | (values > high), f"{col} {rule}")
        frame[col] = values.astype(float)  # one dtype whatever the file held (0/1 integers, text)
    for col in ("input_tokens", "output_tokens", "duration_ms"):
        if col in frame.columns:
            values = pd.to_numeric(frame[col], errors="coerce")
            reject(values < 0, f"{col} negative")
            frame[col] = values
    if "duration_ms" in frame.columns:
        frame["duration_ms"] = frame["duration_ms"].astype(float)
    if "propensity" in frame.columns:
        values = pd.to_numeric(frame["propensity"], errors="coerce")
        reject(values.notna() & ((values <= 0) | (values > 1)), "propensity not in (0, 1]")
        frame["propensity"] = values.astype(float)
    if "files" in frame.columns:
        # JSONL writers naturally write the list itself; the schema keeps it as JSON text.
        frame["files"] = frame["files"].map(lambda v: json.dumps(v) if isinstance(v, list) else v)
    if "metadata" in frame.columns:
        from router._metadata import metadata_json

        canonical = frame["metadata"].map(metadata_json)
        reject(canonical.isna(), "metadata not a JSON object of strings to strings")
        frame["metadata"] = canonical.fillna("")
    if "attempt" in frame.columns:
        values = pd.to_numeric(frame["attempt"], errors="coerce")
        reject(
            frame["attempt"].notna() & ~((values >= 1) & (values % 1 == 0)), "attempt not a whole number >= 1"
        )
        frame["attempt"] = values.astype("Int64")
    for col, low, high in (("score", 0.0, 100.0), ("tradeoff", 0.0, 1.0), ("novelty", -np.inf, np.inf)):
        if col in frame.columns:
            values = pd.to_numeric(frame[col], errors="coerce")
            outside = frame[col].notna() & (
                values.isna() | ~np.isfinite(values) | (values < low) | (values > high)
            )
            reject(outside, f"{col} not a finite number in [{low:g}, {high:g}]")
            frame[col] = values.astype(float)
    for col in TEXT_COLUMNS:
        if col in frame.columns:
            # Text as it was written; a missing value is "" (the ledger reads "" back as none).
            frame[col] = frame[col].map(lambda v: "" if v is None or v != v else str(v))
    if "timestamp" in frame.columns:
        stamps = pd.to_datetime(frame["timestamp"], errors="coerce", utc=True, format="ISO8601")
        reject(frame["timestamp"].notna() & stamps.isna(), "timestamp not ISO 8601")

    good = frame[~bad].reset_index(drop=True)
    for col in ("task_id", "description", "model"):
        good[col] = good[col].astype(str)
    return OutcomeLog(good, rejected)


def write_outcomes(rows: pd.DataFrame | list[dict[str, Any]], path: str | Path) -> Path:
    """Write rows in the outcome-log schema; the file appears whole or not at all (written, then renamed)."""
    require("pandas", extra="ledger")
    import pandas as pd

    fmt = log_format(path)
    if fmt == "parquet":
        require("pyarrow", extra="ledger")
    frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows)
    checked = validate_outcomes(frame)
    if checked.rejected:
        raise InvalidInputError(f"Refusing to write an outcome log with bad rows: {checked.rejected}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    if fmt == "csv":
        checked.frame.to_csv(tmp, index=False)
    elif fmt == "parquet":
        checked.frame.to_parquet(tmp, index=False)
    else:
        # Python's json, not pandas': pandas writes at most 15 digits, so a float would not read back equal.
        with tmp.open("w", encoding="utf-8") as handle:
            for record in checked.frame.to_dict(orient="records"):
                handle.write(json.dumps({k: _json_value(v) for k, v in record.items()}) + "\n")
    tmp.replace(path)
    return path


def _json_value(value: Any) -> Any:
    """A cell as JSON takes it: missing values (NaN, NA, NaT) as null, numpy scalars as Python's."""
    import pandas as pd

    if value is None or (not isinstance(value, str | list | dict) and pd.isna(value)):
        return None
    if hasattr(value, "item"):  # a numpy scalar
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value
