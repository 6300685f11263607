"""The routers the learned one is compared with, each making the same prediction (every model's P(success)
and expected cost for a task, then the choice at a tradeoff) in the way a team would build it without ours.

* ``PlainPipelineRouter``: what a straightforward scikit-learn implementation costs. A ``Pipeline`` of
  ``TfidfVectorizer(ngram_range=(1, 2), max_features=2000)`` and a ``MultiOutputClassifier`` of logistic
  regressions (one per model) for success, and a TF-IDF + ``Ridge`` pipeline on log cost, called on one
  description at a time.
* ``KnnRouter``: the embedding peer (``benchmarks._embed``): MiniLM embedding, k nearest training tasks.

Both choose with the learned router's own policy (``router.learned.policy.choose``), so only the
prediction differs.
They return the chosen model's name; the learned and heuristic routers return a full ``RoutingDecision``
(complexity, reasons, escalation), so the comparison flatters the peers, if anything.
"""

from __future__ import annotations

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
