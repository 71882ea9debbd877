"""What the screen is told: points only as the ledger recorded them, no repeats, honest kudos.

A real file feed, a real coordinator and the real engine over a real SQLite ledger; the display's
side (banners and toasts) on a real pygame stage under the dummy video driver.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

from feeds.connectors.registry import make_adapter
from feeds.config.schema import load_config
from feeds.live.coordinator import FeedCoordinator
from feeds.board.diff import FeedEventReceived, SeenEvents
from feeds.game.engine import Engine
from feeds.game.history import History
from feeds.game.ledger import Ledger
from feeds.model import FeedEvent
from feeds.connectors.parse import normalise
from helpers import FakeClock, agent, doc, write_config

AT = "2026-11-23T09:00:00Z"
CLOCK_START = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc).timestamp()
FLOOR = (agent("åsa", 5), agent("bo", 7), agent("cy", 2))


def completion(event_id: str, who: str = "åsa", points: float = 25, challenge: str = "Solve 20") -> dict:
    return {"id": event_id, "type": "challenge_completed", "agent": who, "challenge": challenge, "points": points,
            "at": AT}


def kudos(event_id: str, to: str, giver: str | None = None) -> dict:
    out = {"id": event_id, "type": "kudos", "to": to, "text": "Tack!", "at": AT}
    if giver is not None:
        out["from"] = giver
    return out


class Floor:
    """A file feed, the engine over a ledger in ``state`` and the coordinator between them."""

    def __init__(self, tmp_path: Path, extra: str = "", engine: bool = True, history: bool = False) -> None:
        self.path = tmp_path / "feed.json"
        self.clock = FakeClock(CLOCK_START)
        self._stamp = 0
        loaded = load_config(str(write_config(tmp_path, '[feed]\ntype = "file"\npath = "feed.json"\ninterval = 10\n'
                                                        '[periods]\ntimezone = "Europe/Stockholm"\n' + extra)))
        self.config = loaded.config
        state = tmp_path / "state"
        self.engine = Engine(Ledger(state), self.config, History(state) if history else None,
                             clock=self.clock) if engine else None
        self.coordinator = FeedCoordinator(make_adapter(self.config.feed, loaded.base_dir), self.config.feed,
                                           self.config.board, clock=self.clock, rng=random.Random(0),
                                           seen=SeenEvents(), on_snapshot=self.engine)

    def poll(self, *events: dict) -> list[FeedEvent]:
        """Publish a feed with these events and poll it; the feed events announced."""
        self.path.write_text(json.dumps(doc(*FLOOR, events=list(events))))
        self._stamp += 1
        os.utime(self.path, ns=(self._stamp, self._stamp))
        self.clock.advance(10)
        self.coordinator.poll_once()
        return [e.event for e in self.coordinator.drain_events() if isinstance(e, FeedEventReceived)]

    def listed(self) -> list[FeedEvent]:
        """The events on the board (what the wins scene lists)."""
        board = self.coordinator.state().board
        assert board is not None
        return list(board.events)

    def close(self) -> None:
        self.coordinator.stop()
        if self.engine is not None:
            self.engine.close()


def points(events: list[FeedEvent]) -> list[tuple[str, float]]:
    return [(e.id, e.data["points"]) for e in events if e.type == "challenge_completed"]


def test_a_repeated_completion_is_neither_celebrated_nor_listed_again(tmp_path: Path) -> None:
    floor = Floor(tmp_path)
    try:
        assert points(floor.poll(completion("c1"))) == [("c1", 25)]
        # The same challenge, agent and day under another event id: the ledger pays once, so the
        # screen must not promise "+25 points" a second time, neither as a banner nor in the list.
        assert floor.poll(completion("c1"), completion("c1-again")) == []
        assert points(floor.listed()) == [("c1", 25)]
        assert floor.engine is not None and floor.engine.ledger.balances() == [("agent", "åsa", 25.0, 1)]
    finally:
        floor.close()


def test_a_completion_shows_the_points_the_ledger_recorded_not_what_the_feed_says_now(tmp_path: Path) -> None:
    floor = Floor(tmp_path)
    try:
        floor.poll(completion("c1", points=10))
        floor.poll(completion("c1", points=50))  # the feed edited its own event afterwards
        assert points(floor.listed()) == [("c1", 10)]
    finally:
        floor.close()


def test_after_a_restart_a_repeat_of_a_paid_completion_is_not_announced(tmp_path: Path) -> None:
    first = Floor(tmp_path)
    assert points(first.poll(completion("c1"))) == [("c1", 25)]
    first.close()
    again = Floor(tmp_path)  # the same ledger, a new process
    try:
        assert again.poll(completion("c1-after-restart")) == []
        assert again.listed() == []
    finally:
        again.close()


def test_chalkwalls_own_completion_repeated_by_the_feed_is_paid_and_shown_once(tmp_path: Path) -> None:
    floor = Floor(tmp_path, '[[challenges]]\nid = "twenty"\ntitle = "Solve 5"\nkind = "target"\n'
                            'metric = "tickets_solved"\ntarget = 5\npoints = 25\n', history=True)
    assert floor.engine is not None
    try:
        own = floor.poll()
        assert sorted((e.data["agent"], e.data["points"]) for e in own) == [("bo", 25), ("åsa", 25)]
        # A feed that also reports the same completion (same challenge id, agent and day) adds nothing.
        assert floor.poll(completion("feed-twenty", "bo", challenge="twenty")) == []
        assert floor.engine.ledger.balances() == [("agent", "bo", 25.0, 1), ("agent", "åsa", 25.0, 1)]
    finally:
        floor.close()


def test_while_the_ledger_cannot_be_written_a_completion_waits_and_then_shows_its_points(tmp_path: Path) -> None:
    floor = Floor(tmp_path)
    assert floor.engine is not None
    ledger = floor.engine.ledger
    try:
        ledger._db.close()  # the disk went away: every write fails with a real sqlite3 error
        assert floor.poll(completion("c1")) == []  # not paid, so not celebrated (yet)
        assert points(floor.listed()) == []
        assert floor.poll(completion("c2", "bo")) == []  # c1 scrolled out of the feed meanwhile
        ledger._db = sqlite3.connect(ledger.path, isolation_level=None, check_same_thread=False)  # back
        announced = floor.poll(completion("c2", "bo"))
        assert sorted(points(announced)) == [("c1", 25), ("c2", 25)]  # each once, with what was recorded
        assert floor.poll(completion("c2", "bo")) == []
        assert sorted(s for _, s, _, _ in ledger.balances()) == ["bo", "åsa"]
    finally:
        floor.close()


def test_without_a_ledger_no_points_are_promised(tmp_path: Path) -> None:
    floor = Floor(tmp_path, engine=False)
    try:
        assert points(floor.poll(completion("c1"))) == [("c1", 0)]
        assert points(floor.listed()) == [("c1", 0)]
    finally:
        floor.close()


def test_kudos_from_nobody_or_a_stranger_earn_nothing_and_keep_no_raw_id(tmp_path: Path) -> None:
    floor = Floor(tmp_path, "[points]\nkudos = 2\nkudos_per_sender_per_day = 1\n")
    assert floor.engine is not None
    try:
        events = [kudos(f"anon{n}", "åsa") for n in range(5)] + [kudos(f"x{n}", "åsa", "ext-42") for n in range(5)]
        announced = floor.poll(*events)
        assert floor.engine.ledger.balances() == []  # no limit could hold them: nothing paid
        assert [e.id for e in announced] == [e["id"] for e in events]  # the thanks are still shown
        assert all("from" not in e.data for e in announced)  # a stranger's id never reaches the screen
    finally:
        floor.close()


def test_a_self_thank_is_neither_shown_nor_paid_and_the_sender_limit_holds_in_every_route(tmp_path: Path) -> None:
    floor = Floor(tmp_path, "[points]\nkudos = 2\nkudos_per_sender_per_day = 3\n")
    assert floor.engine is not None
    ledger = floor.engine.ledger
    try:
        announced = floor.poll(kudos("self", "åsa", "åsa"), kudos("k1", "åsa", "bo"), kudos("k2", "cy", "bo"))
        assert [e.id for e in announced] == ["k1", "k2"] and [e.id for e in floor.listed()] == ["k1", "k2"]
        # More from bo in a later poll, some while the ledger is down (held and offered again)...
        ledger._db.close()
        floor.poll(kudos("k3", "åsa", "bo"), kudos("k4", "cy", "bo"))
        ledger._db = sqlite3.connect(ledger.path, isolation_level=None, check_same_thread=False)
        floor.poll(kudos("k5", "åsa", "bo"))
        floor.close()
        # ... and after a restart: bo still gets three paid thanks a day, no more.
        again = Floor(tmp_path, "[points]\nkudos = 2\nkudos_per_sender_per_day = 3\n")
        again.poll(kudos("k6", "cy", "bo"))
        assert again.engine is not None
        givers = again.engine.ledger._db.execute("SELECT giver, COUNT(*) FROM awards GROUP BY giver").fetchall()
        assert givers == [("bo", 3)]
        again.close()
    finally:
        floor.close()


def test_the_ledger_itself_pays_no_kudos_without_a_sender(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path)
    try:
        assert not ledger.award_kudos("k1", None, "åsa", "day:2026-11-23", 2, 3)
        assert not ledger.award_kudos("k2", "åsa", "åsa", "day:2026-11-23", 2, 3)
        assert ledger.award_kudos("k3", "bo", "åsa", "day:2026-11-23", 2, 3)
        assert ledger.balances() == [("agent", "åsa", 2.0, 1)]
    finally:
        ledger.close()


def test_the_engine_alone_reports_what_it_may_show(tmp_path: Path) -> None:
    config = load_config(str(write_config(tmp_path, '[periods]\ntimezone = "Europe/Stockholm"\n'))).config
    eng = Engine(Ledger(tmp_path / "state"), config)
    now = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)
    try:
        eng.process(normalise(doc(*FLOOR, events=[completion("c1"), completion("c1b"), kudos("k1", "ghost", "bo")])),
                    now)
        assert [e.id for e in eng.shown] == ["c1"]  # the repeat and the thanks to nobody on the floor: not shown
    finally:
        eng.close()


def test_a_toast_says_a_colleague_for_an_unknown_sender_and_never_shows_a_self_thank(tmp_path: Path) -> None:
    from display.clock import FakeClock as DisplayClock
    from display.scenes.wins import WinsScene
    from display.shot import init_offscreen, make_stage
    from display.wall import Wall
    from feeds.board.build import build_board
    from feeds.live.coordinator import FeedState

    init_offscreen()
    loaded = load_config(str(write_config(tmp_path, "")))
    wall = Wall(make_stage(loaded, (1280, 720), DisplayClock()))
    events = [FeedEvent(f"k{n}", "kudos", None, data) for n, data in enumerate([
        {"from": "åsa", "to": "åsa", "text": "Me!"}, {"to": "åsa", "text": "Tack!"},
        {"from": "ext-42", "to": "åsa"}, {"from": "bo", "to": "åsa"}, {"from": "bo", "to": "nobody-here"}])]
    board = build_board(normalise(doc(*FLOOR)), loaded.config.board)
    board = type(board)(board.rank_by, board.lower_is_better, board.agents, board.teams, tuple(events),
                        board.generated_at, board.warnings, board.index)
    wall.update(FeedState(board, 1.0, None, 0, False, 1), [FeedEventReceived(e) for e in events])
    shown_and_waiting = [*(t for _, t in wall.celebrations.toasts), *wall.celebrations.waiting]  # one at a time
    assert [t.title for t in shown_and_waiting] == ["A colleague thanked Åsa", "A colleague thanked Åsa",
                                                    "Bo thanked Åsa"]
    wins = wall.scenes["wins"]
    assert isinstance(wins, WinsScene) and "k0" not in [e.id for e in wins.latest()]  # the self-thank
