"""No points on a clock that is plainly wrong: a Raspberry Pi before NTP has synchronised.

A Pi has no real-time clock. It boots at the time it last shut down (fake-hwclock) or in 1970, and
runs on that until NTP sets it — often a minute, sometimes much longer without network. An engine
run on that clock would award today's targets to a day long gone ("an award on the wrong day"),
and then again when the clock is right. :class:`ClockGuard` stands between the coordinator and the
engine: while the wall clock is behind the furthest time this state directory has seen (kept on
disk, so a reboot remembers it) *and* the kernel says the clock is not synchronised, it holds — no
points, no awards, the feed's own events not yet taken (they are offered again, so nothing is lost)
— and logs one line. It lets go when the clock catches up, when the kernel says NTP has synchronised
it (a clock set back on purpose is then believed), or after ``MAX_HOLD`` seconds whatever happens.

Jumps while running are NTP's corrections, and need no guard: award ids carry their period, so the
ledger pays each once whichever way the clock goes; a day rolls over when the calendar says so.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import json
import logging
import os
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from feeds.game.engine import EngineOutput
from feeds.logs import LOGGER
from feeds.model import Snapshot

log = logging.getLogger(f"{LOGGER}.clock")
FILE = "clock.json"
TOLERANCE = 300.0  # seconds behind the furthest time seen that still count as right (a small NTP step)
MAX_HOLD = 6 * 3600.0  # monotonic seconds after which a held engine runs on whatever the clock says
SAVE_EVERY = 60.0
TIME_ERROR = 5  # ntp_adjtime(3): "the clock is not synchronised"


def kernel_synced() -> bool:
    """Whether the kernel says NTP has synchronised the clock (False when it cannot tell)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        state = libc.ntp_adjtime(ctypes.create_string_buffer(512))  # a struct timex, read only (modes 0)
    except (OSError, AttributeError):
        return False
    return bool(state >= 0 and state != TIME_ERROR)


class ClockGuard:
    """The coordinator's ``on_snapshot``: the engine's, held while the clock is plainly wrong."""

    def __init__(self, engine: Callable[[Snapshot], EngineOutput], directory: Path | None,
                 clock: Callable[[], float] = time.time, synced: Callable[[], bool] = kernel_synced,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.engine, self.clock, self.synced, self.monotonic = engine, clock, synced, monotonic
        self.path = directory / FILE if directory is not None else None
        self.furthest = self._load()
        self._saved_at = -1e18
        self._held_since: float | None = None

    def _load(self) -> float:
        try:
            value = json.loads(self.path.read_text())["furthest"] if self.path is not None else 0.0
            return float(value) if isinstance(value, (int, float)) else 0.0
        except (OSError, ValueError, KeyError, TypeError):
            return 0.0

    def _save(self, now: float) -> None:
        if self.path is None or self.monotonic() - self._saved_at < SAVE_EVERY:
            return
        self._saved_at = self.monotonic()
        tmp = self.path.with_name(f".{FILE}.tmp")
        try:
            tmp.write_text(json.dumps({"furthest": now}))
            os.replace(tmp, self.path)
        except OSError:
            pass  # a full disk: the guard forgets, the wall goes on

    def holding(self) -> bool:
        now = self.clock()
        if now >= self.furthest - TOLERANCE:
            return self._release(now, "the clock has caught up")
        if self.synced():
            return self._release(now, "NTP has synchronised the clock")
        started = self._held_since
        if started is not None and self.monotonic() - started > MAX_HOLD:
            return self._release(now, f"{MAX_HOLD / 3600:.0f} h have passed")
        if started is None:
            self._held_since = self.monotonic()
            log.warning("the clock says %s, before %s when this chalkwall last ran, and is not synchronised (NTP): "
                        "no points or awards until it is right; the board is shown as usual",
                        _text(now), _text(self.furthest))
        return True

    def _release(self, now: float, why: str) -> bool:
        if self._held_since is not None:
            log.info("%s (%s): points and awards again", why, _text(now))
            self._held_since = None
            self.furthest = now  # believed from now on
        return False

    def __call__(self, snapshot: Snapshot) -> EngineOutput:
        if self.holding():
            game = getattr(self.engine, "game", None)
            return EngineOutput((), game, ())  # the feed's events are not taken: offered again later
        now = self.clock()
        if now > self.furthest:
            self.furthest = now
            self._save(now)
        return self.engine(snapshot)

    def pending(self) -> bool:
        """For the coordinator: offer the last snapshot again (held, or the engine wants it)."""
        if self._held_since is not None:
            return True
        pending = getattr(self.engine, "pending", None)
        return bool(pending()) if callable(pending) else False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.engine, name)


def _text(at: float) -> str:
    return datetime.fromtimestamp(at).strftime("%Y-%m-%d %H:%M")
