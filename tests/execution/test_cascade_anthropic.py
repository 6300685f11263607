"""A cascade with the real ``anthropic`` client against the Messages API server on loopback: the first model
comes back without an answer, and the handler escalates to the next model of the router's escalation."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from typing import Any

import anthropic

from router import CascadeResult, Catalog, ExecutionConfig, FallbackHandler, Router
from tests.execution.fake_time import FakeTime
from tests.execution.messages_server import MessagesServer, Reply, error, ok, serve

TASK = "Fix typo in README"  # the heuristic's escalation: haiku, sonnet, opus
CONFIG = ExecutionConfig().with_retry(jitter=0.0).with_output(keep=True)
REPLIES = {
    "haiku": [ok(text="I could not work out what to change.", output_tokens=9)],
    "sonnet": [
        error(500, "internal"),
        ok(text="Changed 'teh' to 'the'. ANSWER: README.md:3", output_tokens=14),
    ],
}


class Rows:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def record(self, **fields: Any) -> None:
        self.rows.append(fields)


def scripted() -> Callable[[str, str, int], Reply]:
    """Each model's replies in order (the last one repeats)."""
    seen: dict[str, int] = {}

    def script(model: str, task_id: str, n: int) -> Reply:
        i = seen[model] = seen.get(model, -1) + 1
        plan = REPLIES.get(model, [ok(text="unexpected")])
        return plan[min(i, len(plan) - 1)]

    return script


def extract(message: anthropic.types.Message) -> str | None:
    """The orchestrator's own parser: what follows 'ANSWER:' in the text, or nothing."""
    text = "".join(block.text for block in message.content if isinstance(block, anthropic.types.TextBlock))
    found = re.search(r"ANSWER:\s*(\S+)", text)
    return found.group(1) if found else None


def check(
    done: CascadeResult[anthropic.types.Message],
    server: MessagesServer,
    rows: list[dict[str, Any]],
    waits: list[float],
) -> None:
    assert isinstance(done.response, anthropic.types.Message)
    assert (done.model, done.answer, done.answer_from, done.attempt) == ("sonnet", "README.md:3", 1, 3)
    assert [a.model for a in done.answers] == ["haiku", "sonnet"]
    assert server.models_called() == ["haiku", "sonnet", "sonnet"]  # a 500: sonnet is retried after 1 s
    assert waits == [1.0]
    assert [(r["model"], r["answer"], r["output_tokens"], r["error"] is None) for r in rows] == [
        ("haiku", None, 9, True),
        ("sonnet", None, 0, False),
        ("sonnet", "README.md:3", 14, True),
    ]
    assert rows[0]["output"] == "I could not work out what to change."


def test_an_empty_first_answer_escalates_with_the_real_client():
    rows, time_ = Rows(), FakeTime()
    handler = FallbackHandler(
        config=CONFIG, catalog=Catalog.default(), recorder=rows, clock=time_.clock, sleep=time_.sleep
    )
    r = Router()
    decision = r.route(TASK)
    with (
        serve(scripted()) as server,
        anthropic.Anthropic(base_url=server.base_url, api_key="test", max_retries=0, timeout=5) as client,
    ):

        def call(model: str) -> anthropic.types.Message:
            return client.messages.create(
                model=model, max_tokens=64, messages=[{"role": "user", "content": TASK}]
            )

        done = handler.execute_decision(decision, "t1", call, answer=extract, router=r, description=TASK)
    check(done, server, rows.rows, time_.sleeps)


def test_the_async_client_cascades_the_same_way():
    rows, time_ = Rows(), FakeTime()
    handler = FallbackHandler(config=CONFIG, recorder=rows, clock=time_.clock, async_sleep=time_.async_sleep)
    r = Router()

    async def main(base_url: str) -> CascadeResult[anthropic.types.Message]:
        async with anthropic.AsyncAnthropic(
            base_url=base_url, api_key="test", max_retries=0, timeout=5
        ) as client:

            async def call(model: str) -> anthropic.types.Message:
                return await client.messages.create(
                    model=model, max_tokens=64, messages=[{"role": "user", "content": TASK}]
                )

            return await handler.aexecute_decision(
                r.route(TASK), "t2", call, answer=extract, router=r, description=TASK
            )

    with serve(scripted()) as server:
        done = asyncio.run(main(server.base_url))
    check(done, server, rows.rows, time_.sleeps)
