"""The learned cascade, judged through the public API on held-out tasks, and ``next_step``'s latency.

    python -m benchmarks.cascade                  # everything: about 30 minutes on 2 busy cores
    python -m benchmarks.cascade --quick          # next_step latency only
    python -m benchmarks.cascade --sets gsm8k     # one set, and no cross-family run

For each ZeroEval set (``../shared/data/zeroeval``; skipped with the reason where absent), 5 folds over
tasks, as the independent judge draws them (``../shared/tools/route_eval.py``, imported by path): on each
fold ``train_router`` on the training part, ``Router.load`` of its artifact and ``next_step`` on the rest, at
tradeoffs 0, 0.05, ..., 1. Beside it, the judge's agreement rule (two models, a third when they disagree,
chosen per tradeoff on the training part). Figures: gain over the hull (curve against curve), top success,
the cost at which the best single model's success is reached (share of its cost), held-out ECE of
``Step.p_correct`` on the answers returned. Then cross-family: trained on all of GSM8K, run on all of MATH
level 5, and the reverse, against the test set's hull.

Results: ``benchmarks/results/cascade.json`` and ``cascade.md``.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from benchmarks._util import ROOT, chosen_sets, median, progress, write_json

SETS = ("gsm8k", "math_l5")
TOOLS = ROOT.parent / "shared" / "tools" / "route_eval.py"
GOALS = {
    "gain_gsm8k": 0.10,
    "gain_math_l5": 0.15,
    "cross_family": 0.03,
    "ece": 0.05,
    "p50_us": 300.0,
    "cost_share_at_best_single": 0.5,
}
OUTPUT_CHARS = 2048


def route_eval() -> ModuleType | None:
    """The independent judge, imported by path (it stays in ../shared); None where it is absent."""
    if not TOOLS.is_file():
        return None
    spec = importlib.util.spec_from_file_location("route_eval", TOOLS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class LearnedStepper:
    """``make_stepper`` for the judge: trains through the public API, then steps with ``next_step``.

    Records, for every answer the cascade returns, its ``p_correct`` and whether it was right (for ECE).
    """

    def __init__(self, workdir: Path, truth: dict[tuple[str, str], float]) -> None:
        self.workdir = workdir
        self.truth = truth  # (description, model) -> success, to score the returned answers' P(right)
        self.p: list[float] = []
        self.y: list[float] = []
        self.train_s: list[float] = []

    def __call__(self, train: Any) -> Any:
        from router import Router
        from training import train_router
        from training.zeroeval import zeroeval_catalog

        out = self.workdir / f"fold-{len(self.train_s)}"
        started = time.perf_counter()
        train_router(train, catalog=zeroeval_catalog(), log_to_mlflow=False, output_dir=out)
        self.train_s.append(time.perf_counter() - started)
        router = Router.load(out, strict=True)

        def step(description: str, attempts: list[tuple[str, str, str]], tradeoff: float) -> Any:
            s = router.next_step(description, attempts, tradeoff=tradeoff)
            if s.model is None and s.answer_from is not None and s.p_correct is not None:
                self.p.append(s.p_correct)
                self.y.append(self.truth[(description, attempts[s.answer_from][0])])
            return s.model, s.answer_from

        return step


def _ece(y: list[float], p: list[float]) -> float | None:
    from training.evaluation.metrics import expected_calibration_error

    return expected_calibration_error((np.asarray(y) >= 0.5).astype(float), np.asarray(p)) if y else None


def _load(judge: ModuleType, name: str) -> Any:
    from training.zeroeval import find_data_dir

    df = judge.load(find_data_dir() / f"{name}.csv")
    df["answer"] = df["answer"].map(lambda v: v if isinstance(v, str) else ("" if v != v else repr(v)))
    return df


def _truth(df: Any) -> dict[tuple[str, str], float]:
    return {(d, m): float(s) for d, m, s in zip(df["description"], df["model"], df["success"], strict=True)}


def held_out(judge: ModuleType, name: str, workdir: Path) -> dict[str, Any]:
    """5-fold over tasks: the learned cascade and the agreement rule, side by side."""
    df = _load(judge, name)
    stepper = LearnedStepper(workdir / name, _truth(df))
    progress(f"cascade: {name}, 5 folds through train_router / Router.load / next_step")
    learned = judge.judge_steps(df, stepper, name="learned cascade")
    learned["ece"] = _ece(stepper.y, stepper.p)
    learned["train_s_median"] = median(stepper.train_s)
    progress(f"cascade: {name}, the agreement rule")
    agreement = judge.judge_steps(df, judge.agreement_stepper, name="agreement rule")
    return {"learned": learned, "agreement": agreement}


def cross_family(judge: ModuleType, train_name: str, test_name: str, workdir: Path) -> dict[str, Any]:
    """Trained on every task of one set, run on every task of the other (the judge's own split column)."""
    import pandas as pd

    train, test = _load(judge, train_name), _load(judge, test_name)
    both = pd.concat([train.assign(split="train"), test.assign(split="test")], ignore_index=True)
    stepper = LearnedStepper(workdir / f"{train_name}-to-{test_name}", _truth(test))
    progress(f"cascade: trained on {train_name}, run on {test_name}")
    learned = judge.judge_steps(both, stepper, name="learned cascade")
    learned["ece"] = _ece(stepper.y, stepper.p)
    agreement = judge.judge_steps(both, judge.agreement_stepper, name="agreement rule")
    return {"learned": learned, "agreement": agreement}


def latency(workdir: Path, quick: bool) -> dict[str, Any]:
    """``next_step`` with three attempts of 2 KB outputs: p50 and p99 per repeat, medians over repeats."""
    from router import Router
    from training import train_router

    sys.path.insert(0, str(ROOT))
    from tests._answers import answer_log

    out = workdir / "latency-router"
    # Nine models, as many as ZeroEval's: the acceptance model's size grows with them.
    models = {f"model-{j}": (0.5 + 0.05 * j, 0.0002 * (j + 1)) for j in range(9)}
    train_router(answer_log(300, seed=0, models=models), log_to_mlflow=False, output_dir=out)
    router = Router.load(out, strict=True)
    rng = np.random.default_rng(0)
    pool = [
        [
            (f"model-{j}", str(int(rng.integers(0, 3))), "x" * OUTPUT_CHARS)
            for j in rng.choice(9, 3, replace=False)
        ]
        for _ in range(64)
    ]
    iterations, repeats = (500, 3) if quick else (3000, 5)
    description = "Compute the value of problem 12 (hard arithmetic) " * 4
    for attempts in pool[:20]:
        router.next_step(description, attempts, tradeoff=0.7)
    p50s, p99s = [], []
    for _ in range(repeats):
        times = []
        for i in range(iterations):
            attempts = pool[i % len(pool)]
            started = time.perf_counter_ns()
            router.next_step(description, attempts, tradeoff=0.7)
            times.append((time.perf_counter_ns() - started) / 1000)
        p50s.append(float(np.percentile(times, 50)))
        p99s.append(float(np.percentile(times, 99)))
    return {"p50_us": median(p50s), "p99_us": median(p99s), "iterations": iterations, "repeats": repeats}


def run(quick: bool = False, workdir: Path | None = None, sets: tuple[str, ...] = SETS) -> dict[str, Any]:
    """The section for ``make bench``: latency always; the held-out figures unless ``quick``."""
    with tempfile.TemporaryDirectory(prefix="cascade-") as tmp:
        work = workdir or Path(tmp)
        result: dict[str, Any] = {"goals": GOALS, "latency": latency(work, quick)}
        judge = route_eval()
        if quick:
            result["held_out"] = {"skipped": "quick run: next_step latency only"}
            return result
        if judge is None:
            result["held_out"] = {"skipped": f"the judge {TOOLS} is absent"}
            return result
        try:
            from training.zeroeval import find_data_dir

            find_data_dir()
        except Exception as exc:  # InvalidInputError naming where it looked
            result["held_out"] = {"skipped": str(exc)}
            return result
        result["held_out"] = {name: held_out(judge, name, work) for name in sets}
        if set(SETS) <= set(sets):
            result["cross_family"] = {
                "gsm8k_to_math_l5": cross_family(judge, "gsm8k", "math_l5", work),
                "math_l5_to_gsm8k": cross_family(judge, "math_l5", "gsm8k", work),
            }
        return result


def _fmt(value: Any, spec: str = "+.3f") -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and not np.isfinite(value):
        return "never"
    return format(value, spec)


def cascade_md(section: dict[str, Any]) -> list[str]:
    """The markdown of the section (also used by ``make bench``)."""
    lat = section["latency"]
    lines = [
        "### Learned cascade (answers decide when to escalate)",
        "",
        f"`next_step` with three attempts of 2 KB outputs: p50 {lat['p50_us']:.0f} µs, "
        f"p99 {lat['p99_us']:.0f} µs (goal p50 <= {GOALS['p50_us']:.0f} µs; median of {lat['repeats']} "
        f"repeats of {lat['iterations']}).",
        "",
    ]
    held = section.get("held_out", {})
    if "skipped" in held:
        return [*lines, f"Held-out figures skipped: {held['skipped']}", ""]
    lines += [
        "| set | policy | gain over hull | top success | best single | cost at best single's success | ECE |",
        "|---|---|---|---|---|---|---|",
    ]
    rows = [(name, v) for name, v in held.items()] + [
        (name.replace("_to_", " → "), v) for name, v in section.get("cross_family", {}).items()
    ]
    for name, both in rows:
        for key in ("learned", "agreement"):
            r = both[key]
            share = r["cost_at_best_quality"]
            lines.append(
                f"| {name} | {r['name']} | {_fmt(r['gain_vs_zero'])} | {_fmt(r['top_quality'], '.3f')} | "
                f"{_fmt(r['best_single'], '.3f')} | {_fmt(share, '.0%')} | {_fmt(r.get('ece'), '.3f')} |"
            )
    lines += ["", "Reproduce: `python -m benchmarks.cascade` (5-fold over tasks, the judge's folds).", ""]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cascade", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="next_step latency only")
    parser.add_argument("--sets", default=",".join(SETS), help=f"comma-separated, from: {', '.join(SETS)}")
    parser.add_argument("--out-dir", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args(argv)
    sets = chosen_sets(parser, args.sets, SETS)
    started = time.perf_counter()
    result = run(args.quick, sets=sets)
    result["total_s"] = time.perf_counter() - started
    args.out_dir.mkdir(parents=True, exist_ok=True)
    write_json(args.out_dir / "cascade.json", result)
    md = "\n".join(["# Learned cascade", "", *cascade_md(result)])
    (args.out_dir / "cascade.md").write_text(md)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
