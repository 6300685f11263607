"""Failure classification from real exception classes: anthropic's, httpx's, another SDK's, Python's."""

from __future__ import annotations

import anthropic
import httpx
import httpx2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from router import FailureReason, classify
from router.execution.failures import describe, retry_after_seconds

R = FailureReason
_REQUEST = httpx2.Request("POST", "http://127.0.0.1/v1/messages")


def anthropic_error(cls: type[anthropic.APIStatusError], status: int, message: str = "", **headers: str):
    body = {"type": "error", "error": {"type": "x", "message": message}}
    response = httpx2.Response(status, headers=headers, json=body, request=_REQUEST)
    return cls(f"Error code: {status} - {body}", response=response, body=body)


def httpx_error(status: int, **headers: str) -> httpx.HTTPStatusError:
    request = httpx.Request("POST", "http://127.0.0.1/v1/chat")
    response = httpx.Response(status, headers=headers, request=request)
    return httpx.HTTPStatusError(f"status {status}", request=request, response=response)


class OtherSDKError(Exception):
    """Shaped like other SDKs' errors (openai, cohere, ...): a message and a ``status_code``."""

    def __init__(self, message: str, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code


CASES = [
    (anthropic_error(anthropic.RateLimitError, 429), R.RATE_LIMIT),
    (anthropic_error(anthropic.InternalServerError, 529, "Overloaded"), R.UNAVAILABLE),
    (anthropic_error(anthropic.InternalServerError, 500), R.SERVER_ERROR),
    (anthropic_error(anthropic.InternalServerError, 502), R.SERVER_ERROR),
    (anthropic_error(anthropic.InternalServerError, 503), R.UNAVAILABLE),
    (anthropic_error(anthropic.InternalServerError, 504), R.TIMEOUT),
    (
        anthropic_error(anthropic.BadRequestError, 400, "prompt is too long: 250000 tokens > 200000 maximum"),
        R.CONTEXT_LENGTH,
    ),
    (anthropic_error(anthropic.BadRequestError, 400, "messages: roles must alternate"), R.INVALID_REQUEST),
    (anthropic_error(anthropic.AuthenticationError, 401), R.UNRECOVERABLE),
    (anthropic_error(anthropic.PermissionDeniedError, 403), R.UNRECOVERABLE),
    (anthropic_error(anthropic.NotFoundError, 404, "model: claude-nope"), R.UNAVAILABLE),
    (anthropic.APITimeoutError(_REQUEST), R.TIMEOUT),
    (anthropic.APIConnectionError(request=_REQUEST), R.UNAVAILABLE),
    (httpx_error(429), R.RATE_LIMIT),
    (httpx_error(502), R.SERVER_ERROR),
    (httpx.ReadTimeout("read timed out"), R.TIMEOUT),
    (httpx.ConnectError("refused"), R.UNAVAILABLE),
    (OtherSDKError("This model's maximum context length is 8192 tokens", 400), R.CONTEXT_LENGTH),
    (OtherSDKError("Rate limit reached", 429), R.RATE_LIMIT),
    (OtherSDKError("bad", 422), R.INVALID_REQUEST),
    (OtherSDKError("teapot", 418), R.INVALID_REQUEST),
    (OtherSDKError("oops", 599), R.SERVER_ERROR),
    (OtherSDKError("no key", 401), R.UNRECOVERABLE),
    (TimeoutError(), R.TIMEOUT),
    (ConnectionResetError(), R.UNAVAILABLE),
    (ConnectionRefusedError(), R.UNAVAILABLE),
    (TypeError("create() got an unexpected keyword argument"), R.UNRECOVERABLE),
    (AttributeError("no attribute 'messages'"), R.UNRECOVERABLE),
    (Exception("Rate limit exceeded"), R.RATE_LIMIT),
    (Exception("Timeout"), R.TIMEOUT),
    (Exception("service unavailable"), R.UNAVAILABLE),
    (DeprecationWarning("The model 'claude-x' is deprecated"), R.INVALID_REQUEST),
    (RuntimeError("something odd"), R.UNKNOWN),
    (ValueError(""), R.UNKNOWN),
]
IDS = [f"{type(exc).__name__}-{getattr(exc, 'status_code', '')}-{reason.value}" for exc, reason in CASES]


@pytest.mark.parametrize(("exc", "reason"), CASES, ids=IDS)
def test_classify(exc: BaseException, reason: FailureReason) -> None:
    assert classify(exc) is reason


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"retry-after": "7"}, 7.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"retry-after-ms": "250", "retry-after": "7"}, 0.25),  # the precise one wins
        ({"retry-after": "Tue, 14 Nov 2023 22:13:50 GMT"}, 30.0),  # an HTTP date, 30 s after the wall clock
        ({"retry-after": "Tue, 14 Nov 2023 22:13:00 GMT"}, 0.0),  # a date in the past: do not wait
        ({"retry-after": "-3"}, 0.0),
        ({"retry-after": "soon"}, None),
        ({"retry-after": "nan"}, None),
        ({"retry-after-ms": "Tue, 14 Nov 2023 22:13:50 GMT"}, None),  # dates are for retry-after only
        ({}, None),
    ],
    ids=[
        "seconds",
        "float",
        "ms-wins",
        "http-date",
        "past-date",
        "negative",
        "garbage",
        "nan",
        "ms-date",
        "none",
    ],
)
def test_retry_after_seconds(headers: dict[str, str], expected: float | None) -> None:
    assert retry_after_seconds(headers, wall_clock=lambda: 1_700_000_000.0) == expected


def test_describe_reads_retry_after_and_the_tokens_needed() -> None:
    limited = describe(anthropic_error(anthropic.RateLimitError, 429, **{"retry-after": "12"}))
    assert (limited.reason, limited.retry_after, limited.status_code) == (R.RATE_LIMIT, 12.0, 429)
    too_long = describe(
        anthropic_error(anthropic.BadRequestError, 400, "prompt is too long: 250000 tokens > 200000")
    )
    assert (too_long.reason, too_long.tokens_needed) == (R.CONTEXT_LENGTH, 250_000)
    assert describe(httpx_error(503, **{"retry-after": "4"})).retry_after == 4.0
    assert describe(TypeError("x")).fatal


def test_classification_never_imports_an_sdk() -> None:
    import subprocess
    import sys

    code = "import sys, router; router.classify(TimeoutError()); print('anthropic' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@given(
    status=st.one_of(st.none(), st.integers(-1000, 10_000)),
    message=st.text(max_size=200),
    retry_after=st.one_of(
        st.none(), st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40)
    ),
)
def test_describe_is_total(status: int | None, message: str, retry_after: str | None) -> None:
    """Whatever an SDK puts in its error, classification answers and never asks for a negative wait."""

    class Weird(Exception):
        pass

    exc = Weird(message)
    exc.status_code = status  # type: ignore[attr-defined]
    exc.response = httpx.Response(500, headers={} if retry_after is None else {"retry-after": retry_after})  # type: ignore[attr-defined]
    failure = describe(exc)
    assert isinstance(failure.reason, FailureReason)
    assert failure.retry_after is None or failure.retry_after >= 0
