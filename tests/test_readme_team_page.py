"""The README's two steps to the team page, run as written: the admin password, then the page, on the
shipped config (the demo floor) — and the admin signs in with that password and invites someone."""

from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from helpers import ROOT

PASSWORD = "correct horse battery"


def readme_steps() -> list[list[str]]:
    """The commands of the README's 'team page in two steps' block, each as its arguments after ``chalkwall``."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## The team page in two steps", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block is not None, "the README's team-page section has no commands"
    steps = [shlex.split(line.split("#", 1)[0]) for line in block.group(1).splitlines() if line.strip()]
    assert all(step[0] == ".venv/bin/chalkwall" for step in steps), steps
    return [step[1:] for step in steps]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_readmes_two_steps_turn_the_team_page_on(tmp_path: Path) -> None:
    steps = readme_steps()
    assert [s[:2] for s in steps] == [["people", "admin-password"], ["web"]]
    port = free_port()  # the README's page is at 8080; here a free port, so no other test can stand in its way
    shipped = (ROOT / "config.toml").read_text(encoding="utf-8")
    (tmp_path / "config.toml").write_text(shipped + f'\n[web]\nlisten = "127.0.0.1:{port}"\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "CHALKWALL_CONFIG"} | {"HOME": str(tmp_path)}
    env.pop("STATE_DIRECTORY", None)

    def chalkwall(args: list[str], **kw: object) -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-m", "display.cli", *args], cwd=tmp_path, env=env,
                                **kw)  # type: ignore[call-overload]

    first = chalkwall(steps[0], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out, _ = first.communicate(f"{PASSWORD}\n".encode(), timeout=60)
    assert first.returncode == 0, out
    assert PASSWORD.encode() not in out and (tmp_path / "admin-password").read_text().startswith("$argon2")
    log = tmp_path / "web.log"
    server = chalkwall(steps[1], stdout=log.open("wb"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and server.poll() is None:
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        assert server.poll() is None, log.read_text()
        with httpx.Client(base_url=url, timeout=10) as client:
            form = client.get("/admin/sign-in")
            token = re.search(r'name="csrf" value="([^"]+)"', form.text)
            assert form.status_code == 200 and token is not None, form.text[:500]
            signed = client.post("/admin/sign-in", data={"password": PASSWORD, "csrf": token.group(1)})
            assert signed.status_code == 303 and client.get("/admin").status_code == 200
            assert client.get("/admin/queue").status_code == 200
            invite = subprocess.run([sys.executable, "-m", "display.cli", "people", "invite", "kwame"],
                                    cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
            assert invite.returncode == 0, invite.stderr
            link = invite.stdout.split()[1]
            assert link.startswith(url + "/in/") and httpx.get(link, timeout=10).status_code == 303
            assert "kwame" in client.get("/admin").text  # the page reads the state file the command wrote
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert PASSWORD not in log.read_text()
