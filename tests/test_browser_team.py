"""The team page's own flows in a real browser (Debian's Chromium through its chromedriver, against
a real ``chalkwall web``): thanks within the daily limit and past it, undo, quiet thanks, the shop
(request → approve → fulfil, request → decline with a reason, two sessions racing for the last
points), an agent kept out of every admin page, a forged shop form. And, marked slow, the wall:
a real ``chalkwall run`` on an Xvfb screen, on the same config and state directory, showing the
toast of a thank-you sent from the browser within 2 s (its log and the X screen's pixels).

One server and two browsers serve the module; each flow uses people of its own, so the daily
limits and balances of one never touch another's.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from browser import Browser, WebServer, missing, start_web, stop_process
from browser import browser, one_browser  # noqa: F401 - pytest fixtures (over this module's `web`)
from feeds.game.ledger import Award, Ledger
from feeds.game.shop import Shop
from feeds.live.thanks import ThanksReader
from helpers import WallProcess, doc
from test_browser_web import Forger, wait_for_team_page

pytestmark = pytest.mark.skipif(missing() is not None and not os.environ.get("CI"), reason=missing() or "")

# The wall's feed: the people on its board (a thank-you makes a toast only for someone on it).
FLOOR = ({"id": "asa", "name": "Åsa Ödegård", "metrics": {"tickets_solved": 7}},
         {"id": "petr", "name": "Пётр Иванов", "metrics": {"tickets_solved": 3}},
         {"id": "bo", "name": "Bo Ek", "metrics": {"tickets_solved": 1}})
FEED = '[feed]\ntype = "file"\npath = "feed.json"\ninterval = 30\n'
# One scene that stays: the screen changes only where the toast comes.
WALL = '[display]\ntitle = "Support"\n[[display.scenes]]\nname = "leaderboard"\nseconds = 600\n'
HEADER_BAND = 0.12  # the top of the screen, where the toast comes (the header is 10% of 720 px)
ADMIN_PAGES = ("/admin", "/admin/queue", "/admin/items", "/admin/config", "/admin/previews",
               "/admin/preview/leaderboard.png")


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    """The module's ``chalkwall web``, its config one a wall can run on too (a file feed of FLOOR)."""
    tmp = tmp_path_factory.mktemp("team")
    (tmp / "feed.json").write_text(json.dumps(doc(*FLOOR)), encoding="utf-8")
    running = start_web(tmp, feed=FEED, extra=WALL)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def second(web: WebServer) -> Iterator[Browser]:
    """A second Chromium (its own profile and cookies): the admin beside the person, or a second phone."""
    started = Browser(web.url)
    yield started
    started.quit()


@pytest.fixture
def other(second: Browser) -> Browser:
    return second.fresh()


# -- helpers -----------------------------------------------------------------------------------
def grant(web: WebServer, person: str, points: float) -> None:
    """Points earned on the floor (a challenge's award, as the wall's engine writes it)."""
    ledger = Ledger(web.state)
    try:
        assert ledger.award(Award(f"grant-{person}-{points}", "agent", person, f"2026-12-01#{person}",
                                  points, "chalkwall"))
    finally:
        ledger.close()


def balance(web: WebServer, person: str) -> float:
    shop = Shop(web.state)
    try:
        return shop.balance(person)
    finally:
        shop.close()


def shop_requests(web: WebServer, person: str) -> list[tuple[str, str]]:
    shop = Shop(web.state)
    try:
        return [(r.item_name, r.status) for r in shop.requests(person=person)]
    finally:
        shop.close()


def element(browser: Browser, xpath: str) -> Any:
    from selenium.webdriver.common.by import By

    return browser.driver.find_element(By.XPATH, xpath)


def press(browser: Browser, xpath: str) -> None:
    """Press the submit button of the form at ``xpath`` and wait for the page it leads to."""
    form = element(browser, xpath)
    old = element(browser, "/html")
    form.find_element("css selector", "button[type=submit], button:not([type])").click()
    browser.wait_for_new_page(old)


def card(title: str) -> str:
    """The XPath of the page's card whose heading names ``title``."""
    return f"//div[contains(@class, 'card')][h2[contains(., '{title}')]]"


def thank(browser: Browser, to: str, text: str, visibility: str = "public") -> None:
    browser.open("/thanks")
    browser.submit("form[action='/thanks']", to=to, text=text, visibility=visibility)


def text_box(browser: Browser) -> str:
    return str(element(browser, "//textarea[@name='text']").get_attribute("value"))


def add_item(admin: Browser, name: str, cost: str, stock: str = "", tax: str = "taxable") -> None:
    admin.open("/admin/items")
    admin.submit("form[action='/admin/items/add']", name=name, cost=cost, stock=stock, tax=tax)
    assert admin.path() == "/admin/items" and name in admin.text()


# -- thanks ------------------------------------------------------------------------------------
def test_the_fourth_thanks_is_refused_with_the_words_kept_and_the_button_then_rests(
        web: WebServer, browser: Browser) -> None:
    browser.sign_in_by_link(web.invite("ingrid", "Ingrid Sjöström"))
    web.invite("petr", "Пётр Иванов")
    for n in range(2):
        thank(browser, "petr", f"Tack nummer {n + 1}!")
        assert "Thanks sent to Пётр Иванов" in browser.text()
    assert "1 of 3 thanks left today" in browser.text()
    # The last one is spent in a second tab while this tab's form is filled in.
    first = browser.driver.current_window_handle
    browser.open("/thanks")
    words = "Спасибо за помощь с очередью, Пётр — and for the coffee ☕"
    form = element(browser, "//form[@action='/thanks']")
    from selenium.webdriver.support.ui import Select

    Select(form.find_element("name", "to")).select_by_value("petr")
    form.find_element("name", "text").send_keys(words)
    browser.driver.switch_to.new_window("tab")
    try:
        thank(browser, "petr", "Tack nummer 3!")
        assert "0 of 3 thanks left today" in browser.text()
    finally:
        browser.driver.close()
        browser.driver.switch_to.window(first)
    press(browser, "//form[@action='/thanks']")  # the form filled in before the limit was reached
    assert browser.status() == 429
    assert "You have given your 3 thanks for today (thanks on the wall count too)" in browser.text()
    assert text_box(browser) == words  # the words are still there, to send tomorrow
    assert element(browser, "//select[@name='to']/option[@selected]").get_attribute("value") == "petr"
    assert element(browser, "//form[@action='/thanks']//button").get_attribute("disabled") is not None
    assert balance(web, "petr") == 15.0  # three paid, the fourth not


def test_undo_takes_the_points_off_the_thanked_persons_me_page_and_gives_the_slot_back(
        web: WebServer, browser: Browser, other: Browser) -> None:
    browser.sign_in_by_link(web.invite("asa", "Åsa Ödegård"))
    other.sign_in_by_link(web.invite("bo", "Bo Ek"))
    thank(browser, "bo", "Tack för att du tog över kön!")
    assert "Thanks sent to Bo Ek" in browser.text() and "2 of 3 thanks left today" in browser.text()
    other.open("/me")
    assert "“Tack för att du tog över kön!” — Åsa Ödegård" in other.text()
    assert element(other, "//p[@class='big']").text.startswith("5 ")
    press(browser, "//div[contains(@class, 'notice')]//form[@action='/thanks/undo']")
    assert browser.path().startswith("/thanks?undone=")
    assert "Undone." in browser.text() and "3 of 3 thanks left today" in browser.text()
    assert "undone" in element(browser, card("Thanks you gave")).text
    other.open("/me")
    assert element(other, "//p[@class='big']").text.startswith("0 ")
    assert "Tack för att du tog över kön!" not in element(other, card("Thanks I received")).text
    assert "taken back" in element(other, card("My points")).text  # the reversing row, not a deletion
    assert balance(web, "bo") == 0.0


def test_quiet_thanks_reach_the_person_but_never_the_wall(web: WebServer, browser: Browser, other: Browser) -> None:
    shown: list[tuple[str, str, str]] = []
    reader = ThanksReader(web.state, lambda events, _: shown.extend(
        (e.data["from"], e.data["to"], e.data["text"]) for e in events))
    reader.check()  # the wall's reader; what it hands on from here on
    shown.clear()
    browser.sign_in_by_link(web.invite("zoe", "Zoë Müller"))
    other.sign_in_by_link(web.invite("olga", "Ольга Кузнецова"))
    thank(browser, "olga", "Тихое спасибо", "quiet")
    assert "quietly: only they see it" in browser.text()
    thank(browser, "olga", "Ett offentligt tack", "public")
    reader.check()
    reader.close()
    public, quiet = (element(browser, f"//li[contains(., '{w}')]").text for w in ("Ett offentligt", "Тихое"))
    assert "· quiet ·" in quiet and "· public ·" in public
    assert shown == [("zoe", "olga", "Ett offentligt tack")]  # the wall is handed the public one only
    other.open("/me")
    received = element(other, card("Thanks I received")).text
    assert "“Тихое спасибо” — Zoë Müller" in received and "· quiet" in received
    assert element(other, "//p[@class='big']").text.startswith("10 ")  # both paid alike


# -- the shop ----------------------------------------------------------------------------------
def test_request_approve_fulfil_and_request_decline_with_a_reason(
        web: WebServer, browser: Browser, other: Browser) -> None:
    admin, person = other, browser
    admin.admin_sign_in()
    add_item(admin, "Biobiljetter (2 st)", "30", stock="5")
    add_item(admin, "Blommor till skrivbordet", "12.5", tax="tax_free")
    person.sign_in_by_link(web.invite("bjorn", "Björn Källström"))
    grant(web, "bjorn", 50)
    person.open("/shop")
    assert "You have 50 points." in person.text()
    press(person, card("Biobiljetter") + "//form[@action='/shop/request']")
    assert person.path().startswith("/shop?asked=") and "Asked for." in person.text()
    assert "You have 20 points." in person.text()
    assert "waiting for an admin (points held)" in element(person, card("My requests")).text
    assert "4 left" in element(person, card("Biobiljetter")).text

    admin.open("/admin/queue")
    assert "Queue (1)" in admin.text()
    mine = f"//div[contains(@class, 'card')][h2[contains(., 'Biobiljetter')]][.//strong[.='Björn Källström']]"
    press(admin, mine + "//form[@action='/admin/approve']")
    press(admin, mine + "//form[@action='/admin/fulfil']")
    assert "fulfilled" in element(admin, card("Done lately")).text
    person.open("/shop")
    assert "handed over" in element(person, card("My requests")).text and "You have 20 points." in person.text()

    press(person, card("Blommor") + "//form[@action='/shop/request']")
    assert "You have 7.5 points." in person.text()
    admin.open("/admin/queue")
    flowers = f"//div[contains(@class, 'card')][h2[contains(., 'Blommor')]][.//strong[.='Björn Källström']]"
    element(admin, flowers + "//summary").click()  # "Decline…" opens the reason field
    element(admin, flowers + "//input[@name='reason']").send_keys("Slut till fredag — fråga igen då")
    press(admin, flowers + "//form[@action='/admin/decline']")
    person.open("/shop")
    assert "You have 20 points." in person.text()  # the 12.5 came back
    assert "declined, points back: “Slut till fredag — fråga igen då”" in element(person, card("My requests")).text
    assert balance(web, "bjorn") == 20.0
    assert sorted(shop_requests(web, "bjorn")) == [("Biobiljetter (2 st)", "fulfilled"),
                                                   ("Blommor till skrivbordet", "declined")]


def test_two_sessions_racing_for_the_last_points_get_exactly_one_item(
        web: WebServer, browser: Browser, other: Browser) -> None:
    """Two phones of one person (two Chromium instances, each signed in by the same link), each
    showing the shop's form, press "Ask for it" at the same moment, three times over."""
    other.admin_sign_in()
    add_item(other, "Lunch med chefen", "40", tax="ask")
    other.driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
    for round_ in range(3):
        person = f"racer{round_}"
        link = web.invite(person, f"Пётр Гонщик {round_}")
        grant(web, person, 40)  # exactly the cost: the last points
        phones = (browser, other)
        for phone in phones:
            phone.driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
            phone.sign_in_by_link(link)
            phone.open("/shop")
        buttons = [element(p, card("Lunch med chefen") + "//form[@action='/shop/request']//button") for p in phones]
        olds = [element(p, "/html") for p in phones]
        start = threading.Barrier(2)
        pressed: list[float] = [0.0, 0.0]

        def tap(i: int) -> None:
            start.wait()
            pressed[i] = time.perf_counter()
            phones[i].driver.execute_script("arguments[0].click()", buttons[i])  # no scrolling, no waiting

        taps = [threading.Thread(target=tap, args=(i,)) for i in range(2)]
        for t in taps:
            t.start()
        for t in taps:
            t.join()
        for phone, old in zip(phones, olds):
            phone.wait_for_new_page(old)
        assert abs(pressed[0] - pressed[1]) < 0.05, pressed
        outcomes = sorted((p.status(), p.text()) for p in phones)
        assert [s for s, _ in outcomes] == [200, 409], outcomes
        assert "Asked for." in outcomes[0][1]
        assert "Lunch med chefen costs 40 points and you have 0" in outcomes[1][1]
        assert balance(web, person) == 0.0
        assert shop_requests(web, person) == [("Lunch med chefen", "pending")]


# -- who may do what ---------------------------------------------------------------------------
def test_an_agents_session_opens_no_admin_page_and_cannot_post_to_one(web: WebServer, browser: Browser) -> None:
    browser.sign_in_by_link(web.invite("kalle", "Kalle Åberg", role="admin"))  # even an admin's link
    for path in ADMIN_PAGES:
        browser.open(path)
        assert browser.status() == 403, path
        assert "Admins only" in browser.text(), path
    browser.open("/shop")  # the session's own CSRF token, in a form built on the team page itself
    browser.driver.execute_script(
        "const f = document.createElement('form'); f.method = 'post'; f.action = '/admin/approve';"
        "for (const [k, v] of [['csrf', document.querySelector('input[name=csrf]').value], ['request', '1']]) {"
        "  const i = document.createElement('input'); i.name = k; i.value = v; f.appendChild(i); }"
        "document.body.appendChild(f); f.submit();")
    wait_for_team_page(browser, web)
    time.sleep(0.2)
    assert browser.path() == "/admin/approve" and browser.status() == 403


def test_a_forged_shop_form_without_its_csrf_token_is_refused_and_holds_nothing(
        web: WebServer, browser: Browser) -> None:
    forger = Forger()
    try:
        browser.sign_in_by_link(web.invite("maja", "Maja Öberg"))
        grant(web, "maja", 100)
        browser.open("/shop")
        item = element(browser, "//form[@action='/shop/request']/input[@name='item']").get_attribute("value")
        forger.form(f"{web.url}/shop/request", {"item": str(item)})
        browser.open(forger.url)
        wait_for_team_page(browser, web)
        assert browser.path() == "/shop/request" and browser.status() == 403
        assert "did not come from this site" in browser.text()
        assert balance(web, "maja") == 100.0 and shop_requests(web, "maja") == []
    finally:
        forger.close()


# -- the wall, on a real X screen --------------------------------------------------------------
class Xvfb:
    """An Xvfb of our own on a display number it picks itself (``-displayfd``)."""

    def __init__(self, size: str = "1280x720x24") -> None:
        read, write = os.pipe()
        self.process = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", size, "-nolisten", "tcp"],
                                        pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(write)
        with os.fdopen(read) as told:
            number = told.readline().strip()
        assert number.isdigit(), "Xvfb did not say its display number"
        self.display = f":{number}"

    def grab(self) -> Any:
        from PIL import ImageGrab

        return ImageGrab.grab(xdisplay=self.display).convert("RGB")

    def stop(self) -> None:
        stop_process(self.process)


def toast_pixels(image: Any, colour: tuple[int, int, int], band: float = HEADER_BAND) -> int:
    """Pixels of the toast's border and heart colour (within 12 a channel) in the header band."""
    from PIL import Image, ImageChops

    top = image.crop((0, 0, image.width, int(image.height * band)))
    off = ImageChops.difference(top, Image.new("RGB", top.size, colour))
    red, green, blue = (channel.point(lambda v: 255 if v <= 12 else 0).convert("1") for channel in off.split())
    return int(ImageChops.logical_and(ImageChops.logical_and(red, green), blue).convert("L").histogram()[255])


@pytest.fixture
def fresh_web(tmp_path: Path, browser: Browser) -> Iterator[WebServer]:
    """A team page of its own, the module's browser pointed at it: a wall starting on the module's
    state file would first show the other flows' thanks of the last hour."""
    (tmp_path / "feed.json").write_text(json.dumps(doc(*FLOOR)), encoding="utf-8")
    running = start_web(tmp_path, feed=FEED, extra=WALL)
    module_base, browser.base = browser.base, running.url
    yield running
    browser.base = module_base
    running.stop()


@pytest.mark.slow  # a real wall on a real X server
def test_a_public_thank_you_from_the_browser_is_on_the_walls_screen_within_2_s(
        fresh_web: WebServer, browser: Browser, tmp_path: Path) -> None:
    from display.themes import load_theme, rgb

    web = fresh_web
    web.invite("petr", "Пётр Иванов")
    down = rgb(load_theme("dark", tmp_path).colours.down)
    screen = Xvfb()
    wall = WallProcess(web.config, tmp_path / "xdg", runtime=tmp_path / "run", display=screen.display,
                       size="1280x720")
    try:
        wall.wait_status(lambda s: (s.get("board") or {}).get("agents") == 3 and s.get("screen") == "on", timeout=30)
        browser.sign_in_by_link(web.invite("asa", "Åsa Ödegård"))
        time.sleep(1.0)  # the first scene has settled
        before = screen.grab()
        before.save(tmp_path / "wall-before.png")
        assert toast_pixels(before, down) < 50

        mark = len(wall.records)
        thank(browser, "petr", "Bara mellan oss", "quiet")
        time.sleep(2.5)
        assert not [r for _, r in wall.records[mark:] if r.get("event") == "toast_shown"], "a quiet thank-you showed"
        assert toast_pixels(screen.grab(), down) < 50

        mark = len(wall.records)
        browser.open("/thanks")
        form = "form[action='/thanks']"
        posted = time.monotonic()
        browser.submit(form, to="petr", text="Tack för att du tog över kön!", visibility="public")
        arrived, record = wall.wait_for(lambda r: r.get("event") == "toast_shown", timeout=2.0, after=mark)
        assert arrived - posted < 2.0
        assert record["title"] == "Åsa Ödegård thanked Пётр Иванов"
        time.sleep(0.5)  # the toast has slid into place (0.3 s)
        during = screen.grab()
        during.save(tmp_path / "wall-toast.png")
        assert toast_pixels(during, down) > 300, "no toast in the header of the X screen"
        from PIL import ImageChops

        changed = ImageChops.difference(before, during).getbbox()
        assert changed is not None and changed[3] <= before.height * HEADER_BAND, \
            f"the screen changed outside the header: {changed}"
        assert "Tack för att du tog över kön!" not in "".join(wall.lines)
    finally:
        code = wall.stop()
        screen.stop()
    assert code == 0
