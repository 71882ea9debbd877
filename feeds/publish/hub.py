"""``chalkwall hub``: poll the source once for every screen, run the game, publish through the broker.

The hub is an ordinary live feed — adapter, coordinator, engine and ledger, exactly as a single wall
runs them — whose reader is a :class:`Publisher` instead of a display. After every poll it publishes
what changed: each team's part of the feed (retained, and as a change on top of the last one, which
is what the screens read), the site summary (retained), the game
(retained: the site's part and each team's), its own status (retained, with a will), and every new
celebration through the outbox. The coordinator's "already announced" store *is* the outbox
(:class:`OutboxSeen`): an event is marked announced in the same transaction that numbers it for its
stream, so a crash cannot mark it without queuing it. chalkwall's own completions
go further: the ledger's ``announce`` hook queues each in the very transaction that awards it, so
no crash can pay one without announcing it (the feed's events and the team page's thanks are
offered again after a restart, and the outbox takes each once). On every (re)connect the
publisher sends all retained state again (a broker restarted without persistence has lost it) and
every event the broker never acknowledged.
"""

from __future__ import annotations

import json
import logging
import signal
import sqlite3
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from feeds.board.diff import SeenEvents
from feeds.bus.link import NO_SUBSCRIBERS, Link
from feeds.bus.topics import BusError, Topics, pack, read, stream_of
from feeds.config.hub import HubConfig
from feeds.config.schema import LoadedConfig
from feeds.config.web import web_path
from feeds.db import connect, feed_state_dir, immediate
from feeds.live.coordinator import FeedCoordinator
from feeds.live.feed import LiveFeed, open_live_feed
from feeds.live.gcpace import GcPacer
from feeds.logs import LOGGER, register_secret
from feeds.model import FeedEvent, Snapshot, plain_number
from feeds.publish.encode import REST, Encoder
from feeds.publish.outbox import Entry, Outbox, enqueue, ensure_schema
from feeds.privacy.choices import Choices, to_wire
from feeds.live.undo import thanks_publisher, undone_announced, withdrawal

log = logging.getLogger(f"{LOGGER}.hub")
CHOICES_EVERY = 1.0  # seconds: how often a quiet hub asks its state file whether a choice changed
PRUNE_EVERY = 60.0  # seconds between the outbox's prunes
EVENT_TTL = 900  # seconds a celebration stays worth showing to a screen that was away
CHANGE_TTL = 60  # seconds a board change waits for a screen away (back, it takes the whole board anyway)
SITE = "site"
VERSION = "0.1.0"
REASONS = {0x87: "not authorised", 0x95: "packet too large", 0x97: "quota exceeded", 0x90: "topic name invalid"}


def team_of(event: FeedEvent, snapshot: Snapshot | None) -> str | None:
    """The team whose screens celebrate ``event``: its team, or its agent's team."""
    data = event.data
    if isinstance(data.get("team"), str):
        return str(data["team"])
    agent = data.get("agent") or data.get("to")
    if isinstance(agent, str) and snapshot is not None:
        found = next((a for a in snapshot.agents if a.id == agent), None)
        return found.team if found is not None else None
    return None


class OutboxSeen(SeenEvents):
    """The hub's "already announced": an event is new until the outbox holds it, and putting it there
    numbers it for its stream, in one transaction for the whole poll."""

    def __init__(self, directory: Path, snapshot: Callable[[], Snapshot | None], clock: Callable[[], float]) -> None:
        super().__init__()
        self._db = connect(directory, autocommit=True, synchronous="FULL")
        ensure_schema(self._db)
        self._snapshot, self._clock = snapshot, clock
        self._lock = threading.Lock()  # the poll and the thanks reader share the connection

    def new(self, events: Iterable[FeedEvent]) -> list[FeedEvent]:
        events = list(events)
        if not events:
            return []
        snapshot, now = self._snapshot(), self._clock()
        with self._lock, immediate(self._db):
            return [event for event in events if _enqueue(self._db, event, snapshot, now)]

    def enqueue_in(self, db: sqlite3.Connection, event: FeedEvent) -> None:
        """The ledger's ``announce`` hook: ``event`` into the outbox on the ledger's connection ``db``,
        inside the transaction of its award (the same state file)."""
        _enqueue(db, event, self._snapshot(), self._clock())

    def withdraw(self, event_ids: Iterable[str]) -> int:
        """A withdrawal of each of these thank-yous on every stream that announced it (see
        :mod:`feeds.live.undo`), once; how many were queued."""
        wanted = list(dict.fromkeys(event_ids))
        if not wanted:
            return 0
        now, queued = self._clock(), 0
        with self._lock, immediate(self._db):
            for start in range(0, len(wanted), 500):  # SQLite's limit on bound parameters
                chunk = wanted[start:start + 500]
                for stream, event_id in self._db.execute(
                        f"SELECT stream, event_id FROM hub_outbox WHERE event_id IN ({','.join('?' * len(chunk))}) "
                        "ORDER BY rowid", chunk).fetchall():
                    event = withdrawal(event_id, now)
                    body = event_body(event)
                    queued += enqueue(self._db, stream, event.id, body, now, EVENT_TTL) is not None
        return queued

    def withdraw_undone(self) -> int:
        """At start: withdraw what the team page undid while the hub was down, or before it could."""
        with self._lock:
            undone = undone_announced(self._db, self._clock())
        return self.withdraw(undone)

    def close(self) -> None:
        self._db.close()


def event_body(event: FeedEvent) -> str:
    """An event as the outbox keeps it: the JSON a screen receives under ``event``."""
    return json.dumps(event.to_dict(), separators=(",", ":"), ensure_ascii=False)


def _enqueue(db: sqlite3.Connection, event: FeedEvent, snapshot: Snapshot | None, now: float) -> bool:
    """``event`` numbered on its team's stream (or the site's) inside the caller's transaction on
    ``db``; False when that stream holds it already."""
    team = team_of(event, snapshot)
    stream = stream_of(team) if team else SITE
    body = event_body(event)
    return enqueue(db, stream, event.id, body, now, EVENT_TTL) is not None


def team_documents(snapshot: Snapshot) -> dict[str | None, dict[str, Any]]:
    """Each team's part of the snapshot as a canonical feed document (agents without a team: None)."""
    teams = {t.id: t for t in snapshot.teams}
    out: dict[str | None, dict[str, Any]] = {}
    for agent in snapshot.agents:
        doc = out.get(agent.team)
        if doc is None:
            team = teams.get(agent.team) if agent.team else None
            doc = out[agent.team] = {"version": 1, "teams": [team.to_dict()] if team else [], "agents": []}
            if snapshot.generated_at:
                doc["generated_at"] = snapshot.generated_at
        doc["agents"].append(agent.to_dict())
    for team_id, team in teams.items():  # a team with nobody in it yet still has a board
        out.setdefault(team_id, {"version": 1, "teams": [team.to_dict()], "agents": []})
    return out


class Publisher:
    """Publishes a coordinator's state after each poll (see the module docstring).

    :meth:`publish` runs on the hub's main thread only. paho's network thread calls
    :meth:`reconnected` and the acknowledgements, which only note what happened and wake the main
    thread: a callback that waited for a lock the main thread holds while it is inside paho's
    publish would stop the network thread — and with it every keep-alive."""

    def __init__(self, hub: HubConfig, coordinator: FeedCoordinator, outbox: Outbox, link: Link,
                 clock: Callable[[], float] = time.time, wake: Callable[[], None] = lambda: None,
                 totals: Callable[[], Mapping[tuple[str, str], Mapping[str, float]]] = lambda: {},
                 choices: Choices | None = None) -> None:
        self.topics, self.coordinator, self.outbox, self.link, self.clock = Topics(hub.site), coordinator, outbox, link, clock
        self.totals = totals  # the engine's team and floor values of its metrics (Engine.totals)
        self.wake = wake
        self.started_at = clock()
        self._fresh = False  # the link came (back) up: send everything retained again
        self._acks: deque[tuple[tuple[str, int], int]] = deque()  # from paho's thread: (stream, seq), reason
        self._sent: dict[str, bytes] = {}  # retained topic -> the body last sent (to skip the unchanged)
        self._bases: dict[str | None, dict[str, Any]] = {}  # team -> {rev, observed_at} of its board last sent
        self._inflight: set[tuple[str, int]] = set()
        self._refused: set[str] = set()  # streams whose last celebration the broker refused (said once)
        # screen id -> (online/offline, since when on the hub's clock), noted by paho's thread
        self._screens_lock = threading.Lock()  # never held across a paho call
        self._screens: dict[str, tuple[str, float]] = {}
        self.encoder = Encoder()  # the payloads, re-encoding only the agents and progress that changed
        self.choices = choices  # the people's own privacy choices in the hub's state file (the team page's)
        self._choices_version: int | None = None

    def summary_payload(self, snapshot: Snapshot, rev: int, observed_at: float | None) -> bytes:
        """The site summary: each team's size and totals and the floor's (docs/hub.md), a few kB
        whatever the floor's size, and no one's name: what a floor view or a head office needs
        without taking every team's board. Called after :meth:`Encoder.boards` of ``snapshot``."""
        sizes = self.encoder.sizes()  # boards() has just grouped this snapshot's agents
        totals = self.totals()

        def of(kind: str, subject: str) -> dict[str, float | int]:
            return {m: plain_number(v[subject]) for (k, m), v in totals.items() if k == kind and subject in v}

        teams = [{**team.to_dict(), "agents": sizes.get(team.id, 0), "totals": of("team", team.id)}
                 for team in snapshot.teams]
        floor = of("floor", "all")
        return pack("summary", {"rev": rev, "epoch": self.outbox.epoch, "observed_at": observed_at,
                                "generated_at": snapshot.generated_at, "agents": len(snapshot.agents),
                                "teams": teams, "floor": floor})

    def status_payload(self, state: str = "online") -> bytes:
        feed = self.coordinator.state()
        return pack("hub_status", {"state": state, "version": VERSION, "epoch": self.outbox.epoch,
                                   "started_at": self.started_at, "at": self.clock(),
                                   "source": {"last_success": feed.last_success, "stale": feed.stale,
                                              "error": feed.last_error}, "screens": self.screens()})

    def screens(self) -> dict[str, dict[str, Any]]:
        with self._screens_lock:
            return {sid: {"state": state, "since": since} for sid, (state, since) in sorted(self._screens.items())}

    def screen_message(self, topic: str, payload: bytes, retained: bool) -> None:
        """A screen's status (paho's thread): note whether it went on- or offline, and when — its will
        carries no time, so the hub's note is where "offline since 10:42" comes from."""
        found = self.topics.parse(topic)
        if found is None or found[0] != "screen":
            return
        try:
            data = read(payload, "screen_status")
        except BusError:
            return  # the screen's own ACL keeps a rogue out; a bad one is simply not counted
        state = "online" if data.get("state") == "online" else "offline"
        since = data.get("since")
        with self._screens_lock:
            known = self._screens.get(found[1])
            if known is not None and known[0] == state:
                return
            if not retained:  # live: now, on the hub's clock (a screen's clock may be hours off)
                since = self.clock()
            elif not isinstance(since, (int, float)) or isinstance(since, bool):
                since = self.started_at  # a will left before this hub started: "since before" that
            self._screens[found[1]] = (state, float(since))
        self.wake()

    def reconnected(self) -> None:
        """The link is (back) up (paho's thread): everything retained again, and every unacknowledged
        event, at the main thread's next turn."""
        self._fresh = True
        self.wake()

    def _retain(self, topic: str, body: bytes, force: bool = False) -> bool:
        if not force and self._sent.get(topic) == body:
            return False
        self._sent[topic] = body
        self.link.publish(topic, body, retain=True)
        return True

    def _clear_gone(self, topic_of: Callable[[str | None], str], live: set[str]) -> None:
        """A team gone from the feed: clear its retained message under ``topic_of``'s branch."""
        branch = topic_of("x").rsplit("/", 1)[0] + "/"
        for topic in [t for t in self._sent if t.startswith(branch) and t not in live]:
            del self._sent[topic]
            self.link.publish(topic, b"", retain=True)

    def publish(self) -> None:
        """Send what changed since the last call (the main thread's work after each poll)."""
        while self._acks:
            (stream, seq), reason = self._acks.popleft()
            self._inflight.discard((stream, seq))
            if reason in (0, NO_SUBSCRIBERS):
                self.outbox.mark_published(stream, seq)
                if stream in self._refused:
                    self._refused.discard(stream)
                    log.info("the broker takes celebrations on %s again", stream)
            elif stream not in self._refused:  # said once: it is sent again (and refused) after every poll
                self._refused.add(stream)
                log.warning("the broker refused celebration %s #%d (reason %d: %s): check the hub's ACL; "
                            "kept in the outbox and sent again", stream, seq, reason, REASONS.get(reason, "refused"))
        if not self.link.status().connected:
            return  # the session and the outbox keep it until the link is back (reconnected publishes)
        if self._fresh:
            self._fresh = False
            self._sent.clear()
            self._inflight.clear()
            self._bases.clear()  # a screen may have missed anything: each team's next change is whole
        snapshot, state = self.coordinator.published()
        self.coordinator.drain_events()  # the outbox has them already (OutboxSeen); rank moves are each screen's own
        rev = state.generation
        if snapshot is not None:  # each team's part of team_documents(snapshot), as pack() writes it
            boards = self.encoder.boards(snapshot, {"rev": rev, "epoch": self.outbox.epoch,
                                                    "observed_at": state.last_success})
            live = {self.topics.board(team) for team in boards}
            try:
                sent = {team: body for team, body in boards.items() if self._retain(self.topics.board(team), body)}
                self._clear_gone(self.topics.board, live)
                self._changes(sent, {"rev": rev, "observed_at": state.last_success})
            except BaseException:  # the encoder's record of what changed is spent: whole changes next time
                self._bases.clear()
                raise
            self._retain(self.topics.summary, self.summary_payload(snapshot, rev, state.last_success))
        if state.game is not None:  # the site's part, then each team's (screens take them in any order)
            parts = self.encoder.game(state.game, self.outbox.epoch, snapshot, boards if snapshot is not None else ())
            self._retain(self.topics.game, parts.pop(REST))  # type: ignore[arg-type]
            for team, body in parts.items():
                self._retain(self.topics.game_team(team), body)
            self._clear_gone(self.topics.game_team, {self.topics.game_team(team) for team in parts})
        self.publish_choices()
        self.link.publish(self.topics.hub_status, self.status_payload(), retain=True)
        self._events()

    def _changes(self, sent: Mapping[str | None, bytes], key: dict[str, Any]) -> None:
        """Each board just retained, as a change on top of the last one sent (what a screen receives
        each poll: a few kB, not its team's whole board), and an empty change for each team gone."""
        # a board of the same number as the last one sent, yet another body (a hub restarted with its
        # numbering, say): no change can stand on it, the next is whole
        bases = {t: b for t, b in self._bases.items() if b != key}
        changes = self.encoder.changes(sent, bases)
        for team in sent:
            self.link.publish(self.topics.board_change(team), changes[team], expiry=CHANGE_TTL)
            self._bases[team] = key
        for team in [t for t in self._bases if self.topics.board(t) not in self._sent]:
            del self._bases[team]
            self.link.publish(self.topics.board_change(team), b"", expiry=CHANGE_TTL)

    def publish_choices(self) -> None:
        """The people's choices, retained, when the team page changed them (or the link came back):
        the screens apply them as a single wall applies its own (main thread, like :meth:`publish`)."""
        if self.choices is None or not self.link.status().connected:
            return
        if self._fresh:  # everything retained again, at the full publish that follows
            return
        try:
            version = self.choices.version()
            if version == self._choices_version and self.topics.privacy in self._sent:
                return
            body = pack("privacy", {"people": to_wire(self.choices.all())})
        except sqlite3.Error as exc:
            log.warning("cannot read the people's privacy choices (%s); the screens keep the last sent", exc)
            return
        self._choices_version = version
        self._retain(self.topics.privacy, body)

    def _events(self) -> None:
        touched: set[str] = set()
        for entry in self.outbox.unpublished():
            key = (entry.stream, entry.seq)
            if key in self._inflight:
                continue
            self._inflight.add(key)
            touched.add(entry.stream)
            ttl = max(1, int(entry.expires_at - self.clock()))
            self.link.publish(self.topics.events(entry.stream), self.event_payload(entry), expiry=ttl,
                              on_ack=lambda reason, k=key: self._acked(k, reason))
        now = self.clock()
        for stream in touched:
            ring = [json.loads(self.event_payload(e)) for e in self.outbox.recent(stream, now)]
            self._retain(self.topics.recent(stream), pack("recent", {"stream": stream, "epoch": self.outbox.epoch,
                                                                     "events": ring}), force=True)

    def event_payload(self, entry: Entry) -> bytes:
        return pack("event", {"stream": entry.stream, "seq": entry.seq, "epoch": self.outbox.epoch,
                              "created_at": entry.created_at, "expires_at": entry.expires_at,
                              "event": json.loads(entry.payload)})

    def _acked(self, key: tuple[str, int], reason: int) -> None:
        self._acks.append((key, reason))  # paho's thread: noted, handled by the main thread


def password_of(hub: HubConfig, base_dir: Path) -> str | None:
    if hub.auth is None:
        return None
    path = web_path(hub.auth.password_file, base_dir, credential=True)
    password = path.read_text(encoding="utf-8").strip()
    register_secret(password)
    return password


class HubProcess:
    """The running hub: a live feed, a broker link and a publisher, woken after every poll."""

    def __init__(self, loaded: LoadedConfig, clock: Callable[[], float] = time.time) -> None:
        cfg = loaded.config
        assert cfg.hub is not None
        self.hub = cfg.hub
        directory = feed_state_dir(cfg.state.dir, cfg.feed.type)
        self.wake = threading.Event()
        self.outbox = Outbox(directory)
        self.choices = Choices(directory)
        holder: list[LiveFeed] = []
        self.seen = OutboxSeen(directory, lambda: holder[0].coordinator.snapshot if holder else None, clock)
        self.live = open_live_feed(loaded, on_update=self.wake.set, seen=self.seen, rank=False,
                                   announce=self.seen.enqueue_in)
        holder.append(self.live)
        if self.live.thanks is not None:  # undos, too, go to the screens through the outbox
            self.live.thanks.publish = thanks_publisher(self.live.coordinator.publish, self.seen.withdraw)
        self.seen.withdraw_undone()
        topics = Topics(self.hub.site)
        user = self.hub.auth.username if self.hub.auth is not None else "hub"
        self.link = Link(self.hub.endpoint, user, username=user if self.hub.auth else None,
                         password=password_of(self.hub, loaded.base_dir), ca_file=self.hub.ca_file or None,
                         will=(topics.hub_status, pack("hub_status", {"state": "offline", "epoch": self.outbox.epoch})),
                         on_up=lambda: self.publisher.reconnected(), clock=clock, reconnect_max=self.hub.reconnect_max,
                         on_message=lambda *m: self.publisher.screen_message(*m))
        self.link.subscribe(topics.screen_statuses, qos=1)
        self.publisher = Publisher(self.hub, self.live.coordinator, self.outbox, self.link, clock, wake=self.wake.set,
                                   totals=lambda: self.live.engine.totals if self.live.engine is not None else {},
                                   choices=self.choices)
        self.stopping = threading.Event()
        self._trouble: float | None = None  # since when publishing fails (said once)

    def run(self) -> int:
        log.info("hub for site %s: publishing to %s:%d", self.hub.site, self.hub.endpoint.host, self.hub.endpoint.port)
        self.link.start()
        pacer = GcPacer()
        pacer.start()
        self.live.start()
        pruned = published = 0.0
        try:
            while not self.stopping.is_set():
                woken = self.wake.wait(CHOICES_EVERY)
                self.wake.clear()
                try:
                    if not woken and time.monotonic() - published < 5.0:
                        self.publisher.publish_choices()  # a quiet second: only a choice may have changed
                        continue
                    published = time.monotonic()
                    self.publisher.publish()
                    pacer.after_poll()
                    if time.monotonic() - pruned >= PRUNE_EVERY:  # expired rows can wait a minute
                        self.outbox.prune(time.time())
                        pruned = time.monotonic()
                except Exception as exc:  # a locked state file, a bug: every screen would go stale with the hub
                    self._failed(exc)
                else:
                    self._recovered()
        finally:
            self.live.stop()
            self.link.stop(last=(self.publisher.topics.hub_status, self.publisher.status_payload("offline")))
            self.seen.close()
            self.outbox.close()
            self.choices.close()
        return 0

    def _failed(self, exc: Exception) -> None:
        if self._trouble is None:
            log.exception("publishing failed (%s); the hub keeps polling and tries again", type(exc).__name__)
        self._trouble = self._trouble or time.monotonic()

    def _recovered(self) -> None:
        if self._trouble is not None:
            log.info("publishing again after %.0f s", time.monotonic() - self._trouble)
            self._trouble = None

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()


def cmd_hub(loaded: LoadedConfig) -> int:
    if loaded.config.hub is None:
        print(f"chalkwall: {loaded.label} has no [hub] section: 'chalkwall hub' needs a hub's config "
              "(docs/hub.md)", file=sys.stderr)
        return 2
    try:
        process = HubProcess(loaded)
    except OSError as exc:
        print(f"chalkwall: cannot read {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 1
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: process.stop())
    return process.run()
