"""``router logs export|import``: the ledger as an outcome log (CSV, Parquet or JSONL) for training."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from router.cli._app import app, handle_errors, out, print_json
from router.cli._costs import DbOption, ForceOption, JsonOption, UrlOption, open_tracker
from router.cli._errors import naming, refuse_overwrite
from router.ledger import OutcomeTransfer

logs_app = typer.Typer(
    help="Outcome logs: the ledger's rows in the schema training reads.", no_args_is_help=True
)
app.add_typer(logs_app, name="logs")

FileArgument = Annotated[
    Path, typer.Argument(help="An outcome log: .csv, .parquet or .jsonl.", dir_okay=False)
]


@logs_app.command("export")
@handle_errors
def export(
    file: FileArgument,
    db: DbOption = None,
    database_url: UrlOption = None,
    as_json: JsonOption = False,
    force: ForceOption = False,
) -> None:
    """Write the ledger as an outcome log (format by extension); entries without a description are left out.

    Example:  router logs export outcomes.parquet
    """
    refuse_overwrite(file, force, "FILE")
    with open_tracker(db, database_url) as tracker, naming(file):
        result = tracker.export_outcomes(file)
    show(result, "Wrote", as_json)


@logs_app.command("import")
@handle_errors
def import_(
    file: FileArgument,
    skip_invalid: Annotated[
        bool,
        typer.Option("--skip-invalid", help="Import the valid rows and count the others (default: refuse)."),
    ] = False,
    keep_output: Annotated[
        bool,
        typer.Option(
            "--keep-output",
            help="Store the file's output column (response texts, cut to 20,000 characters); "
            "by default outputs are not kept, answers always are.",
        ),
    ] = False,
    db: DbOption = None,
    database_url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Add an outcome log's rows (a benchmark's or another ledger's) to the ledger, all or none.

    Rows the ledger holds already are left out (importing a file twice adds nothing); rows repeated inside the
    file are one attempt, counted as merged.

    Example:  router logs import benchmark-outcomes.jsonl
    """
    from router.ledger.outcomes import read_for_import

    # The file's own faults (missing, unreadable, invalid rows) are refused before the ledger is opened
    # (or created); the tracker reads it again inside its transaction.
    read_for_import(file, skip_invalid=skip_invalid)
    with open_tracker(db, database_url, create=True, keep_output=keep_output) as tracker:
        result = tracker.import_outcomes(file, skip_invalid=skip_invalid)
    show(result, "Imported", as_json)


def show(result: OutcomeTransfer, verb: str, as_json: bool) -> None:
    if as_json:
        print_json(result.model_dump(mode="json"))
        return
    out.print(f"{verb} {result.rows:,} rows ({result.path})", highlight=False)
    if result.merged:
        out.print(
            f"  merged {result.merged:,} rows identical to another row of the file (one attempt each)",
            highlight=False,
        )
    for reason, count in sorted(result.skipped.items()):
        out.print(f"  left out {count:,} rows: {reason}", highlight=False)
