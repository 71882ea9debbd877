"""A real Mosquitto broker for tests: Debian's ``/usr/sbin/mosquitto`` in the foreground, on free
loopback ports, with its log and persistence in a test's directory, and a paho client that waits for
what the broker answered (CONNACK, PUBACK reason codes)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

BINARY = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
needs_mosquitto = pytest.mark.skipif(not Path(BINARY).is_file(), reason="Mosquitto is not installed (./bootstrap test installs it)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Broker:
    """One mosquitto process; ``body`` is its config after chalkwall's logging and persistence lines."""

    def __init__(self, directory: Path, body: str, ports: list[int]) -> None:
        self.directory, self.body, self.ports = directory, body, ports
        self.conf = directory / "mosquitto.conf"
        self.log = directory / "mosquitto.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10.0) -> Broker:
        (self.directory / "data").mkdir(parents=True, exist_ok=True)
        run_as = "user root\n" if os.geteuid() == 0 else ""  # else it drops to `mosquitto` and cannot write here
        self.conf.write_text(f"{run_as}log_dest file {self.log}\nlog_type all\npersistence true\n"
                             f"persistence_location {self.directory}/data/\n{self.body}")
        self.proc = subprocess.Popen([BINARY, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        for port in self.ports:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"mosquitto exited: {self.proc.stderr.read().decode() if self.proc.stderr else ''}"
                                       f" {self.log_text()}")
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"mosquitto is not listening on {port}: {self.log_text()}") from None
                    time.sleep(0.05)
        return self

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


class Client:
    """A paho MQTT 5 client whose calls wait for the broker's answer."""

    def __init__(self, client_id: str) -> None:
        self.mqtt = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        self.connected = threading.Event()
        self.reason: Any = None
        self.acks: dict[int, Any] = {}
        self.messages: list[mqtt.MQTTMessage] = []
        self._acked = threading.Condition()
        self.mqtt.on_connect = self._on_connect
        self.mqtt.on_connect_fail = lambda *_: self.connected.set()
        self.mqtt.on_publish = self._on_publish
        self.mqtt.on_message = lambda _c, _u, message: self.messages.append(message)

    def _on_connect(self, _c: Any, _u: Any, _flags: Any, reason: Any, _props: Any) -> None:
        self.reason = reason
        self.connected.set()

    def _on_publish(self, _c: Any, _u: Any, mid: int, reason: Any, _props: Any) -> None:
        with self._acked:
            self.acks[mid] = reason
            self._acked.notify_all()

    def connect(self, port: int, user: str | None = None, password: str | None = None,
                ca: Path | None = None, timeout: float = 5.0) -> Any:
        """The CONNACK's reason code (None when the connection itself failed, e.g. TLS)."""
        if user is not None:
            self.mqtt.username_pw_set(user, password)
        if ca is not None:
            self.mqtt.tls_set(ca_certs=str(ca))
        self.mqtt.reconnect_delay_set(30, 30)  # one try: tests read the first answer
        try:
            self.mqtt.connect("127.0.0.1", port)
        except (OSError, mqtt.WebsocketConnectionError):
            return None
        self.mqtt.loop_start()
        self.connected.wait(timeout)
        return self.reason

    def publish(self, topic: str, payload: bytes | str, retain: bool = False, timeout: float = 5.0) -> Any:
        """QoS 1; the PUBACK's reason code."""
        info = self.mqtt.publish(topic, payload, qos=1, retain=retain)
        with self._acked:
            self._acked.wait_for(lambda: info.mid in self.acks, timeout)
        return self.acks.get(info.mid)

    def close(self) -> None:
        self.mqtt.disconnect()
        self.mqtt.loop_stop()
