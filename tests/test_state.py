"""Announced events survive a restart (a real SQLite file); an unwritable state dir is survived."""

from __future__ import annotations

import io
import json
import sqlite3
from pathlib import Path

import pytest

from feeds.logs import setup_logging
from feeds.model import FeedEvent
from feeds.state import DB_NAME, StoredSeenEvents, state_dir


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
