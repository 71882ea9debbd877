"""Screenshots of every team page at phone and desktop width, for docs/team-page.md.

    .venv/bin/python -m tests.browser_shots docs/team-page

starts a real ``chalkwall web`` (a fresh state directory, a few invited people with Swedish and
Cyrillic names) and Debian's Chromium, and writes ``NAME-phone.png`` and ``NAME-desktop.png`` per
page. A page is one function decorated with ``@shot("name")`` that gets the browser to it: a new
page (thanks, me, shop, …) is one more such function.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as `-m tests.browser_shots`: find the kit

from browser import PASSWORD, SIZES, Browser, WebServer, missing, start_web  # noqa: E402

Show = Callable[[Browser, WebServer, dict[str, str]], None]
SHOTS: list[tuple[str, Show]] = []
PUBLIC_URL = "http://wall.office.lan:8080"  # what the pictures show links pointing to
PEOPLE = (("asa", "Åsa Ödegård", "agent"), ("petr", "Пётр Иванов", "agent"),
          ("bjorn", "Björn Källström", "role_model"), ("olga", "Ольга Кузнецова", "watcher"),
          ("zoe", "Zoë Müller", "agent"))


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
    browser.open(links["zoe"])  # Zoë's link was revoked


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


@shot("admin-sign-in-limited")  # last: it spends the address's sign-in tries
def _limited(browser: Browser, web: WebServer, links: dict[str, str]) -> None:
    signed_out(browser)
    browser.open("/admin/sign-in")
    for _ in range(6):
        browser.submit("form[action='/admin/sign-in']", password="not the password")


def run(out: Path, only: set[str] | None = None) -> list[Path]:
    """Every page (or those named in ``only``) at each size, into ``out``; the paths written."""
    reason = missing()
    if reason:
        raise SystemExit(f"browser_shots: {reason}")
    written: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp:
        web = start_web(Path(tmp), public_url=PUBLIC_URL)
        browser = Browser(web.url)
        try:
            links = {pid: web.invite(pid, name, role) for pid, name, role in PEOPLE}
            web.revoke("zoe")
            for n, size in enumerate(SIZES):
                if n:  # a fresh process per size: the last page spent the sign-in tries
                    web.stop()
                    web.start()
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
