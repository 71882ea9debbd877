"""``chalkwall hub init-broker`` against a real Mosquitto: the logins, the ACL and the CA it writes
work, a wrong password and a forbidden topic are refused, and running it again changes nothing."""

from __future__ import annotations

import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from feeds.config.schema import load_config
from feeds.config.validate import ConfigError
from feeds.publish.broker_setup import Layout, hash_password, init_broker
from tests.mosquitto import Broker, Client, free_port, needs_mosquitto

HUB_TOML = """
[feed]
type = "demo"
[hub]
broker = "mqtts://hub.office.lan:8883"
site = "acme"
screens = ["floor-1", "floor-2"]
[hub.auth]
username = "hub"
password_file = "hub.password"
"""
NOT_AUTHORISED = 135


def hub_config(tmp_path: Path, text: str = HUB_TOML):
    path = tmp_path / "hub.toml"
    path.write_text(text)
    return load_config(str(path))


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "display.cli", *args], capture_output=True, text=True, timeout=60)


def secret(out: Path, user: str) -> str:
    return Layout(out).secret(user).read_text().strip()


def test_init_broker_writes_private_files_and_prints_no_password(tmp_path: Path) -> None:
    (tmp_path / "hub.toml").write_text(HUB_TOML)
    out = tmp_path / "etc-mosquitto"
    done = cli("hub", "init-broker", "--config", str(tmp_path / "hub.toml"), "--out", str(out), "--host", "10.0.0.7")
    assert done.returncode == 0, done.stderr
    layout = Layout(out)
    for path in (layout.passwd, layout.acl, layout.ca_key, layout.server_key, layout.secret("floor-1")):
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 in (0, 0o040), path  # the owner (and the broker's group)
    assert stat.S_IMODE(layout.ca_key.stat().st_mode) == 0o600
    passwords = [secret(out, u) for u in ("hub", "floor-1", "floor-2")]
    assert len(set(passwords)) == 3 and all(len(p) >= 30 for p in passwords)
    for password in passwords:
        assert password not in done.stdout + done.stderr
        assert password not in layout.passwd.read_text()
    assert "login floor-2: new" in done.stdout and "CA: new" in done.stdout
    acl = layout.acl.read_text()
    assert "user floor-1\ntopic read chalkwall/acme/#\ntopic write chalkwall/acme/screen/floor-1/status" in acl


def test_running_it_again_keeps_passwords_and_the_ca_and_adds_only_new_screens(tmp_path: Path) -> None:
    out = tmp_path / "m"
    first = init_broker(hub_config(tmp_path).config.hub, out, [])
    layout = Layout(out)
    before = {p: p.read_bytes() for p in (layout.passwd, layout.ca_cert, layout.ca_key, layout.server_cert)}
    floor1 = secret(out, "floor-1")
    again = init_broker(hub_config(tmp_path).config.hub, out, [])
    assert {p: p.read_bytes() for p in before} == before
    assert "server certificate: kept" in "\n".join(again.lines) and "new" not in "\n".join(again.lines)
    more = HUB_TOML.replace('["floor-1", "floor-2"]', '["floor-1", "floor-2", "floor-3"]')
    third = init_broker(hub_config(tmp_path, more).config.hub, out, ["10.0.0.9"])
    text = "\n".join(third.lines)
    assert "login floor-3: new" in text and "login floor-1: new" not in text
    assert secret(out, "floor-1") == floor1 and layout.ca_cert.read_bytes() == before[layout.ca_cert]
    assert "server certificate: made (the host names changed)" in text
    assert "CA: new" in "\n".join(first.lines)


@pytest.mark.parametrize(("text", "key", "words"), [
    ('broker = "mqtt://hub.office.lan:1883"', "hub.broker", "in clear"),
    ('broker = "mqtts://hub:secret@hub.office.lan"', "hub.broker", "[hub.auth]"),
    ('site = "Acme Sweden"', "hub.site", "lower-case"),
    ('screens = ["floor-1", "floor-1"]', "hub.screens", "more than once"),
    ('scren = ["x"]', "hub.scren", 'did you mean "screens"'),
])
def test_hub_config_mistakes_name_the_key(tmp_path: Path, text: str, key: str, words: str) -> None:
    name = text.split(" = ")[0]
    lines = [line for line in HUB_TOML.splitlines() if not line.startswith(f"{name} =")]
    body = "\n".join(lines).replace("[hub]\n", f"[hub]\n{text}\n")
    with pytest.raises(ConfigError) as caught:
        hub_config(tmp_path, body)
    found = [p for p in caught.value.problems if p.key == key]
    assert found and words in found[0].message, caught.value.problems


def test_init_broker_without_a_hub_section_says_so(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text('[feed]\ntype = "demo"\n')
    done = cli("hub", "init-broker", "--config", str(tmp_path / "c.toml"), "--out", str(tmp_path / "m"))
    assert done.returncode == 2 and "no [hub] section" in done.stderr


@pytest.fixture()
def broker(tmp_path: Path):
    out = tmp_path / "mosquitto"
    local, tls = free_port(), free_port()
    init_broker(hub_config(tmp_path).config.hub, out, [], local_port=local, tls_port=tls)
    running = Broker(tmp_path, f"include_dir {out}/conf.d\n", [local, tls]).start()
    yield running, out, local, tls
    running.stop()


@needs_mosquitto
def test_the_written_config_runs_a_broker_that_checks_logins_and_the_acl(broker) -> None:
    running, out, local, tls = broker
    ca = Layout(out).ca_cert
    hub, screen = Client("hub"), Client("floor-1")
    try:
        assert hub.connect(local, "hub", secret(out, "hub")) == 0
        assert hub.publish("chalkwall/acme/board/team/night", b'{"v":1}', retain=True) == 0x10  # no subscriber yet
        assert screen.connect(tls, "floor-1", secret(out, "floor-1"), ca=ca) == 0
        assert screen.publish("chalkwall/acme/screen/floor-1/status", b'{"state":"online"}') == 0x10
        assert screen.publish("chalkwall/acme/screen/floor-2/status", b'{"state":"offline"}') == NOT_AUTHORISED
        assert screen.publish("chalkwall/acme/board/team/night", b'{"v":1,"forged":true}') == NOT_AUTHORISED
        screen.mqtt.subscribe("chalkwall/acme/board/#", qos=1)
        deadline = time.monotonic() + 3
        while not screen.messages and time.monotonic() < deadline:
            time.sleep(0.02)
        assert [m.payload for m in screen.messages] == [b'{"v":1}']  # the hub's board, not the forgery
    finally:
        hub.close()
        screen.close()


@needs_mosquitto
def test_wrong_passwords_anonymous_and_an_untrusted_certificate_are_refused(broker) -> None:
    running, out, local, tls = broker
    ca = Layout(out).ca_cert
    assert Client("floor-1").connect(tls, "floor-1", "not-the-password", ca=ca) in (134, 135)
    assert Client("floor-2").connect(tls, "floor-1", secret(out, "floor-2"), ca=ca) in (134, 135)  # another's
    assert Client("anon").connect(local) in (134, 135)
    assert Client("floor-1").connect(tls, "floor-1", secret(out, "floor-1")) is None  # without the CA: no TLS
    assert "not-the-password" not in running.log_text()


def test_password_hash_is_mosquittos_pbkdf2_format() -> None:
    hashed = hash_password("secret", salt=bytes(12), iterations=101)
    assert hashed.startswith("$7$101$AAAAAAAAAAAAAAAA$") and len(hashed.split("$")[-1]) == 88
