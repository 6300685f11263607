"""The heuristic estimate of a whole batch as arrays: ``ComplexityEstimator.estimate_text`` without a loop.

Every number is computed as the per-task estimate computes it (same operations in the same order on the
same float64 values), so a batch's scores, levels, types and factor points equal the per-task ones exactly;
``records()`` builds the per-task ``TaskComplexity`` records, with their reasons, from the same keyword hits
when a caller needs them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from router._types import ComplexityLevel, TaskComplexity, TaskType, construct
from router.estimation.batch_keywords import KeywordHits
from router.estimation.config import EstimatorConfig, Steps
from router.estimation.estimator import _FLAG_FACTORS, FACTORS, ComplexityEstimator
from router.estimation.text_batch import TextBatch

LEVELS = tuple(ComplexityLevel)  # level codes index this
_STEP_FACTORS = ("file_count", "line_count", "context_size")
TASK_TYPES = tuple(TaskType)  # task type codes index this


@dataclass(frozen=True, slots=True)
class BatchComplexity:
    """The heuristic estimate of every task of a batch, one array per field (rows are tasks)."""

    score: np.ndarray  # float64
    level: np.ndarray  # int64 index into LEVELS
    task_type: np.ndarray  # int64 index into TASK_TYPES
    factor_points: np.ndarray  # float64 (tasks, len(FACTORS)), FACTORS order
    is_critical: np.ndarray  # bool
    estimated_tokens: np.ndarray  # int64
    file_count: np.ndarray  # int64
    line_count: np.ndarray  # int64
    hits: KeywordHits
    lengths: np.ndarray  # int64 characters per text
    context_chars: np.ndarray  # int64

    def records(self, estimator: ComplexityEstimator) -> list[TaskComplexity]:
        """The per-task records ``estimate_text`` gives (reasons included), from the batch's keyword hits."""
        return [construct(TaskComplexity, values) for values in self.record_values(estimator)]

    def record_values(self, estimator: ComplexityEstimator) -> list[dict[str, Any]]:
        """The fields of each task's ``TaskComplexity``: what ``ComplexityEstimator.from_hits`` computes (the
        same parts in the same order, so the same reasons and sums), written out for a batch without a
        ``ScoreContribution`` per part. ``tests/learned/test_batch_features.py`` holds both equal."""
        cfg = estimator.config
        chars_per_token = cfg.context_size.chars_per_token
        recommend = estimator._recommend
        complex_points = estimator._complex_points
        flag_parts = [(name, getattr(cfg, name).points) for name in _FLAG_FACTORS]
        critical_points, complex_cap = cfg.critical.points, cfg.complex_keywords.cap
        out = []
        # The step factors' points as the batch computed them (the same floats as _step_points).
        steps = self.factor_points[:, [FACTORS.index(f) for f in _STEP_FACTORS]].tolist()
        for hits, level, kind, tokens, count, lines, context, step in zip(
            self.hits.as_dicts(),
            self.level.tolist(),
            self.task_type.tolist(),
            self.estimated_tokens.tolist(),
            self.file_count.tolist(),
            self.line_count.tolist(),
            self.context_chars.tolist(),
            steps,
            strict=True,
        ):
            parts: list[tuple[str, float, str]] = []
            critical = hits["critical"]
            if critical:
                parts.append(("critical", critical_points, f"critical pattern '{critical[0]}'"))
            found = hits["complex_keywords"]
            if found:
                total = min(complex_cap, sum(complex_points[k] for k in found))
                parts.append(("complex_keywords", total, "complex keywords " + ", ".join(found)))
            context_tokens = int(context / chars_per_token)
            if step[0] > 0:
                parts.append(("file_count", step[0], f"{count} file(s)"))
            if step[1] > 0:
                parts.append(("line_count", step[1], f"{lines} line(s)"))
            if step[2] > 0:
                parts.append(("context_size", step[2], f"~{context_tokens} context tokens"))
            for name, points in flag_parts:
                if hits[name]:
                    parts.append((name, points, f"keyword '{hits[name][0]}'"))
            total = 0.0
            factor_points = dict.fromkeys(FACTORS, 0.0)
            for factor, points, _ in parts:
                total += points
                factor_points[factor] = points
            score = min(100.0, max(0.0, total))
            the_level = LEVELS[level]
            out.append(
                {
                    "score": score,
                    "level": the_level,
                    "task_type": TASK_TYPES[kind],
                    "recommended_model": recommend(the_level),
                    "reasons": [f"{f} +{p:g}: {d}" for f, p, d in parts] or ["no scoring factor fired"],
                    "factor_points": factor_points,
                    "file_count": count,
                    "line_count": lines,
                    "estimated_tokens": tokens,
                    "is_critical": bool(critical),
                    "has_security_implications": bool(hits["security"]) or bool(critical),
                    "has_performance_requirements": bool(hits["performance"]),
                    "has_concurrency": bool(hits["concurrency"]),
                    "requires_architecture_change": bool(hits["architecture"]),
                    "requires_deep_reasoning": bool(hits["deep_reasoning"]),
                }
            )
        return out


def step_points(steps: Steps, values: np.ndarray) -> np.ndarray:
    """``_step_points`` for an array: the points of the highest step each value reaches."""
    points = np.zeros(len(values))
    for threshold, step in steps:
        points = np.where(values >= threshold, step, points)
    return points


def levels_for(score: np.ndarray, is_critical: np.ndarray, config: EstimatorConfig) -> np.ndarray:
    """``level_for`` for arrays, as codes into ``LEVELS``."""
    code = np.where(
        score < config.levels.moderate,
        LEVELS.index(ComplexityLevel.SIMPLE),
        np.where(
            score < config.levels.complex,
            LEVELS.index(ComplexityLevel.MODERATE),
            LEVELS.index(ComplexityLevel.COMPLEX),
        ),
    )
    return np.where(is_critical, LEVELS.index(ComplexityLevel.CRITICAL), code).astype(np.int64)


def estimate_batch(
    estimator: ComplexityEstimator,
    batch: TextBatch,
    file_counts: np.ndarray | None = None,
    file_lines: np.ndarray | None = None,
    context_chars: np.ndarray | None = None,
) -> BatchComplexity:
    """Score every text of ``batch`` (lower-cased, validated) as ``estimate_text`` does, as arrays."""
    cfg = estimator.config
    n = len(batch)
    zeros = np.zeros(n, dtype=np.int64)
    counts = zeros if file_counts is None else np.asarray(file_counts, dtype=np.int64)
    lines = zeros if file_lines is None else np.asarray(file_lines, dtype=np.int64)
    context = zeros if context_chars is None else np.asarray(context_chars, dtype=np.int64)
    hits = estimator.keywords_batch().scan(batch)

    points = np.zeros((n, len(FACTORS)))
    critical = hits.first("critical") >= 0
    points[:, 0] = np.where(critical, cfg.critical.points, 0.0)
    complex_points = np.array([estimator._complex_points.get(b, 0.0) for b in hits.bodies])
    complex_found = hits.first("complex_keywords") >= 0
    points[:, 1] = np.where(
        complex_found, np.minimum(cfg.complex_keywords.cap, hits.total("complex_keywords", complex_points)), 0
    )
    points[:, 2] = step_points(cfg.file_count.steps, counts)
    points[:, 3] = step_points(cfg.line_count.steps, lines)
    context_tokens = (context / cfg.context_size.chars_per_token).astype(np.int64)
    points[:, 4] = step_points(cfg.context_size.steps, context_tokens)
    flags = {}
    for name in _FLAG_FACTORS:
        flags[name] = hits.first(name) >= 0
        points[:, FACTORS.index(name)] = np.where(flags[name], getattr(cfg, name).points, 0.0)
    # The per-task estimate adds the parts one by one in FACTORS order (a part that did not fire adds 0.0,
    # which changes no sum), so column by column here gives the same floats.
    total = np.zeros(n)
    for j in range(len(FACTORS)):
        total = total + points[:, j]
    score = np.minimum(100.0, np.maximum(0.0, total))

    task_type = np.full(n, TASK_TYPES.index(TaskType.GENERAL), dtype=np.int64)
    for key, kind in reversed(estimator._type_order):  # the first matching rule wins: apply it last
        task_type = np.where(hits.first(key) >= 0, TASK_TYPES.index(kind), task_type)
    tokens = ((batch.lengths + context) / cfg.context_size.chars_per_token).astype(np.int64) + lines * 10
    return BatchComplexity(
        score=score,
        level=levels_for(score, critical, cfg),
        task_type=task_type,
        factor_points=points,
        is_critical=critical,
        estimated_tokens=tokens,
        file_count=counts,
        line_count=lines,
        hits=hits,
        lengths=batch.lengths,
        context_chars=context,
    )
