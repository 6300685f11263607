"""The classifier plugin for LiteLLM's complexity router: our decision names the tier.

For teams that keep the complexity router's tier table (``classifier_type: custom``): the router decides
which catalog model should take the request, and an explicit table says which tier that model stands for.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING

from router._exceptions import InvalidInputError
from router.integrations.litellm._request import decide
from router.learned.router import Router
from router.selection.heuristic import check_tradeoff

if TYPE_CHECKING:
    from litellm.types.router import RoutingContext

log = logging.getLogger("router.integrations.litellm")


class TierClassifier:
    """A ``ClassifierPlugin``: ``classify(context)`` returns the tier of the model our router chose.

    Parameters
    ----------
    router : Router
        The heuristic ``Router()`` or a learned one.
    tiers : mapping of str to str
        ``{catalog name: tier name}`` for every model of the router's catalog (the complexity router's
        ``SIMPLE``, ``MEDIUM``, ``COMPLEX``, ``REASONING`` or your ``tier_definitions`` names).
    tradeoff : float, optional
        The default tradeoff in [0, 1]; a request's metadata ``router_tradeoff`` overrides it.

    Notes
    -----
    A request's ``router_task_metadata`` (a mapping of str to str) is passed to ``route``, as the plugin
    does; a bad one is dropped with a warning.

    When deciding fails, ``classify`` returns None: LiteLLM's ``classifier_fallback`` decides. The complexity
    router hands the classifier no way to publish signals, so decision ids reach the ledger only through
    :class:`RouterPlugin`.

    Examples
    --------
    >>> import asyncio, types
    >>> c = TierClassifier(Router(), {"haiku": "SIMPLE", "sonnet": "MEDIUM", "opus": "COMPLEX"})
    >>> messages = [{"role": "user", "content": "Fix typo in README"}]
    >>> ctx = types.SimpleNamespace(structured_messages=messages, metadata={})
    >>> asyncio.run(c.classify(ctx))
    'SIMPLE'
    """

    def __init__(self, router: Router, tiers: Mapping[str, str], *, tradeoff: float | None = None) -> None:
        if not isinstance(router, Router):
            raise InvalidInputError(f"router must be a router.Router, got {type(router).__name__}")
        if not isinstance(tiers, Mapping):
            raise InvalidInputError(f"tiers must be a mapping of catalog names to tier names, got {tiers!r}")
        known = router.catalog.names()
        unknown = [name for name in tiers if name not in known]
        if unknown:
            raise InvalidInputError(
                f"tiers: unknown catalog model(s) {', '.join(map(repr, unknown))}. "
                f"Known models: {', '.join(known)}."
            )
        missing = [name for name in known if name not in tiers]
        if missing:
            raise InvalidInputError(
                f"tiers: every catalog model needs a tier; missing {', '.join(map(repr, missing))}."
            )
        bad = {name: tier for name, tier in tiers.items() if not isinstance(tier, str) or not tier}
        if bad:
            raise InvalidInputError(f"tiers: tier names must be non-empty strings, got {bad!r}")
        self.router = router
        self.tiers = dict(tiers)
        self.tradeoff = check_tradeoff(tradeoff)

    def __deepcopy__(self, memo: dict[int, object]) -> TierClassifier:
        # LiteLLM deep-copies its model_list and settings; a plugin is a live object to share, not copy
        # (a router holds locks, which cannot be copied).
        return self

    async def classify(self, context: RoutingContext) -> str | None:
        """The tier for this request, or None to let LiteLLM's fallback decide."""
        try:
            decision = decide(self.router, context.structured_messages, context.metadata, self.tradeoff)
        except Exception as exc:
            log.warning(
                "llm-task-router could not classify this request (%s); LiteLLM's fallback decides", exc
            )
            return None
        return self.tiers[decision.model]
