"""The team page (``chalkwall web``) as a real uvicorn subprocess on 127.0.0.1 over a real SQLite
file: the health check, sign-in by link and by admin password, the rate limit, CSRF, sign-out,
``chalkwall people`` and the ``[web]`` config's errors. No browser here (that is a later slice)."""

from __future__ import annotations

import json
import os
import re
import socket
import ssl
import sqlite3
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from feeds.web.people import People
from helpers import config_problems, write_config

PASSWORD = "correct horse battery staple"
LINK = re.compile(r"^(?P<id>.+) (?P<url>http://127\.0\.0\.1:\d+/in/(?P<token>[A-Za-z0-9_-]{43}))$")


def chalkwall(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CHALKWALL_CONFIG"}
    return subprocess.run([sys.executable, "-m", "display.cli", *args], capture_output=True, text=True,
                          input=stdin, env=env, timeout=60)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Web:
    """A running ``chalkwall web`` and what it was started with."""

    url: str
    config: Path
    state: Path
    log: Path
    process: subprocess.Popen[bytes]
    secrets: list[str] = field(default_factory=list)  # every secret a test used: none may reach the log
    clients: list[httpx.Client] = field(default_factory=list)

    def people(self) -> People:
        return People(self.state)

    def invite(self, person_id: str, name: str | None = None) -> str:
        people = self.people()
        try:
            token = people.invite(person_id, name)
        finally:
            people.close()
        self.secrets.append(token)
        return token

    def client(self, **kwargs: object) -> httpx.Client:
        client = httpx.Client(base_url=self.url, follow_redirects=False, timeout=10, **kwargs)  # type: ignore[arg-type]
        self.clients.append(client)
        return client

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8")


def start_web(tmp: Path, extra: str = "", scheme: str = "http", verify: object = True,
              credentials: Path | None = None) -> Web:
    """``credentials``: run as systemd would with LoadCredential=, and set no admin password."""
    port = free_port()
    state = tmp / "state"
    config = write_config(tmp, f'[feed]\ntype = "http"\nurl = "http://127.0.0.1:9/feed"\n'
                               f'[state]\ndir = "{state}"\n[web]\nlisten = "127.0.0.1:{port}"\n{extra}')
    if credentials is None:
        result = chalkwall("people", "admin-password", "--config", str(config), stdin=PASSWORD + "\n")
        assert result.returncode == 0, result.stderr
    log = tmp / "web.log"
    env = {k: v for k, v in os.environ.items() if k != "CHALKWALL_CONFIG"}
    if credentials is not None:
        env["CREDENTIALS_DIRECTORY"] = str(credentials)
    process = subprocess.Popen([sys.executable, "-m", "display.cli", "web", "--config", str(config)],
                               stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env)
    url = f"{scheme}://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(url + "/health", verify=verify, timeout=1).status_code == 200:  # type: ignore[arg-type]
                break
        except httpx.TransportError:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.05)
    else:
        process.kill()
    assert process.poll() is None, log.read_text()
    return Web(url, config, state, log, process, [PASSWORD])


def stop_web(web: Web) -> None:
    for client in web.clients:
        client.close()
    web.process.terminate()
    try:
        web.process.wait(timeout=10)
    finally:
        web.process.kill()
    assert "Finished server process" in web.log_text()


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Web]:
    running = start_web(tmp_path_factory.mktemp("web"))
    yield running
    stop_web(running)


def csrf_of(client: httpx.Client, path: str = "/") -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert found, f"no CSRF token on {path}"
    return found.group(1)


def signed_in(web: Web, person_id: str, name: str | None = None) -> httpx.Client:
    client = web.client()
    assert client.get(f"/in/{web.invite(person_id, name)}").status_code == 303
    return client


def admin(web: Web) -> httpx.Client:
    client = web.client()
    reply = client.post("/admin/sign-in", data={"password": PASSWORD, "csrf": csrf_of(client, "/admin/sign-in")})
    assert (reply.status_code, reply.headers.get("location")) == (303, "/admin"), reply.text
    return client


def test_the_health_check_answers_without_sign_in_and_sets_no_cookie(web: Web) -> None:
    reply = web.client().get("/health")
    assert reply.status_code == 200
    assert reply.json() == {"status": "ok", "service": "chalkwall-web", "https": False}
    assert "set-cookie" not in reply.headers


def test_every_page_but_health_and_sign_in_refuses_a_visitor_without_a_session(web: Web, tmp_path: Path) -> None:
    from feeds.web.app import PUBLIC, Site, build_app
    from feeds.web.auth import RateLimit

    assert PUBLIC == {"/health", "/sign-in", "/admin/sign-in"}  # a new open page must be argued for here
    people = People(tmp_path)
    try:
        routes = build_app(Site(people, tmp_path / "pw", "http://x", RateLimit())).routes
    finally:
        people.close()
    checked = []
    client = web.client()
    for route in routes:
        path = getattr(route, "path", "")
        if path in PUBLIC or path.startswith("/in/"):
            continue
        for method in sorted(getattr(route, "methods", ()) - {"HEAD"}):
            reply = client.request(method, path, data={"id": "x"} if method == "POST" else None)
            want = (303, "/admin/sign-in" if path.startswith("/admin") else "/sign-in") if method == "GET" else (401, None)
            assert (reply.status_code, reply.headers.get("location")) == want, (method, path)
            checked.append(f"{method} {path}")
    assert {"GET /", "GET /admin", "POST /sign-out", "POST /admin/invite", "POST /admin/revoke"} <= set(checked)
    assert {"GET /thanks", "POST /thanks", "POST /thanks/undo", "GET /me", "POST /me/privacy"} <= set(checked)
    assert client.get("/no-such-page").status_code == 303  # unknown paths say nothing about what exists


def test_a_personal_link_signs_the_person_in_with_a_safe_cookie_and_the_home_page_names_them(web: Web) -> None:
    client = web.client()
    reply = client.get(f"/in/{web.invite('a7', 'Åsa Ödegård')}")
    assert (reply.status_code, reply.headers["location"]) == (303, "/")
    cookie = reply.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie  # plain HTTP here
    home = client.get("/")
    assert home.status_code == 200
    assert "Signed in as Åsa Ödegård — agent" in home.text
    assert "script" not in home.text.lower() and "default-src 'none'" in home.headers["content-security-policy"]
    assert client.get("/admin").status_code == 403  # a link never makes an admin


def test_a_revoked_link_and_an_unknown_one_get_a_clear_page_and_no_session(web: Web) -> None:
    client = signed_in(web, "bo")
    old = web.secrets[-1]
    people = web.people()
    try:
        assert people.revoke("bo")
    finally:
        people.close()
    assert client.get("/").status_code == 303  # the session the link made ends with it
    for token in (old, "x" * 43):
        visitor = web.client()
        reply = visitor.get(f"/in/{token}")
        assert reply.status_code == 403 and "This link does not work" in reply.text
        assert visitor.get("/").status_code == 303


def test_a_new_invite_replaces_the_old_link(web: Web) -> None:
    first = web.invite("cy")
    second = web.invite("cy")
    assert web.client().get(f"/in/{first}").status_code == 403
    assert web.client().get(f"/in/{second}").status_code == 303


def test_the_admin_invites_and_revokes_by_form_and_the_new_link_works(web: Web) -> None:
    client = admin(web)
    token = csrf_of(client, "/admin")
    page = client.post("/admin/invite", data={"csrf": token, "id": "dee", "name": "Dee Ström", "role": "role_model"})
    assert page.status_code == 200 and "data:image/png;base64," in page.text
    url = re.search(r"<code>(http://[^<]+/in/([^<]+))</code>", page.text)
    assert url, page.text
    web.secrets.append(url.group(2))
    dee = web.client()
    assert dee.get(url.group(1).removeprefix(web.url)).status_code == 303
    assert "Signed in as Dee Ström — role model" in dee.get("/").text
    assert "Dee Ström" in client.get("/admin").text
    assert client.post("/admin/revoke", data={"csrf": token, "id": "dee"}).status_code == 303
    assert dee.get("/").status_code == 303


def test_a_forged_form_without_a_token_or_with_another_sessions_token_is_refused(web: Web) -> None:
    victim = admin(web)
    attacker = signed_in(web, "eve")
    other = csrf_of(attacker)
    assert other != csrf_of(victim, "/admin")
    login = web.client()
    csrf_of(login, "/admin/sign-in")
    assert login.post("/admin/sign-in", data={"password": PASSWORD}).status_code == 403
    assert login.get("/admin").status_code == 303  # the right password without the form's token: not in
    for path, data in (("/admin/revoke", {"id": "eve"}), ("/admin/invite", {"id": "mallory", "role": "admin"}),
                       ("/sign-out", {})):
        for forged in (data, {**data, "csrf": other}, {**data, "csrf": ""}):
            reply = victim.post(path, data=forged)
            assert reply.status_code == 403, (path, forged)
    people = web.people()
    try:
        assert people.get("mallory") is None and not people.get("eve").revoked  # type: ignore[union-attr]
    finally:
        people.close()
    assert victim.get("/admin").status_code == 200  # still signed in: the forged sign-out did nothing


def test_signing_out_ends_the_session(web: Web) -> None:
    client = signed_in(web, "fay")
    reply = client.post("/sign-out", data={"csrf": csrf_of(client)})
    assert (reply.status_code, reply.headers["location"]) == (303, "/sign-in")
    assert client.get("/").status_code == 303


def test_no_token_password_or_session_reaches_the_log(web: Web) -> None:
    gus = signed_in(web, "gus")
    web.secrets += [gus.cookies["chalkwall_session"], (web.state / "web-session.key").read_text().strip()]
    admin(web).post("/admin/sign-in", data={"password": "a wrong one, logged?"})
    web.secrets.append("a wrong one, logged?")
    time.sleep(0.2)  # the server writes its last access lines after the replies
    text = web.log_text()
    assert "GET /in/*** 303" in text and "GET /health 200" in text
    assert [s for s in web.secrets if s in text] == []


def test_fifty_wrong_admin_passwords_are_rate_limited_and_never_sign_in(tmp_path: Path) -> None:
    web = start_web(tmp_path)
    try:
        client = web.client()
        token = csrf_of(client, "/admin/sign-in")
        codes = [client.post("/admin/sign-in", data={"csrf": token, "password": f"guess {i}"}).status_code
                 for i in range(50)]
        assert codes == [401] * 5 + [429] * 45
        last = client.post("/admin/sign-in", data={"csrf": token, "password": PASSWORD})
        assert last.status_code == 429 and "Too many sign-in tries" in last.text
        assert 1 <= int(last.headers["retry-after"]) <= 61
        assert client.get("/admin").status_code == 303
        assert web.client().get("/health").status_code == 200  # the page itself still answers
    finally:
        stop_web(web)


def test_the_rate_limit_counts_failures_per_address_and_forgets_them_after_its_window() -> None:
    from feeds.web.auth import RateLimit
    from helpers import FakeClock

    clock = FakeClock()
    limit = RateLimit(tries=5, window=60, clock=clock)
    assert [limit.allow("10.0.0.1") for _ in range(6)] == [True] * 5 + [False]
    assert limit.allow("10.0.0.2")  # another address has its own count
    assert limit.retry_after("10.0.0.1") == 61
    clock.advance(60)
    assert limit.allow("10.0.0.1")
    limit.forgive("10.0.0.1")  # a success does not use up the limit
    assert [limit.allow("10.0.0.1") for _ in range(5)] == [True] * 5


def test_with_a_certificate_the_page_is_https_and_the_cookie_secure(tmp_path: Path) -> None:
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert.private_key_and_cert_chain_pem.write_to_path(str(tmp_path / "web.pem"))
    cert.private_key_pem.write_to_path(str(tmp_path / "web.key"))
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    verify = ssl.create_default_context(cafile=str(tmp_path / "ca.pem"))
    web = start_web(tmp_path, 'tls_cert = "web.pem"\ntls_key = "web.key"\n', scheme="https", verify=verify)
    try:
        with web.client(verify=verify) as client:
            assert client.get("/health").json()["https"] is True
            reply = client.get(f"/in/{web.invite('hal')}")
        assert reply.status_code == 303 and "; secure" in reply.headers["set-cookie"].lower()
    finally:
        stop_web(web)


def test_a_missing_certificate_is_one_clear_line_and_no_server(tmp_path: Path) -> None:
    config = write_config(tmp_path, f'[state]\ndir = "{tmp_path / "state"}"\n'
                                    f'[web]\nlisten = "127.0.0.1:{free_port()}"\ntls_cert = "no.pem"\ntls_key = "no.key"\n')
    result = chalkwall("web", "--config", str(config))
    assert result.returncode == 1
    assert result.stderr.strip() == f"chalkwall: cannot read {tmp_path / 'no.pem'} ([web] tls_cert)"


def test_an_empty_admin_password_credential_refuses_every_admin_sign_in_with_a_clear_log_line(tmp_path: Path) -> None:
    creds = tmp_path / "credentials"  # as LoadCredential= gives the installer's empty placeholder
    creds.mkdir()
    (creds / "admin-password").write_text("", encoding="utf-8")
    web = start_web(tmp_path, credentials=creds)
    try:
        assert "no admin password yet" in web.log_text()
        client = signed_in(web, "ada")  # a person's session, for a CSRF token: the form is not offered
        token = csrf_of(client)
        page = web.client().get("/admin/sign-in")
        assert page.status_code == 200 and "No admin password is set yet" in page.text
        assert 'name="password"' not in page.text  # no form to fill in
        for guess in ("", "anything at all", PASSWORD):
            reply = client.post("/admin/sign-in", data={"csrf": token, "password": guess})
            assert reply.status_code == 401 and "No admin password is set yet" in reply.text
        assert client.get("/admin").status_code in (303, 403)  # still no admin
        wait_for = time.monotonic() + 5
        while web.log_text().count("no admin password is set") < 3 and time.monotonic() < wait_for:
            time.sleep(0.05)
        refused = [line for line in web.log_text().splitlines() if "admin sign-in refused" in line]
        assert len(refused) == 3
        assert all("no admin password is set" in line and "chalkwall people admin-password" in line for line in refused)
        set_now = chalkwall("people", "admin-password", "--config", str(web.config), stdin=PASSWORD + "\n")
        assert set_now.returncode == 0, set_now.stderr
        (creds / "admin-password").write_bytes((tmp_path / "admin-password").read_bytes())  # what a restart loads
        assert client.post("/admin/sign-in", data={"csrf": token, "password": PASSWORD}).status_code == 303
    finally:
        stop_web(web)
    assert PASSWORD not in web.log_text()


def test_people_invite_prints_one_line_per_agent_and_a_qr_png_each(tmp_path: Path) -> None:
    import zxingcpp
    from PIL import Image

    state = tmp_path / "state"
    config = write_config(tmp_path, f'[feed]\ntype = "http"\nurl = "http://127.0.0.1:9/f"\n[state]\ndir = "{state}"\n'
                                    '[web]\nlisten = "127.0.0.1:8123"\n')
    qr = tmp_path / "qr"
    first = chalkwall("people", "invite", "--config", str(config), "--qr-dir", str(qr), "ada", "Åsa Ödegård")
    assert first.returncode == 0, first.stderr
    lines = first.stdout.splitlines()
    found = [LINK.match(line) for line in lines]
    assert [m.group("id") if m else line for m, line in zip(found, lines)] == ["ada", "Åsa Ödegård"]
    assert sorted(p.name for p in qr.iterdir()) == ["ada.png", "Åsa_Ödegård.png"]
    assert stat.S_IMODE(qr.stat().st_mode) == 0o700
    for match, name in zip(found, ["ada.png", "Åsa_Ödegård.png"]):
        assert match is not None
        with Image.open(qr / name) as image:
            assert image.format == "PNG" and image.size[0] >= 200
            codes = zxingcpp.read_barcodes(image.convert("L"))  # as a phone reads it: exactly the printed link
        assert [(c.format, c.text) for c in codes] == [(zxingcpp.BarcodeFormat.QRCode, match.group("url"))]
    assert not any(m.group("token") in first.stderr for m in found if m)
    again = chalkwall("people", "invite", "--config", str(config), "--qr-dir", str(qr), "ada")
    new = LINK.match(again.stdout.strip())
    people = People(state)
    try:
        assert new and people.by_token(new.group("token")) is not None
        assert found[0] and people.by_token(found[0].group("token")) is None  # re-inviting replaced it
        assert people.get("Åsa Ödegård") is not None
    finally:
        people.close()
    revoked = chalkwall("people", "revoke", "--config", str(config), "ada", "nobody")
    assert revoked.returncode == 1 and "ada: revoked" in revoked.stdout and "nobody" in revoked.stderr


def test_people_invite_without_names_invites_the_board_and_says_so_when_there_is_none(tmp_path: Path) -> None:
    state = tmp_path / "state"
    config = write_config(tmp_path, f'[feed]\ntype = "http"\nurl = "http://127.0.0.1:9/f"\n[state]\ndir = "{state}"\n')
    none = chalkwall("people", "invite", "--config", str(config))
    assert none.returncode == 1 and "no board saved yet" in none.stderr and none.stdout == ""
    db = sqlite3.connect(state / "chalkwall.sqlite3")
    body = {"version": 1, "agents": [{"id": "a1", "name": "Åsa Ödegård", "metrics": {}},
                                     {"id": "b2", "name": "Bo", "metrics": {}}], "events": []}
    db.execute("CREATE TABLE last_snapshot (id INTEGER PRIMARY KEY, polled_at REAL NOT NULL, body TEXT NOT NULL)")
    db.execute("INSERT INTO last_snapshot VALUES (1, 0, ?)", (json.dumps(body),))
    db.commit()
    db.close()
    board = chalkwall("people", "invite", "--config", str(config), "--qr-dir", str(tmp_path / "qr"))
    assert board.returncode == 0, board.stderr
    assert [line.split(" ")[0] for line in board.stdout.splitlines()] == ["a1", "b2"]
    people = People(state)
    try:
        assert people.get("a1").name == "Åsa Ödegård"  # type: ignore[union-attr]
    finally:
        people.close()
    assert chalkwall("people", "invite", "--config", str(config)).returncode == 1  # everyone has a link now


def test_the_admin_password_command_stores_only_an_argon2_hash_and_refuses_a_short_one(tmp_path: Path) -> None:
    config = write_config(tmp_path, f'[state]\ndir = "{tmp_path / "state"}"\n[web]\nadmin_password_file = "pw"\n')
    short = chalkwall("people", "admin-password", "--config", str(config), stdin="short\n")
    assert short.returncode == 2 and "at least 8" in short.stderr and not (tmp_path / "pw").exists()
    done = chalkwall("people", "admin-password", "--config", str(config), stdin=PASSWORD + "\n")
    assert done.returncode == 0, done.stderr
    stored = (tmp_path / "pw").read_text()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored + done.stdout + done.stderr
    assert stat.S_IMODE((tmp_path / "pw").stat().st_mode) == 0o600


def test_web_config_errors_name_the_key(tmp_path: Path) -> None:
    assert config_problems(tmp_path, '[web]\nlisten = "8080"\n') == [
        'config.toml: web.listen: must look like "127.0.0.1:8080" or "0.0.0.0:8080" '
        '(address:port, port 1 to 65535), not "8080"']
    assert config_problems(tmp_path, '[web]\nlisten = "0.0.0.0:99999"\n')[0].startswith("config.toml: web.listen:")
    assert config_problems(tmp_path, '[web]\ntls_cert = "web.pem"\n') == [
        "config.toml: web.tls_key: missing (required with tls_cert): HTTPS needs both the certificate "
        "and its key, or neither for plain HTTP on a trusted LAN"]
    assert config_problems(tmp_path, '[web]\npublic_url = "wall.local"\nlisten_on = "x"\n') == [
        'config.toml: web.listen_on: unknown key (did you mean "listen"?)',
        'config.toml: web.public_url: must start with "http://" or "https://" (what the invite links point to), '
        'not "wall.local"']
    from feeds.config.schema import load_config

    good = write_config(tmp_path, '[web]\nlisten = "[::1]:8080"\npublic_url = "https://wall.example/"\n')
    assert load_config(str(good)).config.web.url() == "https://wall.example"
