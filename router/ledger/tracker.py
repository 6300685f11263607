"""``CostTracker``: the specification's cost tracker on a database, and the outcome log training reads.

SQLAlchemy is imported when a tracker is created, not when ``router`` is: the decision path never needs it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from router._catalog import Catalog
from router._exceptions import BudgetExceededError, InvalidInputError, LedgerError
from router._extras import require
from router._paths import data_dir
from router.ledger.budget import BudgetConfig
from router.ledger.entries import build_entry
from router.ledger.models import (
    BudgetAlert,
    BudgetStatus,
    CostEntry,
    CostSummary,
    Period,
    RoutingStats,
)

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from router.ledger.outcomes import OutcomeTransfer

logger = logging.getLogger("router.ledger")

Clock = Callable[[], datetime]
AlertCallback = Callable[[BudgetAlert], object]


#: The longest response text a tracker that keeps outputs stores by default, in characters.
DEFAULT_OUTPUT_MAX_CHARS = 20_000


def _utc_now() -> datetime:
    return datetime.now(UTC)


def default_ledger_path() -> Path:
    """``ledger.db`` in the data directory (``$ROUTER_DATA_DIR``, else ``./.router``)."""
    return data_dir() / "ledger.db"


class CostTracker:
    """Records what every attempt cost and whether it worked; answers summaries, budgets and exports.

    Parameters
    ----------
    storage_path : path, optional
        SQLite file; ``ledger.db`` in the data directory when neither this nor ``database_url`` is given.
        A file that exists but is not a SQLite database is refused, never overwritten.
    database_url : str, optional
        Any SQLAlchemy URL, e.g. ``postgresql+psycopg://user:pass@host/db`` so many hosts share one ledger.
    budget_daily, budget_monthly : float, optional
        Spend limits in dollars per UTC calendar day and month.
    budget_per_model : mapping of str to float, optional
        Daily limit in dollars for each named model.
    alert_shares : sequence of float
        Shares of a limit at which to alert, once per crossing per period (1.0 is the limit itself).
    on_alert : callable, optional
        Called with a :class:`BudgetAlert` after the entry that crossed a share is committed; alerts are
        also logged as warnings on the ``router.ledger`` logger. An exception it raises is logged, not raised,
        because the entry is already stored and a caller retrying ``record`` would store it twice.
    catalog : Catalog, optional
        Prices used when a call's costs are not given; the packaged catalog when omitted.
    clock : callable, optional
        Returns the current time as an aware datetime; the default is UTC wall time (inject one in tests).
    keep_output : bool
        Store each attempt's ``output`` (the response text) when the recorder gives one; off by default, as
        outputs may be long or hold what a team would rather not keep. ``answer`` is always stored.
    output_max_chars : int
        The longest output stored, in characters; a longer one is cut to this length (only with
        ``keep_output``).
    read_only : bool
        Open an existing ledger to read it: nothing is created or migrated, a database that is not a ledger
        is refused untouched, and a SQLite file is opened in SQLite's read-only mode (writes raise
        ``LedgerError``). What ``router costs summary`` and the other reading commands use.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "ledger.db"
    >>> with CostTracker(path) as tracker:
    ...     entry = tracker.record("haiku", "task-1", "typo", input_tokens=1000, output_tokens=200)
    ...     round(entry.total_cost, 6), tracker.get_summary("all").total_requests
    (0.0005, 1)
    """

    def __init__(
        self,
        storage_path: str | Path | None = None,
        database_url: str | None = None,
        budget_daily: float | None = None,
        budget_monthly: float | None = None,
        *,
        budget_per_model: Mapping[str, float] | None = None,
        alert_shares: Iterable[float] = (0.8, 1.0),
        on_alert: AlertCallback | None = None,
        catalog: Catalog | None = None,
        clock: Clock | None = None,
        keep_output: bool = False,
        output_max_chars: int = DEFAULT_OUTPUT_MAX_CHARS,
        read_only: bool = False,
    ) -> None:
        require("sqlalchemy", extra="ledger")  # before the engine module, which imports it
        from router.ledger import engine as _engine

        if not isinstance(keep_output, bool):
            raise InvalidInputError(f"keep_output must be True or False, got {keep_output!r}")
        if (
            isinstance(output_max_chars, bool)
            or not isinstance(output_max_chars, int)
            or output_max_chars < 1
        ):
            raise InvalidInputError(f"output_max_chars must be a whole number >= 1, got {output_max_chars!r}")
        self.keep_output, self.output_max_chars = keep_output, output_max_chars

        if storage_path is not None and database_url is not None:
            raise InvalidInputError("Give storage_path (a SQLite file) or database_url, not both.")
        self.budget = BudgetConfig.build(
            daily=budget_daily,
            monthly=budget_monthly,
            per_model_daily=dict(budget_per_model or {}),
            alert_shares=tuple(alert_shares),
        )
        self.catalog = catalog or Catalog.default()
        self.on_alert = on_alert
        self.clock: Clock = clock or _utc_now
        if database_url is None:
            self.storage_path: Path | None = (
                Path(storage_path) if storage_path is not None else default_ledger_path()
            )
            if read_only and not self.storage_path.is_file():
                raise LedgerError(
                    f"No ledger at {str(self.storage_path)!r}: nothing has been recorded there."
                )
            _engine.check_sqlite_file(self.storage_path)
            database_url = _engine.sqlite_url(self.storage_path)
        else:
            self.storage_path = None
        self._url = database_url
        self._engine: Engine = _engine.open_engine(database_url, read_only=read_only)

    # --- lifecycle ---------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The database URL with any password masked."""
        from router.ledger.engine import describe

        return describe(self._url)

    def close(self) -> None:
        """Release the database connections; the tracker cannot be used afterwards."""
        self._engine.dispose()

    def __enter__(self) -> CostTracker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"CostTracker({self.url!r})"

    def now(self) -> datetime:
        moment = self.clock()
        if moment.tzinfo is None:
            raise InvalidInputError(f"clock must return an aware datetime (with a time zone), got {moment!r}")
        return moment.astimezone(UTC)

    # --- recording ---------------------------------------------------------------------------------------

    def record(
        self,
        model: str,
        task_id: str,
        task_type: str | None = None,
        input_tokens: int = 0,
        output_tokens: int = 0,
        input_cost: float | None = None,
        output_cost: float | None = None,
        *,
        total_cost: float | None = None,
        success: float = 1.0,
        error: str | None = None,
        duration_ms: float | None = None,
        description: str = "",
        files: Iterable[str] | None = None,
        attempt: int = 1,
        decision_id: str | None = None,
        propensity: float | None = None,
        level: str | None = None,
        timestamp: datetime | str | None = None,
        metadata: Mapping[str, str] | None = None,
        score: float | None = None,
        tradeoff: float | None = None,
        model_version: str | None = None,
        novelty: float | None = None,
        answer: str | None = None,
        output: str | None = None,
    ) -> CostEntry:
        """Store one attempt and return it as stored (with its ``id``).

        Parameters are :class:`CostEntry`'s fields. Costs not given are computed from the catalog's prices
        (give ``input_cost`` and ``output_cost``, or ``total_cost`` alone, or none); ``success`` is in [0, 1]
        (a bool is accepted); ``timestamp`` is ISO 8601 or a datetime, the clock's time when omitted;
        ``metadata`` maps string keys to string values (the task's repository, team, ...: what ``route`` took)
        and is exported in the outcome log's ``metadata`` column. ``level``, ``score``, ``tradeoff``,
        ``model_version`` and ``novelty`` are the routing decision's (``execute_decision`` passes them);
        ``answer`` is stored as given, ``output`` only when the tracker keeps outputs (cut to
        ``output_max_chars``). A bad value raises :class:`InvalidInputError` naming the field, and nothing is
        stored.
        """
        fields = {k: v for k, v in locals().items() if k not in ("self", "files")}
        fields["files"] = list(files) if files is not None and not isinstance(files, str) else files
        entry = build_entry(self._kept(fields), self.catalog, self.now, "cost entry")
        new_id, _ = self._write([entry])
        return entry.model_copy(update={"id": new_id})

    def record_many(self, rows: Iterable[Mapping[str, Any]]) -> int:
        """Store many attempts in one transaction: all of them, or none when any row is invalid.

        Each row is a mapping with the keyword arguments of :meth:`record`. Returns the number stored.
        """
        entries = [
            build_entry(self._kept(dict(row)), self.catalog, self.now, f"row {i}")
            for i, row in enumerate(rows)
        ]
        self._write(entries)
        return len(entries)

    def _kept(self, fields: dict[str, Any]) -> dict[str, Any]:
        """The fields as stored: ``output`` dropped unless outputs are kept, and cut to the size cap."""
        output = fields.get("output")
        if output is None:
            return fields
        if not isinstance(output, str):
            raise InvalidInputError(f"output must be a string or None, got {type(output).__name__}")
        fields["output"] = output[: self.output_max_chars] if self.keep_output else None
        return fields

    def _write(
        self,
        entries: list[CostEntry],
        keep: Callable[[Any, list[dict[str, Any]]], list[dict[str, Any]]] | None = None,
    ) -> tuple[int | None, int]:
        """Insert the entries in one transaction; ``keep(conn, rows)``, when given, picks the rows to insert
        inside that transaction. Returns (the new id when one row went in, the number of rows inserted)."""
        from router.ledger import queries as _queries

        return self._write_rows([_queries.entry_row(e) for e in entries], keep)

    def _write_rows(
        self,
        rows: list[dict[str, Any]],
        keep: Callable[[Any, list[dict[str, Any]]], list[dict[str, Any]]] | None = None,
    ) -> tuple[int | None, int]:
        """``_write`` for rows already in the table's shape (``queries.entry_row``)."""
        from router.ledger import budget as _budget
        from router.ledger import engine as _engine
        from router.ledger import queries as _queries

        alerts: list[BudgetAlert] = []
        with (
            _engine.database_errors("record entries", self._url),
            _engine.write_transaction(self._engine) as conn,
        ):
            if keep is not None:
                rows = keep(conn, rows)
            new_id = _queries.insert_rows(conn, rows)
            if self.budget.any and rows:
                now = self.now()
                status = _budget.budget_status(conn, self.budget, now)
                alerts = _budget.claim_new_alerts(conn, status, self.budget.alert_shares, now)
        for alert in alerts:
            self._send(alert)
        return new_id, len(rows)

    def _send(self, alert: BudgetAlert) -> None:
        logger.warning("Budget alert: %s", alert.message)
        if self.on_alert is not None:
            try:
                self.on_alert(alert)
            except Exception:
                logger.exception("The on_alert callback failed for: %s", alert.message)

    # --- reading -----------------------------------------------------------------------------------------

    def get_summary(self, period: str = "day") -> CostSummary:
        """Spend and usage over ``period``: hour, day, week, month (UTC calendar periods) or all."""
        from router.ledger.summary import summarize

        return summarize(self._engine, self._url, Period.parse(period), self.now())

    def routing_stats(self, period: str = "all") -> RoutingStats:
        """Decisions per complexity level and model, success rates and how often a fallback was needed."""
        from router.ledger.summary import routing_stats

        return routing_stats(self._engine, self._url, Period.parse(period), self.now())

    def get_recent_entries(self, n: int = 10) -> list[CostEntry]:
        """The ``n`` most recent entries, newest first."""
        from router.ledger import engine as _engine
        from router.ledger import queries as _queries

        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise InvalidInputError(f"n must be a whole number >= 0, got {n!r}")
        with (
            _engine.database_errors("read entries", self._url),
            _engine.read_transaction(self._engine) as conn,
        ):
            return _queries.recent(conn, n)

    def check_budget(self, model: str | None = None, *, refuse: bool = False) -> BudgetStatus:
        """How every configured limit stands now.

        With ``refuse=True``, raise :class:`BudgetExceededError` when a limit is spent: any limit, or, when
        ``model`` is given, an overall limit or that model's own.
        """
        from router.ledger import budget as _budget
        from router.ledger import engine as _engine

        with (
            _engine.database_errors("check the budget", self._url),
            _engine.read_transaction(self._engine) as c,
        ):
            status = _budget.budget_status(c, self.budget, self.now())
        blocked = (
            status.exceeded
            if model is None
            else [lim for lim in status.exceeded if lim.model in (None, model)]
        )
        if refuse and blocked:
            spent = "; ".join(f"{lim.name}: ${lim.spent:.4f} of ${lim.limit:.4f}" for lim in blocked)
            raise BudgetExceededError(f"Budget exceeded{f' for {model}' if model else ''}: {spent}")
        return status

    # --- maintenance and export --------------------------------------------------------------------------

    def clear_old_entries(self, days: int = 90) -> int:
        """Delete entries older than ``days`` days; return how many were deleted."""
        from router.ledger import engine as _engine
        from router.ledger import queries as _queries

        cutoff = self._cutoff(days)
        with (
            _engine.database_errors("delete entries", self._url),
            _engine.write_transaction(self._engine) as conn,
        ):
            return _queries.delete_before(conn, cutoff)

    def count_old_entries(self, days: int = 90) -> int:
        """How many entries ``clear_old_entries(days)`` would delete now (to ask before deleting)."""
        from router.ledger import engine as _engine
        from router.ledger import queries as _queries

        cutoff = self._cutoff(days)
        with (
            _engine.database_errors("count entries", self._url),
            _engine.read_transaction(self._engine) as conn,
        ):
            return _queries.count_before(conn, cutoff)

    def _cutoff(self, days: int) -> datetime:
        if isinstance(days, bool) or not isinstance(days, int) or days < 0:
            raise InvalidInputError(f"days must be a whole number >= 0, got {days!r}")
        return self.now() - timedelta(days=days)

    def export_csv(self, path: str | Path) -> int:
        """Write every entry, oldest first, to a CSV file (whole or not at all); return the row count."""
        from router.ledger.outcomes import export_csv

        return export_csv(self._engine, self._url, Path(path))

    def export_outcomes(self, path: str | Path) -> OutcomeTransfer:
        """Write the outcome log training reads (CSV, Parquet or JSONL by extension).

        Entries recorded without a task description cannot train a router; they are left out and counted.
        """
        from router.ledger.outcomes import export_outcomes

        return export_outcomes(self._engine, self._url, Path(path))

    def import_outcomes(self, path: str | Path, *, skip_invalid: bool = False) -> OutcomeTransfer:
        """Add the rows of an outcome-log file (a benchmark's or another ledger's) in one transaction.

        A file with invalid rows is refused whole unless ``skip_invalid``, which imports the valid rows and
        counts the others by reason. Rows keep the file's timestamp; rows without one are stamped with the
        current time. Rows the ledger already holds are left out (counted as "already in the ledger"), so
        importing the same file twice adds nothing.
        """
        from functools import partial

        from router.ledger.outcomes import (
            OutcomeTransfer,
            merge_identical,
            outcome_rows,
            read_for_import,
            unseen_rows,
        )
        from router.ledger.queries import entry_row

        frame, skipped = read_for_import(Path(path), skip_invalid=skip_invalid)
        rows = list(outcome_rows(frame, str(path)))
        timed = [row["timestamp"] is not None for row in rows]  # before build_entry stamps the others
        entries = [
            build_entry(self._kept(row), self.catalog, self.now, f"row {i}") for i, row in enumerate(rows)
        ]
        # Compared as the ledger stores them (files as JSON, costs completed), so "identical" means that.
        stored = [entry_row(e) for e in entries]
        unique, unique_timed = merge_identical(stored, timed)
        merged = len(stored) - len(unique)
        _, kept = self._write_rows(unique, keep=partial(unseen_rows, timed=unique_timed))
        if kept < len(unique):
            skipped = {**skipped, "already in the ledger": len(unique) - kept}
        return OutcomeTransfer(path=Path(path), rows=kept, skipped=skipped, merged=merged)
