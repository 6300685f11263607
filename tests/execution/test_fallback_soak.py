"""Fault soak: 1,000 tasks over three models against a server that fails 30% of calls at random.

Every task must succeed or end with an ExecutionError; no model is attempted more than 1 + max_retries times
in a task; no request reaches a model while its circuit is cooling down (checked against the breaker's own
state changes and, independently, against the Retry-After the server itself sent).
"""

from __future__ import annotations

import random
from collections import Counter

import anthropic
import pytest

from router import BreakerState, CircuitBreaker, ExecutionConfig, ExecutionError, FallbackHandler
from tests.execution.fake_time import FakeTime
from tests.execution.messages_server import Reply, error, ok, serve

MODELS = ["haiku", "sonnet", "opus"]
CALL_S = 0.05  # simulated latency: the fake clock moves this much per call


def faulty(seed: int, failure_rate: float):
    """Replies fail at ``failure_rate`` with mixed reasons; each depends on (seed, task, n-th request)."""
    kinds = [
        ("429", 0.30, lambda r: error(429, headers={"retry-after": str(r.randint(1, 5))})),
        ("529", 0.25, lambda r: error(529, "Overloaded")),
        ("500", 0.25, lambda r: error(500)),
        ("drop", 0.17, lambda r: Reply(drop=True)),
        ("slow", 0.03, lambda r: Reply(delay_s=1.0)),
    ]

    def script(model: str, task_id: str, n: int) -> Reply:
        rng = random.Random(f"{seed}/{task_id}/{n}")
        if rng.random() >= failure_rate:
            return ok()
        pick = rng.random()
        for _, share, make in kinds:
            if pick < share:
                return make(rng)
            pick -= share
        return ok()

    return script


@pytest.fixture
def seed() -> int:
    """The soak's only source of randomness: the server's faults and the backoff jitter derive from it."""
    return 20261125


@pytest.mark.slow
@pytest.mark.parametrize(
    ("tasks", "failure_rate", "max_retries"),
    [(1_000, 0.30, 3), (200, 0.80, 1)],
    ids=["1000-tasks-30pct", "harsh-200-tasks-80pct"],  # the second makes some tasks fail for good
)
def test_fault_soak(seed: int, tasks: int, failure_rate: float, max_retries: int) -> None:
    # The packaged defaults (breaker after 5 failures for 30 s), with the retries of the case.
    config = ExecutionConfig.default().with_retry(max_retries=max_retries)
    time_ = FakeTime()
    openings: list[tuple[str, float, float]] = []  # (model, opened at, cooling until)

    def on_change(model: str, state: BreakerState, until: float | None) -> None:
        if state is BreakerState.OPEN and until is not None:
            openings.append((model, time_.clock(), until))

    breaker = CircuitBreaker(config.breaker, clock=time_.clock, listener=on_change)
    handler = FallbackHandler(
        config=config,
        breaker=breaker,
        clock=time_.clock,
        sleep=time_.sleep,
        rng=random.Random(seed),
    )
    succeeded, failed = 0, []
    with (
        serve(faulty(seed, failure_rate), clock=time_.clock) as server,
        anthropic.Anthropic(base_url=server.base_url, api_key="test", max_retries=0, timeout=0.25) as client,
    ):
        for i in range(tasks):
            task_id = f"task-{i}"

            def call(model: str, task_id: str = task_id) -> anthropic.types.Message:
                try:
                    return client.messages.create(
                        model=model,
                        max_tokens=16,
                        messages=[{"role": "user", "content": "hi"}],
                        extra_headers={"x-task-id": task_id},
                    )
                finally:
                    time_.advance(CALL_S)

            first = MODELS[i % 3]
            try:
                result = handler.execute_with_fallback(
                    first, task_id, call, [m for m in MODELS if m != first]
                )
            except ExecutionError as exc:  # a clear final error is an allowed end; anything else is not
                assert task_id in str(exc) and exc.attempts
                failed.append(exc)
            else:
                assert result.content[0].type == "text"
                succeeded += 1

    requests = server.requests
    stats = handler.get_statistics()
    # Every task ended, one way or the other, and the statistics agree with what the server saw.
    assert succeeded + len(failed) == tasks
    assert stats["tasks_succeeded"] == succeeded and stats["tasks_failed"] == len(failed)
    assert stats["total_attempts"] == len(requests)
    failures_seen = sum(r.reply.status != 200 or r.reply.drop or r.reply.delay_s > 0 for r in requests)
    # At least the scripted failures (a normal reply slower than the client timeout would add one).
    assert stats["total_failures"] >= failures_seen
    assert abs(failures_seen / len(requests) - failure_rate) < 0.1  # the server failed as scripted

    # Retries never exceed the bound: a model at most 1 + max_retries times per task.
    per_task_model = Counter((r.task_id, r.model) for r in requests)
    max_attempts = max(per_task_model.values())
    assert max_attempts <= 1 + config.retry.max_retries

    # No request reached a model while its breaker had it cooling down.
    assert openings, "the soak should have opened some circuits"
    for r in requests:
        for model, opened, until in openings:
            assert not (model == r.model and opened <= r.at < until), (r, (model, opened, until))
    # Independently of the breaker: no model was called again before the Retry-After it sent ran out.
    last_429: dict[str, float] = {}
    for r in requests:
        if r.model in last_429:
            assert r.at >= last_429.pop(r.model), r
        if r.reply.status == 429:
            last_429[r.model] = r.at + float(r.reply.headers["retry-after"])

    print(  # the figures for the report (pytest -s)
        f"\nsoak: {tasks} tasks, {len(requests)} requests, {failures_seen} failed calls; "
        f"succeeded {succeeded}, failed {len(failed)}; max attempts of one model in one task {max_attempts}; "
        f"retries {stats['retries_spent']}, fallbacks {stats['fallbacks']}, waits {stats['waits']}, "
        f"breaker openings {len(openings)}; by reason {stats['failures_by_reason']}; final errors "
        f"{dict(Counter(str(e).split(': ')[1].split(' after')[0].split(':')[0] for e in failed))}"
    )
    if failed:
        print("e.g.", failed[0])
