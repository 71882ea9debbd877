"""The screen schedule: office hours per weekday and holidays, in the floor's time zone.

Outside office hours the wall goes dark and the process all but stops (it wakes once a second
for systemd's watchdog and window events); the screen comes back on by itself in the morning.
Optional commands run at each switch — ``cec-ctl`` to put a TV into standby, ``wlopm`` to power a
display down — and a command that fails or hangs is logged and survived, never fatal.
"""

from __future__ import annotations

import logging
import subprocess
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from feeds.config.schema import WEEKDAYS, ScheduleConfig
from feeds.logs import LOGGER, log_event
from feeds.periods import parse_clock

log = logging.getLogger(f"{LOGGER}.schedule")
COMMAND_TIMEOUT = 15.0


class ScreenSchedule:
    def __init__(self, config: ScheduleConfig, zone: str) -> None:
        self.config = config
        self.zone = ZoneInfo(zone)
        self.holidays = {date.fromisoformat(d) for d in config.holidays}
        self.hours: dict[int, tuple[time, time] | None] = {}
        for i, day in enumerate(WEEKDAYS):
            text = config.hours.get(day)
            if text is None and config.hours:
                self.hours[i] = None  # a day not listed, when others are: dark
            elif text:
                start, _, end = text.partition("-")
                self.hours[i] = (parse_clock(start.strip()), parse_clock(end.strip()))  # type: ignore[assignment]
            elif text == "":
                self.hours[i] = None

    @property
    def always_on(self) -> bool:
        return not self.config.hours and not self.holidays

    def is_on(self, when: datetime) -> bool:
        if self.always_on:
            return True
        local = when.astimezone(self.zone)
        if local.date() in self.holidays:
            return False
        hours = self.hours.get(local.weekday())
        if not hours:
            return not self.config.hours  # only holidays configured: on every other day
        return hours[0] <= local.time().replace(tzinfo=None) < hours[1]

    def next_switch(self, when: datetime) -> datetime | None:
        """When ``is_on`` next changes (to the minute), or None when it never does."""
        if self.always_on:
            return None
        now = self.is_on(when)
        probe = when.replace(second=0, microsecond=0) + timedelta(minutes=1)
        for _ in range(60 * 24 * 15):  # at most two weeks of minutes: a schedule repeats weekly
            if self.is_on(probe) != now:
                return probe
            probe += timedelta(minutes=1)
        return None

    def run(self, on: bool) -> bool:
        """The on or off command, if there is one; False (logged) when it failed."""
        command = self.config.on_command if on else self.config.off_command
        if not command:
            return True
        try:
            result = subprocess.run(list(command), capture_output=True, text=True, timeout=COMMAND_TIMEOUT)
        except (OSError, subprocess.TimeoutExpired) as exc:
            log_event(log, logging.ERROR, "screen_command_failed", f"screen {'on' if on else 'off'} command "
                      f"{command[0]} failed: {exc}", command=list(command), error=str(exc))
            return False
        if result.returncode != 0:
            log_event(log, logging.ERROR, "screen_command_failed", f"screen {'on' if on else 'off'} command "
                      f"{command[0]} exited {result.returncode}: {result.stderr.strip()[:200]}",
                      command=list(command), returncode=result.returncode)
            return False
        return True
