"""Import the shared SWE-bench Verified outcomes into the router's outcome-log format.

The real data (500 coding tasks, per-task outcomes of 47 agent systems, dollar costs for the 24 systems of
the ``mini-swe-agent (bash-only)`` scaffold) lives outside the project, in
``../shared/data/swebench_verified`` (see its README). It is never copied into the repository: this module
reads it and writes an outcome-log file on demand, wherever the caller asks (``datasets/swebench/`` is
ignored by git).

Mapping to the outcome-log schema (``router._outcome_log``):

========== =====================================================================================
column     source
========== =====================================================================================
task_id    ``instance_id``
description the task's ``problem_statement`` (``tasks.csv``): the issue text the agent was given
model      a short, stable router name for the ``model`` string (:data:`MODEL_NAMES`)
success    ``resolved`` (0 or 1)
cost_usd   ``cost_usd`` of the run on that task
timestamp  ``system_date`` of the submission, as ISO 8601 UTC midnight
metadata   ``{"repo": ...}`` from ``tasks.csv``: the repository, which an orchestrator knows when it routes
========== =====================================================================================

``files``, ``task_type``, tokens and durations are not in the source and are left out. Gold patches and tests
are not in the shared files on purpose and must never become features.

Rows that cannot be imported (no cost, no task text, a duplicated task and model) are counted by reason in
:attr:`SwebenchLog.dropped`, printed by the command line, never dropped silently.

Run ``python -m training.swebench OUT_FILE [--models ...] [--scaffold ...] [--data-dir DIR]``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from router._catalog import Catalog
from router._exceptions import InvalidInputError
from router._outcome_log import validate_outcomes, write_outcomes

if TYPE_CHECKING:
    import pandas as pd

#: Environment variable that overrides where the shared SWE-bench data is.
ENV_VAR = "ROUTER_SWEBENCH_DIR"
#: The shared data's place relative to the directory that holds the project (or one of its ancestors).
RELATIVE_DIR = Path("shared", "data", "swebench_verified")
#: The scaffold whose runs carry a real per-task cost.
DEFAULT_SCAFFOLD = "mini-swe-agent (bash-only)"

#: ``model`` strings of the bash-only scaffold -> router names. The names are stable: logs, catalogs and
#: trained artifacts refer to models by them, so a new upstream spelling gets a new key, not a new name.
MODEL_NAMES: dict[str, str] = {
    "GPT-5 nano (2025-08-07) (medium reasoning)": "gpt-5-nano",
    "GPT-5 mini (2025-08-07) (medium reasoning)": "gpt-5-mini",
    "GPT-5 (2025-08-07) (medium reasoning)": "gpt-5",
    "Claude 4 Sonnet (20250514)": "claude-sonnet-4",
    "Claude 4.5 Opus medium (20251101)": "claude-opus-4.5",
    "Claude 4 Opus (20250514)": "claude-opus-4",
    "Claude 4.5 Sonnet (20250929)": "claude-sonnet-4.5",
    "GPT-5.1 (2025-11-13) (medium reasoning)": "gpt-5.1",
    "GPT-5.1-codex (medium reasoning)": "gpt-5.1-codex",
    "Gemini 2.5 Pro (2025-05-06)": "gemini-2.5-pro",
    "Gemini 3 Pro Preview (2025-11-18)": "gemini-3-pro-preview",
    "o3 (2025-04-16)": "o3",
    "o4-mini (2025-04-16)": "o4-mini",
    "gpt-oss-120b": "gpt-oss-120b",
    "DeepSeek V3.2 Reasoner": "deepseek-v3.2-reasoner",
    "Devstral (2512)": "devstral-2512",
    "Devstral small (2512)": "devstral-small-2512",
    "GLM-4.5 (2025-08-22)": "glm-4.5",
    "GLM-4.6 (T=1)": "glm-4.6",
    "Kimi K2 Instruct": "kimi-k2-instruct",
    "Llama 4 Maverick Instruct": "llama-4-maverick-instruct",
    "Minimax M2": "minimax-m2",
    "Qwen2.5-Coder 32B Instruct": "qwen2.5-coder-32b-instruct",
    "Qwen3-Coder 480B/A35B Instruct": "qwen3-coder-480b-a35b-instruct",
}

#: The five models of issue 5, cheapest list price first.
DEFAULT_MODELS = ("gpt-5-nano", "gpt-5-mini", "gpt-5", "claude-sonnet-4", "claude-opus-4.5")

#: Catalog entries for the default models: list prices in US dollars per million tokens (input, output) as
#: the vendors publish them, context windows and output limits. ``latency_ms`` is a typical time to first
#: token of one call, not of an agent run. Tiers follow issue 5.
CATALOG_MODELS: dict[str, dict[str, Any]] = {
    "gpt-5-nano": {"tier": "fast", "input_cost_per_1m": 0.05, "output_cost_per_1m": 0.40,
                   "context_window": 400_000, "max_output_tokens": 128_000, "latency_ms": 800,
                   "provider_model": "gpt-5-nano-2025-08-07"},
    "gpt-5-mini": {"tier": "fast", "input_cost_per_1m": 0.25, "output_cost_per_1m": 2.00,
                   "context_window": 400_000, "max_output_tokens": 128_000, "latency_ms": 1000,
                   "provider_model": "gpt-5-mini-2025-08-07"},
    "gpt-5": {"tier": "balanced", "input_cost_per_1m": 1.25, "output_cost_per_1m": 10.00,
              "context_window": 400_000, "max_output_tokens": 128_000, "latency_ms": 1500,
              "provider_model": "gpt-5-2025-08-07"},
    "claude-sonnet-4": {"tier": "balanced", "input_cost_per_1m": 3.00, "output_cost_per_1m": 15.00,
                        "context_window": 200_000, "max_output_tokens": 64_000, "latency_ms": 1200,
                        "provider_model": "claude-sonnet-4-20250514"},
    "claude-opus-4.5": {"tier": "advanced", "input_cost_per_1m": 5.00, "output_cost_per_1m": 25.00,
                        "context_window": 200_000, "max_output_tokens": 64_000, "latency_ms": 2000,
                        "provider_model": "claude-opus-4-5-20251101"},
}  # fmt: skip

#: Levels -> models for the default five, by list price: cheap models for simple tasks, the dearest for the
#: critical ones, each with its neighbours by price as alternatives.
CATALOG_ROUTING: dict[str, list[str]] = {
    "simple": ["gpt-5-nano", "gpt-5-mini"],
    "moderate": ["gpt-5-mini", "gpt-5-nano", "gpt-5"],
    "complex": ["gpt-5", "gpt-5-mini", "claude-sonnet-4"],
    "critical": ["claude-opus-4.5", "claude-sonnet-4"],
}


@dataclass
class SwebenchLog:
    """Imported rows in the outcome-log schema and, by reason, how many source rows were dropped."""

    frame: pd.DataFrame
    dropped: dict[str, int] = field(default_factory=dict)
    source: Path | None = None

    def summary(self) -> pd.DataFrame:
        """Per model: rows, tasks, success rate and mean cost per task (in the order of ``frame``)."""
        return summarize(self.frame)


def find_data_dir(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """Where the SWE-bench files are: ``data_dir``, else ``$ROUTER_SWEBENCH_DIR``, else the shared default.

    The default is ``../shared/data/swebench_verified`` next to the project root; when the project is a git
    worktree nested deeper (``/work/wt/NAME``), the nearest ancestor holding ``shared/data/swebench_verified``
    is used. Raises :class:`~router.InvalidInputError` naming every place looked at when none holds the files.
    """
    if data_dir is not None:
        candidates = [Path(data_dir)]
    elif os.environ.get(ENV_VAR):
        candidates = [Path(os.environ[ENV_VAR])]
    else:
        root = Path(__file__).resolve().parents[1]
        candidates = [parent / RELATIVE_DIR for parent in root.parents]
    for candidate in candidates:
        if (candidate / "outcomes.csv").is_file() and (candidate / "tasks.csv").is_file():
            return candidate
    looked = ", ".join(str(c) for c in candidates[:3]) + (", ..." if len(candidates) > 3 else "")
    raise InvalidInputError(
        f"SWE-bench Verified data not found (looked for outcomes.csv and tasks.csv in: {looked}). "
        f"Pass data_dir=... (--data-dir), or set {ENV_VAR} to the directory that holds them; the data stays "
        f"outside the repository, in ../shared/data/swebench_verified."
    )


def router_name(model: str) -> str:
    """The router name of a source ``model`` string: :data:`MODEL_NAMES`, else a lower-case slug."""
    return MODEL_NAMES.get(model) or re.sub(r"[^a-z0-9.]+", "-", model.lower()).strip("-")


def load_swebench(
    data_dir: str | os.PathLike[str] | None = None,
    *,
    scaffold: str = DEFAULT_SCAFFOLD,
    models: Sequence[str] | None = DEFAULT_MODELS,
) -> SwebenchLog:
    """Read the shared files and return one outcome-log row per (task, model) of ``scaffold``.

    Parameters
    ----------
    data_dir : path, optional
        The directory holding ``tasks.csv`` and ``outcomes.csv``; see :func:`find_data_dir`.
    scaffold : str
        The agent scaffold to compare models within (``outcomes.csv`` column ``scaffold``).
    models : sequence of str or None
        Router names (or source ``model`` strings) to keep, in this order; None keeps every model of the
        scaffold. The default is the five models of issue 5.

    Returns
    -------
    SwebenchLog
        ``frame`` in the outcome-log schema, validated; ``dropped`` counts the source rows left out by
        reason.

    Examples
    --------
    >>> log = load_swebench()  # doctest: +SKIP
    >>> log.summary().loc["gpt-5-mini", "success"]  # doctest: +SKIP
    0.598
    """
    import pandas as pd

    source = find_data_dir(data_dir)
    outcomes = pd.read_csv(source / "outcomes.csv", dtype={"instance_id": str, "model": str})
    tasks = pd.read_csv(source / "tasks.csv", dtype={"instance_id": str, "problem_statement": str})
    scaffolds = sorted(outcomes["scaffold"].unique())
    if scaffold not in scaffolds:
        raise InvalidInputError(
            f"Unknown scaffold {scaffold!r}. Scaffolds in {source}: {', '.join(scaffolds)}."
        )
    rows = outcomes[outcomes["scaffold"] == scaffold].copy()
    rows["router_model"] = rows["model"].map(router_name)
    rows = _select_models(rows, models, scaffold)

    dropped: dict[str, int] = {}

    def drop(mask: pd.Series, reason: str) -> pd.DataFrame:
        if mask.any():
            dropped[reason] = dropped.get(reason, 0) + int(mask.sum())
        return rows[~mask]

    texts = tasks.drop_duplicates("instance_id").set_index("instance_id")["problem_statement"]
    rows["description"] = rows["instance_id"].map(texts)
    repos = tasks.drop_duplicates("instance_id").set_index("instance_id")["repo"]
    rows["metadata"] = (
        rows["instance_id"]
        .map(repos)
        .map(lambda repo: json.dumps({"repo": repo}) if isinstance(repo, str) and repo else "")
    )
    rows = drop(
        rows["description"].isna() | (rows["description"].str.strip() == ""), "no task text in tasks.csv"
    )
    rows = drop(rows["cost_usd"].isna(), "cost_usd missing")
    rows = drop(rows["resolved"].isna(), "resolved missing")
    rows = drop(rows.duplicated(["instance_id", "router_model"], keep="first"), "duplicate task and model")
    if rows.empty:
        raise InvalidInputError(
            f"No SWE-bench rows left for scaffold {scaffold!r}, models {list(models) if models else 'all'}; "
            f"dropped {dropped}. "
            f"Only the scaffold {DEFAULT_SCAFFOLD!r} carries costs."
        )
    frame = pd.DataFrame(
        {
            "task_id": rows["instance_id"].astype(str),
            "description": rows["description"].astype(str),
            "model": rows["router_model"].astype(str),
            "success": rows["resolved"].astype(float),
            "cost_usd": rows["cost_usd"].astype(float),
            "timestamp": pd.to_datetime(rows["system_date"], utc=True).dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "metadata": rows["metadata"],
        }
    )
    checked = validate_outcomes(frame)
    for reason, n in checked.rejected.items():
        dropped[f"invalid: {reason}"] = n
    return SwebenchLog(checked.frame, dropped, source)


def _select_models(rows: pd.DataFrame, models: Sequence[str] | None, scaffold: str) -> pd.DataFrame:
    if models is None:
        return rows
    known = dict(zip(rows["router_model"], rows["model"], strict=False))
    wanted = [router_name(m) if m in known.values() else m for m in models]
    unknown = [m for m in wanted if m not in known]
    if unknown:
        raise InvalidInputError(
            f"Unknown model(s) {', '.join(map(repr, unknown))} in scaffold {scaffold!r}. "
            f"Known models: {', '.join(sorted(known))}."
        )
    # Rows come out in the caller's model order, then by task, so a written log reads predictably.
    order = {name: i for i, name in enumerate(wanted)}
    rows = rows[rows["router_model"].isin(order)]
    rank = rows["router_model"].map(order)
    return rows.assign(_rank=rank).sort_values(["_rank", "instance_id"], kind="stable").drop(columns="_rank")


def import_swebench(
    out_file: str | os.PathLike[str],
    data_dir: str | os.PathLike[str] | None = None,
    *,
    scaffold: str = DEFAULT_SCAFFOLD,
    models: Sequence[str] | None = DEFAULT_MODELS,
) -> SwebenchLog:
    """Load (see :func:`load_swebench`) and write the outcome log to ``out_file`` (.csv, .parquet, .jsonl)."""
    log = load_swebench(data_dir, scaffold=scaffold, models=models)
    write_outcomes(log.frame, Path(out_file))
    return log


def summarize(frame: pd.DataFrame) -> pd.DataFrame:
    """Per model (in order of appearance): rows, tasks, success rate, mean and total cost in dollars."""
    grouped = frame.groupby("model", sort=False)
    return grouped.agg(
        rows=("task_id", "size"),
        tasks=("task_id", "nunique"),
        success=("success", "mean"),
        mean_cost_usd=("cost_usd", "mean"),
        total_cost_usd=("cost_usd", "sum"),
    )


def swebench_catalog(models: Sequence[str] = DEFAULT_MODELS) -> Catalog:
    """A catalog of the SWE-bench models at their list prices (:data:`CATALOG_MODELS`).

    For the default five, the routing table is :data:`CATALOG_ROUTING`; for another subset the catalog
    derives one by price. Raises :class:`~router.InvalidInputError` for a model without known prices.

    Examples
    --------
    >>> cat = swebench_catalog()
    >>> [m.name for m in cat.by_price]
    ['gpt-5-nano', 'gpt-5-mini', 'gpt-5', 'claude-sonnet-4', 'claude-opus-4.5']
    >>> cat.primary_for("critical")
    'claude-opus-4.5'
    """
    unknown = [m for m in models if m not in CATALOG_MODELS]
    if unknown:
        raise InvalidInputError(
            f"No prices known for {', '.join(map(repr, unknown))}. "
            f"Models with prices: {', '.join(CATALOG_MODELS)}."
        )
    data: dict[str, Any] = {"models": {m: dict(CATALOG_MODELS[m]) for m in models}}
    if set(models) == set(DEFAULT_MODELS):
        data["routing"] = CATALOG_ROUTING
    return Catalog.from_dict(data, source="SWE-bench catalog")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m training.swebench",
        description="Write the shared SWE-bench Verified outcomes as an outcome-log file; print a summary.",
    )
    parser.add_argument(
        "out_file", help="where to write: .csv, .parquet or .jsonl (e.g. datasets/swebench/bash.parquet)"
    )
    parser.add_argument(
        "--models",
        nargs="+",
        default=list(DEFAULT_MODELS),
        help="router names to keep, or 'all' (default: the five of issue 5)",
    )
    parser.add_argument("--scaffold", default=DEFAULT_SCAFFOLD, help=f"default: {DEFAULT_SCAFFOLD!r}")
    parser.add_argument(
        "--data-dir", default=None, help=f"the shared data directory (default: ${ENV_VAR} or ../shared)"
    )
    args = parser.parse_args(argv)  # fmt: skip
    models = None if args.models == ["all"] else args.models
    try:
        log = import_swebench(args.out_file, args.data_dir, scaffold=args.scaffold, models=models)
    except InvalidInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    frame = log.frame
    print(f"read {log.source}; wrote {args.out_file}: {len(frame)} rows, {frame['task_id'].nunique()} tasks")
    dropped = ", ".join(f"{n} ({why})" for why, n in sorted(log.dropped.items())) or "none"
    print(f"dropped rows: {dropped}")
    table = log.summary()
    print(f"{'model':<28}{'rows':>6}{'success':>10}{'mean cost':>11}")
    for row in table.itertuples():
        cost = f"${row.mean_cost_usd:.3f}"
        print(f"{row.Index!s:<28}{row.rows:>6}{row.success:>10.1%}{cost:>11}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
