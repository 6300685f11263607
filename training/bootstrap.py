"""Bootstrapping: a first learned router from task descriptions alone, before any outcome is logged.

Each description is labelled by the heuristic router: the model the heuristic picks, and every dearer model,
count as successes; cheaper ones as failures. Costs are the selector's documented estimates. The learned
router trained on these labels reproduces the heuristic with the learned machinery (features, calibration,
tradeoff, exploration), so production can start logging propensities on day one and retrain on real
outcomes as they arrive.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from router._catalog import Catalog
from router.learned.router import Router


def heuristic_labels(descriptions: Sequence[str], catalog: Catalog | None = None) -> pd.DataFrame:
    """An outcome log (every catalog model on every description) labelled by the heuristic router."""
    router = Router(catalog)
    by_price = [m.name for m in router.catalog.by_price]
    rows = []
    for i, description in enumerate(descriptions):
        decision = router.route(description)
        chosen_rank = by_price.index(decision.model)
        for name in by_price:
            rows.append(
                {
                    "task_id": f"bootstrap-{i}",
                    "description": description,
                    "model": name,
                    "success": 1.0 if by_price.index(name) >= chosen_rank else 0.0,
                    "cost_usd": decision.expected_cost_usd[name],
                    "task_type": decision.complexity.task_type.value,
                }
            )
    return pd.DataFrame(rows)
