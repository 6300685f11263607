"""``router promote`` and ``router experiments compare``: the MLflow side of the command line.

The command bodies import ``training`` (and through it MLflow) when they run, so ``router route`` stays
light. Exit codes as everywhere: a refused promotion is exit 1 (the work asked for did not happen), with the
reason on stderr, so a CI job can gate on it.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from router._exceptions import InvalidInputError
from router.cli._app import (
    FAILURE,
    VerboseOption,
    app,
    err,
    handle_errors,
    mlflow_verbosity,
    out,
    print_json,
)
from router.cli._errors import naming

experiments = typer.Typer(help="Compare training runs logged in MLflow.", no_args_is_help=True)
app.add_typer(experiments, name="experiments")

MetricOption = Annotated[
    str,
    typer.Option(
        "--metric", help="Metric to rank or gate on (apgr, gain_over_hull, cost_at_best_quality, ...)."
    ),
]
TrackingOption = Annotated[
    str | None,
    typer.Option(
        "--tracking-uri",
        help="MLflow tracking URI (default: $MLFLOW_TRACKING_URI, else the data dir's SQLite).",
    ),
]


@app.command()
@handle_errors
def promote(
    run: Annotated[str, typer.Option("--run", help="The MLflow run id of the candidate.")],
    metric: MetricOption = "apgr",
    data: Annotated[
        Path | None,
        typer.Option(
            "--data",
            help="Outcome log to compare on (default: the candidate run's held-out tasks).",
            dir_okay=False,
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Promote even if worse (recorded as a tag).")
    ] = False,
    name: Annotated[str, typer.Option("--name", help="Registered model name.")] = "task-router",
    tracking_uri: TrackingOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the decision as JSON.")] = False,
    verbose: VerboseOption = False,
) -> None:
    """Make a run's model the champion if it is at least as good as the current one on the same data.

    Example:  router promote --run 3f2c... --metric apgr
    """
    mlflow_verbosity(verbose)
    from training.tracking.registry import promote as promote_run

    if data is not None and not data.is_file():
        from router._exceptions import InvalidInputError

        raise InvalidInputError(f"--data must be an outcome-log file, got {str(data)!r}: no such file")
    result = promote_run(
        run, metric=metric, data=data, force=force, registered_name=name, tracking_uri=tracking_uri
    )
    if as_json:
        print_json(result.to_dict())
    elif result.promoted:
        forced = " (forced)" if result.forced else ""
        out.print(
            f"promoted {escape(result.name)} version {result.version} to champion{forced}: "
            f"{escape(result.reason)}",
            highlight=False,
            soft_wrap=True,
        )
    if not result.promoted:
        if not as_json:
            err.print(
                f"not promoted: {escape(result.reason)}. The champion stays version "
                f"{result.previous_version}; --force promotes anyway.",
                highlight=False,
            )
        raise typer.Exit(FAILURE)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return "-" if math.isnan(value) else f"{value:.4g}"
    return "-" if value is None else str(value)


@experiments.command()
@handle_errors
def compare(
    experiment: Annotated[str, typer.Option("--experiment", help="MLflow experiment.")] = "router",
    metric: MetricOption = "apgr",
    plot: Annotated[
        Path | None,
        typer.Option("--plot", help="Write a combined cost-quality plot (PNG) of the runs shown."),
    ] = None,
    top: Annotated[int, typer.Option("--top", min=1, help="Show at most this many runs.")] = 5,
    tracking_uri: TrackingOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the ranked runs as JSON.")] = False,
) -> None:
    """Show an experiment's runs side by side, best first on --metric: their parameters and metrics.

    Example:  router experiments compare --experiment router --plot runs.png
    """
    from router.cli._monitor import check_plot_path
    from training.tracking.registry import KEY_METRICS, compare_runs, run_curves

    check_plot_path(plot)
    runs = compare_runs(experiment, metric=metric, tracking_uri=tracking_uri)
    known = set(KEY_METRICS).union(*(run["metrics"] for run in runs))
    if metric not in known:  # ranking on a metric no run has would silently show them in any order
        raise InvalidInputError(
            f"Unknown --metric {metric!r} for experiment {experiment!r}. Known metrics: "
            f"{', '.join(sorted(known))}."
        )
    runs = runs[:top]
    if plot is not None and runs:
        from training.evaluation.plots import compare_figure

        curves = {
            f"#{i + 1} {r['run_name']}": run_curves(r["run_id"], tracking_uri=tracking_uri)
            for i, r in enumerate(runs)
        }
        with naming(plot):
            compare_figure(curves).savefig(plot, dpi=110)
    if as_json:
        print_json(runs)
        return
    if not runs:
        out.print(f"no finished runs in experiment {escape(experiment)!r}", highlight=False)
        return
    show_runs(runs, metric, KEY_METRICS)
    if plot is not None:
        out.print(f"plot -> {plot}", highlight=False)


def show_runs(runs: list[dict[str, Any]], metric: str, key_metrics: tuple[str, ...]) -> None:
    """Runs as columns (best first); rows: the ranking metric, key metrics, then every parameter, with the
    parameters that differ between runs first."""
    table = Table(
        "", *(f"#{i + 1} {escape(r['run_name'] or '')}" for i, r in enumerate(runs)), box=None, padding=(0, 2)
    )
    table.add_row("run id", *(r["run_id"][:12] for r in runs))
    metrics = [metric, *(m for m in key_metrics if m != metric)]
    metrics += sorted({m for r in runs for m in r["metrics"]} - set(metrics))
    for m in metrics:
        label = f"[bold]{escape(m)}[/]" if m == metric else escape(m)
        table.add_row(label, *(_fmt(r["metrics"].get(m)) for r in runs))
    params = sorted({p for r in runs for p in r["params"]})
    differ = [p for p in params if len({r["params"].get(p) for r in runs}) > 1]
    for p in differ + [p for p in params if p not in differ]:
        label = f"{escape(p)} *" if p in differ else escape(p)
        table.add_row(label, *(escape(_fmt(r["params"].get(p))) for r in runs))
    out.print(table)
    out.print(f"ranked by {metric}; * marks parameters that differ", highlight=False)
