"""Today against yesterday at the same time, the week, personal bests and most improved."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from feeds.config.schema import load_config
from feeds.game.engine import Engine
from feeds.game.history import History
from feeds.game.ledger import Ledger
from feeds.connectors.parse import normalise
from helpers import write_config

MONDAY = datetime(2026, 11, 23, 0, 0, tzinfo=timezone.utc)


def floor(ann: float, bob: float) -> object:
    return normalise({"version": 1, "teams": [{"id": "day", "name": "Day"}, {"id": "night", "name": "Night"}],
                      "agents": [{"id": "ann", "name": "Ann", "team": "day", "metrics": {"tickets_solved": ann}},
                                 {"id": "bob", "name": "Bob", "team": "night", "metrics": {"tickets_solved": bob}}]})


def engine(tmp_path: Path) -> Engine:
    config = load_config(str(write_config(tmp_path, '[periods]\ntimezone = "UTC"\n'))).config
    return Engine(Ledger(tmp_path / "s"), config, History(tmp_path / "s"))


def test_today_is_compared_with_yesterday_at_the_same_time_not_its_final(tmp_path: Path) -> None:
    eng = engine(tmp_path)
    for hour, (ann, bob) in ((9, (2, 3)), (10, (4, 6)), (16, (20, 25))):  # Monday
        eng.process(floor(ann, bob), MONDAY + timedelta(hours=hour))  # type: ignore[arg-type]
    eng.process(floor(8, 3), MONDAY + timedelta(days=1, hours=10, minutes=5))  # type: ignore[arg-type]
    c = eng.game.comparison  # type: ignore[union-attr]
    assert (c.metric, c.today.now, c.today.before) == ("tickets_solved", 11, 10)  # Monday at 10:00 had 4 + 6
    assert c.today.percent == 10.0
    assert {t.subject: (t.now, t.before) for t in c.teams} == {"day": (8, 4), "night": (3, 6)}
    assert [(i.subject, i.percent) for i in c.improved] == [("ann", 100.0)]  # Bob did worse: not "improved"
    assert c.daily == (("day:2026-11-23", 45.0), ("day:2026-11-24", 11.0))  # Monday's final, Tuesday so far
    assert c.personal_bests == ()
    eng.process(floor(21, 3), MONDAY + timedelta(days=1, hours=15))  # type: ignore[arg-type]
    assert eng.game.comparison.personal_bests == ("ann",)  # past Monday's 20  # type: ignore[union-attr]


def test_the_week_so_far_against_last_week_at_the_same_point(tmp_path: Path) -> None:
    eng = engine(tmp_path)
    last_monday = MONDAY - timedelta(days=7)
    eng.process(floor(10, 10), last_monday + timedelta(hours=17))  # type: ignore[arg-type]
    eng.process(floor(5, 5), last_monday + timedelta(days=1, hours=9))  # type: ignore[arg-type]
    eng.process(floor(15, 15), MONDAY + timedelta(hours=17))  # type: ignore[arg-type]
    eng.process(floor(4, 4), MONDAY + timedelta(days=1, hours=9, minutes=30))  # type: ignore[arg-type]
    week = eng.game.comparison.week  # type: ignore[union-attr]
    assert (week.now, week.before) == (30 + 8, 20 + 10)  # Monday's final + Tuesday 09:30 each week


def test_samples_are_kept_at_most_every_ten_minutes(tmp_path: Path) -> None:
    history = History(tmp_path)
    assert history.sample("day:2026-11-23", 600, [("floor", "all", "x", 1.0)])
    assert not history.sample("day:2026-11-23", 605, [("floor", "all", "x", 2.0)])
    assert history.sample("day:2026-11-23", 610, [("floor", "all", "x", 3.0)])
    assert history.at("day:2026-11-23", 609, "floor", "x") == {"all": 1.0}
    assert history.at("day:2026-11-23", 700, "floor", "x") == {"all": 3.0}
    assert history.at("day:2026-11-23", 500, "floor", "x") == {}


def test_writing_several_periods_keeps_each_ones_cache(tmp_path: Path) -> None:
    """A day and a week challenge write side by side every poll: unchanged values are not written again."""
    history = History(tmp_path)
    rows = [("agent", "ann", "x", 1.0), ("agent", "bob", "x", 2.0)]
    assert history.record("day:2026-11-23", rows) == 2
    assert history.record("week:2026-W48", rows) == 2
    assert history.record("day:2026-11-23", rows) == 0  # nothing changed: nothing written
    assert history.record("week:2026-W48", [("agent", "ann", "x", 3.0), ("agent", "bob", "x", 2.0)]) == 1
    history.record("day:2026-11-22", rows)  # a finished period's finals are cached, live ones never
    assert history.values("day:2026-11-23", "agent", "x") == {"ann": 1.0, "bob": 2.0}
    history.record("day:2026-11-23", [("agent", "ann", "x", 5.0)])
    assert history.values("day:2026-11-23", "agent", "x")["ann"] == 5.0


def test_today_and_yesterday_come_as_curves_by_hour(tmp_path: Path) -> None:
    eng = engine(tmp_path)
    for hour, minute, ann in ((8, 5, 1), (8, 40, 3), (9, 10, 6), (11, 30, 12), (16, 0, 20)):  # Monday
        eng.process(floor(ann, 0), MONDAY + timedelta(hours=hour, minutes=minute))  # type: ignore[arg-type]
    eng.process(floor(25, 0), MONDAY + timedelta(hours=17, minutes=59))  # type: ignore[arg-type]
    for hour, minute, ann in ((7, 50, 2), (9, 0, 5), (10, 20, 9)):  # Tuesday
        eng.process(floor(ann, 0), MONDAY + timedelta(days=1, hours=hour, minutes=minute))  # type: ignore[arg-type]
    c = eng.game.comparison  # type: ignore[union-attr]
    # today: the first sample, each whole hour since, and now
    assert c.hourly == ((470, 2), (480, 2), (540, 5), (600, 5), (620, 9))
    # yesterday: from its first sample hour by hour to the final at midnight
    assert c.hourly_before[:4] == ((485, 1), (540, 3), (600, 6), (660, 6))
    # hour by hour up to the hour after its last sample (17:59), then the final at midnight
    assert c.hourly_before[-3:] == ((1020, 20), (1080, 25), (1440, 25))
    assert len(c.hourly_before) == 1 + (1080 - 540) // 60 + 1 + 1


def test_a_finished_days_curve_is_read_once_and_todays_every_time(tmp_path: Path) -> None:
    history = History(tmp_path)
    history.sample("day:2026-11-23", 600, [("floor", "all", "x", 1.0)])
    history.sample("day:2026-11-24", 600, [("floor", "all", "x", 2.0)])  # now sampling Tuesday
    assert history.curve("day:2026-11-23", "floor", "all", "x") == [(600, 1.0)]
    assert history.curve("day:2026-11-24", "floor", "all", "x") == [(600, 2.0)]
    history.sample("day:2026-11-24", 660, [("floor", "all", "x", 4.0)])
    assert history.curve("day:2026-11-24", "floor", "all", "x") == [(600, 2.0), (660, 4.0)]
    history._db.execute("DELETE FROM samples WHERE day = 'day:2026-11-23'")
    assert history.curve("day:2026-11-23", "floor", "all", "x") == [(600, 1.0)]  # a finished day: cached


def test_the_week_so_far_adds_up_its_days_even_without_a_last_week(tmp_path: Path) -> None:
    eng = engine(tmp_path)
    eng.process(floor(15, 15), MONDAY + timedelta(hours=17))  # type: ignore[arg-type]  # the first week on record
    eng.process(floor(4, 4), MONDAY + timedelta(days=1, hours=9, minutes=30))  # type: ignore[arg-type]
    week = eng.game.comparison.week  # type: ignore[union-attr]
    assert (week.now, week.before) == (30 + 8, None)  # Monday's final + Tuesday so far; nothing to compare
