"""Outcome-log readers and writer: formats round-trip, missing columns are named, bad rows are counted."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from router import InvalidInputError
from router._outcome_log import (
    COLUMNS,
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    read_outcomes,
    validate_outcomes,
    write_outcomes,
)
from training.synthetic import generate_outcomes

FORMATS = ["csv", "parquet", "jsonl"]


def good_row(**changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "task_id": "t1",
        "description": "Fix typo in README",
        "model": "haiku",
        "success": 1.0,
        "cost_usd": 0.001,
        "input_tokens": 120,
        "output_tokens": 40,
        "duration_ms": 850.0,
        "task_type": "typo",
        "files": '["README.md"]',
        "timestamp": "2026-01-01T00:00:00Z",
        "propensity": 0.5,
        "metadata": '{"repo": "acme/site"}',
    }
    return {**row, **changes}


@pytest.fixture(scope="module")
def logged_frame() -> pd.DataFrame:
    return generate_outcomes(40, seed=7, mode="logged", escalate=True)


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_round_trips_to_the_same_frame(tmp_path: Path, logged_frame: pd.DataFrame, fmt: str):
    path = write_outcomes(logged_frame, tmp_path / f"log.{fmt}")
    log = read_outcomes(path)
    assert log.rejected == {}
    pd.testing.assert_frame_equal(log.frame, validate_outcomes(logged_frame).frame)
    # The generator writes the schema up to propensity: no metadata, answers or ledger columns.
    assert list(log.frame.columns) == list(COLUMNS[: COLUMNS.index("propensity") + 1])
    assert not list(tmp_path.glob("*.tmp")), "the temporary file is renamed into place"


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_minimal_log_holds_only_the_required_columns(tmp_path: Path, fmt: str):
    rows = [{c: good_row()[c] for c in REQUIRED_COLUMNS}]
    log = read_outcomes(write_outcomes(rows, tmp_path / f"min.{fmt}"))
    assert list(log.frame.columns) == list(REQUIRED_COLUMNS)
    assert log.summary() == "1 rows, 1 tasks, 1 models"


def test_csv_keeps_task_ids_as_text(tmp_path: Path):
    path = tmp_path / "ids.csv"
    pd.DataFrame([good_row(task_id="007"), good_row(task_id="1e3")]).to_csv(path, index=False)
    assert read_outcomes(path).frame["task_id"].tolist() == ["007", "1e3"]


def test_jsonl_accepts_numeric_ids_and_files_as_lists(tmp_path: Path):
    path = tmp_path / "raw.jsonl"
    rows = [good_row(task_id=7, files=["a.py", "b.py"]), good_row(task_id=None)]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    log = read_outcomes(path)
    assert log.frame["task_id"].tolist() == ["7"]
    assert json.loads(log.frame["files"][0]) == ["a.py", "b.py"]
    assert log.rejected == {"task_id empty": 1}


@pytest.mark.parametrize(
    "missing",
    [["task_id"], ["success", "cost_usd"], list(REQUIRED_COLUMNS)],
    ids=["one", "two", "all"],
)
def test_missing_required_columns_are_all_named(missing: list[str]):
    frame = pd.DataFrame([good_row()]).drop(columns=missing)
    with pytest.raises(InvalidInputError, match="missing required column") as info:
        validate_outcomes(frame)
    named = str(info.value).split(":")[1].split(".")[0]
    assert [c.strip() for c in named.split(",")] == missing


def test_optional_columns_may_be_absent_and_extra_columns_are_left_out():
    frame = (
        pd.DataFrame([good_row()]).drop(columns=list(OPTIONAL_COLUMNS), errors="ignore").assign(repo="django")
    )
    assert list(validate_outcomes(frame).frame.columns) == list(REQUIRED_COLUMNS)


BAD_ROWS = [
    ({"task_id": ""}, "task_id empty"),
    ({"task_id": None}, "task_id empty"),
    ({"description": "   "}, "description empty"),
    ({"model": None}, "model empty"),
    ({"success": 1.5}, "success not in [0, 1]"),
    ({"success": -0.1}, "success not in [0, 1]"),
    ({"success": "yes"}, "success not in [0, 1]"),
    ({"success": None}, "success not in [0, 1]"),
    ({"cost_usd": -0.01}, "cost_usd not a finite number >= 0"),
    ({"cost_usd": None}, "cost_usd not a finite number >= 0"),
    ({"cost_usd": float("inf")}, "cost_usd not a finite number >= 0"),
    ({"cost_usd": "1e400"}, "cost_usd not a finite number >= 0"),
    ({"input_tokens": -1}, "input_tokens negative"),
    ({"output_tokens": -1}, "output_tokens negative"),
    ({"duration_ms": -5.0}, "duration_ms negative"),
    ({"propensity": 0.0}, "propensity not in (0, 1]"),
    ({"propensity": 1.2}, "propensity not in (0, 1]"),
    ({"timestamp": "yesterday"}, "timestamp not ISO 8601"),
]
BAD_IDS = [
    "task_id-blank", "task_id-null", "description-whitespace", "model-null", "success-above-1",
    "success-negative", "success-text", "success-null", "cost-negative", "cost-null", "cost-inf",
    "cost-1e400", "input-tokens-negative", "output-tokens-negative", "duration-negative", "propensity-zero",
    "propensity-above-1", "timestamp-text",
]  # fmt: skip


@pytest.mark.parametrize(("change", "reason"), BAD_ROWS, ids=BAD_IDS)
def test_a_bad_row_is_counted_by_its_reason_and_the_good_rows_kept(change: dict[str, Any], reason: str):
    frame = pd.DataFrame(
        [good_row(task_id="a"), good_row(**{"task_id": "b", **change}), good_row(task_id="c")]
    )
    log = validate_outcomes(frame)
    assert log.rejected == {reason: 1}
    assert log.n_rejected == 1
    assert log.frame["task_id"].tolist() == ["a", "c"]
    assert f"rejected 1 ({reason})" in log.summary()


def test_a_row_with_several_faults_counts_once_under_its_first_reason():
    frame = pd.DataFrame([good_row(task_id="", success=2.0, cost_usd=-1.0), good_row(success=2.0)])
    assert validate_outcomes(frame).rejected == {"task_id empty": 1, "success not in [0, 1]": 1}


@pytest.mark.parametrize("fmt", FORMATS)
def test_reading_counts_bad_rows_in_every_format(tmp_path: Path, fmt: str):
    frame = pd.DataFrame([good_row(task_id="a"), good_row(task_id="b", cost_usd=-1.0)])
    path = tmp_path / f"bad.{fmt}"
    {"csv": lambda: frame.to_csv(path, index=False), "parquet": lambda: frame.to_parquet(path),
     "jsonl": lambda: frame.to_json(path, orient="records", lines=True)}[fmt]()  # fmt: skip
    log = read_outcomes(path)
    assert log.rejected == {"cost_usd not a finite number >= 0": 1}
    assert log.frame["task_id"].tolist() == ["a"]


def test_writing_refuses_bad_rows_and_leaves_no_file(tmp_path: Path):
    path = tmp_path / "out.csv"
    with pytest.raises(InvalidInputError, match="Refusing to write an outcome log with bad rows"):
        write_outcomes([good_row(), good_row(success=3)], path)
    assert not path.exists()


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("log.txt", None, r"Unknown outcome-log format '\.txt'.*Allowed extensions: \.csv, \.parquet"),
        ("log", None, r"Unknown outcome-log format '\(no extension\)'"),
        ("absent.csv", None, "Outcome log not found"),
        ("garbage.parquet", b"not parquet at all", "Cannot read outcome log .* as parquet"),
        ("garbage.jsonl", b"{not json\n", "Cannot read outcome log .* as jsonl"),
    ],
    ids=["unknown-extension", "no-extension", "absent", "corrupt-parquet", "corrupt-jsonl"],
)
def test_unreadable_files_raise_a_message_naming_the_problem(
    tmp_path: Path, name: str, content: bytes | None, match: str
):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InvalidInputError, match=match):
        read_outcomes(path)
