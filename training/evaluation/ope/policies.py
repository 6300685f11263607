"""The policies off-policy evaluation can judge: for every task of a log, the probability of each model.

* :class:`LearnedPolicy`: a trained router (artifact directory or ``models:/`` URI) at a tradeoff, through
  the serving arithmetic's batch path (``analyze_batch``, ``predict_batch``, ``choose_many``), with each
  task's logged files and metadata;
* :class:`HeuristicPolicy`: the heuristic router of the specification, on a catalog;
* :class:`SingleModelPolicy`: always one model;
* :class:`FixedMixPolicy`: each model with a fixed share, whatever the task.

:func:`policy_from_spec` builds one from a string: ``heuristic``, ``model:NAME``, ``mix:a=0.3,b=0.7``, or
anything else as a router URI. Every policy implements one method, ``_probabilities``; ``probabilities``
checks its output.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from router._catalog import Catalog
from router._exceptions import InvalidInputError
from router.estimation.estimator import FileFacts
from router.learned.policy import mu_for
from router.selection.heuristic import check_tradeoff

CHUNK = 8192  # tasks per batch of the learned policy: bounds the temporaries, whatever the log's size


#: Per task, the metadata mapping its log row holds (None: the log has no metadata column).
TaskMetadata = Sequence[Mapping[str, str]] | None


class Policy(ABC):
    """What a policy does on a log's tasks: a probability per model (rows sum to 1)."""

    name = "policy"
    #: Dollars-to-success exchange rate the policy itself decides at (``mu``), when it has one.
    cost_weight: float = 0.0

    def probabilities(
        self, descriptions: list[str], facts: list[FileFacts], metadata: TaskMetadata = None
    ) -> tuple[list[str], np.ndarray]:
        """The model names and, per task, the probability of choosing each (``metadata``: one mapping per
        task, as the log holds it, for the policies that use it)."""
        names, probs = self._probabilities(descriptions, facts, metadata)
        probs = np.asarray(probs, dtype=np.float64)
        if probs.shape != (len(descriptions), len(names)) or not np.allclose(probs.sum(axis=1), 1.0):
            raise ValueError(f"{self.name}: probabilities must be one distribution per task")
        return names, probs

    @abstractmethod
    def _probabilities(
        self, descriptions: list[str], facts: list[FileFacts], metadata: TaskMetadata
    ) -> tuple[list[str], np.ndarray]:
        """Model names and an (n tasks x n models) matrix of choice probabilities."""


def one_hot(choice: np.ndarray, n_models: int) -> np.ndarray:
    probs = np.zeros((len(choice), n_models))
    probs[np.arange(len(choice)), choice] = 1.0
    return probs


class LearnedPolicy(Policy):
    """A trained router's first choice at ``tradeoff`` (its calibrated default when None)."""

    def __init__(self, uri: str | Path, *, tradeoff: float | None = None) -> None:
        from router.learned.artifact import load_artifact
        from router.learned.model import LearnedModel
        from router.learned.router import resolve_uri

        self.uri = str(uri)
        self.model = LearnedModel(*load_artifact(resolve_uri(uri)))
        self.tradeoff = self.model.default_tradeoff if tradeoff is None else check_tradeoff(tradeoff)
        self.mu = mu_for(float(self.tradeoff or 0.0), self.model.kappa)
        self.cost_weight = 0.0 if math.isinf(self.mu) else self.mu
        self.name = f"learned router {self.uri} at tradeoff {self.tradeoff:.3g}"

    def _probabilities(
        self, descriptions: list[str], facts: list[FileFacts], metadata: TaskMetadata
    ) -> tuple[list[str], np.ndarray]:
        from router.learned.policy import choose_many

        model = self.model
        choice = np.empty(len(descriptions), dtype=np.int64)
        for at in range(0, len(descriptions), CHUNK):
            # The batch path (numpy over the chunk), with the files and metadata each task was logged with.
            analysis = model.featurizer.analyze_batch(descriptions[at : at + CHUNK], facts[at : at + CHUNK])
            p, cost = model.predict_batch(analysis, None if metadata is None else metadata[at : at + CHUNK])
            # The hull guard as serving applies it: only the models it allows at this tradeoff.
            choice[at : at + CHUNK] = choose_many(
                p, cost, self.mu, model.allowed_mask(float(self.tradeoff or 0.0))
            )
        return model.names, one_hot(choice, len(model.names))


class HeuristicPolicy(Policy):
    """The heuristic router (estimator, then selector) on ``catalog`` at ``tradeoff``."""

    def __init__(self, catalog: Catalog | None = None, *, tradeoff: float | None = None) -> None:
        from router.selection.heuristic import HeuristicRouter

        self.router = HeuristicRouter(catalog)
        self.tradeoff = check_tradeoff(tradeoff)
        self.name = "heuristic router" + ("" if tradeoff is None else f" at tradeoff {tradeoff:.3g}")

    def _probabilities(
        self, descriptions: list[str], facts: list[FileFacts], metadata: TaskMetadata
    ) -> tuple[list[str], np.ndarray]:
        router = self.router
        names = router.catalog.names()
        index = {n: j for j, n in enumerate(names)}
        estimate = router.estimator.estimate_text
        choice = np.array(
            [
                index[router._decide(estimate(d.lower(), f, 0), self.tradeoff).model]
                for d, f in zip(descriptions, facts, strict=True)
            ],
            dtype=np.int64,
        )
        return names, one_hot(choice, len(names))


class FixedMixPolicy(Policy):
    """Each model with a fixed share of the tasks (shares are normalised to sum to 1)."""

    def __init__(self, shares: Mapping[str, float]) -> None:
        bad = {k: v for k, v in shares.items() if not (isinstance(v, int | float) and v >= 0)}
        total = sum(float(v) for v in shares.values()) if not bad else 0.0
        if bad or not shares or total <= 0:
            raise InvalidInputError(
                f"A fixed mix needs one or more models with shares >= 0 summing above 0, got {dict(shares)!r}"
            )
        self.shares = {k: float(v) / total for k, v in shares.items()}
        self.name = "mix " + ", ".join(f"{k} {v:.0%}" for k, v in self.shares.items())

    def _probabilities(
        self, descriptions: list[str], facts: list[FileFacts], metadata: TaskMetadata
    ) -> tuple[list[str], np.ndarray]:
        names = list(self.shares)
        return names, np.tile(np.array([self.shares[n] for n in names]), (len(descriptions), 1))


class SingleModelPolicy(FixedMixPolicy):
    """Always the one model ``model``."""

    def __init__(self, model: str) -> None:
        super().__init__({model: 1.0})
        self.name = f"always {model}"


def _mix(text: str) -> dict[str, float]:
    shares = {}
    for part in text.split(","):
        name, _, share = part.partition("=")
        try:
            shares[name.strip()] = float(share)
        except ValueError:
            raise InvalidInputError(
                f"Bad fixed mix {text!r}: write mix:MODEL=SHARE,MODEL=SHARE "
                "(for example mix:haiku=0.7,opus=0.3)"
            ) from None
    total = sum(shares.values())
    if all(share >= 0 for share in shares.values()) and not math.isclose(total, 1.0, abs_tol=1e-6):
        # Rescaling silently would evaluate another mix than the one written (0.7 + 0.7 is a typo).
        raise InvalidInputError(
            f"Bad fixed mix {text!r}: the shares sum to {total:g}, not 1 (for example mix:haiku=0.7,opus=0.3)"
        )
    return shares


def policy_from_spec(spec: str, *, catalog: Catalog | None = None, tradeoff: float | None = None) -> Policy:
    """A policy from its text: ``heuristic``, ``model:NAME``, ``mix:A=0.3,B=0.7`` or a router URI.

    Examples
    --------
    >>> policy_from_spec("mix:haiku=0.25,opus=0.75").shares
    {'haiku': 0.25, 'opus': 0.75}
    """
    if spec == "heuristic":
        return HeuristicPolicy(catalog, tradeoff=tradeoff)
    if spec.startswith("model:"):
        return SingleModelPolicy(spec.removeprefix("model:"))
    if spec.startswith("mix:"):
        return FixedMixPolicy(_mix(spec.removeprefix("mix:")))
    return LearnedPolicy(spec, tradeoff=tradeoff)
