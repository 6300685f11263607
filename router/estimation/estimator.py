"""The heuristic complexity estimator of the specification: scoring factors, task type and level.

Level rule, the one rule for every task (thresholds from ``EstimatorConfig.levels``): a task whose text
matches a critical pattern (a security vulnerability, a production outage, data loss) is CRITICAL whatever
its score; any other task is SIMPLE below ``moderate`` (25), MODERATE below ``complex`` (50), otherwise
COMPLEX. Critical patterns add 80 points, so a critical task scores at least 80, while a non-critical task
can reach 100 and still be COMPLEX: criticality is about the stakes, the score about the work.

Every factor adds non-negative points, so adding text to a description never lowers its score.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

from router._catalog import Catalog
from router._exceptions import InvalidInputError
from router._types import ComplexityLevel, ScoreContribution, TaskComplexity, TaskType, construct
from router._uncounted import counting
from router.estimation.batch_keywords import BatchKeywords
from router.estimation.config import EstimatorConfig, Steps
from router.estimation.keywords import KeywordIndex

#: Scoring factors in the order their reasons are listed; the learned router's features use this order.
FACTORS = (
    "critical",
    "complex_keywords",
    "file_count",
    "line_count",
    "context_size",
    "architecture",
    "security",
    "performance",
    "concurrency",
    "deep_reasoning",
)

_FLAG_FACTORS = ("architecture", "security", "performance", "concurrency", "deep_reasoning")

FileArg = str | PathLike[str]


@dataclass(frozen=True, slots=True)
class FileFacts:
    """What the estimator knows of the files a task involves."""

    count: int
    lines: int


def count_file_lines(files: Sequence[FileArg] | None) -> FileFacts:
    """Count the files and the lines of those that exist and can be read; the others still count as files."""
    if files is None:
        return FileFacts(0, 0)
    if isinstance(files, str | bytes) or not isinstance(files, Iterable):
        raise InvalidInputError(
            f"files must be a list of paths (wrap a single path in a list), "
            f"got {type(files).__name__} {brief_repr(files)}"
        )
    lines = 0
    count = 0
    for index, item in enumerate(files):
        if not isinstance(item, str | PathLike):
            raise InvalidInputError(
                f"files[{index}] must be a path (str or os.PathLike), "
                f"got {type(item).__name__} {brief_repr(item)}"
            )
        count += 1
        path = Path(item)
        try:
            if path.is_file():
                with path.open("rb") as fh:
                    lines += sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))
        except OSError:
            continue  # unreadable: it still counts as a file, its lines are unknown
    return FileFacts(count, lines)


def brief_repr(value: object, limit: int = 80) -> str:
    """``repr(value)``, cut to ``limit`` characters so an error about a 10 MB argument stays one line."""
    shown = repr(value)
    if len(shown) <= limit:
        return shown
    size = f"{len(value)} chars" if isinstance(value, str | bytes) else type(value).__name__
    return f"{shown[:limit]}... ({size})"


def check_description(description: object) -> str:
    if not isinstance(description, str):
        raise InvalidInputError(
            f"description must be a str, got {type(description).__name__} {brief_repr(description)}"
        )
    if not description.strip():
        raise InvalidInputError(
            f"description must contain non-whitespace text, got {brief_repr(description)}"
        )
    return description


def check_descriptions(descriptions: object) -> list[str]:
    """Every description of a batch, validated before any is routed (one str, a common slip, gets a hint)."""
    if isinstance(descriptions, str | bytes):
        raise InvalidInputError(
            f"descriptions must be a list of str, got one {type(descriptions).__name__}; "
            "use route() for one task"
        )
    if not isinstance(descriptions, Iterable):
        raise InvalidInputError(f"descriptions must be a list of str, got {type(descriptions).__name__}")
    return [check_description(d) for d in descriptions]


def _part(*, factor: str, points: float, detail: str) -> ScoreContribution:
    # Built from values this module computed: skip pydantic's validation on the decision path.
    return construct(ScoreContribution, {"factor": factor, "points": points, "detail": detail})


def _step_points(steps: Steps, value: float) -> float:
    points = 0.0
    for threshold, step_points in steps:
        if value >= threshold:
            points = step_points
    return points


def level_for(score: float, is_critical: bool, config: EstimatorConfig) -> ComplexityLevel:
    """The documented level rule (module docstring)."""
    if is_critical:
        return ComplexityLevel.CRITICAL
    if score < config.levels.moderate:
        return ComplexityLevel.SIMPLE
    if score < config.levels.complex:
        return ComplexityLevel.MODERATE
    return ComplexityLevel.COMPLEX


class ComplexityEstimator:
    """Scores a task's complexity from its description, files and context, as the specification does.

    Parameters
    ----------
    config : EstimatorConfig, optional
        Weights, keyword lists and thresholds; the packaged defaults when omitted.
    recommend : callable, optional
        Maps a level to the model name to recommend; the default catalog's routing table when omitted.

    Examples
    --------
    >>> est = ComplexityEstimator()
    >>> c = est.estimate("Fix typo in README", files=["README.md"])
    >>> (c.level.value, c.recommended_model)
    ('simple', 'haiku')
    """

    def __init__(
        self,
        config: EstimatorConfig | None = None,
        *,
        recommend: Callable[[ComplexityLevel], str] | None = None,
    ) -> None:
        self.config = config or EstimatorConfig.default()
        if recommend is None:
            recommend = Catalog.default().primary_for
        self._recommend = recommend
        cfg = self.config
        self._complex_points = {k.strip().lower(): v for k, v in cfg.complex_keywords.points.items()}
        lists: dict[str, list[str]] = {
            "critical": cfg.critical.patterns,
            "complex_keywords": list(cfg.complex_keywords.points),
            **{name: getattr(cfg, name).keywords for name in _FLAG_FACTORS},
        }
        self._type_order = [(f"type:{i}", rule.type) for i, rule in enumerate(cfg.task_types)]
        lists.update(
            {key: rule.keywords for (key, _), rule in zip(self._type_order, cfg.task_types, strict=True)}
        )
        self._lists = lists
        self._index = KeywordIndex(lists)
        self._batch_keywords: BatchKeywords | None = None
        self._lock = threading.Lock()
        self._levels: Counter[str] = Counter()
        self._types: Counter[str] = Counter()
        self._score_sum = 0.0

    def estimate(
        self,
        description: str,
        files: Sequence[FileArg] | None = None,
        context: str | None = None,
    ) -> TaskComplexity:
        """Score one task. Raises InvalidInputError for an empty or non-string description."""
        text = check_description(description)
        if context is not None and not isinstance(context, str):
            raise InvalidInputError(f"context must be a str or None, got {type(context).__name__}")
        facts = count_file_lines(files)
        result = self.estimate_text(text.lower(), facts, len(context or ""))
        if not counting():  # the same task routed again (Router.next_step): counted once already
            return result
        with self._lock:
            self._levels[result.level.value] += 1
            self._types[result.task_type.value] += 1
            self._score_sum += result.score
        return result

    def estimate_text(self, lowered: str, facts: FileFacts, context_chars: int) -> TaskComplexity:
        """Score already-validated, lower-cased text; no statistics are kept (the featurizer's entry)."""
        return self.from_hits(len(lowered), self._index.scan(lowered), facts, context_chars)

    def keywords_batch(self) -> BatchKeywords:
        """The batch keyword scan over this estimator's lists (built on first use)."""
        if self._batch_keywords is None:
            self._batch_keywords = BatchKeywords(self._lists)
        return self._batch_keywords

    def from_hits(
        self, length: int, hits: dict[str, list[str]], facts: FileFacts, context_chars: int
    ) -> TaskComplexity:
        """The complexity of a text of ``length`` characters whose keyword scan found ``hits``."""
        cfg = self.config
        parts: list[ScoreContribution] = []
        flags: dict[str, bool] = {}

        critical = hits["critical"][0] if hits["critical"] else None
        if critical:
            parts.append(
                _part(factor="critical", points=cfg.critical.points, detail=f"critical pattern '{critical}'")
            )
        complex_found = hits["complex_keywords"]
        if complex_found:
            points = min(cfg.complex_keywords.cap, sum(self._complex_points[k] for k in complex_found))
            parts.append(
                _part(
                    factor="complex_keywords",
                    points=points,
                    detail="complex keywords " + ", ".join(complex_found),
                )
            )
        self._add_step(parts, "file_count", cfg.file_count.steps, facts.count, f"{facts.count} file(s)")
        self._add_step(parts, "line_count", cfg.line_count.steps, facts.lines, f"{facts.lines} line(s)")
        context_tokens = int(context_chars / cfg.context_size.chars_per_token)
        self._add_step(
            parts, "context_size", cfg.context_size.steps, context_tokens, f"~{context_tokens} context tokens"
        )
        for name in _FLAG_FACTORS:
            flags[name] = bool(hits[name])
            if hits[name]:
                factor = getattr(cfg, name)
                parts.append(_part(factor=name, points=factor.points, detail=f"keyword '{hits[name][0]}'"))

        total = 0.0
        for part in parts:  # added one by one, in this order: the batch path adds its columns the same way
            total += part.points
        score = min(100.0, max(0.0, total))
        level = level_for(score, critical is not None, cfg)
        tokens = int((length + context_chars) / cfg.context_size.chars_per_token) + facts.lines * 10
        factor_points = dict.fromkeys(FACTORS, 0.0)
        for part in parts:
            factor_points[part.factor] = part.points
        return construct(
            TaskComplexity,
            {
                "score": score,
                "level": level,
                "task_type": self._task_type(hits),
                "recommended_model": self._recommend(level),
                "reasons": [str(p) for p in parts] or ["no scoring factor fired"],
                "factor_points": factor_points,
                "file_count": facts.count,
                "line_count": facts.lines,
                "estimated_tokens": tokens,
                "is_critical": critical is not None,
                "has_security_implications": flags["security"] or critical is not None,
                "has_performance_requirements": flags["performance"],
                "has_concurrency": flags["concurrency"],
                "requires_architecture_change": flags["architecture"],
                "requires_deep_reasoning": flags["deep_reasoning"],
            },
        )

    @staticmethod
    def _add_step(
        parts: list[ScoreContribution], factor: str, steps: Steps, value: float, detail: str
    ) -> None:
        points = _step_points(steps, value)
        if points > 0:
            parts.append(_part(factor=factor, points=points, detail=detail))

    def _task_type(self, hits: dict[str, list[str]]) -> TaskType:
        for key, task_type in self._type_order:
            if hits[key]:
                return task_type
        return TaskType.GENERAL

    def count_batch(self, levels: Iterable[str], task_types: Iterable[str], score_sum: float) -> None:
        """Add a batch's estimates to the statistics ``estimate`` keeps (level and type values, score sum)."""
        with self._lock:
            self._levels.update(levels)
            self._types.update(task_types)
            self._score_sum += score_sum

    def get_statistics(self) -> dict[str, Any]:
        """Tasks estimated so far, their level and task-type distributions and mean score."""
        with self._lock:
            total = sum(self._levels.values())
            return {
                "total_tasks": total,
                "level_distribution": {lvl.value: self._levels[lvl.value] for lvl in ComplexityLevel},
                "task_type_distribution": dict(self._types),
                "average_score": self._score_sum / total if total else 0.0,
            }
