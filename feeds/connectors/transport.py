"""The one place that talks HTTP and decides when to try again.

:class:`HttpFetcher` does one conditional GET with httpx: TLS verified, a total timeout, the body
streamed and cut off at a size cap, ``ETag``/``If-None-Match`` and ``Last-Modified``/
``If-Modified-Since`` remembered, bearer or basic auth, and every failure turned into a FeedError
that says what happened (with the server's ``Retry-After`` on 429 and 503).

:class:`RetryPolicy` turns consecutive failures into the wait before the next poll: exponential
backoff with jitter (so a room of screens does not hammer a recovering server in step), never
shorter than what the server asked for.
"""

from __future__ import annotations

import random
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

import httpx

from feeds.model import FeedError

USER_AGENT = "chalkwall/0.1 (+wall leaderboard)"
MAX_RETRY_AFTER = 3600.0


@dataclass(frozen=True)
class RetryPolicy:
    """Wait before the next poll after ``failures`` failures in a row (0 = all is well)."""

    interval: float
    cap: float = 300.0

    def delay(self, failures: int, retry_after: float | None = None, rng: random.Random | None = None) -> float:
        if failures <= 0:
            return self.interval
        ceiling = min(max(self.cap, self.interval), self.interval * 2 ** (failures - 1))
        # "Equal jitter": at least half the backoff, so waits still grow, spread over the rest.
        wait = (rng or random).uniform(ceiling / 2, ceiling)
        if retry_after is not None:
            wait = max(wait, min(retry_after, MAX_RETRY_AFTER))
        return wait


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); None if absent or junk."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


class BearerAuth(httpx.Auth):
    def __init__(self, token: str) -> None:
        self._token = token

    def auth_flow(self, request: httpx.Request):  # type: ignore[no-untyped-def]
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request


def make_client(*, timeout: float, verify_tls: bool = True, ca_file: str = "",
                headers: dict[str, str] | None = None, auth: httpx.Auth | None = None,
                accept: str = "application/json",
                on_request: Callable[[httpx.Request], None] | None = None) -> httpx.Client:
    """An httpx client with chalkwall's policy: TLS verified (plus a private CA), a timeout, at most
    five redirects (httpx drops ``Authorization`` when one leaves the origin). ``on_request`` sees
    every request, redirects included, and may refuse one by raising an ``httpx.RequestError``."""
    verify: bool | ssl.SSLContext = verify_tls
    if ca_file:  # a private CA (an office proxy, an on-premises helpdesk) on top of the system's
        verify = ssl.create_default_context()
        try:
            verify.load_verify_locations(cafile=ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise FeedError(f"cannot use ca_file {ca_file}: {getattr(exc, 'strerror', None) or exc}",
                            "config") from None
    return httpx.Client(timeout=httpx.Timeout(timeout), verify=verify, auth=auth, follow_redirects=True,
                        max_redirects=5, headers={"User-Agent": USER_AGENT, "Accept": accept, **(headers or {})},
                        event_hooks={"request": [on_request]} if on_request else None)


class HttpFetcher:
    """Conditional GETs of one URL. ``fetch`` returns the body, or None when unchanged (304)."""

    def __init__(self, url: str, *, timeout: float, max_bytes: int, verify_tls: bool = True,
                 ca_file: str = "", headers: dict[str, str] | None = None,
                 auth: httpx.Auth | None = None, accept: str = "application/json",
                 client: httpx.Client | None = None) -> None:
        self.url = url
        self.max_bytes = max_bytes
        self.timeout = timeout
        # A shared client (many URLs of one kind, e.g. avatars) stays open: its owner closes it.
        self._owns_client = client is None
        self._client = client or make_client(timeout=timeout, verify_tls=verify_tls, ca_file=ca_file,
                                             headers=headers, auth=auth, accept=accept)
        self._etag: str | None = None
        self._last_modified: str | None = None

    @property
    def validators(self) -> tuple[str | None, str | None]:
        """The ``ETag`` and ``Last-Modified`` of the last full answer (to keep across restarts)."""
        return self._etag, self._last_modified

    def remember_validators(self, etag: str | None, last_modified: str | None) -> None:
        """Ask conditionally from the start (the body is already kept elsewhere)."""
        self._etag, self._last_modified = etag or None, last_modified or None

    def forget_validators(self) -> None:
        """Ask for the full body next time (used when the last body could not be used)."""
        self._etag = self._last_modified = None

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def fetch(self) -> bytes | None:
        headers = {}
        if self._etag:
            headers["If-None-Match"] = self._etag
        if self._last_modified:
            headers["If-Modified-Since"] = self._last_modified
        deadline = time.monotonic() + self.timeout
        try:
            with self._client.stream("GET", self.url, headers=headers) as response:
                if response.status_code == 304:
                    return None
                self._raise_for_status(response)
                body = self._read_capped(response, deadline)
                self._etag = response.headers.get("ETag")
                self._last_modified = response.headers.get("Last-Modified")
                return body
        except httpx.TimeoutException:
            raise FeedError(f"no answer within {self.timeout:g} s", "timeout") from None
        except httpx.ConnectError as exc:
            raise FeedError(f"cannot connect: {_reason(exc)}", "connect") from None
        except httpx.TooManyRedirects:
            raise FeedError("too many redirects", "http_status") from None
        except httpx.HTTPError as exc:
            raise FeedError(f"network error: {_reason(exc)}", "network") from None

    def _raise_for_status(self, response: httpx.Response) -> None:
        status = response.status_code
        if 200 <= status < 300:
            return
        phrase = f"HTTP {status} {response.reason_phrase}".strip()
        if status in (429, 503):
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            wait = f", asked to wait {retry_after:g} s" if retry_after is not None else ""
            raise FeedError(f"server busy ({phrase}{wait})", f"http_{status}", retry_after)
        if status in (401, 403):
            raise FeedError(f"not allowed ({phrase}): check [feed.auth] and its secret", "auth")
        raise FeedError(f"server answered {phrase}", "http_status")

    def _read_capped(self, response: httpx.Response, deadline: float) -> bytes:
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise FeedError(f"document is {int(declared):,} bytes, over the {self.max_bytes:,}-byte limit",
                            "too_big")
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > self.max_bytes:
                raise FeedError(f"document is over the {self.max_bytes:,}-byte limit", "too_big")
            if time.monotonic() > deadline:  # httpx's timeouts are per read; a slow drip needs this
                raise FeedError(f"no complete answer within {self.timeout:g} s", "timeout")
            chunks.append(chunk)
        return b"".join(chunks)


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[-1][:200] if text else type(exc).__name__
