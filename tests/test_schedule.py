"""Office hours, holidays and the screen commands."""

from __future__ import annotations

import io
import json
from datetime import datetime, timezone
from pathlib import Path

from display.schedule import ScreenSchedule
from feeds.config import ScheduleConfig, load_config
from feeds.logs import setup_logging
from helpers import config_problems, write_config
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
