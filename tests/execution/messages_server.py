"""A small Messages API server on loopback, so tests drive the real ``anthropic`` client through failures.

It answers ``POST /v1/messages`` as the API does: a valid Message body, or an error body with the status,
headers and delay a test scripts. ``POST /v1/chat/completions`` answers as OpenAI's Chat Completions API
does, for the real ``openai`` client. It is not a mock of the SDK: the SDK's own HTTP stack, status mapping,
exception classes and timeout handling run unchanged.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    429: "rate_limit_error",
    500: "api_error",
    503: "api_error",
    529: "overloaded_error",
}


@dataclass(frozen=True)
class Reply:
    """What the server answers to one request."""

    status: int = 200
    message: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    drop: bool = False  # close the connection without answering
    input_tokens: int = 12
    output_tokens: int = 5
    text: str = "ok"
    code: str | None = None  # an OpenAI error body's "code", e.g. "context_length_exceeded"


@dataclass(frozen=True)
class Request:
    """One request as the server saw it."""

    model: str
    task_id: str
    at: float  # the test's clock when the request arrived
    reply: Reply


Script = Callable[[str, str, int], Reply]  # (model, task_id, n-th request of that task) -> Reply


def ok(**kwargs: Any) -> Reply:
    return Reply(**kwargs)


def error(status: int, message: str = "", **kwargs: Any) -> Reply:
    return Reply(status=status, message=message or f"scripted {status}", **kwargs)


class MessagesServer:
    """Serves a script; records every request (model, task id, clock reading, reply)."""

    def __init__(self, script: Script, clock: Callable[[], float] = lambda: 0.0) -> None:
        self.script = script
        self.clock = clock
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._per_task: dict[str, int] = {}
        self._stop = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05})

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def models_called(self) -> list[str]:
        with self._lock:
            return [r.model for r in self.requests]

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()  # wakes handlers that are sleeping out a scripted delay
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    def _take(self, model: str, task_id: str) -> Reply:
        with self._lock:
            n = self._per_task.get(task_id, 0)
            self._per_task[task_id] = n + 1
            reply = self.script(model, task_id, n)
            self.requests.append(Request(model, task_id, self.clock(), reply))
        return reply

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the real API: the soak makes ~1,500 calls
            disable_nagle_algorithm = True  # headers and body go out in two writes; do not wait 40 ms

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", "0"))) or b"{}")
                model = str(body.get("model", ""))
                reply = server._take(model, self.headers.get("x-task-id", ""))
                if reply.delay_s and server._stop.wait(reply.delay_s):
                    return
                if reply.drop:
                    self.close_connection = True
                    return
                self._answer(reply, model)

            def _answer(self, reply: Reply, model: str) -> None:
                if self.path.endswith("/chat/completions"):
                    payload = _chat_completion(reply, model)
                elif reply.status == 200:
                    payload: dict[str, Any] = {
                        "id": "msg_loopback",
                        "type": "message",
                        "role": "assistant",
                        "model": model,
                        "content": [{"type": "text", "text": reply.text}],
                        "stop_reason": "end_turn",
                        "stop_sequence": None,
                        "usage": {"input_tokens": reply.input_tokens, "output_tokens": reply.output_tokens},
                    }
                else:
                    kind = _ERROR_TYPES.get(reply.status, "api_error")
                    payload = {"type": "error", "error": {"type": kind, "message": reply.message}}
                data = json.dumps(payload).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up (its timeout) before the answer
                    pass

            def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
                pass

        return Handler


def _chat_completion(reply: Reply, model: str) -> dict[str, Any]:
    """OpenAI's Chat Completions answer: a completion, or its error body."""
    if reply.status != 200:
        kind = "invalid_request_error" if reply.status < 500 else "server_error"
        return {"error": {"message": reply.message, "type": kind, "param": None, "code": reply.code}}
    return {
        "id": "chatcmpl-loopback",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply.text},
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": reply.input_tokens,
            "completion_tokens": reply.output_tokens,
            "total_tokens": reply.input_tokens + reply.output_tokens,
        },
    }


@contextmanager
def serve(script: Script, clock: Callable[[], float] = lambda: 0.0) -> Iterator[MessagesServer]:
    server = MessagesServer(script, clock)
    server.start()
    try:
        yield server
    finally:
        server.stop()
