"""Announced events survive a restart (a real SQLite file); an unwritable state dir is survived."""

from __future__ import annotations

import io
import json
import sqlite3
import time
from pathlib import Path

import pytest

from feeds.logs import setup_logging
from feeds.model import FeedEvent
from feeds.connectors.parse import normalise
from feeds.db import DB_NAME, state_dir
from feeds.live.state import StoredBoard, StoredSeenEvents, _Store
from helpers import agent, doc


def events(*ids: str) -> list[FeedEvent]:
    return [FeedEvent(i, "kudos", None, {"to": "a"}) for i in ids]


def test_seen_events_survive_a_restart(tmp_path: Path) -> None:
    first = StoredSeenEvents(tmp_path)
    assert [e.id for e in first.new(events("k1", "k2"))] == ["k1", "k2"]
    first.close()
    again = StoredSeenEvents(tmp_path)  # a new process, the same file
    assert [e.id for e in again.new(events("k1", "k2", "k3"))] == ["k3"]
    db = sqlite3.connect(tmp_path / DB_NAME)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert {r[0] for r in db.execute("SELECT id FROM seen_events")} == {"k1", "k2", "k3"}


def test_the_file_keeps_only_the_newest(tmp_path: Path) -> None:
    seen = StoredSeenEvents(tmp_path, capacity=3)
    for i in range(6):
        seen.new(events(f"e{i}"))
    seen.close()
    db = sqlite3.connect(tmp_path / DB_NAME)
    assert {r[0] for r in db.execute("SELECT id FROM seen_events")} == {"e3", "e4", "e5"}
    assert StoredSeenEvents(tmp_path, capacity=3).new(events("e5", "e2")) == events("e2")


def test_a_state_dir_that_is_a_file_is_survived_with_one_clear_log_line(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    _check_unwritable(blocker)


def _check_unwritable(directory: Path) -> None:
    stream = io.StringIO()
    setup_logging("json", "info", stream)
    try:
        seen = StoredSeenEvents(directory)
        assert [e.id for e in seen.new(events("k1"))] == ["k1"]
        assert seen.new(events("k1")) == []  # still remembered, in memory
    finally:
        setup_logging("plain", "warning")
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [r["event"] for r in records] == ["state_unwritable"]
    assert records[0]["level"] == "error" and str(directory) in records[0]["message"]


def test_where_state_lives(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("STATE_DIRECTORY", "/var/lib/chalkwall")
    assert state_dir() == Path("/var/lib/chalkwall")
    assert state_dir(str(tmp_path)) == tmp_path
    monkeypatch.delenv("STATE_DIRECTORY")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert state_dir() == tmp_path / "chalkwall"


def test_when_the_disk_comes_back_what_was_kept_in_memory_is_written(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_Store, "RETRY_SECONDS", 0.0)
    directory = tmp_path / "state"
    directory.write_text("x")  # not a directory: every write fails
    stream = io.StringIO()
    setup_logging("json", "info", stream)
    try:
        seen = StoredSeenEvents(directory)
        assert [e.id for e in seen.new(events("k1"))] == ["k1"]
        assert [e.id for e in seen.new(events("k1", "k2"))] == ["k2"]  # tried again: still failing, still once
        directory.unlink()  # the admin frees the disk
        assert seen.new(events("k2", "k3")) == events("k3")
    finally:
        setup_logging("plain", "warning")
    assert [json.loads(line)["event"] for line in stream.getvalue().splitlines()] == ["state_unwritable",
                                                                                      "state_recovered"]
    seen.close()
    again = StoredSeenEvents(directory)
    assert again.new(events("k1", "k2", "k3")) == []  # nothing announced while the disk was away is lost


def test_the_last_board_is_saved_once_a_minute_and_at_a_clean_stop(tmp_path: Path) -> None:
    board = StoredBoard(tmp_path)
    assert board.load() is None
    first = normalise(doc(agent("åsa", 9), agent("олег", 7), events=[{"id": "k1", "type": "kudos", "to": "åsa"}]))
    second = normalise(doc(agent("åsa", 9), agent("олег", 12)))
    board.save(first, 1000.0)
    board.save(second, 1015.0)  # a poll 15 s later: not written yet (an SD card is not written every poll)
    assert StoredBoard(tmp_path).load() == (first, 1000.0)
    board.close()  # a clean stop writes the latest
    assert StoredBoard(tmp_path).load() == (second, 1015.0)


def test_a_restarted_coordinator_shows_the_last_board_at_once_marked_stale(tmp_path: Path) -> None:
    from feeds.connectors.demo import DemoFeed
    from feeds.config.schema import BoardConfig, FeedConfig
    from feeds.live.coordinator import FeedCoordinator

    snapshot = normalise(doc(agent("åsa", 9), agent("олег", 12)))
    stored = StoredBoard(tmp_path)
    stored.save(snapshot, 1_795_000_000.0)
    stored.close()
    restarted = FeedCoordinator(DemoFeed(), FeedConfig(type="demo"), BoardConfig(), store=StoredBoard(tmp_path),
                                clock=lambda: 1_795_000_000.0 + 3600)
    assert restarted.state().board is None  # the live feed asks for it, unless a reload hands one over
    restarted.restore()
    state = restarted.state()
    assert state.board is not None and [r.agent.name for r in state.board.agents] == ["Олег", "Åsa"]
    assert state.stale and state.last_success == 1_795_000_000.0 and restarted.drain_events() == []
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / DB_NAME).write_text("not a database")
    assert StoredBoard(broken).load() is None  # an unreadable file: as if there were none


def test_a_live_feed_keeps_announced_events_on_disk_from_the_very_first(tmp_path: Path) -> None:
    from feeds.config.schema import load_config
    from feeds.live.feed import open_live_feed
    from helpers import write_config

    (tmp_path / "feed.json").write_text(json.dumps(doc(agent("åsa", 3), events=[{"id": "k1", "type": "kudos",
                                                                                  "to": "åsa"}])))
    config = write_config(tmp_path, f'[feed]\ntype = "file"\npath = "feed.json"\n[state]\ndir = "{tmp_path / "s"}"\n')
    live = open_live_feed(load_config(str(config)))  # an empty store to start with (it was once taken for none)
    try:
        assert live.coordinator.poll_once()
        db = sqlite3.connect(tmp_path / "s" / DB_NAME)
        assert db.execute("SELECT id FROM seen_events").fetchall() == [("k1",)]
    finally:
        live.stop()


def test_points_come_back_when_the_ledger_can_be_opened_again(tmp_path: Path) -> None:
    from feeds.config.schema import load_config
    from feeds.live.feed import open_live_feed
    from helpers import write_config

    (tmp_path / "feed.json").write_text(json.dumps(doc(agent("åsa", 3), agent("li", 2),
                                                       events=[{"id": "k1", "type": "kudos", "to": "åsa", "from": "li"}])))
    state = tmp_path / "s"
    state.write_text("in the way")  # the state directory cannot be made: no ledger at start
    config = write_config(tmp_path, f'[feed]\ntype = "file"\npath = "feed.json"\n[state]\ndir = "{state}"\n'
                                    '[points]\nkudos = 5\n')
    live = open_live_feed(load_config(str(config)))
    try:
        live.coordinator.start()  # a scheduler for the retry job, as in start(); polls once at once
        live.start()
        assert live.engine is None and live.coordinator.scheduler.get_job("chalkwall-ledger-retry") is not None
        state.unlink()  # the disk is back
        live._retry_engine()  # what the job does every minute
        guard = live.coordinator.on_snapshot  # the engine, behind the guard that holds points on a wrong clock
        assert live.engine is not None and getattr(guard, "engine", None) is live.engine
        assert live.coordinator.scheduler.get_job("chalkwall-ledger-retry") is None
        assert live.coordinator.poll_once()
        db = sqlite3.connect(state / DB_NAME)
        # The scheduler's own poll may be the one that replays the document (this poll then finds
        # nothing pending and returns at once): wait for that one to commit, not only for ours.
        deadline = time.monotonic() + 5
        while not db.execute("SELECT 1 FROM awards").fetchall() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert db.execute("SELECT subject, points FROM awards").fetchall() == [("åsa", 5.0)]  # the kudos, late not lost
    finally:
        live.stop()
