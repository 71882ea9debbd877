"""The admin's pages over the real app and a real SQLite state file (TestClient for page logic,
one real ``chalkwall web`` subprocess): the approval queue, items, roles, the config's problems
as they are on disk now, and scene previews drawn from the wall's last saved board; nobody but an
admin reaches any of it, and every form refuses a missing or forged CSRF token."""

from __future__ import annotations

import json
import re
import struct
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from starlette.routing import Route
from starlette.testclient import TestClient

from display.preview import Previews
from feeds.config.schema import load_config
from feeds.connectors.parse import parse_document
from feeds.game.ledger import Award, Ledger
from feeds.game.shop import Shop
from feeds.live.state import StoredBoard
from feeds.web.app import Site, build_app
from feeds.web.auth import RateLimit, write_password_hash
from feeds.web.people import People
from helpers import doc, write_config

PASSWORD = "correct horse battery staple"
LOOK = Path("/tmp/chalkwall-shop-look")  # where the previews land for a person to open and look at
BOARD = doc({"id": "a1", "name": "Åsa Ödegård", "team": "Nord", "metrics": {"tickets_solved": 31}},
            {"id": "a2", "name": "Пётр Иванов", "team": "Öst", "metrics": {"tickets_solved": 27}},
            {"id": "a3", "name": "Bo Berg", "team": "Nord", "metrics": {"tickets_solved": 12}})


def save_board(state: Path, document: dict[str, object] = BOARD) -> None:
    """What a running wall keeps: its last good board, in the state file."""
    body = json.dumps(document).encode()
    board = StoredBoard(state, every=0)
    board.save(parse_document(body, len(body) + 1), time.time())
    board.close()


def grant(state: Path, person: str, points: float) -> None:
    ledger = Ledger(state)
    try:
        ledger.award(Award("c1", "agent", person, f"2026-12-01#{person}", points, "chalkwall"))
    finally:
        ledger.close()


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@dataclass
class Setup:
    app: TestClient
    site: Site
    people: People
    shop: Shop
    state: Path
    config: Path
    previews: Previews | None

    def admin(self) -> TestClient:
        client = TestClient(self.app.app, base_url="http://testserver")
        token = csrf(client, "/admin/sign-in")
        reply = client.post("/admin/sign-in", data={"csrf": token, "password": PASSWORD}, follow_redirects=False)
        assert (reply.status_code, reply.headers["location"]) == (303, "/admin")
        return client

    def person(self, person_id: str, name: str, role: str = "agent") -> TestClient:
        client = TestClient(self.app.app, base_url="http://testserver")
        link = self.people.invite(person_id, name, role)  # type: ignore[arg-type]
        assert client.get(f"/in/{link}", follow_redirects=False).status_code == 303
        return client


def csrf(client: TestClient, path: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def make_setup(tmp_path: Path, extra: str = "", previews: bool = True) -> Setup:
    state = tmp_path / "state"
    config = write_config(tmp_path, f'[feed]\ntype = "http"\nurl = "http://127.0.0.1:9/feed"\n'
                                    f'[state]\ndir = "{state}"\n{extra}')
    loaded = load_config(str(config))
    write_password_hash(tmp_path / "pw", PASSWORD)
    people, shop = People(state), Shop(state)
    drawing = Previews(loaded) if previews else None
    site = Site(people, tmp_path / "pw", "http://testserver", RateLimit(), shop=shop, config_path=config,
                check=drawing.check if drawing else None, preview=drawing.png if drawing else None,
                scenes=drawing.scenes if drawing else ())
    return Setup(TestClient(build_app(site), base_url="http://testserver"), site, people, shop, state, config, drawing)


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    made = make_setup(tmp_path)
    yield made
    if made.previews is not None:
        made.previews.close()
    made.shop.close()
    made.people.close()


def test_the_admin_adds_edits_and_retires_items_and_bad_input_says_what_is_wrong(setup: Setup) -> None:
    admin = setup.admin()
    token = csrf(admin, "/admin/items")
    page = admin.get("/admin/items").text
    assert "Prizes are taxable income in Sweden" in page and "friskvård" in page
    for fields, message in (({"name": "", "cost": "5"}, "Give the item a name"),
                            ({"name": "Mug", "cost": "lots"}, 'The cost must be a number of points, not &#34;lots&#34;'),
                            ({"name": "Mug", "cost": "-3"}, "The cost must be more than 0"),
                            ({"name": "Mug", "cost": "5", "stock": "-1"}, "Stock is a whole number"),
                            ({"name": "Mug", "cost": "5", "tax": "maybe"}, "Say whether the item is taxable")):
        reply = admin.post("/admin/items/add", data={"csrf": token, "tax": "taxable", **fields})
        assert reply.status_code == 400 and message in reply.text, fields
    assert setup.shop.items() == []
    reply = admin.post("/admin/items/add", data={"csrf": token, "name": "Blommor", "cost": "25,5", "stock": "4",
                                                 "tax": "tax_free", "tax_note": ""}, follow_redirects=False)
    assert reply.status_code == 303
    [item] = setup.shop.items()
    assert (item.name, item.cost, item.stock, item.tax, item.active) == ("Blommor", 25.5, 4, "tax_free", True)
    admin.post("/admin/items/edit", data={"csrf": token, "item": str(item.id), "name": "Blommor (bukett)", "cost": "30",
                                          "stock": "", "tax": "ask", "tax_note": "Ask Karin in payroll"})
    admin.post("/admin/items/retire", data={"csrf": token, "item": str(item.id), "active": "0"})
    [item] = setup.shop.items()
    assert (item.name, item.cost, item.stock, item.tax, item.note, item.active) == \
        ("Blommor (bukett)", 30.0, None, "ask", "Ask Karin in payroll", False)
    assert "(retired)" in admin.get("/admin/items").text and setup.shop.items(active_only=True) == []


def test_request_approve_fulfil_and_request_decline_through_the_pages(setup: Setup) -> None:
    grant(setup.state, "a1", 100)
    tickets = setup.shop.add_item("Biobiljetter", 60, None, "taxable")
    fika = setup.shop.add_item("Team fika", 30, 2, "tax_free")
    agent = setup.person("a1", "Åsa Ödegård")
    token = csrf(agent, "/shop")
    for item in (tickets, fika):
        assert agent.post("/shop/request", data={"csrf": token, "item": str(item)}, follow_redirects=False).status_code == 303
    admin = setup.admin()
    queue = admin.get("/admin/queue").text
    assert "Queue (2)" in queue and "Åsa Ödegård" in queue and "Biobiljetter" in queue
    token = csrf(admin, "/admin/queue")
    first, second = sorted(r.id for r in setup.shop.requests())
    assert admin.post("/admin/approve", data={"csrf": token, "request": str(first)}, follow_redirects=False).status_code == 303
    assert "Mark fulfilled" in admin.get("/admin/queue").text
    admin.post("/admin/fulfil", data={"csrf": token, "request": str(first)})
    admin.post("/admin/decline", data={"csrf": token, "request": str(second), "reason": "Fika är på fredag ändå"})
    again = admin.post("/admin/decline", data={"csrf": token, "request": str(second)})
    assert again.status_code == 409 and "declined already" in again.text
    mine = agent.get("/shop").text
    assert "handed over" in mine and "declined, points back: “Fika är på fredag ändå”" in mine
    assert "You have <span class=\"price\">40 points</span>" in mine
    ledger = Ledger(setup.state)
    try:
        steps = [(r[4], r[6]) for r in ledger.rows() if r[7] == "shop"]
    finally:
        ledger.close()
    assert steps == [("shop:hold", -60.0), ("shop:hold", -30.0), ("shop:approve", 0.0), ("shop:fulfil", 0.0),
                     ("shop:refund", 30.0)]
    assert setup.shop.item(fika).stock == 2  # type: ignore[union-attr]


def admin_routes(site: Site) -> list[Route]:
    app = build_app(site)
    return [r for r in app.routes if isinstance(r, Route) and r.path.startswith("/admin") and r.path != "/admin/sign-in"]


def test_an_agent_reaches_no_admin_route_and_cannot_approve_their_own_request(setup: Setup) -> None:
    grant(setup.state, "a1", 100)
    item = setup.shop.add_item("Biobiljetter", 60, None, "taxable")
    agent = setup.person("a1", "Åsa Ödegård")
    token = csrf(agent, "/shop")
    agent.post("/shop/request", data={"csrf": token, "item": str(item)})
    [made] = setup.shop.requests()
    boss = setup.person("b1", "Karin Lind", role="admin")  # even the admin role: a link never makes an admin
    tried = []
    for client in (agent, boss):
        token = csrf(client, "/")
        for route in admin_routes(setup.site):
            path = route.path.replace("{scene}", "leaderboard")
            for method in sorted((route.methods or set()) - {"HEAD"}):
                data = {"csrf": token, "request": str(made.id), "item": str(item), "id": "a1", "role": "admin",
                        "name": "x", "cost": "1", "tax": "taxable", "active": "0"}
                reply = client.request(method, path, data=data if method == "POST" else None, follow_redirects=False)
                assert reply.status_code == 403 and "Admins only" in reply.text, (method, path)
                tried.append(f"{method} {path}")
    assert {"POST /admin/approve", "POST /admin/fulfil", "POST /admin/decline", "GET /admin/queue",
            "GET /admin/preview/leaderboard.png", "POST /admin/role", "POST /admin/items/add"} <= set(tried)
    assert setup.shop.get(made.id).status == "pending"  # type: ignore[union-attr]
    assert setup.people.get("a1").role == "agent" and setup.shop.items()[0].active  # type: ignore[union-attr]
    visitor = TestClient(setup.app.app, base_url="http://testserver")
    assert visitor.get("/admin/queue", follow_redirects=False).headers["location"] == "/admin/sign-in"


NEW_FORMS = ("/admin/role", "/admin/approve", "/admin/decline", "/admin/fulfil", "/admin/items/add",
             "/admin/items/edit", "/admin/items/retire")


def test_every_new_form_refuses_a_missing_or_forged_csrf_token(setup: Setup) -> None:
    grant(setup.state, "a1", 100)
    item = setup.shop.add_item("Biobiljetter", 60, None, "taxable")
    agent = setup.person("a1", "Åsa Ödegård")
    made = setup.shop.request("a1", item)
    admin = setup.admin()
    data = {"request": str(made.id), "item": str(item), "id": "a1", "role": "watcher", "name": "Forged",
            "cost": "1", "tax": "taxable", "active": "0"}
    for path in NEW_FORMS:
        for forged in ({}, {"csrf": "not-the-token"}, {"csrf": csrf(agent, "/shop")}):  # another session's token too
            reply = admin.post(path, data={**data, **forged})
            assert reply.status_code == 403 and "did not come from this site" in reply.text, (path, forged)
    for forged in ({}, {"csrf": csrf(admin, "/admin/queue")}):
        assert agent.post("/shop/request", data={"item": str(item), **forged}).status_code == 403
    assert [(r.status, r.id) for r in setup.shop.requests()] == [("pending", made.id)]
    assert [(i.name, i.active) for i in setup.shop.items()] == [("Biobiljetter", True)]
    assert setup.people.get("a1").role == "agent"  # type: ignore[union-attr]
    assert set(NEW_FORMS) | {"/shop/request"} >= {r.path for r in build_app(setup.site).routes
                                                  if isinstance(r, Route) and r.methods == {"POST"}
                                                  and r.path not in ("/sign-out", "/admin/invite", "/admin/revoke",  # test_web's
                                                                     "/thanks", "/thanks/undo", "/me/privacy")}  # test_thanks's


def test_odd_ids_in_a_form_are_refused_never_a_crash(setup: Setup) -> None:
    grant(setup.state, "a1", 100)
    item = setup.shop.add_item("Fika", 5, None, "tax_free")
    agent = setup.person("a1", "Åsa Ödegård")
    admin = setup.admin()
    for odd in ("²", "-1", "1.5", "9" * 40, "", "0x1"):
        assert agent.post("/shop/request", data={"csrf": csrf(agent, "/shop"), "item": odd}).status_code == 400, odd
        for path in ("/admin/approve", "/admin/decline", "/admin/fulfil"):
            assert admin.post(path, data={"csrf": csrf(admin, "/admin/queue"), "request": odd}).status_code == 400
        edit = {"csrf": csrf(admin, "/admin/items"), "item": odd, "name": "x", "cost": "1", "tax": "taxable", "stock": odd}
        assert admin.post("/admin/items/edit", data=edit).status_code == 400
    assert agent.post("/shop/request", data={"csrf": csrf(agent, "/shop"), "item": "424242"}).status_code == 409
    assert admin.post("/admin/approve", data={"csrf": csrf(admin, "/admin/queue"), "request": "424242"}).status_code == 409
    assert setup.shop.requests() == [] and setup.shop.item(item).cost == 5  # type: ignore[union-attr]


def test_the_admin_changes_a_role(setup: Setup) -> None:
    setup.person("r1", "Karin Lind")
    admin = setup.admin()
    reply = admin.post("/admin/role", data={"csrf": csrf(admin, "/admin"), "id": "r1", "role": "role_model"},
                       follow_redirects=False)
    assert reply.status_code == 303 and setup.people.get("r1").role == "role_model"  # type: ignore[union-attr]
    assert admin.post("/admin/role", data={"csrf": csrf(admin, "/admin"), "id": "r1", "role": "boss"}).status_code == 400
    assert admin.post("/admin/role", data={"csrf": csrf(admin, "/admin"), "id": "zz", "role": "agent"}).status_code == 404


def test_a_preview_is_a_real_png_of_the_walls_size_drawn_from_the_saved_board(tmp_path: Path) -> None:
    made = make_setup(tmp_path, '[display]\nsize = "1280x720"\n')
    try:
        admin = made.admin()
        none_yet = admin.get("/admin/preview/leaderboard.png")
        assert none_yet.status_code == 404 and "has not saved a board yet" in none_yet.text
        save_board(made.state)
        page = admin.get("/admin/previews")
        assert 'src="/admin/preview/leaderboard.png"' in page.text
        assert "img-src 'self' data:" in page.headers["content-security-policy"]
        assert "script-src" not in page.headers["content-security-policy"]  # still no scripts at all
        LOOK.mkdir(exist_ok=True)
        for scene in ("leaderboard", "teams", "celebration"):
            reply = admin.get(f"/admin/preview/{scene}.png")
            assert reply.status_code == 200 and reply.headers["content-type"] == "image/png"
            assert png_size(reply.content) == (1280, 720)
            (LOOK / f"preview-{scene}.png").write_bytes(reply.content)
        assert admin.get("/admin/preview/nope.png").status_code == 404
        drawn = made.previews.render("leaderboard")  # type: ignore[union-attr]
        assert drawn is made.previews.render("leaderboard")  # type: ignore[union-attr]  # kept, not drawn again
        assert drawn is not None and drawn.shows("Пётр Иванов") and drawn.shows("Åsa Ödegård")
        assert "leaderboard" in made.previews.scenes_showing("Пётр Иванов")  # type: ignore[union-attr]
        assert made.previews.scenes_showing("Nobody Here") == []  # type: ignore[union-attr]
        visitor = TestClient(made.app.app, base_url="http://testserver")
        reply = visitor.get("/admin/preview/leaderboard.png", follow_redirects=False)
        assert (reply.status_code, reply.headers["location"]) == (303, "/admin/sign-in")
        agent = made.person("a1", "Åsa Ödegård")
        assert agent.get("/admin/preview/leaderboard.png").status_code == 403
    finally:
        made.previews.close()  # type: ignore[union-attr]
        made.shop.close()
        made.people.close()


def test_without_the_display_code_previews_are_off_and_say_so(tmp_path: Path) -> None:
    made = make_setup(tmp_path, previews=False)
    try:
        admin = made.admin()
        assert "Previews are off" in admin.get("/admin/previews").text
        assert admin.get("/admin/preview/leaderboard.png").status_code == 404
    finally:
        made.shop.close()
        made.people.close()


BROKEN = '''[feed]
type = "http"
url = "http://127.0.0.1:9/feed"
intervall = 30
[state]
dir = "{state}"
[display]
theme = "drak"
'''


@pytest.mark.parametrize("full", [True, False], ids=["with-display", "feeds-only"])
def test_the_config_page_lists_the_problems_of_the_file_as_it_is_on_disk_now(tmp_path: Path, full: bool) -> None:
    made = make_setup(tmp_path, previews=full)
    try:
        admin = made.admin()
        assert "No problems." in admin.get("/admin/config").text
        made.config.write_text(BROKEN.format(state=made.state), encoding="utf-8")  # edited after the start
        page = admin.get("/admin/config").text
        assert str(made.config) in page and "feed.intervall" in page
        assert "unknown key (did you mean &#34;interval&#34;?)" in page
        if full:  # the same checks as `chalkwall check`: the theme too
            assert "drak" in page and "dark" in page
        made.config.write_text("[feed\n", encoding="utf-8")
        assert "invalid TOML" in admin.get("/admin/config").text
    finally:
        if made.previews is not None:
            made.previews.close()
        made.shop.close()
        made.people.close()


@pytest.mark.slow
def test_a_real_chalkwall_web_serves_the_shop_queue_config_and_previews(tmp_path: Path) -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from test_web import admin as admin_of, csrf_of, signed_in, start_web, stop_web

    web = start_web(tmp_path)
    try:
        save_board(web.state)
        grant(web.state, "a1", 50)
        shop = Shop(web.state)
        try:
            item = shop.add_item("Blommor", 20, 1, "tax_free")
        finally:
            shop.close()
        agent = signed_in(web, "a1", "Åsa Ödegård")
        asked = agent.post("/shop/request", data={"csrf": csrf_of(agent, "/shop"), "item": str(item)})
        assert asked.status_code == 303
        again = agent.post("/shop/request", data={"csrf": csrf_of(agent, "/shop"), "item": str(item)})
        assert again.status_code == 409 and "Blommor is sold out." in again.text
        admin = admin_of(web)
        assert "Åsa Ödegård" in admin.get("/admin/queue").text
        assert admin.post("/admin/decline", data={"csrf": csrf_of(admin, "/admin/queue"), "request": "1",
                                                  "reason": "Slut i butiken"}).status_code == 303
        assert "Slut i butiken" in agent.get("/shop").text and "30 points" not in agent.get("/shop").text
        assert "50 points" in agent.get("/shop").text
        picture = admin.get("/admin/preview/wins.png", timeout=60)
        assert picture.status_code == 200 and png_size(picture.content) == (1920, 1080)
        LOOK.mkdir(exist_ok=True)
        (LOOK / "subprocess-wins.png").write_bytes(picture.content)
        assert "No problems." in admin.get("/admin/config", timeout=60).text
        assert agent.get("/admin/preview/wins.png").status_code == 403
    finally:
        stop_web(web)
    for secret in web.secrets:
        assert secret not in web.log_text()
