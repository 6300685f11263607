"""The routers the learned one is compared with, each making the same prediction (every model's P(success)
and expected cost for a task, then the choice at a tradeoff) in the way a team would build it without ours.

* ``PlainPipelineRouter``: what a straightforward scikit-learn implementation costs. A ``Pipeline`` of
  ``TfidfVectorizer(ngram_range=(1, 2), max_features=2000)`` and a ``MultiOutputClassifier`` of logistic
  regressions (one per model) for success, and a TF-IDF + ``Ridge`` pipeline on log cost, called on one
  description at a time.
* ``KnnRouter``: the embedding peer (``benchmarks._embed``): MiniLM embedding, k nearest training tasks.

Both choose with the learned router's own policy (``router.learned.policy.choose``), so only the
prediction differs.

* ``LiteLLMComplexityPeer``: LiteLLM's own complexity router (``ComplexityRouter``, litellm 1.110.2, the
  optional extra ``.[bench-peers]``), classifier types ``heuristic`` (weighted keyword and length scoring)
  and ``heuristic_v2`` (its bundled success-probability artifact). It maps a prompt to one of four tiers and
  a tier table maps the tier to a model; only that local classifier and table lookup run, in-process and
  offline (``LITELLM_LOCAL_MODEL_COST_MAP=True`` before litellm is imported), never a completion. The table
  comes from :func:`tiers_by_cost` (no training) or :func:`tune_tiers` (fitted on training tasks only).

The peers return the chosen model's name; the learned and heuristic routers return a full ``RoutingDecision``
(complexity, reasons, escalation), so the comparison flatters the peers, if anything.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.multioutput import MultiOutputClassifier
from sklearn.pipeline import Pipeline

from router.learned.policy import choose, choose_many


class PlainPipelineRouter:
    def __init__(self, models: list[str], mu: float) -> None:
        self.models = models
        self.mu = mu

    def fit(self, texts: list[str], success: np.ndarray, cost: np.ndarray) -> PlainPipelineRouter:
        def tfidf() -> TfidfVectorizer:
            return TfidfVectorizer(ngram_range=(1, 2), max_features=2000, sublinear_tf=True)

        self.success_ = Pipeline(
            [("tfidf", tfidf()), ("clf", MultiOutputClassifier(LogisticRegression(C=1.0, max_iter=1000)))]
        ).fit(texts, success.astype(int))
        self.cost_ = Pipeline([("tfidf", tfidf()), ("reg", Ridge(alpha=3.0))]).fit(
            texts, np.log(np.maximum(cost, 1e-6))
        )
        return self

    def predict(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        # A model that always (or never) succeeded in training has one class: its column is constant.
        probas = self.success_.predict_proba(texts)
        p = np.column_stack([pr[:, -1] if pr.shape[1] == 2 else np.full(len(texts), 0.5) for pr in probas])
        return p, np.exp(self.cost_.predict(texts))

    def route(self, description: str) -> str:
        p, c = self.predict([description])
        return self.models[choose(p[0], c[0], self.mu)]

    def route_many(self, descriptions: list[str]) -> list[str]:
        p, c = self.predict(descriptions)
        return [self.models[j] for j in choose_many(p, c, self.mu)]


class KnnRouter:
    def __init__(
        self,
        model: Any,
        index: np.ndarray,
        success: np.ndarray,
        cost: np.ndarray,
        models: list[str],
        mu: float,
    ) -> None:
        self.model, self.index, self.success, self.cost = model, index, success, cost
        self.models, self.mu = models, mu

    def _predict(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        from benchmarks._embed import embed, neighbour_means

        return neighbour_means(embed(self.model, texts), self.index, self.success, self.cost)

    def route(self, description: str) -> str:
        p, c = self._predict([description])
        return self.models[choose(p[0], c[0], self.mu)]

    def route_many(self, descriptions: list[str]) -> list[str]:
        p, c = self._predict(descriptions)
        return [self.models[j] for j in choose_many(p, c, self.mu)]


#: LiteLLM's local classifier types the benchmark compares with (no LLM call, no network).
LITELLM_CLASSIFIERS = ("heuristic", "heuristic_v2")
#: Its four built-in tiers, cheapest first (``ComplexityTier``; NON_REASONING needs an LLM classifier).
LITELLM_TIERS = ("SIMPLE", "MEDIUM", "COMPLEX", "REASONING")


def litellm_unavailable() -> str | None:
    """Why the LiteLLM peer cannot run here, or None when it can."""
    if importlib.util.find_spec("litellm") is None:
        return "litellm is not installed: pip install '.[bench-peers]'"
    return None


def tiers_by_cost(models: Sequence[str], mean_cost: Sequence[float]) -> dict[str, str]:
    """LiteLLM's tiers mapped to models by cost, with no training: the cheapest model for SIMPLE, the
    dearest for REASONING, and the tiers between spread evenly over the models ranked by mean cost (tier
    ``i`` of ``T`` gets rank ``round(i * (n - 1) / (T - 1))``), as an operator would fill the table from a
    price list."""
    if len(models) != len(mean_cost) or not models:
        raise ValueError(f"need one mean cost per model, got {len(models)} models, {len(mean_cost)} costs")
    ranked = [models[j] for j in np.argsort(np.asarray(mean_cost, dtype=float), kind="stable")]
    last = len(LITELLM_TIERS) - 1
    return {tier: ranked[round(i * (len(ranked) - 1) / last)] for i, tier in enumerate(LITELLM_TIERS)}


def tune_tiers(
    tiers: Sequence[str], success: np.ndarray, cost: np.ndarray, models: Sequence[str], mu: float
) -> dict[str, str]:
    """The tier table tuned on training tasks: per tier, the model with the highest mean utility
    ``success - mu * cost`` over the training tasks LiteLLM put in that tier.

    This is the objective the learned router maximises per task (``router.learned.policy.choose``) at the
    exchange rate ``mu`` of its default tradeoff (``mu_for(default_tradeoff, kappa)`` of the router fitted on
    the same training fold), so the peer is tuned to the learned router's own goal; being one choice per
    tier, the optimum is exact. A tier with no training task gets the choice over all training tasks.
    Pass training rows only (``tiers``, ``success``, ``cost`` aligned, one row per task): nothing else is
    seen.
    """
    tiers = np.asarray(tiers)
    if not (len(tiers) == len(success) == len(cost)) or len(tiers) == 0:
        raise ValueError(
            f"tiers, success and cost need the same, non-zero length: {len(tiers)}, "
            f"{len(success)}, {len(cost)}"
        )
    everyone = choose(success.mean(0).tolist(), cost.mean(0).tolist(), mu)
    table = {}
    for tier in LITELLM_TIERS:
        rows = tiers == tier
        pick = (
            choose(success[rows].mean(0).tolist(), cost[rows].mean(0).tolist(), mu)
            if rows.any()
            else everyone
        )
        table[tier] = models[pick]
    return table


class LiteLLMComplexityPeer:
    """LiteLLM's ``ComplexityRouter`` with one classifier type and one tier table, run locally.

    ``tier`` and ``tiers_of`` call ``ComplexityRouter._classify_locally``: the synchronous body that the
    public ``aclassify`` runs, with no await, for these two classifier types (the test checks the two agree),
    so the timings carry no event-loop overhead. ``route`` adds LiteLLM's own ``get_model_for_tier``.
    """

    def __init__(self, classifier_type: str, tiers: dict[str, str]) -> None:
        if classifier_type not in LITELLM_CLASSIFIERS:
            raise ValueError(
                f"classifier_type must be one of {list(LITELLM_CLASSIFIERS)}, got {classifier_type!r}"
            )
        # Before litellm is first imported: its model cost map is then read from the package, not fetched.
        os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
        from litellm.router_strategy.complexity_router import ComplexityRouter

        self.classifier_type = classifier_type
        self.tiers = dict(tiers)
        # No routing context: the local classifier and the tier table never reach the LiteLLM Router.
        self._router = ComplexityRouter(
            "bench-peer", None, {"classifier_type": classifier_type, "tiers": self.tiers}
        )

    def tier(self, description: str) -> str:
        return self._router._classify_locally(description, None).tier.value

    def tiers_of(self, descriptions: Sequence[str]) -> list[str]:
        return [self.tier(d) for d in descriptions]

    def route(self, description: str) -> str:
        return self._router.get_model_for_tier(self._router._classify_locally(description, None).tier)

    def route_many(self, descriptions: list[str]) -> list[str]:
        return [self.route(d) for d in descriptions]


def held_out_tables(
    tiers: Sequence[str],
    success: np.ndarray,
    cost: np.ndarray,
    models: Sequence[str],
    fold_of: np.ndarray,
    mu_of_fold: dict[int, float] | None = None,
) -> np.ndarray:
    """Each task's model column when its fold's tier table is built on the other folds' tasks only.

    ``tiers``: LiteLLM's tier per task (its classifier is untrained, so classifying every task once is
    fair); ``fold_of``: each task's held-out fold. With ``mu_of_fold`` (per fold, the exchange rate of the
    learned router fitted on that fold's training tasks) the table is :func:`tune_tiers`; without it,
    :func:`tiers_by_cost` on the training tasks' mean costs.
    """
    tiers = np.asarray(tiers)
    chosen = np.zeros(len(tiers), dtype=np.int64)
    column = {m: j for j, m in enumerate(models)}
    for k in np.unique(fold_of):
        test, train = fold_of == k, fold_of != k
        if mu_of_fold is None:
            table = tiers_by_cost(list(models), cost[train].mean(0).tolist())
        else:
            table = tune_tiers(tiers[train], success[train], cost[train], models, mu_of_fold[int(k)])
        chosen[test] = [column[table[t]] for t in tiers[test]]
    return chosen
