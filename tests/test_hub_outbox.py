"""The hub's outbox and a screen's cursor, on real SQLite files: numbers per stream, once per event,
atomic with the caller's writes; every number shown once, in order, across restarts and resends."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from feeds.db import connect
from feeds.bus.cursor import Arrival, Cursor, Inbox
from feeds.publish.outbox import Outbox, enqueue, ensure_schema


def test_numbers_count_per_stream_and_an_event_is_numbered_once(tmp_path: Path) -> None:
    box = Outbox(tmp_path)
    assert box.add("team/night", "e1", "{}", now=100, ttl=900) == 1
    assert box.add("team/night", "e1", "{}", now=101, ttl=900) is None  # offered again by the next poll
    assert box.add("team/night", "e2", "{}", now=102, ttl=900) == 2
    assert box.add("site", "e1", "{}", now=102, ttl=900) == 1  # the same award on the site stream
    assert [(e.stream, e.seq) for e in box.unpublished()] == [("team/night", 1), ("team/night", 2), ("site", 1)]
    box.mark_published("team/night", 1)
    assert [(e.stream, e.seq) for e in box.unpublished()] == [("team/night", 2), ("site", 1)]


def test_an_event_and_the_callers_write_commit_together_or_not_at_all(tmp_path: Path) -> None:
    db = connect(tmp_path, autocommit=True)
    ensure_schema(db)
    db.execute("CREATE TABLE awards (id TEXT PRIMARY KEY)")
    db.execute("BEGIN IMMEDIATE")
    db.execute("INSERT INTO awards VALUES ('a1')")
    enqueue(db, "team/night", "a1", "{}", now=1, ttl=60)
    db.execute("ROLLBACK")  # the process died before the commit
    assert Outbox(tmp_path).unpublished() == []
    assert db.execute("SELECT COUNT(*) FROM awards").fetchone()[0] == 0


def test_the_epoch_survives_a_restart_and_a_new_database_gets_a_new_one(tmp_path: Path) -> None:
    first = Outbox(tmp_path / "a").epoch
    assert Outbox(tmp_path / "a").epoch == first
    assert Outbox(tmp_path / "b").epoch != first


def test_recent_ring_holds_the_last_unexpired_and_pruning_keeps_the_numbering(tmp_path: Path) -> None:
    box = Outbox(tmp_path)
    for i in range(1, 61):
        box.add("site", f"e{i}", f'{{"n":{i}}}', now=float(i), ttl=100)
    ring = box.recent("site", now=50, limit=50)
    assert [e.seq for e in ring] == list(range(11, 61))
    assert [e.seq for e in box.recent("site", now=150)] == list(range(51, 61))  # e1..e50 expired at 101..150
    for entry in box.unpublished(limit=100):
        box.mark_published(entry.stream, entry.seq)
    assert box.prune(now=1000, keep=5, remember=20) == 40  # e1..e40 forgotten, e41..e55 remembered by id
    assert [e.seq for e in box.recent("site", now=0, limit=100)] == list(range(41, 61))
    assert [e.payload for e in box.recent("site", now=0, limit=100)][-6:] == ["", *(f'{{"n":{i}}}' for i in range(56, 61))]
    assert box.add("site", "e45", "{}", now=1000, ttl=100) is None  # a feed that still lists it: not again
    assert box.add("site", "e61", "{}", now=1000, ttl=100) == 61


def test_an_event_the_feed_lists_for_hours_is_announced_once_whatever_came_after(tmp_path: Path) -> None:
    box = Outbox(tmp_path)
    assert box.add("team/night", "kudos-old", "{}", now=0, ttl=900) == 1
    for i in range(200):  # a busy day: far more than the ring after it
        box.add("team/night", f"e{i}", "{}", now=float(i), ttl=900)
    for entry in box.unpublished(limit=1000):
        box.mark_published(entry.stream, entry.seq)
    box.prune(now=10_000)
    assert box.add("team/night", "kudos-old", "{}", now=10_001, ttl=900) is None


def arrival(seq: int, epoch: str = "ep1", expires: float = 1e12, stream: str = "team/night") -> Arrival:
    return Arrival(stream, epoch, seq, f'{{"seq":{seq}}}', expires)


def test_each_number_is_shown_once_in_order_whatever_the_arrival(tmp_path: Path) -> None:
    inbox = Inbox(Cursor(tmp_path))
    for seq in (2, 1, 2, 3, 1):
        inbox.offer(arrival(seq), now=0)
    assert [a.seq for a in inbox.ready(now=0, wall_time=0)] == [1, 2, 3]
    inbox.offer(arrival(3), now=1)
    assert inbox.ready(now=1, wall_time=0) == [] and inbox.duplicates == 3


def test_a_restarted_screen_does_not_show_what_it_showed_before(tmp_path: Path) -> None:
    inbox = Inbox(Cursor(tmp_path))
    for seq in (1, 2):
        inbox.offer(arrival(seq), now=0)
    assert len(inbox.ready(now=0, wall_time=0)) == 2
    again = Inbox(Cursor(tmp_path))  # kill -9, start again; the ring brings 1..3
    for seq in (1, 2, 3):
        again.offer(arrival(seq), now=10)
    assert [a.seq for a in again.ready(now=10, wall_time=0)] == [3]


def test_a_gap_waits_for_the_ring_then_goes_on_and_says_so(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    inbox = Inbox(Cursor(tmp_path), hold=3)
    inbox.offer(arrival(1), now=0)
    inbox.offer(arrival(4), now=0)
    assert [a.seq for a in inbox.ready(now=1, wall_time=0)] == [1]
    inbox.offer(arrival(2), now=2)  # the ring brought 2; 3 is lost for good
    assert [a.seq for a in inbox.ready(now=2, wall_time=0)] == [2]
    assert inbox.ready(now=2.5, wall_time=0) == []
    assert [a.seq for a in inbox.ready(now=3.5, wall_time=0)] == [4]
    assert inbox.missed == 1 and "never arrived (numbers 3 to 3)" in caplog.text


def test_expired_events_are_skipped_and_a_new_epoch_starts_over(tmp_path: Path) -> None:
    inbox = Inbox(Cursor(tmp_path))
    inbox.offer(arrival(1, expires=50), now=0)
    inbox.offer(arrival(2, expires=500), now=0)
    assert [a.seq for a in inbox.ready(now=0, wall_time=100)] == [2] and inbox.expired == 1
    inbox.offer(arrival(1, epoch="ep2"), now=1)
    assert [(a.epoch, a.seq) for a in inbox.ready(now=1, wall_time=100)] == [("ep2", 1)]
    assert Cursor(tmp_path).get("team/night") == ("ep2", 1)


def test_the_cursor_is_on_disk_before_the_event_is_handed_on(tmp_path: Path) -> None:
    inbox = Inbox(Cursor(tmp_path))
    inbox.offer(arrival(1), now=0)
    shown = inbox.ready(now=0, wall_time=0)
    other = sqlite3.connect(tmp_path / "chalkwall.sqlite3")  # another process reading the file
    assert shown and other.execute("SELECT seq FROM screen_cursor").fetchone() == (1,)
