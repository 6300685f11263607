"""Off-policy evaluation on the command line: ``router evaluate --ope``'s body and ``router costs savings``.

The bodies import ``training`` when they run, so ``router route`` stays light.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from router._exceptions import InvalidInputError
from router.cli._app import handle_errors, out, print_json
from router.cli._costs import DbOption, JsonOption, PeriodOption, UrlOption, costs_app, open_tracker


def evaluate_ope(
    data: Path, model: str, *, estimator: str, tradeoff: float | None, catalog: Any, as_json: bool
) -> None:
    """``router evaluate --ope``: one policy's DR / IPS / SNIPS estimate on a (partial) log."""
    from training.evaluation.ope import evaluate_policy, partial_log, policy_from_spec
    from training.evaluation.ope.estimators import check_estimator

    check_estimator(estimator)
    policy = policy_from_spec(model, catalog=catalog, tradeoff=tradeoff)
    result = evaluate_policy(partial_log(data), policy, estimator=estimator).to_dict()
    if as_json:
        print_json(result)
        return
    show_estimate(result)


def _ci(values: dict[str, float], money: bool = False) -> str:
    fmt = "${:.4f}" if money else "{:.3f}"
    return f"{fmt.format(values['value'])}  [{fmt.format(values['ci_low'])}, {fmt.format(values['ci_high'])}]"


def show_estimate(result: dict[str, Any]) -> None:
    out.print(
        f"[bold]{result['policy']}[/] on {result['n_tasks']:,} tasks ({result['estimator'].upper()}, "
        f"95% intervals; {result['full_information_tasks']:,} with every model tried)",
        highlight=False,
    )
    table = Table("", "estimate  [95% interval]", box=None, padding=(0, 2))
    estimates = result["estimates"]
    table.add_row("success", _ci(estimates["success"]))
    table.add_row("cost per task", _ci(estimates["cost_usd"], money=True))
    table.add_row(f"utility (cost weight {result['cost_weight']:.3g})", _ci(estimates["utility"]))
    out.print(table)
    logging = result["logging_policy"]
    out.print(
        f"logged: success {logging['success']:.3f}, ${logging['cost_usd']:.4f} per first attempt, "
        f"${logging['spend_per_task_usd']:.4f} spent per task",
        highlight=False,
    )
    out.print(
        f"support: effective sample size {result['ess']:,.0f}, largest weight {result['max_weight']:.1f}, "
        f"unsupported share {result['unsupported_share']:.1%}",
        highlight=False,
    )


def _ledger_log(db: Path | None, database_url: str | None, period: str) -> Any:
    """The ledger's attempts in ``period`` as a partial log (exported through the outcome-log schema)."""
    import pandas as pd

    from router._outcome_log import read_outcomes
    from router.ledger.models import Period
    from router.ledger.queries import period_window
    from training.evaluation.ope import partial_log

    with open_tracker(db, database_url) as tracker, tempfile.TemporaryDirectory() as tmp:
        tracker.export_outcomes(Path(tmp) / "outcomes.parquet")
        frame = read_outcomes(Path(tmp) / "outcomes.parquet").frame
        start, end = period_window(Period.parse(period), tracker.now())
    if start is not None and not frame.empty:
        stamps = pd.to_datetime(frame["timestamp"], utc=True, format="ISO8601")
        frame = frame[(stamps >= start) & (stamps < end)]
    if frame.empty:
        raise InvalidInputError(f"The ledger holds no attempts with a task text in period {period!r}.")
    return partial_log(frame)


@costs_app.command("savings")
@handle_errors
def savings(
    against: Annotated[
        str | None,
        typer.Option("--against", help="The model to compare with (default: the catalog's strongest)."),
    ] = None,
    period: PeriodOption = "all",
    db: DbOption = None,
    database_url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """What routing saved against always sending every task to one model, with 95% intervals.

    The served routing's success and cost are observed; always-MODEL's are the doubly robust estimate from
    the same logs (they need the propensities the router records when it explores).

    Example:  router costs savings --against opus --period month
    """
    from router.ledger.models import Period
    from training.evaluation.ope.savings import realized_savings, strongest_model

    Period.parse(period)  # bad input is refused before the ledger is opened
    log = _ledger_log(db, database_url, period)
    result = realized_savings(log, against or strongest_model(log))
    if as_json:
        print_json(result)
        return
    served, always = result["served"], result["always"]
    out.print(
        f"[bold]{period}[/]: {result['n_tasks']:,} tasks, {result['rows']:,} attempts, "
        f"${served['total_spend_usd']:,.4f} spent",
        highlight=False,
    )
    table = Table("", "success", "cost per task", box=None, padding=(0, 2))
    table.add_row("served routing (first choice)", _ci(served["success"]), _ci(served["cost_usd"], True))
    table.add_row("served, with escalations", _ci(served["solved"]), _ci(served["spend_usd"], True))
    table.add_row(f"always {result['against']} (DR)", _ci(always["success"]), _ci(always["cost_usd"], True))
    out.print(table)
    out.print(
        f"saved per task: {_ci(result['savings_per_task_usd'], True)}; in all: "
        f"{_ci(result['savings_total_usd'], True)}; success given up: {_ci(result['success_given_up'])}",
        highlight=False,
    )
