"""LiteLLM integration: our router as a LiteLLM routing plugin and complexity-router classifier, and a
callback that records every LiteLLM call in our ledger.

Needs the ``litellm`` extra (``pip install 'llm-task-router[litellm]'``); ``import router`` never imports
this package or LiteLLM.

- :class:`RouterPlugin`: ``litellm.Router(plugins=[RouterPlugin(router, models)])`` narrows each request's
  candidate deployments to the model our router chose, and publishes the decision as signals.
- :class:`TierClassifier`: ``complexity_router_config: {classifier_type: "custom", classifier_plugin: ...}``
  names the tier of the model our router chose.
- :class:`LedgerLogger`: ``litellm.callbacks = [LedgerLogger(CostTracker(), models)]`` records every call.
- :class:`ModelMap`: the explicit mapping of LiteLLM names to catalog names they share.
- ``METADATA_KEY`` (``"router_task_metadata"``): the request metadata key holding the task's metadata (str
  to str), which the plugins pass to ``route`` and the logger records with the call.
"""

from router._extras import require

require("litellm", extra="litellm")  # one line naming the extra, rather than an ImportError from deep below

from router.integrations.litellm._classifier import TierClassifier  # noqa: E402  (after the check, on purpose)
from router.integrations.litellm._logger import LedgerLogger  # noqa: E402
from router.integrations.litellm._models import ModelMap  # noqa: E402
from router.integrations.litellm._plugin import RouterPlugin  # noqa: E402
from router.integrations.litellm._request import METADATA_KEY, SIGNAL_KEY  # noqa: E402

__all__ = ["METADATA_KEY", "SIGNAL_KEY", "LedgerLogger", "ModelMap", "RouterPlugin", "TierClassifier"]
