"""The public API is ``router.__all__``: sorted, importable, and holding the architecture's names."""

import router

CONTRACT = {
    "ComplexityEstimator",
    "ComplexityLevel",
    "TaskComplexity",
    "ModelSelector",
    "ModelConfig",
    "ModelSelection",
    "CostTracker",
    "Router",
    "RoutingDecision",
}
LEDGER = {
    "CostEntry",
    "CostSummary",
    "BudgetStatus",
    "BudgetAlert",
    "BudgetLimit",
    "OutcomeTransfer",
    "RoutingStats",
}


def test_all_is_sorted_and_every_name_exists():
    assert router.__all__ == sorted(router.__all__)
    assert [name for name in router.__all__ if not hasattr(router, name)] == []


def test_the_ledger_and_the_contract_names_are_exported():
    assert (CONTRACT | LEDGER) - set(router.__all__) == set()
