"""``router costs ...`` and ``router routing stats``: what the ledger says about spend and routing."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from router._exceptions import InvalidInputError
from router.cli._app import FAILURE, app, handle_errors, out, print_json
from router.cli._errors import naming, refuse_overwrite
from router.ledger import CostSummary, CostTracker, RoutingStats, default_ledger_path
from router.ledger.models import Period

costs_app = typer.Typer(
    help="Spend recorded in the ledger: summaries, CSV export, pruning, schema migration.",
    no_args_is_help=True,
)
routing_app = typer.Typer(help="How routing went, from the ledger.", no_args_is_help=True)
app.add_typer(costs_app, name="costs")
app.add_typer(routing_app, name="routing")

DbOption = Annotated[
    Path | None,
    typer.Option(
        "--db",
        help="The ledger's SQLite file (default: ledger.db in $ROUTER_DATA_DIR or ./.router).",
        dir_okay=False,
    ),
]
UrlOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="ROUTER_DATABASE_URL",
        help="A database URL instead of a file, e.g. postgresql+psycopg://user:pass@host/db.",
    ),
]
PeriodOption = Annotated[
    str, typer.Option("--period", "-p", help="hour, day, week, month (calendar, UTC) or all.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for machines instead of a table.")]
MAX_PRUNE_DAYS = 36_500
ForceOption = Annotated[bool, typer.Option("--force", help="Overwrite FILE if it exists.")]


def ledger_location(db: Path | None, database_url: str | None, *, must_exist: bool = True) -> Path | str:
    """The ledger ``--db`` / ``--database-url`` name: its database URL, or its SQLite file, which must exist
    unless ``must_exist`` is False (a mistyped path would otherwise show an empty ledger and leave a new
    file behind)."""
    if db is not None and database_url:
        raise InvalidInputError("Give --db or --database-url (ROUTER_DATABASE_URL), not both.")
    if database_url:
        return database_url
    path = db or default_ledger_path()
    if must_exist and not path.exists():
        raise InvalidInputError(f"No ledger at {str(path)!r}. Give --db PATH or --database-url URL.")
    return path


def open_tracker(
    db: Path | None,
    database_url: str | None,
    *,
    create: bool = False,
    write: bool = False,
    keep_output: bool = False,
) -> CostTracker:
    """The ledger the options name; a SQLite file must exist unless the command may create it.

    Reading commands (neither ``create`` nor ``write``) open it read-only: they never create, migrate or
    change anything, so pointing ``--db`` at another program's database leaves it as it was.
    """
    where = ledger_location(db, database_url, must_exist=not create)
    read_only = not (create or write)
    if isinstance(where, Path):
        return CostTracker(where, read_only=read_only, keep_output=keep_output)
    return CostTracker(database_url=where, read_only=read_only, keep_output=keep_output)


@costs_app.command("summary")
@handle_errors
def summary(
    period: PeriodOption = "day",
    by: Annotated[str, typer.Option("--by", help="Break spend down by model or task_type.")] = "model",
    db: DbOption = None,
    database_url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Spend, requests and tokens over a period, broken down by model or task type.

    Example:  router costs summary --period week --by task_type
    """
    if by not in ("model", "task_type"):
        raise InvalidInputError(f"Unknown --by {by!r}. Allowed: model, task_type.")
    Period.parse(period)  # bad input is refused before the ledger is opened
    with open_tracker(db, database_url) as tracker:
        result = tracker.get_summary(period)
    if as_json:
        print_json(result.model_dump(mode="json"))
    else:
        show_summary(result, by)


def show_summary(s: CostSummary, by: str) -> None:
    since = "all time" if s.start is None else f"{s.start:%Y-%m-%d %H:%M} UTC"
    out.print(
        f"[bold]{s.period.value}[/] (since {since}): {s.total_requests:,} requests, "
        f"${s.total_cost:,.4f}, {s.total_tokens:,} tokens",
        highlight=False,
    )
    if not s.total_requests:
        return
    out.print(
        f"  per request: ${s.avg_cost_per_request:.4f}, {s.avg_tokens_per_request:,.0f} tokens",
        highlight=False,
    )
    out.print(f"  most expensive: {s.most_expensive_model}; most used: {s.most_used_model}", highlight=False)
    costs, counts = (
        (s.cost_by_model, s.requests_by_model)
        if by == "model"
        else (s.cost_by_task_type, s.requests_by_task_type)
    )
    table = Table(by, "requests", "cost", "share", box=None, padding=(0, 2))
    for name, cost in costs.items():
        share = cost / s.total_cost if s.total_cost else 0.0
        table.add_row(name, f"{counts[name]:,}", f"${cost:,.4f}", f"{share:.0%}")
    out.print(table)


@costs_app.command("export")
@handle_errors
def export(
    file: Annotated[Path, typer.Argument(help="The CSV file to write.", dir_okay=False)],
    db: DbOption = None,
    database_url: UrlOption = None,
    force: ForceOption = False,
) -> None:
    """Write every ledger entry to a CSV file, oldest first.

    Example:  router costs export costs.csv
    """
    refuse_overwrite(file, force, "FILE")
    with open_tracker(db, database_url) as tracker, naming(file):
        count = tracker.export_csv(file)
    out.print(f"Wrote {count:,} entries to {file}", highlight=False)


@costs_app.command("prune")
@handle_errors
def prune(
    days: Annotated[int, typer.Option("--days", help="Delete entries older than this many days.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Delete without asking first.")] = False,
    db: DbOption = None,
    database_url: UrlOption = None,
) -> None:
    """Delete entries older than N days, after saying how many and asking (or with --yes).

    Example:  router costs prune --days 90 --yes
    """
    if not 0 <= days <= MAX_PRUNE_DAYS:
        raise InvalidInputError(f"--days must be between 0 and {MAX_PRUNE_DAYS:,} (100 years), got {days:,}")
    with open_tracker(db, database_url, write=True) as tracker:
        due = tracker.count_old_entries(days)
        if due == 0:
            out.print(f"No entries older than {days} days; nothing deleted", highlight=False)
            return
        if not yes:
            confirm_prune(due, days)
        count = tracker.clear_old_entries(days)
    out.print(f"Deleted {count:,} entries older than {days} days", highlight=False)


@costs_app.command("migrate")
@handle_errors
def migrate(
    db: DbOption = None,
    database_url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Upgrade an older ledger to this router's schema, so the reading commands accept it.

    Writers migrate on open; this does it on purpose, once, and says what it did. It creates nothing: a
    database that is not a ledger is refused. Hosts that share the ledger must run this router's version.

    Example:  router costs migrate --database-url postgresql+psycopg://user:pass@host/db
    """
    from router.ledger import engine as _engine  # SQLAlchemy loads only for the commands that need it

    location = ledger_location(db, database_url)
    if isinstance(location, Path):
        _engine.check_sqlite_file(location)
        url, where = _engine.sqlite_url(location), str(location)
    else:
        url, where = location, _engine.describe(location)
    before, after = _engine.upgrade(url)
    if as_json:
        print_json(
            {"ledger": where, "from_version": before, "to_version": after, "migrated": before != after}
        )
    elif before == after:
        out.print(
            f"The ledger at {where} is at schema version {after} already; nothing changed",
            highlight=False,
            soft_wrap=True,
        )
    else:
        out.print(
            f"Migrated the ledger at {where} from schema version {before} to {after}",
            highlight=False,
            soft_wrap=True,
        )


def confirm_prune(due: int, days: int) -> None:
    question = f"Delete {due:,} entries older than {days} days from the ledger?"
    try:
        # The question on stdout: stderr keeps the one error line when there is no answer.
        agreed = typer.confirm(question, default=False)
    except typer.Abort:  # no terminal or no answer (end of input)
        out.print()
        raise InvalidInputError(
            f"{question[:-1]}: no answer on stdin. Add --yes to delete without asking."
        ) from None
    if not agreed:
        out.print("Nothing deleted.")
        raise typer.Exit(FAILURE)


@routing_app.command("stats")
@handle_errors
def stats(
    period: PeriodOption = "all",
    db: DbOption = None,
    database_url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Attempts per complexity level and model, success rates, and how often a fallback was needed.

    Example:  router routing stats --period month
    """
    Period.parse(period)
    with open_tracker(db, database_url) as tracker:
        result = tracker.routing_stats(period)
    if as_json:
        print_json(result.model_dump(mode="json"))
    else:
        show_routing(result)


def show_routing(r: RoutingStats) -> None:
    share = r.decisions_with_fallback / r.decisions if r.decisions else 0.0
    out.print(
        f"[bold]{r.period.value}[/]: {r.decisions:,} decisions, {r.decisions_with_fallback:,} needed a "
        f"fallback ({share:.0%})",
        highlight=False,
    )
    table = Table(
        "level", "model", "attempts", "first", "fallback", "success", "cost", box=None, padding=(0, 2)
    )
    for row in r.rows:
        rate = "-" if row.success_rate is None else f"{row.success_rate:.0%}"
        table.add_row(
            row.level,
            row.model,
            f"{row.attempts:,}",
            f"{row.first_attempts:,}",
            f"{row.fallback_attempts:,}",
            rate,
            f"${row.total_cost:,.4f}",
        )
    out.print(table)
