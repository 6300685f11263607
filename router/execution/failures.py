"""Failure classification: what went wrong with one attempt, and what the server asked us to wait.

Classification reads real exceptions without importing any SDK (``import router`` must stay light): it
goes by the HTTP status an SDK error carries (``status_code``, ``response.status_code`` or ``status``), by
the names of the exception's classes (``APITimeoutError`` and ``APIConnectionError`` are spelt alike in the
``anthropic`` and ``openai`` SDKs), by Python's own ``TimeoutError`` / ``ConnectionError``, and only last by
the message. An ``openai`` 400 whose ``code`` is ``context_length_exceeded`` is a context-length error too.

======================================  ===================
What failed                             Reason
======================================  ===================
429                                     RATE_LIMIT
529 overloaded, 503, 404, connection    UNAVAILABLE
timeout, 408, 504                       TIMEOUT
other 5xx                               SERVER_ERROR
400 "prompt is too long", context msgs  CONTEXT_LENGTH
other 400, 413, 422, a Warning raised   INVALID_REQUEST
401, 402, 403, credentials, TypeError   UNRECOVERABLE (raised at once)
a result that ``accept`` rejected       QUALITY
anything else                           UNKNOWN
======================================  ===================
"""

from __future__ import annotations

import email.utils
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class FailureReason(StrEnum):
    """Why an attempt failed: the specification's seven reasons plus QUALITY and UNRECOVERABLE.

    Examples
    --------
    >>> classify(TimeoutError("read timed out"))
    <FailureReason.TIMEOUT: 'timeout'>
    """

    UNAVAILABLE = "unavailable"
    RATE_LIMIT = "rate_limit"
    TIMEOUT = "timeout"
    CONTEXT_LENGTH = "context_length"
    INVALID_REQUEST = "invalid_request"
    SERVER_ERROR = "server_error"
    UNKNOWN = "unknown"
    QUALITY = "quality"  # the call worked but ``accept(result)`` rejected the result
    UNRECOVERABLE = "unrecoverable"  # no retry or other model can fix it (credentials, permissions, bugs)


#: Reasons that say the model (or its API) is unhealthy; they count towards its circuit breaker. The others
#: prove the model answered (a 400 is an answer), so they count as health.
HEALTH_FAILURES = frozenset(
    {
        FailureReason.UNAVAILABLE,
        FailureReason.RATE_LIMIT,
        FailureReason.TIMEOUT,
        FailureReason.SERVER_ERROR,
        FailureReason.UNKNOWN,
    }
)

_BY_STATUS = {
    400: FailureReason.INVALID_REQUEST,
    401: FailureReason.UNRECOVERABLE,
    402: FailureReason.UNRECOVERABLE,
    403: FailureReason.UNRECOVERABLE,
    404: FailureReason.UNAVAILABLE,  # e.g. this model name does not exist here; another model may
    408: FailureReason.TIMEOUT,
    413: FailureReason.INVALID_REQUEST,
    422: FailureReason.INVALID_REQUEST,
    429: FailureReason.RATE_LIMIT,
    503: FailureReason.UNAVAILABLE,
    504: FailureReason.TIMEOUT,
    529: FailureReason.UNAVAILABLE,  # Anthropic's "overloaded": capacity, not a bug
}

# Class names, looked up along the exception's MRO; the first match wins, so subclasses come first.
_BY_CLASS_NAME = {
    "AuthenticationError": FailureReason.UNRECOVERABLE,
    "PermissionDeniedError": FailureReason.UNRECOVERABLE,
    "CredentialsError": FailureReason.UNRECOVERABLE,
    "APITimeoutError": FailureReason.TIMEOUT,
    "TimeoutException": FailureReason.TIMEOUT,  # httpx
    "APIConnectionError": FailureReason.UNAVAILABLE,
    "ConnectError": FailureReason.UNAVAILABLE,  # httpx
    "ContextWindowExceededError": FailureReason.CONTEXT_LENGTH,  # litellm's, a 400 whatever its words
}

# Programming errors: retrying the same code on another model gives the same bug.
_UNRECOVERABLE_BUILTINS = (TypeError, AttributeError, NameError, ImportError, NotImplementedError)

_CONTEXT_PATTERNS = re.compile(
    r"prompt is too long|context[ _]length|context window|maximum context|too many tokens", re.IGNORECASE
)
# Anthropic: "250000 tokens > 200000 maximum"; OpenAI: "your messages resulted in 250000 tokens" (or "you
# requested 250000 tokens" when the completion's max_tokens is counted too).
_TOKENS_NEEDED = re.compile(r"(\d+)\s*tokens\s*>\s*\d+|(?:resulted in|requested)\s+(\d+)\s+tokens")
_MESSAGE_HINTS = (
    (re.compile(r"rate.?limit|too many requests", re.IGNORECASE), FailureReason.RATE_LIMIT),
    (re.compile(r"timed? ?out|timeout", re.IGNORECASE), FailureReason.TIMEOUT),
    (re.compile(r"overloaded|unavailable", re.IGNORECASE), FailureReason.UNAVAILABLE),
)


@dataclass(frozen=True, slots=True)
class Failure:
    """One classified failure.

    ``retry_after`` is the wait in seconds the server asked for (``retry-after-ms`` or ``retry-after``, in
    seconds or as an HTTP date), ``tokens_needed`` the prompt size a context-length error reported.
    """

    reason: FailureReason
    message: str
    status_code: int | None = None
    retry_after: float | None = None
    tokens_needed: int | None = None
    error: BaseException | None = None

    @property
    def fatal(self) -> bool:
        return self.reason is FailureReason.UNRECOVERABLE


def classify(exc: BaseException) -> FailureReason:
    """The reason an exception stands for (see the module docstring's table).

    Examples
    --------
    >>> classify(ConnectionResetError())
    <FailureReason.UNAVAILABLE: 'unavailable'>
    >>> classify(Exception("prompt is too long: 250000 tokens > 200000 maximum"))
    <FailureReason.CONTEXT_LENGTH: 'context_length'>
    """
    return _reason(exc, _status_code(exc), str(exc))


def describe(exc: BaseException, wall_clock: Callable[[], float] | None = None) -> Failure:
    """Classify ``exc`` and read what it says about waiting and size.

    ``wall_clock`` (seconds since the epoch, ``time.time`` by default) turns an HTTP-date ``Retry-After``
    into seconds from now.
    """
    status = _status_code(exc)
    message = str(exc) or type(exc).__name__
    reason = _reason(exc, status, message)
    needed = _TOKENS_NEEDED.search(message) if reason is FailureReason.CONTEXT_LENGTH else None
    return Failure(
        reason=reason,
        message=message,
        status_code=status,
        retry_after=retry_after_seconds(_headers(exc), wall_clock),
        tokens_needed=int(needed.group(1) or needed.group(2)) if needed else None,
        error=exc,
    )


def _reason(exc: BaseException, status: int | None, message: str) -> FailureReason:
    for cls in type(exc).__mro__:
        if cls.__name__ in _BY_CLASS_NAME:
            return _BY_CLASS_NAME[cls.__name__]
    if status is not None and status >= 400:
        # OpenAI's error body says "context_length_exceeded" in its code whatever the message's words.
        if status in (400, 413) and (
            _CONTEXT_PATTERNS.search(message) or getattr(exc, "code", None) == "context_length_exceeded"
        ):
            return FailureReason.CONTEXT_LENGTH
        if status in _BY_STATUS:
            return _BY_STATUS[status]
        return FailureReason.SERVER_ERROR if status >= 500 else FailureReason.INVALID_REQUEST
    if isinstance(exc, TimeoutError):
        return FailureReason.TIMEOUT
    if isinstance(exc, ConnectionError):
        return FailureReason.UNAVAILABLE
    if isinstance(exc, _UNRECOVERABLE_BUILTINS):
        return FailureReason.UNRECOVERABLE
    if isinstance(exc, Warning):
        # A warning raised as an error (``-W error``), such as an SDK's "model is deprecated": the same call
        # would raise it again, another model may not.
        return FailureReason.INVALID_REQUEST
    # Last resort, for exceptions that carry nothing but words (the specification's examples raise
    # ``Exception("Rate limit exceeded")``).
    if _CONTEXT_PATTERNS.search(message):
        return FailureReason.CONTEXT_LENGTH
    for pattern, reason in _MESSAGE_HINTS:
        if pattern.search(message):
            return reason
    return FailureReason.UNKNOWN


def _status_code(exc: BaseException) -> int | None:
    for value in (
        getattr(exc, "status_code", None),
        getattr(getattr(exc, "response", None), "status_code", None),
        getattr(exc, "status", None),
    ):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def _headers(exc: BaseException) -> Any:
    headers = getattr(getattr(exc, "response", None), "headers", None)
    return headers if hasattr(headers, "get") else None


def retry_after_seconds(headers: Any, wall_clock: Callable[[], float] | None = None) -> float | None:
    """Seconds to wait that ``headers`` ask for, or None.

    ``retry-after-ms`` wins (it is more precise), then ``retry-after`` as seconds or as an HTTP date.
    A negative wait (a date in the past) is zero.

    Examples
    --------
    >>> retry_after_seconds({"retry-after": "7"})
    7.0
    >>> retry_after_seconds({"retry-after": "Thu, 01 Jan 1970 00:01:40 GMT"}, wall_clock=lambda: 90.0)
    10.0
    """
    if headers is None:
        return None
    for name, scale in (("retry-after-ms", 1e-3), ("retry-after", 1.0)):
        raw = headers.get(name)
        if raw is None:
            continue
        seconds: float | None
        try:
            seconds = float(raw) * scale
        except (TypeError, ValueError):
            seconds = _http_date_seconds(str(raw), wall_clock) if name == "retry-after" else None
        if seconds is not None and math.isfinite(seconds):
            return max(0.0, seconds)
    return None


def _http_date_seconds(raw: str, wall_clock: Callable[[], float] | None) -> float | None:
    parsed = email.utils.parsedate_tz(raw)
    if parsed is None:
        return None
    return float(email.utils.mktime_tz(parsed)) - (wall_clock or time.time)()
