"""Smoke checks of the benchmark harness: it runs and writes its report with the expected keys.

No assertion here is about speed (issue 7: tests never fail on speed, benchmarks report it).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from benchmarks import _report
from benchmarks._peers import litellm_unavailable
from tests._helpers import ROOT


@pytest.mark.slow
def test_quick_latency_run_writes_latest_md_and_json(tmp_path):
    env = {**os.environ, "BENCH_NO_EMBEDDING": "1"}  # the optional torch peer would take a minute
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks",
            "--quick",
            "--sections",
            "latency,ledger",
            "--out-dir",
            str(tmp_path),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads((tmp_path / "latest.json").read_text())
    assert set(data) == {"machine", "meta", "sections"}
    assert {"cpu", "cores", "python", "libraries", "commit"} <= set(data["machine"])
    routers = data["sections"]["latency"]["routers"]
    litellm = ("litellm_heuristic", "litellm_heuristic_v2")
    assert set(routers) == {"heuristic", "learned", "sklearn_pipeline", "embedding_knn", *litellm}
    measured = (
        "heuristic",
        "learned",
        "sklearn_pipeline",
        *(litellm if litellm_unavailable() is None else ()),
    )
    for name in measured:
        assert {"p50_us", "p99_us", "batch_per_s", "rss_delta_mb"} <= set(routers[name])
    assert routers["embedding_knn"]["status"] == "skipped"
    assert set(data["sections"]["latency"]["verdicts"]) >= {"p50_us", "p99_us", "batch_per_s"}
    assert data["sections"]["ledger"]["status"] in {"ok", "not available"}
    md = (tmp_path / "latest.md").read_text()
    assert "### Decision latency" in md and "learned router (Router.load)" in md and "### Ledger" in md


def test_training_table_shows_a_stopped_size_and_the_estimate():
    section = {
        "data": "synthetic",
        "timeout_s": 240.0,
        "sizes": [
            {
                "status": "ok",
                "rows": 100_000,
                "tasks": 33_333,
                "fit_s": 150.0,
                "peak_rss_mb": 700.0,
                "stages_s": {"featurizer": 40.0, "other": 110.0},
            },
            {"status": "stopped", "rows": 1_000_000, "wall_s": 240.0, "peak_rss_mb": 3000.0, "exit_code": -9},
        ],
        "verdict": {
            "met": False,
            "fit_s": "> 240",
            "estimate_s": 1500.0,
            "estimate_basis": "linear from 100,000 rows",
            "peak_gb_when_stopped": 2.9,
        },
    }
    text = "\n".join(_report.training_md(section))
    assert "| 100,000 | 33,333 | 150.0 s | 700 MB | 40.0 | 110.0 |" in text
    assert "stopped after 240 s" in text and "**missed**: not done after 240 s" in text
    assert "linear from 100,000 rows: about 1,500 s" in text


def test_update_page_replaces_only_the_marked_section(tmp_path):
    page = tmp_path / "benchmarks.md"
    page.write_text(f"intro\n{_report.PAGE_START}\nold\n{_report.PAGE_END}\noutro\n")
    _report.update_page("# Benchmark results\n\nRun today.\n\n### Latency\n\n![plot](quality.png)\n", page)
    text = page.read_text()
    assert text.startswith("intro\n") and text.endswith("outro\n") and "old" not in text
    assert "\n## Latency\n" in text and "](assets/quality.png)" in text


def test_the_docs_benchmarks_page_has_the_markers_make_bench_fills():
    text = _report.BENCHMARKS_PAGE.read_text()
    assert text.count(_report.PAGE_START) == 1 and text.count(_report.PAGE_END) == 1
    assert "python -m benchmarks --update-docs" in (ROOT / "Makefile").read_text()


def test_sets_and_holdout_sections_render_their_tables_and_skipped_sets():
    sets = {
        "folds": 3,
        "sets": {"gsm8k": {"skipped": "gsm8k.csv not found"}},
    }
    holdout = {
        "splits": 2,
        "sets": {
            "math_l5": {"splits": 2, "test_share": 1 / 3, "params": {}, "mean_gain": 0.0125,
                        "share_above": 0.5, "worst_gain": -0.004, "reference_mean_gain": -0.003,
                        "per_split": [], "seconds": 1.0},
            "gsm8k": {"skipped": "gsm8k.csv not found"},
        },
    }  # fmt: skip
    from benchmarks.holdout_sets import holdout_md
    from benchmarks.quality_sets import sets_md

    md = "\n".join([*sets_md(sets), *holdout_md(holdout)])
    assert "### Decision quality on every shared set (held-out folds)" in md
    assert "3-fold cross-validation" in md and "gsm8k.csv not found" in md
    assert "### The check on sets kept aside, replayed" in md
    assert "| math_l5 | 2 | +1.25 pts | 50% | -0.40 pts | -0.30 pts |" in md


@pytest.mark.parametrize("module", ["holdout_sets", "quality_sets"])
def test_an_unknown_set_name_is_refused_naming_the_known_ones(module, capsys):
    import importlib

    main = importlib.import_module(f"benchmarks.{module}").main
    with pytest.raises(SystemExit) as exit_info:
        main(["--sets", "gsm8k,nope"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "unknown set(s) nope" in err and "math_l5" in err


@pytest.mark.parametrize("name", ["swebench-24", "swebench-6a", "swebench-6b", "gsm8k-4", "math_l5-4a",
                                  "math_l5-4b"])  # fmt: skip
def test_each_model_set_of_the_replay_holds_exactly_its_models(name):
    from benchmarks.holdout_sets import MODEL_SETS, load_replay_set
    from router._exceptions import RouterError

    try:
        frame = load_replay_set(name)
    except (FileNotFoundError, RouterError) as exc:
        pytest.skip(f"shared data absent (it never lives in the repository): {exc}")
    shared, models = MODEL_SETS[name]
    expected = 24 if models is None else len(models)
    assert frame["model"].nunique() == expected
    assert models is None or set(frame["model"]) == set(models)
    # Every task was tried by every model of the set: the replay compares against the test part's own hull.
    assert (frame.groupby("task_id")["model"].nunique() == expected).all()
    assert frame["metadata"].notna().all() if shared == "swebench" else "metadata" not in frame.columns


def test_auc_ceiling_credits_a_context_that_carries_difficulty_and_not_one_that_does_not():
    import numpy as np

    from benchmarks.auc_ceiling import measure
    from training.synthetic import generate_outcomes

    frame = generate_outcomes(300, seed=3)
    mean = frame.groupby("task_id")["success"].mean()
    rng = np.random.default_rng(0)
    # "informative": the task's own difficulty, bucketed (a context that knows it); "noise": a coin.
    bucket = {t: f"b{int(v * 3.999)}" for t, v in mean.items()}
    coin = {t: f"c{rng.integers(4)}" for t in mean.index}
    frame["metadata"] = [json.dumps({"good": bucket[t], "noise": coin[t]}) for t in frame["task_id"]]
    good = measure(frame, "good", seeds=1)["rows"]
    noise = measure(frame, "noise", seeds=1)["rows"]
    assert good["good only"]["median_auc_mean"] > 0.65
    assert noise["noise only"]["median_auc_mean"] < good["good only"]["median_auc_mean"] - 0.1
    others = good["the other models' outcomes on the task (not known at decision time)"]
    assert 0.5 < others["median_auc_mean"] <= 1.0


def test_transfer_section_renders_transfers_skips_and_in_distribution():
    from benchmarks.transfer import transfer_md

    result = {
        "transfers": {
            "gsm8k -> math_l5": {
                "train_tasks": 1319,
                "test_tasks": 721,
                "learned_vs_fixed": -0.004,
                "learned_vs_test_hull": -0.004,
                "fixed_vs_test_hull": 0.0,
                "share_train_best_at_t1": 1.0,
            },
            "swebench by repository": {"skipped": "no shared data"},
        },
        "in_distribution": {
            "gsm8k": {"apgr": 0.75, "gain_vs_zero": -0.012},
            "math_l5": {"skipped": "absent"},
        },
    }
    md = "\n".join(transfer_md(result))
    assert "| gsm8k -> math_l5 | 1319 -> 721 | -0.004 | -0.004 | +0.000 | 1.00 |" in md
    assert "skipped: no shared data" in md and "| gsm8k | 0.750 | -0.012 |" in md
