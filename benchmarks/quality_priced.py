"""Decision quality with each set's priced catalog: 5-fold cross-validation over tasks on the shared real
sets, training with the set's catalog (``benchmarks.quality_sets.set_catalog``), so that the price-consistent
cost model (``training.fit.cost_prices``) is what the learned policy decides on. ``benchmarks.quality_sets``
and ``benchmarks.holdout_sets`` train without prices (a log's own models), where that model is not used.

Per set: the learned policy's APGR and gain over the hull of fixed models over its curve, and its single
choice at each fold's calibrated default tradeoff against the hull at that cost (with its success and cost).

    python -m benchmarks.quality_priced [--sets swebench,gsm8k,math_l5] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

SETS = ("swebench", "gsm8k", "math_l5")


def measure(name: str) -> dict[str, Any]:
    from benchmarks.quality_sets import load_set, set_catalog
    from training.evaluation.crossval import cross_validate, quality_report

    started = time.perf_counter()
    frame = load_set(name)
    catalog = set_catalog(name, sorted(frame["model"].unique()))
    report = quality_report(cross_validate(frame, folds=5, catalog=catalog))
    return {
        "apgr": report["policy"]["apgr"],
        "gain_over_hull": report["policy"]["gain_over_hull"],
        "default_vs_hull": report["default"]["gain_over_hull"],
        "default_success": report["default"]["success"],
        "default_cost": report["default"]["cost"],
        "seconds": time.perf_counter() - started,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    results = {}
    for name in args.sets.split(","):
        results[name] = measure(name)
        print(name, json.dumps(results[name]), flush=True)
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
