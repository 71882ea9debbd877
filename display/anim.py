"""Animated values: a number that moves from where it is to a target over a duration, eased.

Every tween reads the shared clock, so a test that moves a FakeClock to t=0, mid and end sees
exact positions. ``Motion`` carries the configured animation mode: "full" animates, "reduced"
keeps only short fades and count-ups, "calm" is reduced without bursts, glows or pulses (for people
who find flicker hard: a banner fades in, a halo fades out), "none" jumps to the end state at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from display.clock import Clock

SLIDE_SECONDS = 0.8
COUNT_SECONDS = 0.8
HIGHLIGHT_SECONDS = 2.5
# Frames a second that a kind of motion needs (None: as many as ``max_fps`` allows). A slide or a
# count-up wants every frame; falling confetti reads as smooth at 30, a slow pulse at 20, and each
# frame not drawn is CPU a Pi keeps.
CONFETTI_FPS = 30
PULSE_FPS = 20


def ease_out_cubic(t: float) -> float:
    return 1 - (1 - t) ** 3


def ease_in_out_cubic(t: float) -> float:
    return 4 * t**3 if t < 0.5 else 1 - (-2 * t + 2) ** 3 / 2


@dataclass(frozen=True)
class Motion:
    """How much things move: "full", "reduced", "calm" or "none"."""

    mode: str = "full"

    def duration(self, seconds: float, essential: bool = False) -> float:
        """The length of an animation; ``essential`` ones (count-ups) survive "reduced" and "calm"."""
        if self.mode == "none" or (self.mode in ("reduced", "calm") and not essential):
            return 0.0
        return seconds * (0.5 if self.mode in ("reduced", "calm") else 1.0)

    @property
    def bursts(self) -> bool:
        """Confetti, a pulsing glow: off in "calm" (and "none")."""
        return self.mode in ("full", "reduced")

    @property
    def fades(self) -> bool:
        """Things appear and go by fading, never by sliding, rising or pulsing ("calm")."""
        return self.mode == "calm"


class Tween:
    """A value moving from ``start`` to ``end`` between two clock times."""

    __slots__ = ("clock", "start", "end", "t0", "duration", "ease")

    def __init__(self, clock: Clock, value: float) -> None:
        self.clock = clock
        self.start = self.end = value
        self.t0 = 0.0
        self.duration = 0.0
        self.ease = ease_in_out_cubic

    def to(self, end: float, duration: float, ease=ease_in_out_cubic) -> None:  # type: ignore[no-untyped-def]
        """Head for ``end`` from wherever the value is now, so a change mid-flight never jumps."""
        if end == self.end:  # on its way there or there already: a value that did not change does not move
            return
        self.start = self.value()
        self.end = end
        self.t0 = self.clock.now()
        self.duration = duration
        self.ease = ease

    def progress(self) -> float:
        if self.duration <= 0:
            return 1.0
        return min(1.0, max(0.0, (self.clock.now() - self.t0) / self.duration))

    def value(self) -> float:
        p = self.progress()
        return self.end if p >= 1.0 else self.start + (self.end - self.start) * self.ease(p)

    def moving(self) -> bool:
        return self.progress() < 1.0
