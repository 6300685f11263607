"""LiteLLM in tests: its packaged model-cost map, never the network.

LiteLLM fetches its cost map from GitHub when imported unless told to use the copy it ships; this must be set
before the first ``import litellm`` (which the test modules here make at import time).
"""

from __future__ import annotations

import os

os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
