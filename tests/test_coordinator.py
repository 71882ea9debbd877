"""The coordinator: last good board, stale flag, log-once, backoff, de-duplicated events, scheduling."""

from __future__ import annotations

import io
import json
import os
import random
import time
from pathlib import Path

import pytest

from feeds.connectors.registry import make_adapter
from feeds.config.schema import Config, load_config
from feeds.live.coordinator import FeedCoordinator
from feeds.board.diff import FeedEventReceived, NewLeader, RankChanged
from helpers import FakeClock, FeedServer, Reply, agent, doc, events_named, write_config

KUDOS = {"id": "k1", "type": "kudos", "from": "bo", "to": "ada", "text": "Tack!"}


class FileFeed:
    """A file feed on disk and a coordinator over it, driven by a fake clock."""

    def __init__(self, tmp_path: Path, clock: FakeClock, extra: str = "") -> None:
        self.path = tmp_path / "feed.json"
        self.clock = clock
        self._stamp = 0
        self.write(doc(agent("ada", 5), agent("bo", 7)))
        loaded = load_config(str(write_config(tmp_path, f'[feed]\ntype = "file"\npath = "feed.json"\n'
                                                        f"interval = 10\n{extra}")))
        self.config: Config = loaded.config
        adapter = make_adapter(loaded.config.feed, loaded.base_dir)
        self.coordinator = FeedCoordinator(adapter, loaded.config.feed, loaded.config.board, clock=clock,
                                           rng=random.Random(0))

    def write(self, content: object) -> None:
        self.path.write_text(content if isinstance(content, str) else json.dumps(content))
        self._stamp += 1
        os.utime(self.path, ns=(self._stamp, self._stamp))


def test_success_publishes_a_board_and_304_keeps_it_fresh(tmp_path: Path, clock: FakeClock) -> None:
    feed = FileFeed(tmp_path, clock)
    c = feed.coordinator
    assert c.state().board is None and not c.state().stale
    assert c.poll_once()
    state = c.state()
    assert [a.id for a in state.board.agents] == ["bo", "ada"]
    assert (state.generation, state.last_success, state.stale, state.last_error) == (1, clock.now, False, None)
    clock.advance(25)
    assert c.poll_once()  # the file is unchanged: fresh, but no new board
    assert c.state().generation == 1 and c.state().last_success == clock.now


def test_a_broken_feed_keeps_the_last_board_goes_stale_and_recovers(tmp_path: Path, clock: FakeClock,
                                                                    logs: io.StringIO) -> None:
    feed = FileFeed(tmp_path, clock)
    c = feed.coordinator
    c.poll_once()
    good = c.state().board
    feed.write("{broken")
    for _ in range(5):
        clock.advance(10)
        assert not c.poll_once()
    state = c.state()
    assert state.board is good and state.failures == 5
    assert state.last_error is not None and state.last_error.startswith("document is not JSON")
    assert state.stale  # 50 s without a good poll, over 3 × 10 s
    assert len(events_named(logs, "feed_error")) == 1  # logged once, not five times
    error = events_named(logs, "feed_error")[0]
    assert error["level"] == "warning" and error["error_kind"] == "bad_document"
    feed.write(doc(agent("ada", 9), agent("bo", 7)))
    clock.advance(10)
    assert c.poll_once()
    state = c.state()
    assert not state.stale and state.failures == 0 and state.last_error is None
    assert [a.id for a in state.board.agents] == ["ada", "bo"]
    recovered = events_named(logs, "feed_recovered")
    assert len(recovered) == 1 and recovered[0]["down_seconds"] == 50 and recovered[0]["failures"] == 5


def test_stale_is_judged_when_read_not_only_when_polled(tmp_path: Path, clock: FakeClock) -> None:
    feed = FileFeed(tmp_path, clock, "stale_after = 45")
    feed.coordinator.poll_once()
    clock.advance(44)
    assert not feed.coordinator.state().stale
    clock.advance(2)
    assert feed.coordinator.state().stale  # the poller may be stuck; the reader still knows


def test_rank_changes_and_feed_events_are_queued_once(tmp_path: Path, clock: FakeClock) -> None:
    feed = FileFeed(tmp_path, clock)
    c = feed.coordinator
    feed.write(doc(agent("ada", 5), agent("bo", 7), events=[KUDOS]))
    c.poll_once()
    first = c.drain_events()
    assert [e.event.id for e in first if isinstance(e, FeedEventReceived)] == ["k1"]
    assert c.drain_events() == []
    feed.write(doc(agent("ada", 8), agent("bo", 7), events=[KUDOS]))  # same kudos again, and a new leader
    clock.advance(10)
    c.poll_once()
    events = c.drain_events()
    assert not any(isinstance(e, FeedEventReceived) for e in events)
    assert RankChanged("ada", 2, 1) in events and NewLeader("ada", "bo") in events


def test_dropped_records_are_logged_once_while_they_last(tmp_path: Path, clock: FakeClock,
                                                         logs: io.StringIO) -> None:
    feed = FileFeed(tmp_path, clock)
    bad = doc(agent("ada", 5), {"id": ["x"], "name": "X", "metrics": {"solved": 1}})
    for n in range(3):
        bad["agents"][0]["metrics"]["tickets_solved"] = n  # a new document each poll
        feed.write(bad)
        clock.advance(10)
        feed.coordinator.poll_once()
    dropped = events_named(logs, "record_dropped")
    assert [d["message"] for d in dropped] == [
        'agents[1] dropped: id must be text or a whole number, got a list']


def test_backoff_skips_ticks_and_honours_retry_after(server: FeedServer, tmp_path: Path, clock: FakeClock) -> None:
    server.routes["/feed"] = Reply(429, b"", {"Retry-After": "60"})
    loaded = load_config(str(write_config(tmp_path, f'[feed]\ntype = "http"\nurl = "{server.url}/feed"\ninterval = 5\n')))
    c = FeedCoordinator(make_adapter(loaded.config.feed, loaded.base_dir), loaded.config.feed,
                        loaded.config.board, clock=clock, rng=random.Random(0))
    c._tick()
    assert len(server.requests) == 1
    for _ in range(11):  # 55 s of 5-second ticks: the server asked for 60
        clock.advance(5)
        c._tick()
    assert len(server.requests) == 1
    server.json("/feed", doc(agent("ada", 1)))
    clock.advance(5)
    c._tick()
    assert len(server.requests) == 2 and c.state().board is not None


def test_an_adapter_bug_is_contained(tmp_path: Path, clock: FakeClock, logs: io.StringIO) -> None:
    class Exploding:
        def poll(self) -> None:
            raise ZeroDivisionError("oops")

        def close(self) -> None:
            pass

    c = FeedCoordinator(Exploding(), Config().feed, Config().board, clock=clock)
    assert not c.poll_once()
    assert c.state().last_error == "internal error: ZeroDivisionError: oops"


def test_the_scheduler_polls_in_the_background(server: FeedServer, tmp_path: Path) -> None:
    server.json("/feed", doc(agent("ada", 1), agent("bo", 2)))
    loaded = load_config(str(write_config(tmp_path, f'[feed]\ntype = "http"\nurl = "{server.url}/feed"\ninterval = 0.5\n')))
    c = FeedCoordinator(make_adapter(loaded.config.feed, loaded.base_dir), loaded.config.feed, loaded.config.board)
    c.start()
    try:
        deadline = time.monotonic() + 10
        while c.state().generation < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert c.state().board is not None
        server.json("/feed", doc(agent("ada", 5), agent("bo", 2)))
        while c.state().generation < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert c.state().board.agents[0].id == "ada"
        assert RankChanged("ada", 2, 1) in c.drain_events()
    finally:
        c.stop()


def test_the_same_body_again_from_a_feed_without_validators_is_no_new_board(tmp_path: Path, clock: FakeClock,
                                                                            server: FeedServer) -> None:
    body = json.dumps(doc(agent("ada", 5), agent("bo", 7))).encode()
    server.routes["/feed"] = Reply(200, body)  # no ETag, no Last-Modified: every poll is a full 200
    loaded = load_config(str(write_config(tmp_path, f'[feed]\ntype = "http"\nurl = "{server.url}/feed"\n')))
    c = FeedCoordinator(make_adapter(loaded.config.feed, loaded.base_dir), loaded.config.feed, loaded.config.board,
                        clock=clock)
    assert c.poll_once() and c.state().generation == 1
    clock.advance(15)
    assert c.poll_once()  # fresh, but nothing to parse, rank or diff again
    assert c.state().generation == 1 and c.state().last_success == clock.now
    server.routes["/feed"] = Reply(200, json.dumps(doc(agent("ada", 9), agent("bo", 7))).encode())
    assert c.poll_once() and c.state().generation == 2
    assert [a.id for a in c.state().board.agents] == ["ada", "bo"]
    server.routes["/feed"] = Reply(200, b"{not json")
    assert not c.poll_once()
    server.routes["/feed"] = Reply(200, json.dumps(doc(agent("ada", 9), agent("bo", 7))).encode())
    assert c.poll_once() and c.state().generation == 2  # back to the board it shows: still no new one
    assert len(server.requests) == 5


def test_an_unchanged_feed_still_gives_the_history_its_sample_every_ten_minutes(tmp_path: Path, clock: FakeClock,
                                                                               server: FeedServer) -> None:
    from feeds.game.engine import Engine
    from feeds.game.history import History
    from feeds.game.ledger import Ledger

    server.routes["/feed"] = Reply(200, json.dumps(doc(agent("ada", 5), agent("bo", 7))).encode())
    loaded = load_config(str(write_config(tmp_path, f'[feed]\ntype = "http"\nurl = "{server.url}/feed"\n'
                                                    '[board]\nrank_by = "tickets_solved"\n')))
    cfg = loaded.config
    history = History(tmp_path)
    engine = Engine(Ledger(tmp_path), cfg, history, clock=clock)
    c = FeedCoordinator(make_adapter(cfg.feed, loaded.base_dir), cfg.feed, cfg.board, clock=clock, on_snapshot=engine)
    try:
        assert c.poll_once()
        sampled = history._sampled
        clock.advance(60)
        assert c.poll_once() and history._sampled == sampled  # the same body within ten minutes: no work
        clock.advance(11 * 60)
        assert c.poll_once()  # the same body again, but the history is due its next sample
        assert history._sampled != sampled and history._sampled[1] - sampled[1] >= 10
        assert c.state().generation >= 1 and [a.id for a in c.state().board.agents] == ["bo", "ada"]
    finally:
        engine.close()
