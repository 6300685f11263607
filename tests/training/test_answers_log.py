"""Answers in an outcome log: read as comparable text in every format, aligned with the task matrix."""

from __future__ import annotations

from pathlib import Path

import pytest

from router._outcome_log import read_outcomes, write_outcomes
from tests._answers import answer_log
from training.data.answers import answers_of, normalize_answers
from training.data.outcomes import task_matrix


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_answers_and_outputs_round_trip_as_text(tmp_path: Path, fmt: str):
    answers = ["18.0", "007", "", "x = 1/2", "NA"]
    rows = [
        {"task_id": f"t{k}", "description": "d", "model": "m", "success": 1.0, "cost_usd": 0.1, "answer": a,
         "output": f"so: {a}"}
        for k, a in enumerate(answers)
    ]  # fmt: skip
    frame = read_outcomes(write_outcomes(rows, tmp_path / f"answers.{fmt}")).frame
    assert normalize_answers(frame["answer"]).tolist() == answers
    assert frame["output"].tolist() == [f"so: {a}" for a in answers]


def test_the_answer_matrix_lines_up_with_the_tasks_and_models():
    log = answer_log(5, seed=0)
    data = task_matrix(log.iloc[::-1])  # whatever the rows' order
    answers = answers_of(log, data)
    assert answers is not None
    for n, task in enumerate(data.task_ids):
        for j, model in enumerate(data.models):
            row = log[(log.task_id == task) & (log.model == model)].iloc[0]
            assert answers.answers[n, j] == row["answer"]
            assert answers.nonempty[n, j] == (row["answer"] != "")
    agree = answers.agree
    assert (agree == agree.transpose(0, 2, 1)).all()
