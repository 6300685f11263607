"""The traffic a router was trained on, as binned distributions, and the same binning for served traffic.

Training stores :func:`traffic_reference` in the artifact's metadata (``traffic_reference``); the analyzer
bins a window's decisions with :func:`traffic_features` and compares. Both sides use the estimator's score
of the description alone (:func:`description_score`), task type and critical flag, the description's
length, and its leading term: the first of the training data's most common words (those in at most half
of its tasks) that it contains. The heuristic and the learned router are measured alike, files or not.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from router.estimation.estimator import ComplexityEstimator, FileFacts

REFERENCE_VERSION = 1
#: Lower edges of the score bins (0–100) and of the description-length bins (characters, doubling).
SCORE_EDGES = (0, 10, 20, 30, 40, 50, 60, 70, 80, 90)
LENGTH_EDGES = (0, 25, 50, 100, 200, 400, 800, 1600, 3200)
FEATURES = ("score", "level", "task_type", "length", "top_term")
MAX_REFERENCE_TASKS = 20_000  # tasks the reference is counted on (a sample past it)
TOP_TERMS = 30
#: Words in more than this share of the training tasks are not candidates for the top terms.
MAX_TERM_SHARE = 0.5
NO_TERM = "(none)"
#: Words of at least four letters, digits or ``_``, from the first 1,000 characters; at most 64 distinct.
#: Bounded so that a 10 MB description costs the writer thread no more than a short one.
_WORD = re.compile(r"[a-z0-9_]{4,}")
TERM_CHARS = 1_000
MAX_TERMS = 64


def _bin(value: float, edges: tuple[int, ...]) -> str:
    return str(edges[max(0, bisect.bisect_right(edges, value) - 1)])


#: Factors that come from the files and the context rather than the description: left out of the drift
#: score, because training knows only how many files a task had, and serving may count lines on disk.
NOT_DESCRIPTION = frozenset({"file_count", "line_count", "context_size"})


def description_score(factor_points: Mapping[str, float]) -> float:
    """The estimator's score from the description alone (its factor points, capped at 100)."""
    total = sum(v for k, v in factor_points.items() if k not in NOT_DESCRIPTION)
    return min(100.0, max(0.0, total))


def terms_of(description: str) -> list[str]:
    """The description's distinct words, in order of appearance (bounded, see ``_WORD``)."""
    return list(dict.fromkeys(_WORD.findall(description[:TERM_CHARS].lower())))[:MAX_TERMS]


def top_term(terms: Iterable[str], top: Sequence[str]) -> str:
    """The first of ``top`` (most common first) among ``terms``, or ``(none)``."""
    present = set(terms)
    return next((t for t in top if t in present), NO_TERM)


def level_of(score: float, is_critical: bool, moderate: float = 25, complex_: float = 50) -> str:
    """The level rule on the estimator's score, with the default thresholds, for drift only."""
    if is_critical:
        return "critical"
    return "simple" if score < moderate else "moderate" if score < complex_ else "complex"


def traffic_features(
    score: float, task_type: str, is_critical: bool, chars: int, leading_term: str
) -> dict[str, str]:
    """The category of each drift feature for one task."""
    return {
        "score": _bin(score, SCORE_EDGES),
        "level": level_of(score, is_critical),
        "task_type": task_type,
        "length": _bin(chars, LENGTH_EDGES),
        "top_term": leading_term,
    }


def count_features(rows: Iterable[dict[str, str]]) -> dict[str, dict[str, int]]:
    counts: dict[str, Counter[str]] = {name: Counter() for name in FEATURES}
    for row in rows:
        for name in FEATURES:
            counts[name][row[name]] += 1
    return {name: dict(sorted(c.items())) for name, c in counts.items()}


def traffic_reference(
    descriptions: list[str],
    estimator: ComplexityEstimator,
    top_terms: int = TOP_TERMS,
    max_tasks: int = MAX_REFERENCE_TASKS,
) -> dict[str, Any]:
    """The reference a trained artifact stores: counts per category of each feature, and the top terms.

    Past ``max_tasks`` descriptions, a fixed random sample of them: the counts are compared as shares, which
    20,000 tasks pin down to a fraction of a point, and reading every task of a million-row log one by one
    took a fifth of its training time.
    """
    if len(descriptions) > max_tasks:
        import numpy as np

        keep = np.sort(np.random.default_rng(0).choice(len(descriptions), max_tasks, replace=False))
        descriptions = [descriptions[i] for i in keep]
    no_files = FileFacts(0, 0)
    terms = [terms_of(text) for text in descriptions]
    frequency: Counter[str] = Counter(t for words in terms for t in words)
    # A word in most tasks ("file", "please") would lead nearly every task and tell nothing apart.
    common = len(descriptions) * MAX_TERM_SHARE
    top = [t for t, n in frequency.most_common() if n <= common][:top_terms]
    rows = []
    for text, words in zip(descriptions, terms, strict=True):
        complexity = estimator.estimate_text(text.lower(), no_files, 0)
        score = description_score(complexity.factor_points)
        rows.append(
            traffic_features(
                score, complexity.task_type.value, complexity.is_critical, len(text), top_term(words, top)
            )
        )
    return {
        "version": REFERENCE_VERSION,
        "tasks": len(descriptions),
        "counts": count_features(rows),
        # [word, tasks with it] for the most common words, most common first: the order top_term follows
        # (a list, because the artifact's JSON sorts object keys).
        "top_terms": [[t, frequency[t]] for t in top],
    }


def reference_of(meta: Mapping[str, Any]) -> dict[str, Any] | None:
    """The artifact's reference, or None for artifacts trained before it was stored."""
    ref = meta.get("traffic_reference")
    if not isinstance(ref, dict) or ref.get("version") != REFERENCE_VERSION:
        return None
    return ref
