"""The connector contract: what a connector is, what it is given, and how it registers.

A connector turns one configured source into the canonical :class:`~feeds.model.Snapshot`. Its
``poll`` returns a Snapshot, None when the source has not changed since the last good poll, or
raises FeedError; ``close`` lets go of its connections. Everything else (ranking, points, the
screen) reads the Snapshot, so a new source is one module that defines a :class:`ConnectorType`
plus one line in ``registry.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from feeds.model import Snapshot

if TYPE_CHECKING:
    from feeds.config.schema import FeedConfig


class Adapter(Protocol):
    def poll(self) -> Snapshot | None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Context:
    """What a connector is given besides its config."""

    base_dir: Path  # the config file's folder: relative secret and CA files resolve against it
    clock: Callable[[], float] = time.time  # epoch seconds; tests inject their own
    tz: str = ""  # the [periods] time zone: the business day is its local day ("" = the machine's)
    state_dir: Path | None = None  # where it keeps its own state (None: memory only)
    sleep: Callable[[float], None] = time.sleep  # how it waits (for Retry-After, a budget): tests advance a fake clock
    teams: tuple[str, ...] = ()  # [display] teams: what a hub's screen subscribes to (none: every team)


@dataclass(frozen=True)
class ConnectorType:
    """One ``[feed] type``: its own config keys, how it is made, and what it promises.

    ``options`` is the dataclass of the keys only this type takes (read from ``[feed]`` beside the
    common ones); ``keys`` the common ``[feed]`` keys that apply to it (any other is a mistake).
    ``auth`` names what ``[feed.auth]`` must hold: "secret" (token_env or token_file), "email",
    "client_id"; connectors that choose their own scheme refuse ``[feed.auth] type``."""

    name: str
    summary: str
    make: Callable[[FeedConfig, Context], Adapter]
    options: type[Any] | None = None
    keys: frozenset[str] = frozenset()
    interval: float = 15.0  # the default poll interval, seconds
    metrics: tuple[str, ...] | None = None  # what it sends, when that is fixed
    auth: frozenset[str] = frozenset()
    doc: str = ""  # its page under docs/connectors/
    native: bool = False  # speaks a vendor's API (keeps its own state; picks its own auth scheme)
    extra: dict[str, Any] = field(default_factory=dict)
