"""The docs' "With the OpenAI SDK" and "With LiteLLM" examples (docs/how-to/litellm-and-openai.md, once the
README's) run as written, against loopback servers.

The SDKs read their endpoints from the environment (``OPENAI_BASE_URL``, ``ANTHROPIC_API_BASE``), so each
example runs unchanged; the servers record which provider model each request named.
"""

from __future__ import annotations

import asyncio
import inspect
import re
from pathlib import Path
from typing import Any

import litellm
import openai
import pytest
import yaml
from litellm.integrations.custom_logger import CustomLogger
from litellm.proxy.types_utils.utils import get_instance_fn
from litellm.types.router import ClassifierPlugin, RoutingPlugin

from router import Catalog, CostTracker, InvalidInputError
from router.integrations.litellm import ModelMap
from tests._helpers import ROOT
from tests.execution.messages_server import ok, serve

README = (ROOT / "docs" / "how-to" / "litellm-and-openai.md").read_text()


def block(tag: str) -> str:
    (found,) = re.findall(rf"```{tag}\n(.*?)```", README, flags=re.DOTALL)
    return found


def test_openai_example_runs(
    in_tmp: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
):
    (in_tmp / "openai-catalog.toml").write_text(block("toml openai-catalog"))
    with serve(lambda model, task_id, n: ok(text="done")) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", f"{server.base_url}/v1")
        monkeypatch.setenv("OPENAI_API_KEY", "test")
        namespace: dict[str, Any] = {}
        exec(compile(block("python openai"), "README.md", "exec"), namespace)
        namespace["client"].close()
    assert server.models_called() == ["gpt-5"]  # a complex task goes to the dearer of the two
    assert capsys.readouterr().out == "gpt-5 done\n"
    assert isinstance(namespace["client"], openai.OpenAI)


def test_litellm_sdk_example_runs_and_fills_the_ledger(in_tmp: Path, monkeypatch: pytest.MonkeyPatch, capsys):
    monkeypatch.setenv("ROUTER_DATA_DIR", str(in_tmp / "data"))
    monkeypatch.setattr(litellm, "callbacks", [])  # the example sets LiteLLM's global callbacks
    with serve(lambda model, task_id, n: ok(text=f"hi from {model}")) as server:
        monkeypatch.setenv("ANTHROPIC_API_BASE", server.base_url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", "test")
        exec(compile(block("python litellm"), "README.md", "exec"), {})
    assert server.models_called() == ["claude-opus-4-5"]
    assert capsys.readouterr().out == "claude-opus-4-5\n"
    with CostTracker() as tracker:
        (row,) = tracker.get_recent_entries(10)
    assert (row.model, row.task_id, row.level, row.files) == ("opus", "task-1", "critical", ["login.py"])
    assert (row.input_tokens, row.output_tokens) == (12, 5) and row.total_cost > 0 and row.decision_id


def test_litellm_proxy_config_resolves_and_routes(in_tmp: Path, monkeypatch: pytest.MonkeyPatch):
    """What the proxy does with the config: resolve the dotted paths next to config.yaml (with LiteLLM's own
    resolver), check the interfaces as it does, and serve the model list with the plugin and callback."""
    monkeypatch.setenv("ROUTER_DATA_DIR", str(in_tmp / "data"))
    (in_tmp / "router_hooks.py").write_text(block("python litellm-proxy"))
    config_path = in_tmp / "config.yaml"
    config_path.write_text(block("yaml"))
    config = yaml.safe_load(config_path.read_text())

    def resolve(path: str) -> Any:
        return get_instance_fn(value=path, config_file_path=str(config_path))

    plugins = [resolve(p) for p in config["router_settings"]["plugins"]]
    callbacks = [resolve(c) for c in config["litellm_settings"]["callbacks"]]
    smart = next(m for m in config["model_list"] if m["model_name"] == "smart")
    settings = smart["litellm_params"]["complexity_router_config"]
    settings["classifier_plugin"] = resolve(settings["classifier_plugin"])
    assert all(isinstance(p, RoutingPlugin) and inspect.iscoroutinefunction(p.run) for p in plugins)
    assert isinstance(settings["classifier_plugin"], ClassifierPlugin)
    assert inspect.iscoroutinefunction(settings["classifier_plugin"].classify)
    assert all(isinstance(c, CustomLogger) for c in callbacks)

    monkeypatch.setattr(litellm, "callbacks", callbacks)
    with serve(lambda model, task_id, n: ok(text="done")) as server:
        monkeypatch.setenv("ANTHROPIC_API_BASE", server.base_url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", "test")
        gateway = litellm.Router(model_list=config["model_list"], plugins=plugins)

        async def run() -> None:
            for group, text in [
                ("auto", "Fix SQL injection security vulnerability in the production login endpoint"),
                ("auto", "Fix typo in README"),
                ("smart", "Fix typo in README"),
                ("smart", "Implement OAuth2 authentication with JWT tokens"),
            ]:
                await gateway.acompletion(model=group, messages=[{"role": "user", "content": text}])
            await callbacks[0].flush()

        asyncio.run(run())
    assert server.models_called() == [
        "claude-opus-4-5",
        "claude-haiku-4-5",
        "claude-haiku-4-5",
        "claude-sonnet-4-5",
    ]
    with CostTracker() as tracker:
        rows = tracker.get_recent_entries(10)
    assert sorted(r.model for r in rows) == ["haiku", "haiku", "opus", "sonnet"]


def test_quoted_model_map_error_is_the_real_one():
    quoted = "models['openai/gpt-4o']: unknown catalog model 'gpt5'. Known models: haiku, sonnet, opus."
    assert quoted in README
    with pytest.raises(InvalidInputError, match=re.escape(quoted)):
        ModelMap({"openai/gpt-4o": "gpt5"}, Catalog.default())
