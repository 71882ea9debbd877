"""The Me page's "where the wall shows me now" over the real app (TestClient) and the real preview
renderer (pygame under SDL's dummy driver) drawing a board saved in a real state file: the scenes
listed for an agent on the leaderboard, with their pictures; none for a hidden person; the alias
used; a page further down a long board; another person's pictures out of reach; the same
sign-in and CSRF rules as the rest of the app; and the previews redacted with the people's own
choices as the wall is (a preview never shows what the wall would not)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from html import unescape
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from display.preview import Previews
from feeds.config.schema import load_config
from feeds.web.app import Site, build_app
from feeds.web.auth import RateLimit, write_password_hash
from feeds.web.people import People
from helpers import doc, write_config
from test_admin import PASSWORD, csrf, png_size, save_board

LOOK = Path("/tmp/chalkwall-me-wall")  # where the pictures land for a person to open and look at
BOARD = doc({"id": "asa", "name": "Åsa Ödegård", "team": "Nord", "metrics": {"tickets_solved": 31}},
            {"id": "petr", "name": "Пётр Иванов", "team": "Öst", "metrics": {"tickets_solved": 27}},
            {"id": "bo", "name": "Bo Berg", "team": "Nord", "metrics": {"tickets_solved": 12}})
LONG = doc(*({"id": f"p{n:02d}", "name": f"Person {n:02d}", "team": "Nord" if n % 2 else "Öst",
              "metrics": {"tickets_solved": 100 - n}} for n in range(1, 41)))


@dataclass
class Setup:
    client: TestClient
    people: People
    previews: Previews
    state: Path

    def person(self, person_id: str, name: str) -> TestClient:
        client = TestClient(self.client.app, base_url="http://testserver")
        link = self.people.invite(person_id, name, "agent")
        assert client.get(f"/in/{link}", follow_redirects=False).status_code == 303
        return client

    def admin(self) -> TestClient:
        client = TestClient(self.client.app, base_url="http://testserver")
        reply = client.post("/admin/sign-in", data={"csrf": csrf(client, "/admin/sign-in"), "password": PASSWORD},
                            follow_redirects=False)
        assert reply.status_code == 303
        return client


def make(tmp_path: Path, board: dict[str, object], extra: str = "") -> Setup:
    state = tmp_path / "state"
    config = write_config(tmp_path, f'[feed]\ntype = "http"\nurl = "http://127.0.0.1:9/feed"\n'
                                    f'[state]\ndir = "{state}"\n{extra}')
    loaded = load_config(str(config))
    write_password_hash(tmp_path / "pw", PASSWORD)
    people = People(state)
    previews = Previews(loaded)
    site = Site(people, tmp_path / "pw", "http://testserver", RateLimit(), config_path=config,
                preview=previews.png, scenes=previews.scenes, config=loaded.config,
                wall_of=previews.appearances, wall_picture=previews.page_png)
    save_board(state, board)
    return Setup(TestClient(build_app(site), base_url="http://testserver"), people, previews, state)


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    made = make(tmp_path, BOARD)
    yield made
    made.previews.close()
    made.people.close()


def section(html: str) -> str:
    """The text of the Me page's "Where the wall shows me now" card."""
    found = re.search(r'<div class="card" id="on-wall">(.*?)</div>', html, re.S)
    assert found, "no wall section on the Me page"
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", found.group(1))).split())


def pictures(html: str) -> list[str]:
    found = re.search(r'<div class="card" id="on-wall">(.*?)</div>', html, re.S)
    assert found
    return re.findall(r'<img class="preview"[^>]* src="([^"]+)"', found.group(1))


def choose(client: TestClient, ranking: str, alias: str = "") -> None:
    reply = client.post("/me/privacy", data={"csrf": csrf(client, "/me"), "ranking": ranking, "alias": alias},
                        follow_redirects=False)
    assert reply.status_code == 303, reply.text


def test_an_agent_on_the_leaderboard_sees_the_scenes_that_show_them_with_their_pictures(setup: Setup) -> None:
    asa = setup.person("asa", "Åsa Ödegård")
    page = asa.get("/me")
    text = section(page.text)
    assert "The wall shows you as Åsa Ödegård on" in text and "The leaderboard" in text
    shown = pictures(page.text)
    assert "/me/wall/leaderboard.png" in shown
    assert not any("celebration" in url for url in shown)  # a burst of confetti is not a place on the wall
    LOOK.mkdir(exist_ok=True)
    for url in shown:
        reply = asa.get(url)
        assert reply.status_code == 200 and reply.headers["content-type"] == "image/png"
        assert png_size(reply.content) == (1920, 1080)
        assert reply.headers["cache-control"] == "no-store"
        (LOOK / url.rsplit("/", 1)[1]).write_bytes(reply.content)
    name, seen = setup.previews.appearances("asa")  # type: ignore[misc]
    assert name == "Åsa Ödegård" and [s.scene for s in seen] == [u.rsplit("/", 1)[1][:-4] for u in shown]
    drawn = setup.previews.render("leaderboard")
    assert drawn is not None and drawn.shows("Åsa Ödegård") and drawn.shows("Пётр Иванов")
    assert setup.previews.render_all() is setup.previews.render_all()  # kept: a page view never draws
    (LOOK / "me.html").write_text(page.text, encoding="utf-8")


def test_a_hidden_person_is_shown_nowhere_and_the_previews_hide_them_too(setup: Setup) -> None:
    petr = setup.person("petr", "Пётр Иванов")
    assert "/me/wall/leaderboard.png" in pictures(petr.get("/me").text)
    before = setup.previews.render_all()
    choose(petr, "hidden")
    text = section(petr.get("/me").text)
    assert "The wall does not show you right now" in text and "You chose to be hidden" in text
    assert pictures(petr.get("/me").text) == []
    for scene in ("leaderboard", "teams", "near", "wins"):
        assert petr.get(f"/me/wall/{scene}.png").status_code == 404
    after = setup.previews.render_all()
    assert after is not before  # drawn again at once under the new choice, not after the cache's 30 s
    assert after is not None
    assert all(not r.shows("Пётр Иванов") for r in after.values())  # the admin's previews as the wall: hidden
    assert after["leaderboard"].shows("Åsa Ödegård")


def test_my_alias_is_the_name_looked_for_and_drawn(setup: Setup) -> None:
    asa = setup.person("asa", "Åsa Ödegård")
    choose(asa, "ranked", "Snöugglan")
    page = asa.get("/me")
    assert "The wall shows you as Snöugglan on" in section(page.text)
    drawn = setup.previews.render("leaderboard")
    assert drawn is not None and drawn.shows("Snöugglan") and not drawn.shows("Åsa Ödegård")
    assert asa.get("/me/wall/leaderboard.png").status_code == 200


def test_celebrate_only_keeps_me_off_the_rankings_and_says_so(setup: Setup) -> None:
    bo = setup.person("bo", "Bo Berg")
    choose(bo, "celebrate_only")
    name, seen = setup.previews.appearances("bo")  # type: ignore[misc]
    assert name == "Bo Berg" and "leaderboard" not in [s.scene for s in seen]
    assert bo.get("/me/wall/leaderboard.png").status_code == 404


def test_another_persons_pictures_are_out_of_reach(setup: Setup) -> None:
    outsider = setup.person("zed", "Zed Zetterlund")  # invited, not on the wall's board
    text = section(outsider.get("/me").text)
    assert "The wall does not show you right now" in text and "not on the wall's last board" in text
    for url in ("/me/wall/leaderboard.png", "/me/wall/leaderboard.png?person=asa", "/me/wall/teams.png",
                "/me/wall/nope.png", "/me/wall/leaderboard.png?page=0", "/me/wall/leaderboard.png?page=99999",
                "/me/wall/leaderboard.png?page=-1", "/me/wall/..%2Fadmin.png"):
        assert outsider.get(url).status_code == 404, url
    petr = setup.person("petr", "Пётр Иванов")
    assert petr.get("/me/wall/leaderboard.png").status_code == 200  # the same scene is his to see


def test_the_pictures_need_a_persons_sign_in(setup: Setup) -> None:
    visitor = TestClient(setup.client.app, base_url="http://testserver")
    reply = visitor.get("/me/wall/leaderboard.png", follow_redirects=False)
    assert (reply.status_code, reply.headers["location"]) == (303, "/sign-in")
    assert setup.admin().get("/me/wall/leaderboard.png").status_code == 403  # an admin is nobody on the wall
    asa = setup.person("asa", "Åsa Ödegård")
    assert asa.post("/me/wall/leaderboard.png").status_code == 405
    forged = asa.post("/me/privacy", data={"csrf": "forged", "ranking": "hidden"}, follow_redirects=False)
    assert forged.status_code == 403
    assert "The wall shows you as Åsa Ödegård" in section(asa.get("/me").text)  # the forged choice did nothing


def test_a_page_further_down_a_long_board_is_the_one_listed(tmp_path: Path) -> None:
    made = make(tmp_path, LONG, '[display]\nsize = "1280x720"\n')
    try:
        last = made.person("p40", "Person 40")
        page = last.get("/me")
        found = re.search(r"The leaderboard · page (\d+)", section(page.text))
        assert found and int(found.group(1)) >= 2, section(page.text)
        number = int(found.group(1))
        assert f"/me/wall/leaderboard.png?page={number}" in pictures(page.text)
        reply = last.get(f"/me/wall/leaderboard.png?page={number}")
        assert reply.status_code == 200 and png_size(reply.content) == (1280, 720)
        LOOK.mkdir(exist_ok=True)
        (LOOK / f"leaderboard-page-{number}.png").write_bytes(reply.content)
        assert last.get("/me/wall/leaderboard.png").status_code == 404  # page 1 does not show Person 40
        drawn = made.previews.render("leaderboard")
        assert drawn is not None and len(drawn.pages) >= 2
        assert drawn.pages[number - 1].shows("Person 40") and not drawn.pages[0].shows("Person 40")
        assert drawn.pages[number - 1].title.endswith(f"page {number} of {len(drawn.pages)}")
    finally:
        made.previews.close()
        made.people.close()


def test_without_the_display_code_the_section_says_so(tmp_path: Path) -> None:
    state = tmp_path / "state"
    people = People(state)
    try:
        site = Site(people, tmp_path / "pw", "http://testserver", RateLimit())
        client = TestClient(build_app(site), base_url="http://testserver")
        link = people.invite("asa", "Åsa Ödegård", "agent")
        client.get(f"/in/{link}")
        assert "runs without the wall's display code" in section(client.get("/me").text)
        assert client.get("/me/wall/leaderboard.png").status_code == 404
    finally:
        people.close()


def test_a_real_chalkwall_web_shows_a_person_where_the_wall_shows_them(tmp_path: Path) -> None:
    """The composition root's wiring: ``chalkwall web`` (a real subprocess) hands the Me page the
    wall's pictures, and a hidden person's choice takes them away."""
    from test_web import csrf_of, signed_in, start_web, stop_web

    web = start_web(tmp_path)
    try:
        save_board(web.state, BOARD)
        petr = signed_in(web, "petr", "Пётр Иванов")
        page = petr.get("/me", timeout=60)
        assert "The wall shows you as Пётр Иванов on" in section(page.text)
        picture = petr.get("/me/wall/leaderboard.png", timeout=60)
        assert picture.status_code == 200 and png_size(picture.content) == (1920, 1080)
        assert petr.post("/me/privacy", data={"csrf": csrf_of(petr, "/me"), "ranking": "hidden",
                                              "alias": ""}).status_code == 303
        assert "The wall does not show you right now" in section(petr.get("/me", timeout=60).text)
        assert petr.get("/me/wall/leaderboard.png", timeout=60).status_code == 404
    finally:
        stop_web(web)
