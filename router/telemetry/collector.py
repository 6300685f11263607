"""The collector: takes events from the decision path in microseconds and writes them in batches, off it.

Recording appends a tuple of references (the decision object, a time, a few numbers) to a deque: no lock, no
allocation beyond the tuple, no I/O. A daemon thread wakes every ``flush_interval_s`` (or when a batch is
ready), builds the events and writes them in one transaction per batch. When the queue holds ``max_queue``
events, new ones are dropped and counted, never waited for: the router must not slow down because the
database did. At interpreter exit the queue is flushed (``atexit``).

Counting: every event recorded is, at any moment, exactly one of written, dropped, failed (could not be
built or stored after retries) or pending, so ``written + dropped + failed + pending`` is the number recorded.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from router._catalog import Catalog
from router._exceptions import InvalidInputError
from router._types import construct
from router.telemetry.events import (
    EVENT_SCHEMA_VERSION,
    AlertEvent,
    BreakerEvent,
    DecisionEvent,
    Event,
    OutcomeEvent,
)
from router.telemetry.reference import description_score, terms_of
from router.telemetry.store import LedgerRow, Store

if TYPE_CHECKING:
    from router._types import RoutingDecision

log = logging.getLogger("router.telemetry")

_DECISION, _ATTEMPT, _OUTCOME, _BREAKER, _EVENT = range(5)
#: Tries of one batch before its events are counted as failed (a database restarting, a lock held long).
WRITE_TRIES = 3


@dataclass(frozen=True)
class CollectorStats:
    """What became of the events recorded so far."""

    written: int
    dropped: int
    failed: int
    pending: int

    @property
    def recorded(self) -> int:
        return self.written + self.dropped + self.failed + self.pending


class Collector:
    """Records routing decisions, attempts, outcomes and breaker openings into the ledger's database.

    Pass it to ``Router(collector=...)``, ``Router.load(uri, collector=...)`` and
    ``FallbackHandler(collector=...)``. Recording never blocks and never raises.

    Parameters
    ----------
    storage_path : path, optional
        The ledger's SQLite file (``ledger.db`` in the data directory when neither this nor ``database_url``).
    database_url : str, optional
        Any SQLAlchemy URL, e.g. ``postgresql+psycopg://user:pass@host/db``.
    max_queue : int
        Events held in memory at most (give or take one per recording thread); beyond it they are dropped
        and counted in ``stats().dropped``.
    batch_size : int
        Events per transaction at most.
    flush_interval_s : float
        How long the writer sleeps between batches when fewer than ``batch_size`` events are waiting.
    catalog : Catalog, optional
        Prices for the attempts' cost (the packaged catalog when omitted), as the ledger prices them.
    clock : callable, optional
        Epoch seconds now (``time.time``); inject one in tests.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from router import Router
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "ledger.db"
    >>> with Collector(path) as collector:
    ...     decision = Router(collector=collector).route("Fix typo in README")
    ...     collector.flush()
    ...     collector.stats().written
    True
    1
    """

    def __init__(
        self,
        storage_path: str | Path | None = None,
        database_url: str | None = None,
        *,
        max_queue: int = 100_000,
        batch_size: int = 2_000,
        flush_interval_s: float = 0.2,
        catalog: Catalog | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        for name, value in (("max_queue", max_queue), ("batch_size", batch_size)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidInputError(f"{name} must be a whole number >= 1, got {value!r}")
        if not 0 < flush_interval_s < float("inf"):
            raise InvalidInputError(f"flush_interval_s must be seconds > 0, got {flush_interval_s!r}")
        self.store = Store.open(storage_path, database_url)
        self.catalog = catalog or Catalog.default()
        self.max_queue, self.batch_size, self.flush_interval_s = max_queue, batch_size, flush_interval_s
        self._clock = clock
        self._queue: deque[tuple[Any, ...]] = deque()
        self._dropped = self._written = self._failed = self._in_flight = 0
        self._drop_lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="router-telemetry-writer", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    # --- the decision path: append or count, nothing else ---------------------------------------------

    def _put(self, item: tuple[Any, ...]) -> None:
        queue = self._queue
        size = len(queue)
        if size >= self.max_queue or self._closed:
            with self._drop_lock:
                self._dropped += 1
            return
        queue.append(item)
        if size + 1 == self.batch_size:
            self._wake.set()  # a full batch: no reason to wait for the interval

    def record_decision(
        self, decision: RoutingDecision, latency_s: float, description: str, model_uri: str | None = None
    ) -> None:
        """Queue a routing decision (see :class:`router._sink.EventSink`)."""
        self._put((_DECISION, self._clock(), decision, latency_s, description, model_uri))

    def record_attempt(self, fields: Mapping[str, Any], kind: str, reason: str | None) -> None:
        """Queue an attempt with the fields the fallback handler gives the ledger."""
        self._put((_ATTEMPT, self._clock(), fields, kind, reason))

    def record_outcome(
        self, decision_id: str, task_id: str, model: str | None, succeeded: bool, attempts: int
    ) -> None:
        """Queue how a task ended."""
        self._put((_OUTCOME, self._clock(), decision_id, task_id, model, succeeded, attempts))

    def record_breaker_open(self, model: str) -> None:
        """Queue a breaker opening."""
        self._put((_BREAKER, self._clock(), model))

    def record_refresh_failure(self, model_uri: str, error: str, failures: int) -> None:
        """Queue a failed model refresh (``Router.load(..., refresh=)``) as a ``model_refresh`` alert.

        It is stored with the alerts and counted in ``/metrics`` as ``router_alerts_total`` with
        ``rule="model_refresh"``.
        """
        event = AlertEvent(
            timestamp=datetime.fromtimestamp(self._clock(), UTC),
            rule="model_refresh",
            metric="refresh_failures",
            severity="warning",
            value=float(failures),
            threshold=1.0,
            comparison=">=",
            window_s=0.0,
            samples=failures,
            message=f"refreshing {model_uri} failed; the current model keeps serving: {error}"[:2000],
        )
        self.emit(event)

    def emit(self, event: Event) -> None:
        """Queue an event built by the caller (any of ``router.telemetry.events``)."""
        self._put((_EVENT, 0.0, event))

    # --- control -------------------------------------------------------------------------------------

    def stats(self) -> CollectorStats:
        return CollectorStats(
            written=self._written,
            dropped=self._dropped,
            failed=self._failed,
            pending=len(self._queue) + self._in_flight,
        )

    def flush(self, timeout_s: float = 30.0) -> bool:
        """Wait until every event recorded so far is written (or failed); False if ``timeout_s`` passed."""
        deadline = time.monotonic() + timeout_s
        while self._queue or self._in_flight:
            if time.monotonic() >= deadline or not self._thread.is_alive():
                return False
            self._wake.set()
            time.sleep(0.002)
        return True

    def close(self, timeout_s: float = 30.0) -> None:
        """Write what is queued, stop the writer and release the database; later events are dropped."""
        if self._closed:
            return
        self._closed = True
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            log.warning("telemetry writer did not finish within %.0f s; %d events left", timeout_s, len(self))
        atexit.unregister(self.close)
        self.store.close()

    def __len__(self) -> int:
        return len(self._queue) + self._in_flight

    def __enter__(self) -> Collector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Collector({self.store.shown_url!r})"

    # --- the writer thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            self._wake.wait(self.flush_interval_s)
            self._wake.clear()
            while self._queue:
                self._write_batch()
            if self._stopping and not self._queue:
                return

    def _write_batch(self) -> None:
        queue, batch = self._queue, []
        take = min(len(queue), self.batch_size)
        self._in_flight = take  # before popping, so flush() never sees an empty queue with nothing in flight
        for _ in range(take):
            batch.append(queue.popleft())
        events: list[Event | LedgerRow] = []
        for item in batch:
            try:
                events.append(self._build(item))
            except Exception as exc:  # a malformed record must not stop the writer
                self._failed += 1
                log.warning("telemetry: cannot build an event from %r: %r", item[:2], exc)
        for attempt in range(1, WRITE_TRIES + 1):
            try:
                self.store.write(events)
                self._written += len(events)
                break
            except Exception as exc:
                if attempt == WRITE_TRIES:
                    self._failed += len(events)
                    log.error("telemetry: %d events lost, the database refused them: %r", len(events), exc)
                else:
                    time.sleep(0.05 * 4**attempt)
        self._in_flight = 0

    def _build(self, item: tuple[Any, ...]) -> Event | LedgerRow:
        kind = item[0]
        if kind == _EVENT:
            event: Event = item[2]
            return event
        at = datetime.fromtimestamp(item[1], UTC)
        if kind == _DECISION:
            return decision_event(item[2], at, item[3], item[4], item[5])
        if kind == _ATTEMPT:
            return self._attempt_event(at, item[2], item[3], item[4])
        if kind == _OUTCOME:
            return _event(
                OutcomeEvent,
                timestamp=at,
                decision_id=item[2] or "",
                task_id=item[3],
                model=item[4],
                succeeded=bool(item[5]),
                attempts=int(item[6]),
            )
        return _event(BreakerEvent, timestamp=at, model=item[2])

    def _attempt_event(
        self, at: datetime, fields: Mapping[str, Any], kind: str, reason: str | None
    ) -> LedgerRow:
        """The attempt as a ledger row: the collector is the ledger's writer for a handler without a recorder.

        ``kind`` is not stored: the monitor reads it back from the attempt's chain. The failure reason heads
        ``error`` as the handler's recorder writes it; the output is not kept (a ``CostTracker`` keeps it).
        """
        from router.ledger.entries import RECORD_FIELDS, build_entry
        from router.ledger.queries import entry_row

        values = {k: v for k, v in fields.items() if k in RECORD_FIELDS and k != "output"}
        values["success"] = float(bool(values.get("success")))
        values["error"] = reason
        values["timestamp"] = at
        if int(values.get("attempt") or 1) > 1:
            values.pop("propensity", None)  # the router's propensity belongs to the first attempt
        try:
            entry = build_entry(values, self.catalog, lambda: at, "attempt")
        except Exception:  # a model the catalog does not know: its price is unknown, not an error here
            entry = build_entry({**values, "total_cost": 0.0}, self.catalog, lambda: at, "attempt")
        return LedgerRow(entry_row(entry))


E = TypeVar("E", bound=Event)


def _event(cls: type[E], **fields: Any) -> E:
    """An event from values this package computed: the kind and version filled in, nothing revalidated
    (``construct`` skips pydantic's per-field defaults search, the larger part of building one)."""
    fields["kind"] = cls.model_fields["kind"].default
    fields["schema_version"] = EVENT_SCHEMA_VERSION
    return construct(cls, fields)


def decision_event(
    decision: RoutingDecision, at: datetime, latency_s: float, description: str, model_uri: str | None
) -> DecisionEvent:
    """The event for a decision, with the estimator's score of the description alone (for drift)."""
    complexity = decision.complexity
    heuristic = description_score(complexity.factor_points)
    metadata = decision.metadata or {}  # what route took: None when the caller gave none
    return _event(
        DecisionEvent,
        timestamp=at,
        decision_id=decision.decision_id,
        source=decision.source,
        model_uri=model_uri,
        model=decision.model,
        tradeoff=decision.tradeoff,
        propensity=decision.propensity,
        # The learned router says so in its reason; it has no other trace of a random pick.
        explored=decision.reason.endswith("; exploring"),
        p_success=decision.p_success,
        expected_cost_usd=decision.expected_cost_usd,
        score=complexity.score,
        heuristic_score=heuristic,
        level=complexity.level.value,
        task_type=complexity.task_type.value,
        is_critical=complexity.is_critical,
        chars=len(description),
        terms=terms_of(description),
        metadata=dict(metadata),
        latency_s=max(0.0, float(latency_s)),
        novelty=decision.novelty,
    )
