"""The feed coordinator: polls one adapter in the background and publishes immutable state.

Like Home Assistant's update coordinator, it is the single owner of a feed's life: an APScheduler
interval job polls the adapter, the board is ranked and diffed, and the result is published as
a frozen :class:`FeedState` (swapped in one assignment, so readers never see half an update) plus
a bounded queue of :class:`~feeds.board.diff.BoardEvent` for the display to drain. The display never
waits on the network. A failure keeps the last good board; after ``stale_seconds`` without a good
poll the state says stale. Breaking and recovering are each logged once, not every poll.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING
from dataclasses import dataclass, replace

from apscheduler.schedulers.background import BackgroundScheduler

from feeds.connectors.base import Adapter
from feeds.board.build import Board, build_board
from feeds.config.schema import BoardConfig, FeedConfig
from feeds.board.diff import BoardEvent, FeedEventReceived, SeenEvents, diff_boards
from feeds.logs import LOGGER, log_event
from feeds.config.metricnames import MetricRef, MissingMetric, missing_metrics
from feeds.model import CHALLENGE_COMPLETED, FeedError, FeedEvent, Snapshot, _frozen

if TYPE_CHECKING:  # the engine imports the coordinator's neighbours; only its types are needed here
    from feeds.game.challenges import GameState
    from feeds.game.engine import EngineOutput
    from feeds.live.state import StoredBoard
from feeds.connectors.transport import RetryPolicy

log = logging.getLogger(f"{LOGGER}.feed")
MAX_QUEUED_EVENTS = 1000
JOB_ID = "chalkwall-feed"
CLOCK_STEP = 60.0  # seconds of disagreement between the wall and the monotonic clock that is a jump


@dataclass(frozen=True, slots=True)
class FeedState:
    """What the display reads: the last good board and how fresh it is."""

    board: Board | None
    last_success: float | None  # clock time of the last good poll (304 included)
    last_error: str | None  # the message of the current failure, None while healthy
    failures: int  # failures in a row
    stale: bool
    generation: int  # grows by one with every new board, so readers can skip unchanged states
    game: GameState | None = None  # chalkwall's own challenges, when it runs any
    problems: tuple[MissingMetric, ...] = ()  # where the feed's data does not fit the config
    notes: tuple[str, ...] = ()  # what the source says about itself (a connector catching up, a part kept)


def unpaid(events: tuple[FeedEvent, ...]) -> tuple[FeedEvent, ...]:
    """The events with the points of every completion taken away: without a ledger none are paid."""
    return tuple(replace(e, data=_frozen({**e.data, "points": 0}))
                 if e.type == CHALLENGE_COMPLETED and e.data.get("points") else e for e in events)


class FeedCoordinator:
    def __init__(self, adapter: Adapter, feed: FeedConfig, board: BoardConfig, *,
                 clock: Callable[[], float] = time.time, rng: random.Random | None = None,
                 seen: SeenEvents | None = None, on_update: Callable[[], None] | None = None,
                 on_snapshot: Callable[[Snapshot], EngineOutput] | None = None,
                 store: StoredBoard | None = None, metrics: Sequence[MetricRef] = (),
                 roles: Callable[[Snapshot], Snapshot] | None = None,
                 monotonic: Callable[[], float] = time.monotonic, rank: bool = True) -> None:
        self.adapter = adapter
        # False for the hub: its screens rank the snapshot themselves and its rank moves are nobody's
        # news, so it builds no board (a third of a 5,000-agent poll); freshness then follows the snapshot.
        self.rank = rank
        self.roles = roles  # marks the role models (feeds/live/roles.py) before the engine and the board see a poll
        self.on_update = on_update  # called from the polling thread after each publish (a wake-up)
        # Each new snapshot, in the polling thread: the points engine, which answers with the
        # completions it found itself, to be announced like the feed's own events.
        self.on_snapshot = on_snapshot
        self.feed = feed
        self.board_config = board
        self.clock = clock
        # The wall clock can jump by hours (a Pi before NTP): a clock set back must neither hide that
        # the board is stale nor postpone the next try by hours, so both are also judged on this one.
        self.monotonic = monotonic
        self._success_mono: float | None = None  # monotonic time of the last good poll of this process
        self._wait = 0.0  # the back-off asked for after the last failure
        self.policy = RetryPolicy(feed.interval)
        self._rng = rng or random.Random()
        self._seen = seen if seen is not None else SeenEvents()  # not "or": an empty store is falsy
        self._lock = threading.Lock()
        self._seen_lock = threading.Lock()  # the poll and the thanks reader both mark events seen
        self._events: deque[BoardEvent] = deque(maxlen=MAX_QUEUED_EVENTS)
        self._state = FeedState(None, None, None, 0, False, 0)
        self._broken_since: float | None = None
        self._not_before = 0.0
        self._warnings: frozenset[str] = frozenset()
        self._scheduler: BackgroundScheduler | None = None
        self.store = store  # the last good snapshot on disk, saved as polls come in
        self._snapshot: Snapshot | None = None  # the last one polled
        self._published: Snapshot | None = None  # ... once its poll has finished (see published())
        self._raw: Snapshot | None = None  # ... as the adapter gave it, before the roles were marked
        self._poll_lock = threading.Lock()
        self._nudge = threading.Event()  # see poll_soon
        self._nudger: threading.Thread | None = None
        self._closing = False
        self._replay = False  # offer it to on_snapshot again at the next poll (a ledger opened late)
        self.metrics = tuple(metrics)  # the metric names the config uses, checked against every snapshot

    def restore(self) -> None:
        """Start from the board saved by the last run (shown at once after a restart, marked stale
        until the feed answers); nothing when there is none or it no longer fits the config."""
        found = self.store.load() if self.store is not None else None
        if found is None:
            return
        snapshot, polled_at = found
        try:
            board = build_board(snapshot, self.board_config)
        except Exception as exc:  # a config edit since may not fit it: then wait for the feed
            log.warning("the last board does not fit the config (%s); waiting for the feed", exc)
            return
        self._state = FeedState(board, polled_at, None, 0, False, 1)
        log.info("showing the last board, from %s, until the feed answers",
                 time.strftime("%Y-%m-%d %H:%M", time.localtime(polled_at)))

    # --- reading (any thread) -------------------------------------------------------------
    def state(self) -> FeedState:
        """The latest state, with ``stale`` judged against the clock now."""
        state = self._state
        last = state.last_success
        age = None if last is None else self.clock() - last
        if age is not None and age < -CLOCK_STEP and self._success_mono is not None:  # the clock went back
            age = self.monotonic() - self._success_mono
        shown = state.board is not None or (not self.rank and self._snapshot is not None)
        stale = shown and (age is None or age > self.feed.stale_seconds)
        if stale != state.stale:
            state = replace(state, stale=stale)
        return state

    @property
    def snapshot(self) -> Snapshot | None:
        """The last snapshot polled (the hub publishes it to the screens, which rank it themselves)."""
        return self._snapshot

    def published(self) -> tuple[Snapshot | None, FeedState]:
        """The snapshot of the last finished poll and the state that poll made, as one pair: the hub
        labels each board with its state's generation, and read apart, mid-poll, they would put one
        poll's agents under the other's number."""
        with self._lock:
            return self._published, self._state

    def sizes(self) -> dict[str, int]:
        """How full the coordinator's bounded containers are (for health reports and soak tests)."""
        return {"seen_events": len(self._seen), "seen_events_cap": self._seen.capacity,
                "queued_events": len(self._events), "queued_events_cap": MAX_QUEUED_EVENTS}

    def drain_events(self) -> list[BoardEvent]:
        with self._lock:
            events = list(self._events)
            self._events.clear()
        return events

    def publish(self, feed_events: Sequence[FeedEvent] = (), others: Sequence[BoardEvent] = ()) -> int:
        """News from beside the feed (the team page's thanks): the feed events not announced
        before, and ``others`` as they are, queued for the display, which is woken when there is
        any. How many were queued."""
        with self._seen_lock:
            fresh = [FeedEventReceived(e) for e in self._seen.new(feed_events)] if feed_events else []
        queued = [*fresh, *others]
        if queued:
            with self._lock:
                self._events.extend(queued)
            if self.on_update is not None:
                self.on_update()
        return len(queued)

    def attach(self, on_snapshot: Callable[[Snapshot], EngineOutput]) -> None:
        """Hand snapshots to ``on_snapshot`` from now on, beginning with the last one at the next poll
        (the points ledger opened late: what the feed already shows still earns its points)."""
        self.on_snapshot = on_snapshot
        self._replay = True

    def _engine_pending(self) -> bool:
        """The feed has not changed, but the engine has work that waits for a snapshot (see
        :meth:`feeds.game.engine.Engine.pending`): offer it the last one again."""
        pending = getattr(self.on_snapshot, "pending", None)
        return self._snapshot is not None and callable(pending) and bool(pending())

    def continues(self, old: FeedCoordinator) -> bool:
        """Whether this feed carries on from ``old``'s: not across the switch between the demo and a
        real feed, whose boards, events and points are kept apart."""
        return (old.feed.type == "demo") == (self.feed.type == "demo")

    def take_over(self, old: FeedCoordinator) -> None:
        """Carry on from ``old`` (the config changed): its board, freshness and game, and the events
        it published that nobody has read yet, so that a reload loses nothing and repeats nothing.
        Between the demo and a real feed nothing is carried: the demo's news is not the floor's;
        only the generation goes on growing, so that readers take the next board for a new one."""
        events = old.drain_events()
        if not self.continues(old):
            with self._lock:
                generation = max(self._state.generation, old._state.generation) + 1
                self._state = replace(self._state, generation=generation)
            return
        with self._lock:
            self._state, self._published = old._state, old._published
            self._events.extend(events)

    # --- polling (the scheduler's thread, or a caller's) ------------------------------------
    def poll_once(self) -> bool:
        """Poll the adapter once and publish the outcome; True when the feed answered usefully."""
        now = self.clock()
        try:
            snapshot = self.adapter.poll()
        except FeedError as exc:
            self._failed(now, exc)
            return False
        except Exception as exc:  # an adapter bug must not kill the poller or the display
            log.exception("feed adapter crashed")
            self._failed(now, FeedError(f"internal error: {type(exc).__name__}: {exc}", "internal"))
            return False
        if snapshot is not None:
            self._raw = snapshot
        elif self._raw is not None and self.roles is not None and getattr(self.roles, "changed", bool)():
            snapshot = self._raw  # an unchanged feed, a changed role on the team page: marked afresh
        if snapshot is not None and self.roles is not None:
            snapshot = self.roles(snapshot)
        if snapshot is None and (self._replay or self._engine_pending()):
            snapshot = self._snapshot
        self._replay = False
        old = self._state
        board = old.board
        game = old.game
        problems = old.problems
        notes = old.notes
        events: list[BoardEvent] = []
        fresh = snapshot is not None
        had_board = old.board is not None if self.rank else self._snapshot is not None
        if snapshot is not None:
            self._snapshot = snapshot
            notes = snapshot.notes
            own, game, shown = self.on_snapshot(snapshot) if self.on_snapshot is not None else ((), old.game, None)
            if shown is None:  # no ledger said what it recorded: nothing is paid, so no points are promised
                shown = unpaid(snapshot.events)
            # What the screen shows — the board's list and the celebrations — is what the engine
            # let through: points as the ledger recorded them, no repeats, no self-thanks.
            vetted = replace(snapshot, events=tuple(shown))
            missing = missing_metrics(snapshot, self.metrics, self.board_config)
            if not had_board:  # no board to keep: the one there is, with the problem beside it
                missing = tuple(replace(m, held=False) for m in missing)
            problems = self._log_missing(missing)
            if any(m.held for m in missing):
                fresh = False  # nothing to rank by: the last good board stays, not a board of blanks
            elif self.rank:
                board = build_board(vetted, self.board_config)
                events = diff_boards(old.board, board)
            with self._seen_lock:
                events.extend(FeedEventReceived(e) for e in self._seen.new([*shown, *own]))
            self._log_warnings(snapshot.warnings)
            if self.store is not None:
                self.store.save(vetted, now)
        if self._broken_since is not None:
            log_event(log, logging.INFO, "feed_recovered", f"feed recovered after {now - self._broken_since:.0f} s",
                      down_seconds=round(now - self._broken_since, 1), failures=old.failures)
            self._broken_since = None
        self._not_before = 0.0
        self._success_mono = self.monotonic()
        generation = old.generation + fresh
        with self._lock:
            self._events.extend(events)
            self._state = FeedState(board, now, None, 0, False, generation, game, problems, notes)
            self._published = self._snapshot
        if self.on_update is not None and (snapshot is not None or old.failures):
            self.on_update()
        return True

    def _failed(self, now: float, exc: FeedError) -> None:
        old = self._state
        failures = old.failures + 1
        delay = self.policy.delay(failures, exc.retry_after, self._rng)
        self._not_before, self._wait = now + delay, delay
        if self._broken_since is None:
            self._broken_since = now
            log_event(log, logging.WARNING, "feed_error", f"feed failed: {exc}; keeping the last good board",
                      error=str(exc), error_kind=exc.kind, retry_in=round(delay, 1))
        else:
            log.debug("feed still failing (%d in a row): %s; next try in %.1f s", failures, exc, delay)
        self._state = replace(old, last_error=str(exc), failures=failures)
        if self.on_update is not None:
            self.on_update()

    def _log_warnings(self, warnings: tuple[str, ...]) -> None:
        current = frozenset(warnings)
        for warning in warnings:
            if warning not in self._warnings:  # each problem once, not once per poll
                log_event(log, logging.WARNING, "record_dropped" if " dropped: " in warning else "record_warning",
                          warning, detail=warning)
        self._warnings = current

    def _log_missing(self, missing: tuple[MissingMetric, ...]) -> tuple[MissingMetric, ...]:
        """Log each data problem when it starts and when it ends, not once per poll."""
        before, problems = [str(m) for m in self._state.problems], [str(m) for m in missing]
        for problem in problems:
            if problem not in before:
                log_event(log, logging.WARNING, "metric_missing", f"the feed's data does not fit the config: {problem}",
                          detail=problem)
        for problem in before:
            if problem not in problems:
                log_event(log, logging.INFO, "metric_found", f"fixed: {problem}", detail=problem)
        return missing

    def _tick(self, nudged: bool = False) -> None:
        with self._poll_lock:  # the interval job and a nudge never poll at once
            remaining = self._not_before - self.clock()
            # backing off: skip the tick, unless there is news — or the wait is longer than asked (the
            # clock went back)
            if nudged or remaining <= 0 or remaining > self._wait + CLOCK_STEP:
                self.poll_once()

    def poll_soon(self) -> None:
        """Poll now rather than at the next interval (the source has news: a hub's message). Any
        thread; a burst of calls makes one or two polls, in a thread of the coordinator's own."""
        if self._nudger is None:
            self._nudger = threading.Thread(target=self._nudged_polls, name="chalkwall-nudge", daemon=True)
            self._nudger.start()
        self._nudge.set()

    def _nudged_polls(self) -> None:
        while not self._closing:
            self._nudge.wait()
            self._nudge.clear()
            if not self._closing:
                self._tick(nudged=True)

    # --- lifecycle ------------------------------------------------------------------------
    def start(self, scheduler: BackgroundScheduler | None = None) -> None:
        """Poll now and then every ``interval`` seconds in a background thread."""
        from datetime import datetime, timezone

        self._scheduler = scheduler or BackgroundScheduler(timezone=timezone.utc)
        self._scheduler.add_job(self._tick, "interval", seconds=self.feed.interval, id=JOB_ID,
                                next_run_time=datetime.now(timezone.utc), max_instances=1, coalesce=True,
                                misfire_grace_time=None, replace_existing=True)
        if not self._scheduler.running:
            self._scheduler.start()
        set_wake = getattr(self.adapter, "set_wake", None)
        if callable(set_wake):
            set_wake(self.poll_soon)

    @property
    def scheduler(self) -> BackgroundScheduler | None:
        """The scheduler polling runs on (after ``start``), for other jobs of the same process."""
        return self._scheduler

    def stop(self) -> None:
        self._closing = True
        self._nudge.set()
        if self._nudger is not None:
            self._nudger.join(5)
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=True)
        self.adapter.close()
        if self.store is not None:
            self.store.close()  # the latest board, for the next start
