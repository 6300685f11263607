"""Outcome logs into the shapes training needs: one row per task, and a task x model outcome matrix."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

import numpy as np
import pandas as pd

from router._outcome_log import OutcomeLog, read_outcomes, validate_outcomes
from router.estimation.estimator import FileFacts

Outcomes: TypeAlias = str | Path | pd.DataFrame | OutcomeLog


def load_outcomes(outcomes: Outcomes) -> OutcomeLog:
    if isinstance(outcomes, OutcomeLog):
        return outcomes
    if isinstance(outcomes, pd.DataFrame):
        return validate_outcomes(outcomes)
    return read_outcomes(outcomes)


def _file_count(value: object) -> int:
    if not isinstance(value, str) or not value.strip():
        return 0
    try:
        parsed = json.loads(value)
    except ValueError:
        return 0
    return len(parsed) if isinstance(parsed, list) else 0


@dataclass
class TaskMatrix:
    """Tasks (rows) x models (columns): outcomes, costs, which pairs were tried, and their weights."""

    task_ids: np.ndarray
    descriptions: list[str]
    facts: list[FileFacts]
    models: list[str]
    success: np.ndarray  # NaN where not tried
    cost: np.ndarray  # NaN where not tried
    weight: np.ndarray  # inverse propensity (1 where none was logged), 0 where not tried
    metadata: list[dict[str, str]] | None = None  # per task, from the log's optional metadata column

    @property
    def observed(self) -> np.ndarray:
        return ~np.isnan(self.success)

    def subset(self, rows: np.ndarray) -> TaskMatrix:
        return TaskMatrix(
            self.task_ids[rows],
            [self.descriptions[i] for i in rows],
            [self.facts[i] for i in rows],
            self.models,
            self.success[rows],
            self.cost[rows],
            self.weight[rows],
            None if self.metadata is None else [self.metadata[i] for i in rows],
        )


def task_matrix(frame: pd.DataFrame, models: list[str] | None = None, max_weight: float = 20.0) -> TaskMatrix:
    """Pivot an outcome log; repeated attempts of one model on one task are averaged.

    Inverse-propensity weights are clipped at ``max_weight`` so a rare exploratory choice cannot dominate.
    """
    frame = frame.copy()
    if "propensity" not in frame.columns:
        frame["propensity"] = np.nan
    frame["weight"] = np.minimum(1.0 / frame["propensity"].fillna(1.0), max_weight)
    models = models or sorted(frame["model"].unique())
    grouped = frame.groupby(["task_id", "model"], sort=False).agg(
        success=("success", "mean"), cost=("cost_usd", "mean"), weight=("weight", "mean")
    )
    tasks = frame.drop_duplicates("task_id").set_index("task_id")
    task_ids = tasks.index.to_numpy()
    full = pd.MultiIndex.from_product([task_ids, models], names=["task_id", "model"])
    grid = grouped.reindex(full)
    shape = (len(task_ids), len(models))
    files = tasks["files"] if "files" in tasks.columns else pd.Series("", index=tasks.index)
    return TaskMatrix(
        task_ids=task_ids,
        descriptions=tasks["description"].astype(str).tolist(),
        facts=[FileFacts(_file_count(v), 0) for v in files],
        models=list(models),
        success=grid["success"].to_numpy().reshape(shape),
        cost=grid["cost"].to_numpy().reshape(shape),
        weight=grid["weight"].fillna(0.0).to_numpy().reshape(shape),
        metadata=[json.loads(v) if v else {} for v in tasks["metadata"]]
        if "metadata" in tasks.columns
        else None,
    )


def data_identity(frame: pd.DataFrame) -> dict[str, object]:
    """What identifies the training data: a content hash, counts, models and time range."""
    digest = pd.util.hash_pandas_object(frame[["task_id", "model", "success", "cost_usd"]], index=False)
    ident: dict[str, object] = {
        "data_sha256": __import__("hashlib").sha256(digest.to_numpy().tobytes()).hexdigest(),
        "rows": len(frame),
        "tasks": int(frame["task_id"].nunique()),
        "models": sorted(frame["model"].unique().tolist()),
    }
    if "timestamp" in frame.columns and frame["timestamp"].notna().any():
        stamps = pd.to_datetime(frame["timestamp"], utc=True, format="ISO8601", errors="coerce")
        ident["time_range"] = [str(stamps.min()), str(stamps.max())]
    return ident
