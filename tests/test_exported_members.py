"""The public API is what ``router.__all__`` says (after httpx's tests/test_exported_members.py)."""

from __future__ import annotations

import types

import router

# The names of the architecture note's public contract that exist today; later ones join this list.
CONTRACT = [
    "ComplexityEstimator",
    "ComplexityLevel",
    "TaskComplexity",
    "ModelSelector",
    "ModelConfig",
    "ModelSelection",
    "CostTracker",
    "Router",
    "RoutingDecision",
    "Step",
    # The ledger's records.
    "CostEntry",
    "CostSummary",
    "BudgetStatus",
    "BudgetAlert",
    "BudgetLimit",
    "OutcomeTransfer",
    "RoutingStats",
    "FallbackHandler",
    "FallbackStrategy",
    "FailureReason",
]


def test_all_is_sorted_and_unique():
    assert router.__all__ == sorted(router.__all__)
    assert len(set(router.__all__)) == len(router.__all__)


def test_every_name_in_all_resolves():
    for name in router.__all__:
        assert getattr(router, name) is not None, name


def test_every_public_attribute_is_in_all():
    public = {
        name
        for name, value in vars(router).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public == set(router.__all__)


def test_exported_members_belong_to_the_package():
    for name in router.__all__:
        module = getattr(getattr(router, name), "__module__", "")
        assert module.startswith("router."), (name, module)


def test_contract_names_are_importable():
    namespace: dict[str, object] = {}
    exec(f"from router import {', '.join(CONTRACT)}", namespace)
    assert all(name in namespace for name in CONTRACT)
    assert set(CONTRACT) <= set(router.__all__)


def test_errors_derive_from_router_error():
    errors = [getattr(router, n) for n in router.__all__ if n.endswith("Error")]
    assert errors
    for error in errors:
        assert issubclass(error, router.RouterError), error
