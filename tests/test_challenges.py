"""chalkwall's own challenges on a scripted floor, across a day boundary, on a real SQLite file."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from feeds.adapters import SourceAdapter
from feeds.adapters.formats import json_decoder
from feeds.config import load_config
from feeds.coordinator import FeedCoordinator
from feeds.diff import FeedEventReceived
from feeds.engine import Engine
from feeds.history import History
from feeds.ledger import Ledger
from feeds.parse import normalise
from helpers import write_config

DAY1 = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)  # 10:00 in Stockholm
DAY2 = DAY1 + timedelta(days=1)

CHALLENGES = """
[periods]
timezone = "Europe/Stockholm"

[board.metrics.aht_seconds]
lower_is_better = true

[[challenges]]
id = "solve"
title = "Solve {target} tickets today"
kind = "target"
metric = "tickets_solved"
points = 20
target = { rookie = 10, pro = 20, default = 30 }

[[challenges]]
id = "first-to-15"
title = "First to {target}"
kind = "race"
metric = "tickets_solved"
points = 50
target = 15

[[challenges]]
id = "chalk"
title = "Beat yesterday's {best}"
kind = "record"
scope = "team"
metric = "tickets_solved"
points = 100

[[challenges]]
id = "quick"
title = "Handle time under {target} s"
kind = "target"
metric = "aht_seconds"
points = 10
target = 300
"""


def engine(tmp_path: Path, text: str = CHALLENGES) -> Engine:
    config = load_config(str(write_config(tmp_path, text))).config
    return Engine(Ledger(tmp_path / "state"), config, History(tmp_path / "state"))


def floor(ann: float, bob: float, cat: float, aht: float = 400) -> object:
    return normalise({"version": 1, "teams": [{"id": "day", "name": "Day"}, {"id": "night", "name": "Night"}],
                      "agents": [
                          {"id": "ann", "name": "Ann", "team": "day", "level": "rookie", "metrics": {"tickets_solved": ann}},
                          {"id": "bob", "name": "Bob", "team": "night", "level": "pro",
                           "metrics": {"tickets_solved": bob, "aht_seconds": aht}},
                          {"id": "cat", "name": "Cat", "team": "night", "metrics": {"tickets_solved": cat}}]})


def won(eng: Engine, snapshot: object, now: datetime) -> list[tuple[str, str, str]]:
    eng.process(snapshot, now)  # type: ignore[arg-type]
    return [(e.id.split(":")[1], e.data.get("agent") or e.data.get("team"), e.data["challenge"]) for e in eng.completed]


def test_targets_fit_each_level_and_count_once_a_day(tmp_path: Path) -> None:
    eng = engine(tmp_path)
    assert won(eng, floor(9, 19, 29), DAY1) == [("first-to-15", "cat", "First to 15")]  # the best of those past 15
    assert won(eng, floor(10, 19, 29), DAY1 + timedelta(minutes=5)) == [("solve", "ann", "Solve 10 tickets today")]
    assert won(eng, floor(12, 20, 30), DAY1 + timedelta(minutes=10)) == [
        ("solve", "bob", "Solve 20 tickets today"), ("solve", "cat", "Solve 30 tickets today")]
    assert won(eng, floor(13, 21, 31), DAY1 + timedelta(minutes=15)) == []  # met again: no new award
    assert won(eng, floor(10, 0, 0), DAY2) == [("solve", "ann", "Solve 10 tickets today")]  # a new day: again
    points = dict((s, p) for _, s, p, _ in eng.ledger.balances())
    assert points["ann"] == 40 and points["cat"] == 70


def test_a_race_has_one_winner_per_day(tmp_path: Path) -> None:
    eng = engine(tmp_path)
    assert [w for w in won(eng, floor(15, 14, 0), DAY1) if w[0] == "first-to-15"] == [("first-to-15", "ann", "First to 15")]
    assert [w for w in won(eng, floor(16, 18, 0), DAY1 + timedelta(hours=1)) if w[0] == "first-to-15"] == []
    assert [w for w in won(eng, floor(0, 15, 0), DAY2) if w[0] == "first-to-15"] == [("first-to-15", "bob", "First to 15")]


def test_the_record_is_yesterdays_best_and_is_beaten_once(tmp_path: Path) -> None:
    eng = engine(tmp_path)
    won(eng, floor(3, 2, 3), DAY1)
    won(eng, floor(7, 2, 3), DAY1 + timedelta(hours=7))  # final values of day 1: day 7, night 5
    assert [w for w in won(eng, floor(0, 4, 3), DAY2) if w[0] == "chalk"] == []  # night 7 equals, does not beat
    beaten = [w for w in won(eng, floor(0, 5, 3), DAY2 + timedelta(hours=1)) if w[0] == "chalk"]
    assert beaten == [("chalk", "night", "Beat yesterday's 7")]
    assert [w for w in won(eng, floor(0, 9, 3), DAY2 + timedelta(hours=2)) if w[0] == "chalk"] == []


def test_lower_is_better_targets_are_met_by_going_under(tmp_path: Path) -> None:
    eng = engine(tmp_path)
    assert [w for w in won(eng, floor(0, 0, 0, aht=320), DAY1) if w[0] == "quick"] == []
    assert [w for w in won(eng, floor(0, 0, 0, aht=290), DAY1) if w[0] == "quick"] == [
        ("quick", "bob", "Handle time under 300 s")]


def test_the_coordinator_announces_chalkwalls_own_completions(tmp_path: Path) -> None:
    import json

    eng = engine(tmp_path)
    cfg = load_config(str(tmp_path / "config.toml")).config

    class Source:
        def fetch(self) -> bytes:
            return json.dumps(floor(12, 0, 0).to_dict()).encode()  # type: ignore[attr-defined]

        def forget_validators(self) -> None:
            pass

        def close(self) -> None:
            pass

    coordinator = FeedCoordinator(SourceAdapter(Source(), json_decoder(1 << 20)), cfg.feed, cfg.board,
                                  on_snapshot=eng)
    coordinator.poll_once()
    announced = [e.event for e in coordinator.drain_events() if isinstance(e, FeedEventReceived)]
    assert [(e.type, e.data["agent"], e.data["points"]) for e in announced] == [("challenge_completed", "ann", 20.0)]
    coordinator.poll_once()
    assert not [e for e in coordinator.drain_events() if isinstance(e, FeedEventReceived)]
    game = coordinator.state().game
    assert game is not None and game.period.startswith("day:")
    solve = {p.subject: (p.value, p.target, p.done) for p in game.progress if p.challenge == "solve"}
    assert solve == {"ann": (12, 10, True), "bob": (0, 20, False), "cat": (0, 30, False)}
    chalk = game.records[0]
    assert (chalk.challenge, chalk.best, chalk.leader, chalk.leader_value) == ("chalk", None, "day", 12)
    assert game.to_dict()["records"][0]["challenge"] == "chalk"


def test_unsupported_and_broken_challenges_are_config_errors(tmp_path: Path) -> None:
    import pytest

    from feeds.validate import ConfigError

    path = write_config(tmp_path, """
[[challenges]]
id = "a"
title = "Streak {"
kind = "streak"
metric = "x"
[[challenges]]
id = "a"
title = "T"
kind = "targett"
metric = "x"
period = "week"
""")
    with pytest.raises(ConfigError) as info:
        load_config(str(path))
    assert [str(p).replace(str(path), "config.toml") for p in info.value.problems] == [
        'config.toml: challenges[0].kind: "streak" challenges are not supported yet (coming with history scenes); '
        "supported: target, race, record",
        "config.toml: challenges[0].title: is not a valid template (Single '{' encountered in format string); "
        "use {target}, {value} or {best}",
        'config.toml: challenges[1].kind: must be one of target, race, record, not "targett" (did you mean "target"?)',
        'config.toml: challenges[1].period: only "day" is supported yet, not "week"',
        'config.toml: challenges: the id "a" is used by more than one challenge',
    ]
