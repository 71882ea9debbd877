"""``NativeConnector``: the poll loop every vendor connector shares, so that each vendor module
only says how to read its API.

One poll: roll the tally over at local midnight; refresh the roster when it is due (hourly, or at
once when a ticket names an agent the roster does not know, at most every five minutes); run each
sub-fetch (tickets, ratings, a report...) in its own guard; build the canonical snapshot from the
roster and the tally; and save the state with that snapshot in one transaction.

A failed sub-fetch leaves its metrics at their last good values and says so (a warning naming the
metric and since when it is kept); a metric whose sub-fetch has not yet succeeded today is null,
never 0. A 403 stops that sub-fetch until the config is reloaded. Budget exhaustion is not an
error: the poll returns what it has, marked "catching up" while a backfill is unfinished. Only when
nothing at all could be read does the poll raise, so the coordinator backs off.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import logging
from datetime import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from feeds.connectors.base import ConnectorType, Context
from feeds.connectors.kit.api import ApiClient, ApiError, BudgetSpent, ShapeError
from feeds.connectors.kit.day import BusinessDay, utc_iso
from feeds.connectors.kit.store import StateStore
from feeds.connectors.kit.tally import Tally
from feeds.connectors.parse import Normaliser
from feeds.logs import LOGGER, log_event
from feeds.model import FEED_VERSION, FeedError, Snapshot

if TYPE_CHECKING:
    from feeds.config.schema import FeedConfig

log = logging.getLogger(f"{LOGGER}.connector")
ROSTER_EVERY = 3600.0
UNKNOWN_ROSTER_EVERY = 300.0


T = TypeVar("T")


def guarded(name: str, fn: Callable[[], T]) -> T:
    """``fn()``, with what a vendor's odd answer can make Python raise turned into a ShapeError for
    the part ``name`` (a list where an object was documented, a string where a number): that part is
    kept at its last good values and said so, the other parts of the poll still run."""
    try:
        return fn()
    except (KeyError, IndexError, TypeError, AttributeError, ValueError) as exc:
        raise ShapeError(f"an answer for {name} is not in the documented shape ({type(exc).__name__}: "
                         f"{str(exc)[:80]})") from None


def secret_place(feed: FeedConfig) -> str:
    """Where the config keeps the secret, for messages: "feed.auth.token_env (ZENDESK_TOKEN)"."""
    auth = feed.auth
    return f"feed.auth.token_env ({auth.token_env})" if auth.token_env else f"feed.auth.token_file ({auth.token_file})"


def check_base_url(value: str) -> str | None:
    """``base_url``: scheme, host and port only; https except on a loopback address."""
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f'must be an address like "https://api.example.com", not "{value}"'
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
        return ("must hold the scheme, host and port only (the connector adds the vendor's own paths), "
                f'not "{value}"')
    if parts.scheme == "http" and not _loopback(parts.hostname):
        return f'must be https:// (plain http:// only on a loopback address such as 127.0.0.1), not "{value}"'
    return None


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class NativeOptions:
    """The ``[feed]`` keys every native connector takes besides its own."""

    base_url: str = field(default="", metadata={"check": check_base_url})
    rate_share: float = field(default=0.25, metadata={"min": 0.01, "max": 1.0})  # of the account's limit


@dataclass(frozen=True)
class PollContext:
    now: float
    start: float  # local midnight, epoch seconds
    end: float  # the next local midnight
    deadline: float  # by the connector's clock: no waiting past it


@dataclass(frozen=True)
class Probe:
    """One line of ``chalkwall check --online``."""

    fetch: str
    ok: bool
    message: str
    metrics: tuple[str, ...]


@dataclass(frozen=True)
class Member:
    id: str
    name: str
    team: str | None = None
    avatar: str | None = None


class NativeConnector:
    """Subclasses set ``vendor``, ``SUBS`` (sub-fetch name -> the metrics it gives, in board order)
    and ``api``, and implement ``read_roster`` and ``collect``."""

    vendor = "Vendor"
    SUBS: dict[str, tuple[str, ...]] = {}
    poll_seconds = 45.0  # the most one poll may take

    def __init__(self, feed: FeedConfig, ctx: Context, account: str) -> None:
        self.feed, self.ctx, self.options = feed, ctx, feed.options
        self.clock = ctx.clock
        self.day = BusinessDay(ctx.tz)
        self.store = StateStore(ctx.state_dir, account)
        state, tables = self.store.load() or ({}, {})
        self.state: dict[str, Any] = state
        self.tally = Tally(tables.get("tickets"), tables.get("ratings"))
        self.errors: dict[str, tuple[str, float | None]] = {}  # sub -> (message, last good at)
        self.disabled: set[str] = set()  # refused with a 403: not asked again until a reload
        self.unknown: set[str] = set()  # agent ids seen on records but not in the roster
        self.behind: set[str] = set()  # sub-fetches whose backfill has not reached now yet
        self._said: dict[str, str] = {}  # sub -> the problem last logged for it
        self._poll: dict[str, bool] = {}  # this poll's sub-fetches: name -> completed (or partial)
        self.api: ApiClient  # set by the subclass
        self._normalise = Normaliser()

    # --- what a vendor module implements -----------------------------------------------------
    def read_roster(self, ctx: PollContext) -> tuple[list[Member], dict[str, str]]:
        """The active agents and the teams (id -> name); raise ApiError when it cannot be read."""
        raise NotImplementedError

    def collect(self, ctx: PollContext) -> None:
        """Read what changed, calling ``self.fetch(name, fn)`` for each sub-fetch."""
        raise NotImplementedError

    def probes(self, ctx: PollContext) -> dict[str, Callable[[], str]]:
        """One cheap call per sub-fetch, for ``chalkwall check --online``: each returns what it saw
        ("12 tickets changed today") or raises ApiError. Default: none beyond the roster."""
        return {}

    def day_metrics(self, ctx: PollContext, agents: list[str]) -> dict[str, dict[str, float | None]]:
        """Each agent's metrics for the day so far (default: from the tally)."""
        return self.tally.metrics(agents, ctx.start, ctx.end, ratings="ratings" in self.SUBS,
                                  first_reply="first_reply_seconds" in self.metric_names())

    def new_day(self, ctx: PollContext) -> None:
        """Local midnight passed: forget what no longer counts (cursors carry on)."""
        self.tally.prune(ctx.start)
        self.state["ok_today"] = {}

    # --- the poll ----------------------------------------------------------------------------
    def metric_names(self) -> tuple[str, ...]:
        return tuple(m for names in self.SUBS.values() for m in names)

    def poll(self) -> Snapshot | None:
        now = self.clock()
        start, end = self.day.window(now)
        ctx = PollContext(now, start, end, now + min(self.poll_seconds, max(5.0, self.feed.interval * 0.9)))
        self.api.deadline = ctx.deadline
        if self.state.get("day") != self.day.key(now):
            self.new_day(ctx)
            self.state["day"] = self.day.key(now)
        self.unknown = set()
        roster_ok = self._roster(ctx, due=now - float(self.state.get("roster_at") or 0) >= ROSTER_EVERY)
        if not self.state.get("roster"):
            raise self._last_error("roster")
        ok = self._collect(ctx)
        if self.unknown and now - float(self.state.get("roster_at") or 0) >= UNKNOWN_ROSTER_EVERY:
            roster_ok = self._roster(ctx, due=True) and roster_ok
        snapshot = self.snapshot(ctx)
        self.checkpoint(snapshot)
        if not ok and not roster_ok:
            raise self._last_error(next(iter(self.errors), "roster"))
        return snapshot

    def _collect(self, ctx: PollContext) -> bool:
        """True when this poll read something: a sub-fetch completed (or read part of a backfill)."""
        self._poll = {}
        try:
            guarded("collect", lambda: self.collect(ctx))
        except ApiError as exc:  # a vendor module that let one escape: that whole poll failed
            self._problem("collect", exc)
            return False
        return not self._poll or any(self._poll.values())

    def fetch(self, name: str, fn: Callable[[], None]) -> bool:
        """Run one sub-fetch in its own guard; True when it completed."""
        if name in self.disabled:
            self._poll[name] = False
            return False
        asked = self.api.requests
        try:
            guarded(name, fn)
        except BudgetSpent:
            self._poll[name] = True
            if self.api.requests > asked:  # part of it was read: shown, marked as catching up
                self.behind.add(name)  # the rest next poll
                self._ok(name)
            self.checkpoint()
            return False
        except ApiError as exc:
            self._problem(name, exc)
            if exc.kind == "permission":
                self.disabled.add(name)
            self._poll[name] = False
            self.checkpoint()
            return False
        self._poll[name] = True
        self.behind.discard(name)
        self._ok(name)
        return True

    def _roster(self, ctx: PollContext, due: bool) -> bool:
        if not due:
            return True
        try:
            members, teams = guarded("roster", lambda: self.read_roster(ctx))
        except ApiError as exc:
            self._problem("roster", exc)
            return False
        self.state["roster"] = [[m.id, m.name, m.team, m.avatar] for m in members]
        self.state["teams"] = teams
        self.state["roster_at"] = ctx.now
        self._ok("roster")
        return True

    def saw_agent(self, agent_id: object) -> None:
        """A record named this agent: refresh the roster soon if it does not know them."""
        if agent_id is not None and str(agent_id) not in self._roster_ids():
            self.unknown.add(str(agent_id))

    def _roster_ids(self) -> set[str]:
        cached = getattr(self, "_ids_cache", None)
        roster = self.state.get("roster") or []
        if cached is None or cached[0] is not roster:
            cached = (roster, {row[0] for row in roster})
            self._ids_cache = cached
        return cached[1]

    def snapshot(self, ctx: PollContext) -> Snapshot:
        roster = [Member(*row) for row in self.state.get("roster") or []]
        values = self.day_metrics(ctx, [m.id for m in roster])
        ok_today = self.state.get("ok_today") or {}
        never = {m for sub, names in self.SUBS.items() if not ok_today.get(sub) for m in names}
        agents = []
        for m in roster:
            metrics = {k: (None if k in never else v) for k, v in values.get(m.id, {}).items()}
            record: dict[str, Any] = {"id": m.id, "name": m.name, "metrics": metrics}
            if m.team:
                record["team"] = m.team
            if m.avatar:
                record["avatar"] = m.avatar
            agents.append(record)
        teams = [{"id": tid, "name": name} for tid, name in (self.state.get("teams") or {}).items()]
        doc = {"version": FEED_VERSION, "generated_at": utc_iso(ctx.now), "agents": agents, "teams": teams}
        snapshot = self._normalise(doc)  # an agent record equal to last poll's is not cleaned again
        said = tuple(self.warnings(ctx))
        return dataclasses.replace(snapshot, warnings=(*snapshot.warnings, *said), notes=tuple(self.screen_notes(ctx)))

    @property
    def catching_up(self) -> bool:
        return bool(self.behind)

    def warnings(self, ctx: PollContext) -> Iterable[str]:
        if self.behind:
            yield f"{self.vendor}: catching up — today's numbers so far are partial"
        for sub, (message, good_at) in self.errors.items():
            names = ", ".join(self.SUBS.get(sub, ())) or sub
            since = self._clock_time(good_at) if good_at else "no good reading today"
            yield f"{self.vendor} {sub}: {message}; {names} kept from {since}"

    def screen_notes(self, ctx: PollContext) -> Iterable[str]:
        """The same, in a few words each, for a notice on the wall."""
        if self.behind:
            yield f"Catching up with {self.vendor}: today's numbers are partial"
        for sub, (_, good_at) in self.errors.items():
            since = self._clock_time(good_at) if good_at else "not yet read today"
            names = " and ".join(self.SUBS.get(sub, ())) or sub
            yield f"{self.vendor} {sub} unreadable: {names} {'from ' + since if good_at else since}"

    def _clock_time(self, epoch: float) -> str:
        return datetime.fromtimestamp(epoch, self.day.zone).strftime("%H:%M")  # the floor's zone, as the header

    def checkpoint(self, snapshot: Snapshot | None = None) -> None:
        """Save the state (cursor and tally together), with the snapshot when there is one."""
        self.store.save(self.state, snapshot, {"tickets": self.tally.tickets, "ratings": self.tally.ratings})

    def probe(self) -> list[Probe]:
        """Sign in, read the roster, and make each sub-fetch's one cheap call: what works, what
        permission is missing, and which metrics the board will get. Writes no state."""
        now = self.clock()
        start, end = self.day.window(now)
        ctx = PollContext(now, start, end, now + self.poll_seconds)
        self.api.deadline = ctx.deadline
        out: list[Probe] = []
        try:
            members, teams = guarded("roster", lambda: self.read_roster(ctx))
            out.append(Probe("roster", True, f"{len(members)} active agents in {len(teams)} teams", ()))
        except ApiError as exc:
            out.append(Probe("roster", False, str(exc), ()))
            return out
        for name, call in self.probes(ctx).items():
            try:
                out.append(Probe(name, True, guarded(name, call), self.SUBS.get(name, ())))
            except ApiError as exc:
                out.append(Probe(name, False, str(exc), self.SUBS.get(name, ())))
        return out

    # --- saying things once --------------------------------------------------------------------
    def _problem(self, name: str, exc: ApiError) -> None:
        good_at = (self.state.get("good_at") or {}).get(name)
        self.errors[name] = (str(exc), good_at)
        self._last = exc
        if self._said.get(name) != str(exc):
            self._said[name] = str(exc)
            log_event(log, logging.WARNING, "connector_problem", f"{self.vendor} {name}: {exc}",
                      vendor=self.vendor, fetch=name, error_kind=exc.kind, status=exc.status)

    def _ok(self, name: str) -> None:
        self.state.setdefault("good_at", {})[name] = self.clock()
        self.state.setdefault("ok_today", {})[name] = True
        if self.errors.pop(name, None) is not None:
            log_event(log, logging.INFO, "connector_recovered", f"{self.vendor} {name} is read again",
                      vendor=self.vendor, fetch=name)
        self._said.pop(name, None)

    def _last_error(self, name: str) -> FeedError:
        exc = getattr(self, "_last", None)
        return exc if isinstance(exc, FeedError) else FeedError(f"{self.vendor} {name} could not be read", "error")

    def close(self) -> None:
        self.api.close()
        self.store.close()


def native_type(name: str, cls: type[NativeConnector], options: type[Any], *, summary: str, interval: float,
                auth: Iterable[str], secret: str, metrics: tuple[str, ...] | None = None) -> ConnectorType:
    """The registry entry of a native connector (its doc page is docs/connectors/<name>.md)."""
    return ConnectorType(name, summary, lambda feed, ctx: cls(feed, ctx), options=options,
                         keys=frozenset({"auth", "verify_tls", "ca_file"}), interval=interval,
                         metrics=metrics if metrics is not None else tuple(m for ms in cls.SUBS.values() for m in ms),
                         auth=frozenset(auth), doc=f"connectors/{name}.md", native=True, extra={"secret": secret})
