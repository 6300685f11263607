"""The ledger callback: every LiteLLM call, success or failure, becomes one row of our ledger.

Rows carry the tokens and cost LiteLLM computed, the latency, the task's text and metadata (so ``router logs
export`` -> ``router train`` learns from them) and, when ``RouterPlugin`` routed the request, its decision
id, level and propensity from the request's metadata.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import OrderedDict
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from litellm.integrations.custom_logger import CustomLogger

from router._catalog import Catalog
from router.execution.attempts import AttemptRecorder
from router.execution.failures import classify
from router.integrations.litellm._models import ModelMap
from router.integrations.litellm._request import FILES_KEY, SIGNAL_KEY, TASK_ID_KEY, task_metadata, task_of

log = logging.getLogger("router.integrations.litellm")
_SEEN = 4096  # call ids remembered, so a call logged by both LiteLLM's sync and async paths counts once


class LedgerLogger(CustomLogger):
    """A LiteLLM ``CustomLogger`` that records every call in a ``CostTracker``.

    Parameters
    ----------
    tracker : CostTracker or AttemptRecorder
        The ledger; its ``record(**fields)`` is called once per call (in a worker thread on LiteLLM's async
        path, so a database write never blocks the event loop).
    models : ModelMap or mapping of str to str
        ``{LiteLLM name: catalog name}`` (a deployment's ``litellm_params.model`` or a model group), so
        rows carry the catalog's names. A call to an unmapped model is recorded under its LiteLLM name.
    catalog : Catalog, optional
        The catalog ``models`` names; the packaged default when omitted.

    Notes
    -----
    A row's cost is LiteLLM's ``response_cost`` when it priced the call (above zero), else the catalog's
    price of the tokens. Success is 1 when the call returned and 0 when it raised (``error`` says why,
    classified as the fallback handler does). The propensity goes with the first attempt of the model
    the plugin chose, as the fallback handler records it. LiteLLM's retries re-run the plugin, so each
    retry has a decision id of its own; the request's ``task_id`` metadata ties them together. The logger
    never raises into LiteLLM: a row the ledger refuses is logged on ``router.integrations.litellm`` and
    counted in ``errors``.

    The request's ``router_task_metadata`` (a mapping of str to str) is recorded as the row's metadata; a
    bad one is left out with a warning, and the row is recorded without it.
    """

    def __init__(
        self,
        tracker: AttemptRecorder,
        models: ModelMap | Mapping[str, str],
        *,
        catalog: Catalog | None = None,
    ) -> None:
        super().__init__()
        self.tracker = tracker
        self.models = ModelMap.of(models, catalog or getattr(tracker, "catalog", None) or Catalog.default())
        self.recorded = 0
        self.errors = 0
        self._seen: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    # LiteLLM calls these by keyword: the parameter names are its own.
    def log_success_event(
        self, kwargs: dict[str, Any], response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self._record(self._row(kwargs, start_time, end_time, None))

    def log_failure_event(
        self, kwargs: dict[str, Any], response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        self._record(self._row(kwargs, start_time, end_time, _exception(kwargs)))

    async def async_log_success_event(
        self, kwargs: dict[str, Any], response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        await asyncio.to_thread(self._record, self._row(kwargs, start_time, end_time, None))

    async def async_log_failure_event(
        self, kwargs: dict[str, Any], response_obj: Any, start_time: Any, end_time: Any
    ) -> None:
        await asyncio.to_thread(self._record, self._row(kwargs, start_time, end_time, _exception(kwargs)))

    async def flush(self) -> None:
        """Wait until the log events LiteLLM has queued are recorded.

        LiteLLM hands its async callbacks to a background worker; a long-running service never needs this,
        a script that ends right after its calls awaits it so that the last rows are not lost.
        """
        # LiteLLM 1.110 spawns a task per call that queues its log events on a worker; neither is
        # re-exported at the top of the package. Wait for the tasks, then for the worker's queue.
        from litellm.litellm_core_utils.logging_worker import GLOBAL_LOGGING_WORKER
        from litellm.responses.streaming_iterator import drain_logging_tasks

        await drain_logging_tasks()
        await GLOBAL_LOGGING_WORKER.flush()

    # -- one row ---------------------------------------------------------------------------------------
    def _row(
        self, kwargs: dict[str, Any], start_time: Any, end_time: Any, error: BaseException | None
    ) -> dict[str, Any] | None:
        try:
            return self._fields(kwargs, start_time, end_time, error)
        except Exception:
            log.exception("llm-task-router could not read a LiteLLM call's log event")
            with self._lock:
                self.errors += 1
            return None

    def _fields(
        self, kwargs: dict[str, Any], start_time: Any, end_time: Any, error: BaseException | None
    ) -> dict[str, Any] | None:
        call_id = str(kwargs.get("litellm_call_id") or "")
        if call_id and not self._first_time(f"{call_id}:{error is None}"):
            return None
        metadata = _metadata(kwargs)
        payload = kwargs.get("standard_logging_object") or {}
        deployment = metadata.get("deployment") or payload.get("model") or kwargs.get("model")
        group = metadata.get("model_group") or payload.get("model_group")
        name = self.models.catalog_name(deployment, group)
        decided = (metadata.get("routing_plugin_signals") or {}).get(SIGNAL_KEY) or {}
        attempt = 1 + _count(metadata.get("attempted_retries")) + _count(metadata.get("attempted_fallbacks"))
        description, _ = task_of(kwargs.get("messages"))
        files = metadata.get(FILES_KEY)
        fields: dict[str, Any] = {
            "model": name or str(deployment),
            "task_id": str(
                metadata.get(TASK_ID_KEY)
                or kwargs.get("litellm_trace_id")
                or decided.get("decision_id")
                or call_id
            ),
            "task_type": decided.get("task_type"),
            "level": decided.get("level"),
            "input_tokens": _count(payload.get("prompt_tokens")) if error is None else 0,
            "output_tokens": _count(payload.get("completion_tokens")) if error is None else 0,
            "success": 1.0 if error is None else 0.0,
            "error": None if error is None else f"{classify(error).value}: {error}",
            "duration_ms": _milliseconds(start_time, end_time),
            "description": description,
            "files": [str(f) for f in files] if isinstance(files, list | tuple) else None,
            "attempt": attempt,
            "decision_id": decided.get("decision_id"),
            "metadata": task_metadata(metadata, "recording the call without it"),
        }
        cost = kwargs.get("response_cost")
        if isinstance(cost, int | float) and not isinstance(cost, bool) and cost > 0:
            fields["total_cost"] = float(cost)
        elif name is None:
            fields["total_cost"] = 0.0  # not in our catalog, and LiteLLM knows no price for it
        # else: LiteLLM's cost map does not price this deployment (it says 0): the ledger prices the tokens
        # from our catalog.
        # The decision's propensity is the chance of this model only when the plugin narrowed to it.
        if name is not None and name == decided.get("model") and decided.get("narrowed") and attempt == 1:
            fields["propensity"] = decided.get("propensity")
        return fields

    def _record(self, fields: dict[str, Any] | None) -> None:
        if fields is None:
            return
        try:
            self.tracker.record(**fields)
        except Exception:
            log.exception(
                "The ledger refused a LiteLLM call's row: %s", {k: fields[k] for k in ("model", "task_id")}
            )
            stored = False
        else:
            stored = True
        with self._lock:  # rows are written from worker threads
            self.recorded += stored
            self.errors += not stored

    def _first_time(self, key: str) -> bool:
        with self._lock:
            if key in self._seen:
                return False
            self._seen[key] = None
            if len(self._seen) > _SEEN:
                self._seen.popitem(last=False)
            return True


def _metadata(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The request's metadata: ``metadata`` on the SDK path, ``litellm_metadata`` on some proxy routes."""
    params = kwargs.get("litellm_params") or {}
    merged: dict[str, Any] = {}
    for key in ("litellm_metadata", "metadata"):
        value = params.get(key)
        if isinstance(value, Mapping):
            merged.update(value)
    return merged


def _exception(kwargs: Mapping[str, Any]) -> BaseException:
    exc = kwargs.get("exception")
    return exc if isinstance(exc, BaseException) else RuntimeError(str(exc or "LiteLLM call failed"))


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _milliseconds(start: Any, end: Any) -> float | None:
    if isinstance(start, datetime) and isinstance(end, datetime):
        return max(0.0, (end - start).total_seconds() * 1000)
    if isinstance(start, int | float) and isinstance(end, int | float):
        return max(0.0, (end - start) * 1000)
    return None
