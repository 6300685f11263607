"""Attempts and their outcomes as the monitor reads them: from the ledger, whatever wrote them.

The fallback handler's recorder, ``router logs import`` and an integration all write ``ledger_entries``; the
monitor reads attempts there only, so an attempt is stored once. What the handler knew in the moment (was it a
retry, a fallback or an escalation; why did it fail) is read back from the row and its chain: the attempt
number, the models tried before it in the same decision, and the reason the handler writes at the head of
``error`` (``"timeout: read timed out"``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, select

from router.execution.failures import FailureReason
from router.ledger.schema import entries
from router.telemetry.store import to_us
from router.telemetry.window import Window

_REASONS = frozenset(r.value for r in FailureReason)
_CHUNK = 500  # ids per IN list: well under every database's limit on bound parameters


@dataclass(frozen=True, slots=True)
class LedgerAttempt:
    """One ledger row as the monitor needs it: ``kind`` is first, retry, fallback or escalation."""

    decision_id: str
    model: str
    attempt: int
    kind: str
    success: float
    reason: str | None
    duration_ms: float | None
    cost_usd: float


def reason_of(error: str | None, success: float) -> str | None:
    """The failure reason the handler wrote at the head of ``error``; ``"error"`` for a failure without
    one; None for a success."""
    if success >= 0.5:
        return None
    head = (error or "").split(":", 1)[0].strip()
    return head if head in _REASONS else "error"


def in_window(window: Window) -> Any:
    return and_(entries.c.ts_us >= to_us(window.start), entries.c.ts_us < to_us(window.end))


def _chain_key(row: Any) -> tuple[str, str]:
    # A chain is one task run for one decision (a decision may be run for several tasks, and attempts
    # recorded without a decision id are grouped by their task alone).
    return (row.task_id, row.decision_id or "")


_COLUMNS = (
    entries.c.id,
    entries.c.decision_id,
    entries.c.task_id,
    entries.c.model,
    entries.c.attempt,
    entries.c.success,
    entries.c.error,
    entries.c.duration_ms,
    entries.c.total_cost,
)


def read_attempts(conn: Any, window: Window) -> list[LedgerAttempt]:
    """Every attempt recorded in the window, with its kind worked out from its chain."""
    rows = conn.execute(select(*_COLUMNS).where(in_window(window))).all()
    chains: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for row in rows:
        chains[_chain_key(row)].append(row)
    # An attempt after the first needs the chain's earlier attempts, which may lie before the window.
    partial = {key for key, found in chains.items() if any(r.attempt > 1 for r in found)}
    for key, row in _earlier(conn, partial, {r.id for r in rows}):
        chains[key].append(row)
    kinds: dict[int, tuple[str, str | None]] = {}
    for chain in chains.values():
        kinds.update(_kinds(sorted(chain, key=lambda r: (r.attempt, r.id))))
    return [
        LedgerAttempt(
            decision_id=row.decision_id or "",
            model=row.model,
            attempt=row.attempt,
            kind=kinds[row.id][0],
            success=float(row.success),
            reason=kinds[row.id][1],
            duration_ms=row.duration_ms,
            cost_usd=float(row.total_cost),
        )
        for row in rows
    ]


def _earlier(conn: Any, keys: set[tuple[str, str]], seen: set[int]) -> Iterable[tuple[tuple[str, str], Any]]:
    """The rows of these chains outside the window (the task id index finds them)."""
    task_ids = sorted({task_id for task_id, _ in keys})
    for at in range(0, len(task_ids), _CHUNK):
        stmt = select(*_COLUMNS).where(entries.c.task_id.in_(task_ids[at : at + _CHUNK]))
        for row in conn.execute(stmt):
            key = _chain_key(row)
            if row.id not in seen and key in keys:
                yield key, row


def _kinds(chain: list[Any]) -> dict[int, tuple[str, str | None]]:
    """Each attempt's kind and reason, as the handler counted them (``TaskRun._count_attempt``)."""
    tried: set[str] = set()
    after_quality = False
    found: dict[int, tuple[str, str | None]] = {}
    for row in chain:
        if row.attempt <= 1:
            kind = "first"
        elif row.model in tried:
            kind = "retry"
        else:
            kind = "escalation" if after_quality else "fallback"
        reason = reason_of(row.error, float(row.success))
        found[row.id] = (kind, reason)
        tried.add(row.model)
        if reason is not None:
            after_quality = reason == FailureReason.QUALITY.value
    return found


def successes(conn: Any, window: Window) -> tuple[float, int]:
    """(summed success, attempts) in the window: the baseline of a success-drop test."""
    total, count = conn.execute(
        select(func.sum(entries.c.success), func.count()).where(in_window(window))
    ).one()
    return float(total or 0.0), int(count)


def spend(conn: Any, window: Window) -> float:
    """Dollars recorded in the window."""
    return float(
        conn.execute(select(func.sum(entries.c.total_cost)).where(in_window(window))).scalar() or 0.0
    )


def first_attempts(conn: Any, window: Window) -> list[Any]:
    """The window's first attempts with what a model needs to predict them: text, metadata, model."""
    stmt = select(
        entries.c.decision_id, entries.c.model, entries.c.success, entries.c.description, entries.c.metadata
    ).where(in_window(window), entries.c.attempt == 1)
    return list(conn.execute(stmt).all())
