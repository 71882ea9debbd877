"""Feed adapters: each turns one configured source into Snapshots.

An adapter's ``poll`` returns a Snapshot, None when the source has not changed since the last
good poll, or raises FeedError. HTTP, file and CSV feeds are a *source* (bytes from a URL or a
file, fetched only when changed) joined to a *format* (canonical JSON, mapped JSON, or CSV);
the demo feed simulates a support floor.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

import httpx

from feeds.connectors.base import Adapter, Context, ConnectorType
from feeds.connectors.formats import Decoder, csv_decoder, json_decoder
from feeds.config.schema import FeedConfig
from feeds.connectors.mapping import Mapper
from feeds.model import FeedError, Snapshot
from feeds.config.secrets import read_secret
from feeds.connectors.transport import BearerAuth, HttpFetcher


class Source(Protocol):
    def fetch(self) -> bytes | None: ...

    def forget_validators(self) -> None: ...

    def close(self) -> None: ...


class FileSource:
    """A file on disk, read again only when its size, time or inode changed."""

    def __init__(self, path: str, max_bytes: int) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self._stamp: tuple[int, int, int] | None = None

    def fetch(self) -> bytes | None:
        try:
            st = os.stat(self.path)
            stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
            if stamp == self._stamp:
                return None
            if st.st_size > self.max_bytes:
                raise FeedError(f"{self.path} is {st.st_size:,} bytes, over the {self.max_bytes:,}-byte limit",
                                "too_big")
            raw = self.path.read_bytes()
        except FileNotFoundError:
            raise FeedError(f"{self.path} does not exist", "io") from None
        except OSError as exc:
            raise FeedError(f"cannot read {self.path}: {exc.strerror or exc}", "io") from None
        self._stamp = stamp
        return raw

    def forget_validators(self) -> None:
        self._stamp = None

    def close(self) -> None:
        pass


class SourceAdapter:
    """A source joined to a format."""

    def __init__(self, source: Source, decode: Decoder) -> None:
        self.source = source
        self.decode = decode
        self._body: bytes | None = None  # the last body decoded

    def poll(self) -> Snapshot | None:
        raw = self.source.fetch()
        if raw is None:
            return None
        # A feed without ETag or Last-Modified sends the same body again and again: that is
        # "unchanged" too, found by comparing with the last body (a memcmp that stops at the first
        # difference, usually generated_at near the start; a hash of a hub's 900 KB cost 1.5 ms).
        if raw == self._body:
            return None
        try:
            snapshot = self.decode(raw)
        except FeedError:
            # The same bad body must not count as "unchanged" next time: ask for it in full. (The
            # body kept stays the last good one's: that is the board still shown.)
            self.source.forget_validators()
            raise
        self._body = raw
        return snapshot

    def close(self) -> None:
        self.source.close()


def feed_auth(feed: FeedConfig, base_dir: Path) -> httpx.Auth | None:
    """The feed's credentials as an httpx auth (FeedError when the secret cannot be read)."""
    if feed.auth.type == "bearer":
        return BearerAuth(read_secret(feed.auth, base_dir))
    if feed.auth.type == "basic":
        return httpx.BasicAuth(feed.auth.username, read_secret(feed.auth, base_dir))
    return None


def feed_ca_file(feed: FeedConfig, base_dir: Path) -> str:
    """The feed's private CA file, relative paths against the config's folder."""
    ca_file = feed.ca_file
    return str(base_dir / ca_file) if ca_file and not Path(ca_file).is_absolute() else ca_file


def _http(feed: FeedConfig, base_dir: Path, accept: str) -> HttpFetcher:
    return HttpFetcher(feed.url, timeout=feed.timeout, max_bytes=feed.max_bytes, verify_tls=feed.verify_tls,
                       ca_file=feed_ca_file(feed, base_dir), headers=dict(feed.headers),
                       auth=feed_auth(feed, base_dir), accept=accept)


def _json_source(feed: FeedConfig, ctx: Context) -> Adapter:
    mapper = Mapper(feed.mapping) if feed.mapping is not None else None
    source = _http(feed, ctx.base_dir, "application/json") if feed.type == "http" else FileSource(feed.path, feed.max_bytes)
    return SourceAdapter(source, json_decoder(feed.max_bytes, mapper))


def _csv_source(feed: FeedConfig, ctx: Context) -> Adapter:
    source: Source = (_http(feed, ctx.base_dir, "text/csv, text/plain;q=0.9") if feed.url
                      else FileSource(feed.path, feed.max_bytes))
    return SourceAdapter(source, csv_decoder(feed.csv, feed.max_bytes))


_HTTP_KEYS = frozenset({"url", "headers", "verify_tls", "ca_file", "auth"})
TYPES = (
    ConnectorType("http", "canonical or mapped JSON from a URL (docs/feed.md)", _json_source,
                  keys=_HTTP_KEYS | {"mapping"}, doc="feed.md"),
    ConnectorType("file", "canonical or mapped JSON from a file", _json_source, keys=frozenset({"path", "mapping"}),
                  doc="feed.md"),
    ConnectorType("csv", "a spreadsheet's CSV, from a URL or a file", _csv_source,
                  keys=_HTTP_KEYS | {"path", "csv"}, doc="feed.md"),
)
