"""The learned cascade at serving time: from the attempts made so far to the next ``Step``.

Pure arithmetic over an artifact's arrays, no I/O: score each attempt's answer with the acceptance model
(``router.learned.answer_features``: its model, its output, who agrees with it), then follow the plan the
training chose for the tradeoff (``training.fit.cascade_plan``): stop and return the most likely answer when
its calibrated P(right) reaches the stage's threshold or the plan is done, else call the plan's next model
that has not been tried.

Attempts need not follow the plan (an orchestrator may have called other models first, or a model may have
failed): the stage is the number of attempts made, an attempt by a model the artifact does not know is
scored by the shared features alone, and the next model is always one the artifact knows and the task has
not tried.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from router._exceptions import ArtifactError, InvalidInputError
from router._types import Step, construct
from router.learned.answer_features import AnswerFeaturizer, output_length
from router.learned.policy import guard_row

#: The arrays a cascade adds to an artifact (all or none).
CASCADE_ARRAYS = (
    "accept_weights",
    "accept_bias",
    "accept_length_mean",
    "accept_length_scale",
    "cascade_tradeoffs",
    "cascade_orders",
    "cascade_thresholds",
    "cascade_default_tradeoff",
)


class CascadePolicy:
    """The acceptance model and the per-tradeoff plans of an artifact trained on answers."""

    def __init__(self, arrays: dict[str, np.ndarray], models: Sequence[str]) -> None:
        try:
            self.featurizer = AnswerFeaturizer(
                models, arrays["accept_length_mean"].tolist(), arrays["accept_length_scale"].tolist()
            )
            self.weights = [float(v) for v in arrays["accept_weights"]]
            self.bias = float(arrays["accept_bias"].reshape(-1)[0])
            self.tradeoffs = [float(v) for v in arrays["cascade_tradeoffs"]]
            self.orders = [[int(v) for v in row if v >= 0] for row in arrays["cascade_orders"]]
            self.thresholds = [[float(v) for v in row] for row in arrays["cascade_thresholds"]]
            self.default_tradeoff = float(arrays["cascade_default_tradeoff"].reshape(-1)[0])
        except (KeyError, ValueError, TypeError, IndexError) as exc:
            raise ArtifactError(f"Router artifact's cascade arrays are incomplete: {exc!r}") from exc
        m = len(self.featurizer.models)
        if len(self.weights) != self.featurizer.n_features or not self.tradeoffs:
            raise ArtifactError(
                f"Router artifact's acceptance model has {len(self.weights)} weights for "
                f"{self.featurizer.n_features} features, and {len(self.tradeoffs)} plans; expected equal "
                "counts and at least one plan."
            )
        if any(not row or max(row) >= m for row in self.orders) or len(self.orders) != len(self.tradeoffs):
            raise ArtifactError(f"Router artifact's cascade plans name models outside its {m} models.")
        self.models = list(self.featurizer.models)

    @classmethod
    def from_arrays(cls, arrays: dict[str, Any], models: Sequence[str]) -> CascadePolicy | None:
        """The artifact's cascade, or None when it was trained without answers (it has none of the arrays)."""
        present = [name for name in CASCADE_ARRAYS if name in arrays]
        if not present:
            return None
        if len(present) != len(CASCADE_ARRAYS):
            missing = sorted(set(CASCADE_ARRAYS) - set(present))
            raise ArtifactError(f"Router artifact has a partial cascade: {missing} missing.")
        return cls(arrays, models)

    def start(self, tradeoff: float) -> str:
        """The model the plan at ``tradeoff`` calls first (``next_step`` with no attempts asks for it)."""
        return self.models[self.orders[guard_row(tradeoff, self.tradeoffs)][0]]

    def p_correct(
        self, models: Sequence[str], answers: Sequence[str], lengths: Sequence[float]
    ) -> list[float]:
        """Calibrated P(right) of every attempt's answer, given all of them."""
        out = []
        w, b = self.weights, self.bias
        for i in range(len(models)):
            x = self.featurizer.vector(models, answers, lengths, i)
            z = b + math.fsum(xi * wi for xi, wi in zip(x, w, strict=True) if xi)
            out.append(1.0 / (1.0 + math.exp(-min(max(z, -30.0), 30.0))))
        return out

    def next_step(self, attempts: Sequence[tuple[str, str, str | None]], tradeoff: float) -> Step:
        """The next step at ``tradeoff`` after ``attempts`` (``(model, answer, output)`` tuples)."""
        row = guard_row(tradeoff, self.tradeoffs)
        order, thresholds = self.orders[row], self.thresholds[row]
        tried = {a[0] for a in attempts}
        upcoming = [self.models[j] for j in order if self.models[j] not in tried]
        if not attempts:
            return _step(
                upcoming[0], None, None, [f"plan at tradeoff {self.tradeoffs[row]:.3f}: {upcoming[0]} first"]
            )
        models = [a[0] for a in attempts]
        answers = [a[1] for a in attempts]
        p = self.p_correct(models, answers, [output_length(a[2]) for a in attempts])
        best = max(range(len(p)), key=lambda i: (p[i], -i))
        reasons = _agreement_reasons(models, answers, best)
        stage = min(len(attempts), len(order)) - 1
        threshold = thresholds[stage]
        if len(attempts) >= len(order) or not upcoming:
            reasons.append(
                f"plan of {len(order)} call(s) done: return {models[best]}'s answer (P(right) {p[best]:.2f})"
            )
            return _step(None, best, p[best], reasons)
        if p[best] >= threshold:
            reasons.append(f"P(right) {p[best]:.2f} >= {threshold:.2f}: stop with {models[best]}'s answer")
            return _step(None, best, p[best], reasons)
        reasons.append(f"P(right) {p[best]:.2f} < {threshold:.2f}: call {upcoming[0]}")
        return _step(upcoming[0], best, p[best], reasons)


def _agreement_reasons(models: Sequence[str], answers: Sequence[str], best: int) -> list[str]:
    """Words for what the answers say: how many agree with the best one, and which are empty."""
    reasons = [f"answer empty ({models[i]})" for i, a in enumerate(answers) if not a]
    if answers[best] and len(answers) > 1:
        agree = sum(1 for a in answers if a == answers[best])
        reasons.insert(0, f"{agree} of {len(answers)} answers agree")
    return reasons


def _step(model: str | None, answer_from: int | None, p: float | None, reasons: list[str]) -> Step:
    return construct(Step, {"model": model, "answer_from": answer_from, "p_correct": p, "reasons": reasons})


def check_attempts(attempts: object) -> list[tuple[str, str, str | None]]:
    """Attempts as ``(model, answer, output)`` tuples: from tuples or objects with those attributes.

    An answer of None reads as ``''`` (no answer); a bad attempt raises ``InvalidInputError`` naming its
    index, the field and the value.
    """
    if isinstance(attempts, str | bytes) or not isinstance(attempts, Iterable):
        raise InvalidInputError(
            f"attempts must be a sequence of (model, answer, output), got {type(attempts).__name__}"
        )
    out = []
    for k, item in enumerate(attempts):
        if isinstance(item, tuple | list):
            if len(item) != 3:
                raise InvalidInputError(
                    f"attempts[{k}] must be (model, answer, output), got {len(item)} values"
                )
            model, answer, output = item
        else:
            try:
                model, answer, output = item.model, item.answer, item.output
            except AttributeError as exc:
                raise InvalidInputError(
                    f"attempts[{k}] must be a (model, answer, output) tuple or have those attributes, got "
                    f"{type(item).__name__}"
                ) from exc
        if not isinstance(model, str) or not model:
            raise InvalidInputError(f"attempts[{k}].model must be a non-empty str, got {model!r}")
        for field, value in (("answer", answer), ("output", output)):
            if value is not None and not isinstance(value, str):
                raise InvalidInputError(
                    f"attempts[{k}].{field} must be a str or None, got {type(value).__name__}"
                )
        out.append((model, (answer or "").strip(), output))
    return out


def escalation_step(escalation: Sequence[str], attempts: Sequence[tuple[str, str, str | None]]) -> Step:
    """Today's cascade as a ``Step``: stop at the first clean answer, else call the escalation's next model.

    Used by a learned router trained without answers only where the heuristic router has no ``next_step``
    of its own; the heuristic's, where present, is the one that decides.
    """
    for k, (model, answer, _) in enumerate(attempts):
        if answer:
            return _step(None, k, None, [f"{model} gave a clean answer"])
    tried = {a[0] for a in attempts}
    upcoming = [m for m in escalation if m not in tried]
    reasons = [f"answer empty ({a[0]})" for a in attempts]
    if not upcoming:
        return _step(None, len(attempts) - 1 if attempts else None, None, [*reasons, "escalation exhausted"])
    return _step(upcoming[0], None, None, [*reasons, f"escalate to {upcoming[0]}"])
