"""The Thanks page over the real app and a real SQLite state file (Starlette's TestClient for the
page logic, an injected clock for undo), one real ``chalkwall web`` subprocess for thanks → ledger,
and the wall's side: a real live feed (coordinator, polling, the thanks reader's thread) and a real
pygame wall under SDL's dummy driver noticing a thank-you written by another connection within 2 s."""

from __future__ import annotations

import dataclasses
import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from feeds.config.schema import Config, PointsConfig
from feeds.connectors.parse import normalise
from feeds.game.engine import calendar_for
from feeds.game.ledger import Ledger
from feeds.game.thanks import ThanksStore
from feeds.live.state import StoredBoard
from feeds.web.app import Site, build_app
from feeds.web.auth import RateLimit
from feeds.web.people import People
from helpers import FakeClock, doc

START = 1_795_000_000.0  # 2026-11-19, mid-morning UTC
FLOOR = ({"id": "asa", "name": "Åsa Ödegård", "metrics": {"tickets_solved": 7}},
         {"id": "petr", "name": "Пётр Иванов", "metrics": {"tickets_solved": 3}},
         {"id": "bo", "name": "Bo", "metrics": {"tickets_solved": 1}})


def save_board(state: Path, agents: tuple[dict, ...] = FLOOR) -> None:
    board = StoredBoard(state, every=0)
    board.save(normalise(doc(*agents)), START)
    board.close()


@dataclass
class Team:
    """The team page's app over a state directory, with a clock the test moves."""

    state: Path
    clock: FakeClock
    app: object
    clients: list[TestClient]

    def person(self, person_id: str, role: str = "agent") -> TestClient:
        people = People(self.state)
        try:
            token = people.invite(person_id, None, role)  # type: ignore[arg-type]
        finally:
            people.close()
        client = TestClient(self.app, follow_redirects=False)  # type: ignore[arg-type]
        self.clients.append(client)
        assert client.get(f"/in/{token}").status_code == 303
        return client

    def ledger(self) -> Ledger:
        return Ledger(self.state)


def make_team(tmp_path: Path, limit: int = 3) -> Team:
    state = tmp_path / "state"
    save_board(state)
    clock = FakeClock(START)
    config = dataclasses.replace(Config(), points=PointsConfig(kudos=5, kudos_per_sender_per_day=limit))
    site = Site(People(state), tmp_path / "pw", "http://x", RateLimit(), config=config, clock=clock)
    return Team(state, clock, build_app(site), [])


@pytest.fixture
def team(tmp_path: Path) -> Iterator[Team]:
    made = make_team(tmp_path)
    yield made
    for client in made.clients:
        client.close()


def form_of(client: TestClient, path: str = "/thanks") -> dict[str, str]:
    text = client.get(path).text
    fields = dict(re.findall(r'name="(csrf|key)" value="([^"]+)"', text))
    assert "csrf" in fields, text
    return fields


def give(client: TestClient, to: str, text: str = "Tack för hjälpen!", visibility: str = "public",
         fields: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return client.post("/thanks", data={**(fields or form_of(client)), "to": to, "text": text,
                                        "visibility": visibility})


def balances(team: Team) -> list[tuple[str, str, float, int]]:
    ledger = team.ledger()
    try:
        return ledger.balances()
    finally:
        ledger.close()


def test_a_thank_you_is_paid_once_even_when_the_same_form_is_posted_twice(team: Team) -> None:
    asa = team.person("asa")
    page = asa.get("/thanks").text
    assert "Пётр Иванов" in page and "Bo" in page and 'value="asa"' not in page  # never oneself
    fields = form_of(asa)
    first = give(asa, "petr", fields=fields)
    again = give(asa, "petr", fields=fields)  # a double tap: the same form, the same key
    assert first.status_code == again.status_code == 303
    assert first.headers["location"] == again.headers["location"] == "/thanks?sent=1"
    assert balances(team) == [("agent", "petr", 5.0, 1)]
    shown = asa.get("/thanks?sent=1").text
    assert "Thanks sent to Пётр Иванов" in shown and "2 of 3 thanks left today" in shown


def test_the_fourth_thanks_of_a_day_is_refused_and_the_feeds_kudos_count_too(team: Team) -> None:
    day = calendar_for(Config()).period("day", datetime.fromtimestamp(START, timezone.utc)).key  # the page's day
    ledger = team.ledger()
    try:  # one kudos from the helpdesk's feed, the way the wall's engine pays it
        assert ledger.award_kudos("zd-1", "asa", "bo", day, 5, 3)
    finally:
        ledger.close()
    asa = team.person("asa")
    assert give(asa, "petr").status_code == 303
    assert give(asa, "bo", "Thanks for covering").status_code == 303
    refused = give(asa, "petr", "One more")
    assert refused.status_code == 429
    assert "You have given your 3 thanks for today (thanks on the wall count too)" in refused.text
    assert "0 of 3 thanks left today" in refused.text and "One more" in refused.text  # the words are kept
    assert sorted(balances(team)) == [("agent", "bo", 10.0, 2), ("agent", "petr", 5.0, 1)]


def test_no_limit_when_the_config_says_0(tmp_path: Path) -> None:
    team = make_team(tmp_path, limit=0)
    asa = team.person("asa")
    assert all(give(asa, "petr", f"Thanks #{n}").status_code == 303 for n in range(5))
    assert balances(team) == [("agent", "petr", 25.0, 5)]


def test_thanking_oneself_is_refused(team: Team) -> None:
    asa = team.person("asa")
    refused = give(asa, "asa")
    assert refused.status_code == 400 and "You cannot thank yourself" in refused.text
    assert give(asa, "nobody-here").status_code == 400
    assert balances(team) == []


def test_281_characters_are_refused_and_280_as_seen_are_not(team: Team) -> None:
    asa = team.person("asa")
    refused = give(asa, "petr", "x" * 281)
    assert refused.status_code == 400 and "That is 281 characters; a thank-you is at most 280." in refused.text
    assert give(asa, "petr", "   ").status_code == 400
    # 280 as a person sees them: a thumbs-up with a skin tone and a flag are one character each.
    seen_280 = "👍🏽🇸🇪" + "å" * 278
    assert len(seen_280) > 280
    assert give(asa, "petr", seen_280).status_code == 303
    store = ThanksStore(team.state)
    try:
        assert store.received_by("petr")[0].text == seen_280
    finally:
        store.close()


def test_undo_within_ten_minutes_takes_back_the_points_and_gives_the_slot_back(team: Team) -> None:
    asa = team.person("asa")
    for _ in range(3):
        assert give(asa, "petr").status_code == 303
    team.clock.advance(9 * 60 + 50)
    undone = asa.post("/thanks/undo", data={"csrf": form_of(asa)["csrf"], "id": "3"})
    assert (undone.status_code, undone.headers["location"]) == (303, "/thanks?undone=3")
    page = asa.get("/thanks?undone=3").text
    assert "Undone." in page and "1 of 3 thanks left today" in page
    ledger = team.ledger()
    try:  # a reversing row: the history keeps both
        rows = [(r[4], r[6]) for r in ledger.rows()]
        assert rows == [("kudos", 5.0)] * 3 + [("kudos_undone", -5.0)]
        assert ledger.balances() == [("agent", "petr", 10.0, 4)]
    finally:
        ledger.close()
    again = asa.post("/thanks/undo", data={"csrf": form_of(asa)["csrf"], "id": "3"})
    assert again.status_code == 409 and "already undone" in again.text
    assert give(asa, "bo").status_code == 303  # the slot came back
    team.clock.advance(11)  # thanks 1 and 2 are now over ten minutes old
    late = asa.post("/thanks/undo", data={"csrf": form_of(asa)["csrf"], "id": "1"})
    assert late.status_code == 409 and "Thanks can be undone for 10 minutes; this one stands." in late.text
    assert 'action="/thanks/undo"' in asa.get("/thanks").text  # only thanks 4's button is left
    assert asa.get("/thanks").text.count('action="/thanks/undo"') == 1


def test_another_persons_thank_you_cannot_be_undone_by_me(team: Team) -> None:
    asa, bo = team.person("asa"), team.person("bo")
    assert give(asa, "petr").status_code == 303
    refused = bo.post("/thanks/undo", data={"csrf": form_of(bo)["csrf"], "id": "1"})
    assert refused.status_code == 404 and "There is no such thank-you of yours." in refused.text
    assert bo.post("/thanks/undo", data={"csrf": form_of(bo)["csrf"], "id": "x1"}).status_code == 404
    assert "Thanks sent to" not in bo.get("/thanks?sent=1").text  # nor is someone else's shown as mine
    assert balances(team) == [("agent", "petr", 5.0, 1)]


def test_odd_ids_in_the_address_or_the_form_are_a_clear_answer_never_a_500(team: Team) -> None:
    asa = team.person("asa")
    assert give(asa, "petr").status_code == 303
    for odd in ("²", "9" * 30, "x", "-1", "1.0"):
        assert asa.get(f"/thanks?sent={odd}").status_code == 200, odd
        assert asa.get(f"/thanks?sent=x&undone={odd}").status_code == 200, odd
        undo = asa.post("/thanks/undo", data={"csrf": form_of(asa)["csrf"], "id": odd})
        assert undo.status_code == 404, odd
    assert balances(team) == [("agent", "petr", 5.0, 1)]


def test_an_undo_never_takes_back_points_already_spent_in_the_shop(team: Team) -> None:
    from feeds.game.shop import Shop

    asa = team.person("asa")
    assert give(asa, "petr").status_code == 303
    shop = Shop(team.state, "UTC")
    try:
        item = shop.add_item("Fika", 5, None, "tax_free")
        shop.request("petr", item)  # Пётр spends the 5 points at once
        refused = asa.post("/thanks/undo", data={"csrf": form_of(asa)["csrf"], "id": "1"})
        assert refused.status_code == 409 and "already spent in the shop" in refused.text
        assert [b for b in balances(team) if b[1] == "petr"][0][2] == 0.0  # never below zero
    finally:
        shop.close()


def test_every_new_form_is_refused_without_its_csrf_token(team: Team) -> None:
    asa = team.person("asa")
    assert give(asa, "petr").status_code == 303
    key = form_of(asa)["key"]
    for path, data in (("/thanks", {"to": "petr", "text": "Forged", "key": key}), ("/thanks/undo", {"id": "1"}),
                       ("/me/privacy", {"ranking": "hidden", "alias": ""})):
        for forged in (data, {**data, "csrf": "not-the-token"}):
            reply = asa.post(path, data=forged)
            assert reply.status_code == 403, path
            assert "did not come from this site" in reply.text
    assert balances(team) == [("agent", "petr", 5.0, 1)]
    store = ThanksStore(team.state)
    try:
        assert store.get(1) is not None and store.get(1).undone_at is None  # type: ignore[union-attr]
    finally:
        store.close()
    assert "Rank me as usual" in asa.get("/me").text  # the forged privacy post changed nothing


def test_a_watcher_may_give_thanks_and_an_admin_by_password_may_not(team: Team, tmp_path: Path) -> None:
    watcher = team.person("wendy", role="watcher")
    assert give(watcher, "asa", "Great demo").status_code == 303
    assert balances(team) == [("agent", "asa", 5.0, 1)]
    from feeds.web.auth import write_password_hash

    write_password_hash(tmp_path / "pw", "correct horse battery staple")
    admin = TestClient(team.app, follow_redirects=False)  # type: ignore[arg-type]
    team.clients.append(admin)
    csrf = form_of(admin, "/admin/sign-in")["csrf"]
    signed = admin.post("/admin/sign-in", data={"csrf": csrf, "password": "correct horse battery staple"})
    assert signed.status_code == 303
    assert admin.get("/thanks").status_code == 403
    csrf = form_of(admin, "/admin")["csrf"]
    refused = admin.post("/thanks", data={"csrf": csrf, "key": "k", "to": "asa", "text": "From the admin"})
    assert refused.status_code == 403 and "not a person" in refused.text
    assert admin.get("/me").status_code == 403
    assert balances(team) == [("agent", "asa", 5.0, 1)]


@pytest.mark.slow
def test_a_real_chalkwall_web_pays_a_thank_you_once_in_the_ledger(tmp_path: Path) -> None:
    from test_web import signed_in, start_web, stop_web

    web = start_web(tmp_path)
    try:
        save_board(web.state)
        asa = signed_in(web, "asa")
        page = asa.get("/thanks").text
        fields = dict(re.findall(r'name="(csrf|key)" value="([^"]+)"', page))
        data = {**fields, "to": "petr", "text": "Спасибо, Пётр!", "visibility": "quiet"}
        assert asa.post("/thanks", data=data).status_code == 303
        assert asa.post("/thanks", data=data).status_code == 303  # posted twice
        ledger = Ledger(web.state)
        try:
            assert ledger.balances() == [("agent", "petr", 5.0, 1)]
        finally:
            ledger.close()
        assert "thanks 1: asa thanked petr (quiet)" in web.log_text()
        assert "Спасибо" not in web.log_text()  # the words are the people's, not the log's
    finally:
        stop_web(web)


@pytest.mark.slow
def test_a_real_wall_shows_a_thank_you_from_a_real_team_page_within_2_s(tmp_path: Path) -> None:
    from helpers import WallProcess, write_config
    from test_web import signed_in, start_web, stop_web

    web = start_web(tmp_path)
    wall_dir = tmp_path / "wall"
    wall_dir.mkdir()
    (wall_dir / "feed.json").write_text(json.dumps(doc(*FLOOR)), encoding="utf-8")
    config = write_config(wall_dir, f'[feed]\ntype = "file"\npath = "feed.json"\ninterval = 30\n'
                                    f'[state]\ndir = "{web.state}"\n')  # the team page's state file
    wall = WallProcess(config, tmp_path / "xdg", runtime=tmp_path / "run")
    try:
        wall.wait_status(lambda s: (s.get("board") or {}).get("agents") == 3, timeout=30)
        asa = signed_in(web, "asa", "Åsa Ödegård")
        fields = dict(re.findall(r'name="(csrf|key)" value="([^"]+)"', asa.get("/thanks").text))
        before = len(wall.records)
        sent = asa.post("/thanks", data={**fields, "to": "petr", "text": "Tack!", "visibility": "public"})
        posted = time.monotonic()
        assert sent.status_code == 303
        arrived, record = wall.wait_for(lambda r: r.get("event") == "toast_shown", timeout=2.0, after=before)
        assert record["key"] == "web:1" and record["title"] == "Åsa Ödegård thanked Пётр Иванов"
        assert arrived - posted < 2.0
        assert "Tack!" not in "".join(wall.lines)  # the words are on the screen, not in the log
    finally:
        assert wall.stop() == 0
        stop_web(web)


def test_the_wall_shows_a_public_thank_you_within_2_s_and_an_undo_takes_the_toast_away(tmp_path: Path) -> None:
    from display.clock import SystemClock
    from display.shot import init_offscreen, make_stage
    from display.wall import Wall
    from feeds.config.schema import load_config
    from feeds.live.feed import open_live_feed
    from helpers import write_config

    init_offscreen()
    state = tmp_path / "state"
    (tmp_path / "feed.json").write_text(json.dumps(doc(*FLOOR)), encoding="utf-8")
    loaded = load_config(str(write_config(tmp_path, f'[feed]\ntype = "file"\npath = "feed.json"\ninterval = 30\n'
                                                    f'[state]\ndir = "{state}"\n')))
    live = open_live_feed(loaded)
    wall = Wall(make_stage(loaded, (1280, 720), SystemClock()))
    live.start()
    store = ThanksStore(state)  # the team page's connection: another one than the wall's

    def toasts() -> list[str]:
        wall.update(live.coordinator.state(), live.coordinator.drain_events())
        return [c.title for _, c in wall.celebrations.toasts] + [c.title for c in wall.celebrations.waiting]

    def within(seconds: float, test) -> bool:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if test():
                return True
            time.sleep(0.05)
        return False

    try:
        assert within(5, lambda: live.coordinator.state().board is not None)
        day = calendar_for(loaded.config).period("day", datetime.now(timezone.utc)).key
        store.give("quiet-form", "asa", "bo", "Shh", False, day=day, points=5, per_sender_per_day=3)
        quiet_written = time.monotonic()
        store.give("public-form", "asa", "petr", "Tack för hjälpen!", True, day=day, points=5, per_sender_per_day=3)
        assert within(2.0, lambda: toasts() == ["Åsa Ödegård thanked Пётр Иванов"]), toasts()
        assert time.monotonic() - quiet_written < 2.5
        assert "Shh" not in [c.detail for _, c in wall.celebrations.toasts]  # quiet: never on the wall
        wins = wall.scenes["wins"]
        assert [e.id for e in wins.latest()] == ["web:2"]  # type: ignore[attr-defined]
        store.undo(2, "asa")
        assert within(2.0, lambda: toasts() == []), toasts()
        assert wins.latest() == []  # type: ignore[attr-defined]
        # Undone before the wall saw it: it never shows.
        store.give("third", "bo", "asa", "Thanks!", True, day=day, points=5, per_sender_per_day=3)
        store.undo(3, "bo")
        time.sleep(1.5)
        assert toasts() == []
        store.give("fourth", "bo", "petr", "Still here", True, day=day, points=5, per_sender_per_day=3)
        assert within(2.0, lambda: toasts() == ["Bo thanked Пётр Иванов"]), toasts()
    finally:
        live.stop()
    # A restart does not show again the thanks already shown (web:4), only what is new (web:5).
    again = open_live_feed(loaded)
    again.start()
    try:
        store.give("fifth", "bo", "petr", "Again?", True, day=day, points=5, per_sender_per_day=3)
        fresh = Wall(make_stage(loaded, (1280, 720), SystemClock()))
        seen: list[str] = []
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline and not seen:
            fresh.update(again.coordinator.state(), again.coordinator.drain_events())
            seen = [c.key for _, c in fresh.celebrations.toasts]
            time.sleep(0.05)
        assert seen == ["web:5"]
        time.sleep(0.6)
        fresh.update(again.coordinator.state(), again.coordinator.drain_events())
        assert [c.key for c in fresh.celebrations.waiting] == []
    finally:
        again.stop()
        store.close()


def test_the_reader_wakes_the_wall_only_for_news(tmp_path: Path) -> None:
    from feeds.live.thanks import ThanksReader
    from feeds.privacy.choices import Choices

    state = tmp_path / "state"
    calls: list[tuple[list[str], list[str]]] = []
    reader = ThanksReader(state, lambda events, others: calls.append(
        ([e.id for e in events], [o.event_id for o in others])))  # type: ignore[attr-defined]
    store, choices = ThanksStore(state), Choices(state)
    try:
        assert reader.check() == 0 and reader.check() == 0
        choices.set("asa", "hidden")  # another write to the same file: looked at, nothing to say
        assert reader.check() == 0
        store.give("q", "asa", "bo", "Quiet one", False, day="day:x", points=5, per_sender_per_day=3)
        assert reader.check() == 0
        store.give("p", "asa", "bo", "Public one", True, day="day:x", points=5, per_sender_per_day=3)
        assert reader.check() == 1 and reader.check() == 0
        store.undo(2, "asa")
        assert reader.check() == 1
        store.undo(1, "asa")  # a quiet one was never on the wall: nothing to take back there
        assert reader.check() == 0
        assert calls == [(["web:2"], []), ([], ["web:2"])]
    finally:
        store.close()
        choices.close()
        reader.close()


def test_a_config_reload_does_not_show_a_thank_you_twice(tmp_path: Path) -> None:
    """The wall's reload: the new live feed is made while the old one still runs, and starts once
    the old one stopped. A thank-you the old one announced in between is not news to the new one."""
    from feeds.board.diff import FeedEventReceived
    from feeds.config.schema import load_config
    from feeds.live.feed import open_live_feed
    from helpers import write_config

    state = tmp_path / "state"
    (tmp_path / "feed.json").write_text(json.dumps(doc(*FLOOR)), encoding="utf-8")
    loaded = load_config(str(write_config(tmp_path, f'[feed]\ntype = "file"\npath = "feed.json"\ninterval = 30\n'
                                                    f'[state]\ndir = "{state}"\n')))
    old = open_live_feed(loaded)
    old.start()
    fresh = open_live_feed(loaded, after=old.coordinator)
    store = ThanksStore(state)
    announced: list[str] = []
    try:
        store.give("k", "asa", "petr", "Tack!", True, day="day:x", points=5, per_sender_per_day=3)
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline and not announced:
            announced += [e.event.id for e in old.coordinator.drain_events() if isinstance(e, FeedEventReceived)]
            time.sleep(0.05)
        assert announced == ["web:1"]
        old.stop()
        fresh.coordinator.take_over(old.coordinator)
        fresh.start()
        time.sleep(1.2)  # two looks of the new reader
        again = [e.event.id for e in fresh.coordinator.drain_events() if isinstance(e, FeedEventReceived)]
        assert "web:1" not in again
    finally:
        fresh.stop()
        store.close()


def test_a_thank_you_taken_back_while_the_screen_is_dark_is_not_in_the_welcome_back(tmp_path: Path) -> None:
    from display.clock import FakeClock as DisplayClock
    from display.shot import init_offscreen, make_stage
    from display.wall import Wall
    from feeds.board.build import build_board
    from feeds.board.diff import FeedEventReceived, ThanksWithdrawn
    from feeds.config.schema import load_config
    from feeds.live.coordinator import FeedState
    from feeds.model import FeedEvent
    from helpers import write_config

    init_offscreen()
    loaded = load_config(str(write_config(tmp_path, "")))
    clock = DisplayClock()
    wall = Wall(make_stage(loaded, (1280, 720), clock))
    state = FeedState(build_board(normalise(doc(*FLOOR)), loaded.config.board), 1.0, None, 0, False, 1)
    at = datetime.fromtimestamp(clock.wall(), timezone.utc).isoformat()
    kept, taken_back = (FeedEvent(f"web:{n}", "kudos", at, {"from": "asa", "to": "petr", "text": t})
                        for n, t in ((1, "Tack!"), (2, "Oops")))
    wall.celebrations.hold()  # the screen went dark
    wall.update(state, [FeedEventReceived(kept), FeedEventReceived(taken_back)])
    assert [c.key for _, c in wall.celebrations.held] == ["web:1", "web:2"]
    wall.update(state, [ThanksWithdrawn("web:2")])
    assert wall.celebrations.welcome_back(3600) == (1, 0)
    assert wall.celebrations.queue[0].key == "away:web:1"
