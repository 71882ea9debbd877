"""The part every fake vendor API shares: a threaded HTTP server on 127.0.0.1, routes, a request
log, an injected clock and error injection.

A fake registers routes (method + a path regex) whose handlers get a :class:`Request` and return a
:class:`Response`. Tests inject faults that the next matching requests get instead of the real
answer: any status with any headers and body, a delay (for client timeouts), or a truncated body
(the headers promise more bytes than are sent before the connection closes)::

    api.inject(Fault(429, {"Retry-After": "7"}), path="/api/v2/incremental", times=2)
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # names in lower case
    body: bytes
    at: float  # the fake clock's time

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def json(self) -> Any:
        return json.loads(self.body or b"null")


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, doc: Any, status: int = 200, **headers: str) -> Response:
        return cls(status, json.dumps(doc, ensure_ascii=False).encode(),
                   {"Content-Type": "application/json; charset=utf-8", **headers})

    @classmethod
    def text(cls, text: str, status: int, **headers: str) -> Response:
        return cls(status, text.encode(), {"Content-Type": "text/plain", **headers})


@dataclass
class Fault:
    """What an injected failure looks like: a status (0 = the real answer), extra headers, a body,
    a delay in real seconds before answering, or the real answer cut off halfway."""

    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | str | None = None
    delay: float = 0.0
    truncate: bool = False


Handler = Callable[[Request], Response]


class FakeAPI:
    """A vendor API on 127.0.0.1. ``clock`` (epoch seconds) is the vendor's idea of now."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.requests: list[Request] = []
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []
        self._faults: list[tuple[str, str, Fault, list[int]]] = []  # method, path prefix, fault, [times left]
        self._lock = threading.Lock()
        api = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out as two writes: no 40 ms delayed ACK

            def log_message(self, *args: Any) -> None:
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                req = Request(self.command, parts.path, parse_qs(parts.query, keep_blank_values=True),
                              {k.lower(): v for k, v in self.headers.items()}, body, api.clock())
                with api._lock:
                    api.requests.append(req)
                fault = api._take_fault(req)
                if fault is not None and fault.delay:
                    time.sleep(fault.delay)
                if fault is not None and fault.status:
                    raw = fault.body.encode() if isinstance(fault.body, str) else (fault.body or b"")
                    reply = Response(fault.status, raw, {"Content-Type": "application/json", **fault.headers})
                else:
                    reply = api.dispatch(req)
                    if fault is not None:
                        reply.headers.update(fault.headers)
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                if fault is not None and fault.truncate:
                    self.send_header("Connection", "close")
                self.end_headers()
                if fault is not None and fault.truncate:
                    self.wfile.write(reply.body[: len(reply.body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(reply.body)

            do_GET = do_POST = do_PUT = do_DELETE = _serve  # noqa: N815 - the http.server API

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        # serve_forever's default 0.5 s poll would make every stop() take half a second
        self._thread = threading.Thread(target=lambda: self.httpd.serve_forever(poll_interval=0.02), daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        """Answer ``method`` requests whose whole path matches the regex ``pattern``."""
        self._routes.append((method.upper(), re.compile(pattern), handler))

    def dispatch(self, req: Request) -> Response:
        for method, pattern, handler in self._routes:
            if method == req.method and pattern.fullmatch(req.path):
                try:
                    return handler(req)
                except Exception as exc:  # a bug in the fake: say so loudly, as a 500 with the reason
                    return Response.json({"error": "fake_server_bug", "detail": repr(exc)}, 500)
        return Response.json({"error": "not_found", "path": req.path}, 404)

    def inject(self, fault: Fault, path: str = "", method: str = "", times: int = 1) -> None:
        """The next ``times`` requests whose path starts with ``path`` get ``fault``."""
        with self._lock:
            self._faults.append((method.upper(), path, fault, [times]))

    def _take_fault(self, req: Request) -> Fault | None:
        with self._lock:
            for method, prefix, fault, left in self._faults:
                if left[0] > 0 and req.path.startswith(prefix) and (not method or method == req.method):
                    left[0] -= 1
                    return fault
        return None

    def calls(self, path: str = "", method: str = "") -> list[Request]:
        """The requests so far whose path starts with ``path``."""
        with self._lock:
            return [r for r in self.requests if r.path.startswith(path) and (not method or r.method == method.upper())]

    def start(self) -> FakeAPI:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    @contextmanager
    def running(self) -> Iterator[FakeAPI]:
        self.start()
        try:
            yield self
        finally:
            self.stop()


def iso(epoch: float) -> str:
    """UTC ISO-8601 with a Z, whole seconds, as most vendors write times."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def parse_iso(text: str) -> float:
    """Epoch seconds from an ISO-8601 time with Z or an offset (400s are the caller's to give)."""
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
