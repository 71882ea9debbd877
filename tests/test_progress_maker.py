"""The fast Progress constructor of feeds/game/progress.py against the dataclass's own ``__init__``."""

from __future__ import annotations

import dataclasses
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from feeds.game.progress import Progress, _progress

_text = st.text(max_size=12)
_number = st.floats(allow_nan=False) | st.integers(-10**6, 10**6)


@given(_text, _text, _text, _text, _text, _number, _number, st.booleans(), st.booleans(), st.booleans())
def test_the_same_object_as_the_dataclass_makes(challenge: str, title: str, kind: str, scope: str, subject: str,
                                                 value: float, target: float, done: bool, won: bool,
                                                 gated: bool) -> None:
    args = (challenge, title, kind, scope, subject, value, target, done, won, gated)
    fast, slow = _progress(*args), Progress(*args)
    assert type(fast) is Progress
    assert fast == slow and hash(fast) == hash(slow) and repr(fast) == repr(slow)
    assert dataclasses.astuple(fast) == dataclasses.astuple(slow)
    assert pickle.loads(pickle.dumps(fast)) == slow
    assert dataclasses.replace(fast, won=True) == dataclasses.replace(slow, won=True)
    assert fast.fraction == slow.fraction or (fast.fraction != fast.fraction and slow.fraction != slow.fraction)


def test_it_stays_frozen() -> None:
    p = _progress("c", "t", "target", "agent", "a1", 1.0, 2.0, False, False, False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.value = 3.0  # type: ignore[misc]
