"""``router monitor report|check|serve``: how a served router is doing, its alert rules, and Prometheus."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from router._exceptions import InvalidInputError
from router.cli._app import FAILURE, app, err, handle_errors, out, print_json
from router.cli._costs import DbOption, JsonOption, UrlOption, ledger_location
from router.cli._errors import naming

monitor_app = typer.Typer(
    help="Watch a served router: window metrics, drift and calibration, alert rules, Prometheus.",
    no_args_is_help=True,
)
app.add_typer(monitor_app, name="monitor")

ModelOption = Annotated[
    str | None,
    typer.Option(
        "--model",
        help="The served router (artifact path or models:/ URI): its training reference and predictions "
        "are checked. Without it only model-free metrics run.",
    ),
]
WindowOption = Annotated[
    str, typer.Option("--window", "-w", help="30m, 1h, 24h, 7d, or an ISO 8601 start time.")
]


def open_store(db: Path | None, database_url: str | None) -> Any:
    from router.telemetry.store import Store

    location = ledger_location(db, database_url)
    if isinstance(location, Path):
        return Store.open(location)
    return Store.open(database_url=location)


def _reference(model: str | None) -> tuple[dict[str, Any] | None, str]:
    """The --model's training reference. A model that cannot be loaded is bad input (exit 2): a check that
    quietly gave "no verdict" for a mistyped URI would never alert from a cron job."""
    if model is None:
        return None, ""
    from router._exceptions import ArtifactError
    from router.learned.artifact import load_artifact
    from router.learned.router import resolve_uri
    from router.telemetry.analyzer import load_reference

    try:
        local = resolve_uri(model)
        load_artifact(local)  # verifies it: present, complete, untampered
    except ArtifactError as exc:
        raise InvalidInputError(f"--model {model!r} cannot be loaded: {exc}") from None
    return load_reference(str(local))


def check_plot_path(plot: Path | None) -> None:
    """--plot must name a .png in a directory that exists: nothing is created on the way to it."""
    if plot is None:
        return
    if plot.suffix.lower() != ".png":
        raise InvalidInputError(f"--plot must name a .png file, got {str(plot)!r}")
    if not plot.parent.is_dir():
        raise InvalidInputError(
            f"--plot {str(plot)!r}: the directory {str(plot.parent)!r} does not exist (it is not created)"
        )


def _predictor(model: str | None) -> Any:
    """The named model's predictions for attempts without a decision event (imported, say); None if none."""
    if model is None:
        return None
    from router.telemetry.analyzer import model_predictor

    predict, why = model_predictor(model)
    if predict is None:
        err.print(f"warning: {why}; attempts without a decision event are not checked against it")
    return predict


@monitor_app.command("report")
@handle_errors
def report(
    window: WindowOption = "24h",
    model: ModelOption = None,
    plot: Annotated[
        Path | None, typer.Option("--plot", help="Write a PNG of success, cost and calibration over time.")
    ] = None,
    db: DbOption = None,
    database_url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Metrics over a window: per model, calibration, drift, fallbacks, exploration, breakers, spend.

    Example:  router monitor report --window 24h --model models:/task-router@champion --plot monitor.png
    """
    from router.telemetry.analyzer import analyze
    from router.telemetry.window import Window

    now = datetime.now(UTC)
    span = Window.parse(window, now)
    check_plot_path(plot)
    reference, reason = _reference(model)
    store = open_store(db, database_url)
    try:
        kwargs = {"reference_reason": reason} if reason else {}
        result = analyze(
            store, span, model_uri=model, reference=reference, predict=_predictor(model), **kwargs
        )
        if plot is not None:
            from router.telemetry.plot import plot_window

            with naming(plot):
                plot_window(store, span, model, plot)
    finally:
        store.close()
    if as_json:
        print_json(result.to_json())
        return
    from router.cli._monitor_show import show_report

    show_report(out, result)
    if plot is not None:
        out.print(f"Wrote {plot}", highlight=False)


@monitor_app.command("check")
@handle_errors
def check(
    model: ModelOption = None,
    rules: Annotated[
        Path | None,
        typer.Option("--rules", help="A rules TOML file (default: the packaged router/data/monitor.toml)."),
    ] = None,
    webhook: Annotated[
        str | None, typer.Option("--webhook", help="POST alerts as JSON to this URL (overrides the file's).")
    ] = None,
    db: DbOption = None,
    database_url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Evaluate the rules once: exit 0 when none is crossed, 1 when one is, 2 on bad input (a --model that
    cannot be loaded among it).

    Each crossing is alerted once (log, webhook, alert table) across every process sharing the database.

    Example:  router monitor check --model models:/task-router@champion --rules monitor.toml
    """
    from router.telemetry.alerts import check_rules
    from router.telemetry.rules import RuleSet, Webhook

    rule_set = RuleSet.load(rules)
    hook = None
    if webhook is not None:
        if not webhook.startswith(("http://", "https://")):
            raise InvalidInputError(f"--webhook must be an http:// or https:// URL, got {webhook!r}")
        hook = Webhook(url=webhook)
    reference, reason = _reference(model)
    store = open_store(db, database_url)
    try:
        result = check_rules(
            store,
            rule_set,
            datetime.now(UTC),
            model_uri=model,
            reference=reference,
            reference_reason=reason,
            webhook=hook,
            predict=_predictor(model),
        )
    finally:
        store.close()
    if as_json:
        print_json(
            {
                "crossed": [v.rule.name for v in result.crossed],
                "fired": [a.model_dump(mode="json") for a in result.fired],
                "rules": [
                    {
                        "rule": v.rule.name,
                        "metric": v.rule.metric,
                        "window": v.rule.window,
                        "value": v.value,
                        "samples": v.samples,
                        "crossed": v.crossed,
                        "detail": v.detail,
                    }
                    for v in result.verdicts
                ],
            }
        )
    else:
        table = Table("rule", "metric", "window", "samples", "status", "detail", title="Monitoring rules")
        for v in result.verdicts:
            status = {None: "[dim]no verdict[/]", False: "ok", True: "[bold red]CROSSED[/]"}[v.crossed]
            table.add_row(v.rule.name, v.rule.metric, v.rule.window, str(v.samples), status, v.detail)
        out.print(table)
    if result.crossed:
        raise typer.Exit(FAILURE)


@monitor_app.command("serve")
@handle_errors
def serve(
    port: Annotated[int, typer.Option("--port", help="TCP port for /metrics.", min=0, max=65535)] = 9464,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    db: DbOption = None,
    database_url: UrlOption = None,
) -> None:
    """Expose the telemetry as Prometheus metrics at http://HOST:PORT/metrics until interrupted.

    Example:  router monitor serve --port 9464
    """
    from router.telemetry.prometheus import serve as serve_metrics

    store = open_store(db, database_url)
    try:
        server = serve_metrics(store, port, host)
    except OSError as exc:
        store.close()
        raise InvalidInputError(f"Cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    out.print(f"Serving http://{host}:{server.server_port}/metrics (Ctrl-C to stop)", highlight=False)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        store.close()
