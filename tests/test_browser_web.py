"""The team page in a real browser: Debian's Chromium (headless, through Debian's chromedriver)
against a real ``chalkwall web`` subprocess. Sign-in by link, a revoked link, forged forms from
another origin, 50 wrong admin passwords, sign-out.

A flow for a new page is one more test here using the kit in ``tests/browser.py``: ``web.invite``
a person, ``browser.sign_in_by_link``, ``browser.open`` the page, ``browser.submit`` its form and
read ``browser.text()`` / ``browser.status()``.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from browser import PASSWORD, Browser, WebServer, missing, start_web
from browser import browser, one_browser, web  # noqa: F401 - pytest fixtures

# Skipped on a laptop without Chromium; never in CI, where ./bootstrap test has installed it.
pytestmark = pytest.mark.skipif(missing() is not None and not os.environ.get("CI"), reason=missing() or "")


class Forger:
    """Another origin (a second HTTP server on 127.0.0.1) whose page posts a form to the team page."""

    def __init__(self) -> None:
        self.page = b""
        forger = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(forger.page)))
                self.end_headers()
                self.wfile.write(forger.page)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def form(self, action: str, fields: dict[str, str]) -> None:
        inputs = "".join(f'<input type="hidden" name="{k}" value="{v}">' for k, v in fields.items())
        self.page = (f'<!doctype html><meta charset="utf-8"><title>Win a prize</title>'
                     f'<form id="f" method="post" action="{action}">{inputs}</form>'
                     f'<script>document.getElementById("f").submit()</script>').encode()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def forger() -> Iterator[Forger]:
    started = Forger()
    yield started
    started.close()


def test_chromium_runs_from_debian_and_nothing_is_downloaded(browser: Browser) -> None:
    capabilities = browser.driver.capabilities
    assert capabilities["browserName"] in ("chrome", "chromium")
    assert browser.service.path == "/usr/bin/chromedriver"
    browser.open("/health")
    assert '"status":"ok"' in browser.text().replace(" ", "")
    assert browser.downloaded_nothing()


def test_a_personal_link_signs_in_and_the_home_page_names_the_person(web: WebServer, browser: Browser) -> None:
    link = web.invite("asa", "Åsa Ödegård")
    browser.open("/")
    assert browser.path() == "/sign-in"  # no session: sent to sign in
    browser.sign_in_by_link(link)
    assert browser.path() == "/"
    assert "Signed in as Åsa Ödegård — agent" in browser.text()
    assert browser.cookie() is not None
    browser.open("/admin")  # a link never makes an admin
    assert browser.status() == 403 and "Admins only" in browser.text()


def test_a_revoked_link_is_refused_and_its_old_session_is_gone(web: WebServer, browser: Browser) -> None:
    link = web.invite("petr", "Пётр Иванов")
    browser.sign_in_by_link(link)
    assert "Signed in as Пётр Иванов" in browser.text()
    web.revoke("petr")
    browser.open("/")
    assert browser.path() == "/sign-in", "the session made by a revoked link still works"
    browser.open(link)
    assert browser.status() == 403
    assert "This link does not work" in browser.text()
    browser.open("/")
    assert browser.path() == "/sign-in"


def test_sign_out_ends_the_session(web: WebServer, browser: Browser) -> None:
    browser.sign_in_by_link(web.invite("bjorn", "Björn Källström"))
    assert "Björn Källström" in browser.text()
    browser.sign_out()
    assert browser.path() == "/sign-in"
    browser.open("/")
    assert browser.path() == "/sign-in"


def wait_for_team_page(browser: Browser, web: WebServer, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if browser.driver.current_url.startswith(web.url) and \
                browser.driver.execute_script("return document.readyState") == "complete":
            return
        time.sleep(0.05)
    raise AssertionError(f"the forged form never reached the team page ({browser.driver.current_url})")


def person_row(browser: Browser, name: str) -> str:
    """The text of the people table's row for ``name`` (its status may sit on a line of its own)."""
    from selenium.webdriver.common.by import By

    return str(browser.driver.find_element(By.XPATH, f"//tr[contains(., '{name}')]").text)


@pytest.mark.parametrize("token", ["forged-0123456789abcdef", None], ids=["a guessed token", "no token"])
def test_a_forged_form_from_another_origin_is_refused_and_changes_nothing(
        web: WebServer, browser: Browser, forger: Forger, token: str | None) -> None:
    victim = web.invite("ingrid", "Ingrid Sjöström")
    browser.admin_sign_in()
    assert browser.path() == "/admin"
    fields = {"id": "ingrid"} | ({"csrf": token} if token else {})
    forger.form(f"{web.url}/admin/revoke", fields)
    browser.open(forger.url)
    wait_for_team_page(browser, web)
    assert browser.path() == "/admin/revoke"
    assert browser.status() == 403
    assert "did not come from this site" in browser.text()
    browser.open("/admin")  # still the admin, and Ingrid's link still works
    row = person_row(browser, "Ingrid Sjöström")
    assert "revoked" not in row and "invited" in row
    browser.driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
    browser.sign_in_by_link(victim)
    assert "Signed in as Ingrid Sjöström" in browser.text()


def test_the_same_form_from_the_page_itself_does_revoke(web: WebServer, browser: Browser) -> None:
    """The control for the forged forms: the real form (with the session's token) works."""
    web.invite("jose", "José García")
    browser.admin_sign_in()
    browser.submit("form[action='/admin/revoke']:has(input[value='jose'])")
    assert browser.path() == "/admin"
    assert "revoked" in person_row(browser, "José García")


@pytest.mark.slow  # fifty round trips through a real browser
def test_fifty_wrong_admin_passwords_are_limited_and_never_logged(tmp_path: Path, browser: Browser) -> None:
    web = start_web(tmp_path)  # its own server: the limit is per client address, and all tests are 127.0.0.1
    module_base, browser.base = browser.base, web.url
    try:
        wrong = [f"wrong password {i:02d} Åsa" for i in range(50)]
        statuses, texts = [], []
        browser.open("/admin/sign-in")
        for password in wrong:  # each answer is the sign-in page again, with its form: try again there
            browser.submit("form[action='/admin/sign-in']", password=password)
            statuses.append(browser.status())
            texts.append(browser.text())
        assert statuses[:5] == [401] * 5
        assert statuses[5:] == [429] * 45
        assert all("That is not the admin password" in t for t in texts[:5])
        assert all("Too many sign-in tries from this address" in t for t in texts[5:])
        browser.admin_sign_in(PASSWORD)  # the right one, while limited
        assert browser.status() == 429 and browser.path() == "/admin/sign-in"
        browser.open("/admin")
        assert browser.path() == "/admin/sign-in"
        log = web.log_text()
        assert log.count("admin sign-in refused") == 5
        for secret in (*wrong, PASSWORD, "wrong password", "password="):
            assert secret not in log
    finally:
        browser.base = module_base
        web.stop()


def test_no_link_token_or_password_reached_the_servers_log(web: WebServer) -> None:
    """Last in the module: every link and password the flows above used, against the log."""
    log = web.log_text()
    assert "/in/***" in log  # the links were used, and logged masked
    assert len(web.secrets) > 5
    for secret in web.secrets:
        assert secret not in log
