"""The check the maintainers run on real sets kept aside, replayed on the shared sets: ``train_router`` on a
training part, ``Router.load(...).route_many`` on the rest at the default tradeoff, and the single choice's
success against the best fixed mix of models at its own cost on that rest. Public API only.

The best fixed mix is the upper hull of the single models' (cost, success) on the test part itself: the
mix is chosen knowing the test outcomes, so a router must have a real edge to beat it, not only match the
hull in expectation. For scale, each split also scores a mix that is not learned: half the test tasks to
each of two neighbouring models of the training part's hull, at random (averaged over the hull's segments).

Every split draws its own random third of the tasks as the test part. Per set: the mean gain over the hull
(success points), the share of splits above it, the worst split, and the reference mix's mean gain.

Beside the three shared sets as the other benchmarks use them, six more sets are other choices of models
from the same files (``MODEL_SETS``): every SWE-bench model with a real per-task cost (24), two sets of six
of them, and three sets of four ZeroEval models. The kept-aside sets have their own models and prices; a
change that only helps the five default SWE-bench models or all nine ZeroEval models shows here.

    python -m benchmarks.holdout_sets [--sets swebench,gsm8k,...] [--splits 12] [--json] [--out F.json]
    python -m benchmarks.holdout_sets --params '{"drop_dominated": false}'   # the same with training options
"""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._util import chosen_sets, per_set, progress

#: The other choices of models from the same shared files: set name -> (shared set, models; None: every
#: model of the SWE-bench scaffold with a real per-task cost). The subsets were drawn at random once.
MODEL_SETS: dict[str, tuple[str, tuple[str, ...] | None]] = {
    "swebench-24": ("swebench", None),
    "swebench-6a": ("swebench", ("claude-opus-4.5", "claude-sonnet-4", "devstral-small-2512", "gpt-5-nano",
                                 "gpt-5.1", "gpt-oss-120b")),
    "swebench-6b": ("swebench", ("claude-sonnet-4.5", "devstral-2512", "gemini-2.5-pro", "gpt-5.1",
                                 "llama-4-maverick-instruct", "qwen3-coder-480b-a35b-instruct")),
    "gsm8k-4": ("gsm8k", ("Meta-Llama-3.1-70B-Instruct", "Meta-Llama-3.1-8B-Instruct",
                          "claude-3-haiku-20240307", "claude-3-opus-20240229")),
    "math_l5-4a": ("math_l5", ("Meta-Llama-3.1-70B-Instruct", "Meta-Llama-3.1-8B-Instruct",
                               "claude-3-haiku-20240307", "claude-3-opus-20240229")),
    "math_l5-4b": ("math_l5", ("Meta-Llama-3.1-8B-Instruct", "claude-3-haiku-20240307", "gemini-1.5-flash",
                               "gpt-4o-2024-08-06")),
}  # fmt: skip
SETS = ("swebench", "gsm8k", "math_l5", *MODEL_SETS)
SPLITS = 12
TEST_SHARE = 1 / 3


def gain_over_hull(success: np.ndarray, cost: np.ndarray, chosen: np.ndarray) -> float:
    """Success of one model per task (``chosen``) minus the best fixed mix of models at the same mean
    cost, both on these tasks (``success``, ``cost``: tasks x models, every model tried)."""
    from training.evaluation.metrics import point_vs_hull, single_points

    rows = np.arange(len(success))
    point = (float(cost[rows, chosen].mean()), float(success[rows, chosen].mean()))
    return point_vs_hull(point, single_points(success, cost))


def reference_gain(train: Any, test: Any, seed: int) -> float:
    """The not-learned mix: a coin per task between two neighbouring models of the training part's hull,
    mean over the hull's segments (0 when the training hull is one model)."""
    from training.fit.guard import hull_vertices

    hull = hull_vertices(train.cost.mean(axis=0), train.success.mean(axis=0))
    coin = np.random.default_rng(seed).random(len(test.success)) < 0.5
    gains = [
        gain_over_hull(test.success, test.cost, np.where(coin, a, b)) for a, b in itertools.pairwise(hull)
    ]
    return float(np.mean(gains)) if gains else 0.0


def _matrix(frame: Any, models: list[str]) -> Any:
    """Success and cost per task and model, on the tasks where every model was tried."""
    from training.data.outcomes import task_matrix

    data = task_matrix(frame, models)
    return data.subset(np.flatnonzero(data.observed.all(axis=1)))


def split(frame: Any, seed: int, test_share: float = TEST_SHARE) -> tuple[Any, Any]:
    """A random ``test_share`` of the tasks (by task id) as the test part; the rest trains."""
    tasks = np.sort(frame["task_id"].unique())
    test = set(np.random.default_rng(seed).permutation(tasks)[: int(len(tasks) * test_share)])
    in_test = frame["task_id"].isin(test)
    return frame[~in_test], frame[in_test]


def one_split(
    frame: Any, seed: int, test_share: float = TEST_SHARE, params: dict[str, Any] | None = None
) -> dict[str, float]:
    """Train on one split's training part through the public API and score its test part."""
    from router import Router
    from training import train_router

    train, test = split(frame, seed, test_share)
    models = sorted(frame["model"].unique())
    test_m = _matrix(test, models)
    with tempfile.TemporaryDirectory(prefix="holdout-") as tmp:
        trained = train_router(train, log_to_mlflow=False, output_dir=tmp, **(params or {}))
        decisions = Router.load(trained.model_uri, strict=True).route_many(
            list(test_m.descriptions), metadata=test_m.metadata
        )
    chosen = np.array([models.index(d.model) for d in decisions])
    return {
        "gain": gain_over_hull(test_m.success, test_m.cost, chosen),
        "reference_gain": reference_gain(_matrix(train, models), test_m, seed),
        "tradeoff": float(decisions[0].tradeoff if decisions[0].tradeoff is not None else float("nan")),
    }


def load_replay_set(name: str) -> Any:
    """The outcome-log frame of one of ``SETS``; raises FileNotFoundError / RouterError when its files are
    absent."""
    from benchmarks.quality_sets import load_set

    if name not in MODEL_SETS:
        return load_set(name)
    shared, models = MODEL_SETS[name]
    if shared == "swebench":
        from training.swebench import load_swebench

        frame = load_swebench(models=None).frame  # every model of the scaffold, with the repository
    else:
        frame = load_set(shared)
    return frame if models is None else frame[frame["model"].isin(models)]


def measure(
    name: str, splits: int = SPLITS, test_share: float = TEST_SHARE, params: dict[str, Any] | None = None
) -> dict[str, Any]:
    started = time.perf_counter()
    frame = load_replay_set(name)
    rows = []
    for seed in range(splits):
        rows.append(one_split(frame, seed, test_share, params))
        progress(f"holdout_sets: {name}: split {seed + 1}/{splits}: gain {rows[-1]['gain']:+.4f}")
    gains = np.array([r["gain"] for r in rows])
    return {
        "splits": splits,
        "test_share": test_share,
        "params": params or {},
        "mean_gain": float(gains.mean()),
        "share_above": float(np.mean(gains > 0)),
        "worst_gain": float(gains.min()),
        "reference_mean_gain": float(np.mean([r["reference_gain"] for r in rows])),
        "per_split": rows,
        "seconds": time.perf_counter() - started,
    }


def markdown(results: dict[str, Any]) -> str:
    lines = [
        "| set | splits | single choice vs hull, mean | above the hull | worst split "
        "| not-learned mix vs hull |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        if "skipped" in r:
            lines.append(f"| {name} | skipped: {r['skipped']} | | | | |")
            continue
        lines.append(
            f"| {name} | {r['splits']} | {r['mean_gain'] * 100:+.2f} pts | {r['share_above']:.0%} | "
            f"{r['worst_gain'] * 100:+.2f} pts | {r['reference_mean_gain'] * 100:+.2f} pts |"
        )
    return "\n".join(lines)


def measure_all(
    names: list[str],
    splits: int = SPLITS,
    test_share: float = TEST_SHARE,
    params: dict[str, Any] | None = None,
) -> dict[str, dict[str, Any]]:
    """``measure`` on each set; a set whose shared files are absent gets ``{"skipped": reason}``."""
    return per_set(names, lambda name: measure(name, splits, test_share, params))


def run(quick: bool = False, workdir: Path | None = None) -> dict[str, Any]:
    """The ``holdout`` section of ``make bench``: 12 splits per set (quick: 2)."""
    splits = 2 if quick else SPLITS
    return {"splits": splits, "sets": measure_all(list(SETS), splits)}


def holdout_md(section: dict[str, Any]) -> list[str]:
    return [
        "### The check on sets kept aside, replayed (train on two thirds, route the rest)",
        "",
        f"`python -m benchmarks.holdout_sets`: {section['splits']} random splits per set, a third of "
        "the tasks tested; `train_router` on the rest, then `Router.load(...).route_many` at the default "
        "tradeoff. The hull of the single models is drawn on the test part's own outcomes (a mix chosen "
        "knowing them); the last column is a mix that is not learned (half the test tasks to each of two "
        "neighbouring models of the training part's hull), for scale.",
        "",
        markdown(section["sets"]),
        "",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.holdout_sets",
        description="Train on part of each shared real set, route the rest at the default tradeoff, and "
        "compare the single choice with the best fixed mix of models on that rest.",
    )
    parser.add_argument("--sets", default=",".join(SETS), help=f"comma-separated, from: {', '.join(SETS)}")
    parser.add_argument("--splits", type=int, default=SPLITS, help="random splits per set (default 12)")
    parser.add_argument("--test-share", type=float, default=TEST_SHARE, help="share of tasks tested (1/3)")
    parser.add_argument(
        "--params",
        type=json.loads,
        default={},
        help="train_router keyword arguments as JSON, e.g. '{\"drop_dominated\": false}' (default: none)",
    )
    parser.add_argument("--json", action="store_true", help="print the results as one JSON object")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args(argv)
    names = chosen_sets(parser, args.sets, SETS)
    if args.splits < 1:
        parser.error(f"--splits must be at least 1, got {args.splits}")
    if not 0 < args.test_share < 1:
        parser.error(f"--test-share must be in (0, 1), got {args.test_share}")
    results = measure_all(list(names), args.splits, args.test_share, args.params)
    print(json.dumps(results, indent=1) if args.json else markdown(results))
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
