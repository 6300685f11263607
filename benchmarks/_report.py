"""The results as a Markdown table (``latest.md``), the raw figures (``latest.json``) and the docs' copy.

Every number in the Markdown comes from the JSON of the same run; the section of ``docs/benchmarks.md``
between the ``bench:start`` and ``bench:end`` markers is replaced by the tables of a run with
``--update-docs`` (what ``make bench`` does).
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from benchmarks._util import ROOT, write_json

# The docs site's benchmarks page holds the latest full run between these markers (``make bench`` fills it);
# the plot is copied beside it when the site is built (docs/_gen/reference.py).
BENCHMARKS_PAGE = ROOT / "docs" / "benchmarks.md"
PAGE_START = "<!-- bench:start -->"
PAGE_END = "<!-- bench:end -->"
PLOT_LINK = "assets/quality.png"


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not math.isnan(value) else None


def us(value: Any) -> str:
    v = _num(value)
    if v is None:
        return "—"
    return f"{v:,.0f} µs" if v < 10_000 else f"{v / 1000:,.0f} ms"


def rate(value: Any) -> str:
    v = _num(value)
    return "—" if v is None else (f"{v:,.0f}/s" if v >= 10 else f"{v:,.1f}/s")


def money(value: Any) -> str:
    v = _num(value)
    return "—" if v is None else f"${v:.3f}"


def pct(value: Any) -> str:
    v = _num(value)
    return "—" if v is None else f"{100 * v:.1f}%"


def points(value: Any) -> str:
    v = _num(value)
    return "—" if v is None else f"{100 * v:+.2f}"


def ratio(value: Any) -> str:
    v = _num(value)
    return "—" if v is None else f"{v:,.3f}"


def met(flag: Any) -> str:
    return {True: "met", False: "**missed**"}.get(flag, "not measured")


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


# -- sections --------------------------------------------------------------------------------------------
def machine_md(machine: dict[str, Any], meta: dict[str, Any]) -> list[str]:
    libs = ", ".join(f"{k} {v}" for k, v in machine["libraries"].items())
    return [
        f"Run {machine['date_utc']}, {'quick' if meta['quick'] else 'full'} mode, "
        f"{meta['total_s']:.0f} s in all, "
        f"commit `{machine['commit']}`.",
        "",
        f"Machine: {machine['cpu']}, {machine['cores']} cores, {machine['ram_gb']} GB RAM, {machine['os']}, "
        f"Python {machine['python']}; {libs}. Load average before the run: {meta['load_before']}, after: "
        f"{meta['load_after']}. The machine is a shared 2-core VM: other work runs beside the benchmark, "
        "so figures move between runs (here decision latencies by 10-30%, training times by up to 3x); "
        "ratios come from the same run.",
    ]


def latency_md(section: dict[str, Any]) -> list[str]:
    setup = section["setup"]
    rows = []
    for r in section["routers"].values():
        if "p50_us" not in r:
            rows.append([r["label"], r.get("status", "failed"), "", "", "", ""])
            continue
        rows.append(
            [
                r["label"],
                us(r["p50_us"]),
                us(r["p99_us"]),
                rate(r["batch_per_s"]),
                f"{r['rss_delta_mb']:,.1f} MB" if r["rss_delta_mb"] < 10 else f"{r['rss_delta_mb']:,.0f} MB",
                f"{r['iterations']:,} x {r['repeats']}",
            ]
        )
    out = [
        "### Decision latency and throughput (2 KB task description)",
        "",
        f"Routers trained or fitted on {setup['data']}; descriptions are {256} distinct real "
        "problem statements "
        "cut or padded to 2 KB. p50 and p99 of single `route` calls and `route_many` decisions per second, "
        "medians over the repeats; memory is the resident-set growth from loading the router (its own "
        "process, after `import router`).",
        "",
        *table(["router", "p50", "p99", "batch", "memory added", "calls x repeats"], rows),
        "",
    ]
    v = section.get("verdicts") or {}
    if v:
        goal_rows = [
            ["learned p50", us(v["p50_us"]["value"]), "<= 250 µs", met(v["p50_us"]["met"])],
            ["learned p99", us(v["p99_us"]["value"]), "<= 1 ms", met(v["p99_us"]["met"])],
            ["learned batch", rate(v["batch_per_s"]["value"]), ">= 20,000/s", met(v["batch_per_s"]["met"])],
        ]
        for key, label, goal in (
            ("speedup_vs_pipeline", "faster than the plain pipeline (p50)", ">= 2x"),
            ("speedup_vs_embedding", "faster than the embedding kNN (p50)", ">= 100x"),
        ):
            value = v[key]["value"]
            shown = "—" if value is None else f"{value:,.1f}x (batch {v[key]['batch_value']:,.1f}x)"
            goal_rows.append(
                [
                    label,
                    shown,
                    goal,
                    met(v[key]["met"]) if value is not None else v[key].get("reason", "not measured"),
                ]
            )
        out += [*table(["goal", "measured", "target", ""], goal_rows), ""]
    return out


def quality_md(section: dict[str, Any]) -> list[str]:
    if section.get("status") != "ok":
        return ["### Decision quality", "", f"Skipped: {section.get('reason', section.get('error'))}", ""]
    rows = []
    best = max(section["singles"].values(), key=lambda p: p["success"])
    for name, p in section["singles"].items():
        at_best = money(p["cost"]) if p["success"] >= best["success"] else "—"
        rows.append([f"single: {name}", pct(p["success"]), money(p["cost"]), "", "", at_best])

    def curve(label: str, metrics: dict[str, Any], point: dict[str, Any] | None) -> list[str]:
        return [
            label,
            pct(point["success"]) if point else "—",
            money(point["cost"]) if point else "—",
            ratio(metrics.get("apgr")),
            points(metrics.get("gain_over_hull")),
            money(metrics.get("cost_at_best_quality")),
        ]

    mix = section["random_mix"]
    rows.append(curve(f"random mix of {mix['between'][0]} and {mix['between'][1]}", mix, None))
    rows.append(curve("hull of the single models (best fixed mix)", section["hull"], None))
    heuristic = section["heuristic"]
    rows.append(
        curve(
            "heuristic router (default; curve over 11 tradeoffs)", heuristic, heuristic["points"]["default"]
        )
    )
    learned = section["learned_policy"]
    rows.append(
        curve(
            f"**learned policy** (calibrated tradeoff, median {learned['default']['tradeoff_median']:.2f})",
            learned,
            learned["default"],
        )
    )
    knn = section.get("embedding_knn", {})
    if knn.get("status") == "ok":
        rows.append(curve("embedding kNN peer (same tradeoffs)", knn, knn["default"]))
    else:
        rows.append(["embedding kNN peer", knn.get("status", "not measured"), "", "", "", ""])
    cascade = section["learned_cascade"]
    rows.append(curve("**learned cascade** (calibrated tradeoff)", cascade, cascade["default"]))
    fixed = section["fixed_cascade"]
    rows.append(
        [
            "fixed cascade " + " -> ".join(fixed["order"]),
            pct(fixed["success"]),
            money(fixed["cost"]),
            "",
            "",
            money(fixed["cost"]) if fixed["success"] >= best["success"] else "—",
        ]
    )
    oracle = section["oracle"]
    rows.append(
        [
            "per-task oracle",
            pct(oracle["success"]),
            money(oracle["cost"]),
            ratio(oracle.get("apgr")),
            points(oracle.get("gain_over_hull")),
            money(oracle["cost"]),
        ]
    )
    calibration = [
        [m, f"{v['ece']:.3f}", f"{v['auc']:.3f}", f"{v['brier']:.3f}"]
        for m, v in section["calibration"].items()
    ]
    return [
        "### Decision quality (SWE-bench Verified, held-out folds)",
        "",
        f"{section['tasks']} tasks, {section['folds']}-fold cross-validation over tasks: every prediction "
        "comes from a router that did not see the task; costs and outcomes are the real ones of the "
        "bash-only scaffold. Success and cost are at each router's operating point (the learned router at "
        "its fold's calibrated tradeoff: the least cost keeping 95% of the best model's success on its "
        "training data). APGR and gain over the hull (in success points) are over the whole tradeoff curve, "
        "mixing allowed, from the cheapest model's cost to the best model's; the last column is the least "
        "cost at which the curve reaches the best single model's success.",
        "",
        *table(
            ["router", "resolved", "cost/task", "APGR", "gain over hull", "cost at best single's success"],
            rows,
        ),
        "",
        "Calibration of the learned P(success) on held-out folds (goal: ECE <= 0.05 per model):",
        "",
        *table(["model", "ECE", "AUC", "Brier"], calibration),
        "",
        "![cost-quality plot](quality.png)",
        "",
    ]


def ledger_md(section: dict[str, Any]) -> list[str]:
    out = ["### Ledger", ""]
    if section.get("status") != "ok":
        return [*out, f"Not available: {section.get('reason', section.get('error', ''))}", ""]
    rows = []
    for r in section["single"]:
        if "inserts_per_second" not in r:
            rows.append([f"{r.get('rows', 0):,} entries, one process", r.get("status", "failed"), "—"])
            continue
        summary = r.get("summary_seconds", {})
        summary_all = summary.get("all") if isinstance(summary, dict) else summary
        rows.append(
            [
                f"{r['rows']:,} entries, one process, batches of {r.get('batch', '?')} "
                f"({r.get('backend', '')})",
                rate(r["inserts_per_second"]),
                us(1e6 * summary_all) if summary_all is not None else "—",
            ]
        )
    procs = section.get("processes") or {}
    if "inserts_per_second" in procs:
        rows.append(
            [
                f"{procs['rows']:,} entries, {procs.get('processes', 4)} processes",
                rate(procs["inserts_per_second"]),
                "—",
            ]
        )
    else:
        rows.append(["4 processes", procs.get("status", "not available"), procs.get("reason", "")])
    return [*out, *table(["measure", "inserts", "summary over all entries"], rows), ""]


def telemetry_md(section: dict[str, Any]) -> list[str]:
    lat, out, goal = section["latency"], section["throughput"], section["goals"]["added_p50_us"]
    added = lat["added_p50_us"]
    rows = [
        [f"route p50 without / with a collector ({lat['calls']:,} calls x {lat['repeats']})",
         f"{lat['route_p50_us_without']:.1f} / {lat['route_p50_us_with']:.1f} µs", "", ""],
        ["added decision latency (p50)", f"{added:+.1f} µs", f"<= {goal:g} µs", met(added <= goal)],
        ["record_decision alone (p50)", f"{lat['record_decision_p50_us']:.2f} µs", "", ""],
        [f"events written ({out['backend']}, {out['events']:,} events, one thread)",
         rate(out["written_per_s"]), "", ""],
    ]  # fmt: skip
    return ["### Telemetry collector", "", *table(["measure", "value", "goal", ""], rows), ""]


def training_md(section: dict[str, Any]) -> list[str]:
    stage_names: list[str] = []
    for r in section["sizes"]:
        for name in r.get("stages_s", {}):
            if name not in stage_names:
                stage_names.append(name)
    rows = []
    for r in section["sizes"]:
        if r["status"] != "ok":
            rows.append(
                [
                    f"{r['rows']:,}",
                    "",
                    f"{r['status']} after {r['wall_s']:.0f} s",
                    f"{r['peak_rss_mb']:,.0f} MB (when stopped)",
                    *["" for _ in stage_names],
                ]
            )
            continue
        stages = [f"{r['stages_s'].get(n, 0):.1f}" for n in stage_names]
        rows.append(
            [
                f"{r['rows']:,}",
                f"{r['tasks']:,}",
                f"{r['fit_s']:.1f} s",
                f"{r['peak_rss_mb']:,.0f} MB",
                *stages,
            ]
        )
    v = section["verdict"]
    if v.get("met") is None:
        line = f"Goal at 1M rows (<= 120 s, <= 4 GB): not measured ({v.get('reason')})."
    elif "estimate_s" in v:
        line = (
            f"Goal at 1M rows (<= 120 s, <= 4 GB): **missed**: not done after {v['fit_s'].lstrip('> ')} s, "
            f"{v['peak_gb_when_stopped']:.1f} GB in use when stopped"
        )
        if "growth_exponent" in v:
            line += (
                f"; fit time grew as rows^{v['growth_exponent']:.2f} between the two largest finished sizes"
            )
        if v.get("estimate_s"):
            line += f"; {v['estimate_basis']}: about {v['estimate_s']:,.0f} s"
        line += "."
    else:
        line = (
            f"Goal at 1M rows (<= 120 s, <= 4 GB): {met(v['met'])}: {v['fit_s']:.0f} s, "
            f"{v['peak_gb']:.1f} GB."
        )
    return [
        "### Training scale (synthetic outcomes)",
        "",
        f"`train_router` on {section['data']}: the held-out fit and evaluation, then the final fit on "
        "every task. Each size in its own process (peak memory is that process's, data included); stage "
        "times in seconds: featurizer = heuristic estimate and terms of every task; calibration folds = "
        "out-of-fold LogisticRegression and Ridge fits for Platt scaling and the tradeoff; final LR fits = "
        "per-model LogisticRegression on all rows; cascade evaluation = the held-out cascade curve; other = "
        "task matrix, final Ridge fits, tradeoff calibration, saving.",
        "",
        *table(["rows", "tasks", "fit", "peak memory", *stage_names], rows),
        "",
        line,
        "",
    ]


def ope_md(section: dict[str, Any]) -> list[str]:
    """Off-policy evaluation: coverage, bias, RMSE and width against log size; the gate; the timing."""
    lines = ["### Off-policy evaluation", ""]
    study = section.get("study")
    if study:
        lines += [
            f"Partial logs drawn from {study['world']}: the heuristic router logs, exploring with "
            "probability epsilon; the judged policy is the heuristic at tradeoff 0.7, its true success known "
            "from the full information. Per cell, over the logs: coverage of the 95% interval, bias and RMSE "
            "of the success estimate, mean interval width (DR / IPS / SNIPS).",
            "",
        ]
        rows = []
        for c in study["cells"]:

            def three(key: str, fmt: Any, c: dict[str, Any] = c) -> str:
                return " / ".join(fmt(c[key][e]) for e in ("dr", "ips", "snips"))

            signed = three("bias", lambda v: f"{v:+.4f}")
            rows.append([f"{c['epsilon']:g}", f"{c['size']:,}", str(c["logs"]), three("coverage", ratio),
                         signed, three("rmse", ratio), three("width", ratio)])  # fmt: skip
        lines += [*table(["epsilon", "log size", "logs", "coverage", "bias", "RMSE", "width"], rows), ""]
        gate = study["gate"]
        lines += [
            f"Promotion gate (DR paired difference, one-sided 95% lower bound >= 0) on logs of 2,000 tasks "
            f"logged by the champion: a candidate {100 * gate['gain']:.1f} points better at equal cost "
            f"({gate['swap']} on some tasks, cost gap ${gate['cost_gap']:+.4f}) against the reverse "
            "(goals: promotes the better >= 80%, the worse <= 5%).",
            "",
            *table(
                ["epsilon", "promotes the better", "promotes the worse", "logs"],
                [
                    [f"{r['epsilon']:g}", pct(r["power"]), pct(r["size"]), str(r["logs"])]
                    for r in gate["rows"]
                ],
            ),
            "",
        ]
    by_size = section.get("gate")
    if by_size:
        lines += [
            f"Promotion gate against log size ({by_size['world']}; the candidate "
            f"{100 * by_size['gain']:.1f} points better at equal cost, {by_size['swap']} on some tasks, and "
            "the reverse; logs drawn by the champion exploring with probability epsilon).",
            "",
            *table(
                [
                    "tasks",
                    "epsilon",
                    "promotes the better",
                    "promotes the worse",
                    "logs",
                    "seen with 80% power (gate's read-out, median)",
                    "tasks a 3-point gain needs (read-out)",
                ],
                [
                    [
                        f"{r['tasks']:,}",
                        f"{r['epsilon']:g}",
                        pct(r["power"]),
                        pct(r["size"]),
                        str(r["logs"]),
                        f"{r['detectable']:.3f}" if "detectable" in r else "",
                        f"{r['tasks_for_3_points']:,}" if "tasks_for_3_points" in r else "",
                    ]
                    for r in by_size["rows"]
                ],
            ),
            "",
        ]
    scale = section.get("scale")
    if scale:
        stages = ", ".join(f"{k} {v:.1f} s" for k, v in scale["stages"].items())
        lines += [
            f"Estimating one learned router by DR on a {scale['rows']:,}-row partial log: "
            f"{scale['total_s']:.0f} s ({stages}); goal <= {scale['goal_s']:.0f} s: {met(scale['met'])}.",
            "",
        ]
    return lines


def markdown(results: dict[str, Any]) -> str:
    lines = ["# Benchmark results", "", *machine_md(results["machine"], results["meta"]), ""]
    from benchmarks.batch import batch_md
    from benchmarks.cascade import cascade_md
    from benchmarks.holdout_sets import holdout_md
    from benchmarks.install import install_md
    from benchmarks.quality_sets import sets_md
    from benchmarks.transfer import transfer_md

    renderers = {
        "latency": latency_md,
        "cascade": cascade_md,
        "batch": batch_md,
        "quality": quality_md,
        "sets": sets_md,
        "holdout": holdout_md,
        "transfer": transfer_md,
        "ledger": ledger_md,
        "training": training_md,
        "telemetry": telemetry_md,
        "ope": ope_md,
        "install": install_md,
    }
    for name, render in renderers.items():
        section = results["sections"].get(name)
        if section is None:
            continue
        if section.get("status") == "error":
            lines += [f"### {name}", "", f"Failed: `{section['error']}`", ""]
            continue
        lines += render(section)
    lines += ["Reproduce: `make bench` (full, about 20 minutes on 2 cores) or `make bench-quick`.", ""]
    return "\n".join(lines)


def write(results: dict[str, Any], out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json(out_dir / "latest.json", results)
    md = out_dir / "latest.md"
    md.write_text(markdown(results))
    return md


def update_page(md_text: str, page: Path = BENCHMARKS_PAGE) -> None:
    """Put the run's tables (without the title line) between the benchmarks page's markers."""
    body = md_text.split("\n", 2)[2].replace("](quality.png)", f"]({PLOT_LINK})")
    body = re.sub(r"^### ", "## ", body, flags=re.MULTILINE)
    text = page.read_text()
    if PAGE_START not in text or PAGE_END not in text:
        raise ValueError(f"{page} has no {PAGE_START} ... {PAGE_END} section to fill")
    head, rest = text.split(PAGE_START, 1)
    _, tail = rest.split(PAGE_END, 1)
    page.write_text(f"{head}{PAGE_START}\n{body.strip()}\n{PAGE_END}{tail}")
