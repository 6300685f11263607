"""``router train`` and ``router evaluate``: the offline side, reached from the same command line.

The command bodies import ``training`` when they run, so ``router route`` and ``import router`` stay free of
the training stack (scikit-learn, MLflow).
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from router._exceptions import ArtifactError, InvalidInputError
from router.cli._app import VerboseOption, app, err, handle_errors, mlflow_verbosity, out, print_json

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
        Path,
        typer.Option(
            "--data",
            help="Outcome log: CSV, Parquet or JSONL with columns task_id, description, model, success, "
            "cost_usd (router logs export writes one from the ledger).",
        ),
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
    drop_invalid: Annotated[
        bool,
        typer.Option(
            "--drop-invalid",
            help="Train on the valid rows and report the others (default: refuse a log with invalid rows).",
        ),
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Write into a non-empty --output directory (overwriting).")
    ] = False,
    no_novelty: Annotated[
        bool,
        typer.Option(
            "--no-novelty",
            help="Train without the training support: the router scores no novelty and never pulls an "
            "unfamiliar task's estimates towards the model averages (for logs whose held-out groups pull "
            "familiar tasks; see docs/concepts/novelty.md).",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
    verbose: VerboseOption = False,
) -> None:
    """Train a router from an outcome log, report held-out metrics and save the artifact.

    A log with invalid rows (a negative or infinite cost, a success outside [0, 1], ...) is refused, naming
    how many and why, unless --drop-invalid (then they are left out and reported).

    Example:  router train --data .router/outcomes.parquet --experiment prod  (the log make demo writes;
    router logs export outcomes.parquet writes one from the ledger)
    """
    mlflow_verbosity(verbose)
    if not c > 0:
        raise InvalidInputError(f"--C must be > 0 (the inverse regularization strength), got {c!r}")
    if not 0 < target_share <= 1:
        raise InvalidInputError(f"--target-share must be in (0, 1], got {target_share!r}")
    check_output_dir(output, force)
    from training import train_router
    from training.data.outcomes import load_outcomes

    log = load_outcomes(data)
    if log.rejected:
        left_out = f"{log.n_rejected:,} invalid rows of {str(data)!r} ({_reasons(log.rejected)})"
        if not drop_invalid:
            raise InvalidInputError(
                f"--data has {left_out}; training would leave them out. Fix the log, or add --drop-invalid "
                f"to train on its {len(log.frame):,} valid rows."
            )
        err.print(f"left out {escape(left_out)}", highlight=False)

    result = train_router(
        log,
        experiment=experiment,
        register=register,
        catalog=_catalog(catalog),
        output_dir=output,
        target_share=target_share,
        log_to_mlflow=not no_mlflow,
        C=c,
        seed=seed,
        novelty=not no_novelty,
    )
    payload = {
        "model_uri": result.model_uri,
        "run_id": result.run_id,
        "artifact_dir": str(result.artifact_dir),
        "metrics": result.metrics,
        "rejected_rows": log.rejected,
    }
    if as_json:
        print_json(payload)
        return
    out.print(f"trained router -> [bold]{result.artifact_dir}[/]", highlight=False)
    if result.run_id:
        out.print(f"MLflow run {result.run_id}", highlight=False)
    show_metrics(result.metrics)


def _reasons(rejected: dict[str, int]) -> str:
    return ", ".join(f"{count:,} {reason}" for reason, count in sorted(rejected.items()))


def check_output_dir(output: Path | None, force: bool) -> None:
    """Refuse, before training, an --output that is a file, cannot be written, or holds files already."""
    if output is None:
        return
    shown = str(output)
    if output.exists() and not output.is_dir():
        raise InvalidInputError(f"--output must be a directory, got {shown!r}: it is an existing file")
    if output.is_dir():
        present = sorted(p.name for p in output.iterdir())
        if present and not force:
            listed = ", ".join(present[:5]) + (", ..." if len(present) > 5 else "")
            raise InvalidInputError(
                f"--output {shown!r} is not empty ({listed}): the artifact (metadata.json, router.npz) "
                "would overwrite what is there. Give a new or empty directory, or --force to overwrite."
            )
    ancestor = output.absolute()
    while not ancestor.exists():
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise InvalidInputError(f"--output {shown!r} cannot be created: {str(ancestor)!r} is a file")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise InvalidInputError(f"--output {shown!r} cannot be written: {str(ancestor)!r} is not writable")


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
    estimator: Annotated[
        str | None, typer.Option("--estimator", help="With --ope: dr (default), ips or snips.")
    ] = None,
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
    if not ope and (estimator is not None or tradeoff is not None):
        given = "--estimator" if estimator is not None else "--tradeoff"
        raise InvalidInputError(
            f"{given} applies to off-policy evaluation only: add --ope (with --model), or drop {given}"
        )
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
            data,
            model,
            estimator=estimator or "dr",
            tradeoff=tradeoff,
            catalog=_catalog(catalog),
            as_json=as_json,
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

        try:
            report = score_artifact(model or "", data, full_tasks_only=full_tasks_only)
        except ArtifactError as exc:  # the model the user named cannot be used: bad input
            raise InvalidInputError(f"--model {model!r} cannot be loaded: {exc}") from None
    if as_json:
        print_json(report)
        return
    show_report(report)


#: Why a metric can be undefined (NaN), shown instead of "nan" in the human output.
WHY_UNDEFINED = {
    "auc": "its outcomes are all one class",
    "ece": "no outcomes",
    "cost_at_best_quality": "never reaches the best single model's success",
    "apgr": "no gap between the cheapest and the best model",
    "gain_over_hull": "the models' costs do not differ",
}


def shown(value: Any, fmt: str, metric: str) -> str:
    """``value`` formatted, or ``n/a (why)`` when it is missing or not a number (never ``nan``)."""
    if value is None:
        return "n/a (not computed)"
    if isinstance(value, float) and not math.isfinite(value):
        why = next((text for key, text in WHY_UNDEFINED.items() if key in metric), "undefined on this data")
        return f"n/a ({why})"
    return format(value, fmt)


def show_metrics(metrics: dict[str, float]) -> None:
    table = Table("metric", "value", box=None, padding=(0, 2))
    for key, value in metrics.items():
        table.add_row(key, shown(value, ".4f", key))
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
            shown(single["success"], ".3f", "success"),
            "$" + shown(single["cost"], ".4f", "cost"),
            shown(cls.get("auc"), ".3f", "auc"),
            shown(cls.get("ece"), ".3f", "ece"),
        )
    out.print(table)
    for key in ("policy", "cascade", "random_mix"):
        values = report[key]
        out.print(
            f"{key:>10}: APGR {shown(values['apgr'], '.3f', 'apgr')}, gain over hull "
            f"{shown(values['gain_over_hull'], '+.4f', 'gain_over_hull')}, cost at best single quality "
            f"{shown(values['cost_at_best_quality'], '.4f', 'cost_at_best_quality')}",
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
