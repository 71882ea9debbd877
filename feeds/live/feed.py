"""A live feed: the configured adapter, the coordinator polling it, the points engine and the
stored seen-events, put together and taken apart as one — for the wall, the terminal watch and
(later) the hub that publishes the board to many screens.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from feeds.connectors.hub import HubFeed
from feeds.connectors.registry import adapter_for
from feeds.live.clockguard import ClockGuard
from feeds.live.hubgame import HubGame
from feeds.live.avatars import AvatarFetcher, open_avatars
from feeds.config.schema import Config, LoadedConfig
from feeds.live.coordinator import FeedCoordinator
from feeds.board.diff import SeenEvents
from feeds.game.engine import Engine, open_engine
from feeds.game.ledger import Announce
from feeds.logs import LOGGER, log_event
from feeds.config.metricnames import metric_refs
from feeds.db import feed_state_dir
from feeds.live.roles import RoleModels
from feeds.live.state import StoredBoard, StoredSeenEvents
from feeds.live.thanks import ThanksReader

log = logging.getLogger(f"{LOGGER}.engine")
ENGINE_RETRY_SECONDS = 60.0
RETRY_JOB = "chalkwall-ledger-retry"


@dataclass
class LiveFeed:
    coordinator: FeedCoordinator
    engine: Engine | None
    seen: SeenEvents
    config: Config | None = None  # to open the ledger later, when it could not be opened at start
    avatars: AvatarFetcher | None = None  # agents' pictures, fetched in the scheduler's threads
    thanks: ThanksReader | None = None  # the team page's thank-yous, as toasts
    announce: Announce | None = None  # the hub's outbox: queues each completion in its award's transaction

    def __post_init__(self) -> None:
        self._hook(self.engine)

    def _hook(self, engine: Engine | None) -> None:
        if engine is not None and self.announce is not None:
            engine.ledger.announce = self.announce

    def start(self) -> None:
        """Poll now and on the interval; note the values at every period boundary."""
        self.coordinator.start()
        if self.thanks is not None:
            self.thanks.start()
        scheduler = self.coordinator.scheduler
        if scheduler is None:
            return
        if self.avatars is not None:
            self.avatars.schedule(scheduler, self.coordinator.state)
        if self.engine is not None:
            self.engine.schedule(scheduler)
        elif self.config is not None and self.config.feed.type != "hub":  # a read-only or full disk at start
            scheduler.add_job(self._retry_engine, "interval", seconds=ENGINE_RETRY_SECONDS, id=RETRY_JOB,
                              replace_existing=True, coalesce=True, max_instances=1)

    def _retry_engine(self) -> None:
        assert self.config is not None
        engine = open_engine(self.config, quiet=True)
        scheduler = self.coordinator.scheduler
        if engine is None or scheduler is None:
            return
        self._hook(engine)
        self.engine = engine
        self.coordinator.attach(ClockGuard(engine, feed_state_dir(self.config.state.dir, self.config.feed.type)))
        engine.schedule(scheduler)
        scheduler.remove_job(RETRY_JOB)
        log_event(log, logging.INFO, "ledger_recovered", "the points ledger is open again; points are recorded")

    def stop(self) -> None:
        self.coordinator.stop()
        if isinstance(self.coordinator.roles, RoleModels):
            self.coordinator.roles.close()
        if self.avatars is not None:
            self.avatars.close()
        if self.thanks is not None:
            self.thanks.close()
        if isinstance(self.seen, StoredSeenEvents):
            self.seen.close()
        if self.engine is not None:
            self.engine.close()


def open_live_feed(loaded: LoadedConfig, on_update: Callable[[], None] | None = None,
                   after: FeedCoordinator | None = None, read_only: bool = False,
                   seen: SeenEvents | None = None, rank: bool = True, announce: Announce | None = None) -> LiveFeed:
    """The live feed for a config, carrying on from ``after`` (a reload) or else from the board the
    last run saved; FeedError when the adapter cannot be made (a missing secret).

    ``read_only`` (``chalkwall feed --watch``: looking) touches no state at all: no points, no
    events marked as announced, no board saved, so a wall started later still celebrates them.
    ``seen`` replaces the stored "already announced" events (the hub's outbox); ``rank=False``
    (the hub) builds no board: the screens rank what it publishes; ``announce`` (the hub's outbox)
    is the ledger's hook for announcing each completion in the transaction that awards it."""
    cfg = loaded.config
    adapter = adapter_for(loaded)
    if read_only:
        memory = SeenEvents()
        coordinator = FeedCoordinator(adapter, cfg.feed, cfg.board, on_update=on_update, seen=memory,
                                      metrics=metric_refs(cfg), roles=RoleModels(cfg.roles.role_models))
        return LiveFeed(coordinator, None, memory)
    directory = feed_state_dir(cfg.state.dir, cfg.feed.type)
    seen = seen if seen is not None else StoredSeenEvents(directory)
    if isinstance(adapter, HubFeed):  # a hub's screen: the hub runs the game and writes the ledger
        engine, on_snapshot = None, HubGame(adapter)
    else:
        engine = open_engine(cfg)
        on_snapshot = ClockGuard(engine, directory) if engine is not None else None  # no points on a wrong clock
    coordinator = FeedCoordinator(adapter, cfg.feed, cfg.board, on_update=on_update, seen=seen,
                                  on_snapshot=on_snapshot, store=StoredBoard(directory), metrics=metric_refs(cfg),
                                  roles=RoleModels(cfg.roles.role_models, directory), rank=rank)
    if after is None or not coordinator.continues(after):  # a first start, or between the demo and a real feed
        coordinator.restore()
    if after is not None:
        coordinator.take_over(after)
    if isinstance(on_snapshot, HubGame):
        on_snapshot.publish = coordinator.publish  # the hub's undos, for the display
    return LiveFeed(coordinator, engine, seen, cfg, open_avatars(loaded), open_thanks(directory, coordinator),
                    announce)


def open_thanks(directory: Path, coordinator: FeedCoordinator) -> ThanksReader | None:
    """The reader of the team page's thanks in the feed's state file; None (after a log line) when
    the file cannot be read: the wall runs on without them."""
    try:
        return ThanksReader(directory, coordinator.publish)
    except (OSError, sqlite3.Error) as exc:
        log_event(log, logging.ERROR, "thanks_unavailable", f"cannot read the team page's thanks in {directory}: "
                  f"{exc}; the wall shows the feed's kudos only", path=str(directory), error=str(exc))
        return None
