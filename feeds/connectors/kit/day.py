"""The business day: local midnight to local midnight in the ``[periods]`` time zone, as epoch
seconds (a DST day is 23 or 25 hours long), and the UTC forms vendors want on the wire."""

from __future__ import annotations

import math
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo


class BusinessDay:
    def __init__(self, tz: str = "") -> None:
        from feeds.config.game import local_zone_name  # the machine's zone by name: its DST rules too

        self.zone = ZoneInfo(tz or local_zone_name())

    def day_of(self, now: float) -> date:
        return datetime.fromtimestamp(now, self.zone).date()

    def key(self, now: float) -> str:
        """The day's name, e.g. "2026-11-24": a tally belongs to one day."""
        return self.day_of(now).isoformat()

    def window(self, now: float) -> tuple[float, float]:
        """[local midnight, next local midnight) of the day ``now`` falls in, in epoch seconds."""
        day = self.day_of(now)
        start = datetime.combine(day, time(0), self.zone).timestamp()
        end = datetime.combine(day + timedelta(days=1), time(0), self.zone).timestamp()
        return start, end


def utc_iso(epoch: float) -> str:
    """2026-11-24T05:00:00Z: whole seconds, UTC, as the vendors' APIs read times."""
    return datetime.fromtimestamp(int(epoch), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: object) -> float | None:
    """Epoch seconds from a vendor's time: ISO-8601 (Z or an offset) or epoch seconds; None if absent
    or unreadable (a field the vendor left empty must not become 1970)."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)).timestamp()
    return None
