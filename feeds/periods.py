"""Periods: day, week, month and named shifts, in the floor's time zone.

A period is named by a plain key — ``day:2026-11-23``, ``week:2026-W48``, ``month:2026-11``,
``shift:night:2026-11-23`` — so it can be stored, compared and sent anywhere. Boundaries are
computed in local wall time and only then turned into instants, so a day is 23 or 25 hours long
across a DST change, as the people on the floor live it. A shift that crosses midnight (22:00–06:00)
belongs to the date it started on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

KINDS = ("day", "week", "month")


@dataclass(frozen=True)
class Shift:
    name: str
    start: time
    end: time

    def contains(self, clock: time) -> bool:
        if self.start < self.end:
            return self.start <= clock < self.end
        return clock >= self.start or clock < self.end  # over midnight


@dataclass(frozen=True)
class Period:
    key: str
    start: datetime  # aware, in UTC
    end: datetime

    @property
    def kind(self) -> str:
        return self.key.split(":", 1)[0]


class Calendar:
    """Periods as the floor counts them: in one time zone, with its shifts."""

    def __init__(self, tz: str = "UTC", shifts: tuple[Shift, ...] = ()) -> None:
        self.zone = ZoneInfo(tz)
        self.shifts = shifts
        # The last period of each kind worked out: the periods of a kind tile time without gaps or
        # overlaps, so an instant inside it is in it (a poll asks for "today" some twenty times).
        self._last: dict[str, Period] = {}

    def _instant(self, day: date, clock: time) -> datetime:
        # fold=0: a wall time that happens twice (autumn DST) is its first occurrence
        return datetime.combine(day, clock, self.zone).astimezone(timezone.utc)

    def local(self, instant: datetime) -> datetime:
        return instant.astimezone(self.zone)

    def period(self, kind: str, instant: datetime) -> Period:
        """The period of ``kind`` (day, week, month) that contains ``instant``."""
        last = self._last.get(kind)
        if last is not None and instant.utcoffset() is not None and last.start <= instant < last.end:
            return last
        found = self._period(kind, instant)
        self._last[kind] = found
        return found

    def _period(self, kind: str, instant: datetime) -> Period:
        today = self.local(instant).date()
        if kind == "day":
            return Period(f"day:{today.isoformat()}", self._instant(today, time()),
                          self._instant(today + timedelta(days=1), time()))
        if kind == "week":
            monday = today - timedelta(days=today.weekday())
            year, week, _ = monday.isocalendar()
            return Period(f"week:{year}-W{week:02d}", self._instant(monday, time()),
                          self._instant(monday + timedelta(days=7), time()))
        if kind == "month":
            first = today.replace(day=1)
            following = (first + timedelta(days=32)).replace(day=1)
            return Period(f"month:{first:%Y-%m}", self._instant(first, time()), self._instant(following, time()))
        raise ValueError(f"unknown period kind {kind!r}")

    def shift(self, instant: datetime) -> Period | None:
        """The shift that is on at ``instant``, if any."""
        local = self.local(instant)
        for shift in self.shifts:
            if not shift.contains(local.time().replace(tzinfo=None)):
                continue
            started = local.date()
            if shift.start > shift.end and local.time().replace(tzinfo=None) < shift.end:
                started -= timedelta(days=1)  # the early-morning part of last night's shift
            end_day = started + timedelta(days=1) if shift.start > shift.end else started
            return Period(f"shift:{shift.name}:{started.isoformat()}", self._instant(started, shift.start),
                          self._instant(end_day, shift.end))
        return None

    def previous(self, period: Period) -> Period:
        """The period of the same kind just before (for a shift: the same shift the day before)."""
        if period.kind == "shift":
            _, name, day = period.key.split(":")
            shift = next(s for s in self.shifts if s.name == name)
            before = date.fromisoformat(day) - timedelta(days=1)
            return self.shift(self._instant(before, shift.start)) or period
        return self.period(period.kind, period.start - timedelta(seconds=1))


def parse_clock(text: str) -> time | None:
    try:
        hours, minutes = text.split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        return None
