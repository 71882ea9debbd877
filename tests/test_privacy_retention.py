"""Retention on a real state file, at chosen dates: individuals' history goes after keep_days, team
and floor totals stay, and no point a payout needs is ever lost."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

from feeds.db import DB_NAME
from feeds.game.history import History
from feeds.game.ledger import Award, Ledger
from feeds.game.retention import Trimmed, trim

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=timezone.utc)


def day(n: int) -> str:
    return f"day:{(NOW - timedelta(days=n)).date().isoformat()}"


def seed(directory: Path) -> None:
    """100 days of a floor: "ada" stays, "bo" left 95 days ago, "cy" left 20 days ago."""
    history = History(directory)
    for n in (100, 95, 91, 20, 1):
        when = NOW - timedelta(days=n)
        rows = [("agent", "ada", "tickets_solved", 10.0 + n), ("team", "night", "tickets_solved", 50.0 + n),
                ("floor", "all", "tickets_solved", 90.0 + n)]
        if n >= 95:
            rows.append(("agent", "bo", "tickets_solved", 7.0))
        if n >= 20:
            rows.append(("agent", "cy", "tickets_solved", 5.0))
        history.record(day(n), rows, now=when)
        history.sample(day(n), 600, rows, force=True)
    history.close()
    ledger = Ledger(directory)
    ledger.award(Award("race", "agent", "bo", day(95), 100, "chalkwall"), now=NOW - timedelta(days=95))
    ledger.award(Award("kudos", "agent", "ada", day(95), 5, "kudos", giver="bo", event_id="k1"),
                 now=NOW - timedelta(days=95))
    ledger.award(Award("race", "agent", "cy", day(20), 100, "chalkwall"), now=NOW - timedelta(days=20))
    ledger.remember_names([("agent", "bo", "Bo Ek"), ("agent", "cy", "Cy Öst"), ("agent", "ada", "Ada Lind")])
    ledger.close()


def rows(directory: Path, query: str) -> list[tuple[object, ...]]:
    db = sqlite3.connect(directory / DB_NAME)
    try:
        return db.execute(query).fetchall()
    finally:
        db.close()


def test_history_older_than_keep_days_keeps_only_team_and_floor_totals(tmp_path: Path) -> None:
    seed(tmp_path)
    done = trim(tmp_path, 90, NOW)
    assert done.totals and done.samples
    agents = rows(tmp_path, "SELECT DISTINCT period, subject FROM totals WHERE subject_kind = 'agent' ORDER BY 1, 2")
    assert agents == [(day(20), "ada"), (day(20), "cy"), (day(1), "ada")]
    kept = rows(tmp_path, "SELECT period FROM totals WHERE subject_kind = 'team' ORDER BY period")
    assert [p for (p,) in kept] == sorted(day(n) for n in (100, 95, 91, 20, 1))  # every team total stays
    assert rows(tmp_path, "SELECT COUNT(*) FROM totals WHERE subject_kind = 'floor'") == [(5,)]
    sampled = rows(tmp_path, "SELECT DISTINCT day FROM samples WHERE subject_kind = 'agent' ORDER BY day")
    assert sampled == [(day(20),), (day(1),)]
    assert History(tmp_path).values(day(100), "team", "tickets_solved") == {"night": 150.0}


def test_a_leaver_is_forgotten_after_keep_days_but_every_point_stays(tmp_path: Path) -> None:
    seed(tmp_path)
    before = Ledger(tmp_path).balances()
    trim(tmp_path, 90, NOW)
    ledger = Ledger(tmp_path)
    assert ledger.balances() == before  # ids and amounts: what a payout needs
    names = ledger.names()
    assert ("agent", "bo") not in names  # left 95 days ago: no name kept
    assert names[("agent", "cy")] == "Cy Öst"  # left 20 days ago: still known, for this month's payroll
    assert rows(tmp_path, "SELECT giver FROM awards WHERE event_id = 'k1'") == [(None,)]
    assert not any("bo" in str(r) for r in rows(tmp_path, "SELECT * FROM totals") + rows(tmp_path, "SELECT * FROM samples"))


def test_team_page_thank_yous_older_than_keep_days_are_deleted_and_their_points_stay(tmp_path: Path) -> None:
    from feeds.game.thanks import ThanksStore

    store = ThanksStore(tmp_path)
    for n, (form, giver) in enumerate((("old", "bo"), ("new", "cy"))):
        when = NOW - timedelta(days=95 if form == "old" else 5)
        store.give(form, giver, "ada", f"Tack {form}!", True, day=day(95 if form == "old" else 5), points=5,
                   per_sender_per_day=3, now=when)
    store.close()
    before = Ledger(tmp_path).balances()
    done = trim(tmp_path, 90, NOW)
    assert done.thanks == 1
    assert rows(tmp_path, "SELECT giver, text FROM thanks") == [("cy", "Tack new!")]
    assert Ledger(tmp_path).balances() == before


def test_a_leavers_privacy_choice_and_team_page_entry_go_after_keep_days_never_an_award(tmp_path: Path) -> None:
    from feeds.privacy.choices import Choices
    from feeds.web.people import People

    seed(tmp_path)  # bo left 95 days ago, cy 20 days ago, ada is on the floor
    long_ago = NOW - timedelta(days=120)
    choices, people = Choices(tmp_path), People(tmp_path)
    for agent in ("ada", "bo", "cy"):
        choices.set(agent, "hidden", f"{agent} alias", now=long_ago)
        people.invite(agent, f"{agent.title()} Name", "agent", now=long_ago)
    people.invite("boss", "Bo Boss", "admin", now=long_ago)  # not on the feed: never a leaver
    people.invite("newbie", "New Hire", "agent", now=NOW - timedelta(days=2))  # not on the feed yet
    choices.set("newbie", "hidden", now=NOW - timedelta(days=2))
    choices.close()
    people.close()
    awards = "SELECT id, challenge, subject_kind, subject, period, points, event_id FROM awards ORDER BY id"
    before = rows(tmp_path, awards)  # (the giver of a kudos goes, as before)
    done = trim(tmp_path, 90, NOW)
    assert (done.choices, done.people) == (1, 1)
    assert rows(tmp_path, "SELECT agent FROM privacy_choices ORDER BY agent") == [("ada",), ("cy",), ("newbie",)]
    assert rows(tmp_path, "SELECT id FROM people ORDER BY id") == [("ada",), ("boss",), ("cy",), ("newbie",)]
    assert rows(tmp_path, awards) == before  # bo's award and points stay

    trim(tmp_path, 10, NOW)  # cy left 20 days ago: now gone too
    assert rows(tmp_path, "SELECT agent FROM privacy_choices ORDER BY agent") == [("ada",), ("newbie",)]


def test_a_wall_whose_history_is_empty_forgets_no_one(tmp_path: Path) -> None:
    from feeds.privacy.choices import Choices

    choices = Choices(tmp_path)
    choices.set("ada", "hidden", now=NOW - timedelta(days=400))
    choices.close()
    History(tmp_path).close()
    assert trim(tmp_path, 90, NOW) == Trimmed()
    assert rows(tmp_path, "SELECT agent FROM privacy_choices") == [("ada",)]


def test_a_second_trim_the_same_day_removes_nothing_and_a_fresh_directory_is_fine(tmp_path: Path) -> None:
    seed(tmp_path)
    trim(tmp_path, 90, NOW)
    assert trim(tmp_path, 90, NOW) == Trimmed()
    assert trim(tmp_path / "empty", 90, NOW) == Trimmed()


def test_a_shorter_keep_days_trims_more(tmp_path: Path) -> None:
    seed(tmp_path)
    trim(tmp_path, 10, NOW)
    assert rows(tmp_path, "SELECT DISTINCT subject FROM totals WHERE subject_kind = 'agent'") == [("ada",)]
    assert ("agent", "cy") not in Ledger(tmp_path).names()


def test_the_engine_trims_with_its_own_clock_and_the_configs_keep_days(tmp_path: Path) -> None:
    import dataclasses

    from feeds.config.privacy import PrivacyConfig
    from feeds.config.schema import Config
    from feeds.game.engine import Engine

    seed(tmp_path)
    config = dataclasses.replace(Config(), privacy=PrivacyConfig(keep_days=30))
    engine = Engine(Ledger(tmp_path), config, History(tmp_path), clock=NOW.timestamp)
    try:
        engine.trim()
    finally:
        engine.close()
    assert rows(tmp_path, "SELECT DISTINCT period FROM totals WHERE subject_kind = 'agent' ORDER BY period") == \
        [(day(20),), (day(1),)]
