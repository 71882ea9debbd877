"""chalkwall's own challenges on a scripted floor, across a day boundary, on a real SQLite file."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from feeds.connectors.sources import SourceAdapter
from feeds.connectors.formats import json_decoder
from feeds.config.schema import load_config
from feeds.live.coordinator import FeedCoordinator
from feeds.board.diff import FeedEventReceived
from feeds.game.engine import Engine
from feeds.game.history import History
from feeds.game.ledger import Ledger
from feeds.connectors.parse import normalise
from helpers import config_problems, write_config

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


def test_a_decided_race_names_its_winner_even_when_another_now_leads(tmp_path: Path) -> None:
    eng = engine(tmp_path)
    won(eng, floor(15, 14, 0), DAY1)
    won(eng, floor(16, 18, 0), DAY1 + timedelta(hours=1))  # bob passes ann, but ann got there first
    race = {p.subject: p.won for p in eng.game.progress if p.challenge == "first-to-15"}  # type: ignore[union-attr]
    assert race == {"ann": True, "bob": False, "cat": False}
    won(eng, floor(3, 2, 0), DAY2)  # a new day: a new race, undecided
    assert not any(p.won for p in eng.game.progress if p.challenge == "first-to-15")  # type: ignore[union-attr]


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


def test_broken_challenges_are_config_errors(tmp_path: Path) -> None:
    assert config_problems(tmp_path, """
[[challenges]]
id = "a"
title = "Duel {"
kind = "head_to_head"
metric = "tickets_solved"
[[challenges]]
id = "a"
title = "T"
kind = "targett"
metric = "tickets_solved"
period = "fortnight"
""") == [
        'config.toml: challenges[0].sides: a "head_to_head" needs two different sides, e.g. ["night", "day"]',
        "config.toml: challenges[0].title: is not a valid template (Single '{' encountered in format string); "
        "use {target}, {value} or {best}",
        'config.toml: challenges[1].kind: must be one of target, race, record, personal_best, streak, head_to_head, '
        'not "targett" (did you mean "target"?)',
        'config.toml: challenges[1].period: must be one of day, week, month, shift, not "fortnight"',
        'config.toml: challenges: the id "a" is used by more than one challenge',
    ]


PERSONAL = """
[periods]
timezone = "UTC"

[[challenges]]
id = "pb"
title = "Beat your own {target}"
kind = "personal_best"
metric = "tickets_solved"
points = 15
lookback = 5
stretch = 1.1
floor = 5

[[challenges]]
id = "ten"
title = "Solve {target}"
kind = "target"
metric = "tickets_solved"
target = 10
points = 5

[[challenges]]
id = "three-days"
title = "{target} days in a row"
kind = "streak"
of = "ten"
length = 3
points = 30
"""


def test_a_personal_best_target_comes_from_the_agents_own_history(tmp_path: Path) -> None:
    eng = engine(tmp_path, PERSONAL)
    for days_ago, value in zip(range(5, 0, -1), (10, 12, 8, 14, 10)):  # median 10: target 11
        day = eng.calendar.period("day", DAY1 - timedelta(days=days_ago)).key
        eng.history.record(day, [("agent", "bob", "tickets_solved", value)])  # type: ignore[union-attr]
    assert [w for w in won(eng, floor(4, 10, 0), DAY1) if w[0] == "pb"] == []
    targets = {p.subject: p.target for p in eng.game.progress if p.challenge == "pb"}  # type: ignore[union-attr]
    assert targets == {"ann": 5, "bob": 11, "cat": 5}  # a newcomer's target is the floor
    assert [w for w in won(eng, floor(5, 11, 0), DAY1) if w[0] == "pb"] == [
        ("pb", "ann", "Beat your own 5"), ("pb", "bob", "Beat your own 11")]


def test_a_streak_is_the_target_met_days_in_a_row(tmp_path: Path) -> None:
    eng = engine(tmp_path, PERSONAL)
    day = DAY1
    results = []
    for ann in (10, 11, 12, 3, 10, 10, 10):  # met, met, met, missed, met, met, met
        results.append([w for w in won(eng, floor(ann, 0, 0), day) if w[0] == "three-days"])
        day += timedelta(days=1)
    assert results == [[], [], [("three-days", "ann", "3 days in a row")], [], [], [],
                       [("three-days", "ann", "3 days in a row")]]


def test_a_streak_must_repeat_a_target_challenge(tmp_path: Path) -> None:
    assert config_problems(tmp_path, PERSONAL.replace('of = "ten"', 'of = "tne"') + """
[[challenges]]
id = "team-pb"
title = "x"
kind = "personal_best"
scope = "team"
metric = "tickets_solved"
""") == [
        'config.toml: challenges[3].scope: a "personal_best" is an agent\'s own: scope must be "agent"',
        'config.toml: challenges[2].of: "tne" is not the id of a target or personal_best challenge '
        '(did you mean "ten"?)',
    ]


def test_badges_are_earned_in_the_ledger(tmp_path: Path) -> None:
    from feeds.game.challenges import badges
    from feeds.game.ledger import Award

    eng = engine(tmp_path, PERSONAL + """
[[challenges]]
id = "chalk"
title = "Beat {best}"
kind = "record"
metric = "tickets_solved"
""")
    ledger, challenges = eng.ledger, eng.config.challenges
    for n in range(12):
        ledger.award(Award(f"c{n}", "agent", "ann", "day:2026-11-23", 1, "feed"))
    ledger.award(Award("three-days", "agent", "bob", "day:2026-11-23", 30, "chalkwall"))
    ledger.award(Award("chalk", "agent", "cat", "day:2026-11-22", 100, "chalkwall"))
    ledger.award(Award("chalk", "agent", "bob", "day:2026-11-23", 100, "chalkwall"))
    worn = badges(ledger, challenges, "day:2026-11-22")
    assert worn == {"ann": ("milestone:10",), "bob": ("record", "streak")}  # cat's record was beaten by bob
    assert "streak" not in badges(ledger, challenges, "day:2026-11-24").get("bob", ())  # not kept up: gone



def test_head_to_head_is_decided_on_the_final_values_once_the_day_is_over(tmp_path: Path) -> None:
    eng = engine(tmp_path, CHALLENGES + """
[[challenges]]
id = "duel"
title = "Night vs Day"
kind = "head_to_head"
scope = "team"
metric = "tickets_solved"
sides = ["night", "day"]
points = 80
""")
    assert [w for w in won(eng, floor(9, 2, 3), DAY1) if w[0] == "duel"] == []
    duel = eng.game.duels[0]  # type: ignore[union-attr]
    assert (duel.sides, duel.ends_at) == ((("night", 5), ("day", 9)), "2026-11-23T23:00:00+00:00")
    won(eng, floor(9, 6, 5), DAY1 + timedelta(hours=8))  # the final score: night 11, day 9
    decided = [w for w in won(eng, floor(0, 0, 0), DAY2) if w[0] == "duel"]
    assert decided == [("duel", "night", "Night vs Day: won 11 to 9")]
    assert [w for w in won(eng, floor(0, 1, 0), DAY2 + timedelta(minutes=5)) if w[0] == "duel"] == []  # once
    assert dict((s, p) for _, s, p, _ in eng.ledger.balances())["night"] >= 80


WEEK_AND_SHIFT = """
[periods]
timezone = "Europe/Stockholm"
shifts = [{ name = "day", start = "07:00", end = "15:00" }, { name = "night", start = "22:00", end = "06:00" }]

[[challenges]]
id = "week-60"
title = "60 this week"
kind = "target"
metric = "tickets_solved"
period = "week"
target = 60
points = 100

[[challenges]]
id = "shift-5"
title = "5 in a shift"
kind = "target"
metric = "tickets_solved"
period = "shift"
target = 5
points = 10
"""


def test_a_week_adds_up_the_days(tmp_path: Path) -> None:
    eng = engine(tmp_path, WEEK_AND_SHIFT)
    monday = datetime(2026, 11, 23, 16, 0, tzinfo=timezone.utc)  # 17:00 local: between shifts
    assert won(eng, floor(25, 0, 0), monday) == []
    assert won(eng, floor(30, 0, 0), monday + timedelta(hours=4)) == []  # Monday's final: 30 (21:00, no shift on)
    tuesday = monday + timedelta(days=1)
    assert [w for w in won(eng, floor(29, 0, 0), tuesday) if w[0] == "week-60"] == []  # 30 + 29
    assert [w for w in won(eng, floor(30, 0, 0), tuesday) if w[0] == "week-60"] == [("week-60", "ann", "60 this week")]
    assert eng.history.values("week:2026-W48", "agent", "tickets_solved")["ann"] == 60  # type: ignore[union-attr]
    next_monday = monday + timedelta(days=7)
    assert [w for w in won(eng, floor(61, 0, 0), next_monday) if w[0] == "week-60"] == [
        ("week-60", "ann", "60 this week")]  # a new week: won again


def test_a_shift_counts_from_its_start_even_over_midnight(tmp_path: Path) -> None:
    eng = engine(tmp_path, WEEK_AND_SHIFT)
    evening = datetime(2026, 11, 23, 20, 0, tzinfo=timezone.utc)  # 21:00 local, before the night shift
    won(eng, floor(0, 40, 0), evening)
    eng.boundary(evening + timedelta(hours=1))  # 22:00 local: the cron job marks the shift's start
    late = [w for w in won(eng, floor(0, 43, 0), evening + timedelta(hours=2)) if w[0] == "shift-5"]
    assert late == []  # 3 since the shift began, not 43
    won(eng, floor(0, 44, 0), evening + timedelta(hours=2, minutes=50))  # the day's final before midnight
    after_midnight = evening + timedelta(hours=5)  # 02:00 local, the feed's counters reset at midnight
    assert [w for w in won(eng, floor(0, 1, 0), after_midnight) if w[0] == "shift-5"] == [
        ("shift-5", "bob", "5 in a shift")]  # 4 before midnight + 1 after
    assert eng.game.progress and all(p.challenge != "shift-5" or p.subject != "bob" or p.value == 5
                                     for p in eng.game.progress)  # type: ignore[union-attr]


def test_boundary_jobs_follow_the_floors_clock(tmp_path: Path) -> None:
    from apscheduler.schedulers.background import BackgroundScheduler

    eng = engine(tmp_path, WEEK_AND_SHIFT)
    scheduler = BackgroundScheduler(timezone=timezone.utc)
    eng.schedule(scheduler)
    scheduler.start(paused=True)
    try:
        jobs = {j.id: j for j in scheduler.get_jobs()}
        assert sorted(jobs) == ["chalkwall-boundary-0000", "chalkwall-boundary-0600", "chalkwall-boundary-0700",
                                "chalkwall-boundary-1500", "chalkwall-boundary-2200", "chalkwall-retention"]
        night = jobs["chalkwall-boundary-2200"].trigger
        summer = night.get_next_fire_time(None, datetime(2026, 7, 1, tzinfo=timezone.utc))
        winter = night.get_next_fire_time(None, datetime(2026, 12, 1, tzinfo=timezone.utc))
        assert (summer.utcoffset(), summer.hour) == (timedelta(hours=2), 22)  # 22:00 in Stockholm, DST or not
        assert (winter.utcoffset(), winter.hour) == (timedelta(hours=1), 22)
    finally:
        scheduler.shutdown(wait=False)


def test_levels_come_from_config_or_the_feed_and_are_checked(tmp_path: Path) -> None:
    eng = engine(tmp_path, CHALLENGES + '[levels]\nagents = { cat = "rookie" }\n')
    assert [w for w in won(eng, floor(0, 0, 10), DAY1) if w[0] == "solve"] == [
        ("solve", "cat", "Solve 10 tickets today")]  # cat is a rookie by config: 10, not the default 30
    assert config_problems(tmp_path, CHALLENGES.replace("rookie = 10", "rokie = 10") +
                        '[levels]\nagents = { cat = "newbie" }\n') == [
        'config.toml: levels.agents.cat: "newbie" is not one of the level names (rookie, pro, expert)',
        'config.toml: challenges[0].target.rokie: "rokie" is not a level name (rookie, pro, expert, or "default") '
        '(did you mean "rookie"?)',
    ]


def test_the_engine_over_a_real_http_feed(server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import json as _json

    from feeds.connectors.registry import make_adapter
    from helpers import FeedServer

    assert isinstance(server, FeedServer)
    server.json("/feed", _json.loads(_json.dumps(floor(12, 21, 31).to_dict())))  # type: ignore[attr-defined]
    text = CHALLENGES + f'[feed]\ntype = "http"\nurl = "{server.url}/feed"\n'
    loaded = load_config(str(write_config(tmp_path, text)))
    eng = Engine(Ledger(tmp_path / "state"), loaded.config, History(tmp_path / "state"))
    coordinator = FeedCoordinator(make_adapter(loaded.config.feed, loaded.base_dir), loaded.config.feed,
                                  loaded.config.board, on_snapshot=eng)
    assert coordinator.poll_once()
    announced = sorted((e.event.data.get("agent"), e.event.data["challenge"]) for e in coordinator.drain_events()
                       if isinstance(e, FeedEventReceived))
    assert announced == [("ann", "Solve 10 tickets today"), ("bob", "Solve 20 tickets today"),
                         ("cat", "First to 15"), ("cat", "Solve 30 tickets today")]
    assert coordinator.state().game is not None and coordinator.state().game.records[0].leader == "night"
