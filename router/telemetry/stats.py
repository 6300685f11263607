"""The statistics behind drift and calibration alerts, each a test with a stated false-alarm rate.

* Drift: the population stability index (PSI, the symmetric Kullback–Leibler divergence between the window's
  and the reference's category shares, with half a count added to every cell). For two samples of sizes
  ``n`` and ``N`` from one distribution, ``PSI / (1/n + 1/N)`` is asymptotically chi-square with ``k - 1``
  degrees of freedom (it is Pearson's statistic to second order), which gives a p-value and a critical PSI.
* Calibration: the expected calibration error (ECE) over ten bins of predicted probability, and the
  Hosmer–Lemeshow statistic ``sum (O - E)^2 / (E (1 - E/n))`` over the same bins, chi-square with as many
  degrees of freedom as non-empty bins when the predictions are calibrated (they were not fitted to these
  outcomes).
* A success drop: observed successes against the predicted ones (one-sided z with variance ``sum p(1-p)``),
  or, without predictions, against a baseline period (a two-proportion z-test).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

SMOOTHING = 0.5
CALIBRATION_BINS = 10


@dataclass(frozen=True)
class PsiTest:
    psi: float
    p_value: float
    window: int
    reference: int
    categories: int

    def critical(self, false_alarm: float) -> float:
        """The PSI that two samples of these sizes from one distribution exceed with ``false_alarm`` odds."""
        from scipy.stats import chi2

        return float(chi2.isf(false_alarm, max(1, self.categories - 1))) * (
            1 / self.window + 1 / self.reference
        )


def psi_test(reference: Mapping[str, int], window: Mapping[str, int]) -> PsiTest:
    from scipy.stats import chi2

    cats = sorted(set(reference) | set(window))
    n_ref, n_win = sum(reference.values()), sum(window.values())
    if not cats or n_ref == 0 or n_win == 0:
        return PsiTest(0.0, 1.0, n_win, n_ref, len(cats))
    k = len(cats)
    psi = 0.0
    for cat in cats:
        q = (reference.get(cat, 0) + SMOOTHING) / (n_ref + SMOOTHING * k)
        p = (window.get(cat, 0) + SMOOTHING) / (n_win + SMOOTHING * k)
        psi += (p - q) * math.log(p / q)
    statistic = psi / (1 / n_win + 1 / n_ref)
    p_value = float(chi2.sf(statistic, max(1, k - 1)))
    return PsiTest(psi, p_value, n_win, n_ref, k)


@dataclass(frozen=True)
class CalibrationRow:
    low: float
    high: float
    count: int
    predicted: float
    observed: float


@dataclass(frozen=True)
class CalibrationTest:
    samples: int
    ece: float
    hosmer_lemeshow: float
    p_value: float
    mean_predicted: float
    observed: float
    #: Predicted minus observed success rate, and the one-sided p-value of a drop that large.
    drop: float
    drop_p_value: float
    table: list[CalibrationRow]


def calibration_test(predicted: Sequence[float], observed: Sequence[float]) -> CalibrationTest:
    from scipy.stats import chi2, norm

    n = len(predicted)
    if n == 0:
        return CalibrationTest(0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, [])
    sums = [[0, 0.0, 0.0] for _ in range(CALIBRATION_BINS)]
    for p, y in zip(predicted, observed, strict=True):
        cell = sums[min(CALIBRATION_BINS - 1, int(p * CALIBRATION_BINS))]
        cell[0] += 1
        cell[1] += p
        cell[2] += y
    table, ece, hl, bins = [], 0.0, 0.0, 0
    for i, (count, p_sum, y_sum) in enumerate(sums):
        if not count:
            continue
        bins += 1
        table.append(
            CalibrationRow(
                i / CALIBRATION_BINS, (i + 1) / CALIBRATION_BINS, int(count), p_sum / count, y_sum / count
            )
        )
        ece += abs(p_sum - y_sum) / n
        variance = p_sum * (1 - p_sum / count)
        if variance > 1e-9:
            hl += (y_sum - p_sum) ** 2 / variance
    total_p, total_y = sum(predicted), float(sum(observed))
    spread = math.sqrt(sum(p * (1 - p) for p in predicted)) or 1e-9
    z = (total_p - total_y) / spread
    return CalibrationTest(
        samples=n,
        ece=ece,
        hosmer_lemeshow=hl,
        p_value=float(chi2.sf(hl, max(1, bins))),
        mean_predicted=total_p / n,
        observed=total_y / n,
        drop=(total_p - total_y) / n,
        drop_p_value=float(norm.sf(z)),
        table=table,
    )


def proportion_drop(
    baseline_successes: float, baseline_n: int, successes: float, n: int
) -> tuple[float, float]:
    """(baseline rate − window rate, one-sided p-value of a drop at least that large)."""
    from scipy.stats import norm

    if baseline_n == 0 or n == 0:
        return 0.0, 1.0
    p1, p2 = baseline_successes / baseline_n, successes / n
    pooled = (baseline_successes + successes) / (baseline_n + n)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / baseline_n + 1 / n))
    if spread == 0:
        return p1 - p2, 1.0 if p1 <= p2 else 0.0
    return p1 - p2, float(norm.sf((p1 - p2) / spread))


def percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)
