"""The outcome log's answers as arrays aligned with a ``TaskMatrix``: what the acceptance model learns from.

A log has answers when its optional ``answer`` column holds at least one non-empty value; a log without them
trains exactly as before (``answers_of`` returns None). ``output`` is optional even then: without it every
output length is 0 (the length feature then carries nothing).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from router.learned.answer_features import output_length
from training.data.outcomes import TaskMatrix


@dataclass
class AnswerMatrix:
    """Per task and model: the answer (``''`` where none or not tried), its output length, and who agrees."""

    answers: np.ndarray  # (tasks, models) object: str
    nonempty: np.ndarray  # (tasks, models) bool: tried and a non-empty answer
    length: np.ndarray  # (tasks, models) float: output_length of the output (0 where not tried)

    @property
    def agree(self) -> np.ndarray:
        """``agree[n, i, j]``: models ``i`` and ``j`` gave the same non-empty answer on task ``n``."""
        a = self.answers
        same = a[:, :, None] == a[:, None, :]
        return same & self.nonempty[:, :, None] & self.nonempty[:, None, :]

    def subset(self, rows: np.ndarray) -> AnswerMatrix:
        return AnswerMatrix(self.answers[rows], self.nonempty[rows], self.length[rows])


def has_answers(frame: pd.DataFrame) -> bool:
    """True when the log carries answers: an ``answer`` column with at least one non-empty value."""
    if "answer" not in frame.columns:
        return False
    answers = frame["answer"]
    return bool((answers.notna() & (answers.astype(str).str.strip() != "")).any())


def normalize_answers(values: pd.Series) -> pd.Series:
    """Answers as comparable text: missing -> '', surrounding space trimmed; numbers as they were read."""
    return values.map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip())


def answers_of(frame: pd.DataFrame, data: TaskMatrix) -> AnswerMatrix | None:
    """The log's answers aligned with ``data`` (its tasks and models), or None when the log has none.

    Repeated attempts of one model on one task keep the first.
    """
    if not has_answers(frame):
        return None
    rows = frame[["task_id", "model"]].copy()
    rows["answer"] = normalize_answers(frame["answer"])
    outputs = (
        frame["output"] if "output" in frame.columns else pd.Series([None] * len(frame), index=frame.index)
    )
    rows["length"] = outputs.map(lambda v: output_length(v) if isinstance(v, str) else 0.0)
    rows["tried"] = True
    rows = rows.drop_duplicates(["task_id", "model"], keep="first").set_index(["task_id", "model"])
    full = pd.MultiIndex.from_product([data.task_ids, data.models], names=["task_id", "model"])
    grid = rows.reindex(full)
    shape = (len(data.task_ids), len(data.models))
    answers = grid["answer"].fillna("").to_numpy(dtype=object).reshape(shape)
    tried = grid["tried"].notna().to_numpy().reshape(shape)
    return AnswerMatrix(
        answers=answers,
        nonempty=tried & (answers != ""),
        length=grid["length"].fillna(0.0).to_numpy(dtype=np.float64).reshape(shape),
    )
