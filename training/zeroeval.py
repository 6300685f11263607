"""The shared ZeroEval outcomes (GSM8K and MATH level 5, nine chat models, every model on every question).

The files in ``../shared/data/zeroeval`` are already in the outcome-log schema (see their README); they stay
outside the repository and are read where they are. :func:`zeroeval_catalog` prices the nine models at the
list prices the README gives, so the heuristic router can route among them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from router._catalog import Catalog
from router._exceptions import InvalidInputError
from router._outcome_log import OutcomeLog, read_outcomes

ENV_VAR = "ROUTER_ZEROEVAL_DIR"
RELATIVE_DIR = Path("shared", "data", "zeroeval")
DATASETS = ("gsm8k", "math_l5")

#: Input and output list prices in dollars per million tokens (the README's table), and the tier.
PRICES: dict[str, tuple[float, float, str]] = {
    "Meta-Llama-3.1-8B-Instruct": (0.18, 0.18, "fast"),
    "gemini-1.5-flash": (0.075, 0.30, "fast"),
    "gpt-4o-mini-2024-07-18": (0.15, 0.60, "fast"),
    "claude-3-haiku-20240307": (0.25, 1.25, "fast"),
    "claude-3-5-haiku-20241022": (0.80, 4.00, "balanced"),
    "Meta-Llama-3.1-70B-Instruct": (0.88, 0.88, "balanced"),
    "gpt-4o-2024-08-06": (2.50, 10.00, "advanced"),
    "claude-3-5-sonnet-20241022": (3.00, 15.00, "advanced"),
    "claude-3-opus-20240229": (15.00, 75.00, "advanced"),
}


def find_data_dir(data_dir: str | os.PathLike[str] | None = None) -> Path:
    """``data_dir``, else ``$ROUTER_ZEROEVAL_DIR``, else the nearest ancestor's ``shared/data/zeroeval``."""
    if data_dir is not None:
        candidates = [Path(data_dir)]
    elif os.environ.get(ENV_VAR):
        candidates = [Path(os.environ[ENV_VAR])]
    else:
        candidates = [parent / RELATIVE_DIR for parent in Path(__file__).resolve().parents[1].parents]
    for candidate in candidates:
        if all((candidate / f"{name}.csv").is_file() for name in DATASETS):
            return candidate
    raise InvalidInputError(
        f"ZeroEval data not found (looked for gsm8k.csv and math_l5.csv in {candidates[0]} and its "
        f"ancestors' shared/data/zeroeval); set {ENV_VAR} or pass data_dir. The data stays in ../shared."
    )


def load_zeroeval(dataset: str, data_dir: str | os.PathLike[str] | None = None) -> OutcomeLog:
    """One ZeroEval set (``gsm8k`` or ``math_l5``) as a validated outcome log."""
    if dataset not in DATASETS:
        raise InvalidInputError(f"Unknown ZeroEval dataset {dataset!r}. Allowed: {', '.join(DATASETS)}.")
    return read_outcomes(find_data_dir(data_dir) / f"{dataset}.csv")


def zeroeval_catalog() -> Catalog:
    """The nine models at their list prices; the routing table is derived by price."""
    models: dict[str, dict[str, Any]] = {
        name: {"tier": tier, "input_cost_per_1m": price_in, "output_cost_per_1m": price_out,
               "context_window": 128_000, "max_output_tokens": 4_096, "latency_ms": 1000}
        for name, (price_in, price_out, tier) in PRICES.items()
    }  # fmt: skip
    return Catalog.from_dict({"models": models}, source="ZeroEval catalog")
