"""The routing plugin: LiteLLM's ``Router(plugins=[...])`` narrows each request to our router's choice.

LiteLLM runs plugins on its async path only (``acompletion`` and friends; the proxy is async), before its
own strategy picks a deployment among the candidates left. The plugin never fails a request: when our
model has no deployment among the candidates, or deciding fails, it leaves the candidates as they are
(LiteLLM's own choice) and says why in its signal.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

from router._exceptions import InvalidInputError
from router.integrations.litellm._models import ModelMap
from router.integrations.litellm._request import SIGNAL_KEY, decide, signal
from router.learned.router import Router
from router.selection.heuristic import check_tradeoff

if TYPE_CHECKING:
    from litellm.types.router import RoutingContext

log = logging.getLogger("router.integrations.litellm")


class RouterPlugin:
    """A LiteLLM routing plugin that sends each request to the deployments of the model our router chose.

    Parameters
    ----------
    router : Router
        The heuristic ``Router()`` or a learned one (``Router.load(uri)``).
    models : ModelMap or mapping of str to str
        ``{deployment's litellm_params.model: catalog name}`` for the deployments of the model group the
        requests name; unknown catalog names are refused.
    tradeoff : float, optional
        The default tradeoff in [0, 1]; a request's metadata ``router_tradeoff`` overrides it.

    Notes
    -----
    A request's metadata may also carry ``router_files`` (the task's files) and ``router_task_metadata``
    (the task's metadata, a mapping of str to str, passed to ``route``; a bad one is dropped with a warning
    and the request routed without it).

    The decision is published in ``context.signals["llm_task_router"]`` (LiteLLM copies the signals to the
    request's metadata as ``routing_plugin_signals``): model, level, task type, P(success) and expected
    cost of the chosen model, decision id, propensity, tradeoff, source, the deployments kept, and whether
    the candidates were narrowed. ``LedgerLogger`` reads it from there.
    """

    def __init__(
        self, router: Router, models: ModelMap | Mapping[str, str], *, tradeoff: float | None = None
    ) -> None:
        if not isinstance(router, Router):
            raise InvalidInputError(f"router must be a router.Router, got {type(router).__name__}")
        self.router = router
        self.models = ModelMap.of(models, router.catalog)
        self.tradeoff = check_tradeoff(tradeoff)

    def __deepcopy__(self, memo: dict[int, object]) -> RouterPlugin:
        # LiteLLM deep-copies its model_list and settings; a plugin is a live object to share, not copy
        # (a router holds locks, which cannot be copied).
        return self

    async def run(self, context: RoutingContext) -> RoutingContext:
        """Narrow ``context.candidate_models`` to our choice's deployments and publish the decision."""
        try:
            decision = decide(self.router, context.structured_messages, context.metadata, self.tradeoff)
        except Exception as exc:  # a bad request or a broken router must not fail the call: LiteLLM decides
            log.warning("llm-task-router could not route this request (%s); LiteLLM decides", exc)
            context.signals[SIGNAL_KEY] = {"narrowed": False, "why": f"not routed: {exc}"}
            return context
        keep = self.models.deployments_of(decision.model, context.candidate_models)
        if keep:
            why = f"{decision.model}: {len(keep)} of {len(context.candidate_models)} candidate(s)"
            context.candidate_models = keep
        else:
            why = f"no deployment of {decision.model!r} among the candidates; LiteLLM decides"
        context.signals[SIGNAL_KEY] = signal(decision, keep, bool(keep), why)
        return context
