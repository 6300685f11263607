"""What a LiteLLM request says about its task: the text to route on, per-request options, our decision.

Messages are read in the OpenAI chat shape LiteLLM normalises every API surface to (``structured_messages``):
the last user message is the task's description, every other message's text is its context.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from router._exceptions import InvalidInputError
from router._metadata import check_metadata
from router._types import RoutingDecision
from router.learned.router import Router

log = logging.getLogger("router.integrations.litellm")

#: Where our decision is published: ``context.signals[SIGNAL_KEY]``, which LiteLLM stamps on the request's
#: metadata as ``routing_plugin_signals`` (so callbacks and spend logs see it).
SIGNAL_KEY = "llm_task_router"
#: Request metadata the plugins read: a tradeoff in [0, 1] for this request, the files the task involves,
#: the task's id for the ledger, and the task's metadata (a mapping of str to str: repository, team, ...)
#: that ``route`` takes and the ledger records with the attempt.
TRADEOFF_KEY = "router_tradeoff"
FILES_KEY = "router_files"
TASK_ID_KEY = "task_id"
METADATA_KEY = "router_task_metadata"


def text_of(content: object) -> str:
    """A message's text: a string, or the text parts of a list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):
        parts = (p.get("text") for p in content if isinstance(p, Mapping) and p.get("type") == "text")
        return "\n".join(t for t in parts if isinstance(t, str))
    return ""


def task_of(messages: Sequence[Mapping[str, Any]] | None) -> tuple[str, str | None]:
    """(description, context): the last user message's text, and the other messages' text or None."""
    messages = [m for m in messages or () if isinstance(m, Mapping)]
    last_user = next((i for i in range(len(messages) - 1, -1, -1) if messages[i].get("role") == "user"), None)
    if last_user is None:
        return "", None
    others = [text_of(m.get("content")) for i, m in enumerate(messages) if i != last_user]
    context = "\n".join(t for t in others if t)
    return text_of(messages[last_user].get("content")), context or None


def task_metadata(request_metadata: Mapping[str, Any] | None, action: str) -> dict[str, str] | None:
    """The request's ``router_task_metadata``, checked; None when absent or bad.

    A bad value (not a mapping of str to str) must not fail the request: it is dropped with a warning that
    names it and says what happens instead (``action``).
    """
    value = (request_metadata or {}).get(METADATA_KEY)
    if value is None:
        return None
    try:
        return check_metadata(value, f"request metadata {METADATA_KEY!r}") or None
    except InvalidInputError as exc:
        log.warning("llm-task-router ignores a bad task metadata (%s); %s", exc, action)
        return None


def decide(
    router: Router,
    messages: Sequence[Mapping[str, Any]] | None,
    metadata: Mapping[str, Any] | None,
    tradeoff: float | None,
) -> RoutingDecision:
    """Route a request's task; ``metadata`` may override the tradeoff, name the task's files and give the
    task's metadata (routed without it, with a warning, when it is not a mapping of str to str)."""
    metadata = metadata or {}
    description, context = task_of(messages)
    files = metadata.get(FILES_KEY)
    return router.route(
        description,
        files=list(files) if isinstance(files, list | tuple) else None,
        context=context,
        tradeoff=metadata.get(TRADEOFF_KEY, tradeoff),
        metadata=task_metadata(metadata, "routing without it"),
    )


def signal(decision: RoutingDecision, deployments: list[str], narrowed: bool, why: str) -> dict[str, Any]:
    """Our decision as JSON-friendly values, for ``context.signals`` (and so the request's metadata)."""
    model = decision.model
    return {
        "model": model,
        "level": decision.complexity.level.value,
        "task_type": decision.complexity.task_type.value,
        "p_success": decision.p_success.get(model),
        "expected_cost_usd": decision.expected_cost_usd.get(model),
        "decision_id": decision.decision_id,
        "propensity": decision.propensity,
        "tradeoff": decision.tradeoff,
        "source": decision.source,
        "deployments": deployments,
        "narrowed": narrowed,
        "why": why,
    }
