"""Office hours, holidays and the screen commands."""

from __future__ import annotations

import io
import json
import os
from datetime import datetime, timezone
from pathlib import Path

from display.schedule import ScreenSchedule
from feeds.config.schema import ScheduleConfig, load_config
from feeds.logs import setup_logging
from helpers import agent, config_problems, doc, write_config
from types import MappingProxyType

UTC = timezone.utc


def schedule(hours: dict[str, str], holidays: tuple[str, ...] = (), **commands: tuple[str, ...]) -> ScreenSchedule:
    return ScreenSchedule(ScheduleConfig(MappingProxyType(hours), holidays, **commands), "Europe/Stockholm")


def test_office_hours_per_weekday_and_holidays() -> None:
    s = schedule({"mon": "07:00-18:00", "tue": "07:00-18:00", "sat": ""}, ("2026-11-24",))
    monday = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)  # 07:30 in Stockholm
    assert s.is_on(monday) and not s.is_on(datetime(2026, 11, 23, 17, 0, tzinfo=UTC))  # 18:00: off
    assert not s.is_on(datetime(2026, 11, 23, 5, 59, tzinfo=UTC))  # 06:59
    assert not s.is_on(datetime(2026, 11, 24, 9, 0, tzinfo=UTC))  # Tuesday, but a holiday
    assert not s.is_on(datetime(2026, 11, 25, 9, 0, tzinfo=UTC))  # Wednesday: not listed, so dark
    assert s.next_switch(monday) == datetime(2026, 11, 23, 17, 0, tzinfo=UTC)
    # From Monday evening the next switch on is the following Monday 07:00 (Tuesday is a holiday).
    assert s.next_switch(datetime(2026, 11, 23, 18, 0, tzinfo=UTC)) == datetime(2026, 11, 30, 6, 0, tzinfo=UTC)


def test_no_schedule_is_always_on() -> None:
    s = schedule({})
    assert s.always_on and s.is_on(datetime(2026, 11, 29, 3, 0, tzinfo=UTC)) and s.next_switch(datetime.now(UTC)) is None
    only_holidays = schedule({}, ("2026-12-24",))
    assert not only_holidays.is_on(datetime(2026, 12, 24, 12, tzinfo=UTC))
    assert only_holidays.is_on(datetime(2026, 12, 23, 12, tzinfo=UTC))


def test_commands_run_and_failures_are_survived(tmp_path: Path) -> None:
    marker = tmp_path / "tv"
    s = schedule({"mon": "07:00-18:00"}, on_command=("sh", "-c", f"echo on > {marker}"),
                 off_command=("sh", "-c", "echo nope >&2; exit 3"))
    stream = io.StringIO()
    setup_logging("json", "info", stream)
    try:
        assert s.run(True) and marker.read_text() == "on\n"
        assert s.run(False) is False
        missing = schedule({"mon": "07:00-18:00"}, off_command=("no-such-cec-ctl", "--standby"))
        assert missing.run(False) is False
    finally:
        setup_logging("plain", "warning")
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [r["event"] for r in records] == ["screen_command_failed", "screen_command_failed"]
    assert "exited 3: nope" in records[0]["message"]


def test_schedule_config_is_checked(tmp_path: Path) -> None:
    assert config_problems(tmp_path, '[schedule]\nhours = { mon = "7-18", thurs = "07:00-18:00" }\n'
                                     'holidays = ["24 Dec"]\n') == [
        'config.toml: schedule.hours.mon: must look like "07:00-18:00" (or "" for a dark day), not "7-18"',
        'config.toml: schedule.hours.thurs: unknown day (use mon, tue, wed, thu, fri, sat, sun) (did you mean "thu"?)',
        'config.toml: schedule.holidays[0]: must be a date like "2026-12-24", not "24 Dec"',
    ]
    ok = load_config(str(write_config(tmp_path, '[schedule]\nhours = { mon = "07:00-18:00" }\n')))
    assert ok.config.schedule.hours["mon"] == "07:00-18:00"


def test_burn_in_drift_is_small_slow_and_goes_everywhere() -> None:
    from display.burnin import MAX, drift

    path = [drift(minute * 60.0) for minute in range(24 * 60)]
    assert all(abs(x) <= MAX and abs(y) <= MAX for x, y in path)
    steps = [(abs(a[0] - b[0]), abs(a[1] - b[1])) for a, b in zip(path, path[1:])]
    assert max(max(s) for s in steps) <= 1  # never more than a pixel from one minute to the next
    assert sum(1 for s in steps if s != (0, 0)) < 24 * 60 // 4  # mostly still: a step every few minutes
    assert {x for x, _ in path} == set(range(-MAX, MAX + 1)) and {y for _, y in path} == set(range(-MAX, MAX + 1))


def kiosk_config(tmp_path: Path, extra: str = "") -> Path:
    return write_config(tmp_path, '[feed]\ntype = "file"\npath = "feed.json"\ninterval = 1\n'
                                  f'[state]\ndir = "{tmp_path / "state"}"\n[periods]\ntimezone = "Europe/Stockholm"\n'
                                  '[schedule]\nhours = { mon = "07:00-18:00", tue = "07:00-18:00" }\n' + extra)


def feed_with(tmp_path: Path, when: float, *ids: str) -> None:
    at = datetime.fromtimestamp(when, UTC).isoformat()
    events = [{"id": i, "type": "challenge_completed", "agent": "åsa", "challenge": f"Goal {i}", "points": 10,
               "at": at} for i in ids]
    (tmp_path / "feed.json").write_text(json.dumps(doc(agent("åsa", 9), agent("олег", 7), events=events)))


def test_banners_while_the_screen_is_dark_wait_for_a_morning_summary_and_only_that_is_logged_shown(
        tmp_path: Path) -> None:
    import pygame

    from display.app import Kiosk
    from display.clock import FakeClock
    from display.health import describe, read_status
    from display.shot import init_offscreen

    evening = datetime(2026, 11, 23, 17, 30, tzinfo=UTC).timestamp()  # Monday 18:30 in Stockholm: dark
    clock = FakeClock(wall=evening)
    feed_with(tmp_path, evening, "late")
    stream = io.StringIO()
    setup_logging("json", "info", stream)
    init_offscreen()
    kiosk = Kiosk(load_config(str(kiosk_config(tmp_path, "hold_banners_hours = 12\n"))), pygame.display.set_mode(
        (640, 360)), windowed=True, clock=clock)
    try:
        kiosk.step()
        kiosk.live.coordinator.poll_once()
        kiosk.step()
        assert kiosk.screen_on is False and kiosk.wall.celebrations.current is None  # nobody is there to see it
        clock.advance(2 * 3600)  # 20:30: the night shift completes another
        feed_with(tmp_path, clock.wall(), "late", "night")
        os.utime(tmp_path / "feed.json", (clock.wall(), clock.wall() + 1))
        kiosk.live.coordinator.poll_once()
        kiosk.step()
        assert [json.loads(line)["event"] for line in stream.getvalue().splitlines()].count("banner_shown") == 0
        status = read_status(kiosk.status.path)
        assert status["screen"] == "off" and status["held_banners"] == 2
        assert "2 celebration(s) held for when it comes on" in describe(status)
        clock.advance(10.5 * 3600)  # Tuesday 07:00: on again; "late" is now 12.5 h old, older than 12 h
        kiosk.step()
        summary = kiosk.wall.celebrations.current
        assert kiosk.screen_on and summary is not None and summary.kicker == "While you were away"
        assert summary.rows == [("Åsa", "Goal night", 10.0)] and summary.points == 10
    finally:
        kiosk.live.stop()
        setup_logging("plain", "warning")
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    shown = [r for r in records if r["event"] == "banner_shown"]
    assert [r["key"] for r in shown] == ["away:night"]  # only what really reached the screen
    assert [(r["held"], r["expired"]) for r in records if r["event"] == "banners_held"] == [(1, 1)]


def test_what_the_dark_screen_holds_is_bounded_and_survives_a_rebuild(tmp_path: Path) -> None:
    from display.celebrate import MAX_HELD
    from display.clock import FakeClock
    from display.shot import init_offscreen, make_stage
    from display.wall import Wall
    from feeds.board.build import build_board
    from feeds.config.schema import BoardConfig
    from feeds.live.coordinator import FeedState
    from feeds.board.diff import FeedEventReceived
    from feeds.model import FeedEvent
    from feeds.connectors.parse import normalise

    init_offscreen()
    loaded = load_config(str(write_config(tmp_path, "")))
    clock = FakeClock()
    wall = Wall(make_stage(loaded, (1280, 720), clock))
    board = build_board(normalise(doc(agent("åsa", 9), agent("bo", 7))), BoardConfig())
    wall.celebrations.hold()
    events = [FeedEventReceived(FeedEvent(f"c{n}", "challenge_completed", None,
                                          {"agent": "bo", "challenge": f"Goal {n}", "points": 1}))
              for n in range(MAX_HELD + 50)]
    wall.update(FeedState(board, 1.0, None, 0, False, 1), events)
    assert len(wall.celebrations.held) == MAX_HELD and wall.celebrations.current is None
    fresh = Wall(make_stage(loaded, (1080, 1920), clock))  # a reload or a new size while dark
    fresh.adopt(wall)
    assert fresh.celebrations.dark and len(fresh.celebrations.held) == MAX_HELD
    assert fresh.celebrations.welcome_back(3600) == (MAX_HELD, 0)
    fresh.update(fresh.state)
    summary = fresh.celebrations.current
    assert summary is not None and summary.title == f"{MAX_HELD} challenges completed"
    assert summary.rows[0] == ("Bo", "Goal 50", 1.0)  # the oldest went first


def test_the_morning_summary_in_partial_frames_is_the_same_picture_as_a_full_redraw(tmp_path: Path) -> None:
    import pygame

    from display.clock import FakeClock
    from display.shot import init_offscreen, make_stage
    from display.wall import Wall
    from feeds.board.build import build_board
    from feeds.config.schema import BoardConfig
    from feeds.live.coordinator import FeedState
    from feeds.board.diff import FeedEventReceived
    from feeds.model import FeedEvent
    from feeds.connectors.parse import normalise

    init_offscreen()
    for size in ((1280, 720), (720, 1280)):
        clock = FakeClock()
        wall = Wall(make_stage(load_config(str(write_config(tmp_path, ""))), size, clock))
        st = FeedState(build_board(normalise(doc(agent("åsa", 9), agent("олег", 7))), BoardConfig()),
                       1.0, None, 0, False, 1)
        screen, reference = pygame.Surface(size), pygame.Surface(size)
        wall.update(st)
        wall.frame(screen)
        wall.celebrations.hold()
        wall.update(st, [FeedEventReceived(FeedEvent(f"c{n}", "challenge_completed", None,
                                                     {"agent": "олег", "challenge": f"Goal {n}", "points": 5}))
                         for n in range(9)])
        clock.advance(3600)
        wall.celebrations.welcome_back(7200)
        for n in range(240):
            clock.advance(1 / 60)
            wall.update(st)
            wall.frame(screen)
            if n % 30 == 29:
                wall.invalidate()
                wall.frame(reference)
                assert pygame.image.tobytes(screen, "RGB") == pygame.image.tobytes(reference, "RGB"), (size, n)
        summary = wall.celebrations.current
        assert summary is not None and summary.kind == "away" and summary.points == 45


def test_the_summary_lists_thanks_from_an_unknown_sender_as_from_a_colleague(tmp_path: Path) -> None:
    from display.clock import FakeClock
    from display.shot import init_offscreen, make_stage
    from display.wall import Wall
    from feeds.board.build import build_board
    from feeds.config.schema import BoardConfig
    from feeds.live.coordinator import FeedState
    from feeds.board.diff import FeedEventReceived
    from feeds.model import FeedEvent
    from feeds.connectors.parse import normalise

    init_offscreen()
    wall = Wall(make_stage(load_config(str(write_config(tmp_path, ""))), (1280, 720), FakeClock()))
    st = FeedState(build_board(normalise(doc(agent("åsa", 9), agent("bo", 7))), BoardConfig()), 1.0, None, 0, False, 1)
    wall.celebrations.hold()
    wall.update(st, [FeedEventReceived(FeedEvent("k1", "kudos", None, {"to": "åsa", "text": "Tack!"})),
                     FeedEventReceived(FeedEvent("k2", "kudos", None, {"from": "bo", "to": "åsa"}))])
    assert wall.celebrations.welcome_back(3600) == (2, 0)
    wall.update(st)
    summary = wall.celebrations.current
    assert summary is not None and summary.title == "2 thank-yous" and summary.points == 0
    assert summary.rows == [("Åsa", "thanked by a colleague: “Tack!”", 0.0), ("Åsa", "thanked by Bo", 0.0)]
