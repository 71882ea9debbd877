"""History writes the live periods' totals at most every FLUSH_EVERY seconds (an SD card and a
hub's poll both pay for every write), yet nothing ever reads a stale value: what another
connection sees lags by at most that, and this process's own reads, a new period and close write
what is pending first. A real SQLite file, read back through a second connection."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

from feeds.db import DB_NAME
from feeds.game.history import History

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=timezone.utc)


def on_disk(directory: Path) -> dict[tuple[str, str], float]:
    with sqlite3.connect(directory / DB_NAME) as db:
        return {(p, s): v for p, s, v in db.execute("SELECT period, subject, value FROM totals")}


def test_changes_reach_the_file_at_most_every_few_seconds_and_at_once_when_read(tmp_path: Path) -> None:
    history = History(tmp_path, flush_every=5.0)
    assert history.record("2026-12-02", [("agent", "asa", "tickets", 1.0)], T0) == 1
    assert on_disk(tmp_path) == {("2026-12-02", "asa"): 1.0}  # a period's first values: at once
    history.record("2026-12-02", [("agent", "asa", "tickets", 2.0)], T0 + timedelta(seconds=2))
    history.record("2026-12-02", [("agent", "asa", "tickets", 3.0)], T0 + timedelta(seconds=4))
    assert on_disk(tmp_path) == {("2026-12-02", "asa"): 1.0}  # noted, not written yet
    assert history.record("2026-12-02", [("agent", "asa", "tickets", 3.0)], T0 + timedelta(seconds=5)) == 0
    assert on_disk(tmp_path) == {("2026-12-02", "asa"): 3.0}  # due: the latest value, once
    history.record("2026-12-02", [("agent", "asa", "tickets", 4.0)], T0 + timedelta(seconds=6))
    assert history.values("2026-12-02", "agent", "tickets") == {"asa": 4.0}  # its own read: never stale
    assert on_disk(tmp_path) == {("2026-12-02", "asa"): 4.0}


def test_a_new_period_a_clock_going_back_and_close_write_what_is_pending(tmp_path: Path) -> None:
    history = History(tmp_path, flush_every=5.0)
    history.record("2026-12-02", [("agent", "asa", "tickets", 1.0)], T0)
    history.record("2026-12-02", [("agent", "asa", "tickets", 9.0)], T0 + timedelta(seconds=1))
    history.record("2026-12-03", [("agent", "asa", "tickets", 1.0)], T0 + timedelta(seconds=2))
    assert on_disk(tmp_path) == {("2026-12-02", "asa"): 9.0, ("2026-12-03", "asa"): 1.0}  # yesterday's final
    history.record("2026-12-03", [("agent", "asa", "tickets", 2.0)], T0 + timedelta(seconds=3))
    history.record("2026-12-03", [("agent", "asa", "tickets", 3.0)], T0 - timedelta(hours=3))  # NTP stepped back
    assert on_disk(tmp_path)[("2026-12-03", "asa")] == 3.0
    history.record("2026-12-03", [("agent", "asa", "tickets", 4.0)], T0 - timedelta(hours=3) + timedelta(seconds=1))
    history.close()
    assert on_disk(tmp_path)[("2026-12-03", "asa")] == 4.0


def test_a_failed_write_is_kept_and_written_by_the_next_flush(tmp_path: Path) -> None:
    history = History(tmp_path, flush_every=5.0)
    history.record("2026-12-02", [("agent", "asa", "tickets", 1.0)], T0)
    history.record("2026-12-02", [("agent", "asa", "tickets", 2.0)], T0 + timedelta(seconds=1))
    blocker = sqlite3.connect(tmp_path / DB_NAME, timeout=0)
    blocker.execute("BEGIN EXCLUSIVE")  # another process holds the file
    history._db.execute("PRAGMA busy_timeout = 0")
    try:
        history.record("2026-12-02", [("agent", "asa", "tickets", 3.0)], T0 + timedelta(seconds=6))
    except sqlite3.OperationalError:
        pass
    else:
        raise AssertionError("the write should have failed while the file was locked")
    blocker.rollback()
    blocker.close()
    history.flush()
    assert on_disk(tmp_path) == {("2026-12-02", "asa"): 3.0}


def test_a_quiet_feed_still_gets_its_last_changes_written(tmp_path: Path) -> None:
    """The engine asks for the last snapshot again once the write is due (Engine.pending), so the
    day's last changes do not wait in memory for the next change of the feed."""
    from tests.test_challenges import engine as make_engine  # the default challenges on real files
    from feeds.model import Agent, Snapshot
    from types import MappingProxyType

    clock = [T0.timestamp()]
    eng = make_engine(tmp_path)
    eng.clock = lambda: clock[0]
    eng.history.flush_every = 5.0
    floor = lambda n: Snapshot((Agent("asa", "Åsa", "night", metrics=MappingProxyType({"tickets_solved": n})),))
    eng.process(floor(1.0), datetime.fromtimestamp(clock[0], timezone.utc))
    clock[0] += 1
    eng.process(floor(2.0), datetime.fromtimestamp(clock[0], timezone.utc))
    assert not eng.pending()  # noted a second ago: not due
    clock[0] += 5
    assert eng.pending()  # due: the coordinator offers the same snapshot again
    eng.process(floor(2.0), datetime.fromtimestamp(clock[0], timezone.utc))
    assert not eng.pending()
    with sqlite3.connect(tmp_path / "state" / DB_NAME) as db:
        assert db.execute("SELECT value FROM totals WHERE subject = 'asa' AND subject_kind = 'agent' AND "
                          "metric = 'tickets_solved'").fetchone() == (2.0,)
