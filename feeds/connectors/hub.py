"""``[feed] type = "hub"``: a screen that reads its boards and celebrations from the hub's broker.

The screen never polls a source and never writes the ledger. It subscribes to its teams' board
changes (their whole retained boards only to begin and to catch up: :mod:`feeds.bus.boards`) and
game parts (``[display] teams``; none: every team), the site's retained game, the hub's status, and
its teams' and the site's event streams with their retained "recent" rings; paho's network thread
files each message here, and wakes the coordinator so the board is ranked and shown at once rather
than at the next interval. :meth:`HubFeed.poll` assembles the teams' documents into one snapshot —
the coordinator ranks, diffs and shows it as it would any feed — with the celebrations the
:class:`~feeds.bus.cursor.Inbox` hands on: each once, in order, its number on disk first.

While the broker cannot be reached, or the hub's status says it is offline, a poll fails with
"hub unreachable since 10:42": the coordinator keeps the last board and marks it stale. A message
that is not JSON, of another version or of the wrong shape is logged once per topic and dropped.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
from pathlib import Path
from typing import Any

from feeds.bus.boards import Boards
from feeds.bus.codec import DecodeError
from feeds.bus.cursor import Arrival, Cursor, Inbox
from feeds.bus.link import NOT_YET, Link
from feeds.bus.privacy import bus_choices, of_wire
from feeds.bus.screen_status import Applied, HubClock, ScreenReport, offline_payload, wall_status_path
from feeds.bus.topics import BusError, Topics, read, team_level
from feeds.config.feed import FeedConfig
from feeds.config.hub import check_broker, check_topic_id, parse_broker
from feeds.config.secrets import read_secret
from feeds.connectors.base import ConnectorType, Context
from feeds.connectors.parse import normalise
from feeds.logs import LOGGER, register_secret
from feeds.model import FeedError, FeedEvent, Snapshot

log = logging.getLogger(f"{LOGGER}.hub")
SITE = "site"
COMPLAINTS = 5
CONNECT_GRACE = 10.0  # seconds after start before "not connected yet" counts as the hub unreachable


@dataclass(frozen=True)
class HubFeedOptions:
    """A screen's own ``[feed]`` keys."""

    broker: str = ""
    site: str = ""
    screen: str = ""
    reconnect_max: float = field(default=30.0, metadata={"min": 1, "max": 600})  # seconds: the backoff's cap

    def check(self, reader: Any, key: str) -> None:
        for name, check in (("broker", check_broker), ("site", check_topic_id), ("screen", check_topic_id)):
            value = getattr(self, name)
            message = check(value) if value else "missing (required for a screen of a hub)"
            if message:
                reader.problem(f"{key}.{name}", message)


def _clock_text(at: float, zone: str = "") -> str:
    """``at`` as the floor's clock shows it ([periods] timezone; "" the machine's)."""
    try:
        tz = ZoneInfo(zone) if zone else None
    except (ZoneInfoNotFoundError, ValueError):
        tz = None
    return datetime.fromtimestamp(at, tz).strftime("%H:%M")


class HubFeed:
    """One screen's view of the hub (see the module docstring)."""

    def __init__(self, options: HubFeedOptions, feed: FeedConfig, ctx: Context, teams: tuple[str, ...] = (),
                 link_factory: Callable[..., Link] = Link) -> None:
        self.options, self.ctx, self.teams = options, ctx, teams
        self.topics = Topics(options.site)
        self._lock = threading.Lock()
        # The game's parts as they arrive, and the game made of them (by game(), when a part changed):
        # decoding and assembling are the live side's (feeds.live.hubgame), set as game_codec.
        self.game_codec: tuple[Callable[[dict[str, Any]], Any], Callable[[dict[str, Any], str], Any],
                               Callable[[Any, list[Any]], Any]] | None = None
        self._game_site: Any = None
        self._game_teams: dict[str, Any] = {}  # team level -> its part
        self._game: Any = None
        self._game_stale = False
        self._hub_online: bool | None = None
        self._hub_since = ctx.clock()
        self._changed = True
        self._complained: dict[str, set[str]] = {}  # topic -> the kinds of mistake said since its last good message
        self._wake: Callable[[], None] | None = None
        self.inbox = Inbox(Cursor(ctx.state_dir)) if ctx.state_dir is not None else None
        self.hub_clock = HubClock(ctx.clock)
        self.report = ScreenReport(options.screen, teams,
                                   wall_status_path(ctx.state_dir) if ctx.state_dir is not None else None, ctx.clock)
        self.applied: Applied | None = None
        endpoint = parse_broker(options.broker)
        assert endpoint is not None  # the config's check
        user = password = None
        if feed.auth.type != "none":
            user, password = feed.auth.username, read_secret(feed.auth, ctx.base_dir)
            register_secret(password)
        ca = str(Path(feed.ca_file) if Path(feed.ca_file).is_absolute() else ctx.base_dir / feed.ca_file) \
            if feed.ca_file else None
        self.link = link_factory(endpoint, options.screen, username=user, password=password, ca_file=ca,
                                 will=(self.topics.screen_status(options.screen), offline_payload()),
                                 on_message=self._message,
                                 on_up=self._up, clock=ctx.clock, reconnect_max=options.reconnect_max)
        # the hub's status first: its "at" sets this screen's estimate of the hub's clock before any event
        self.link.subscribe(self.topics.hub_status, qos=1)
        levels = [team_level(t) for t in teams] or ["+"]
        # each team's board as the hub's changes keep it: read whole only to begin and to catch up
        self.boards = Boards(self.topics, levels, normalise)
        self._sync_boards()
        for topic in self.boards.changes_topics():
            self.link.subscribe(topic, qos=1)
        for level in levels:
            self.link.subscribe(self.topics.events(f"team/{level}"), qos=1)
            self.link.subscribe(self.topics.recent(f"team/{level}"), qos=1)
            self.link.subscribe(self.topics.game_teams_of(level), qos=1)
        self.privacy_choices = bus_choices(options.site)  # the team page's choices, as the hub publishes them
        for topic in (self.topics.game, self.topics.events(SITE), self.topics.recent(SITE), self.topics.privacy):
            self.link.subscribe(topic, qos=1)
        self._started = 0.0

    # -- the coordinator's side -------------------------------------------------------------------
    def set_wake(self, wake: Callable[[], None]) -> None:
        """Called with a function that polls soon: each useful message calls it."""
        self._wake = wake

    def poll(self) -> Snapshot | None:
        if not self._started:
            self._started = self.ctx.clock()
            self.link.start()
        self._sync_boards()
        try:
            return self._poll()
        finally:
            self._publish_status()

    def _poll(self) -> Snapshot | None:
        status = self.link.status()
        if not status.connected and status.error == NOT_YET and self.ctx.clock() - self._started < CONNECT_GRACE:
            return None  # starting: the first connect takes a moment, which is no failure to log
        if not status.connected:
            raise FeedError(f"hub unreachable since {_clock_text(status.since, self.ctx.tz)} ({status.error})", "hub")
        if self._hub_online is False:
            raise FeedError(f"hub offline since {_clock_text(self._hub_since, self.ctx.tz)} (its will: is 'chalkwall hub' "
                            "running?)", "hub")
        if not self.boards.docs:
            # Connected; the retained boards arrive within a moment. Celebrations wait in the
            # inbox until then: taken now, with no board to carry them, they would be lost.
            return None
        ready = self._ready()
        with self._lock:
            if not self._changed and not ready:
                return None
            self._changed = False
        docs, revs = self.boards.snapshot()
        agents, teams, warnings, stamps = [], {}, [], []
        for doc in docs:
            part = normalise(doc)
            agents.extend(part.agents)
            teams.update({t.id: t for t in part.teams})
            warnings.extend(part.warnings)
            if part.generated_at:
                stamps.append(part.generated_at)
        if revs:
            rev, observed = max(revs, key=lambda r: (r[0] is not None, r[0] or 0))
            self.applied = Applied(rev, observed, self.ctx.clock())
        return Snapshot(tuple(agents), tuple(teams.values()), tuple(ready), min(stamps) if stamps else None,
                        tuple(warnings))

    def _sync_boards(self) -> None:
        """Subscribe to the whole boards this screen needs now, and no longer to those it does not
        (the coordinator's thread, never paho's)."""
        add, drop = self.boards.fetches()
        for topic in add:
            self.link.subscribe(topic, qos=1)
        for topic in drop:
            self.link.unsubscribe(topic)

    def _publish_status(self) -> None:
        """The screen's retained status, when it changed (the coordinator's thread, never paho's)."""
        link = self.link.status()
        if not link.connected:
            return
        payload = self.report.due(self.report.body(link, self._hub_online, self.applied, self.hub_clock))
        if payload is not None:
            self.link.publish(self.topics.screen_status(self.options.screen), payload, retain=True)

    def bus_status(self) -> dict[str, Any]:
        """The hub connection and the lag of the last board, for the wall's status file."""
        link = self.link.status()
        endpoint = self.link.endpoint
        return {"broker": f"{endpoint.host}:{endpoint.port}", "connected": link.connected, "since": link.since,
                "error": link.error, "hub_online": self._hub_online, "screen": self.options.screen,
                "rev": self.applied.rev if self.applied else None,
                "lag_s": self.applied.lag(self.hub_clock) if self.applied else None,
                "clock_offset_s": None if self.hub_clock.offset is None else round(self.hub_clock.offset, 1)}

    def game(self) -> Any:
        """The game of the site's part and this screen's teams' parts (None before the site's)."""
        with self._lock:
            if not self._game_stale:
                return self._game
            self._game_stale = False
            site, teams = self._game_site, list(self._game_teams.values())
        game = site if self.game_codec is None or site is None else self.game_codec[2](site, teams)
        with self._lock:
            self._game = game
        return game

    def close(self) -> None:
        self.link.stop(last=(self.topics.screen_status(self.options.screen), offline_payload(self.ctx.clock())))
        if self.inbox is not None:
            self.inbox.cursor.close()

    # -- paho's network thread ------------------------------------------------------------------
    def _up(self) -> None:
        """The link is (back) up (paho's thread): only note it and wake the poller, which publishes
        (and reads the whole boards again: changes sent meanwhile may be gone with the session)."""
        self.report.soon()
        self.boards.resync()
        if self._wake is not None:
            self._wake()

    def _complain(self, topic: str, why: str) -> None:
        """One line per kind of mistake on a topic (a rogue repeating itself is not news), at most
        ``COMPLAINTS`` kinds until a good message arrives there."""
        kind = why.split(" (", 1)[0].split(":", 1)[0]
        said = self._complained.setdefault(topic, set())
        if kind not in said and len(said) < COMPLAINTS:
            said.add(kind)
            log.warning("ignored a message on %s: %s; keeping what was there", topic, why)

    def _message(self, topic: str, payload: bytes, retain: bool) -> None:
        found = self.topics.parse(topic)
        if found is None:
            return
        what, which = found
        try:
            self._file(what, which, payload, retain)
        except (BusError, DecodeError, FeedError, KeyError, TypeError, ValueError) as exc:
            self._complain(topic, str(exc))
            return
        self._complained.pop(topic, None)
        if self._wake is not None:
            self._wake()

    def _file(self, what: str, which: str, payload: bytes, retain: bool = False) -> None:
        if what in ("board", "board_change"):
            if not payload:  # the team left the feed: the hub cleared its board
                changed = self.boards.whole(which, None)
            elif what == "board":
                changed = self.boards.whole(which, read(payload, "board"))
            else:
                changed = self.boards.change(which, read(payload, "board_change"))
            if changed:
                with self._lock:
                    self._changed = True
        elif what == "game":
            data = read(payload, "game")
            game = data.get("game")
            if not isinstance(game, dict):
                raise BusError("a game message without its game")
            if self.game_codec is not None:
                game = self.game_codec[0](game)  # refuse a wrong shape here, where it can be logged
            with self._lock:
                self._game_site, self._game_stale = game, True
        elif what == "game_team":
            part = None
            if payload:  # else the team left the feed: the hub cleared its part
                part = read(payload, "game_team")
                if self.game_codec is not None:
                    part = self.game_codec[1](part, which)
            with self._lock:
                if part is None:
                    self._game_teams.pop(which, None)
                else:
                    self._game_teams[which] = part
                self._game_stale = True
        elif what == "privacy":
            if payload:  # an empty retained message (a cleared topic): keep the last good choices
                self.privacy_choices.offer(of_wire(read(payload, "privacy").get("people")))
        elif what == "hub":
            data = read(payload, "hub_status")
            self.hub_clock.heard(data.get("at"), retain)
            online = data.get("state") == "online"
            if online != self._hub_online:
                self._hub_since = self.ctx.clock()
                if online or self._hub_online is not None:
                    log.info("the hub is %s", "online" if online else "offline (its last word, or its will)")
            self._hub_online = online
        elif what in ("events", "recent") and self.inbox is not None:
            data = read(payload, "event" if what == "events" else "recent")
            items = [data] if what == "events" else [read(_reencode(e), "event") for e in data["events"]]
            for item in items:
                missing = [k for k in ("stream", "epoch", "seq", "event", "expires_at") if k not in item]
                if missing:
                    raise BusError(f"an event without {', '.join(missing)}")
                self.inbox.offer(Arrival(str(item["stream"]), str(item["epoch"]), int(item["seq"]),
                                         _event_json(item["event"]), float(item["expires_at"])), time.monotonic())

    def _ready(self) -> list[FeedEvent]:
        if self.inbox is None:
            return []
        out = []
        # expires_at is on the hub's clock: compared with the hub's time as this screen estimates it
        for arrival in self.inbox.ready(time.monotonic(), self.hub_clock.now()):
            body = json.loads(arrival.payload)
            event_id, kind = body.pop("id"), body.pop("type")
            at = body.pop("at", None)
            out.append(FeedEvent(str(event_id), str(kind), at, body))
        return out


def _reencode(item: Any) -> bytes:
    return json.dumps(item).encode()


def _event_json(event: Any) -> str:
    if not isinstance(event, dict) or not isinstance(event.get("id"), str) or not isinstance(event.get("type"), str):
        raise BusError("an event without an id and a type")
    return json.dumps(event)


def _make(feed: FeedConfig, ctx: Context) -> HubFeed:
    return HubFeed(feed.options, feed, ctx, ctx.teams)


TYPE = ConnectorType("hub", "the boards and celebrations a chalkwall hub publishes (docs/hub.md)", _make,
                     options=HubFeedOptions, keys=frozenset({"ca_file", "auth"}), interval=2.0)
