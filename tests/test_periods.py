"""Periods in the floor's time zone, across DST changes and midnight shifts."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from feeds.periods import KINDS, Calendar, Shift, parse_clock

UTC = timezone.utc
SHIFTS = (Shift("day", time(7), time(15)), Shift("evening", time(15), time(23)), Shift("night", time(23), time(7)))


def test_day_week_month_keys_and_bounds_in_stockholm() -> None:
    cal = Calendar("Europe/Stockholm")
    at = datetime(2026, 11, 23, 22, 30, tzinfo=UTC)  # 23:30 in Stockholm
    day = cal.period("day", at)
    assert day.key == "day:2026-11-23"
    assert (day.start, day.end) == (datetime(2026, 11, 22, 23, 0, tzinfo=UTC), datetime(2026, 11, 23, 23, 0, tzinfo=UTC))
    assert cal.period("day", datetime(2026, 11, 23, 23, 30, tzinfo=UTC)).key == "day:2026-11-24"  # 00:30 local
    assert cal.period("week", at).key == "week:2026-W48"
    assert cal.period("month", at).key == "month:2026-11"
    assert cal.previous(day).key == "day:2026-11-22"
    assert cal.previous(cal.period("month", datetime(2026, 1, 5, tzinfo=UTC))).key == "month:2025-12"


def test_days_across_dst_are_23_and_25_hours() -> None:
    cal = Calendar("Europe/Stockholm")
    spring = cal.period("day", datetime(2026, 3, 29, 12, tzinfo=UTC))
    autumn = cal.period("day", datetime(2026, 10, 25, 12, tzinfo=UTC))
    assert (spring.end - spring.start).total_seconds() == 23 * 3600
    assert (autumn.end - autumn.start).total_seconds() == 25 * 3600
    week = cal.period("week", datetime(2026, 10, 25, 12, tzinfo=UTC))
    assert (week.end - week.start).total_seconds() == 7 * 24 * 3600 + 3600


def test_shifts_including_one_over_midnight() -> None:
    cal = Calendar("Europe/Stockholm", SHIFTS)
    assert cal.shift(datetime(2026, 11, 23, 7, 0, tzinfo=UTC)).key == "shift:day:2026-11-23"  # 08:00
    night = cal.shift(datetime(2026, 11, 24, 2, 0, tzinfo=UTC))  # 03:00 on the 24th: last night's shift
    assert night.key == "shift:night:2026-11-23"
    assert (night.start, night.end) == (datetime(2026, 11, 23, 22, 0, tzinfo=UTC), datetime(2026, 11, 24, 6, 0, tzinfo=UTC))
    evening = cal.shift(datetime(2026, 11, 23, 15, tzinfo=UTC))  # 16:00
    assert cal.previous(evening).key == "shift:evening:2026-11-22"
    assert Calendar("UTC", SHIFTS[:1]).shift(datetime(2026, 11, 23, 20, tzinfo=UTC)) is None


def test_parse_clock() -> None:
    assert parse_clock("07:30") == time(7, 30) and parse_clock("25:00") is None and parse_clock("7") is None


# Zones whose clocks change at midnight (Havana, Santiago, Beirut's history), and two plain ones.
_ZONES = ("UTC", "Europe/Stockholm", "America/Havana", "America/Santiago", "Asia/Beirut", "Australia/Lord_Howe")
_CHANGES = (datetime(2024, 3, 10), datetime(2024, 11, 3), datetime(2024, 4, 7), datetime(2024, 9, 8),
            datetime(2024, 3, 31), datetime(2024, 10, 27), datetime(2024, 1, 1))  # a day before: local midnights


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(_ZONES), st.sampled_from(_CHANGES),
       st.lists(st.tuples(st.sampled_from(KINDS), st.integers(0, 3 * 365 * 24 * 60)), min_size=1, max_size=60),
       st.booleans())
def test_the_last_period_kept_is_the_period_worked_out(zone: str, change: datetime, asks: list[tuple[str, int]],
                                                       near: bool) -> None:
    """Calendar.period keeps the last period of each kind: what it answers is what working it out
    again gives, for instants in any order, across DST changes, also those at midnight."""
    kept = Calendar(zone)
    base = change.replace(tzinfo=timezone.utc) - timedelta(days=1)
    minute = 0
    for kind, n in asks:
        minute = (minute + n % 180 - 60) if near else n  # near: mostly small steps, as polls go
        instant = base + timedelta(minutes=minute, seconds=n % 60)
        found = kept.period(kind, instant)
        assert found == Calendar(zone).period(kind, instant), (kind, instant)
        for edge in (found.end, found.start - timedelta(microseconds=1), found.start, found.end):
            assert kept.period(kind, edge) == Calendar(zone).period(kind, edge), (kind, edge)
