"""``router retrain``: read a window of the ledger (or an exported Parquet log), train, gate, promote.

One command for cron or a CI job. Exit 0: the candidate was promoted; 1: the champion was kept (or the work
failed); 2: bad input. Progress goes to stderr, the result to stdout (``--json`` for machines). The body
imports ``training`` when it runs, so ``router route`` stays light.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from router._exceptions import InvalidInputError
from router.cli._app import FAILURE, VerboseOption, app, err, handle_errors, mlflow_verbosity, out, print_json
from router.cli._costs import DbOption, UrlOption, open_tracker
from router.cli._experiments import TrackingOption


@app.command()
@handle_errors
def retrain(
    db: DbOption = None,
    database_url: UrlOption = None,
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help="An exported Parquet log (a file or a dataset directory) instead of the ledger.",
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option("--since", help="Read attempts from this time on (ISO 8601, e.g. 2026-11-01; UTC)."),
    ] = None,
    days: Annotated[
        float | None, typer.Option("--days", help="Read the last N days of attempts (instead of --since).")
    ] = None,
    name: Annotated[str, typer.Option("--name", help="Registered model whose champion to challenge.")] = (
        "task-router"
    ),
    experiment: Annotated[str, typer.Option("--experiment", help="MLflow experiment of the run.")] = (
        "retrain"
    ),
    tracking_uri: TrackingOption = None,
    memory_budget: Annotated[
        str,
        typer.Option(
            "--memory-budget",
            help="Peak memory training may use, e.g. 4GB: a larger log is sampled by whole tasks to fit.",
        ),
    ] = "4GB",
    max_rows: Annotated[
        int | None, typer.Option("--max-rows", help="Read at most this many rows (whole tasks).")
    ] = None,
    held_out: Annotated[
        float, typer.Option("--held-out", help="Share of tasks kept from training, for the gate.")
    ] = 0.3,
    metric: Annotated[
        str, typer.Option("--metric", help="Gate metric on a partial log: utility or success.")
    ] = "utility",
    c: Annotated[float, typer.Option("--C", help="Inverse L2 strength of the success classifiers.")] = 0.3,
    seed: Annotated[int, typer.Option(help="Seed of the sample, the split and the folds.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    verbose: VerboseOption = False,
) -> None:
    """Retrain from the log and promote the candidate only if the gate finds it better than the champion.

    Reads the ledger (--db / --database-url) or an exported Parquet log (--data) for a window (--since or
    --days), within a memory budget (whole tasks sampled when the log is larger); trains a candidate on part
    of the tasks and registers it; compares it with the champion on the held-out tasks, off-policy (doubly
    robust) on a production log; moves the champion alias only when the gate says so. Every figure is
    logged to the candidate's MLflow run.

    Exit codes: 0 promoted, 1 kept the champion (or failed), 2 bad input.

    Example:  router retrain --database-url postgresql+psycopg://router@db/router --days 7 --json
    """
    mlflow_verbosity(verbose)
    from training.data.budget import budget_rows
    from training.retrain import retrain as run_retrain

    start = _window_start(since, days)
    limit = budget_rows(memory_budget, max_rows)
    if data is not None and db is not None:  # (--data wins over a $ROUTER_DATABASE_URL set for the shell)
        raise InvalidInputError("give --data (a Parquet log) or the ledger (--db / --database-url), not both")
    with tempfile.TemporaryDirectory(prefix="router-retrain-") as tmp:
        source = data if data is not None else _export_ledger(db, database_url, Path(tmp))
        result = run_retrain(
            source, max_rows=limit, since=start, registered_name=name, experiment=experiment,
            tracking_uri=tracking_uri, held_out=held_out, metric=metric, seed=seed, say=_progress, C=c,
        )  # fmt: skip
    payload = result.to_dict()
    if as_json:
        print_json(payload)
    else:
        _show(payload)
    if not result.promoted:
        raise typer.Exit(FAILURE)


def _window_start(since: str | None, days: float | None) -> datetime | None:
    if since is not None and days is not None:
        raise InvalidInputError("give --since or --days, not both")
    if days is not None:
        if not days > 0:
            raise InvalidInputError(f"--days must be a number of days > 0, got {days!r}")
        return datetime.now(UTC) - timedelta(days=days)
    if since is None:
        return None
    try:
        parsed = datetime.fromisoformat(since.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInputError(
            f"--since must be an ISO 8601 date or time such as 2026-11-01 or 2026-11-01T08:00Z, got {since!r}"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _export_ledger(db: Path | None, database_url: str | None, where: Path) -> Path:
    """The ledger's attempts as a Parquet outcome log, read from there in streaming passes."""
    path = where / "ledger.parquet"
    _progress("exporting the ledger's attempts")
    with open_tracker(db, database_url) as tracker:
        transfer = tracker.export_outcomes(path)
    if not transfer.rows:
        raise InvalidInputError(
            "The ledger holds no attempts with a task text to train on; record attempts with their "
            "descriptions (or import an outcome log) first."
        )
    return path


def _progress(message: str) -> None:
    err.print(f"retrain: {escape(message)}", highlight=False)


def _show(payload: dict[str, Any]) -> None:
    gate, sample = payload["gate"], payload["sample"]
    verdict = "[bold green]promoted[/]" if payload["promoted"] else "[bold yellow]kept the champion[/]"
    out.print(
        f"{verdict}: {escape(payload['name'])} version {payload['candidate_version']} "
        f"(champion was {payload['champion_version'] or 'none'})",
        highlight=False,
    )
    out.print(
        f"  read {sample['rows_read']:,} rows / {sample['tasks_read']:,} tasks of {sample['rows_total']:,} "
        f"/ {sample['tasks_total']:,}" + (" (sampled by task)" if sample["sampled"] else ""),
        highlight=False,
    )
    out.print(
        f"  trained on {payload['train_tasks']:,} tasks, gated on {payload['held_out_tasks']:,} held out",
        highlight=False,
    )
    out.print(f"  gate: {escape(gate['reason'])}", highlight=False, soft_wrap=True)
    out.print(f"  MLflow run {payload['run_id']}", highlight=False)
