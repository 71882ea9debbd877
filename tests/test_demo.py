"""The demo floor: deterministic for a seed, varied in names, and lively from the first minute."""

from __future__ import annotations

import pytest

from feeds.connectors.demo import DemoFeed
from feeds.board.build import build_board
from feeds.config.schema import load_config
from feeds.board.diff import RankChanged, SeenEvents, diff_boards
from helpers import ROOT, FakeClock


def run(seed: int, seconds: int) -> tuple[list[int], dict[str, list[int]]]:
    """Poll every 2 s for ``seconds``; when ranks changed, and when each kind of event first came."""
    board_config = load_config(str(ROOT / "config.toml")).config.board
    clock = FakeClock()
    feed = DemoFeed(seed, clock)
    seen = SeenEvents()
    old = build_board(feed.poll(), board_config)
    changes: list[int] = []
    events: dict[str, list[int]] = {}
    for t in range(2, seconds + 1, 2):
        clock.advance(2)
        snap = feed.poll()
        board = build_board(snap, board_config)
        if any(isinstance(e, RankChanged) for e in diff_boards(old, board)):
            changes.append(t)
        for event in seen.new(snap.events):
            events.setdefault(event.type, []).append(t)
        old = board
    return changes, events


def test_same_seed_same_floor_and_another_seed_another() -> None:
    docs = []
    for seed in (5, 5, 6):
        clock = FakeClock()
        feed = DemoFeed(seed, clock)
        clock.advance(300)
        docs.append(feed.poll().to_dict())
    assert docs[0] == docs[1]
    assert docs[0]["agents"] != docs[2]["agents"]


def test_the_floor_is_varied() -> None:
    snap = DemoFeed(7, FakeClock()).poll()
    assert len(snap.agents) >= 12 and len(snap.teams) >= 3
    names = " ".join(a.name for a in snap.agents)
    assert any(c in names for c in "åäöÅÄÖ") and any("а" <= c <= "я" for c in names)
    assert {a.level for a in snap.agents if a.role != "role_model"} == {"rookie", "pro", "expert"}  # role models: no level
    assert all(len({a.team for a in snap.agents if a.team == t.id}) for t in snap.teams)


@pytest.mark.parametrize("seed", [7, 11])
def test_lively_from_the_first_minute(seed: int) -> None:
    changes, events = run(seed, 30 * 60)
    assert changes[0] <= 20  # ranks move almost at once
    gaps = sorted(b - a for a, b in zip(changes, changes[1:]))
    assert gaps[len(gaps) // 2] <= 10  # typically every few seconds
    assert events["challenge_completed"][0] <= 60 and events["kudos"][0] <= 60
    for kind in ("challenge_completed", "kudos"):
        assert 0.7 <= len(events[kind]) / 30 <= 2.5  # "every minute or so"


def test_a_clock_jump_does_not_stall_the_poll() -> None:
    clock = FakeClock()
    feed = DemoFeed(7, clock)
    clock.advance(30 * 24 * 3600)  # a month of suspend
    snap = feed.poll()
    assert snap.agents and snap.generated_at is not None
