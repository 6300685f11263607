"""Features of one attempt's answer among the attempts made so far: what the acceptance model reads.

For a candidate attempt ``i`` among the attempts ``S`` made on a task (in any order: the features depend on
the set, not the order), the vector is, in this order (``m`` the trained models)::

    model[m]       1 for the candidate's model
    agree[m]       1 for each other attempt whose non-empty answer equals the candidate's
    disagree[m]    1 for each other attempt whose non-empty answer differs from the candidate's
    shared[7]      empty answer, output length (log, standardised per model, clipped at 3 sd), number of
                   others agreeing, number disagreeing, size of the largest competing answer, unanimity
                   (every other attempt agrees, at least one), number of attempts

The per-model blocks learn each model's own reliability and whose agreement is worth what (FrugalGPT's
scorer of (query, answer), without reading the text); the shared block carries what transfers to models and
task families the log never saw (an attempt by a model the artifact does not know gets zeros in the
per-model blocks). An empty answer agrees and disagrees with nothing: "no answer" is no evidence.

One featurizer for training and serving: serving computes one vector in plain Python
(:meth:`AnswerFeaturizer.vector`), training computes all of a replay at once in numpy
(:meth:`AnswerFeaturizer.batch`); ``tests/learned/test_answer_features.py`` checks that they agree.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

#: Standardised output lengths are clipped to this many standard deviations.
LENGTH_CLIP = 3.0
SHARED_NAMES = ("empty", "length_z", "n_agree", "n_disagree", "largest_rival", "unanimous", "n_attempts")


def output_length(output: str | None) -> float:
    """log(1 + characters) of an output (0 for none): the scale on which lengths are standardised."""
    return math.log1p(len(output)) if output else 0.0


class AnswerFeaturizer:
    """Computes acceptance features for trained ``models`` with per-model output-length statistics.

    Parameters
    ----------
    models : sequence of str
        The models with their own weights, in the artifact's order.
    length_mean, length_scale : sequence of float
        Per model, mean and standard deviation of ``output_length`` on the training attempts.
    """

    def __init__(self, models: Sequence[str], length_mean: Sequence[float], length_scale: Sequence[float]):
        self.models = list(models)
        self.index = {name: j for j, name in enumerate(self.models)}
        self.length_mean = [float(v) for v in length_mean]
        self.length_scale = [max(float(v), 1e-6) for v in length_scale]
        # Attempts by models the artifact does not know: standardised by the pooled statistics.
        self._pooled = (float(np.mean(self.length_mean)), float(np.mean(self.length_scale)))

    @property
    def n_features(self) -> int:
        return 3 * len(self.models) + len(SHARED_NAMES)

    def names(self) -> list[str]:
        """The feature names, in the vector's order."""
        blocks = [f"{kind}:{m}" for kind in ("model", "agree", "disagree") for m in self.models]
        return blocks + list(SHARED_NAMES)

    def length_z(self, model: str, length: float) -> float:
        j = self.index.get(model)
        mean, scale = (self.length_mean[j], self.length_scale[j]) if j is not None else self._pooled
        # Clipped: an output far outside what training saw (a bare "42", a 100 KB dump) must not carry
        # the answer's probability on a linear term extrapolated past the data.
        return min(max((length - mean) / scale, -LENGTH_CLIP), LENGTH_CLIP)

    def vector(
        self, models: Sequence[str], answers: Sequence[str], lengths: Sequence[float], i: int
    ) -> list[float]:
        """The features of attempt ``i`` among the attempts given (answers ``''`` where none was parsed)."""
        m = len(self.models)
        x = [0.0] * (3 * m)
        index = self.index
        own = answers[i]
        j = index.get(models[i])
        if j is not None:
            x[j] = 1.0
        n_agree = n_disagree = 0
        rivals: dict[str, int] = {}
        for k, (name, answer) in enumerate(zip(models, answers, strict=True)):
            if k == i or not answer or not own:
                continue
            jk = index.get(name)
            if answer == own:
                n_agree += 1
                if jk is not None:
                    x[m + jk] = 1.0
            else:
                n_disagree += 1
                rivals[answer] = rivals.get(answer, 0) + 1
                if jk is not None:
                    x[2 * m + jk] = 1.0
        x.extend(
            (
                0.0 if own else 1.0,
                self.length_z(models[i], lengths[i]),
                float(n_agree),
                float(n_disagree),
                float(max(rivals.values(), default=0)),
                1.0 if n_agree and not n_disagree and n_agree == len(models) - 1 else 0.0,
                float(len(models)),
            )
        )
        return x

    def batch(
        self, agree: np.ndarray, nonempty: np.ndarray, length: np.ndarray, subset: np.ndarray
    ) -> np.ndarray:
        """Features of every member of one subset of models, for many tasks at once.

        ``agree[n, i, j]``: task ``n``'s answers of models ``i`` and ``j`` are equal and non-empty;
        ``nonempty[n, i]``; ``length[n, i]`` (``output_length``); ``subset``: the model indices tried, in
        any order. Returns an array (tasks, len(subset), n_features), the candidates in ``subset``'s order.
        """
        m = len(self.models)
        subset = np.asarray(subset, dtype=np.int64)
        n, k = agree.shape[0], len(subset)
        out = np.zeros((n, k, 3 * m + len(SHARED_NAMES)))
        sub_agree = agree[:, subset][:, :, subset].astype(bool)  # (n, k, k)
        ne = nonempty[:, subset].astype(bool)  # (n, k)
        others = ~np.eye(k, dtype=bool)[None, :, :]
        both = ne[:, :, None] & ne[:, None, :] & others
        ag = sub_agree & both
        dis = ~sub_agree & both
        for c in range(k):
            out[:, c, subset[c]] = 1.0
            out[:, c, m + subset] = ag[:, c, :]
            out[:, c, 2 * m + subset] = dis[:, c, :]
        n_agree = ag.sum(axis=2)
        n_dis = dis.sum(axis=2)
        # The largest rival: per candidate, the biggest group of mutually agreeing others it disagrees with.
        rival = np.where(dis[:, :, :, None] & dis[:, :, None, :] & sub_agree[:, None, :, :], 1, 0).sum(axis=3)
        largest = np.where(dis, rival, 0).max(axis=2) if k > 1 else np.zeros((n, k))
        mean = np.asarray(self.length_mean)[subset]
        scale = np.asarray(self.length_scale)[subset]
        base = 3 * m
        out[:, :, base] = ~ne
        out[:, :, base + 1] = np.clip((length[:, subset] - mean) / scale, -LENGTH_CLIP, LENGTH_CLIP)
        out[:, :, base + 2] = n_agree
        out[:, :, base + 3] = n_dis
        out[:, :, base + 4] = largest
        out[:, :, base + 5] = (n_agree > 0) & (n_dis == 0) & (n_agree == k - 1)
        out[:, :, base + 6] = k
        return out
