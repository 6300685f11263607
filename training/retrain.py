"""Retraining as one step for cron or CI: read a window of the log, train, gate, register, promote.

``retrain`` reads the outcome log (a Parquet file or dataset directory, or a frame the caller read from the
ledger) within a row budget (:mod:`training.data.budget`: whole tasks, a seeded sample), splits its tasks
into a training part and a held-out part, trains a candidate on the first and registers it, then asks the
promotion gate (:func:`training.tracking.registry.promote`) to compare it with the champion on the held-out
part: off-policy, by the doubly robust paired difference of utility, when the log is partial (one model per
task with its propensity, as production logs are); on the curve metric ``apgr`` when every model was tried
on every task. Only the gate moves the ``champion`` alias. The sample, the split and the gate's figures are
logged to the candidate's MLflow run.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from router._exceptions import InvalidInputError
from training._train import train_router
from training.data.budget import LogSample, read_within_budget, task_hashes
from training.data.outcomes import load_outcomes
from training.tracking.ope_gate import is_partial
from training.tracking.registry import DEFAULT_NAME, Promotion, promote
from training.tracking.runs import use_tracking

log = logging.getLogger("training")

#: Fewer held-out tasks than this cannot tell two routers apart; the run is refused as bad input.
MIN_HELD_OUT_TASKS = 50
DEFAULT_HELD_OUT = 0.3


@dataclass
class RetrainResult:
    """What ``retrain`` did: the sample it read, the candidate it trained and what the gate decided."""

    promoted: bool
    name: str
    candidate_version: str
    champion_version: str | None
    run_id: str
    sample: LogSample
    train_tasks: int
    held_out_tasks: int
    gate: Promotion
    window: dict[str, str | None] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "promoted": self.promoted,
            "outcome": "promoted" if self.promoted else "kept the champion",
            "name": self.name,
            "candidate_version": self.candidate_version,
            "champion_version": self.champion_version,
            "run_id": self.run_id,
            "window": self.window,
            "sample": self.sample.to_dict(),
            "train_tasks": self.train_tasks,
            "held_out_tasks": self.held_out_tasks,
            "gate": self.gate.to_dict(),
            "metrics": self.metrics,
        }


def retrain(
    source: str | Path | pd.DataFrame,
    *,
    max_rows: int,
    since: datetime | None = None,
    until: datetime | None = None,
    registered_name: str = DEFAULT_NAME,
    experiment: str = "retrain",
    tracking_uri: str | None = None,
    held_out: float = DEFAULT_HELD_OUT,
    metric: str = "utility",
    seed: int = 0,
    say: Callable[[str], None] = log.info,
    **params: Any,
) -> RetrainResult:
    """Train a candidate on a window of the log and promote it only if the gate finds it better.

    Parameters
    ----------
    source : path or DataFrame
        The outcome log: a Parquet file or dataset directory (read in streaming passes), or a frame.
    max_rows : int
        Rows read at most (whole tasks; ``training.data.budget.budget_rows`` turns a memory budget into one).
    since, until : datetime, optional
        The window of attempt timestamps to read, ``[since, until)``.
    registered_name, experiment, tracking_uri
        The registered model whose ``champion`` alias the gate guards, the MLflow experiment of the run and
        the tracking store (default: ``$MLFLOW_TRACKING_URI``, else the data directory's SQLite).
    held_out : float
        Share of the tasks the candidate does not see, on which the gate compares it with the champion.
    metric : str
        The gate's metric on a partial log: ``utility`` (success minus the candidate's cost weight times
        cost) or ``success``. A full-information log is judged on ``apgr``.
    **params
        Training parameters, as ``train_router`` takes them (``C``, ``seed``, ...).
    """
    if not 0.0 < held_out < 1.0:
        raise InvalidInputError(f"held_out must be in (0, 1), got {held_out!r}")
    if metric not in ("utility", "success"):
        raise InvalidInputError(f"metric must be utility or success, got {metric!r}")
    say("reading the log" + (" within the row budget" if max_rows < 2**62 else ""))
    frame, sample = read_within_budget(source, max_rows=max_rows, since=since, until=until, seed=seed)
    say(f"log: {sample.describe()}")
    if frame.empty:
        raise InvalidInputError(f"The log holds no attempts in the window ({_window_text(since, until)}).")
    frame = load_outcomes(frame).frame
    train_frame, test_frame = _split(frame, held_out, seed)
    train_n, test_n = int(train_frame["task_id"].nunique()), int(test_frame["task_id"].nunique())
    if test_n < MIN_HELD_OUT_TASKS:
        raise InvalidInputError(
            f"The window holds {train_n + test_n} tasks; {test_n} held out is too few for the gate (at "
            f"least {MIN_HELD_OUT_TASKS}). Widen the window (--since/--days) or raise --held-out."
        )
    say(f"training the candidate on {train_n:,} tasks ({len(train_frame):,} rows); {test_n:,} held out")
    result = train_router(
        train_frame, experiment=experiment, tracking_uri=tracking_uri, register=True,
        registered_name=registered_name, seed=seed, **params,
    )  # fmt: skip
    if result.run_id is None:  # pragma: no cover - train_router logs when asked to
        raise InvalidInputError("training logged no MLflow run to promote")
    partial = is_partial(test_frame, sorted(frame["model"].unique()))
    gate_metric = metric if partial else "apgr"
    say(
        "gating: "
        + (f"doubly robust {metric} on the held-out part of the log" if partial else "apgr (full log)")
    )
    decision = promote(
        result.run_id, metric=gate_metric, data=test_frame, registered_name=registered_name,
        tracking_uri=tracking_uri,
    )  # fmt: skip
    say(("promoted" if decision.promoted else "kept the champion") + f": {decision.reason}")
    window = {"since": _iso(since), "until": _iso(until)}
    _log_to_run(result.run_id, tracking_uri, sample, train_n, test_n, decision, window)
    return RetrainResult(
        promoted=decision.promoted, name=registered_name, candidate_version=decision.version,
        champion_version=decision.previous_version, run_id=result.run_id, sample=sample,
        train_tasks=train_n, held_out_tasks=test_n, gate=decision, window=window, metrics=result.metrics,
    )  # fmt: skip


def _split(frame: pd.DataFrame, held_out: float, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Tasks into a training and a held-out part by a seeded hash (another key than the sample's)."""
    hashes = task_hashes(frame["task_id"].to_numpy(), seed + 7_919)
    test = (hashes % np.uint64(10_000)) < np.uint64(round(held_out * 10_000))
    return frame[~test].reset_index(drop=True), frame[test].reset_index(drop=True)


def _log_to_run(
    run_id: str,
    tracking_uri: str | None,
    sample: LogSample,
    train_n: int,
    test_n: int,
    decision: Promotion,
    window: dict[str, str | None],
) -> None:
    """The retraining's own figures in the candidate's run, beside what training logged."""
    use_tracking(tracking_uri)
    from mlflow import MlflowClient

    client = MlflowClient()
    figures: dict[str, float] = {
        "retrain.rows_total": sample.rows_total,
        "retrain.tasks_total": sample.tasks_total,
        "retrain.rows_read": sample.rows_read,
        "retrain.tasks_read": sample.tasks_read,
        "retrain.share_read": sample.share,
        "retrain.max_rows": float(min(sample.max_rows, 2**53)),
        "retrain.train_tasks": train_n,
        "retrain.held_out_tasks": test_n,
        "retrain.promoted": float(decision.promoted),
        "gate.candidate": decision.candidate_value,
        "gate.tasks": decision.tasks,
    }
    optional = {
        "gate.champion": decision.champion_value,
        "gate.lower_bound_95": decision.lower_bound,
        "gate.detectable_80": decision.detectable,
    }
    figures |= {k: v for k, v in optional.items() if v is not None}
    if decision.champion_value is not None:
        figures["gate.difference"] = decision.candidate_value - decision.champion_value
    for key, value in figures.items():
        if math.isfinite(float(value)):
            client.log_metric(run_id, key, float(value))
    tags = {
        "retrain.sampled": str(sample.sampled).lower(),
        "retrain.since": window["since"] or "",
        "retrain.until": window["until"] or "",
        "retrain.outcome": "promoted" if decision.promoted else "kept",
        "retrain.gate_metric": decision.metric,
        "retrain.candidate_version": decision.version,
        "retrain.champion_version": decision.previous_version or "",
        "retrain.reason": decision.reason[:4000],
    }
    for key, tag in tags.items():
        client.set_tag(run_id, key, tag)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _window_text(since: datetime | None, until: datetime | None) -> str:
    return f"since {_iso(since) or 'the start'}, until {_iso(until) or 'now'}"
