"""A LiteLLM ``model_list`` of the packaged catalog's three models, every deployment answering with
LiteLLM's ``mock_response`` (no network), and helpers to read who answered."""

from __future__ import annotations

from typing import Any

# Deployments LiteLLM's packaged cost map prices, so rows carry LiteLLM's own computed cost.
DEPLOYMENTS = {
    "haiku": "anthropic/claude-haiku-4-5",
    "sonnet": "anthropic/claude-sonnet-4-5",
    "opus": "anthropic/claude-opus-4-5",
}
MODELS = {deployment: name for name, deployment in DEPLOYMENTS.items()}


def model_list(group: str = "auto", failing: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
    """One deployment per catalog model in ``group``; those in ``failing`` answer a 500."""
    return [
        {
            "model_name": group,
            "litellm_params": {
                "model": deployment,
                "api_key": "not-used",  # mock_response answers before any request is made
                "mock_response": "litellm.InternalServerError" if name in failing else f"answered by {name}",
            },
        }
        for name, deployment in DEPLOYMENTS.items()
    ]


def answered_by(response: Any) -> str:
    text = response.choices[0].message.content
    assert text.startswith("answered by "), text
    return text.removeprefix("answered by ")
