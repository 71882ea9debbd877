"""The motivation engine: turns what happens on the floor into points, exactly once.

Every new snapshot's events are offered to the ledger — all of them, every poll, not only the
ones not seen before — and the ledger's unique keys keep each award single. That is what makes
``kill -9`` at any moment safe: whatever was not committed is offered again by the next poll
(while the feed still lists the event), and whatever was is not counted twice. Each new award is
logged as one structured ``celebration`` record.

A hub polls 5,000 agents every second, and most of them have not changed: after a poll that went
well, the next one in the same day works out only what changed (:mod:`feeds.game.incremental`,
:func:`feeds.game.progress.progress_since`, :class:`feeds.game.compare.Yardsticks`), with results
equal to working everything out; after a ledger error, a new day or a restart it does that.
"""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
import time
from collections.abc import Callable, Iterator, Mapping
from operator import attrgetter
from datetime import datetime, timezone
from types import MappingProxyType
from typing import NamedTuple

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.cron import CronTrigger

from feeds.board.build import self_thank, without_role_models
from feeds.game.challenges import Challenges, GameState, badges
from feeds.game.compare import Values, Yardsticks, compare, measure
from feeds.config.schema import Config
from feeds.game.history import History, Row
from feeds.game.incremental import Measurer, Roster
from feeds.game.ledger import KUDOS as KUDOS_CHALLENGE
from feeds.game.ledger import Award, Ledger
from feeds.game.retention import trim_quietly
from feeds.logs import LOGGER, log_event
from feeds.model import CHALLENGE_COMPLETED, KUDOS, Agent, FeedEvent, Snapshot, _frozen
from feeds.periods import Calendar, Shift, parse_clock
from feeds.privacy.choices import DEFAULT, Choices

log = logging.getLogger(f"{LOGGER}.engine")
MAX_UNRECORDED = 1000  # feed events kept to offer again while the ledger cannot be written
_ID, _NAME = attrgetter("id"), attrgetter("name")


class EngineOutput(NamedTuple):
    events: tuple[FeedEvent, ...]  # completions of chalkwall's own challenges, to celebrate
    game: GameState | None  # where every challenge stands
    feed: tuple[FeedEvent, ...] | None = None  # the feed's events as they may be shown (see Engine._vet)


def calendar_for(config: Config) -> Calendar:
    shifts = tuple(Shift(s.name, parse_clock(s.start), parse_clock(s.end))  # type: ignore[arg-type]
                   for s in config.periods.shifts)
    return Calendar(config.periods.zone, shifts)


class Engine:
    def __init__(self, ledger: Ledger, config: Config, history: History | None = None,
                 clock: Callable[[], float] = time.time, announce: bool = True,
                 choices: Choices | None = None) -> None:
        self.ledger = ledger
        self.choices = choices  # the people's own privacy choices: who may be logged by name
        self.clock = clock
        self.announce = announce  # a preview's awards are not news: they are logged at debug level
        self.config = config
        self.calendar = calendar_for(config)
        self.history = history
        self.challenges = (Challenges(config.challenges, config.board, self.calendar, ledger, history,
                                      config.levels.agents)
                           if history is not None and config.challenges else None)
        self.completed: list[FeedEvent] = []  # chalkwall's own completions from the last process()
        self.shown: list[FeedEvent] = []  # the feed's events from the last process(), as they may be shown
        self.game: GameState | None = None
        self.totals: dict[tuple[str, str], dict[str, float]] = {}  # team and floor values (see _measure)
        self._last: Snapshot | None = None
        self._failing = False  # the ledger could not be written at the last try
        self._unrecorded: dict[str, FeedEvent] = {}  # the events offered meanwhile, to offer again
        self._badges: tuple[str, Mapping[str, tuple[str, ...]]] = ("", MappingProxyType({}))
        # The last poll's measurements, so that a poll costs what changed (feeds/game/incremental.py);
        # trusted only after a poll that finished in the same day (_steady, _day).
        self._measurer = Measurer(config.board)
        self._roster = Roster()
        self._yardsticks = Yardsticks()  # what compare() read of finished days
        self._game_agents: tuple[Agent, ...] = ()  # this poll's agents without the role models
        self._steady = False
        self._day = ""

    def __call__(self, snapshot: Snapshot) -> EngineOutput:
        """For the coordinator: record this snapshot; what chalkwall itself found, to announce and show."""
        self.process(snapshot, datetime.fromtimestamp(self.clock(), timezone.utc))
        return EngineOutput(tuple(self.completed), self.game, tuple(self.shown))

    def pending(self) -> bool:
        """Whether the last snapshot should be offered again though the feed has not changed (a 304,
        the same body): events wait for a ledger that failed, or the history is due a sample or a
        write of the totals it holds."""
        if self._failing or self._unrecorded:
            return True
        if self.history is None or self._last is None:
            return False
        now = datetime.fromtimestamp(self.clock(), timezone.utc)
        local = self.calendar.local(now)
        day = self.calendar.period("day", local).key
        return self.history.flush_due(now) or self.history.sample_due(day, local.hour * 60 + local.minute)

    def close(self) -> None:
        self.ledger.close()
        if self.choices is not None:
            self.choices.close()
        if self.history is not None:
            self.history.close()

    def process(self, snapshot: Snapshot, now: datetime | None = None) -> list[Award]:
        """Record what this snapshot's events and metrics earn; the awards that are new.
        ``self.shown`` is then the feed's events as the screen may show them (see ``_vet``)."""
        now = now or datetime.now(timezone.utc)
        fresh: list[Award] = []
        self.completed = []
        names = _Names(snapshot)
        known, self._game_agents = self._roster.update(snapshot.agents, snapshot.changed)
        # Events offered while the ledger failed come again, even if the feed has moved past them.
        listed = {e.id for e in snapshot.events}
        events = [*snapshot.events, *(e for i, e in self._unrecorded.items() if i not in listed)]
        offered: list[tuple[Award | None, FeedEvent]] = []
        try:
            for event in events:
                offered.append((self._offer(event, now, known), event))
            if self.history is not None:
                offered += self._measure(snapshot, now)
            recorded = self.ledger.recorded([e.id for e in events if e.type == CHALLENGE_COMPLETED])
            self._refresh_badges(any(award is not None for award, _ in offered), now)
            new = [award for award, _ in offered if award is not None]
            if new:  # who they were, for `chalkwall points` once they have left the floor
                who = {(a.subject_kind, a.subject) for a in new} | {("agent", a.giver) for a in new if a.giver}
                self.ledger.remember_names((k, i, names[i]) for k, i in who if i in names)
        except sqlite3.Error as exc:  # a full disk must not stop the board; the next poll offers again
            if not self._failing:  # once, not every poll, until it works again
                log_event(log, logging.ERROR, "ledger_error", f"cannot record points: {exc}; trying again every poll "
                          "(what the board still shows is recorded once it works)", error=str(exc))
            self._failing = True
            self._steady = False  # the next poll works everything out again, as after a restart
            self._unrecorded.update((e.id, e) for e in events)
            while len(self._unrecorded) > MAX_UNRECORDED:
                del self._unrecorded[next(iter(self._unrecorded))]
            # Only what this poll committed before the error is known to be paid; the rest waits.
            self.shown = self._vet(events, {a.event_id: a.points for a, _ in offered if a and a.event_id}, known)
            self._announce(offered, names, fresh)
            return fresh
        self.shown = self._vet(events, recorded, known)
        self._announce(offered, names, fresh)
        self._unrecorded.clear()
        if self._failing:
            log_event(log, logging.INFO, "ledger_recovered", "points are recorded again")
            self._failing = False
        return fresh

    def _announce(self, offered: list[tuple[Award | None, FeedEvent]], names: Mapping[str, str],
                  fresh: list[Award]) -> None:
        """Each new award into ``fresh`` and the log, as one ``celebration`` record."""
        for award, event in offered:
            if award is not None:
                fresh.append(award)
                named = {"name": names.get(award.subject, award.subject)} if self._loggable(award) else {}
                log_event(log, logging.INFO if self.announce else logging.DEBUG, "celebration",
                          f"{named.get('name', award.subject)} earned {award.points:g} points: "
                          f"{award.challenge}", challenge=award.challenge, subject_kind=award.subject_kind,
                          subject=award.subject, **named,
                          period=award.period, points=award.points, source=award.source, event_id=event.id)

    def _loggable(self, award: Award) -> bool:
        """Whether the journal may hold an award under the person's name: only in the ``named``
        profile and for someone who chose nothing (hidden, not ranked, an alias) on the team page or in
        ``[privacy.people]``; else their agent id, as the ledger keeps it."""
        if award.subject_kind != "agent":
            return True
        privacy = self.config.privacy
        if privacy.mode != "named" or award.subject in privacy.people:
            return False
        if self.choices is None:
            return True
        try:
            return self.choices.get(award.subject) == DEFAULT
        except sqlite3.Error:
            return False

    @staticmethod
    def _vet(events: list[FeedEvent], recorded: Mapping[str, float], known: frozenset[str]) -> list[FeedEvent]:
        """The feed's events as the screen may show them, so it never promises what the ledger did
        not record: a completion only once the ledger holds it under this event's id, with the points
        it recorded (a repeat of a completion already paid, or one still waiting for a broken
        ledger, is not shown); a kudos without its sender when the sender is not on the floor (shown
        as "a colleague"), and a self-thank or a thank-you to nobody on the floor not at all."""
        out = []
        for event in events:
            if event.type == CHALLENGE_COMPLETED:
                if event.id not in recorded:
                    continue
                if recorded[event.id] != event.data.get("points"):
                    event = dataclasses.replace(event, data=_frozen({**event.data, "points": recorded[event.id]}))
            elif event.type == KUDOS:
                giver, taker = event.data.get("from"), event.data.get("to")
                if self_thank(event) or taker not in known:
                    continue
                if giver is not None and giver not in known:
                    event = dataclasses.replace(event, data=_frozen({k: v for k, v in event.data.items() if k != "from"}))
            out.append(event)
        return out

    def _rows(self, snapshot: Snapshot) -> tuple[Values, list[Row]]:
        metric = self.history_metric()
        metrics = {metric} | (self.challenges.metrics() if self.challenges else set())
        return measure(snapshot, {m for m in metrics if m}, self.config.board)

    def boundary(self, now: datetime | None = None) -> None:
        """At a period's edge (midnight, a shift's start or end): keep the values exactly as they
        stand, so a shift counts from its true start. Called by the cron jobs of ``schedule``."""
        if self.history is None or self._last is None:
            return
        now = now or datetime.fromtimestamp(self.clock(), timezone.utc)
        _, rows = self._rows(without_role_models(self._last))
        local = self.calendar.local(now)
        try:
            self.history.sample(self.calendar.period("day", now).key, local.hour * 60 + local.minute, rows, force=True)
        except sqlite3.Error as exc:
            log_event(log, logging.ERROR, "ledger_error", f"cannot keep the boundary sample: {exc}", error=str(exc))

    def schedule(self, scheduler: BaseScheduler) -> None:
        """Cron jobs at every boundary, in the floor's time zone (so DST moves them with the clock)."""
        times = {(0, 0)}
        for shift in self.calendar.shifts:
            times |= {(shift.start.hour, shift.start.minute), (shift.end.hour, shift.end.minute)}
        for hour, minute in sorted(times):
            scheduler.add_job(self.boundary, CronTrigger(hour=hour, minute=minute, timezone=self.calendar.zone),
                              id=f"chalkwall-boundary-{hour:02d}{minute:02d}", replace_existing=True,
                              misfire_grace_time=120, coalesce=True)
        # [privacy] keep_days: now, and each night at a quiet hour
        scheduler.add_job(self.trim, CronTrigger(hour=3, minute=17, timezone=self.calendar.zone),
                          id="chalkwall-retention", replace_existing=True, coalesce=True,
                          next_run_time=datetime.now(timezone.utc), misfire_grace_time=3600)

    def trim(self) -> None:
        """Reduce individuals' history to ``[privacy] keep_days`` (feeds/game/retention.py)."""
        trim_quietly(self.ledger.path.parent, self.config.privacy.keep_days,
                     datetime.fromtimestamp(self.clock(), timezone.utc))
        self._yardsticks.forget()  # finished days' rows may be gone

    def _measure(self, snapshot: Snapshot, now: datetime) -> list[tuple[Award | None, FeedEvent]]:
        """History, challenges and comparisons from this poll's metrics; the new completions.
        Within a day, after a poll that went well, only what changed is worked out again: the
        changed agents' values and history rows, their progress, their completions offered."""
        assert self.history is not None
        self._last = snapshot
        metric = self.history_metric()
        # Role models are thanked, never in the agents' races (as without_role_models, kept by the roster).
        if self._game_agents is not snapshot.agents:
            snapshot = dataclasses.replace(snapshot, agents=self._game_agents)
        period = self.calendar.period("day", now)
        local = self.calendar.local(now)
        minute = local.hour * 60 + local.minute
        full = not self._steady or period.key != self._day
        self._steady = False  # until this poll is through
        if full:
            self._yardsticks.forget()
        metrics = {metric} | (self.challenges.metrics() if self.challenges else set())
        values, rows, changes = self._measurer.measure(snapshot.agents, {m for m in metrics if m}, full,
                                                       snapshot.changed)
        self.history.record(period.key, rows, now)  # all rows, or those of what changed: record() skips the rest
        if self.history.sample_due(period.key, minute):
            self.history.sample(period.key, minute, rows if changes is None else self._measurer.rows())
        own: list[tuple[Award | None, FeedEvent]] = []
        if self.challenges is not None:
            own = list(self.challenges.evaluate(snapshot, values, now, changes))
            self.completed = [event for _, event in own]
        comparison = compare(self.history, self.calendar, now, metric, values,
                             self.config.board.metric(metric).lower_is_better, self._yardsticks) if metric else None
        self.game = GameState(period.key, self.challenges.progress if self.challenges else (),
                              self.challenges.records if self.challenges else (), comparison,
                              self.challenges.duels if self.challenges else (), self._badges[1])
        # The team and floor values, copied (the measurer keeps its own up to date in this thread) for
        # the hub's site summary, which the main thread reads.
        self.totals = {key: dict(found) for key, found in values.items() if key[0] != "agent"}
        self._steady, self._day = True, period.key
        return own

    def _refresh_badges(self, awarded: bool, now: datetime) -> None:
        """Badges come from the ledger: worked out again only when this poll awarded something
        or a new day began (a streak not kept up yesterday is no longer worn)."""
        period = self.calendar.period("day", now)
        if awarded or self._badges[0] != period.key:
            worn = badges(self.ledger, self.config.challenges, self.calendar.previous(period).key)
            self._badges = (period.key, MappingProxyType(worn))
        if self.game is not None:
            self.game = dataclasses.replace(self.game, badges=self._badges[1])

    def history_metric(self) -> str:
        """The metric compared with earlier days: the ranking metric, the score's first, or the
        metric a ``target_percent`` ranking measures."""
        return next(iter(self.config.board.ranked_metrics), "")

    def _offer(self, event: FeedEvent, now: datetime, known: frozenset[str]) -> Award | None:
        when = event.when(now)
        day = self.calendar.period("day", when).key
        if event.type == CHALLENGE_COMPLETED:
            kind = "agent" if event.data.get("agent") else "team"
            award = Award(str(event.data["challenge"]), kind, str(event.data.get(kind)), day,
                          float(event.data.get("points") or 0), "feed", event_id=event.id)
            return award if self.ledger.award(award, now) else None
        if event.type == KUDOS and self.config.points.kudos > 0:
            giver = event.data.get("from")
            taker = str(event.data["to"])
            if giver is None or giver not in known or taker not in known:
                return None  # a sender nobody knows could thank without limit: only the floor's own pay
            points = self.config.points
            if self.ledger.award_kudos(event.id, giver, taker, day, points.kudos, points.kudos_per_sender_per_day, now):
                return Award(KUDOS_CHALLENGE, "agent", taker, day, points.kudos, "kudos", giver, event.id)
        return None


class _Names(Mapping[str, str]):
    """The floor's names by id (agents', then teams'), worked out only when asked: when
    something was awarded (most polls award nothing)."""

    def __init__(self, snapshot: Snapshot) -> None:
        self._snapshot = snapshot
        self._found: dict[str, str] | None = None

    def _names(self) -> dict[str, str]:
        if self._found is None:
            snapshot = self._snapshot
            agents = snapshot.agents
            self._found = dict(zip(map(_ID, agents), map(_NAME, agents))) | {t.id: t.name for t in snapshot.teams}
        return self._found

    def __getitem__(self, key: str) -> str:
        return self._names()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())


def open_engine(config: Config, quiet: bool = False) -> Engine | None:
    """The engine over the ledger in the state directory; None (after one clear log line, unless
    ``quiet``: a retry) when the ledger cannot be opened, so the board runs on without points
    rather than not at all."""
    from feeds.db import feed_state_dir

    directory = feed_state_dir(config.state.dir, config.feed.type)
    try:
        return Engine(Ledger(directory), config, History(directory), choices=Choices(directory))
    except (OSError, sqlite3.Error) as exc:
        if quiet:
            return None
        log_event(log, logging.ERROR, "ledger_unavailable",
                  f"cannot open the points ledger in {directory}: {exc}; running without points "
                  f"(trying again every minute)",
                  path=str(directory), error=str(exc))
        return None
