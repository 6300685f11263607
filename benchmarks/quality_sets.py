"""Decision quality on every shared real data set, from held-out folds only: SWE-bench Verified (with and
without the repository as metadata), ZeroEval GSM8K and MATH level 5.

5-fold cross-validation over tasks (``training.evaluation.crossval``): every task's predictions come from a
router that never saw it, and each task is routed by its own fold's router, hull guard included. Per set:
median per-model AUC (of all folds' predictions pooled, and the mean within folds: see
``training.evaluation.metrics.auc_within_folds``) and worst ECE, the learned policy's APGR and gain over the
hull of fixed models (its curve, with the hull guard and, for comparison, without it), its single choice at
each fold's default tradeoff (what ``Router.load(...).route_many`` does) against the hull at that cost, the
learned cascade's APGR, and the share of tradeoffs where the guard let the learned choice decide. Sets whose
files are absent are skipped with the reason.

Then one table per set, every router on the same held-out tasks (``benchmarks._set_rows``): each
single model, the hull of the single models, random mixing of the cheapest and the best, the heuristic
router (untrained, at its default and over 11 tradeoffs), the learned policy with each ``pooling``
(``--poolings``; one extra 5-fold run each beside the default's), the learned cascade, the embedding kNN
peer (``.[bench-embed]``) and LiteLLM's complexity router, classifier ``heuristic`` and ``heuristic_v2``,
with its tier table by cost and tuned on the training folds (``.[bench-peers]``; ``benchmarks._peers``).
A peer that is not installed gets a row saying so.

    python -m benchmarks.quality_sets [--sets swebench,swebench-no-repo,gsm8k,math_l5] [--poolings
        independent,pooled] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks._util import Progress, per_set, progress

SETS = ("swebench", "swebench-no-repo", "gsm8k", "math_l5")
#: The learned policy's ``pooling`` values with a row each (FitParams.pooling; the default always runs).
POOLINGS = ("independent", "pooled")
TITLES = {
    "swebench": "SWE-bench Verified, repository as metadata",
    "swebench-no-repo": "SWE-bench Verified, text only",
    "gsm8k": "ZeroEval GSM8K",
    "math_l5": "ZeroEval MATH level 5",
}
ZEROEVAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "zeroeval"


def load_set(name: str) -> Any:
    """The set's outcome-log frame; raises FileNotFoundError / RouterError when its files are absent."""
    if name.startswith("swebench"):
        from training.swebench import load_swebench

        frame = load_swebench().frame
        return frame.drop(columns=["metadata"]) if name == "swebench-no-repo" else frame
    from router._outcome_log import read_outcomes

    path = ZEROEVAL / f"{name}.csv"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found (the shared ZeroEval data lives outside the project)")
    return read_outcomes(path).frame


def set_catalog(name: str, models: list[str]) -> Any:
    """The set's models at their list prices, for the heuristic router."""
    if name.startswith("swebench"):
        from training.swebench import swebench_catalog

        return swebench_catalog(models)
    from training.zeroeval import zeroeval_catalog

    return zeroeval_catalog()


def measure(
    name: str, folds: int = 5, poolings: tuple[str, ...] = POOLINGS, say: Progress = progress
) -> dict[str, Any]:
    from benchmarks._set_rows import router_rows
    from training.evaluation.crossval import cross_validate, quality_report
    from training.fit.classifiers import FitParams

    started = time.perf_counter()
    frame = load_set(name)
    default_pooling = FitParams().pooling
    say(
        f"quality_sets: {name}: {folds}-fold cross-validation (default parameters, pooling={default_pooling})"
    )
    cvs = {default_pooling: cross_validate(frame, folds=folds)}
    for pooling in poolings:
        if pooling not in cvs:
            say(f"quality_sets: {name}: {folds}-fold cross-validation with pooling={pooling}")
            cvs[pooling] = cross_validate(frame, folds=folds, pooling=pooling)
    cv = cvs[default_pooling]
    report = quality_report(cv)
    rows = router_rows(cvs, default_pooling, set_catalog(name, list(cv.data.models)), say)
    classifier = report["classifier"]
    return {
        "tasks": report["tasks"],
        "models": len(report["models"]),
        "median_auc": float(np.nanmedian([v["auc"] for v in classifier.values()])),
        "median_auc_within_folds": float(np.nanmedian([v["auc_within_folds"] for v in classifier.values()])),
        "max_ece": float(max(v["ece"] for v in classifier.values())),
        "policy_apgr": report["policy"]["apgr"],
        "policy_gain": report["policy"]["gain_over_hull"],
        "unguarded_apgr": report["policy_unguarded"]["apgr"],
        "unguarded_gain": report["policy_unguarded"]["gain_over_hull"],
        "default_gain": report["default"]["gain_over_hull"],
        "default_success": report["default"]["success"],
        "default_cost": report["default"]["cost"],
        "cascade_apgr": report["cascade"]["apgr"],
        "random_apgr": report["random_mix"]["apgr"],
        "guard_learned_share": report["guard"]["learned_share"],
        "guard_at_default": report["guard"]["at_default"],
        "routers": rows,
        "seconds": time.perf_counter() - started,
    }


def markdown(results: dict[str, Any]) -> str:
    head = (
        "| set | tasks x models | median AUC (pooled / within folds) | max ECE | APGR (as trained / every "
        "model allowed) | gain over hull (as trained / every model allowed) | default choice vs hull | "
        "cascade APGR | guard: learned share |\n"
        "|---|---|---|---|---|---|---|---|---|\n"
    )
    rows = []
    for name, r in results.items():
        if "skipped" in r:
            rows.append(f"| {name} | skipped: {r['skipped']} | | | | | | | |")
            continue
        rows.append(
            f"| {name} | {r['tasks']} x {r['models']} | {r['median_auc']:.3f} / "
            f"{r['median_auc_within_folds']:.3f} | {r['max_ece']:.3f} | "
            f"{r['policy_apgr']:.3f} / {r['unguarded_apgr']:.3f} | {r['policy_gain']:+.4f} / "
            f"{r['unguarded_gain']:+.4f} | {r['default_gain']:+.4f} | {r['cascade_apgr']:.3f} | "
            f"{r['guard_learned_share']:.2f} |"
        )
    return (
        head
        + "\n".join(rows)
        + "\n"
        + "".join(router_table(n, r) for n, r in results.items() if "routers" in r)
    )


def _fmt(value: float | None, spec: str) -> str:
    return "" if value is None or value != value else format(value, spec)


def router_table(name: str, result: dict[str, Any]) -> str:
    """One set's routers on the same held-out tasks."""
    lines = [
        f"\n#### {TITLES.get(name, name)} ({result['tasks']} tasks x {result['models']} models)\n",
        "| router | success | cost/task (US$) | vs hull at its cost | APGR | gain over hull |",
        "|---|---|---|---|---|---|",
    ]
    for r in result["routers"]:
        if "status" in r:
            lines.append(f"| {r['router']} | {r['status']} | | | | |")
            continue
        lines.append(
            f"| {r['router']} | {_fmt(r['success'], '.1%')} | {_fmt(r['cost'], '.3g')} | "
            f"{_fmt(r['vs_hull'], '+.4f')} | {_fmt(r['apgr'], '.3f')} | {_fmt(r['gain'], '+.4f')} |"
        )
    return "\n".join(lines) + "\n"


def measure_all(
    names: list[str], folds: int = 5, poolings: tuple[str, ...] = POOLINGS
) -> dict[str, dict[str, Any]]:
    """``measure`` on each set; a set whose shared files are absent gets ``{"skipped": reason}``."""
    return per_set(names, lambda name: measure(name, folds, poolings))


def run(quick: bool = False, workdir: Path | None = None) -> dict[str, Any]:
    """The ``sets`` section of ``make bench``: every shared set, 5-fold (quick: 3-fold, default pooling)."""
    folds, poolings = (3, ()) if quick else (5, POOLINGS)
    return {"folds": folds, "sets": measure_all(list(SETS), folds, poolings)}


def sets_md(section: dict[str, Any]) -> list[str]:
    return [
        "### Decision quality on every shared set (held-out folds)",
        "",
        f"`python -m benchmarks.quality_sets`: {section['folds']}-fold cross-validation over tasks, held-out "
        'folds only, default parameters. "As trained" leaves dominated models out of the learned choice '
        '(`drop_dominated`, the default); "every model allowed" is the same predictions choosing among all '
        "models. Below the summary, every router on the same held-out tasks, one table per set: success "
        "and cost per task at each router's operating point (the learned policy, the kNN peer and LiteLLM's "
        "tuned table at each fold's calibrated default tradeoff, the heuristic at its default); \"vs hull "
        "at its cost\" is that point's success minus the best fixed mix of models at the same cost; APGR and "
        "gain over hull are over the cost range from the cheapest model to the best.",
        "",
        markdown(section["sets"]),
        "",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--poolings", default=",".join(POOLINGS), help="learned-policy rows, by pooling")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    unknown = [n for n in args.sets.split(",") if n.strip() and n.strip() not in SETS]
    if unknown:
        parser.error(f"unknown set(s) {', '.join(unknown)}; known: {', '.join(SETS)}")
    results = measure_all(args.sets.split(","), args.folds, tuple(args.poolings.split(",")))
    print(markdown(results))
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
