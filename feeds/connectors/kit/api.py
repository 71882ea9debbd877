"""The HTTP client every native connector uses: one vendor account, its credentials, its rate
budget, and the rules for when to try again.

- Each request counts against the named budget buckets first; when they are spent it waits, but
  never past the poll's deadline: it raises :class:`BudgetSpent` instead, and the connector keeps
  what it has (partial numbers beat waiting).
- 429 and 503 wait as the vendor asks — ``Retry-After`` (seconds or a date), else the vendor's own
  header (``waits``: Help Scout ``X-RateLimit-Retry-After``, Intercom ``X-RateLimit-Reset``,
  Genesys ``inin-ratelimit-reset``, Zendesk ``ratelimit-reset``), else an equal-jitter backoff —
  capped at ``MAX_WAIT`` and only while the deadline allows; then :class:`ApiError` ("rate").
- 401 refreshes the credentials once (OAuth); a second 401 is one clear error naming the secret to
  fix. 403 is one clear error naming the permission or plan (``forbidden``), with no retry loop.
- Timeouts, refused connections, truncated or invalid JSON and bodies over the size cap are
  ApiErrors that say what happened; no message ever carries a secret.
"""

from __future__ import annotations

import base64
import json
import random
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx

from feeds.connectors.kit.budget import Budget
from feeds.connectors.transport import make_client, parse_retry_after
from feeds.model import FeedError

MAX_WAIT = 60.0  # the longest one 429 may hold a poll, whatever the vendor asks
RETRIES = 3  # retries of a 429 or 5xx per request, within the deadline (a timeout is not retried: the next poll is)


class ApiError(FeedError):
    """A request that did not get an answer: ``kind`` is credentials, permission, rate, busy,
    timeout, network, json, too_big or http; ``status`` the HTTP status when there was one."""

    def __init__(self, message: str, kind: str, status: int | None = None, retry_after: float | None = None,
                 body: Any = None) -> None:
        super().__init__(message, kind, retry_after)
        self.status = status
        self.body = body  # the vendor's error document, for the connector to read (e.g. "cursor expired")


class ShapeError(ApiError):
    """The vendor answered, but not in the shape its documentation (or our reading of it) gives:
    said loudly, naming the field, never read as zeros."""

    def __init__(self, message: str) -> None:
        super().__init__(message, "shape")


class BudgetSpent(ApiError):
    """chalkwall's share of the rate limit is used up until after the poll's deadline."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"rate budget spent for {wait:.0f} s", "budget", retry_after=wait)


class Credentials(Protocol):
    def headers(self, client: httpx.Client) -> dict[str, str]: ...

    def refresh(self) -> bool:
        """Forget the current token; True when asking again could help (OAuth), else False."""
        ...


class StaticCredentials:
    """A header that never changes: Basic or Bearer with a token from the config's secret."""

    def __init__(self, header: str) -> None:
        self._header = header

    @classmethod
    def basic(cls, user: str, password: str) -> StaticCredentials:
        return cls("Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii"))

    @classmethod
    def bearer(cls, token: str) -> StaticCredentials:
        return cls(f"Bearer {token}")

    def headers(self, client: httpx.Client) -> dict[str, str]:
        return {"Authorization": self._header}

    def refresh(self) -> bool:
        return False


@dataclass(frozen=True)
class Reply:
    status: int
    data: Any
    headers: httpx.Headers


def origin(url: str) -> str:
    """scheme://host:port of a base URL (what ``base_url`` may hold)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class ApiClient:
    def __init__(self, base_url: str, credentials: Credentials, *, vendor: str, secret_hint: str,
                 budget: Budget, timeout: float = 10.0, max_bytes: int = 32 * 1024 * 1024,
                 verify_tls: bool = True, ca_file: str = "", headers: Mapping[str, str] | None = None,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep,
                 waits: Iterable[Callable[[httpx.Headers, float], float | None]] = (),
                 learn: Callable[[httpx.Headers, Budget], None] | None = None,
                 forbidden: Callable[[str, Any], str] | None = None,
                 rng: random.Random | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.credentials = credentials
        self.vendor = vendor
        self.secret_hint = secret_hint  # e.g. "the API token in feed.auth.token_file"
        self.budget = budget
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.clock, self.sleep = clock, sleep
        self.waits = tuple(waits)
        self.learn = learn
        self.forbidden = forbidden
        self.deadline = float("inf")  # set per poll by the connector
        self._rng = rng or random.Random()
        self.client = make_client(timeout=timeout, verify_tls=verify_tls, ca_file=ca_file, headers=dict(headers or {}))
        self.requests = 0  # made so far (the benchmark and budget tests read it)

    def close(self) -> None:
        self.client.close()

    def url(self, path: str) -> str:
        """``base_url`` + ``path``; a whole URL (a vendor's next link) is taken on ``base_url`` too,
        so the credentials never go to a host the config did not name."""
        if path.startswith(("http://", "https://")):
            parts = urlsplit(path)
            path = parts.path + (f"?{parts.query}" if parts.query else "")
        return self.base_url + path

    def get(self, path: str, params: Any = None, **kw: Any) -> Reply:
        return self.request("GET", path, params=params, **kw)

    def post(self, path: str, json_body: Any = None, **kw: Any) -> Reply:
        return self.request("POST", path, json_body=json_body, **kw)

    def request(self, method: str, path: str, *, params: Any = None, json_body: Any = None,
                data: Mapping[str, str] | None = None, buckets: Iterable[str] = ("account",), cost: float = 1.0,
                what: str = "", costs: Mapping[str, float] | None = None) -> Reply:
        """One call, as the module docstring says; ``what`` names it in messages ("ticket export");
        ``costs`` gives some buckets a cost of their own (the rest are charged ``cost``)."""
        what = what or f"{method} {path.split('?')[0]}"
        names = tuple(buckets)
        refreshed = False
        attempt = 0
        failed: ApiError | None = None  # the answer being retried: what to report if retrying cannot go on
        while True:
            wait = self.budget.wait(names, cost, costs)
            if wait > 0:
                if self.clock() + wait > self.deadline:
                    raise failed if failed is not None else BudgetSpent(wait)
                self.sleep(wait)
            self.budget.spend(names, cost, costs)
            response = self._send(method, path, params, json_body, data, what)
            if self.learn is not None:
                self.learn(response.headers, self.budget)
            status = response.status_code
            if 200 <= status < 300:
                return Reply(status, self._json(response, what), response.headers)
            body = self._error_body(response)
            if status == 401:
                if not refreshed and self.credentials.refresh():
                    refreshed = True
                    continue
                raise ApiError(f"{self.vendor} refused the credentials for {what} (HTTP 401): check "
                               f"{self.secret_hint}", "credentials", status, body=body)
            if status == 403:
                need = self.forbidden(path, body) if self.forbidden is not None else "a role that may read it"
                raise ApiError(f"{self.vendor} does not allow {what} (HTTP 403): it needs {need}", "permission",
                               status, body=body)
            if status in (429, 503) or status >= 500:
                attempt += 1
                wait = self._wait(response.headers, attempt)
                kind = "rate" if status == 429 else "busy"
                failed = ApiError(f"{self.vendor} is {'rate-limiting' if status == 429 else 'not answering'} "
                                  f"{what} (HTTP {status}); asked to wait {wait:.0f} s", kind, status,
                                  retry_after=wait, body=body)
                if attempt > RETRIES or self.clock() + wait > self.deadline:
                    raise failed
                self.sleep(wait)
                continue
            raise ApiError(f"{self.vendor} answered {what} with HTTP {status} {_detail(body)}".rstrip(), "http",
                           status, body=body)

    def _send(self, method: str, path: str, params: Any, json_body: Any, data: Mapping[str, str] | None,
              what: str) -> httpx.Response:
        headers = self.credentials.headers(self.client)
        self.requests += 1
        try:
            request = self.client.build_request(method, self.url(path), params=params, json=json_body, data=data,
                                                headers=headers)
            response = self.client.send(request, stream=True)
            try:
                response._content = self._read(response, what)  # noqa: SLF001 - httpx's own cache
            finally:
                response.close()
            return response
        except httpx.TimeoutException:
            raise ApiError(f"{self.vendor} did not answer {what} within {self.timeout:g} s", "timeout") from None
        except httpx.ConnectError:
            raise ApiError(f"cannot connect to {self.vendor} at {origin(self.base_url)} for {what}", "network") from None
        except httpx.HTTPError as exc:
            raise ApiError(f"network error talking to {self.vendor} ({what}): {type(exc).__name__}", "network") from None

    def _read(self, response: httpx.Response, what: str) -> bytes:
        chunks, size = [], 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > self.max_bytes:
                raise ApiError(f"{self.vendor}'s answer to {what} is over {self.max_bytes:,} bytes", "too_big")
            chunks.append(chunk)
        return b"".join(chunks)

    def _json(self, response: httpx.Response, what: str) -> Any:
        try:
            return json.loads(response.content)
        except (ValueError, UnicodeDecodeError):
            raise ApiError(f"{self.vendor} sent a truncated or invalid JSON answer to {what}", "json") from None

    @staticmethod
    def _error_body(response: httpx.Response) -> Any:
        try:
            return json.loads(response.content)
        except (ValueError, UnicodeDecodeError):
            return response.content[:200].decode("utf-8", "replace")

    def _wait(self, headers: httpx.Headers, attempt: int) -> float:
        now = self.clock()
        wait = parse_retry_after(headers.get("Retry-After"))
        for vendor_wait in self.waits:
            if wait is None:
                wait = vendor_wait(headers, now)
        if wait is None:  # equal jitter: at least half of 2, 4, 8 s
            ceiling = 2.0 ** attempt
            wait = self._rng.uniform(ceiling / 2, ceiling)
        return max(0.0, min(wait, MAX_WAIT))


def _detail(body: Any) -> str:
    """A short, secret-free reason from a vendor's error body."""
    if isinstance(body, dict):
        for key in ("description", "message", "error_description", "error", "title", "code"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return f"({value[:120]})"
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return _detail(errors[0])
    return ""


def seconds_header(name: str) -> Callable[[httpx.Headers, float], float | None]:
    """A vendor header that says how many seconds to wait (Help Scout, Genesys, Zendesk)."""
    def read(headers: httpx.Headers, now: float) -> float | None:
        value = headers.get(name, "").strip()
        try:
            return max(0.0, float(value)) if value else None
        except ValueError:
            return None
    return read


def epoch_header(name: str) -> Callable[[httpx.Headers, float], float | None]:
    """A vendor header that says when (epoch seconds) the limit resets (Intercom, Aircall)."""
    def read(headers: httpx.Headers, now: float) -> float | None:
        value = headers.get(name, "").strip()
        try:
            return max(0.0, float(value) - now) if value else None
        except ValueError:
            return None
    return read


def number_header(headers: httpx.Headers, *names: str) -> float | None:
    """The first of ``names`` that holds a number ("700" or "700.0", as Freshdesk writes it)."""
    for name in names:
        value = headers.get(name, "").strip()
        try:
            return float(value)
        except ValueError:
            continue
    return None
