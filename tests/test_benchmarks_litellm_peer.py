"""LiteLLM's complexity router as a benchmark peer (``benchmarks._peers``): it runs offline, returns one of
the set's models per text, and its tuned tier table is fitted on training folds only."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import numpy as np
import pytest

from benchmarks._peers import (
    LITELLM_TIERS,
    LiteLLMComplexityPeer,
    held_out_tables,
    litellm_unavailable,
    tiers_by_cost,
    tune_tiers,
)
from tests._helpers import ROOT

needs_litellm = pytest.mark.skipif(
    litellm_unavailable() is not None, reason=f"LiteLLM peer unavailable: {litellm_unavailable()}"
)
MODELS = ["nano", "mini", "mid", "large", "opus"]
TEXTS = [
    "What is the capital of France?",
    "Fix the Django ORM bug where QuerySet.filter raises TypeError on a related lookup; first write a "
    "failing test, then implement the fix in the query compiler.",
    "Prove step by step that there are infinitely many primes, then derive a bound on the n-th prime.",
    "",
]

# Any connection attempt fails loudly: the peer must classify with nothing but the installed package.
_OFFLINE_SCRIPT = """
import json, socket, sys
def refuse(*args, **kwargs):
    raise RuntimeError(f"network access attempted: {args!r}")
socket.socket.connect = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse
from benchmarks._peers import LiteLLMComplexityPeer
texts, tiers = json.loads(sys.argv[1]), json.loads(sys.argv[2])
out = {}
for kind in ("heuristic", "heuristic_v2"):
    peer = LiteLLMComplexityPeer(kind, tiers)
    out[kind] = {"tiers": peer.tiers_of(texts), "models": peer.route_many(texts)}
print(json.dumps(out))
"""


@needs_litellm
def test_peer_classifies_offline_and_returns_one_of_the_models():
    tiers = tiers_by_cost(MODELS, [0.001, 0.01, 0.1, 0.3, 1.0])
    proc = subprocess.run(
        [sys.executable, "-c", _OFFLINE_SCRIPT, json.dumps(TEXTS), json.dumps(tiers)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.splitlines()[-1])
    for kind in ("heuristic", "heuristic_v2"):
        assert len(out[kind]["models"]) == len(TEXTS)
        assert set(out[kind]["tiers"]) <= set(LITELLM_TIERS)
        # The model is the one the table names for the text's tier.
        assert out[kind]["models"] == [tiers[t] for t in out[kind]["tiers"]]
    # The keyword scorer tells a one-line question from a multi-step coding task.
    assert out["heuristic"]["tiers"][0] == "SIMPLE" and out["heuristic"]["tiers"][1] != "SIMPLE"


@needs_litellm
def test_local_classification_is_what_aclassify_decides():
    # The peer calls the synchronous body of LiteLLM's public async classifier; the two must agree.
    tiers = tiers_by_cost(MODELS, [1, 2, 3, 4, 5])
    for kind in ("heuristic", "heuristic_v2"):
        peer = LiteLLMComplexityPeer(kind, tiers)
        public = [asyncio.run(peer._router.aclassify(text)).tier.value for text in TEXTS]
        assert peer.tiers_of(TEXTS) == public


@needs_litellm
def test_unknown_classifier_type_is_refused():
    with pytest.raises(ValueError, match="classifier_type must be one of"):
        LiteLLMComplexityPeer("llm", tiers_by_cost(MODELS, [1, 2, 3, 4, 5]))


def test_tiers_by_cost_runs_from_cheapest_to_dearest():
    table = tiers_by_cost(MODELS, [0.5, 0.01, 0.2, 0.05, 3.0])  # ranked: mini, large, mid, nano, opus
    assert table == {"SIMPLE": "mini", "MEDIUM": "large", "COMPLEX": "nano", "REASONING": "opus"}
    assert set(tiers_by_cost(["a", "b"], [2.0, 1.0]).values()) == {"a", "b"}
    with pytest.raises(ValueError, match="one mean cost per model"):
        tiers_by_cost(MODELS, [1.0])


def _tiered_outcomes(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """SIMPLE tasks: the cheap model succeeds; REASONING: only the dear one; others: the middle one."""
    rng = np.random.default_rng(seed)
    tiers = rng.choice(np.array(LITELLM_TIERS), n)
    success = np.zeros((n, 3))
    success[tiers == "SIMPLE"] = 1.0
    success[np.isin(tiers, ["MEDIUM", "COMPLEX"]), 1:] = 1.0
    success[tiers == "REASONING", 2] = 1.0
    cost = np.tile([0.01, 0.1, 1.0], (n, 1))
    return tiers, success, cost


def test_tuned_table_picks_the_best_model_per_tier_at_the_exchange_rate():
    tiers, success, cost = _tiered_outcomes(200)
    models = ["cheap", "middle", "dear"]
    assert tune_tiers(tiers, success, cost, models, mu=0.5) == {
        "SIMPLE": "cheap",
        "MEDIUM": "middle",
        "COMPLEX": "middle",
        "REASONING": "dear",
    }
    # At an exchange rate where a success is not worth a dollar, the dear model is never tuned in.
    assert "dear" not in tune_tiers(tiers, success, cost, models, mu=2.0).values()
    # A tier no training task fell in gets the choice over every training task.
    only_simple = tiers == "SIMPLE"
    table = tune_tiers(tiers[only_simple], success[only_simple], cost[only_simple], models, mu=0.5)
    assert table == dict.fromkeys(LITELLM_TIERS, "cheap")


def test_tuned_table_never_sees_the_held_out_fold():
    tiers, success, cost = _tiered_outcomes(300, seed=1)
    models = ["cheap", "middle", "dear"]
    fold_of = np.arange(300) % 5
    mu = dict.fromkeys(range(5), 0.1)
    before = held_out_tables(tiers, success, cost, models, fold_of, mu)
    # Rewrite fold 0's outcomes so that, had they been seen, the dear model would win everywhere.
    flipped = success.copy()
    flipped[fold_of == 0] = [0.0, 0.0, 1.0]
    after = held_out_tables(tiers, flipped, cost, models, fold_of, mu)
    assert np.array_equal(before[fold_of == 0], after[fold_of == 0])  # fold 0 is routed as before
    assert not np.array_equal(before[fold_of != 0], after[fold_of != 0])  # the others did learn from it
    # By cost needs no outcomes at all: only the training tasks' mean costs.
    by_cost = held_out_tables(tiers, success, cost, models, fold_of)
    assert np.array_equal(by_cost, held_out_tables(tiers, flipped, cost, models, fold_of))
    assert {models[j] for j in by_cost[tiers == "SIMPLE"]} == {"cheap"}


@needs_litellm
def test_peer_routes_real_descriptions_to_the_sets_models():
    from training.zeroeval import find_data_dir, load_zeroeval

    try:
        find_data_dir()
    except Exception as exc:  # the shared data lives outside the repository
        pytest.skip(f"ZeroEval data absent: {exc}")
    frame = load_zeroeval("math_l5").frame
    models = sorted(frame["model"].unique())
    texts = frame["description"].drop_duplicates().head(25).tolist()
    for kind in ("heuristic", "heuristic_v2"):
        chosen = LiteLLMComplexityPeer(kind, tiers_by_cost(models, list(range(len(models))))).route_many(
            texts
        )
        assert len(chosen) == len(texts) and set(chosen) <= set(models)


def test_without_litellm_the_rows_say_why(monkeypatch):
    import importlib.util

    from benchmarks import _set_rows, quality_sets

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "litellm" else real_find_spec(name, *a)
    )
    assert "pip install '.[bench-peers]'" in (litellm_unavailable() or "")
    rows = _set_rows.litellm_rows(None, np.ones(3, bool), [], MODELS, None, None, None, print)
    assert len(rows) == 4 and all("bench-peers" in r["status"] for r in rows)
    result = {"tasks": 3, "models": 5, "routers": rows}
    table = quality_sets.router_table("gsm8k", result)
    assert "ZeroEval GSM8K" in table and table.count("| LiteLLM complexity router") == 4
    assert "litellm is not installed" in table
