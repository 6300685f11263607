"""`make demo`'s promotion step: the gate on a partial log, as production has it.

The weaker run becomes champion first (no champion yet); the champion then serves fresh tasks with 20%
exploration, each task's one attempt recorded with its propensity; the other run is promoted only if the
doubly robust paired difference on that log shows it better (one-sided 95% lower bound >= 0).
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

from router import Router
from router._outcome_log import write_outcomes

PARTIAL_TASKS = 2000  # routed by the champion with exploration: the gate's log
EXPLORATION = 0.2


def serve_with_exploration(champion: Router, world: Any, tasks: Any) -> list[dict[str, Any]]:
    """One attempt per task by the exploring champion, with the propensity of its choice."""
    rows = []
    for task in tasks.itertuples():
        decision = champion.route(task.description, files=json.loads(task.files))
        outcome = world.loc[(task.task_id, decision.model)]
        rows.append({"task_id": task.task_id, "description": task.description, "files": task.files,
                     "timestamp": task.timestamp, "model": decision.model,
                     "propensity": decision.propensity, "success": float(outcome["success"]),
                     "cost_usd": float(outcome["cost_usd"])})  # fmt: skip
    return rows


def promote_on_partial_log(ranked: list[dict[str, Any]], label_of: dict[str, str], root: Path) -> None:
    from training.experiments import CHAMPION, promote
    from training.synthetic import generate_outcomes

    weaker, stronger = ranked[-1]["run_id"], ranked[0]["run_id"]
    with contextlib.redirect_stderr(io.StringIO()):  # MLflow prints "Created version ..." to stderr
        first = promote(weaker)
    print(f"4. promotion gate on a partial log: {label_of[weaker]}: promoted (version {first.version}): "
          f"{first.reason.split(', on ')[0]}")  # fmt: skip
    frame = generate_outcomes(PARTIAL_TASKS, seed=3)
    world, tasks = frame.set_index(["task_id", "model"]), frame.drop_duplicates("task_id")
    champion = Router.load(
        f"models:/task-router@{CHAMPION}", strict=True, exploration_rate=EXPLORATION, seed=5
    )
    log = write_outcomes(serve_with_exploration(champion, world, tasks), root / "partial.parquet")
    print(f"   the champion served {PARTIAL_TASKS} fresh tasks exploring {EXPLORATION:.0%}: one attempt "
          f"each, with its propensity, in {log.name}")  # fmt: skip
    with contextlib.redirect_stderr(io.StringIO()):
        result = promote(stronger, data=log)
    verdict = "promoted" if result.promoted else "refused"
    print(f"   {label_of[stronger]}: {verdict} (version {result.version}): {result.reason.split(', on ')[0]}")
    if "A log like this one" in result.reason:  # what the log can show, after the data's name
        print(f"   {result.reason[result.reason.index('A log like this one') :]}")
