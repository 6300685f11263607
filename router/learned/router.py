"""The public ``Router`` and the learned router: a trained artifact served in-process behind its interface.

``Router`` is the heuristic router plus ``Router.load``; it lives here, beside ``LearnedRouter`` (a
``Router`` too), so that loading needs no import back from the selection stage.

A decision is a handful of numpy operations on the featurizer's output: the same features training used,
one matrix product for every model's success logit and log-cost, then the policy (``router.learned.policy``).
No network call and no MLflow on the decision path; MLflow is imported only to fetch a ``models:/`` or
``runs:/`` URI.

If the artifact cannot be used, ``load_router`` logs a warning and returns the heuristic router (or raises
``ArtifactError`` when ``strict``); if a decision fails unexpectedly, that one decision falls back to the
heuristic and a warning is logged, so the decision path never crashes on a broken model.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from router._exceptions import ArtifactError, InvalidInputError
from router._extras import MissingExtraError, require
from router._metadata import Metadata, batch_metadata, check_metadata, decision_metadata
from router._types import (
    ModelSelection,
    RoutingDecision,
    Step,
    TaskComplexity,
    construct,
    gc_paused,
    new_decision_ids,
)
from router.estimation.batch_estimate import LEVELS, levels_for
from router.estimation.estimator import (
    FileArg,
    FileFacts,
    check_description,
    check_descriptions,
    count_file_lines,
)
from router.learned.artifact import load_artifact
from router.learned.cascade import check_attempts, escalation_step
from router.learned.features import NO_FILES
from router.learned.model import LearnedComplexityEstimator, LearnedModel
from router.learned.novelty import REASON as NOVELTY_REASON
from router.learned.policy import base_logits, choose, choose_many, escalation, escalation_many, mu_for
from router.learned.refresh import AliasFollower, following
from router.selection.heuristic import TABLE_CHUNK, HeuristicRouter, check_tradeoff
from router.selection.table import RouteTable, concat_tables

if TYPE_CHECKING:
    from router._sink import EventSink

log = logging.getLogger("router")
BATCH_CHUNK = 2048  # tasks per vectorised step of route_many


class Router(HeuristicRouter):
    """Decides which model should take a task: the heuristic router, or a trained one from ``Router.load``.

    ``Router(...)`` takes the parameters of :class:`~router.selection.heuristic.HeuristicRouter` (catalog,
    estimator configuration, cost threshold, collector); ``Router.load(uri)`` returns a
    :class:`LearnedRouter`, which is a ``Router`` too.

    Examples
    --------
    >>> d = Router().route("Fix typo in README")
    >>> d.model, d.complexity.level.value
    ('haiku', 'simple')
    """

    @classmethod
    def load(
        cls,
        uri: str | Path,
        *,
        strict: bool = False,
        exploration_rate: float = 0.0,
        seed: int | None = None,
        collector: EventSink | None = None,
        refresh: float | None = None,
    ) -> Router:
        """A learned router from a local artifact directory or a ``models:/NAME@ALIAS`` registry URI.

        When the artifact cannot be used (missing, corrupt, tampered, incompatible, or the tracking server
        cannot be reached within seconds) this logs a warning and returns the heuristic router, or raises
        ``ArtifactError`` naming the URI and what to check when ``strict`` is true.
        ``exploration_rate`` is the share of decisions made uniformly at random (their propensities are
        logged), so that retraining sees every model. ``collector`` receives every decision, named by ``uri``.
        ``refresh`` (seconds, for a ``models:/NAME@ALIAS`` URI) returns a
        :class:`RefreshingRouter` that looks the alias up that often and swaps in the version it points at
        between decisions (``close()`` stops it); ``None`` loads once. Every learned decision names the model
        that made it in ``RoutingDecision.model_version``.
        """
        if refresh is not None:
            follower = following(
                str(uri), refresh, load=load_learned, heuristic=Router, make=RefreshingRouter,
                strict=strict, exploration_rate=exploration_rate, seed=seed, collector=collector,
            )  # fmt: skip
            assert isinstance(follower, RefreshingRouter)
            return follower
        return load_router(
            uri, strict=strict, exploration_rate=exploration_rate, seed=seed, collector=collector
        )


class LearnedRouter(Router):
    """A trained router behind the ``Router`` interface (see ``Router.load``).

    Parameters
    ----------
    model : LearnedModel
        The verified artifact.
    exploration_rate : float
        Share of decisions that pick a model uniformly at random, so production logs cover every model;
        each decision's ``propensity`` is the probability with which its model was chosen.
    seed : int, optional
        Seed of the exploration's random choices.
    collector : EventSink, optional
        Receives every decision (``router.telemetry.Collector``).
    model_uri : str, optional
        How telemetry names this model (``Router.load`` passes its URI).
    model_version : str, optional
        What each decision records as ``model_version``: ``NAME/VERSION`` for a registry model, else
        ``sha256:`` and the start of the artifact's hash (``Router.load`` sets it).
    """

    source = "learned"

    def __init__(
        self,
        model: LearnedModel,
        *,
        exploration_rate: float = 0.0,
        seed: int | None = None,
        collector: EventSink | None = None,
        model_uri: str | None = None,
        model_version: str | None = None,
    ) -> None:
        super().__init__(model.catalog, estimator_config=model.levels, collector=collector)
        self.model_uri = model_uri
        self.model_version = model_version
        if not 0.0 <= exploration_rate <= 1.0:
            raise InvalidInputError(f"exploration_rate must be in [0, 1], got {exploration_rate!r}")
        self.model = model
        self.learned_estimator = LearnedComplexityEstimator(model)
        self.exploration_rate = exploration_rate
        self._rng = random.Random(seed)
        self._base_rate = model.base_rate.tolist()
        self._base_logits = base_logits(self._base_rate)

    @property
    def default_tradeoff(self) -> float:
        """The tradeoff ``route`` uses when given none (the single choice's, calibrated at training);
        ``next_step`` given none uses the learned cascade's own, where the artifact has one."""
        return self.model.default_tradeoff

    def route(
        self,
        description: str,
        files: Sequence[FileArg] | None = None,
        context: str | None = None,
        tradeoff: float | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> RoutingDecision:
        start = time.perf_counter()
        t = check_tradeoff(tradeoff)
        text = check_description(description)
        meta = check_metadata(metadata)
        if context is not None and not isinstance(context, str):
            raise InvalidInputError(f"context must be a str or None, got {type(context).__name__}")
        facts, context_chars = count_file_lines(files), len(context or "")
        try:
            decision = self._decide_one(text, facts, context_chars, t, meta)
        except Exception as exc:  # never let a broken model take the orchestrator down
            log.warning("learned router failed (%r); falling back to the heuristic for this decision", exc)
            decision = self._heuristic_decision(text, facts, context_chars, t, meta or None)
        if self.collector is not None:
            self._emit(decision, time.perf_counter() - start, text)
        return decision

    def next_step(
        self,
        description: str,
        attempts: Sequence[object],
        *,
        tradeoff: float | None = None,
        files: Sequence[FileArg] | None = None,
        context: str | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> Step:
        """What to do next for a task, given the attempts already made: call a model, or stop with one.

        With an artifact trained on answers, the learned cascade decides (``router.learned.cascade``): each
        answer's calibrated P(right) from its model, its output and who agrees with it, then the plan chosen
        for ``tradeoff`` (default: the cascade's calibrated one). Without answers, the heuristic's escalation
        decides, as today. Pure and deterministic for an artifact; a failure falls back to the escalation.

        Examples
        --------
        >>> step = router.next_step("What is 2 + 2?", [("gpt-4o-mini", "4", "... 4")])  # doctest: +SKIP
        >>> step.model, step.answer_from, step.reasons  # doctest: +SKIP
        (None, 0, ['1 of 1 answers agree', 'P(right) 0.97 >= 0.90: stop with gpt-4o-mini's answer'])
        """
        cascade = self.model.cascade
        if cascade is None:
            return self._escalation_step(description, attempts, tradeoff, files, context, metadata)
        t = check_tradeoff(tradeoff)
        check_description(description)
        items = check_attempts(attempts)
        try:
            return cascade.next_step(items, cascade.default_tradeoff if t is None else t)
        except Exception as exc:  # as in route: a broken model never takes the orchestrator down
            log.warning("learned cascade failed (%r); following the escalation for this step", exc)
            return self._escalation_step(description, items, tradeoff, files, context, metadata)

    def _escalation_step(
        self,
        description: str,
        attempts: Sequence[object],
        tradeoff: float | None,
        files: Sequence[FileArg] | None,
        context: str | None,
        metadata: Mapping[str, str] | None,
    ) -> Step:
        """Today's behaviour: the heuristic router's ``next_step`` where it has one, else the same rule
        here (follow the decision's escalation, stop at the first clean answer)."""
        heuristic = getattr(super(), "next_step", None)
        if heuristic is not None:
            return heuristic(
                description, attempts, tradeoff=tradeoff, files=files, context=context, metadata=metadata
            )
        items = check_attempts(attempts)
        decision = self.route(description, files=files, context=context, tradeoff=tradeoff, metadata=metadata)
        return escalation_step(decision.escalation, items)

    def route_many(
        self,
        descriptions: Iterable[str],
        tradeoff: float | None = None,
        metadata: Mapping[str, str] | Sequence[Mapping[str, str]] | None = None,
    ) -> list[RoutingDecision]:
        """Route a batch: the whole batch analysed in numpy passes, one product and one policy step for all
        of them, then a record per decision (``route_table`` gives the same decisions as columns).
        ``metadata`` is one mapping for the batch or one per description."""
        start = time.perf_counter()
        t = check_tradeoff(tradeoff)
        texts = check_descriptions(descriptions)
        metas = batch_metadata(metadata, len(texts))
        if not texts:
            return []
        carried = decision_metadata(metas, len(texts))
        try:
            # Chunks bound the temporaries of a vectorised stage, whatever the batch's size.
            with gc_paused():
                decisions = [
                    d
                    for at in range(0, len(texts), BATCH_CHUNK)
                    for d in self._decide_many(
                        texts[at : at + BATCH_CHUNK],
                        t,
                        None if metas is None else metas[at : at + BATCH_CHUNK],
                        carried[at : at + BATCH_CHUNK],
                    )
                ]
        except Exception as exc:  # as in route: the batch falls back, loudly, rather than failing
            log.warning("learned router failed (%r); falling back to the heuristic for this batch", exc)
            decisions = [
                self._heuristic_decision(text, NO_FILES, 0, t, meta)
                for text, meta in zip(texts, carried, strict=True)
            ]
        if self.collector is not None:
            self._emit_many(decisions, texts, time.perf_counter() - start)
        return decisions

    def route_table(
        self,
        descriptions: Iterable[str],
        tradeoff: float | None = None,
        metadata: Metadata | Sequence[Metadata] | None = None,
    ) -> RouteTable:
        """Route a batch and return the decisions as columns (``RouteTable``), with no record per task.

        The same decisions as ``route_many``: model, the learned complexity level and score, P(success) and
        expected cost per model, propensity. ``metadata`` is one mapping of str to str for every task, or
        one per description. If the model fails, the batch falls back to the heuristic's table, loudly.
        """
        t = check_tradeoff(tradeoff)
        texts = check_descriptions(descriptions)
        per_task = batch_metadata(metadata, len(texts))
        try:
            parts = [
                self._learned_table(
                    texts[at : at + TABLE_CHUNK],
                    None if per_task is None else per_task[at : at + TABLE_CHUNK],
                    t,
                )
                for at in range(0, len(texts), TABLE_CHUNK)
            ]
            return concat_tables(parts) if parts else self._learned_table([], None, t)
        except Exception as exc:
            log.warning("learned router failed (%r); falling back to the heuristic for this batch", exc)
            parts = [
                HeuristicRouter._table(self, texts[at : at + TABLE_CHUNK], t, Router.source)
                for at in range(0, len(texts), TABLE_CHUNK)
            ]
            return concat_tables(parts) if parts else HeuristicRouter._table(self, [], t, Router.source)

    def _learned_table(
        self, texts: list[str], metadata: Sequence[Metadata] | None, tradeoff: float | None
    ) -> RouteTable:
        model = self.model
        batch = model.assess_batch(texts, metadata)
        analysis, p, cost = batch.analysis, batch.p, batch.cost
        t = self.default_tradeoff if tradeoff is None else tradeoff
        greedy = choose_many(p, cost, mu_for(t, model.kappa), model.allowed_mask(t))
        chosen, propensity = self._explore_many(greedy)
        # The learned score as LearnedComplexityEstimator.learned computes it (a sum from the left).
        total = np.zeros(len(texts))
        for j in range(p.shape[1]):
            total = total + p[:, j]
        score = 100.0 * (1.0 - total / p.shape[1])
        level = levels_for(score, analysis.complexity.is_critical, model.levels)
        return RouteTable(
            models=tuple(model.names),
            model=np.array(model.names, dtype=str)[chosen] if len(texts) else np.array([], dtype=str),
            model_index=chosen,
            level=np.array([lvl.value for lvl in LEVELS])[level],
            score=score,
            p_success=p.reshape(len(texts), len(model.names)),
            expected_cost_usd=cost.reshape(len(texts), len(model.names)),
            propensity=propensity,
            tradeoff=t,
            source=self.source,
            novelty=np.full(len(texts), np.nan) if batch.novelty is None else batch.novelty,
        )

    def _explore_many(self, greedy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``_explore`` for a batch: the same random stream, drawn task by task, when exploring."""
        if self.exploration_rate == 0.0:
            return greedy.astype(np.int64), np.ones(len(greedy))
        explored = [self._explore(g) for g in greedy.tolist()]
        return (
            np.array([c for c, _ in explored], dtype=np.int64),
            np.array([q for _, q in explored], dtype=np.float64),
        )

    def _heuristic_decision(
        self,
        text: str,
        facts: FileFacts,
        context_chars: int,
        tradeoff: float | None,
        metadata: dict[str, str] | None = None,
    ) -> RoutingDecision:
        complexity = self.estimator.estimate_text(text.lower(), facts, context_chars)
        return self._decide(complexity, tradeoff, source=Router.source, metadata=metadata, description=text)

    def _decide_one(
        self,
        text: str,
        facts: FileFacts,
        context_chars: int,
        tradeoff: float | None,
        metadata: dict[str, str] | None = None,
    ) -> RoutingDecision:
        model = self.model
        one = model.assess(text, facts, context_chars, metadata)
        probs, costs = one.p, one.cost
        t = self.default_tradeoff if tradeoff is None else tradeoff
        mu = mu_for(t, model.kappa)
        allowed = model.allowed(t)
        greedy = choose(probs, costs, mu, allowed)
        # Whether pulling the estimates towards the model averages changed the choice (for the reason).
        pulled = probs is not one.p_raw and choose(one.p_raw, one.cost_raw, mu, allowed) != greedy
        chosen, propensity = self._explore(greedy)
        chain = escalation(
            chosen, probs, costs, mu, model.table_rows, self._base_rate, base_logits=self._base_logits
        )
        decision_id = new_decision_ids(1)[0]
        complexity = self.learned_estimator.learned(one.complexity, probs, greedy)
        return self._decision(
            complexity,
            probs,
            costs,
            greedy,
            chosen,
            propensity,
            chain,
            t,
            decision_id,
            metadata or None,
            one.novelty,
            pulled,
            text,
            self._cascade_start(t),
        )

    def _decide_many(
        self,
        texts: list[str],
        tradeoff: float | None,
        metadata: list[dict[str, str]] | None,
        carried: list[dict[str, str] | None],
    ) -> list[RoutingDecision]:
        """A chunk's decisions: the model reads ``metadata``; each decision holds its ``carried`` copy."""
        model = self.model
        batch = model.assess_batch(texts, metadata)
        analysis, p, cost = batch.analysis, batch.p, batch.cost
        heuristic = analysis.complexity.record_values(model.featurizer.estimator)
        t = self.default_tradeoff if tradeoff is None else tradeoff
        mu = mu_for(t, model.kappa)
        mask = model.allowed_mask(t)
        greedy_array = choose_many(p, cost, mu, mask)
        greedy = greedy_array.tolist()
        if batch.novelty is None:
            novelty: list[float | None] = [None] * len(texts)
            pulled = [False] * len(texts)
        else:
            novelty = batch.novelty.tolist()
            pulled = (
                [False] * len(texts)
                if batch.p is batch.p_raw
                else (choose_many(batch.p_raw, batch.cost_raw, mu, mask) != greedy_array).tolist()
            )
        explored = [self._explore(g) for g in greedy]
        chosen = np.array([c for c, _ in explored], dtype=np.int64)
        chains = escalation_many(chosen, p, cost, mu, model.table_logits, model.base_rate)
        ids = new_decision_ids(len(texts))
        learned = self.learned_estimator.learned_from
        start = self._cascade_start(t)
        return [
            self._decision(
                learned(h, probs, g),
                probs,
                costs,
                g,
                c,
                propensity,
                chain,
                t,
                decision_id,
                meta,
                nov,
                pull,
                text,
                start,
            )
            for h, probs, costs, g, (c, propensity), chain, decision_id, meta, nov, pull, text in zip(
                heuristic,
                p.tolist(),
                cost.tolist(),
                greedy,
                explored,
                chains,
                ids,
                carried,
                novelty,
                pulled,
                texts,
                strict=True,
            )
        ]

    def _cascade_start(self, tradeoff: float) -> str | None:
        """The learned cascade's first call at ``tradeoff`` (None without one), once per call or chunk."""
        cascade = self.model.cascade
        return None if cascade is None else cascade.start(tradeoff)

    def _explore(self, greedy: int) -> tuple[int, float]:
        """The model to use (greedy, or with ``exploration_rate`` a uniform pick) and its propensity."""
        if self.exploration_rate == 0.0:
            return greedy, 1.0
        n = len(self.model.names)
        chosen = self._rng.randrange(n) if self._rng.random() < self.exploration_rate else greedy
        return chosen, self.exploration_rate / n + (1.0 - self.exploration_rate) * (chosen == greedy)

    def _decision(
        self,
        complexity: TaskComplexity,
        probs: list[float],
        costs: list[float],
        greedy: int,
        chosen: int,
        propensity: float,
        chain: list[int],
        tradeoff: float,
        decision_id: str,
        metadata: dict[str, str] | None,
        novelty: float | None = None,
        pulled: bool = False,
        description: str | None = None,
        cascade_start: str | None = None,
    ) -> RoutingDecision:
        model = self.model
        names, configs = model.names, model.configs
        name = names[chosen]
        reason = (
            f"learned policy at tradeoff {tradeoff:.2f}: {name} (P(success) {probs[chosen]:.2f}, "
            f"expected ${costs[chosen]:.4f})"
            + (f"; {NOVELTY_REASON} (novelty {novelty:.2f})" if pulled else "")
            + ("; exploring" if chosen != greedy else "")
        )
        selection = construct(
            ModelSelection,
            {
                "model": configs[chosen],
                "reason": reason,
                "alternatives": [configs[j] for j in chain[1:]],
                "estimated_cost": costs[chosen],
                "estimated_input_tokens": complexity.estimated_tokens,
                "estimated_output_tokens": 0,
            },
        )
        return construct(
            RoutingDecision,
            {
                "model": name,
                "complexity": complexity,
                "selection": selection,
                "reason": reason,
                "p_success": dict(zip(names, probs, strict=True)),
                "expected_cost_usd": dict(zip(names, costs, strict=True)),
                "escalation": [names[j] for j in chain],
                "tradeoff": tradeoff,
                "propensity": propensity,
                "source": self.source,
                "decision_id": decision_id,
                "metadata": metadata,
                "novelty": novelty,
                "model_version": self.model_version,
                "description": description,
                "cascade_start": cascade_start,
            },
        )


class RefreshingRouter(AliasFollower, Router):  # type: ignore[override]  # source, model_uri: live
    """A router that follows a registry alias: ``Router.load("models:/NAME@ALIAS", refresh=SECONDS)``.

    Every decision goes to the router the alias pointed at when the decision started; a daemon thread looks
    the alias up every ``refresh`` seconds and swaps the new version in between decisions (see
    :class:`router.learned.refresh.AliasFollower` for the attributes: ``model_version``, ``refreshes``,
    ``refresh_failures``, ``last_error``, ``refresh_now()``, ``close()``).

    Examples
    --------
    >>> with Router.load("models:/task-router@champion", refresh=30) as router:  # doctest: +SKIP
    ...     router.route("Fix the flaky login test").model_version
    'task-router/7'
    """


def resolve_uri(uri: str | Path) -> Path:
    """A local directory holding ``metadata.json`` for a path, ``models:/NAME@ALIAS`` or ``runs:/ID/PATH``."""
    text = str(uri)
    if text.startswith(("models:/", "runs:/")):
        try:
            require("mlflow", extra="mlflow")
        except MissingExtraError as exc:  # an ArtifactError: Router.load falls back, as for any other
            raise ArtifactError(f"Cannot load {text!r}: {exc}") from None
        from router.learned.registry import download  # MLflow, with timeouts: only while loading

        local = download(text)
    else:
        local = Path(text)
    if (local / "metadata.json").is_file() or not local.is_dir():
        return local
    # An MLflow pyfunc model (training.tracking.pyfunc) keeps the artifact under artifacts/router.
    if (local / "artifacts" / "router" / "metadata.json").is_file():
        return local / "artifacts" / "router"
    found = sorted(local.rglob("metadata.json"))
    return found[0].parent if found else local


def load_router(
    uri: str | Path,
    *,
    strict: bool = False,
    exploration_rate: float = 0.0,
    seed: int | None = None,
    collector: EventSink | None = None,
) -> Router:
    """See ``Router.load``."""
    try:
        return load_learned(uri, exploration_rate=exploration_rate, seed=seed, collector=collector)
    except ArtifactError as exc:
        if strict:
            raise
        log.warning("%s Falling back to the heuristic router.", exc)
        return Router(collector=collector)


def load_learned(
    uri: str | Path,
    *,
    exploration_rate: float = 0.0,
    seed: int | None = None,
    collector: EventSink | None = None,
    version: str | None = None,
    model_uri: str | None = None,
) -> LearnedRouter:
    """The learned router at ``uri``, or ``ArtifactError``.

    Its ``model_version`` is ``version`` when given; for ``models:/NAME@ALIAS`` or ``models:/NAME/N`` the
    registry version as ``NAME/N`` (an alias is resolved first and that version fetched, so the files are
    the version named); for anything else the artifact's hash, ``sha256:`` and 12 hex digits.
    """
    from router.learned.registry import RegistryRef, alias_version

    ref = RegistryRef.parse(str(uri))
    source: str | Path = uri
    if ref is not None and version is None:
        # An alias is resolved to its version first and that version fetched, so the two agree.
        number = alias_version(ref)
        source, version = ref.pinned(number), f"{ref.name}/{number}"
    arrays, meta = load_artifact(resolve_uri(source))
    if version is None:
        version = f"sha256:{str(meta.get('arrays_sha256', ''))[:12]}"
    return LearnedRouter(
        LearnedModel(arrays, meta),
        exploration_rate=exploration_rate,
        seed=seed,
        collector=collector,
        model_uri=model_uri or str(uri),
        model_version=version,
    )
