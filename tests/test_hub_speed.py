"""What makes the hub's poll fast must not change what it says: the encoder's payloads are byte for
byte ``pack``'s (the game's parts: ``pack``'s of each team's share, tests/test_hub_game_parts.py), and every cache lets go when it must — a new period, a config reload, a ledger
written by someone else (the team page) — on real SQLite files."""

from __future__ import annotations

import dataclasses
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

from feeds.bus.topics import pack
from feeds.config.schema import load_config
from feeds.connectors.parse import Normaliser, normalise
from feeds.game.challenges import GameState
from feeds.game.engine import Engine
from feeds.game.history import History
from feeds.game.ledger import KUDOS, Award, Ledger, kudos_in
from feeds.publish.encode import REST, Encoder
from feeds.publish.hub import team_documents
from helpers import write_config
from tests.test_hub_game_parts import heads_of, reference

DAY1 = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)  # 10:00 in Stockholm
DAY2 = DAY1 + timedelta(days=1)
TEAMS = [{"id": "night", "name": "Nattskift", "color": "#123456"}, {"id": "day", "name": "Day"},
         {"id": "empty", "name": "Nobody yet"}]

CHALLENGES = """
[periods]
timezone = "Europe/Stockholm"

[[challenges]]
id = "solve"
title = "Solve {target} tickets today"
kind = "target"
metric = "tickets_solved"
points = 20
target = { rookie = 10, default = 20 }

[[challenges]]
id = "first"
title = "First to {target}"
kind = "race"
metric = "tickets_solved"
points = 50
target = 15

[[challenges]]
id = "own"
title = "Beat your usual: {target}"
kind = "personal_best"
metric = "tickets_solved"
points = 30
floor = 5

[[challenges]]
id = "roll"
title = "{target} days in a row"
kind = "streak"
of = "own"
length = 2
points = 60
"""


def doc(asa: float, petr: float, lin: float, generated: bool = True) -> dict[str, object]:
    out: dict[str, object] = {"version": 1, "teams": TEAMS, "agents": [
        {"id": "asa", "name": "Åsa Ödegård", "team": "night", "level": "rookie", "metrics": {"tickets_solved": asa}},
        {"id": "petr", "name": "Пётр Иванов", "team": "night", "metrics": {"tickets_solved": petr, "csat": 4.5}},
        {"id": "lin", "name": "Lin Chen", "team": "day", "metrics": {"tickets_solved": lin}},
        {"id": "solo", "name": "No team", "metrics": {"tickets_solved": 1}}]}
    if generated:
        out["generated_at"] = "2026-11-23T10:00:00Z"
    return out


def engine(tmp_path: Path, text: str = CHALLENGES) -> Engine:
    config = load_config(str(write_config(tmp_path, text))).config
    return Engine(Ledger(tmp_path / "state"), config, History(tmp_path / "state"))


def won(eng: Engine, values: tuple[float, float, float], now: datetime) -> list[tuple[str, str]]:
    eng.process(normalise(doc(*values)), now)
    return [(e.id.split(":")[1], str(e.data.get("agent"))) for e in eng.completed]


# --- the encoder -------------------------------------------------------------------------------

def test_board_payloads_are_packs_bytes_across_polls() -> None:
    parse, encoder = Normaliser(), Encoder()
    head = {"rev": 7, "epoch": 3, "observed_at": 1764000000.25}
    for values, generated in (((3, 4, 5), True), ((3, 9, 5), True), ((3, 9, 5), False), ((11, 9, 5), True)):
        snapshot = parse(doc(*values, generated=generated))
        boards = encoder.boards(snapshot, head)
        assert boards == {team: pack("board", {**head, **d}) for team, d in team_documents(snapshot).items()}
        assert set(boards) == {"night", "day", "empty", None}
    assert len(encoder.agents.fragments) == 4  # one floor's agents, not every poll's


def test_an_unchanged_agent_is_not_encoded_again() -> None:
    parse, encoder, calls = Normaliser(), Encoder(), []
    first = parse(doc(3, 4, 5))
    encoder.boards(first, {"rev": 1})
    second = parse(doc(3, 6, 5))  # only Пётр moved
    assert second.agents[0] is first.agents[0] and second.agents[1] is not first.agents[1]
    encoder.agents.fragments.update(second.agents, lambda a: calls.append(a) or b"x")
    assert calls == [second.agents[1]]


def test_game_payload_is_packs_bytes_and_to_dict_is_asdict(tmp_path: Path) -> None:
    eng, encoder = engine(tmp_path), Encoder()
    for values, now in (((12, 16, 3), DAY1), ((12, 18, 3), DAY1 + timedelta(minutes=1)), ((1, 2, 3), DAY2)):
        snapshot = normalise(doc(*values))
        eng.process(snapshot, now)
        game = eng.game
        assert game is not None and game.progress
        parts = encoder.game(game, 5, snapshot)
        assert parts == reference(game, snapshot, 5, heads_of(parts)) and set(parts) == {REST, "night", "day", "empty", None}
        old = {"period": game.period, "progress": [dataclasses.asdict(p) for p in game.progress],
               "records": [dataclasses.asdict(r) for r in game.records],
               "duels": [dataclasses.asdict(d) for d in game.duels],
               "comparison": game.comparison.to_dict() if game.comparison else None,
               "badges": {k: list(v) for k, v in game.badges.items()}}
        assert game.to_dict() == old
    assert GameState("p").to_dict(progress=False)["progress"] == []


# --- the engine's caches -----------------------------------------------------------------------

def test_unchanged_progress_is_the_same_object_until_its_value_moves(tmp_path: Path) -> None:
    eng = engine(tmp_path)
    eng.process(normalise(doc(3, 4, 5)), DAY1)
    before = {(p.challenge, p.subject): p for p in eng.game.progress}  # type: ignore[union-attr]
    eng.process(normalise(doc(3, 12, 5)), DAY1 + timedelta(minutes=1))
    after = {(p.challenge, p.subject): p for p in eng.game.progress}  # type: ignore[union-attr]
    assert after[("solve", "asa")] is before[("solve", "asa")]
    assert after[("solve", "petr")] is not before[("solve", "petr")] and after[("solve", "petr")].value == 12


def test_a_new_period_awards_again_and_recomputes_targets(tmp_path: Path) -> None:
    eng = engine(tmp_path)
    assert sorted(won(eng, (10, 16, 3), DAY1)) == [("first", "petr"), ("own", "asa"), ("own", "petr"),
                                                    ("solve", "asa")]
    assert won(eng, (10, 16, 3), DAY1 + timedelta(minutes=1)) == []  # remembered as recorded: no repeat
    # The next day: the same challenges are won again (the remembered keys are the day before's),
    # the race is open again, the personal targets come from yesterday, the streak counts two days.
    assert sorted(won(eng, (12, 18, 3), DAY2)) == [("first", "petr"), ("own", "asa"), ("own", "petr"),
                                                   ("roll", "asa"), ("roll", "petr"), ("solve", "asa")]
    own = {p.subject: p.target for p in eng.game.progress if p.challenge == "own"}  # type: ignore[union-attr]
    assert own["asa"] == 11.0 and own["lin"] == 5  # yesterday's 10 × 1.1; lin had 3, under the floor


def test_a_config_reload_shows_the_new_targets(tmp_path: Path) -> None:
    eng = engine(tmp_path)
    eng.process(normalise(doc(12, 16, 3)), DAY1)
    reloaded = engine(tmp_path, CHALLENGES.replace("rookie = 10", "rookie = 14").replace(
        'title = "Solve {target} tickets today"', 'title = "Reach {target}"'))
    reloaded.process(normalise(doc(12, 16, 3)), DAY1 + timedelta(minutes=1))
    asa = next(p for p in reloaded.game.progress if p.challenge == "solve" and p.subject == "asa")  # type: ignore[union-attr]
    assert (asa.target, asa.title, asa.done) == (14, "Reach 14", False)


def test_a_ledger_written_by_the_team_page_is_respected(tmp_path: Path) -> None:
    eng = engine(tmp_path)
    eng.process(normalise(doc(3, 4, 5)), DAY1)
    page = Ledger(tmp_path / "state")  # another connection, as the team page's process has
    # The page records the race's win and a target first: the engine, whose caches have not seen
    # them, asks the database and does not award them again.
    assert page.award_first(Award("first", "agent", "lin", "day:2026-11-23", 50, "chalkwall"))
    assert page.award(Award("solve", "agent", "petr", "day:2026-11-23", 20, "chalkwall"))
    assert won(eng, (3, 25, 16), DAY1 + timedelta(minutes=1)) == [("own", "petr")]  # lin won "own" at 5 already
    db = sqlite3.connect(tmp_path / "state" / page.path.name)
    with db:
        assert kudos_in(db, "k1", "asa", "petr", "2026-11-23", 5, 3, "2026-11-23T10:00:00") == "awarded"
    db.close()
    assert eng.ledger.recorded(["k1"]) == {"k1": 5}
    winners = [s for s in eng.ledger.subjects_won("first", "agent", "day:2026-11-23")]
    assert winners == ["lin"]
    assert [(r[4], r[3]) for r in eng.ledger.rows() if r[4] in ("first", "solve", KUDOS)] == [
        ("first", "lin"), ("solve", "petr"), (KUDOS, "petr")]  # each once
    page.close()


def test_periods_won_by_is_periods_won_for_everybody(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path)
    for subject, period in (("a", "d1"), ("a", "d2"), ("b", "d2"), ("c", "d0")):
        ledger.award(Award("own", "agent", subject, period, 1, "chalkwall"))
    ledger.award(Award("own", "agent", "b", "d1", -1, "shop"))  # the shop's rows are not wins
    keys = ["d2", "d1"]
    batch = ledger.periods_won_by("own", "agent", keys)
    assert batch == {s: p for s in "abc" if (p := ledger.periods_won("own", "agent", s, keys))}
    assert batch == {"a": {"d1", "d2"}, "b": {"d2"}}


# --- the hub's coordinator ranks nothing ---------------------------------------------------------

class _Source:
    def __init__(self) -> None:
        self.body = b""

    def fetch(self) -> bytes:
        return self.body

    def forget_validators(self) -> None:
        pass

    def close(self) -> None:
        pass


def test_the_hubs_coordinator_builds_no_board_but_keeps_freshness_and_events() -> None:
    import json

    from feeds.config.schema import BoardConfig, FeedConfig
    from feeds.connectors.formats import json_decoder
    from feeds.connectors.sources import SourceAdapter
    from feeds.live.coordinator import FeedCoordinator

    now = [1000.0]
    source = _Source()
    hub = FeedCoordinator(SourceAdapter(source, json_decoder(1 << 20)), FeedConfig(interval=1),
                          BoardConfig(rank_by="tickets_solved"), clock=lambda: now[0], rank=False)
    assert hub.state().stale is False  # nothing polled yet: nothing to be stale about
    body = doc(3, 4, 5)
    body["events"] = [{"id": "k1", "type": "kudos", "from": "asa", "to": "petr"}]
    source.body = json.dumps(body).encode()
    assert hub.poll_once()
    state = hub.state()
    assert state.board is None and state.generation == 1 and hub.snapshot is not None
    assert [e.event.id for e in hub.drain_events()] == ["k1"]  # type: ignore[attr-defined]
    source.body = json.dumps(doc(3, 5, 5)).encode()
    hub.poll_once()
    assert hub.state().generation == 2 and hub.drain_events() == []  # no rank moves: the screens rank
    now[0] += hub.feed.stale_seconds + 1
    assert hub.state().stale is True
