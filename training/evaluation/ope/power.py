"""What a log can show: the smallest improvement a one-sided 95% gate sees four times in five, and the
tasks an improvement of a given size needs.

The gate promotes when ``difference - z95 * se >= 0``. If the true improvement is ``d`` and the estimate is
roughly normal around it, that happens with probability 80% when ``d = (z95 + z80) * se``. The standard error
of a log's estimate shrinks as one over the square root of its tasks, so a log of ``n`` tasks that sees
``detectable`` needs ``n * (detectable / effect) ** 2`` tasks, logged the same way, to see ``effect``.
"""

from __future__ import annotations

Z_ONE_SIDED_95, Z_POWER_80 = 1.6449, 0.8416


def detectable_effect(difference: float, lower_bound: float) -> float:
    """The smallest true improvement seen with 80% power on a log like the one that gave this estimate
    (``difference``) and its one-sided 95% lower bound."""
    se = max(difference - lower_bound, 0.0) / Z_ONE_SIDED_95
    return (Z_ONE_SIDED_95 + Z_POWER_80) * se


def tasks_for(effect: float, detectable: float, tasks: int) -> int:
    """Tasks, logged the same way as the ``tasks`` that gave ``detectable``, for ``effect`` to be seen with
    80% power (never fewer than the log already holds)."""
    if effect <= 0:
        raise ValueError(f"effect must be > 0, got {effect!r}")
    return max(tasks, round(tasks * (detectable / effect) ** 2))
