"""The garbage collector paced to the polls, for the processes that hold a big floor: the hub and a
wall (a hub's screen above all, which decodes its team's whole board every second).

Python's default (a young collection every 700 allocations, an older one every tenth, a full one
when a quarter of what lives is new) walks a 5,000-agent floor again and again: in a screen process
of ``chalkwall bench --hub`` it made 19 full collections a minute of up to 87 ms each, in the paho
thread that was handing a board to the screen. Paced, the young collections walk only what the last
poll made, and the full one comes at a known time, every ``FULL_GC_EVERY`` seconds.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

GC_THRESHOLD = 20_000  # allocations between young collections (see tune_gc)
FULL_GC_EVERY = 600.0  # seconds between full collections (see GcPacer)


def tune_gc() -> None:
    """Fewer, cheaper garbage collections: a 5,000-agent poll allocates some 50,000 containers, which
    at Python's default threshold (700) is dozens of collections a poll, each older one walking
    everything alive. What exists at start (modules, config) is frozen out of their way; measured
    on the hub's poll (``chalkwall bench --hub``) it saves about a sixth of the work."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, 50, 100)


class GcPacer:
    """After each poll, what it left alive is frozen out of the collector's way too (``gc.freeze``
    is a list splice, O(1)): the young collections then walk only what the next poll makes, not the
    floor's 5,000 agents and 10,000 progress entries again and again. Frozen objects are still freed
    the moment nothing refers to them; only garbage in reference *cycles* waits, for the full
    collection every ``every`` seconds (everything unfrozen, collected, frozen again), which bounds
    what it can hold. Measured with ``chalkwall bench --hub``'s poll: the young collections' share
    went from about 1.7 ms a poll to 0.8 ms.

    Process-wide (the collector is): only a process's own entry point starts one — ``chalkwall
    hub``, ``chalkwall run`` — never a library object a test might make."""

    def __init__(self, every: float = FULL_GC_EVERY, clock: Callable[[], float] = time.monotonic) -> None:
        self.every, self.clock = every, clock
        self._full = clock()

    def start(self) -> None:
        tune_gc()
        self._full = self.clock()

    def after_poll(self, full_ok: bool = True) -> None:
        """``full_ok`` False (a wall in mid-animation): the full collection, due, waits for a quieter
        poll, up to twice ``every``."""
        waited = self.clock() - self._full
        if waited >= self.every and (full_ok or waited >= 2 * self.every):
            gc.unfreeze()
            gc.collect()
            self._full = self.clock()
        gc.freeze()
