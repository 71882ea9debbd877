"""Screenshots of every team page at phone and desktop width, for docs/team-page.md.

    .venv/bin/python -m tests.browser_shots docs/team-page

starts a real ``chalkwall web`` for each width (a fresh state directory: a saved board, a week of
points, shop items and requests, a few invited people with Swedish and Cyrillic names) and Debian's
Chromium, and writes ``NAME-phone.png`` and ``NAME-desktop.png`` per page. A page is one function
decorated with ``@shot("name")`` that gets the browser to it: a new page is one more such function.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as `-m tests.browser_shots`: find the kit

from browser import PASSWORD, SIZES, Browser, WebServer, missing, start_web  # noqa: E402
from helpers import doc  # noqa: E402

Show = Callable[[Browser, WebServer, dict[str, str]], None]
SHOTS: list[tuple[str, Show]] = []
PUBLIC_URL = "http://wall.office.lan:8080"  # what the pictures show links pointing to
PEOPLE = (("asa", "Åsa Ödegård", "agent"), ("petr", "Пётр Иванов", "agent"),
          ("bjorn", "Björn Källström", "role_model"), ("olga", "Ольга Кузнецова", "watcher"),
          ("zoe", "Zoë Müller", "agent"), ("jonas", "Jonas Berg", "agent"))
# The wall's last board (what the team page knows of the floor) and the config's challenges.
BOARD = ({"id": "asa", "name": "Åsa Ödegård", "team": "Dag", "level": "rookie", "metrics": {"tickets_solved": 7}},
         {"id": "petr", "name": "Пётр Иванов", "team": "Dag", "level": "pro", "metrics": {"tickets_solved": 12}},
         {"id": "zoe", "name": "Zoë Müller", "team": "Kväll", "metrics": {"tickets_solved": 9}},
         {"id": "sven", "name": "Sven-Göran Lindqvist", "team": "Kväll", "metrics": {"tickets_solved": 4}})
CONFIG = """[display]
title = "Support floor"
[periods]
timezone = "Europe/Stockholm"
[[challenges]]
id = "ten"
title = "Solve {target} today"
kind = "target"
metric = "tickets_solved"
target = { rookie = 8, pro = 12 }
points = 20
[[challenges]]
id = "first"
title = "First to {target} tickets today"
kind = "race"
metric = "tickets_solved"
target = 12
points = 50
[[challenges]]
id = "roll"
title = "{target} days in a row"
kind = "streak"
of = "ten"
length = 3
points = 60
"""


def shot(name: str) -> Callable[[Show], Show]:
    def register(show: Show) -> Show:
        SHOTS.append((name, show))
        return show
    return register


def signed_out(browser: Browser) -> None:
    browser.driver.execute_cdp_cmd("Network.clearBrowserCookies", {})


@shot("sign-in")
def _sign_in(browser: Browser, web: WebServer, links: dict[str, str]) -> None:
    signed_out(browser)
    browser.open("/sign-in")


@shot("home")
def _home(browser: Browser, web: WebServer, links: dict[str, str]) -> None:
    signed_out(browser)
    browser.sign_in_by_link(links["asa"])


@shot("link-refused")
def _link_refused(browser: Browser, web: WebServer, links: dict[str, str]) -> None:
    signed_out(browser)
    browser.open(links["jonas"])  # Jonas's link was revoked


@shot("admin-sign-in")
def _admin_sign_in(browser: Browser, web: WebServer, links: dict[str, str]) -> None:
    signed_out(browser)
    browser.open("/admin/sign-in")


@shot("admin-people")
def _admin(browser: Browser, web: WebServer, links: dict[str, str]) -> None:
    signed_out(browser)
    browser.admin_sign_in()
    browser.open("/admin")


@shot("admin-invited")
def _invited(browser: Browser, web: WebServer, links: dict[str, str]) -> None:
    signed_out(browser)
    browser.admin_sign_in()
    browser.submit("form[action='/admin/invite']", id="ingrid", name="Ingrid Sjöström", role="agent")


@shot("thanks")
def _thanks(browser: Browser, web: WebServer, links: dict[str, str]) -> None:
    signed_out(browser)
    browser.sign_in_by_link(links["asa"])
    browser.open("/thanks")
    browser.submit("form[action='/thanks']", to="petr", text="Tack för att du tog över kön när jag var sjuk!",
                   visibility="public")


@shot("thanks-limit")
def _thanks_limit(browser: Browser, web: WebServer, links: dict[str, str]) -> None:
    """Пётр's form filled in, his last thank-you of the day spent meanwhile (another tab), then sent."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    from feeds.game.thanks import ThanksStore

    signed_out(browser)
    browser.sign_in_by_link(links["petr"])
    browser.open("/thanks")
    form = browser.driver.find_element(By.CSS_SELECTOR, "form[action='/thanks']")
    Select(form.find_element(By.NAME, "to")).select_by_value("zoe")
    form.find_element(By.NAME, "text").send_keys("Danke, Zoë — you found the bug in the macro!")
    store = ThanksStore(web.state)
    try:
        now = datetime.now(timezone.utc)
        store.give("shot-limit", "petr", "asa", "Спасибо!", True, day=today_key(web, now), points=5,
                   per_sender_per_day=3, now=now)
    finally:
        store.close()
    old = browser.driver.find_element(By.TAG_NAME, "html")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    browser.wait_for_new_page(old)


@shot("me")
def _me(browser: Browser, web: WebServer, links: dict[str, str]) -> None:
    signed_out(browser)
    browser.sign_in_by_link(links["asa"])
    browser.open("/me")
    all_pictures(browser)  # "where the wall shows me" is below a phone's fold


@shot("shop")
def _shop(browser: Browser, web: WebServer, links: dict[str, str]) -> None:
    signed_out(browser)
    browser.sign_in_by_link(links["asa"])
    browser.open("/shop")
    form = "form[action='/shop/request']:has(input[name='item'][value='2'])"  # the flowers
    browser.submit(form)


@shot("shop-not-enough")
def _shop_short(browser: Browser, web: WebServer, links: dict[str, str]) -> None:
    """Zoë has 45 points; her other phone spends 20 on flowers while this one asks for the fika (40)."""
    from selenium.webdriver.common.by import By

    from feeds.game.shop import Shop

    signed_out(browser)
    browser.sign_in_by_link(links["zoe"])
    browser.open("/shop")
    form = browser.driver.find_element(By.CSS_SELECTOR, "form[action='/shop/request']:has(input[value='3'])")
    shop = Shop(web.state)
    try:
        shop.request("zoe", 2)  # the flowers, from her other phone: 25 points left
    finally:
        shop.close()
    old = browser.driver.find_element(By.TAG_NAME, "html")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    browser.wait_for_new_page(old)


@shot("admin-queue")
def _admin_queue(browser: Browser, web: WebServer, links: dict[str, str]) -> None:
    signed_out(browser)
    browser.admin_sign_in()
    browser.open("/admin/queue")
    browser.driver.execute_script("document.querySelectorAll('details')[0].open = true")  # Decline… opened


@shot("admin-items")
def _admin_items(browser: Browser, web: WebServer, links: dict[str, str]) -> None:
    signed_out(browser)
    browser.admin_sign_in()
    browser.open("/admin/items")


@shot("admin-config")
def _admin_config(browser: Browser, web: WebServer, links: dict[str, str]) -> None:
    """The config on disk with two slips in it (the running page keeps the config it started with)."""
    text = web.config.read_text(encoding="utf-8")
    web.config.write_text(text.replace('title = "Support floor"', 'title = "Support floor"\nthem = "dark"')
                          .replace("points = 60", "points = -60"), encoding="utf-8")
    signed_out(browser)
    browser.admin_sign_in()
    browser.open("/admin/config")


@shot("admin-previews")
def _admin_previews(browser: Browser, web: WebServer, links: dict[str, str]) -> None:
    signed_out(browser)
    browser.admin_sign_in()
    browser.open("/admin/previews")
    all_pictures(browser)


def all_pictures(browser: Browser) -> None:
    """Every picture now (not when scrolled to), and only then the screenshot."""
    browser.driver.execute_script("document.querySelectorAll('img').forEach(i => i.loading = 'eager')")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not browser.driver.execute_script(
            "return [...document.images].every(i => i.complete && i.naturalWidth > 0)"):
        time.sleep(0.2)


@shot("admin-sign-in-limited")  # last: it spends the address's sign-in tries
def _limited(browser: Browser, web: WebServer, links: dict[str, str]) -> None:
    signed_out(browser)
    browser.open("/admin/sign-in")
    for _ in range(6):
        browser.submit("form[action='/admin/sign-in']", password="not the password")


def today_key(web: WebServer, when: datetime) -> str:
    """The floor's day (in the config's time zone) that ``when`` falls on, as the ledger keys it."""
    from feeds.config.schema import load_config
    from feeds.game.engine import calendar_for

    return calendar_for(load_config(str(web.config)).config).period("day", when).key


def seed(web: WebServer) -> None:
    """What a floor that has run a while leaves in the state file: the wall's last board, a week of
    challenge points, thanks, shop items and requests."""
    from feeds.connectors.parse import normalise
    from feeds.game.ledger import Award, Ledger
    from feeds.game.shop import Shop
    from feeds.game.thanks import ThanksStore
    from feeds.live.state import StoredBoard

    now = datetime.now(timezone.utc)
    board = StoredBoard(web.state, every=0)
    board.save(normalise(doc(*BOARD)), now.timestamp())
    board.close()
    ledger = Ledger(web.state)
    try:
        for n in range(1, 5):  # "Solve 8 today" met the four days before today
            day = now - timedelta(days=n)
            ledger.award(Award("ten", "agent", "asa", today_key(web, day), 20, "chalkwall"), day)
        yesterday = now - timedelta(days=1)
        ledger.award(Award("roll", "agent", "asa", today_key(web, yesterday), 60, "chalkwall"), yesterday)
        ledger.award(Award("ten", "agent", "zoe", today_key(web, now - timedelta(days=1)), 20, "chalkwall"))
        ledger.award(Award("ten", "agent", "zoe", today_key(web, now - timedelta(days=2)), 20, "chalkwall"))
        ledger.award_first(Award("first", "agent", "petr", today_key(web, now), 50, "chalkwall"))
        ledger.award(Award("ten", "agent", "petr", today_key(web, now - timedelta(days=1)), 20, "chalkwall"))
        ledger.award(Award("Ticket hero", "agent", "asa", today_key(web, yesterday), 15, "feed",
                           event_id="zd-hero"), yesterday)
    finally:
        ledger.close()
    store = ThanksStore(web.state)
    try:
        day, earlier = today_key(web, now), now - timedelta(hours=2)
        for form, giver, taker, text, public in (
                ("s1", "petr", "asa", "Спасибо за помощь с очередью!", True),
                ("s2", "zoe", "asa", "Tack för kaffet och tålamodet ☕", False),
                ("s3", "petr", "zoe", "Thanks for the handover notes", True),
                ("s4", "zoe", "sven", "Tack, Sven-Göran!", True)):
            store.give(form, giver, taker, text, public, day=day, points=5, per_sender_per_day=3, now=earlier)
    finally:
        store.close()
    shop = Shop(web.state)
    try:
        shop.add_item("Biobiljetter (2 st)", 100, 3, "taxable")
        shop.add_item("Blommor till skrivbordet", 20, None, "tax_free")
        shop.add_item("Fika för hela laget", 40, None, "tax_free")
        shop.add_item("Spa day at Yasuragi", 400, 1, "ask")
        declined = shop.request("asa", 3)
        shop.decline(declined.id, "Vi tar fikan på fredag i stället — alla bjuds!")
        shop.request("asa", 1)
        approved = shop.request("petr", 3)
        shop.approve(approved.id)
    finally:
        shop.close()


def run(out: Path, only: set[str] | None = None) -> list[Path]:
    """Every page (or those named in ``only``) at each size, into ``out``; the paths written."""
    reason = missing()
    if reason:
        raise SystemExit(f"browser_shots: {reason}")
    written: list[Path] = []
    for size in SIZES:  # a fresh floor per size: the pages change what they show (and spend sign-in tries)
        with tempfile.TemporaryDirectory() as tmp:
            web = start_web(Path(tmp), public_url=PUBLIC_URL, extra=CONFIG)
            browser = Browser(web.url)
            try:
                links = {pid: web.invite(pid, name, role) for pid, name, role in PEOPLE}
                web.invite("sven", "Sven-Göran Lindqvist")
                web.revoke("jonas")
                seed(web)
                for name, show in SHOTS:
                    if only and name not in only:
                        continue
                    browser.size(size)
                    show(browser, web, links)
                    path = out / f"{name}-{size}.png"
                    browser.screenshot(path)
                    written.append(path)
            finally:
                browser.quit()
                web.stop()
    return written


def main(argv: list[str]) -> int:
    if not argv or argv[0].startswith("-"):
        print("usage: python -m tests.browser_shots OUT_DIR [PAGE…]   pages: "
              + " ".join(name for name, _ in SHOTS), file=sys.stderr)
        return 2
    for path in run(Path(argv[0]), set(argv[1:]) or None):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
