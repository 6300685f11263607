"""``router route``: decide which model should take a task and show why."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from router._catalog import Catalog
from router._exceptions import ArtifactError, InvalidInputError
from router._types import RoutingDecision
from router.cli._app import app, handle_errors, out, print_json
from router.learned.router import Router

CatalogOption = Annotated[
    Path | None,
    typer.Option(
        "--catalog",
        help="A model catalog TOML file of your own (default: the packaged haiku/sonnet/opus).",
        dir_okay=False,
    ),
]
ModelOption = Annotated[
    str | None,
    typer.Option(
        "--model", help="A trained router: an artifact directory or models:/NAME@ALIAS (default: heuristic)."
    ),
]


def build_router(catalog: Path | None, model: str | None, fallback: bool = False) -> Router:
    """The router the command line asked for. A ``--model`` that cannot be used fails the command (the user
    asked for that model); the library's warn-and-fall-back only with ``--fallback-to-heuristic``."""
    if model is not None:
        if catalog is not None:
            raise InvalidInputError(
                "--catalog cannot be used with --model: a trained router routes among the models (and "
                "prices) it was trained on. Drop --catalog, or drop --model to route heuristically with it"
            )
        try:
            return Router.load(model, strict=not fallback)
        except ArtifactError as exc:  # the model the user named cannot be used: bad input, as in monitor
            raise InvalidInputError(f"--model {model!r} cannot be loaded: {exc}") from None
    return Router(Catalog.from_toml(catalog) if catalog is not None else None)


def parse_metadata(values: list[str] | None) -> dict[str, str] | None:
    """``--metadata KEY=VALUE`` options as the task's metadata (None when there are none).

    The first ``=`` splits: a value may hold more (``--metadata query=a=b``) or be empty; a key may not.
    """
    if not values:
        return None
    metadata: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InvalidInputError(
                f"--metadata must be KEY=VALUE (e.g. --metadata repo=acme/site), got {item!r}"
            )
        if key in metadata:
            raise InvalidInputError(
                f"--metadata {key!r} is given twice ({key}={metadata[key]} and {item}); give each key once"
            )
        metadata[key] = value
    return metadata


def split_files(values: list[str] | None) -> list[str] | None:
    """Accept both ``--files a --files b`` and ``--files a,b``."""
    if not values:
        return None
    return [part for value in values for part in value.split(",") if part]


@app.command()
@handle_errors
def route(
    description: Annotated[str, typer.Argument(help="The task text, as the model would receive it.")],
    files: Annotated[
        list[str] | None,
        typer.Option("--files", "-f", help="A file the task involves (repeat, or separate with commas)."),
    ] = None,
    context: Annotated[
        Path | None, typer.Option("--context", help="A file whose text is sent with the task as context.")
    ] = None,
    tradeoff: Annotated[
        float | None,
        typer.Option("--tradeoff", help="0 = cheapest acceptable model ... 1 = most likely to succeed."),
    ] = None,
    metadata: Annotated[
        list[str] | None,
        typer.Option(
            "--metadata",
            metavar="KEY=VALUE",
            help="Task context the orchestrator knows, e.g. --metadata repo=acme/site (repository, team, "
            "language, ...); repeat for more. A trained router uses it as features; the decision keeps it.",
        ),
    ] = None,
    catalog: CatalogOption = None,
    model: ModelOption = None,
    fallback: Annotated[
        bool,
        typer.Option(
            "--fallback-to-heuristic",
            help="If the --model cannot be loaded, warn and route with the heuristic instead of failing.",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole decision as JSON.")] = False,
) -> None:
    """Decide which model should take a task, with the level, the score and the reasons.

    Example:  router route "Fix race condition in the job scheduler" --files scheduler.py --json

    With task context:  router route "Fix the flaky login test" --metadata repo=acme/site --metadata team=web
    """
    task_metadata = parse_metadata(metadata)
    context_text = read_context(context) if context is not None else None
    decision = build_router(catalog, model, fallback).route(
        description, split_files(files), context_text, tradeoff, metadata=task_metadata
    )
    if as_json:
        print_json(decision.model_dump(mode="json"))
    else:
        show_decision(decision)


def read_context(path: Path) -> str:
    """The context file's text, at most MAX_CONTEXT_BYTES (``--context /dev/zero`` must not read forever)."""
    from router._files import MAX_CONTEXT_BYTES, read_bounded

    try:
        data = read_bounded(path, limit=MAX_CONTEXT_BYTES, what="--context")
    except OSError as exc:
        raise InvalidInputError(
            f"--context must be a readable file, got {str(path)!r}: {exc.strerror}"
        ) from None
    return data.decode(errors="replace")


def show_decision(decision: RoutingDecision) -> None:
    c = decision.complexity
    # The score to one decimal: the learned router's is fractional (55.6612 reads as false precision).
    # Names and reasons come from user catalogs and configs: escape them, and keep each on one line.
    out.print(
        f"[bold]{escape(decision.model)}[/]  ({c.level.value}, score {round(c.score, 1):g}/100, "
        f"{c.task_type.value}, {decision.source})",
        highlight=False,
    )
    out.print(f"  why: {escape(decision.reason)}", highlight=False, soft_wrap=True)
    for reason in c.reasons:
        out.print(f"   - {escape(reason)}", highlight=False, soft_wrap=True)
    table = Table("model", "expected cost", "P(success)", box=None, padding=(0, 2))
    for name, cost in decision.expected_cost_usd.items():
        p = decision.p_success.get(name)
        marker = " <" if name == decision.model else ""
        table.add_row(escape(name) + marker, f"${cost:.5f}", "-" if p is None else f"{p:.2f}")
    out.print(table)
    out.print(f"  escalation: {escape(' -> '.join(decision.escalation))}", highlight=False, soft_wrap=True)
    if decision.metadata:
        pairs = ", ".join(f"{key}={value}" for key, value in decision.metadata.items())
        out.print(f"  metadata: {escape(pairs)}", highlight=False, soft_wrap=True)
