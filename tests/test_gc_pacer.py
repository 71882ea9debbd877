"""The GcPacer (the hub's and a wall's): what a poll left alive is frozen out of the collector's way, and garbage in
reference cycles that was frozen meanwhile is still collected at the next full collection."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from feeds.live.gcpace import GcPacer


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


@pytest.fixture
def clean_gc() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)
    gc.collect()


def test_a_poll_s_survivors_are_frozen_and_a_frozen_cycle_waits_for_the_full_collection(clean_gc: None) -> None:
    now = [0.0]
    pacer = GcPacer(every=600.0, clock=lambda: now[0])
    pacer.start()
    a, b = Node(), Node()
    a.other, b.other = b, a  # a cycle: only the cyclic collector can free it
    gone = weakref.ref(a)
    frozen = gc.get_freeze_count()
    pacer.after_poll()
    assert gc.get_freeze_count() > frozen  # this poll's objects are out of the young collections' way
    del a, b
    gc.collect()
    assert gone() is not None  # frozen: a normal collection does not walk it
    now[0] = 599.0
    pacer.after_poll()
    assert gone() is not None
    now[0] = 600.0
    pacer.after_poll()  # the full collection: everything unfrozen, collected, frozen again
    assert gone() is None
    assert gc.get_freeze_count() > 0


def test_objects_without_cycles_are_freed_at_once_though_frozen(clean_gc: None) -> None:
    pacer = GcPacer(every=600.0, clock=lambda: 0.0)
    pacer.start()
    leaf = Node()
    gone = weakref.ref(leaf)
    pacer.after_poll()
    del leaf
    assert gone() is None  # reference counting frees it: freezing never keeps the floor's old objects


def test_a_full_collection_waits_for_a_quiet_poll_but_not_for_ever(clean_gc: None) -> None:
    now = [0.0]
    pacer = GcPacer(every=600.0, clock=lambda: now[0])
    pacer.start()
    a, b = Node(), Node()
    a.other, b.other = b, a
    gone = weakref.ref(a)
    pacer.after_poll()
    del a, b
    now[0] = 700.0
    pacer.after_poll(full_ok=False)  # the wall is mid-animation: not now
    assert gone() is not None
    pacer.after_poll(full_ok=True)
    assert gone() is None
    c, d = Node(), Node()
    c.other, d.other = d, c
    gone = weakref.ref(c)
    pacer.after_poll()
    del c, d
    now[0] = 700.0 + 1200.0
    pacer.after_poll(full_ok=False)  # twice the period: done even mid-animation
    assert gone() is None
