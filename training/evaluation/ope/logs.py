"""What off-policy evaluation reads from an outcome log: per task, which models were observed, with what
probability, and what they gave.

Two kinds of task can share one log:

* a **partial** task (production): the logging router chose one model; its *first attempt* (the earliest
  row of the task, file order breaking ties) carries the ``propensity`` with which it was chosen. Later rows
  of the task are escalations: they happen only after a failure, so they are not a random draw of a model
  and never enter the estimate as if they were.
* a **full-information** task (a benchmark, or a shadow run): every model of the log was tried on it, each
  for sure (no row with a propensity below 1).

A log is refused, never silently trimmed, when a row is invalid (counted by reason, propensities of 0 or
above 1 included) or when a partial task's first attempt has no propensity.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from router._exceptions import InvalidInputError
from router._outcome_log import OutcomeLog, read_frame, validate_outcomes
from router.estimation.estimator import FileFacts
from training.data.outcomes import Outcomes, _file_count

_SURE = 1.0 - 1e-9


@dataclass
class PartialLog:
    """Tasks (rows) x models (columns): which pairs were observed, their probability and their outcomes.

    ``observed[i, a]`` is true when model ``a``'s outcome on task ``i`` counts; ``probability[i, a]`` is the
    chance it was observed (the logged propensity, or 1 on a full-information task); ``success`` and
    ``cost`` hold the outcomes (NaN where not observed). ``spend`` is what the task really cost, every
    attempt included.
    """

    task_ids: np.ndarray
    descriptions: list[str]
    facts: list[FileFacts]
    models: list[str]
    observed: np.ndarray
    probability: np.ndarray
    success: np.ndarray
    cost: np.ndarray
    first: np.ndarray  # index of the model of each task's first attempt
    full: np.ndarray  # per task: every model tried
    spend: np.ndarray
    solved: np.ndarray  # per task: the best outcome of any attempt (escalations included)
    rows: int = 0
    notes: dict[str, int] = field(default_factory=dict)
    metadata: list[dict[str, str]] | None = None  # per task, its first attempt's metadata (the log's column)

    @property
    def n_tasks(self) -> int:
        return len(self.task_ids)

    @property
    def is_partial(self) -> bool:
        """True when some task was not tried on every model (an off-policy estimate is then needed)."""
        return not bool(self.full.all())

    def subset(self, rows: np.ndarray) -> PartialLog:
        return PartialLog(
            self.task_ids[rows], [self.descriptions[i] for i in rows], [self.facts[i] for i in rows],
            self.models, self.observed[rows], self.probability[rows], self.success[rows], self.cost[rows],
            self.first[rows], self.full[rows], self.spend[rows], self.solved[rows], rows=0,
            metadata=None if self.metadata is None else [self.metadata[i] for i in rows],
        )  # fmt: skip


def _raw(outcomes: Outcomes) -> pd.DataFrame:
    if isinstance(outcomes, OutcomeLog):
        if outcomes.rejected:
            raise _refusal(outcomes.rejected)
        return outcomes.frame
    if isinstance(outcomes, pd.DataFrame):
        return outcomes
    return read_frame(Path(outcomes))


def _propensity_problems(raw: pd.DataFrame) -> dict[str, int]:
    """Bad propensities by reason (0 and above 1 apart, which the general validation counts together)."""
    if "propensity" not in raw.columns:
        return {}
    values = pd.to_numeric(raw["propensity"], errors="coerce")
    problems = {
        "propensity 0 or below": int((values <= 0).sum()),
        "propensity above 1": int((values > 1).sum()),
        "propensity not a number": int((values.isna() & raw["propensity"].notna()).sum()),
    }
    return {why: n for why, n in problems.items() if n}


def _refusal(reasons: dict[str, int]) -> InvalidInputError:
    counts = ", ".join(f"{n} ({why})" for why, n in sorted(reasons.items()))
    return InvalidInputError(
        f"The outcome log cannot be used for off-policy evaluation: {counts}. Every first attempt needs the "
        "propensity with which the logging router chose its model, in (0, 1] (the ledger records it when "
        "decisions carry one: Router.load(..., exploration_rate=...)); fix or drop those rows."
    )


def partial_log(outcomes: Outcomes, models: list[str] | None = None) -> PartialLog:
    """Read and check an outcome log for off-policy evaluation (see the module docstring).

    Parameters
    ----------
    outcomes : path, DataFrame or OutcomeLog
        The log, in the outcome-log schema.
    models : list of str, optional
        The models to evaluate over (default: those of the log, sorted); the log's rows of other models
        are refused.
    """
    raw = _raw(outcomes)
    problems = _propensity_problems(raw)
    checked = validate_outcomes(raw)
    others = {why: n for why, n in checked.rejected.items() if not why.startswith("propensity")}
    if problems or others:
        raise _refusal({**problems, **others})
    frame = checked.frame
    if frame.empty:
        raise InvalidInputError("The outcome log has no rows to evaluate on.")
    names = sorted(frame["model"].unique()) if models is None else list(models)
    unknown = sorted(set(frame["model"]) - set(names))
    if unknown:
        raise InvalidInputError(
            f"The log names models outside the evaluation's: {unknown}. Allowed: {names}."
        )
    if "timestamp" in frame.columns:
        stamps = pd.to_datetime(frame["timestamp"], utc=True, format="ISO8601", errors="coerce")
        frame = frame.iloc[np.argsort(stamps.to_numpy(), kind="stable")]
    return _build(frame.reset_index(drop=True), names)


def _build(frame: pd.DataFrame, names: list[str]) -> PartialLog:
    m = len(names)
    task, task_ids = pd.factorize(frame["task_id"], sort=False)
    model = pd.Index(names).get_indexer(frame["model"])
    n = len(task_ids)
    # Every model tried on a task, none of them by a chance below 1, makes it full-information (an
    # explored first attempt followed by escalations is not); repeats of a pair are averaged.
    tried = np.zeros((n, m), dtype=bool)
    tried[task, model] = True
    chance = frame["propensity"].to_numpy(float) if "propensity" in frame.columns else np.ones(len(frame))
    drawn = np.bincount(task, weights=(chance < _SURE).astype(float), minlength=n) > 0
    full = tried.all(axis=1) & ~drawn
    first_row = np.full(n, len(frame))
    np.minimum.at(first_row, task, np.arange(len(frame)))
    first = model[first_row]
    counts = np.zeros((n, m))
    np.add.at(counts, (task, model), 1.0)
    sums_s, sums_c = np.zeros((n, m)), np.zeros((n, m))
    np.add.at(sums_s, (task, model), frame["success"].to_numpy(float))
    np.add.at(sums_c, (task, model), frame["cost_usd"].to_numpy(float))
    observed = np.where(full[:, None], tried, False)
    rows = np.arange(n)
    partial = ~full
    observed[rows[partial], first[partial]] = True
    probability = np.where(observed, 1.0, 0.0)
    success = np.full((n, m), np.nan)
    cost = np.full((n, m), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_s, mean_c = sums_s / counts, sums_c / counts
    # A partial task counts its first attempt only: its own outcome, not an average with later retries.
    first_s = frame["success"].to_numpy(float)[first_row]
    first_c = frame["cost_usd"].to_numpy(float)[first_row]
    success[full] = mean_s[full]
    cost[full] = mean_c[full]
    success[rows[partial], first[partial]] = first_s[partial]
    cost[rows[partial], first[partial]] = first_c[partial]
    if partial.any():
        if "propensity" not in frame.columns:
            raise _refusal({"first attempt without a propensity (no propensity column)": int(partial.sum())})
        logged = frame["propensity"].to_numpy(float)[first_row]
        missing = partial & np.isnan(logged)
        if missing.any():
            raise _refusal({"first attempt without a propensity": int(missing.sum())})
        probability[rows[partial], first[partial]] = logged[partial]
    spend = np.bincount(task, weights=frame["cost_usd"].to_numpy(float), minlength=n)
    solved = np.zeros(n)
    np.maximum.at(solved, task, frame["success"].to_numpy(float))
    firsts = frame.iloc[first_row]
    files = firsts["files"] if "files" in firsts.columns else pd.Series([""] * n)
    metadata = None
    if "metadata" in firsts.columns:  # validated JSON objects of strings (or empty), as training reads them
        metadata = [json.loads(v) if isinstance(v, str) and v else {} for v in firsts["metadata"]]
    return PartialLog(
        task_ids=np.asarray(task_ids, dtype=object),
        descriptions=firsts["description"].astype(str).tolist(),
        facts=[FileFacts(_file_count(v), 0) for v in files],
        models=names, observed=observed, probability=probability, success=success, cost=cost,
        first=first, full=full, spend=spend, solved=solved, rows=len(frame),
        notes={"escalation rows not used": int(partial[task].sum() - partial.sum())}, metadata=metadata,
    )  # fmt: skip
