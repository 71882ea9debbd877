"""TLS and logins end to end, on what ``chalkwall hub init-broker`` writes: the hub on the local
listener with its password file, a screen over TLS with the CA and its password — the board and a
celebration reach the screen. A screen with the wrong CA or password, and a hub with the wrong
password, each say so in one log line and keep going (the screen on its last board); an ACL that
refuses the hub's celebrations is said once; no secret in any log or status."""

from __future__ import annotations

import datetime as dt
import logging
import subprocess
import sys
import time
from pathlib import Path

import pytest

from feeds.board.diff import FeedEventReceived
from feeds.live.feed import open_live_feed
from feeds.publish.broker_setup import Layout, init_broker
from feeds.publish.certs import make_ca
from feeds.config.schema import load_config
from tests.hubkit import Site, make_site
from tests.mosquitto import Client, free_port, needs_mosquitto
from tests.test_hub_e2e import AGENTS, TEAMS, wait_for

pytestmark = [needs_mosquitto, pytest.mark.slow]  # ≈ 45 s: four brokers, three hubs
NOT_AUTHORISED = 0x87


def secured(tmp_path: Path, screens: tuple[str, ...] = ("floor-1",)) -> tuple[Site, Layout, int]:
    out, local, tls = tmp_path / "mosquitto", free_port(), free_port()
    (tmp_path / "plan.toml").write_text(f"""
[feed]
type = "demo"
[hub]
broker = "mqtt://127.0.0.1:{local}"
site = "acme"
screens = {list(screens)!r}
[hub.auth]
username = "hub"
password_file = "x"
""".replace("'", '"'))
    init_broker(load_config(str(tmp_path / "plan.toml")).config.hub, out, [], local_port=local, tls_port=tls)
    site = make_site(tmp_path, f"include_dir {out}/conf.d\n", local, [local, tls])
    return site, Layout(out), tls


def hub_auth(layout: Layout, password_file: Path | None = None) -> str:
    return f'[hub.auth]\nusername = "hub"\npassword_file = "{password_file or layout.secret("hub")}"'


def screen_auth(layout: Layout, password_file: Path | None = None, user: str = "floor-1") -> str:
    return (f'[feed.auth]\ntype = "basic"\nusername = "{user}"\n'
            f'token_file = "{password_file or layout.secret(user)}"')


def secrets_of(layout: Layout, *users: str) -> list[str]:
    return [layout.secret(u).read_text().strip() for u in users]


def test_a_screen_over_tls_with_its_password_gets_the_board_and_no_secret_is_shown(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    site, layout, tls = secured(tmp_path)
    hub_password, screen_password = secrets_of(layout, "hub", "floor-1")
    site.start_hub(hub_auth(layout), watcher=("hub", hub_password))
    loaded = site.screen(broker=f"mqtts://localhost:{tls}", feed_extra=f'ca_file = "{layout.ca_cert}"',
                         auth=screen_auth(layout))
    live = open_live_feed(loaded)
    live.start()
    got: list[str] = []
    try:
        board = wait_for(lambda: live.coordinator.state().board, timeout=10)
        assert board and [a.agent.name for a in board.agents] == ["Åsa Ödegård", "Пётр Иванов"], live.coordinator.state()
        from tests.test_hub_e2e import write_feed

        write_feed(site.feed, [{"id": "k-tls", "type": "kudos", "from": "lin", "to": "asa", "text": "Tack!"}])
        assert wait_for(lambda: got.extend(e.event.id for e in live.coordinator.drain_events()
                                           if isinstance(e, FeedEventReceived)) or "k-tls" in got, timeout=10)
        def listed() -> subprocess.CompletedProcess[str] | None:
            done = subprocess.run([sys.executable, "-m", "display.cli", "hub", "status", "--config",
                                   str(tmp_path / "hub.toml")], capture_output=True, text=True, timeout=30)
            return done if done.returncode == 0 else None

        shown = wait_for(listed, timeout=10)  # floor-1 online: the screen's status crossed TLS too
        assert shown and "floor-1  online" in shown.stdout and "connected as hub" in shown.stdout, shown
        reader = Client("reader")
        assert reader.connect(site.port, "hub", hub_password) == 0
        reader.mqtt.subscribe("chalkwall/acme/#", qos=1)
        time.sleep(1)
        reader.close()
        everything = b"".join(m.payload for m in reader.messages).decode(errors="replace")
        assert "chalkwall/acme/screen/floor-1/status" in {m.topic for m in reader.messages}
    finally:
        live.stop()
        site.close()
    for secret in (hub_password, screen_password):
        for text in (caplog.text, site.hub_log_text(), site.broker.log_text(), shown.stdout, shown.stderr, everything):
            assert secret not in text


def test_the_wrong_ca_or_password_is_one_line_and_the_screen_keeps_its_last_board(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    site, layout, tls = secured(tmp_path)
    site.start_hub(hub_auth(layout), watcher=("hub", secrets_of(layout, "hub")[0]))
    ca_key = f'ca_file = "{layout.ca_cert}"'
    first = open_live_feed(site.screen(broker=f"mqtts://localhost:{tls}", feed_extra=ca_key, auth=screen_auth(layout)))
    first.start()
    try:
        assert wait_for(lambda: first.coordinator.state().board, timeout=10)
        time.sleep(0.5)  # the board is saved for the next start
    finally:
        first.stop()
    other_ca = tmp_path / "other-ca.crt"
    other_ca.write_bytes(make_ca(dt.datetime.now(dt.timezone.utc))[0])
    wrong = tmp_path / "wrong.password"
    wrong.write_text("correct-horse-battery-staple\n")
    cases = [(f'ca_file = "{other_ca}"', screen_auth(layout), "TLS failed"),
             (ca_key, screen_auth(layout, wrong), "refused the login for 'floor-1'")]
    try:
        for feed_extra, auth, words in cases:
            caplog.clear()
            live = open_live_feed(site.screen(broker=f"mqtts://localhost:{tls}", feed_extra=feed_extra, auth=auth))
            live.start()
            try:
                state = wait_for(lambda: (lambda s: s if s.last_error else None)(live.coordinator.state()), timeout=20)
                assert state and state.last_error.startswith("hub unreachable since") and words in state.last_error
                assert [a.agent.name for a in state.board.agents] == ["Åsa Ödegård", "Пётр Иванов"]  # the last board
                time.sleep(3)  # three more tries at least (reconnect_max = 1)
                said = [r.getMessage() for r in caplog.records if r.name == "chalkwall.bus"]
                assert len(said) == 1 and words in said[0], said
                assert "correct-horse" not in caplog.text
            finally:
                live.stop()
    finally:
        site.close()


def test_a_hub_with_the_wrong_password_says_so_once_and_keeps_running(tmp_path: Path) -> None:
    site, layout, _ = secured(tmp_path)
    wrong = tmp_path / "hub-wrong.password"
    wrong.write_text("not-the-hubs-password\n")
    try:
        site.start_hub(hub_auth(layout, wrong), wait_online=False)
        assert wait_for(lambda: "refused the login" in site.hub_log_text(), timeout=15), site.hub_log_text()
        time.sleep(3)
        log = site.hub_log_text()
        assert site.hub.poll() is None and log.count("refused the login for 'hub'") == 1, log
        assert "not-the-hubs-password" not in log + site.broker.log_text()
    finally:
        site.close()


def test_the_acl_refuses_a_screen_and_the_hubs_refused_celebration_is_said_once(tmp_path: Path) -> None:
    site, layout, tls = secured(tmp_path, ("floor-1", "floor-2"))
    site.broker.stop()  # an ACL mistake: the hub may not write the events
    layout.acl.write_text(layout.acl.read_text().replace(
        "user hub\ntopic readwrite chalkwall/acme/#",
        "user hub\ntopic readwrite chalkwall/acme/board/#\ntopic readwrite chalkwall/acme/hub/#\n"
        "topic readwrite chalkwall/acme/game/#\ntopic readwrite chalkwall/acme/recent/#\ntopic read chalkwall/acme/screen/#"))
    site.broker.start()
    hub_password, screen_password = secrets_of(layout, "hub", "floor-1")
    screen = Client("floor-1")
    try:
        site.start_hub(hub_auth(layout), watcher=("hub", hub_password))
        assert screen.connect(tls, "floor-1", screen_password, ca=layout.ca_cert) == 0
        assert screen.publish("chalkwall/acme/screen/floor-2/status", b'{"v":1,"kind":"screen_status"}') == NOT_AUTHORISED
        assert screen.publish("chalkwall/acme/board/team/night", b'{"v":1,"kind":"board"}') == NOT_AUTHORISED
        from tests.test_hub_e2e import write_feed

        write_feed(site.feed, [{"id": "k-acl", "type": "kudos", "from": "lin", "to": "asa", "text": "Tack!"}])
        assert wait_for(lambda: "refused celebration" in site.hub_log_text(), timeout=10), site.hub_log_text()
        time.sleep(3)  # six more polls, each sending it again
        log = site.hub_log_text()
        assert log.count("refused celebration") == 1 and "not authorised" in log, log
        assert site.hub.poll() is None
    finally:
        screen.close()
        site.close()
