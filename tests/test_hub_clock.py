"""Clock jumps of hours (a Raspberry Pi boots with a wrong clock until NTP syncs), on the hub's engine
and on a screen. The engine (a real ledger on SQLite) with its clock jumping forward and back pays each
award once and in its own period; after a reboot on a clock behind the last run it holds all points
until the clock is right (ClockGuard), losing nothing; a screen whose clock is hours off the hub's
still shows a fresh celebration and skips a stale one (it compares the hub's ``expires_at`` with the
hub's time as it estimates it from the hub's status, not with its own clock); a wall's animation runs
on the monotonic clock whatever the wall clock does."""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from feeds.board.diff import FeedEventReceived
from feeds.config.schema import load_config
from feeds.connectors.base import Context
from feeds.connectors.hub import HubFeed, HubFeedOptions
from feeds.game.engine import Engine
from feeds.game.history import History
from feeds.game.ledger import Ledger
from feeds.live.clockguard import ClockGuard
from helpers import write_config
from tests.mosquitto import Broker, Client, free_port, needs_mosquitto
from tests.test_challenges import CHALLENGES, floor
from tests.test_hub_e2e import wait_for

DAY1 = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)  # 10:00 in Stockholm
HOUR = 3600.0


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at.timestamp()

    def __call__(self) -> float:
        return self.at

    def jump(self, hours: float) -> None:
        self.at += hours * HOUR


def guarded(tmp_path: Path, clock: Clock, synced: bool = False) -> tuple[ClockGuard, Engine]:
    config = load_config(str(write_config(tmp_path, CHALLENGES))).config
    engine = Engine(Ledger(tmp_path / "state"), config, History(tmp_path / "state"), clock=clock)
    return ClockGuard(engine, tmp_path / "state", clock=clock, synced=lambda: synced), engine


def awards(tmp_path: Path) -> list[tuple[str, str]]:
    import sqlite3

    with sqlite3.connect(tmp_path / "state" / "chalkwall.sqlite3") as db:
        return sorted((f"{r[0]}:{r[1]}", r[2]) for r in db.execute("SELECT challenge, subject, period FROM awards")) if any(
            True for _ in db.execute("SELECT name FROM sqlite_master WHERE name = 'awards'")) else []


def test_jumps_forward_and_back_pay_each_award_once_in_its_own_day(tmp_path: Path, caplog) -> None:
    clock = Clock(DAY1)
    guard, engine = guarded(tmp_path, clock)
    guard(floor(10, 5, 1))  # ann (a rookie) meets 10 on day 1
    first = awards(tmp_path)
    assert [a for a in first if "solve" in a[0]] and all("2026-11-23" in p for _, p in first), first
    for hours in (5, -8, 3, -2):  # NTP steps within the day, either way
        clock.jump(hours)
        guard(floor(10, 5, 1))
    assert awards(tmp_path) == first  # nothing paid twice
    clock.jump(26)  # the next day (one rollover), 10 again on the next day's counters
    out = guard(floor(10, 5, 1))
    second = awards(tmp_path)
    assert len([a for a in second if "solve" in a[0]]) == 2 and out.game is not None
    clock.jump(-24)  # back to day 1 (2 h behind the furthest time, within a running process)
    guard(floor(12, 5, 1))
    clock.jump(24)
    guard(floor(12, 5, 1))
    assert len([a for a in awards(tmp_path) if "solve" in a[0]]) == 2  # day 2 did not roll over a second time
    engine.close()


def test_a_reboot_on_a_clock_behind_the_last_run_holds_points_until_it_is_right(tmp_path: Path, caplog) -> None:
    caplog.set_level(logging.INFO)
    clock = Clock(DAY1)
    guard, engine = guarded(tmp_path, clock)
    guard(floor(1, 1, 1))  # the last run, at 10:00 on day 1
    engine.close()
    clock.jump(-14)  # a reboot: the clock says 20:00 the day before, NTP not yet synced
    guard, engine = guarded(tmp_path, clock)
    out = guard(floor(10, 5, 1))
    assert out.events == () and not awards(tmp_path) and guard.pending()  # held: nothing paid on the wrong day
    assert sum("is not synchronised" in r.getMessage() for r in caplog.records) == 1
    guard(floor(10, 5, 1))
    assert sum("is not synchronised" in r.getMessage() for r in caplog.records) == 1  # said once
    clock.jump(14.5)  # NTP: 10:30 on day 1
    guard(floor(10, 5, 1))
    assert [p for i, p in awards(tmp_path) if "solve" in i] == ["day:2026-11-23"]  # awarded once, on the right day
    assert "points and awards again" in caplog.text
    engine.close()


def test_a_clock_set_back_on_purpose_is_believed_once_ntp_has_synced(tmp_path: Path) -> None:
    clock = Clock(DAY1)
    guard, engine = guarded(tmp_path, clock)
    guard(floor(1, 1, 1))
    engine.close()
    clock.jump(-30)
    guard, engine = guarded(tmp_path, clock, synced=True)
    guard(floor(10, 5, 1))
    assert [p for i, p in awards(tmp_path) if "solve" in i] == ["day:2026-11-22"]
    engine.close()


def test_a_walls_animation_runs_on_the_monotonic_clock_when_the_wall_clock_jumps(tmp_path: Path) -> None:
    import os

    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    from display.anim import Tween
    from display.clock import FakeClock

    clock = FakeClock()
    tween = Tween(clock, 0.0)
    tween.to(1.0, 1.0)
    clock.advance(0.5)
    halfway = tween.value()
    clock._wall -= 5 * HOUR  # NTP sets the wall clock back by hours: the monotonic clock goes on
    clock.advance(0.6)
    assert 0 < halfway < 1 and tween.value() == 1.0


@needs_mosquitto
@pytest.mark.parametrize("hours_off", [+5, -5])
def test_a_screen_hours_off_the_hubs_clock_shows_fresh_celebrations_and_skips_stale_ones(
        hours_off: int, tmp_path: Path) -> None:
    port = free_port()
    (tmp_path / "broker").mkdir()
    broker = Broker(tmp_path / "broker", f"listener {port} 127.0.0.1\nallow_anonymous true\n", [port]).start()
    hub = Client("hub")  # plays the hub, on the right clock
    config = load_config(str(write_config(tmp_path, f'[feed]\ntype = "hub"\nbroker = "mqtt://127.0.0.1:{port}"\n'
                                                    'site = "acme"\nscreen = "floor-1"\n'))).config
    screen_clock = lambda: time.time() + hours_off * HOUR  # noqa: E731 — the screen's Pi has not synced yet
    feed = HubFeed(HubFeedOptions(f"mqtt://127.0.0.1:{port}", "acme", "floor-1"), config.feed,
                   Context(tmp_path, clock=screen_clock, state_dir=tmp_path / "screen"), ("night",))
    try:
        assert hub.connect(port) == 0
        now = time.time()
        hub.publish("chalkwall/acme/hub/status", json.dumps({"v": 1, "kind": "hub_status", "state": "online",
                                                              "at": now}), retain=True)
        hub.publish("chalkwall/acme/board/team/night", json.dumps(
            {"v": 1, "kind": "board", "rev": 1, "observed_at": now, "version": 1, "teams": [{"id": "night", "name": "N"}],
             "agents": [{"id": "asa", "name": "Åsa Ödegård", "team": "night", "metrics": {"tickets_solved": 3}}]}),
            retain=True)
        feed.poll()
        assert wait_for(lambda: feed.link.status().connected and feed.hub_clock.offset is not None, timeout=5)
        assert feed.hub_clock.offset == pytest.approx(-hours_off * HOUR, abs=5)
        for seq, (event_id, expires) in enumerate([("stale", now - 60), ("fresh", now + 900)], start=1):
            hub.publish("chalkwall/acme/events/team/night", json.dumps(
                {"v": 1, "kind": "event", "stream": "team/night", "epoch": "e1", "seq": seq, "created_at": now - 100,
                 "expires_at": expires, "event": {"id": event_id, "type": "kudos", "to": "asa", "text": "Tack"}}))
        shown: list[str] = []
        assert wait_for(lambda: shown.extend(e.id for e in (feed.poll() or type("S", (), {"events": ()})).events)
                        or "fresh" in shown, timeout=5), shown
        assert shown == ["fresh"] and feed.inbox.expired == 1
        status = feed.bus_status()
        assert abs(status["clock_offset_s"] + hours_off * HOUR) < 5 and abs(status["lag_s"]) < 5  # on the hub's clock
    finally:
        hub.close()
        feed.close()
        broker.stop()


def test_a_coordinator_whose_clock_goes_back_hours_still_retries_and_still_marks_stale(server, tmp_path: Path) -> None:
    """A real HTTP feed that fails, on a wall clock set back by 5 h mid-failure: the next try is not
    postponed by 5 h, and the board is marked stale after stale_after on the monotonic clock."""
    import random

    from feeds.connectors.registry import make_adapter
    from feeds.live.coordinator import FeedCoordinator
    from helpers import FakeClock, Reply, agent, doc

    if True:  # (the conftest's real HTTP server)
        server.json("/feed", doc(agent("ada", 1)))
        loaded = load_config(str(write_config(tmp_path, f'[feed]\ntype = "http"\nurl = "{server.url}/feed"\n'
                                                        'interval = 5\nstale_after = 20\n')))
        wall, mono = FakeClock(DAY1.timestamp()), FakeClock(1000.0)
        c = FeedCoordinator(make_adapter(loaded.config.feed, loaded.base_dir), loaded.config.feed,
                            loaded.config.board, clock=wall, rng=random.Random(0), monotonic=mono)
        c._tick()
        assert c.state().board is not None and not c.state().stale
        server.routes["/feed"] = Reply(503, b"")
        wall.advance(5)
        mono.advance(5)
        c._tick()  # fails: a back-off of a few seconds
        asked = len(server.requests)
        wall.advance(-5 * HOUR)  # NTP sets the clock back by 5 h
        mono.advance(30)
        c._tick()
        assert len(server.requests) == asked + 1  # tried again now, not in 5 h
        assert c.state().stale  # 35 s without a good poll on the monotonic clock
        server.json("/feed", doc(agent("ada", 2)))
        mono.advance(60)  # past the back-off, on the clock as it now is
        wall.advance(60)
        c._tick()
        assert not c.state().stale and c.state().last_error is None
