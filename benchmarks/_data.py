"""The data the sections share: SWE-bench outcomes when the shared files are there, else synthetic ones,
and 2 KB task descriptions cut or padded from real problem statements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

DESCRIPTION_BYTES = 2048


@dataclass
class Dataset:
    """A full-information outcome log (every model on every task) and where it came from."""

    frame: Any  # pandas DataFrame in the outcome-log schema
    catalog: Any  # router.Catalog naming the log's models
    source: str


def swebench_or_reason() -> tuple[Dataset | None, str]:
    """The five-model SWE-bench log, or None and why it is not available."""
    from router import RouterError
    from training.swebench import load_swebench, swebench_catalog

    try:
        log = load_swebench()
    except RouterError as exc:  # InvalidInputError names every place it looked
        return None, str(exc)
    return Dataset(
        log.frame, swebench_catalog(), "SWE-bench Verified (the shared data, bash-only scaffold)"
    ), ""


def synthetic(n_tasks: int = 2_000, seed: int = 0) -> Dataset:
    from router import Catalog
    from training.synthetic import generate_outcomes

    frame = generate_outcomes(n_tasks, seed=seed, mode="full")
    return Dataset(frame, Catalog.default(), f"synthetic ({n_tasks} tasks, seed {seed})")


def dataset() -> Dataset:
    data, _ = swebench_or_reason()
    return data or synthetic()


def two_kb_descriptions(texts: list[str], n: int) -> list[str]:
    """``n`` distinct descriptions of exactly 2 KB of UTF-8: each text cut at 2 KB, or padded with the texts
    that follow it (real issue text throughout, so every part of the featurizer sees realistic input)."""
    out = []
    for i in range(n):
        parts, size, j = [], 0, i
        while size < DESCRIPTION_BYTES:
            text = texts[j % len(texts)].strip()
            parts.append(text)
            size += len(text.encode()) + 2
            j += 1
        raw = "\n\n".join(parts).encode()[:DESCRIPTION_BYTES]
        out.append(raw.decode("utf-8", errors="ignore"))
    return out


def task_arrays(data: Dataset) -> tuple[list[str], list[str], np.ndarray, np.ndarray]:
    """Task descriptions, model names, success (tasks x models, 0/1) and cost matrices."""
    wide = data.frame.pivot_table(index="task_id", columns="model", values=["success", "cost_usd"])
    models = sorted(data.frame["model"].unique())
    texts = data.frame.drop_duplicates("task_id").set_index("task_id")["description"].reindex(wide.index)
    success = (wide["success"][models].to_numpy() >= 0.5).astype(float)
    cost = wide["cost_usd"][models].to_numpy()
    return texts.astype(str).tolist(), models, success, cost
