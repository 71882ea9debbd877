"""The browser test kit: a real ``chalkwall web`` subprocess and Debian's Chromium driven by Selenium.

:func:`start_web` starts ``chalkwall web`` on a free 127.0.0.1 port with its own state directory
and config; the admin password is set through ``chalkwall people admin-password`` (on stdin) and
people are invited through ``chalkwall people invite``, as an admin would. :class:`Browser` is one
headless Chromium (a fresh profile each) driven through Debian's ``/usr/bin/chromedriver``: Selenium
Manager is never asked for a driver (``SE_OFFLINE``, an explicit driver path), so nothing is
downloaded. Its helpers (``sign_in_by_link``, ``admin_sign_in``, ``submit``, ``text``, ``status``,
``size("phone")``) are what a flow needs; adding a flow for a new page is a test function that
uses them. A test module gets the fixtures by importing them:
``from browser import browser, one_browser, web  # noqa: F401 - pytest fixtures``.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
PASSWORD = "correct horse battery staple"
SIZES = {"phone": (390, 844), "desktop": (1280, 900)}
PIXEL_RATIO = {"phone": 2.0, "desktop": 1.0}  # a phone's screen is dense; its screenshots are too
CHROMIUM_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-dev-shm-usage", "--disable-extensions", "--disable-default-apps",
                  "--no-default-browser-check", "--lang=en",
                  # A dead proxy: whatever the browser might fetch from outside fails at once
                  # (loopback, where the team page and the tests' servers are, is never proxied).
                  "--proxy-server=http://127.0.0.1:9")
LINK = re.compile(r"^(?P<id>\S+) (?P<url>https?://\S+/in/(?P<token>[A-Za-z0-9_-]{43}))$")


def missing() -> str | None:
    """Why the browser tests cannot run here (None: they can)."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            return f"{path} is missing: ./bootstrap test installs Debian's chromium and chromium-driver"
    return None


def chalkwall(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CHALKWALL_CONFIG"}
    return subprocess.run([sys.executable, "-m", "display.cli", *args], capture_output=True, text=True,
                          input=stdin, env=env, timeout=60, cwd=ROOT)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop_process(process: subprocess.Popen[Any], timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL if it has not gone within ``timeout``."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout)


@dataclass
class WebServer:
    """A running ``chalkwall web`` and what it was started with."""

    url: str
    config: Path
    state: Path
    log: Path
    public_url: str  # what links point to (the config's [web] public_url)
    secrets: list[str] = field(default_factory=list)  # every secret used: none may reach the log
    process: subprocess.Popen[bytes] | None = None

    def invite(self, person_id: str, name: str | None = None, role: str | None = None) -> str:
        """``chalkwall people invite``: the person's sign-in link (on this server, whatever public_url says)."""
        args = ["people", "invite", person_id, "--config", str(self.config), "--qr-dir", str(self.state / "qr")]
        args += ["--name", name] if name else []
        args += ["--role", role] if role else []
        result = chalkwall(*args)
        assert result.returncode == 0, result.stderr
        found = LINK.match(result.stdout.strip())
        assert found and found["id"] == person_id, result.stdout
        self.secrets.append(found["token"])
        assert found["url"].startswith(self.public_url + "/in/"), found["url"]
        return f"{self.url}/in/{found['token']}"

    def revoke(self, person_id: str) -> None:
        result = chalkwall("people", "revoke", person_id, "--config", str(self.config))
        assert result.returncode == 0, result.stderr

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def start(self) -> None:
        """Start ``chalkwall web`` (again, after ``stop``: same state, a fresh sign-in rate limit)."""
        env = {k: v for k, v in os.environ.items() if k != "CHALKWALL_CONFIG"}
        with self.log.open("ab") as out:
            self.process = subprocess.Popen([sys.executable, "-m", "display.cli", "web", "--config", str(self.config)],
                                            stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.stop()
        raise AssertionError(f"chalkwall web did not answer /health: {self.log_text()}")

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)


DEAD_FEED = '[feed]\ntype = "http"\nurl = "http://127.0.0.1:9/feed"\n'  # the team page never polls it


def start_web(tmp: Path, password: str = PASSWORD, public_url: str | None = None, feed: str = DEAD_FEED,
              extra: str = "") -> WebServer:
    """``chalkwall web`` on a free port over a fresh state directory, once ``/health`` answers;
    ``public_url`` (default: the server's own address) is what its links and QR codes show.
    ``feed`` (a ``[feed]`` section) and ``extra`` (more sections) are for a wall started on the
    same config (``chalkwall run --config web.config``)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    public_url = public_url or url
    state = tmp / "state"
    config = tmp / "config.toml"
    config.write_text(f'{feed}[state]\ndir = "{state}"\n'
                      f'[web]\nlisten = "127.0.0.1:{port}"\npublic_url = "{public_url}"\n{extra}',
                      encoding="utf-8")
    result = chalkwall("people", "admin-password", "--config", str(config), stdin=password + "\n")
    assert result.returncode == 0, result.stderr
    web = WebServer(url, config, state, tmp / "web.log", public_url, [password])
    web.start()
    return web


class Browser:
    """One headless Chromium with a fresh profile, pointed at ``base`` (a ``chalkwall web``)."""

    def __init__(self, base: str) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        self.base = base
        self.profile = Path(tempfile.mkdtemp(prefix="chalkwall-chromium-"))
        # Selenium Manager would fetch a driver from the network: it is told not to, and not needed.
        os.environ["SE_OFFLINE"] = "true"
        os.environ["SE_CACHE_PATH"] = str(self.profile / "selenium-cache")
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={self.profile / 'profile'}"):
            options.add_argument(flag)
        self.service = Service(executable_path=CHROMEDRIVER, log_output=subprocess.DEVNULL)
        self.driver = webdriver.Chrome(service=self.service, options=options)
        self.size("phone")

    # -- where the browser is ----------------------------------------------------------------
    def size(self, name: str) -> None:
        """``phone`` (390×844, as a phone reports itself) or ``desktop`` (1280×900)."""
        width, height = SIZES[name]
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": height, "deviceScaleFactor": PIXEL_RATIO[name], "mobile": name == "phone"})
        self.current_size = name

    def fresh(self) -> Browser:
        """This browser with no cookies (nobody signed in), at phone size: a new visitor."""
        self.driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
        self.size("phone")
        return self

    def open(self, path_or_url: str) -> None:
        self.driver.get(path_or_url if "://" in path_or_url else self.base + path_or_url)

    def path(self) -> str:
        url: str = self.driver.current_url
        return url[len(self.base):] if url.startswith(self.base) else url

    def text(self) -> str:
        """What the page says (the body's visible text)."""
        from selenium.webdriver.common.by import By

        return str(self.driver.find_element(By.TAG_NAME, "body").text)

    def status(self) -> int:
        """The HTTP status of the page now shown (WebDriver's scripts are not bound by the page's CSP)."""
        return int(self.driver.execute_script(
            "return performance.getEntriesByType('navigation')[0].responseStatus"))

    def cookie(self, name: str = "chalkwall_session") -> str | None:
        found = self.driver.get_cookie(name)
        return None if found is None else str(found["value"])

    # -- doing things ------------------------------------------------------------------------
    def submit(self, form: str, **fields: str) -> None:
        """Fill ``fields`` (by name) of the form matched by CSS selector ``form`` and press its button
        (a select picks the option, a radio button or checkbox is clicked by its value)."""
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import Select

        element = self.driver.find_element(By.CSS_SELECTOR, form)
        for name, value in fields.items():
            box = element.find_element(By.NAME, name)
            if box.tag_name == "select":
                Select(box).select_by_value(value)
            elif box.get_attribute("type") in ("radio", "checkbox"):
                choice = element.find_element(By.CSS_SELECTOR, f"input[name='{name}'][value='{value}']")
                if not choice.is_selected():
                    choice.click()
            else:
                box.clear()
                box.send_keys(value)
        old = self.driver.find_element(By.TAG_NAME, "html")
        element.find_element(By.CSS_SELECTOR, "button[type=submit], button:not([type])").click()
        self.wait_for_new_page(old)

    def wait_for_new_page(self, old: Any, timeout: float = 15.0) -> None:
        from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

        deadline = time.monotonic() + timeout
        gone = False
        while time.monotonic() < deadline:
            try:
                if not gone:
                    old.tag_name  # noqa: B018 - raises once the old page is gone
                elif self.driver.execute_script("return document.readyState") == "complete":
                    return
            except StaleElementReferenceException:
                gone = True
            except WebDriverException:
                pass  # mid-navigation the inspector may lose its context for a moment: ask again
            time.sleep(0.02)
        raise AssertionError(f"no new page within {timeout:.0f} s (still {self.driver.current_url})")

    def sign_in_by_link(self, url: str) -> None:
        self.open(url)

    def admin_sign_in(self, password: str = PASSWORD) -> None:
        self.open("/admin/sign-in")
        self.submit("form[action='/admin/sign-in']", password=password)

    def sign_out(self) -> None:
        self.submit("form[action='/sign-out']")

    def screenshot(self, out: Path) -> None:
        """The whole page (taller than the window if it must be) as a PNG."""
        import base64

        height = int(self.driver.execute_script("return document.documentElement.scrollHeight"))
        width, min_height = SIZES[self.current_size]
        self.driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": width, "height": max(min_height, height),
            "deviceScaleFactor": PIXEL_RATIO[self.current_size], "mobile": self.current_size == "phone"})
        shot = self.driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(base64.b64decode(shot["data"]))
        self.size(self.current_size)

    def downloaded_nothing(self) -> bool:
        """Selenium Manager's cache stayed empty: no driver or browser was fetched."""
        cache = self.profile / "selenium-cache"
        return not cache.exists() or not any(cache.iterdir())

    def quit(self) -> None:
        """Close the browser; kill its driver's process group if it will not go."""
        try:
            self.driver.quit()
        except Exception:  # noqa: BLE001 - a browser that crashed is still to be cleaned up
            pass
        process = getattr(self.service, "process", None)
        pids = [process.pid] if process is not None and process.poll() is None else []
        pids += self._chromium_pids()  # this browser's own (its profile is in their command line)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        shutil.rmtree(self.profile, ignore_errors=True)

    def _chromium_pids(self) -> list[int]:
        mark = f"--user-data-dir={self.profile / 'profile'}".encode()
        found = []
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                if mark in cmdline.read_bytes().split(b"\0"):
                    found.append(int(cmdline.parent.name))
            except OSError:
                continue
        return found


# -- pytest fixtures: import them into a test module ------------------------------------------
@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebServer]:
    """A ``chalkwall web`` for the module (its own state directory and config)."""
    running = start_web(tmp_path_factory.mktemp("web"))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def one_browser(web: WebServer) -> Iterator[Browser]:
    """One Chromium for the module: starting one costs a second or more."""
    started = Browser(web.url)
    yield started
    started.quit()


@pytest.fixture
def browser(one_browser: Browser) -> Browser:
    """The module's browser with no cookies (nobody signed in), at phone size."""
    return one_browser.fresh()
