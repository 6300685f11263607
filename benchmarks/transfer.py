"""Transfer to unfamiliar tasks: train on one task family, route another, judged curve against curve.

Every ordered pair of the shared ZeroEval sets (GSM8K -> MATH level 5 and back: the same nine models), and
SWE-bench Verified trained on some repositories and routed on the others (``SWEBENCH_SPLITS`` splits: the
twelve repositories dealt into three groups by size; each split routes one group with a router trained on
the other two). Public API only, as a user would: ``train_router`` on the training part, then
``Router.load(...).route_many(descriptions, tradeoff=t)`` on the rest, t in 0, 0.05, ..., 1.

The yardstick is the independent judge's (``../shared/tools/route_eval.py``): the area under the upper hull of
a curve of (mean cost, mean success) points over budgets from the test part's cheapest to its dearest
model's mean cost, divided by the test part's best-minus-cheapest success. Each transfer compares the learned
router's curve with the training hull's fixed choice's: at each tradeoff, the one model the training part's
mean success and cost pick (``argmax success - mu(t) * cost``, with the router's own ``mu``), whatever the
task.
Beside them, the in-distribution figure of each set (``route_eval.judge``: 5 folds over tasks, the curve
against the hull of single models).

Both judge the single choice, with the training part given whole, answers included, as the judge's folds
come: a router trained on answers still routes as a single choice (its cascade is ``next_step``'s and has
its own benchmark, ``python -m benchmarks.cascade``).

    python -m benchmarks.transfer [--pairs gsm8k:math_l5,...] [--no-in-distribution] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from benchmarks._util import ROOT, Progress, progress

SHARED_TOOLS = ROOT.parent / "shared" / "tools" / "route_eval.py"
ZEROEVAL_PAIRS = (("gsm8k", "math_l5"), ("math_l5", "gsm8k"))
SWEBENCH_SPLITS = 3
IN_DISTRIBUTION = ("gsm8k", "math_l5", "swebench")
RESULTS = ROOT / "benchmarks" / "results" / "transfer.json"


def route_eval() -> ModuleType:
    """The shared judge, imported by path (it stays in ``../shared/tools``, never copied here)."""
    if not SHARED_TOOLS.is_file():
        raise FileNotFoundError(f"{SHARED_TOOLS} not found (the judge lives outside the project)")
    spec = importlib.util.spec_from_file_location("route_eval", SHARED_TOOLS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_frame(name: str) -> Any:
    from benchmarks.quality_sets import load_set

    return load_set(name)


def _train(train: Any, workdir: Path, **params: Any) -> Any:
    from router import Router
    from training import train_router

    out = Path(tempfile.mkdtemp(dir=workdir))
    result = train_router(train, output_dir=out, log_to_mlflow=False, **params)
    return Router.load(result.artifact_dir, strict=True)


def learned_policy(workdir: Path, **params: Any) -> Any:
    """``make_policy`` for the judge: train on the rows given, route by description at each tradeoff."""

    def make(train: Any) -> Any:
        router = _train(train, workdir, **params)

        def decide(descriptions: list[str], tradeoff: float) -> list[str]:
            return [d.model for d in router.route_many(descriptions, tradeoff=tradeoff)]

        decide.router = router  # type: ignore[attr-defined]
        return decide

    return make


def fixed_choices(judge: ModuleType, train: Any, kappa: float) -> list[str]:
    """The training hull's fixed choice at each tradeoff of the judge's grid: the one model maximising the
    training part's mean success minus ``mu(t)`` times its mean cost (ties to the cheaper)."""
    from router.learned.policy import choose_many, mu_for

    s, c, _ = judge.matrices(train)
    mean_s, mean_c = s.mean().to_numpy(), c.mean().to_numpy()
    return [
        str(s.columns[int(choose_many(mean_s[None, :], mean_c[None, :], mu_for(float(t), kappa))[0])])
        for t in judge.GRID
    ]


def transfer(judge: ModuleType, train: Any, test: Any, workdir: Path, **params: Any) -> dict[str, Any]:
    """One transfer: the learned router's and the fixed choice's curves on ``test``, and the figure."""
    decide = learned_policy(workdir, **params)(train)
    router = decide.router
    fixed = fixed_choices(judge, train, router.model.kappa)
    s, c, text = judge.matrices(test)
    rows = np.arange(len(s))
    learned_pts, fixed_pts, novelty, top_share = [], [], [], []
    train_s, _, _ = judge.matrices(train)
    train_best = str(train_s.mean().idxmax())
    for t, fixed_model in zip(judge.GRID, fixed, strict=True):
        decisions = router.route_many(list(text.values), tradeoff=float(t))
        idx = [s.columns.get_loc(d.model) for d in decisions]
        learned_pts.append((s.values[rows, idx].mean(), c.values[rows, idx].mean()))
        j = s.columns.get_loc(fixed_model)
        fixed_pts.append((s.values[:, j].mean(), c.values[:, j].mean()))
        if t == judge.GRID[-1]:
            values = [d.novelty for d in decisions if getattr(d, "novelty", None) is not None]
            novelty = values
            top_share.append(float(np.mean([d.model == train_best for d in decisions])))
    singles = np.array([(s[m].mean(), c[m].mean()) for m in s.columns])
    best, cheap = int(np.argmax(singles[:, 0])), int(np.argmin(singles[:, 1]))
    qs, qw, cw = singles[best, 0], singles[cheap, 0], singles[cheap, 1]
    cmax = float(singles[:, 1].max())
    span = qs - qw
    learned_area = judge.hull_area(np.array(learned_pts), cw, cmax, qw)
    fixed_area = judge.hull_area(np.array(fixed_pts), cw, cmax, qw)
    hull_area = judge.hull_area(singles, cw, cmax, qw)
    return {
        "train_tasks": int(train.task_id.nunique()),
        "test_tasks": len(s),
        "learned_vs_fixed": round(float((learned_area - fixed_area) / span), 4),
        "learned_vs_test_hull": round(float((learned_area - hull_area) / span), 4),
        "fixed_vs_test_hull": round(float((fixed_area - hull_area) / span), 4),
        "learned_curve": [[round(float(q), 4), float(cc)] for q, cc in learned_pts],
        "fixed_choice": fixed,
        "train_best_model": train_best,
        "share_train_best_at_t1": top_share[0] if top_share else None,
        "median_novelty": float(np.median(novelty)) if novelty else None,
    }


def swebench_groups(frame: Any, k: int = SWEBENCH_SPLITS) -> list[list[str]]:
    """The repositories dealt into ``k`` groups of similar size: largest first, each to the smallest group."""
    repos = frame.drop_duplicates("task_id")["metadata"].map(lambda m: json.loads(m)["repo"])
    counts = repos.value_counts()
    groups: list[list[str]] = [[] for _ in range(k)]
    sizes = [0] * k
    for repo, n in counts.items():
        g = sizes.index(min(sizes))
        groups[g].append(str(repo))
        sizes[g] += int(n)
    return groups


def run(
    pairs: tuple[tuple[str, str], ...] = ZEROEVAL_PAIRS,
    swebench_splits: int = SWEBENCH_SPLITS,
    in_distribution: tuple[str, ...] = IN_DISTRIBUTION,
    say: Progress = progress,
    **params: Any,
) -> dict[str, Any]:
    judge = route_eval()
    out: dict[str, Any] = {"transfers": {}, "in_distribution": {}, "params": params}
    with tempfile.TemporaryDirectory(prefix="transfer-") as tmp:
        work = Path(tmp)
        for source, target in pairs:
            started = time.perf_counter()
            try:
                train, test = load_frame(source), load_frame(target)
            except (FileNotFoundError, OSError) as exc:
                out["transfers"][f"{source} -> {target}"] = {"skipped": str(exc)}
                continue
            result = transfer(judge, train, test, work, **params)
            result["seconds"] = round(time.perf_counter() - started, 1)
            out["transfers"][f"{source} -> {target}"] = result
            say(f"transfer {source} -> {target}: {result['learned_vs_fixed']:+.4f} vs the fixed choice")
        if swebench_splits:
            try:
                frame = load_frame("swebench")
            except Exception as exc:  # the shared data absent: say so, go on
                out["transfers"]["swebench by repository"] = {"skipped": str(exc)}
                frame = None
            if frame is not None:
                repo_of = frame["metadata"].map(lambda m: json.loads(m)["repo"])
                for k, group in enumerate(swebench_groups(frame, swebench_splits)):
                    started = time.perf_counter()
                    held = repo_of.isin(group)
                    result = transfer(judge, frame[~held], frame[held], work, **params)
                    result["test_repositories"] = group
                    result["seconds"] = round(time.perf_counter() - started, 1)
                    out["transfers"][f"swebench repositories split {k + 1}"] = result
                    say(f"transfer swebench split {k + 1}: {result['learned_vs_fixed']:+.4f} vs fixed")
        for name in in_distribution:
            started = time.perf_counter()
            try:
                df = load_frame(name)
            except Exception as exc:
                out["in_distribution"][name] = {"skipped": str(exc)}
                continue
            df = df[["task_id", "description", "model", "success", "cost_usd"]]
            result = judge.judge(df, learned_policy(work, **params), name=name)
            result["seconds"] = round(time.perf_counter() - started, 1)
            out["in_distribution"][name] = result
            say(f"in distribution {name}: gain_vs_zero {result['gain_vs_zero']:+.3f}")
    return out


def section(quick: bool = False, workdir: Path | None = None) -> dict[str, Any]:
    """The ``transfer`` section of ``make bench`` (quick: the ZeroEval pairs alone, no in-distribution)."""
    if quick:
        return run(swebench_splits=0, in_distribution=())
    return run()


def transfer_md(result: dict[str, Any]) -> list[str]:
    return [
        "### Transfer to unfamiliar tasks (train on one family, route another)",
        "",
        "`python -m benchmarks.transfer`: `train_router` on one family, `Router.load(...).route_many` on "
        "another at tradeoffs 0, 0.05, ..., 1; the area under each curve's upper hull (mixing allowed) over "
        "the test part's cost range, in units of its best-minus-cheapest success, against the training "
        "hull's fixed choice (the one model the training part's means pick at each tradeoff) and the test "
        "part's hull of single models. In distribution: the shared judge's 5 folds over tasks.",
        "",
        table(result),
        "",
    ]


def table(result: dict[str, Any]) -> str:
    lines = [
        "| transfer | train -> test tasks | learned vs fixed choice | learned vs test hull | "
        "fixed vs test hull | t = 1: share to the training best |",
        "|---|---|---|---|---|---|",
    ]
    for name, r in result["transfers"].items():
        if "skipped" in r:
            lines.append(f"| {name} | skipped: {r['skipped']} | | | | |")
            continue
        share = r["share_train_best_at_t1"]
        lines.append(
            f"| {name} | {r['train_tasks']} -> {r['test_tasks']} | {r['learned_vs_fixed']:+.3f} | "
            f"{r['learned_vs_test_hull']:+.3f} | {r['fixed_vs_test_hull']:+.3f} | "
            f"{'' if share is None else f'{share:.2f}'} |"
        )
    lines += ["", "| set (5 folds over tasks) | APGR | curve vs hull of single models |", "|---|---|---|"]
    for name, r in result["in_distribution"].items():
        if "skipped" in r:
            lines.append(f"| {name} | skipped: {r['skipped']} | |")
            continue
        lines.append(f"| {name} | {r['apgr']:.3f} | {r['gain_vs_zero']:+.3f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.transfer", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--pairs", default=",".join(f"{a}:{b}" for a, b in ZEROEVAL_PAIRS))
    parser.add_argument("--swebench-splits", type=int, default=SWEBENCH_SPLITS)
    parser.add_argument("--in-distribution", default=",".join(IN_DISTRIBUTION), help="sets, or '' for none")
    parser.add_argument("--params", default="{}", help="train_router parameters as JSON")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    pairs = tuple(tuple(p.split(":")) for p in args.pairs.split(",") if p)
    sets = tuple(s for s in args.in_distribution.split(",") if s)
    result = run(pairs, args.swebench_splits, sets, **json.loads(args.params))  # type: ignore[arg-type]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    print(table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
