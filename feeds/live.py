"""A live feed: the configured adapter, the coordinator polling it, the points engine and the
stored seen-events, put together and taken apart as one — for the wall, the terminal watch and
(later) the hub that publishes the board to many screens.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from feeds.adapters import make_adapter
from feeds.config import LoadedConfig
from feeds.coordinator import FeedCoordinator
from feeds.engine import Engine, open_engine
from feeds.state import StoredBoard, StoredSeenEvents, state_dir


@dataclass
class LiveFeed:
    coordinator: FeedCoordinator
    engine: Engine | None
    seen: StoredSeenEvents

    def start(self) -> None:
        """Poll now and on the interval; note the values at every period boundary."""
        self.coordinator.start()
        if self.engine is not None and self.coordinator.scheduler is not None:
            self.engine.schedule(self.coordinator.scheduler)

    def stop(self) -> None:
        self.coordinator.stop()
        self.seen.close()
        if self.engine is not None:
            self.engine.close()


def open_live_feed(loaded: LoadedConfig, on_update: Callable[[], None] | None = None) -> LiveFeed:
    """The live feed for a config; FeedError when the adapter cannot be made (a missing secret)."""
    cfg = loaded.config
    adapter = make_adapter(cfg.feed, loaded.base_dir)
    directory = state_dir(cfg.state.dir)
    seen = StoredSeenEvents(directory)
    engine = open_engine(cfg)
    coordinator = FeedCoordinator(adapter, cfg.feed, cfg.board, on_update=on_update, seen=seen, on_snapshot=engine,
                                  store=StoredBoard(directory))
    return LiveFeed(coordinator, engine, seen)
