"""Fault points for crash drills: ``CHALKWALL_FAULT=<point>`` in the environment kills the process
with SIGKILL when it reaches that point, so a test can stop a real process exactly there (say,
just after an award is committed) and show that a restart loses and repeats nothing. Unset, as
everywhere but in those tests, a fault point is one comparison of two strings.
"""

from __future__ import annotations

import os
import signal

FAULT_ENV = "CHALKWALL_FAULT"
_POINT = os.environ.get(FAULT_ENV, "")


def fault(point: str) -> None:
    """Die here, at once and without cleaning up, when the environment names ``point``."""
    if _POINT and _POINT == point:
        os.kill(os.getpid(), signal.SIGKILL)
