"""Metrics over a window: per model, calibration, drift, fallbacks, exploration, spend.

Decisions (with their predictions) come from the telemetry tables; attempts and their outcomes from the
ledger, whatever wrote them (the fallback handler, an import, an integration: see
``router.telemetry.ledger_attempts``). Each is one range scan (the time index), summarised in Python: a
window holds at most a few hundred thousand rows, and the tests (PSI, Hosmer–Lemeshow) need the categories
and pairs rather than SQL aggregates.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, select

from router.telemetry import ledger_attempts as _ledger
from router.telemetry import reference as _reference
from router.telemetry.schema import breaker_openings, decisions
from router.telemetry.stats import (
    CalibrationTest,
    PsiTest,
    calibration_test,
    percentile,
    proportion_drop,
    psi_test,
)
from router.telemetry.store import Store, from_us, to_us
from router.telemetry.window import Window

#: The baseline of a model-free success-drop test: this many window lengths just before the window.
BASELINE_WINDOWS = 7
#: A decision's task counts as novel above this score: more unusual than 99% of the training tasks
#: (``router.learned.novelty``; about 1% of traffic like the training tasks).
NOVEL = 1.0


@dataclass
class ModelMetrics:
    model: str
    decisions: int = 0
    attempts: int = 0
    successes: float = 0.0  # summed success: a logged attempt may have solved a share of its trials
    cost_usd: float = 0.0
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    expected_cost_usd: float = 0.0  # the router's expectation for the decisions that chose this model
    realized_cost_usd: float = 0.0  # what those decisions' attempts cost, fallbacks included

    @property
    def success_rate(self) -> float | None:
        return self.successes / self.attempts if self.attempts else None

    @property
    def realized_over_expected(self) -> float | None:
        return self.realized_cost_usd / self.expected_cost_usd if self.expected_cost_usd > 0 else None


@dataclass
class DriftFeature:
    psi: float
    p_value: float
    window: dict[str, int]
    reference: dict[str, float]  # shares


@dataclass
class Drift:
    available: bool
    reason: str = ""
    reference_tasks: int = 0
    samples: int = 0
    features: dict[str, DriftFeature] = field(default_factory=dict)
    tests: dict[str, PsiTest] = field(default_factory=dict, repr=False)

    @property
    def max_psi(self) -> float:
        return max((f.psi for f in self.features.values()), default=0.0)

    def significant(self, false_alarm: float) -> bool:
        """Some feature drifted, at ``false_alarm`` for all features together (Bonferroni)."""
        per_feature = false_alarm / max(1, len(self.tests))
        return any(t.p_value < per_feature for t in self.tests.values())


@dataclass
class Report:
    start: datetime
    end: datetime
    model_uri: str | None
    decisions: int
    tasks: int
    attempts: int
    models: list[ModelMetrics]
    decision_latency_p50_ms: float | None
    decision_latency_p95_ms: float | None
    success_rate: float | None
    error_rate: float | None
    retry_rate: float | None
    fallback_rate: float | None
    escalation_rate: float | None
    failures_by_reason: dict[str, int]
    exploration_share: float | None
    #: Share of the decisions with a novelty score whose task was more unusual than ``NOVEL`` (None: none
    #: carried a score), and how many carried one.
    novel_share: float | None
    novelty_scored: int
    breaker_openings: dict[str, int]
    cost_usd: float
    burn_usd_per_hour: float
    month_to_date_usd: float
    projected_month_usd: float
    baseline_success_rate: float | None
    success_drop_vs_baseline: float
    success_drop_vs_baseline_p: float
    calibration: CalibrationTest | None
    drift: Drift

    @property
    def window(self) -> Window:
        return Window(self.start, self.end)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["models"] = [
            {**asdict(m), "success_rate": m.success_rate, "realized_over_expected": m.realized_over_expected}
            for m in self.models
        ]
        data["drift"].pop("tests", None)
        data["drift"]["max_psi"] = self.drift.max_psi
        data["start"], data["end"] = self.start.isoformat(), self.end.isoformat()
        return data


def _range(table: Any, window: Window) -> Any:
    return and_(table.c.ts_us >= to_us(window.start), table.c.ts_us < to_us(window.end))


#: Predicts P(success) of (description, metadata, model) triples; None where the model has no prediction.
Predictor = Callable[[Sequence[str], Sequence["dict[str, str] | None"], Sequence[str]], list["float | None"]]


def analyze(
    store: Store,
    window: Window,
    *,
    model_uri: str | None = None,
    reference: dict[str, Any] | None = None,
    reference_reason: str = "no --model given: drift needs the training reference stored in the artifact",
    predict: Predictor | None = None,
) -> Report:
    """Every metric of the window. Calibration and drift run only for a named model (``model_uri``).

    Calibration pairs each first attempt with the named model's prediction for it: the one its decision
    event recorded, else, given ``predict`` (see :func:`model_predictor`), the model's prediction for the
    attempt's text and model, so attempts that reached the ledger without a decision event (an import, an
    integration) are judged against what the model expects too.
    """
    with store.read() as conn:
        drows = conn.execute(
            select(
                decisions.c.decision_id,
                decisions.c.model,
                decisions.c.model_uri,
                decisions.c.explored,
                decisions.c.p_chosen,
                decisions.c.expected_cost,
                decisions.c.heuristic_score,
                decisions.c.task_type,
                decisions.c.is_critical,
                decisions.c.chars,
                decisions.c.terms,
                decisions.c.latency_s,
                decisions.c.novelty,
            ).where(_range(decisions, window))
        ).all()
        arows = _ledger.read_attempts(conn, window)
        base_s, base_n = _ledger.successes(conn, window.before(BASELINE_WINDOWS))
        month = _month_start(window.end)
        month_to_date = _ledger.spend(conn, Window(min(month, window.start), window.end))
        openings = Counter(
            m
            for (m,) in conn.execute(select(breaker_openings.c.model).where(_range(breaker_openings, window)))
        )
        first_outcomes = _first_outcomes(conn, drows, model_uri, window, predict)
    models: dict[str, ModelMetrics] = {}

    def model(name: str) -> ModelMetrics:
        return models.setdefault(name, ModelMetrics(name))

    chosen_by_decision = {}
    for d in drows:
        m = model(d.model)
        m.decisions += 1
        m.expected_cost_usd += d.expected_cost or 0.0
        chosen_by_decision[d.decision_id] = d.model
    durations: dict[str, list[float]] = defaultdict(list)
    kinds: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    for a in arows:
        m = model(a.model)
        m.attempts += 1
        m.successes += a.success
        m.cost_usd += a.cost_usd
        if a.duration_ms is not None:
            durations[a.model].append(a.duration_ms)
        kinds[a.kind] += 1
        if a.reason:
            reasons[a.reason] += 1
        chosen = chosen_by_decision.get(a.decision_id)
        if chosen is not None:
            model(chosen).realized_cost_usd += a.cost_usd
    for name, values in durations.items():
        models[name].latency_p50_ms = percentile(values, 50)
        models[name].latency_p95_ms = percentile(values, 95)
    tasks = kinds["first"]
    n_attempts = len(arows)
    successes = sum(a.success for a in arows)
    # Errors are calls that failed (timeouts, 5xx, rate limits...), not answers the caller rejected.
    errors = sum(1 for a in arows if a.reason is not None and a.reason != "quality")
    drop, drop_p = proportion_drop(base_s, base_n, successes, n_attempts)
    cost = sum(a.cost_usd for a in arows)
    latencies = [d.latency_s * 1000 for d in drows]
    scored = [d.novelty for d in drows if d.novelty is not None]
    return Report(
        start=window.start,
        end=window.end,
        model_uri=model_uri,
        decisions=len(drows),
        tasks=tasks,
        attempts=n_attempts,
        models=sorted(models.values(), key=lambda m: m.model),
        decision_latency_p50_ms=percentile(latencies, 50),
        decision_latency_p95_ms=percentile(latencies, 95),
        success_rate=successes / n_attempts if n_attempts else None,
        error_rate=errors / n_attempts if n_attempts else None,
        retry_rate=kinds["retry"] / tasks if tasks else None,
        fallback_rate=kinds["fallback"] / tasks if tasks else None,
        escalation_rate=kinds["escalation"] / tasks if tasks else None,
        failures_by_reason=dict(sorted(reasons.items())),
        exploration_share=sum(bool(d.explored) for d in drows) / len(drows) if drows else None,
        novel_share=sum(v > NOVEL for v in scored) / len(scored) if scored else None,
        novelty_scored=len(scored),
        breaker_openings=dict(sorted(openings.items())),
        cost_usd=cost,
        burn_usd_per_hour=cost / (window.seconds / 3600) if window.seconds else 0.0,
        month_to_date_usd=month_to_date,
        projected_month_usd=_projection(month_to_date, month, window.end),
        baseline_success_rate=base_s / base_n if base_n else None,
        success_drop_vs_baseline=drop,
        success_drop_vs_baseline_p=drop_p,
        calibration=None if first_outcomes is None else calibration_test(*first_outcomes),
        drift=_drift(drows, model_uri, reference, reference_reason),
    )


def _first_outcomes(
    conn: Any, drows: list[Any], model_uri: str | None, window: Window, predict: Predictor | None
) -> tuple[list[float], list[float]] | None:
    """(predicted, observed) for the window's first attempts that the named model has a prediction for."""
    if model_uri is None:
        return None
    predicted = {
        d.decision_id: d.p_chosen for d in drows if d.model_uri == model_uri and d.p_chosen is not None
    }
    pairs: list[tuple[float, float]] = []
    unpredicted = []
    for row in _ledger.first_attempts(conn, window):
        p = predicted.get(row.decision_id) if row.decision_id else None
        if p is not None:
            pairs.append((p, float(row.success)))
        elif predict is not None and row.description:
            unpredicted.append(row)
    if unpredicted and predict is not None:
        metas = [json.loads(r.metadata) if r.metadata else None for r in unpredicted]
        found = predict([r.description for r in unpredicted], metas, [r.model for r in unpredicted])
        pairs += [(p, float(r.success)) for p, r in zip(found, unpredicted, strict=True) if p is not None]
    return [p for p, _ in pairs], [y for _, y in pairs]


def model_predictor(model_uri: str) -> tuple[Predictor | None, str]:
    """A predictor from the learned router at ``model_uri`` (its P(success) of each attempt's model for the
    attempt's text), or None and why not."""
    from router._exceptions import RouterError
    from router.learned.router import LearnedRouter

    try:
        router = LearnedRouter.load(model_uri, strict=True)
    except (RouterError, OSError, ValueError) as exc:
        return None, f"cannot load the model at {model_uri!r}: {exc}"

    def predict(
        texts: Sequence[str], metadata: Sequence[dict[str, str] | None], models: Sequence[str]
    ) -> list[float | None]:
        found = router.route_many(list(texts), metadata=[m or {} for m in metadata])
        return [d.p_success.get(m) for d, m in zip(found, models, strict=True)]

    return predict, ""


def _drift(drows: list[Any], model_uri: str | None, reference: dict[str, Any] | None, reason: str) -> Drift:
    if model_uri is None or reference is None:
        return Drift(available=False, reason=reason)
    top = [str(pair[0]) for pair in reference.get("top_terms", [])]
    window = _reference.count_features(
        _reference.traffic_features(
            d.heuristic_score,
            d.task_type,
            bool(d.is_critical),
            d.chars,
            _reference.top_term(d.terms.split(), top),
        )
        for d in drows
    )
    drift = Drift(available=True, reference_tasks=int(reference["tasks"]), samples=len(drows))
    for name in _reference.FEATURES:
        if name not in reference["counts"]:
            continue  # a reference from before this feature was binned
        ref_counts = reference["counts"][name]
        test = psi_test(ref_counts, window[name])
        total = sum(ref_counts.values()) or 1
        drift.tests[name] = test
        drift.features[name] = DriftFeature(
            psi=test.psi,
            p_value=test.p_value,
            window=window[name],
            reference={k: v / total for k, v in ref_counts.items()},
        )
    return drift


def _month_start(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _projection(spent: float, month: datetime, now: datetime) -> float:
    """The month's spend if the rate so far holds to its end."""
    following = (month + timedelta(days=32)).replace(day=1)
    elapsed = (now - month).total_seconds()
    return spent * (following - month).total_seconds() / elapsed if elapsed > 0 else spent


def load_reference(model_uri: str) -> tuple[dict[str, Any] | None, str]:
    """The training reference stored in the artifact at ``model_uri``, or None and why not."""
    from router._exceptions import ArtifactError
    from router.learned.router import resolve_uri

    try:
        path = resolve_uri(model_uri) / "metadata.json"
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (ArtifactError, OSError, ValueError) as exc:
        return None, f"cannot read the artifact's metadata at {model_uri!r}: {exc}"
    ref = _reference.reference_of(meta)
    if ref is None:
        return None, (
            f"the artifact at {model_uri!r} was trained before training stored a traffic reference; "
            "retrain it to enable drift checks"
        )
    return ref, ""


__all__ = ["Drift", "ModelMetrics", "Report", "analyze", "from_us", "load_reference", "model_predictor"]
