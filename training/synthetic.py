"""A seeded generator of synthetic coding-task outcome logs, for demos, tests and scale benchmarks.

Tasks (descriptions from templates over realistic components, files and sizes) come from
``training.data.synthetic_tasks``; outcomes from a latent-difficulty model, documented in
``datasets/README.md`` and :class:`LatentModel`::

    P(success | task, model) = sigmoid(ability[model] - difficulty[task])
    difficulty = visible part (kind, keywords, modifiers, files, lines) + hidden part ~ Normal(0, 1)

Costs come from the catalog's prices and simulated token use. No claim about decision quality on real tasks
rests on this data: it exists so that the pipeline can be exercised end to end, at any size, reproducibly.

Two modes:

- ``full``: every model attempts every task (a benchmark-style log with full information).
- ``logged``: a logging policy picks one model per task, as production would, and records its propensity:
  it sends tasks to models by their visible difficulty (easiest share to the cheapest model) and, with
  probability ``epsilon``, to a model drawn uniformly instead. With ``escalate=True`` a failed first attempt
  is followed by one attempt of the next dearer model, logged with propensity 1 (it follows the failure for
  sure).

Run ``python -m training.synthetic OUT_FILE --tasks N --seed S [--mode full|logged]``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from router._catalog import Catalog
from router._exceptions import InvalidInputError
from router._outcome_log import write_outcomes
from training.data.synthetic_tasks import LatentModel, Tasks, generate_tasks

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DEFAULT_ABILITY", "LatentModel", "abilities", "generate_outcomes", "main"]

#: Abilities (logit scale) for the default catalog. With the default task mix they give success rates of
#: about 43% (haiku), 61% (sonnet) and 73% (opus).
DEFAULT_ABILITY: dict[str, float] = {"haiku": 0.0, "sonnet": 1.2, "opus": 2.0}

Mode = Literal["full", "logged"]


def abilities(
    catalog: Catalog, ability: Mapping[str, float] | None = None, params: LatentModel | None = None
) -> dict[str, float]:
    """Ability of every catalog model (logit scale).

    ``ability`` when given; :data:`DEFAULT_ABILITY` for the default catalog's models; else spread evenly by
    price rank from ``params.ability_low`` (cheapest) to ``params.ability_high`` (dearest).

    Examples
    --------
    >>> abilities(Catalog.default())
    {'haiku': 0.0, 'sonnet': 1.2, 'opus': 2.0}
    """
    params = params or LatentModel()
    names = catalog.names()
    if ability is None and set(names) <= set(DEFAULT_ABILITY):
        ability = DEFAULT_ABILITY
    if ability is not None:
        missing = [n for n in names if n not in ability]
        if missing:
            raise InvalidInputError(
                f"ability has no value for model(s) {', '.join(missing)}. Catalog models: {', '.join(names)}."
            )
        return {n: float(ability[n]) for n in names}
    ranked = [m.name for m in catalog.by_price]
    step = (params.ability_high - params.ability_low) / max(1, len(ranked) - 1)
    by_rank = {name: params.ability_low + i * step for i, name in enumerate(ranked)}
    if len(ranked) == 1:
        by_rank = {ranked[0]: params.ability_high}
    return {n: by_rank[n] for n in names}


def _attempts(
    tasks: Tasks, task_idx: np.ndarray, model_idx: np.ndarray, catalog: Catalog, ability: np.ndarray,
    rng: np.random.Generator, params: LatentModel,
) -> dict[str, np.ndarray]:  # fmt: skip
    """Simulate one attempt per (task, model) pair: outcome, tokens, cost and wall time."""
    models = [catalog.get(n) for n in catalog.names()]
    price_in = np.array([m.input_cost_per_1m for m in models])[model_idx]
    price_out = np.array([m.output_cost_per_1m for m in models])[model_idx]
    latency = np.array([m.latency_ms for m in models])[model_idx]
    window = np.array([m.context_window for m in models], dtype=float)[model_idx]
    a = ability[model_idx]
    d = tasks.difficulty[task_idx]
    p = 1.0 / (1.0 + np.exp(-(a - d)))
    success = rng.random(len(task_idx)) < p
    rate = np.minimum(params.max_turn_rate, params.turn_scale * np.exp(params.turn_slope * (d - a)))
    turns = 1 + rng.poisson(rate)
    chars = np.fromiter((len(s) for s in tasks.description), dtype=np.int64, count=len(tasks))[task_idx]
    context = chars / params.chars_per_token + params.tokens_per_line * tasks.lines[task_idx]
    context = np.minimum(context, params.context_share * window)
    input_tokens = np.rint(turns * context).astype(np.int64)
    per_turn = rng.lognormal(np.log(params.out_median) + params.out_slope * d, params.out_sigma)
    output = turns * per_turn * np.where(success, 1.0, params.fail_output_factor)
    output_tokens = np.maximum(1, np.rint(output)).astype(np.int64)
    cost = (input_tokens * price_in + output_tokens * price_out) / 1e6
    # Per-token time scales with the model's typical latency: a slower model also streams slower.
    duration = turns * latency + output_tokens * latency / 100.0
    return {
        "success": success.astype(float), "cost_usd": cost, "input_tokens": input_tokens,
        "output_tokens": output_tokens, "duration_ms": np.rint(duration), "p_success": p,
    }  # fmt: skip


def generate_outcomes(
    n_tasks: int,
    *,
    seed: int,
    catalog: Catalog | None = None,
    mode: Mode = "full",
    ability: Mapping[str, float] | None = None,
    epsilon: float = 0.2,
    escalate: bool = False,
    latent: bool = False,
    params: LatentModel | None = None,
) -> pd.DataFrame:
    """Generate a synthetic outcome log in the outcome-log schema.

    Parameters
    ----------
    n_tasks : int
        Tasks to generate; ``full`` mode gives ``n_tasks * len(catalog)`` rows, ``logged`` about ``n_tasks``
        (plus escalations).
    seed : int
        Seed of the one random generator; the same arguments give the same frame.
    catalog : Catalog, optional
        Models, prices and latencies; :meth:`Catalog.default` when omitted.
    mode : {"full", "logged"}
        Every model on every task, or one model per task chosen by the logging policy (module docstring).
    ability : mapping, optional
        Ability per catalog model name (logit scale); see :func:`abilities` for the default.
    epsilon : float
        ``logged`` mode: probability that the logging policy picks a model uniformly at random, in (0, 1].
    escalate : bool
        ``logged`` mode: follow a failed first attempt with one attempt of the next dearer model.
    latent : bool
        Add the hidden truth for analysis: ``kind``, ``n_files``, ``lines``, ``difficulty_visible``,
        ``difficulty_hidden`` and ``p_success`` (outside the schema; ``write_outcomes`` leaves them out).
    params : LatentModel, optional
        Parameters of the difficulty and token model.

    Returns
    -------
    pandas.DataFrame
        Columns ``task_id, description, model, success, cost_usd, input_tokens, output_tokens, duration_ms,
        task_type, files, timestamp, propensity``; ``files`` is a JSON list string; ``propensity`` is 1 in
        ``full`` mode (every model is tried for sure).

    Examples
    --------
    >>> frame = generate_outcomes(10, seed=0)
    >>> len(frame), sorted(frame["model"].unique())
    (30, ['haiku', 'opus', 'sonnet'])
    """
    import pandas as pd

    if int(n_tasks) < 1:
        raise InvalidInputError(f"n_tasks must be at least 1, got {n_tasks!r}")
    if mode not in ("full", "logged"):
        raise InvalidInputError(f"Unknown mode {mode!r}. Allowed modes: full, logged.")
    if not 0 < epsilon <= 1:
        raise InvalidInputError(f"epsilon must be in (0, 1], got {epsilon!r}")
    catalog = catalog or Catalog.default()
    params = params or LatentModel()
    names = catalog.names()
    ability_vec = np.array([abilities(catalog, ability, params)[n] for n in names])
    rng = np.random.default_rng(seed)
    tasks = generate_tasks(n_tasks, rng, params, prefix=f"syn{seed}-")
    k = len(names)
    n = len(tasks)

    if mode == "full":
        task_idx = np.repeat(np.arange(n), k)
        model_idx = np.tile(np.arange(k), n)
        rows = _attempts(tasks, task_idx, model_idx, catalog, ability_vec, rng, params)
        rows["propensity"] = np.ones(len(task_idx))
        offset_ms = model_idx.astype(np.int64) * 1000  # the models of a task run one second apart
    else:
        task_idx, model_idx, rows, offset_ms = _logged(
            tasks, catalog, ability_vec, rng, params, epsilon, escalate
        )

    stamps = tasks.time[task_idx] + offset_ms.astype("timedelta64[ms]")
    data = {
        "task_id": tasks.task_id[task_idx],
        "description": tasks.description[task_idx],
        "model": np.array(names, dtype=object)[model_idx],
        "success": rows["success"],
        "cost_usd": rows["cost_usd"],
        "input_tokens": rows["input_tokens"],
        "output_tokens": rows["output_tokens"],
        "duration_ms": rows["duration_ms"],
        "task_type": tasks.task_type[task_idx],
        "files": tasks.files[task_idx],
        "timestamp": np.datetime_as_string(stamps.astype("datetime64[s]"), timezone="UTC"),
        "propensity": rows["propensity"],
    }
    if latent:
        data |= {
            "kind": tasks.kind[task_idx], "n_files": tasks.n_files[task_idx], "lines": tasks.lines[task_idx],
            "difficulty_visible": tasks.visible[task_idx], "difficulty_hidden": tasks.hidden[task_idx],
            "p_success": rows["p_success"],
        }  # fmt: skip
    frame = pd.DataFrame(data)
    return frame


def _logged(
    tasks: Tasks, catalog: Catalog, ability: np.ndarray, rng: np.random.Generator, params: LatentModel,
    epsilon: float, escalate: bool,
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray], np.ndarray]:  # fmt: skip
    """One model per task from the epsilon-random logging policy, plus optional escalations."""
    names = catalog.names()
    k, n = len(names), len(tasks)
    by_price = np.array([names.index(m.name) for m in catalog.by_price])
    # The policy's deterministic part: equal shares of tasks by visible difficulty, cheapest model first.
    cuts = np.quantile(tasks.visible, np.arange(1, k) / k) if k > 1 else np.array([])
    base = by_price[np.searchsorted(cuts, tasks.visible, side="right")]
    explore = rng.random(n) < epsilon
    chosen = np.where(explore, rng.integers(0, k, n), base)
    propensity = epsilon / k + (1.0 - epsilon) * (chosen == base)
    task_idx = np.arange(n)
    rows = _attempts(tasks, task_idx, chosen, catalog, ability, rng, params)
    rows["propensity"] = propensity
    offset = np.zeros(n, dtype=np.int64)
    if not escalate:
        return task_idx, chosen, rows, offset
    rank = np.argsort(by_price)[chosen]
    again = np.flatnonzero((rows["success"] < 1) & (rank < k - 1))
    next_model = by_price[rank[again] + 1]
    extra = _attempts(tasks, again, next_model, catalog, ability, rng, params)
    extra["propensity"] = np.ones(len(again))
    merged = {key: np.concatenate([rows[key], extra[key]]) for key in rows}
    all_tasks = np.concatenate([task_idx, again])
    all_models = np.concatenate([chosen, next_model])
    # The escalation starts when the first attempt has finished.
    all_offsets = np.concatenate([offset, rows["duration_ms"][again].astype(np.int64)])
    order = np.argsort(all_tasks, kind="stable")
    return (all_tasks[order], all_models[order], {key: v[order] for key, v in merged.items()},
            all_offsets[order])  # fmt: skip


def _catalog_arg(value: str) -> Catalog:
    if value == "default":
        return Catalog.default()
    if value == "swebench":
        from training.swebench import swebench_catalog

        return swebench_catalog()
    return Catalog.from_toml(value)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.synthetic", description=__doc__.split("\n")[0])
    parser.add_argument(
        "out_file", help="where to write: .csv, .parquet or .jsonl (e.g. datasets/generated/...)"
    )
    parser.add_argument("--tasks", type=int, default=1000, help="number of tasks (default 1000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--mode", choices=["full", "logged"], default="full")
    parser.add_argument(
        "--epsilon", type=float, default=0.2, help="logged mode: exploration rate (default 0.2)"
    )
    parser.add_argument("--escalate", action="store_true", help="logged mode: retry failures one tier up")
    parser.add_argument(
        "--catalog",
        default="default",
        help="'default' (haiku/sonnet/opus), 'swebench' (the five SWE-bench models) or a TOML file",
    )
    parser.add_argument(
        "--hidden-sigma",
        type=float,
        default=LatentModel.hidden_sigma,
        help="standard deviation of the hidden difficulty (default 1.0)",
    )
    args = parser.parse_args(argv)  # fmt: skip
    from router._exceptions import RouterError

    started = time.perf_counter()
    try:
        catalog = _catalog_arg(args.catalog)
        params = replace(LatentModel(), hidden_sigma=args.hidden_sigma)
        frame = generate_outcomes(args.tasks, seed=args.seed, catalog=catalog, mode=args.mode,
                                  epsilon=args.epsilon, escalate=args.escalate, params=params)  # fmt: skip
        generated = time.perf_counter() - started
        write_outcomes(frame, Path(args.out_file))
    except RouterError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    total = time.perf_counter() - started
    print(f"wrote {args.out_file}: {len(frame)} rows, {frame['task_id'].nunique()} tasks "
          f"(generated in {generated:.1f} s, {total:.1f} s with writing)")  # fmt: skip
    table = frame.groupby("model", sort=False).agg(
        rows=("task_id", "size"), success=("success", "mean"), mean_cost_usd=("cost_usd", "mean")
    )
    print(f"{'model':<20}{'rows':>9}{'success':>10}{'mean cost':>12}")
    for row in table.itertuples():
        print(
            f"{row.Index!s:<20}{row.rows:>9}{row.success:>10.1%}{'$' + format(row.mean_cost_usd, '.4f'):>12}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
