"""The bus link against a real Mosquitto: retained state at once, a broker killed and back, a will
after a screen dies, a wrong password said once, an oversized message never delivered."""

from __future__ import annotations

import logging
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from feeds.bus.link import Link
from feeds.config.hub import Broker as Endpoint
from tests.mosquitto import Broker, Client, free_port, needs_mosquitto

pytestmark = needs_mosquitto


def wait_for(check: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return check()


class Inbox:
    def __init__(self) -> None:
        self.got: list[tuple[str, bytes, bool]] = []
        self.lock = threading.Lock()

    def __call__(self, topic: str, payload: bytes, retain: bool) -> None:
        with self.lock:
            self.got.append((topic, payload, retain))

    def payloads(self) -> list[bytes]:
        with self.lock:
            return [p for _, p, _ in self.got]


@pytest.fixture()
def open_broker(tmp_path: Path):
    port = free_port()
    broker = Broker(tmp_path, f"listener {port} 127.0.0.1\nallow_anonymous true\nmessage_size_limit 0\n", [port])
    broker.start()
    yield broker, port
    broker.stop()


def test_a_subscriber_gets_the_retained_board_within_a_second_of_connecting(open_broker) -> None:
    _, port = open_broker
    hub = Client("hub")
    assert hub.connect(port) == 0
    hub.publish("chalkwall/acme/board/team/night", b'{"v":1,"rev":7}', retain=True)
    inbox = Inbox()
    link = Link(Endpoint("127.0.0.1", port, False), "floor-1", on_message=inbox)
    link.subscribe("chalkwall/acme/board/#")
    started = time.monotonic()
    link.start()
    try:
        assert wait_for(lambda: inbox.payloads() == [b'{"v":1,"rev":7}'], timeout=1.0)
        assert time.monotonic() - started < 1.0 and link.status().connected
    finally:
        link.stop()
        hub.close()


def test_a_topic_unsubscribed_while_away_is_dropped_at_the_broker_too(open_broker) -> None:
    """The session is persistent: the broker would keep a subscription the link forgot while away."""
    _, port = open_broker
    hub = Client("hub")
    assert hub.connect(port) == 0
    inbox = Inbox()
    link = Link(Endpoint("127.0.0.1", port, False), "floor-1", on_message=inbox, reconnect_max=1)
    link.subscribe("chalkwall/acme/board/team/night")
    link.subscribe("chalkwall/acme/board/change/night")
    link.start()
    try:
        assert wait_for(lambda: link.status().connected)
        sock = link.client.socket()
        assert isinstance(sock, socket.socket)
        sock.shutdown(socket.SHUT_RDWR)  # away for a second (paho's reconnect wait)
        assert wait_for(lambda: not link.status().connected)
        link.unsubscribe("chalkwall/acme/board/team/night")
        assert wait_for(lambda: link.status().connected)
        time.sleep(0.3)
        hub.publish("chalkwall/acme/board/team/night", b"whole")
        hub.publish("chalkwall/acme/board/change/night", b"change")
        assert wait_for(lambda: b"change" in inbox.payloads())
        time.sleep(0.3)
        assert b"whole" not in inbox.payloads(), inbox.got
    finally:
        link.stop()
        hub.close()


def test_the_links_socket_sends_at_once_without_nagles_wait(open_broker) -> None:
    _, port = open_broker
    link = Link(Endpoint("127.0.0.1", port, False), "floor-1")
    link.start()
    try:
        assert wait_for(lambda: link.status().connected)
        sock = link.client.socket()
        assert sock is not None and sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        link.stop()


def test_a_killed_broker_is_said_once_and_the_link_comes_back_by_itself(
        open_broker, caplog: pytest.LogCaptureFixture) -> None:
    broker, port = open_broker
    ups: list[float] = []
    inbox = Inbox()
    link = Link(Endpoint("127.0.0.1", port, False), "floor-1", on_message=inbox, on_up=lambda: ups.append(1))
    link.subscribe("chalkwall/acme/events/#")
    caplog.set_level(logging.INFO, logger="chalkwall")
    link.start()
    try:
        assert wait_for(lambda: len(ups) == 1)
        broker.stop(signal.SIGKILL)
        assert wait_for(lambda: not link.status().connected)
        time.sleep(2.5)  # several reconnect tries while it is down
        assert "lost the connection" in (link.status().error or "") or "cannot connect" in (link.status().error or "")
        broker.start()
        assert wait_for(lambda: len(ups) == 2, timeout=40)
        sender = Client("hub")
        assert sender.connect(port) == 0
        sender.publish("chalkwall/acme/events/team/night", b'{"seq":1}')
        assert wait_for(lambda: b'{"seq":1}' in inbox.payloads())  # subscribed again by itself
        sender.close()
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "broker" in r.getMessage()]
        assert 1 <= len(warnings) <= 2, [r.getMessage() for r in warnings]  # lost, then cannot connect: not one per try
        assert any("connected after" in r.getMessage() for r in caplog.records)
    finally:
        link.stop()


SCREEN = textwrap.dedent("""
    import sys, time
    from feeds.bus.link import Link
    from feeds.config.hub import Broker
    port = int(sys.argv[1])
    link = Link(Broker("127.0.0.1", port, False), "floor-9",
                will=("chalkwall/acme/screen/floor-9/status", b'{"state":"offline"}'), will_delay=1)
    link.on_up = lambda: link.publish("chalkwall/acme/screen/floor-9/status", b'{"state":"online"}', retain=True)
    link.start()
    time.sleep(60)
""")


def test_a_screen_killed_minus_9_goes_offline_by_its_will(open_broker) -> None:
    _, port = open_broker
    screen = subprocess.Popen([sys.executable, "-c", SCREEN, str(port)])
    watcher = Client("watcher")
    try:
        assert watcher.connect(port) == 0
        watcher.mqtt.subscribe("chalkwall/acme/screen/+/status", qos=1)
        assert wait_for(lambda: any(m.payload == b'{"state":"online"}' for m in watcher.messages), timeout=10)
        screen.send_signal(signal.SIGKILL)
        screen.wait()
        assert wait_for(lambda: watcher.messages[-1].payload == b'{"state":"offline"}', timeout=8)
    finally:
        if screen.poll() is None:
            screen.kill()
        watcher.close()


def test_a_clean_stop_publishes_the_offline_status_itself(open_broker) -> None:
    _, port = open_broker
    link = Link(Endpoint("127.0.0.1", port, False), "floor-2")
    ups: list[int] = []
    link.on_up = lambda: ups.append(1)
    link.start()
    assert wait_for(lambda: bool(ups))
    link.stop(last=("chalkwall/acme/screen/floor-2/status", b'{"state":"offline"}'))
    reader = Client("reader")
    assert reader.connect(port) == 0
    reader.mqtt.subscribe("chalkwall/acme/screen/floor-2/status", qos=1)
    assert wait_for(lambda: [m.payload for m in reader.messages] == [b'{"state":"offline"}'])
    reader.close()


def test_a_message_over_the_cap_never_arrives_and_the_next_one_does(open_broker) -> None:
    _, port = open_broker
    inbox = Inbox()
    link = Link(Endpoint("127.0.0.1", port, False), "floor-3", on_message=inbox)
    link.subscribe("chalkwall/acme/board/#")
    link.start()
    rogue = Client("rogue")
    try:
        assert wait_for(lambda: link.status().connected)
        assert rogue.connect(port) == 0
        rogue.publish("chalkwall/acme/board/team/night", b"x" * 3_000_000, timeout=20)
        rogue.publish("chalkwall/acme/board/team/night", b'{"v":1}')
        assert wait_for(lambda: inbox.payloads() == [b'{"v":1}'])
        assert link.status().connected
    finally:
        rogue.close()
        link.stop()


def test_a_wrong_password_is_said_once_and_never_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from feeds.config.hub import HubConfig
    from feeds.publish.broker_setup import init_broker

    out, local, tls = tmp_path / "m", free_port(), free_port()
    init_broker(HubConfig(broker="mqtts://localhost:8883", site="acme", screens=("floor-1",)), out, [],
                local_port=local, tls_port=tls)
    broker = Broker(tmp_path, f"include_dir {out}/conf.d\n", [local, tls]).start()
    link = Link(Endpoint("localhost", tls, True), "floor-1", username="floor-1", password="wrong-horse-battery",
                ca_file=str(out / "chalkwall" / "ca.crt"))
    try:
        link.start()
        assert wait_for(lambda: "bad user name or password" in (link.status().error or "")
                        or "not authorised" in (link.status().error or ""), timeout=5)
        time.sleep(3)  # paho tries again meanwhile
        said = [r.getMessage() for r in caplog.records if "refused the login" in r.getMessage()]
        assert len(said) == 1 and "wrong-horse-battery" not in caplog.text
        assert "wrong-horse-battery" not in broker.log_text()
    finally:
        link.stop()
        broker.stop()
