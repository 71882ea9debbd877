"""The Me page over the real app (Starlette's TestClient) and a real state file: my points and what
earned each row, my badges (the wall's own badge code), today's level-fitted targets, my streaks,
the thanks I received (public and quiet, not undone ones) and the privacy form writing Choices."""

from __future__ import annotations

import re
from html import unescape
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from feeds.config.schema import load_config
from feeds.connectors.parse import normalise
from feeds.game.engine import calendar_for
from feeds.game.ledger import Award, Ledger
from feeds.game.thanks import ThanksStore
from feeds.live.state import StoredBoard
from feeds.privacy.choices import Choices
from feeds.web.app import Site, build_app
from feeds.web.auth import RateLimit
from feeds.web.people import People
from helpers import FakeClock, doc, write_config

START = datetime(2026, 12, 2, 10, 0, tzinfo=timezone.utc)
CHALLENGES = """
[periods]
timezone = "Europe/Stockholm"
[[challenges]]
id = "ten"
title = "Solve {target} today"
kind = "target"
metric = "tickets_solved"
target = { rookie = 5, pro = 10 }
points = 20
[[challenges]]
id = "first"
title = "First to {target}"
kind = "race"
metric = "tickets_solved"
target = 6
points = 50
[[challenges]]
id = "best"
title = "Beat your usual: {target}"
kind = "personal_best"
metric = "tickets_solved"
floor = 4
points = 30
[[challenges]]
id = "roll"
title = "{target} days in a row"
kind = "streak"
of = "ten"
length = 3
points = 60
[[challenges]]
id = "chalk"
title = "Beat yesterday's {best}"
kind = "record"
metric = "tickets_solved"
points = 150
"""
FLOOR = ({"id": "asa", "name": "Åsa Ödegård", "level": "rookie", "metrics": {"tickets_solved": 7}},
         {"id": "petr", "name": "Пётр Иванов", "level": "pro", "metrics": {"tickets_solved": 3}},
         {"id": "bo", "name": "Bo", "metrics": {"tickets_solved": 1}})


@pytest.fixture
def me(tmp_path: Path) -> Iterator[tuple[TestClient, Path]]:
    feed = '[feed]\ntype = "http"\nurl = "http://127.0.0.1:9/f"\n'
    loaded = load_config(str(write_config(tmp_path, feed + CHALLENGES)))
    state = tmp_path / "state"
    board = StoredBoard(state, every=0)
    board.save(normalise(doc(*FLOOR)), START.timestamp())
    board.close()
    calendar = calendar_for(loaded.config)
    today = calendar.period("day", START)
    days = [today]
    while len(days) < 12:
        days.append(calendar.previous(days[-1]))
    ledger = Ledger(state)
    try:
        for n in (1, 2, *range(4, 12)):  # "ten" met yesterday and the day before, and 8 days before that
            ledger.award(Award("ten", "agent", "asa", days[n].key, 20, "chalkwall"), START - timedelta(days=n))
        ledger.award(Award("roll", "agent", "asa", days[1].key, 60, "chalkwall"))
        ledger.award_first(Award("first", "agent", "petr", today.key, 50, "chalkwall"))  # Пётр won today's race
        ledger.award(Award("chalk", "agent", "asa", days[1].key, 150, "chalkwall"))
        ledger.award(Award("Ticket hero", "agent", "asa", days[1].key, 15, "feed", event_id="zd-hero"))
        assert ledger.award_kudos("zd-k1", "bo", "asa", today.key, 5, 3, START)  # the feed's kudos: no words kept
    finally:
        ledger.close()
    store = ThanksStore(state)
    try:
        paid = {"day": today.key, "points": 5, "per_sender_per_day": 3, "now": START}
        store.give("f1", "petr", "asa", "Спасибо за помощь!", True, **paid)  # type: ignore[arg-type]
        store.give("f2", "petr", "asa", "Tyst tack för igår", False, **paid)  # type: ignore[arg-type]
        store.give("f3", "bo", "asa", "Oops, wrong person", True, **paid)  # type: ignore[arg-type]
        store.undo(3, "bo", START + timedelta(minutes=1))
    finally:
        store.close()
    people = People(state)
    token = people.invite("asa")
    site = Site(people, tmp_path / "pw", "http://x", RateLimit(), config=loaded.config,
                clock=FakeClock(START.timestamp() + 120))
    client = TestClient(build_app(site), follow_redirects=False)
    assert client.get(f"/in/{token}").status_code == 303
    yield client, state
    client.close()
    people.close()


def text_of(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def test_my_points_and_what_earned_each_row(me: tuple[TestClient, Path]) -> None:
    client, state = me
    page = client.get("/me")
    assert page.status_code == 200 and "<h1>Åsa Ödegård</h1>" in page.text  # the board's spelling of my name
    ledger = Ledger(state)
    try:
        total = sum(p for k, s, p, _ in ledger.balances() if s == "asa")
    finally:
        ledger.close()
    assert total == 10 * 20 + 60 + 150 + 15 + 5 + 5 + 5 + 5 - 5
    shown = text_of(page.text)
    assert f"{total:g} points" in shown
    assert "2 Dec 11:01 thanks from Bo taken back" in shown  # in the floor's time zone
    for line in ("thanks from Bo +5", "thanks from Пётр Иванов: Спасибо за помощь! +5",
                 "thanks from Пётр Иванов: Tyst tack för igår +5",
                 "thanks from Bo taken back: Oops, wrong person -5",
                 "Solve 5 today +20", "3 days in a row +60", "Beat yesterday's … +150", "Ticket hero +15"):
        assert line in shown, line


def test_my_shop_rows_read_as_the_payroll_export_says_them(me: tuple[TestClient, Path]) -> None:
    from feeds.game.shop import Shop

    client, state = me
    shop = Shop(state, "UTC")
    try:
        made = shop.request("asa", shop.add_item("Biobiljetter", 60, None, "taxable"))
        shop.decline(made.id, "Slut i lager")
    finally:
        shop.close()
    shown = text_of(client.get("/me").text)
    assert f"Shop: Biobiljetter (request {made.id}) — requested (points held) -60" in shown, shown
    assert f"Shop: Biobiljetter (request {made.id}) — declined (points back) +60" in shown


def test_my_badges_targets_and_streaks(me: tuple[TestClient, Path]) -> None:
    client, _ = me
    shown = text_of(client.get("/me").text)
    for badge in ("Record holder", "On a streak", "10 challenges completed"):
        assert badge in shown, badge
    assert "Solve 5 today 7 of 5 ✓ reached" in shown  # a rookie's target, from the level on the board
    assert "First to 6 7 of 6 · a race: the first there wins won by Пётр Иванов" in shown
    assert "Beat your usual: 4 7 of 4 ✓ reached" in shown  # no history yet: the floor
    assert "3 days in a row 2 days in a row · the streak needs 3" in shown


def test_the_thanks_i_received_public_and_quiet_but_not_undone(me: tuple[TestClient, Path]) -> None:
    client, _ = me
    shown = text_of(client.get("/me").text)
    received = shown[shown.index("Thanks I received"):shown.index("My points")]
    assert "“Спасибо за помощь!” — Пётр Иванов" in received
    assert "“Tyst tack för igår” — Пётр Иванов · 2 Dec 11:00 · quiet" in received
    assert "Oops" not in received


def test_the_privacy_form_writes_my_choices(me: tuple[TestClient, Path]) -> None:
    client, state = me
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/me").text).group(1)  # type: ignore[union-attr]
    saved = client.post("/me/privacy", data={"csrf": csrf, "ranking": "celebrate_only", "alias": "  Åsa   Ö. "})
    assert (saved.status_code, saved.headers["location"]) == (303, "/me?saved=1")
    choices = Choices(state)
    try:
        choice = choices.get("asa")
        assert (choice.ranking, choice.alias) == ("celebrate_only", "Åsa Ö.")
        page = client.get("/me?saved=1").text
        assert "Saved." in page and 'value="celebrate_only" checked' in page and 'value="Åsa Ö."' in page
        too_long = client.post("/me/privacy", data={"csrf": csrf, "ranking": "hidden", "alias": "x" * 41})
        assert too_long.status_code == 400 and "An alias is at most 40 characters (got 41)." in too_long.text
        assert client.post("/me/privacy", data={"csrf": csrf, "ranking": "everything"}).status_code == 400
        assert choices.get("asa").ranking == "celebrate_only"  # nothing refused was written
        back = client.post("/me/privacy", data={"csrf": csrf, "ranking": "ranked", "alias": ""})
        assert back.status_code == 303 and choices.all() == {}
    finally:
        choices.close()
