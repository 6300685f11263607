"""``router train`` and ``router evaluate``: the offline side, reached from the same command line.

The command bodies import ``training`` when they run, so ``router route`` and ``import router`` stay free of
the training stack (scikit-learn, MLflow).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from router.cli._app import VerboseOption, app, handle_errors, mlflow_verbosity, out, print_json

CatalogFile = Annotated[
    Path | None,
    typer.Option(
        "--catalog",
        help="Catalog TOML with the logged models' prices (default: derived from the log).",
        dir_okay=False,
    ),
]


def _catalog(path: Path | None) -> Any:
    from router._catalog import Catalog

    if path is not None:
        return Catalog.from_toml(path)
    return None


@app.command()
@handle_errors
def train(
    data: Annotated[
        Path, typer.Option("--data", help="Outcome log: CSV, Parquet or JSONL (see datasets/README.md).")
    ],
    experiment: Annotated[
        str, typer.Option("--experiment", help="MLflow experiment to log the run in.")
    ] = "router",
    output: Annotated[
        Path | None, typer.Option("--output", help="Artifact directory (default: under the data dir).")
    ] = None,
    catalog: CatalogFile = None,
    register: Annotated[
        bool, typer.Option("--register", help="Register the model in the MLflow registry.")
    ] = False,
    target_share: Annotated[
        float, typer.Option(help="Default tradeoff keeps this share of the best model's success.")
    ] = 0.95,
    c: Annotated[float, typer.Option("--C", help="Inverse L2 strength of the success classifiers.")] = 0.3,
    seed: Annotated[int, typer.Option(help="Seed of the task split and folds.")] = 0,
    no_mlflow: Annotated[bool, typer.Option("--no-mlflow", help="Only write the artifact.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    verbose: VerboseOption = False,
) -> None:
    """Train a router from an outcome log, report held-out metrics and save the artifact.

    Example:  router train --data datasets/generated/synthetic.parquet --experiment demo
    """
    mlflow_verbosity(verbose)
    from training import train_router

    result = train_router(
        data,
        experiment=experiment,
        register=register,
        catalog=_catalog(catalog),
        output_dir=output,
        target_share=target_share,
        log_to_mlflow=not no_mlflow,
        C=c,
        seed=seed,
    )
    payload = {
        "model_uri": result.model_uri,
        "run_id": result.run_id,
        "artifact_dir": str(result.artifact_dir),
        "metrics": result.metrics,
    }
    if as_json:
        print_json(payload)
        return
    out.print(f"trained router -> [bold]{result.artifact_dir}[/]", highlight=False)
    if result.run_id:
        out.print(f"MLflow run {result.run_id}", highlight=False)
    show_metrics(result.metrics)


@app.command()
@handle_errors
def evaluate(
    data: Annotated[Path, typer.Option("--data", help="Outcome log with every model tried on each task.")],
    model: Annotated[
        str | None, typer.Option("--model", help="Artifact dir or models:/NAME@ALIAS to score.")
    ] = None,
    cv: Annotated[
        int, typer.Option("--cv", help="Instead of --model: K-fold cross-validation over tasks.")
    ] = 0,
    catalog: CatalogFile = None,
    cascade: Annotated[
        bool,
        typer.Option(
            "--cascade",
            help="With --cv: the learned cascade's held-out curve beside the single choice and the hull "
            "(needs a log with answers). Example: router evaluate --data gsm8k.csv --cascade --cv 5",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    ope: Annotated[
        bool, typer.Option("--ope", help="Off-policy estimate of --model on a partial (production) log.")
    ] = False,
    estimator: Annotated[str, typer.Option("--estimator", help="With --ope: dr, ips or snips.")] = "dr",
    tradeoff: Annotated[
        float | None, typer.Option("--tradeoff", help="With --ope: the tradeoff to route at, in [0, 1].")
    ] = None,
    full_tasks_only: Annotated[
        bool,
        typer.Option(
            "--full-tasks-only",
            help="On a log where not every model was tried on every task: score the tasks where all were "
            "anyway (they may not be representative; --ope fits such a log).",
        ),
    ] = False,
) -> None:
    """Score a trained router on an outcome log, or cross-validate training on it (--cv 5).

    Both score decisions on tasks where every model was tried. A production log (one model per task, plus
    fallbacks) is refused with the command that fits it: --ope, the off-policy estimate. With --ope,
    --model may also be heuristic, model:NAME or mix:A=0.3,B=0.7.

    Example:  router evaluate --data swebench.parquet --cv 5
    """
    from router._exceptions import InvalidInputError

    if cascade:
        from router.cli._cascade import evaluate_cascade

        if ope or model is not None or cv < 2:
            raise InvalidInputError("--cascade needs --cv K (K >= 2), without --model or --ope")
        evaluate_cascade(data, cv, catalog=_catalog(catalog), as_json=as_json)
        return

    if ope:
        from router.cli._ope import evaluate_ope

        if model is None or cv:
            raise InvalidInputError("--ope needs --model (a router URI, heuristic, model:NAME or mix:...)")
        evaluate_ope(
            data, model, estimator=estimator, tradeoff=tradeoff, catalog=_catalog(catalog), as_json=as_json
        )
        return

    if (model is None) == (cv == 0):
        raise InvalidInputError("give exactly one of --model URI or --cv K (K >= 2)")
    if cv:
        from training.evaluation.crossval import cross_validate, quality_report

        if cv < 2:
            raise InvalidInputError(f"--cv must be >= 2, got {cv}")
        found = cross_validate(data, folds=cv, catalog=_catalog(catalog), full_tasks_only=full_tasks_only)
        report = quality_report(found, full_tasks_only=full_tasks_only)
    else:
        from training.evaluation.score import score_artifact

        report = score_artifact(model or "", data, full_tasks_only=full_tasks_only)
    if as_json:
        print_json(report)
        return
    show_report(report)


def show_metrics(metrics: dict[str, float]) -> None:
    table = Table("metric", "value", box=None, padding=(0, 2))
    for key, value in metrics.items():
        table.add_row(key, "-" if isinstance(value, float) and math.isnan(value) else f"{value:.4f}")
    out.print(table)


def show_guard(report: dict[str, Any]) -> None:
    """Per tradeoff (runs of equal decisions merged): the learned choice, or the fixed model routed as."""
    guard, default = report["guard"], report["default"]
    out.print(
        f"   default: success {default['success']:.3f} at ${default['cost']:.4f} "
        f"({default['gain_over_hull']:+.4f} over the hull at that cost; tradeoff "
        f"{default['tradeoff_median']:.3f}); hull guard at each fold's default: "
        + ", ".join(guard["at_default"]),
        highlight=False,
    )
    if report.get("cost_signal"):
        # Which cost the choice decided on, per fold: each task's predicted cost or each model's mean.
        out.print(f"cost term at each fold: {', '.join(report['cost_signal'])}", highlight=False)
    out.print("hull guard per tradeoff (majority over folds):", highlight=False)
    runs: list[list[Any]] = []  # [first tradeoff, last tradeoff, decision, fewest agreeing folds]
    for t, vote in guard["per_tradeoff"].items():
        if runs and runs[-1][2] == vote["decision"]:
            runs[-1][1], runs[-1][3] = t, min(runs[-1][3], vote["folds"])
        else:
            runs.append([t, t, vote["decision"], vote["folds"]])
    folds = len(guard["at_default"])
    for start, end, decision, agree in runs:
        span = start if start == end else f"{start} to {end}"
        out.print(f"  t {span:>20}: {decision} (at least {agree}/{folds} folds)", highlight=False)


def show_report(report: dict[str, Any]) -> None:
    scored, logged = report["tasks"], report.get("tasks_in_log", report["tasks"])
    if scored < logged:
        out.print(
            f"[bold yellow]scored on {scored:,} of {logged:,} tasks[/] (those where every model was tried; "
            "they may not represent the log)",
            highlight=False,
        )
    table = Table("model", "success", "mean cost", "AUC", "ECE", box=None, padding=(0, 2))
    for name, single in report["singles"].items():
        cls = report["classifier"].get(name, {})
        table.add_row(
            name,
            f"{single['success']:.3f}",
            f"${single['cost']:.4f}",
            f"{cls.get('auc', float('nan')):.3f}",
            f"{cls.get('ece', float('nan')):.3f}",
        )
    out.print(table)
    for key in ("policy", "cascade", "random_mix"):
        values = report[key]
        out.print(
            f"{key:>10}: APGR {values['apgr']:.3f}, gain over hull {values['gain_over_hull']:+.4f}, "
            f"cost at best single quality {values['cost_at_best_quality']:.4f}",
            highlight=False,
        )
    out.print(
        f"    oracle: success {report['oracle']['success']:.3f} at ${report['oracle']['cost']:.4f}",
        highlight=False,
    )
    if "guard" in report:
        show_guard(report)
    if "fixed_cascade_cheap_best" in report:
        fc = report["fixed_cascade_cheap_best"]
        out.print(
            f"fixed cascade cheapest->best: success {fc['success']:.3f} at ${fc['cost']:.4f}", highlight=False
        )
