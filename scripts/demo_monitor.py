"""The demo's last act: watch the served champion, then shift its traffic and see the drift alert fire.

Called by ``scripts/demo.py`` after the learning loop, in the same data directory. Two simulated hours go
through a telemetry collector (its clock set two hours back, so the windows are real hours of events):
the first like the training traffic, the second only security, architecture and performance tasks. Each
task runs through the fallback handler, whose simulated model answers from ``training.synthetic``'s latent
model; a failed answer escalates. ``router monitor report`` shows the first hour, ``router monitor check``
the shipped rules over each hour.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from rich.console import Console

from router import ExecutionError, FallbackHandler, Router
from router._paths import data_dir
from router.cli._monitor_show import show_report
from router.telemetry import Collector
from router.telemetry.alerts import check_rules
from router.telemetry.analyzer import analyze, load_reference
from router.telemetry.rules import RuleSet
from router.telemetry.window import Window

CHAMPION_URI = "models:/task-router@champion"
TASKS_PER_HOUR = 400
SHIFTED_TYPES = ("security", "architecture", "performance")


class Reply:
    """A simulated model's answer: whether it worked and its token usage (as an SDK message has)."""

    def __init__(self, row: Any) -> None:
        self.ok = bool(row["success"] >= 1)
        self.usage = type("Usage", (), {"input_tokens": int(row["input_tokens"]),
                                        "output_tokens": int(row["output_tokens"])})()  # fmt: skip


def serve_hour(
    router: Router, handler: FallbackHandler, world: Any, tasks: Any, clock: list[datetime]
) -> None:
    step = timedelta(hours=1) / len(tasks)
    for task in tasks.itertuples():
        decision = router.route(task.description, files=json.loads(task.files))
        with contextlib.suppress(ExecutionError):  # every model tried failed: recorded, and the demo goes on
            handler.execute_decision(
                decision,
                task.task_id,
                lambda model, tid=task.task_id: Reply(world.loc[(tid, model)]),
                accept=lambda reply: reply.ok,
                description=task.description,
            )
        clock[0] += step


def monitor_demo() -> None:
    from training.synthetic import generate_outcomes

    root = data_dir()
    print("\n== Watching the served champion (router monitor) ==\n")
    alerts = logging.getLogger("router.telemetry")
    alerts.addHandler(logging.StreamHandler(sys.stdout))  # the alert log line, shown in the demo's output
    alerts.propagate = False
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    clock = [start]
    frame = generate_outcomes(8 * TASKS_PER_HOUR, seed=5)  # enough tasks of the shifted types for an hour
    world = frame.set_index(["task_id", "model"])
    tasks = frame.drop_duplicates("task_id")
    stable = tasks.head(TASKS_PER_HOUR)
    shifted = tasks[tasks["task_type"].isin(SHIFTED_TYPES)].tail(TASKS_PER_HOUR)
    rules = RuleSet(rules=[r.model_copy(update={"window": "1h"}) for r in RuleSet.load().rules])
    reference, why = load_reference(CHAMPION_URI)
    with Collector(root / "ledger.db", clock=lambda: clock[0].timestamp()) as collector:
        router = Router.load(CHAMPION_URI, strict=True, collector=collector)
        handler = FallbackHandler(collector=collector, sleep=lambda s: None)
        serve_hour(router, handler, world, stable, clock)
        collector.flush()
        hour = Window(start, clock[0])
        print(f"router monitor report --window 1h --model {CHAMPION_URI}   (the first hour, usual traffic)")
        report = analyze(collector.store, hour, model_uri=CHAMPION_URI, reference=reference)
        show_report(Console(width=110), report)
        quiet = check_rules(collector.store, rules, clock[0], model_uri=CHAMPION_URI, reference=reference)
        names = ", ".join(v.rule.name for v in quiet.crossed) or "none"
        print(f"\nrouter monitor check: {len(quiet.crossed)} rules crossed after the first hour ({names})")

        serve_hour(router, handler, world, shifted, clock)
        collector.flush()
        print(f"\nthe second hour: only {', '.join(SHIFTED_TYPES)} tasks ({len(shifted)})")
        shift = check_rules(collector.store, rules, clock[0], model_uri=CHAMPION_URI, reference=reference)
    if reference is None:
        print(f"drift not checked: {why}")
    for verdict in shift.verdicts:
        mark = {None: "no verdict", False: "ok", True: "CROSSED"}[verdict.crossed]
        print(f"   {verdict.rule.name:<18}{mark:<12}{verdict.detail}")
    fired = ", ".join(a.rule for a in shift.fired) or "none"
    print(f"router monitor check: alerts fired: {fired} (exit code {1 if shift.crossed else 0})")
