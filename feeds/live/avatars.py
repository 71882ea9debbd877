"""Agents' pictures: fetched from the feed's ``avatar`` URLs, checked, cropped round, kept on disk.

The display never touches the network: it draws the files kept here, found by the URL's hash
(:func:`cached_file`), and coloured initials until one is there. :class:`AvatarFetcher` runs in
the feed's scheduler, off the drawing thread, and asks through the one HTTP policy
(:mod:`feeds.connectors.transport`: timeouts, a size cap, conditional GETs). A body is accepted only when
Pillow reads it as a PNG, JPEG, GIF or WebP of sane dimensions (so a decompression bomb is refused
from its header, before anything is decoded); it is cut to a centred square, scaled to
``SIDE`` pixels, cropped to a circle and kept as a PNG. The cache is bounded (files and bytes; the
least recently confirmed go first) and survives restarts; a kept picture is asked for again, with
``If-None-Match``, once a day. A failure is logged once per URL and tried again with backoff.

Secrets: the feed's credentials and headers go only to the feed's own origin (scheme, host and
port); other hosts are asked anonymously. Pictures come over ``https://``, or plain ``http://``
from a loopback host or the feed's own origin (the admin already chose plain HTTP for it).
"""

from __future__ import annotations

import hashlib
import io
import ipaddress
import json
import logging
import os
import time
from collections import deque
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx
from PIL import Image, ImageChops, ImageDraw, ImageOps

from feeds.connectors.sources import feed_auth, feed_ca_file
from feeds.config.schema import Config, FeedConfig, LoadedConfig
from feeds.logs import LOGGER, log_event
from feeds.model import FeedError
from feeds.db import state_dir
from feeds.connectors.transport import HttpFetcher, RetryPolicy, make_client

if TYPE_CHECKING:
    from apscheduler.schedulers.base import BaseScheduler

    from feeds.live.coordinator import FeedState

log = logging.getLogger(f"{LOGGER}.avatars")
DIR_NAME = "avatars"
SIDE = 256  # pixels of a kept picture: sharp up to a 4K wall's largest avatar
MAX_BYTES = 2 * 1024 * 1024
MAX_SIDE = 4096
MAX_PIXELS = 4096 * 4096
FORMATS = ("PNG", "JPEG", "GIF", "WEBP")
MAX_FILES = 1000
MAX_CACHE_BYTES = 128 * 1024 * 1024
REVALIDATE_SECONDS = 24 * 3600.0
PER_RUN = 40  # fetches per scheduler run: a big floor's first day is spread over a few runs
RETRY = RetryPolicy(interval=300.0, cap=6 * 3600.0)
JOB_ID = "chalkwall-avatars"


class AvatarError(ValueError):
    """A body that is not a usable picture."""


def cache_dir(state: Path) -> Path:
    return state / DIR_NAME


def avatar_dir(config: Config) -> Path | None:
    """Where the wall finds the fetched pictures; None when avatars are off."""
    return cache_dir(state_dir(config.state.dir)) if config.feed.avatars else None


def open_avatars(loaded: LoadedConfig) -> AvatarFetcher | None:
    """The fetcher for a config's feed (None when avatars are off); FeedError if its secret is missing."""
    directory = avatar_dir(loaded.config)
    if directory is None:
        return None
    feed = loaded.config.feed
    return AvatarFetcher(feed, directory, auth=feed_auth(feed, loaded.base_dir), ca_file=feed_ca_file(feed, loaded.base_dir))


def cached_file(directory: Path, url: str) -> Path:
    """Where the picture for ``url`` is kept (whether or not it is there yet)."""
    return directory / f"{hashlib.sha256(url.encode('utf-8')).hexdigest()[:32]}.png"


def shown_url(url: str) -> str:
    """A URL for the log: no query or fragment (a signed URL's signature is a secret)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    try:
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    except ValueError:
        port = -1
    return parts.scheme, (parts.hostname or "").lower(), port


def _loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def url_problem(url: str, feed_url: str = "") -> str | None:
    """Why ``url`` is not fetched, or None when it may be."""
    scheme, host, port = _origin(url)
    if not host or port == -1:
        return "not a valid address"
    if scheme == "https":
        return None
    if scheme == "http" and (_loopback(host) or (feed_url and _origin(feed_url) == (scheme, host, port))):
        return None
    if scheme == "http":
        return "plain http:// is fetched only from this machine or the feed's own server; use https://"
    return f"{scheme}:// addresses are not fetched"


def decode(body: bytes, side: int = SIDE) -> Image.Image:
    """A round RGBA picture of ``side`` pixels from an image file's bytes; AvatarError if it is none."""
    try:
        with Image.open(io.BytesIO(body), formats=FORMATS) as image:
            w, h = image.size
            if w < 1 or h < 1 or w > MAX_SIDE or h > MAX_SIDE or w * h > MAX_PIXELS:
                raise AvatarError(f"the picture is {w}×{h} pixels, over the {MAX_SIDE}×{MAX_SIDE} limit")
            image.draft("RGB", (side, side))  # a JPEG decodes straight at a fraction of its size
            upright = ImageOps.exif_transpose(image)  # a phone's photo, turned as it was taken
            square = ImageOps.fit(upright.convert("RGBA"), (side, side), Image.Resampling.LANCZOS)
    except AvatarError:
        raise
    except Image.DecompressionBombError:  # Pillow's own guard, for pictures far over ours
        raise AvatarError(f"the picture is over the {MAX_SIDE}×{MAX_SIDE} limit (a decompression bomb?)") from None
    except Exception as exc:  # Pillow raises many kinds (UnidentifiedImageError, OSError, SyntaxError…)
        raise AvatarError(f"not a picture that can be read ({type(exc).__name__})") from None
    mask = Image.new("L", (side * 4, side * 4), 0)  # drawn 4× and scaled down: a smooth edge
    ImageDraw.Draw(mask).ellipse((0, 0, side * 4 - 1, side * 4 - 1), fill=255)
    square.putalpha(ImageChops.multiply(square.getchannel("A"), mask.resize((side, side), Image.Resampling.LANCZOS)))
    return square


class AvatarCache:
    """The kept pictures: ``<hash>.png`` and ``<hash>.json`` (its URL and validators) per URL. A
    file's mtime is when the server last confirmed it."""

    def __init__(self, directory: Path, max_files: int = MAX_FILES, max_bytes: int = MAX_CACHE_BYTES) -> None:
        self.directory, self.max_files, self.max_bytes = directory, max_files, max_bytes

    def age(self, url: str, now: float) -> float | None:
        """Seconds since the picture for ``url`` was confirmed; None when none is kept."""
        try:
            return now - cached_file(self.directory, url).stat().st_mtime
        except OSError:
            return None

    def validators(self, url: str) -> tuple[str | None, str | None]:
        try:
            meta = json.loads(cached_file(self.directory, url).with_suffix(".json").read_text("utf-8"))
            return meta.get("etag"), meta.get("last_modified")
        except (OSError, ValueError, AttributeError):
            return None, None

    def store(self, url: str, picture: Image.Image, validators: tuple[str | None, str | None], now: float) -> None:
        """Keep ``picture`` for ``url`` (written aside and renamed: a reader never sees half a file)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        path = cached_file(self.directory, url)
        meta = {"url": url, "etag": validators[0], "last_modified": validators[1]}
        _replace(path.with_suffix(".json"), json.dumps(meta).encode("utf-8"))
        png = io.BytesIO()
        picture.save(png, "PNG")
        _replace(path, png.getvalue())
        os.utime(path, (now, now))
        self._evict()

    def confirm(self, url: str, now: float) -> None:
        """The server says the kept picture is still current (a 304)."""
        os.utime(cached_file(self.directory, url), (now, now))

    def _evict(self) -> None:
        pictures = sorted(self.directory.glob("*.png"), key=lambda p: _stat(p)[0], reverse=True)
        total = 0
        for i, path in enumerate(pictures):
            total += _stat(path)[1]
            if i >= self.max_files or total > self.max_bytes:
                for gone in (path, path.with_suffix(".json")):
                    gone.unlink(missing_ok=True)


def _replace(path: Path, data: bytes) -> None:
    scratch = path.with_name(path.name + ".part")
    scratch.write_bytes(data)
    os.replace(scratch, path)


def _stat(path: Path) -> tuple[float, int]:
    try:
        st = path.stat()
        return st.st_mtime, st.st_size
    except OSError:
        return 0.0, 0


class AvatarFetcher:
    """Fetches the pictures a board's agents name, into an :class:`AvatarCache`."""

    def __init__(self, feed: FeedConfig, directory: Path, *, auth: httpx.Auth | None = None, ca_file: str = "",
                 clock: Callable[[], float] = time.time) -> None:
        self.feed, self.cache, self.clock = feed, AvatarCache(directory), clock
        self.timeout = feed.timeout
        self._ca_file = ca_file
        self._auth = auth
        self._clients: dict[bool, httpx.Client] = {}
        self._failures: dict[str, tuple[int, float]] = {}  # url -> (failures in a row, not before)
        self._refused: set[str] = set()  # URLs said once in the log to be refused
        self._due: dict[str, float] = {}  # url -> when it next needs a look (kept and fresh, or failing)
        # When stored within a day: a floor with more pictures than the cache holds must not fetch
        # and evict in an endless circle, so once a day's worth fills it, the rest keep initials.
        self._stored: deque[float] = deque()
        self._full_said = False

    def _client(self, same_origin: bool) -> httpx.Client:
        """The feed's own origin gets its credentials and headers; any other host gets neither."""
        client = self._clients.get(same_origin)
        if client is None:
            client = make_client(timeout=self.timeout, verify_tls=self.feed.verify_tls, ca_file=self._ca_file,
                                 headers=dict(self.feed.headers) if same_origin else None,
                                 auth=self._auth if same_origin else None, accept="image/*",
                                 on_request=self._check_hop)
            self._clients[same_origin] = client
        return client

    def _check_hop(self, request: httpx.Request) -> None:
        """A redirect is held to the same rules as the address the feed gave."""
        problem = url_problem(str(request.url), self.feed.url)
        if problem is not None:
            raise httpx.UnsupportedProtocol(f"sent on to {shown_url(str(request.url))}: {problem}", request=request)

    def run(self, urls: Iterable[str | None]) -> int:
        """Fetch what is missing, stale or due for another try among ``urls`` (at most
        ``PER_RUN`` requests); the number of pictures stored or confirmed."""
        done = asked = 0
        now = self.clock()
        if len(self._due) > 20_000:  # many floors' worth of URLs over the months: start afresh
            self._due.clear()
        for url in dict.fromkeys(u for u in urls if u and "://" in u):
            if asked >= PER_RUN:
                break
            if self._due.get(url, 0.0) > now:  # known fresh, or backing off: no disk, no network
                continue
            problem = url_problem(url, self.feed.url)
            if problem is not None:
                if url not in self._refused and len(self._refused) < 10_000:
                    self._refused.add(url)
                    log_event(log, logging.WARNING, "avatar_refused", f"avatar {shown_url(url)} not fetched: {problem}",
                              url=shown_url(url))
                continue
            age = self.cache.age(url, now)
            if age is not None and age < REVALIDATE_SECONDS:
                self._due[url] = now + REVALIDATE_SECONDS - age
                continue
            if self._failures.get(url, (0, 0.0))[1] > now:
                continue
            if age is None and self._cache_full(now):
                continue
            asked += 1
            done += self._fetch(url, now, kept=age is not None)
        return done

    def _fetch(self, url: str, now: float, kept: bool) -> bool:
        same = self.feed.type in ("http", "csv") and bool(self.feed.url) and _origin(url) == _origin(self.feed.url)
        fetcher = HttpFetcher(url, timeout=self.timeout, max_bytes=MAX_BYTES, client=self._client(same))
        if kept:
            fetcher.remember_validators(*self.cache.validators(url))
        try:
            body = fetcher.fetch()
            if body is None:
                self.cache.confirm(url, now)
            else:
                self.cache.store(url, decode(body), fetcher.validators, now)
                self._stored.append(now)
        except (FeedError, AvatarError, OSError) as exc:
            self._failed(url, now, str(exc), kept)
            return False
        self._due[url] = now + REVALIDATE_SECONDS
        if self._failures.pop(url, None) is not None:
            log.info("avatar %s fetched after all", shown_url(url))
        return True

    def _cache_full(self, now: float) -> bool:
        while self._stored and now - self._stored[0] > REVALIDATE_SECONDS:
            self._stored.popleft()
        full = len(self._stored) >= self.cache.max_files
        if full and not self._full_said:
            log.warning("more avatars than the cache keeps (%d a day); the rest show initials", self.cache.max_files)
        self._full_said = full
        return full

    def _failed(self, url: str, now: float, reason: str, kept: bool) -> None:
        failures = self._failures.get(url, (0, 0.0))[0] + 1
        if len(self._failures) > 20_000:  # a floor's worth many times over: start afresh
            self._failures.clear()
        self._failures[url] = (failures, now + RETRY.delay(failures))
        self._due[url] = self._failures[url][1]
        if failures == 1:
            also = "; the kept picture stays" if kept else "; showing initials"
            log_event(log, logging.WARNING, "avatar_failed", f"avatar {shown_url(url)}: {reason}{also}",
                      url=shown_url(url), error=reason)

    def schedule(self, scheduler: BaseScheduler, state: Callable[[], FeedState]) -> None:
        """Fetch for the board ``state`` returns, a second after polling starts and then every
        interval, in the scheduler's own threads (never the one drawing)."""
        def job() -> None:
            board = state().board
            if board is not None:
                self.run(ranked.agent.avatar for ranked in board.agents)

        seconds = min(max(self.feed.interval, 2.0), 60.0)
        scheduler.add_job(job, "interval", seconds=seconds, id=JOB_ID, replace_existing=True, coalesce=True,
                          max_instances=1, next_run_time=datetime.now(timezone.utc) + timedelta(seconds=1))

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()
