"""Small loopback HTTP servers for tests: one speaking the OpenAI chat-completions and Anthropic
messages APIs, and a plain file server (for the corpus downloads).

It lets the tests drive the *real* ``openai`` and ``anthropic`` client code (request building,
auth headers, response parsing) without a network: the server binds 127.0.0.1 only, on a free
port, answers from a queue of scripted replies, records each request (method, path, headers,
body) for the test to inspect, refuses bodies over 1 MB, and stops when the ``with`` block ends.
"""
from __future__ import annotations

import functools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 1 << 20


class _Loopback:
    """An HTTP server on 127.0.0.1 (a free port), serving in a thread for the ``with`` block."""

    def _serve(self, handler, timeout: float | None = None):
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.timeout = timeout
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


class FileServer(_Loopback):
    """``with FileServer(folder) as srv:`` serves the files of ``folder`` at ``srv.url``."""

    def __init__(self, folder):
        class Quiet(SimpleHTTPRequestHandler):
            def log_message(self, *a):
                pass

        self._serve(functools.partial(Quiet, directory=str(folder)))
        self.url = f"http://127.0.0.1:{self.port}/"


class FakeLLMServer(_Loopback):
    """``with FakeLLMServer(["reply 1", ...]) as srv:`` -- ``srv.openai_url``, ``srv.anthropic_url``.

    A reply that is an ``int`` is sent as that HTTP error status instead of a completion.
    """

    def __init__(self, replies, timeout: float = 30.0):
        self.replies = list(replies)
        self.requests: list[dict] = []
        self.timeout = timeout
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):  # keep test output clean
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                if n > MAX_BODY:
                    return self._send(413, {"error": {"message": "body too large"}})
                body = json.loads(self.rfile.read(n) or b"{}")
                with server._lock:
                    server.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                    reply = server.replies.pop(0) if server.replies else "no scripted reply left"
                if isinstance(reply, int):
                    return self._send(reply, {"type": "error", "error": {"type": "api_error",
                                                                          "message": f"scripted {reply}"}})
                if self.path.rstrip("/").endswith("/chat/completions"):
                    return self._send(200, server._openai(body, reply))
                if self.path.rstrip("/").endswith("/v1/messages"):
                    return self._send(200, server._anthropic(body, reply))
                return self._send(404, {"error": {"message": f"no route {self.path}"}})

            def _send(self, status, obj):
                data = json.dumps(obj).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._serve(Handler, timeout)

    @staticmethod
    def _tokens(text: str) -> int:
        return max(1, len(text.split()))

    def _openai(self, body, text):
        prompt = " ".join(str(m.get("content", "")) for m in body.get("messages", []))
        return {"id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()),
                "model": body.get("model", "fake"),
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                             "finish_reason": "stop", "logprobs": None}],
                "usage": {"prompt_tokens": self._tokens(prompt), "completion_tokens": self._tokens(text),
                          "total_tokens": self._tokens(prompt) + self._tokens(text)}}

    def _anthropic(self, body, text):
        prompt = str(body.get("system", "")) + " " + " ".join(str(m.get("content", "")) for m in body.get("messages", []))
        return {"id": "msg_fake", "type": "message", "role": "assistant", "model": body.get("model", "fake"),
                "content": [{"type": "text", "text": text}], "stop_reason": "end_turn", "stop_sequence": None,
                "usage": {"input_tokens": self._tokens(prompt), "output_tokens": self._tokens(text)}}

    @property
    def openai_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def anthropic_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"
