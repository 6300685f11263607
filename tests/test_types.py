"""``construct`` builds the same instances as pydantic's ``model_construct``, only faster."""

from __future__ import annotations

import pytest

from router import Router
from router._types import RoutingDecision, TaskComplexity, construct, new_decision_ids


def test_construct_equals_model_construct():
    decision = Router().route("Fix the race condition in the pool")
    for model in (decision, decision.complexity, decision.selection):
        values = dict(model.__dict__)
        built = construct(type(model), dict(values))
        reference = type(model).model_construct(**values)
        assert built == reference
        assert built.model_dump(mode="json") == reference.model_dump(mode="json")
        assert built.model_fields_set == reference.model_fields_set
        assert type(model).model_validate(built.model_dump()) == built  # what it holds is valid


def test_construct_needs_every_field():
    with pytest.raises(TypeError, match="needs exactly the fields"):
        construct(RoutingDecision, {"model": "x"})
    complexity = Router().route("Fix typo").complexity
    with pytest.raises(TypeError, match="TaskComplexity"):
        construct(TaskComplexity, {**complexity.__dict__, "extra": 1})


def test_decision_ids_of_a_batch_are_distinct_hex():
    ids = new_decision_ids(5000)
    assert len(set(ids)) == 5000
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)


def test_gc_paused_restores_the_collector_state():
    import gc

    from router._types import gc_paused

    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # it was off: it stays off
    finally:
        gc.enable()
    try:
        with gc_paused():
            raise RuntimeError("x")
    except RuntimeError:
        pass
    assert gc.isenabled()
