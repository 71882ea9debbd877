"""Burn-in care: the whole picture drifts by a few pixels over the hours.

A wall shows the same header, the same labels and the same row boxes for months; on an OLED or
plasma TV their edges would burn in. So the picture is drawn on a canvas slightly smaller than
the screen, which wanders inside it along a slow, never-repeating-soon path: at most ``MAX``
pixels from the centre, one pixel at a time, a step every few minutes — nobody across the room
sees it move.
"""

from __future__ import annotations

import math

MAX = 4
PERIOD_X = 3.0 * 3600  # seconds; two unrelated periods, so the path does not retrace quickly
PERIOD_Y = 4.7 * 3600


def drift(seconds: float) -> tuple[int, int]:
    """The canvas offset from the centre after ``seconds`` (wall-clock), each in -MAX..MAX."""
    return (round(MAX * math.sin(2 * math.pi * seconds / PERIOD_X)),
            round(MAX * math.sin(2 * math.pi * seconds / PERIOD_Y)))
