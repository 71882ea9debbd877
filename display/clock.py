"""The one clock every animation reads. Tests inject a FakeClock and move time themselves.

``now()`` is monotonic seconds for animation (never jumps when NTP corrects the wall clock);
``wall()`` is seconds since the epoch, for the header's clock and "data from 10:42".
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float: ...

    def wall(self) -> float: ...


class SystemClock:
    def now(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return time.time()


class FakeClock:
    """A clock that moves only when told to: ``advance(seconds)``."""

    def __init__(self, wall: float = 1_795_000_000.0) -> None:
        self._now = 1000.0
        self._wall = wall

    def now(self) -> float:
        return self._now

    def wall(self) -> float:
        return self._wall

    def advance(self, seconds: float) -> None:
        self._now += seconds
        self._wall += seconds
