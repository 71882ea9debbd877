"""One MQTT 5 connection to the broker, kept up by itself, that says when it breaks and recovers.

paho-mqtt runs the connection in its own network thread (``loop_start``) and reconnects with a
backoff. This wraps it with what both ends of chalkwall's bus need and paho leaves to the caller:

- a persistent session (``clean_start=False`` on *every* connect — paho's default discards the
  session on a process's first connect, and with it every celebration queued while it was away),
- a will (retained, sent by the broker after ``will_delay`` seconds without us, so a short blip does
  not flap the status), and the same status published by hand before a clean stop,
- subscriptions and retained state sent again on every (re)connect (a broker restarted without
  persistence has lost both), through ``on_up``,
- one lock around publishing, which paho does not promise to be thread-safe,
- a cap on what the broker may send us (MQTT 5 Maximum Packet Size): a 50 MB message never arrives,
- one log line when the link breaks and one when it recovers, never the password.
"""

from __future__ import annotations

import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from feeds.config.hub import Broker
from feeds.logs import LOGGER

log = logging.getLogger(f"{LOGGER}.bus")
MAX_PACKET = 2_000_000  # Mosquitto 2.1's default cap; chalkwall's payloads stay far below it
SESSION_SECONDS = 2 * 24 * 3600
NOT_YET = "not connected yet"
NO_SUBSCRIBERS = 0x10  # a success too: nobody is listening yet
Message = Callable[[str, bytes, bool], None]


@dataclass(frozen=True)
class LinkStatus:
    connected: bool
    since: float  # wall-clock seconds: when it last connected or broke
    error: str | None = None  # why it is down, in words (no secret in it)


def _reason_text(reason: Any) -> str:
    text = str(getattr(reason, "getName", lambda: reason)())
    return text.replace("Bad user name or password", "bad user name or password").replace(
        "Not authorized", "not authorised")


def _no_delay(_client: Any, _userdata: Any, sock: Any) -> None:
    """Nagle off on our end too (paho leaves it on; the broker's ``set_tcp_nodelay`` is its own end):
    a board's last partial segment and a screen's acknowledgements are not held back waiting for
    the peer's delayed ACK."""
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except (OSError, AttributeError):  # not a TCP socket (a test's stand-in): nothing to tune
        pass


class Link:
    """A broker connection for ``client_id`` (see the module docstring); call :meth:`start`."""

    def __init__(self, endpoint: Broker, client_id: str, *, username: str | None = None,
                 password: str | None = None, ca_file: str | None = None,
                 will: tuple[str, bytes] | None = None, will_delay: int = 10,
                 on_message: Message | None = None, on_up: Callable[[], None] | None = None,
                 clock: Callable[[], float] = time.time, keepalive: int = 15, reconnect_max: float = 30) -> None:
        self.endpoint, self.client_id, self.clock, self.keepalive = endpoint, client_id, clock, keepalive
        self.on_message, self.on_up = on_message, on_up
        # Two locks, neither ever taken by paho's network thread while we are inside paho: ``_send``
        # serialises our callers' publishes (paho does not promise thread safety); ``_ack`` guards only
        # the table of acknowledgement callbacks. A callback that waited for a lock held across a paho
        # call would deadlock against paho's own locks and stop the keep-alives.
        self._send = threading.Lock()
        self._ack = threading.Lock()
        self._early: dict[int, int] = {}  # acknowledged before the caller's callback was filed
        self._acks: dict[int, Callable[[int], None]] = {}
        self._subscriptions: dict[str, int] = {}
        self._dropped: set[str] = set()  # unsubscribed while away: said to the broker at the next connect
        self._status = LinkStatus(False, clock(), NOT_YET)
        self._said: str | None = None  # the last trouble logged, so it is said once
        self._stopping = False
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
        if username is not None:
            client.username_pw_set(username, password)
        if endpoint.tls:
            client.tls_set(ca_certs=ca_file or None, cert_reqs=ssl.CERT_REQUIRED, tls_version=ssl.PROTOCOL_TLS_CLIENT)
        if will is not None:
            props = Properties(PacketTypes.WILLMESSAGE)
            props.WillDelayInterval = will_delay
            client.will_set(will[0], will[1], qos=1, retain=True, properties=props)
        # paho doubles the wait after each failed try, up to this cap: after an hour without a broker, a
        # screen is back at most reconnect_max seconds after the broker is
        client.reconnect_delay_set(1, max(1, int(reconnect_max)))
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        client.on_socket_open = _no_delay
        self.client = client

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> None:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = SESSION_SECONDS
        props.MaximumPacketSize = MAX_PACKET
        self.client.connect_async(self.endpoint.host, self.endpoint.port, keepalive=self.keepalive,
                                  clean_start=False, properties=props)
        self.client.loop_start()

    def stop(self, last: tuple[str, bytes] | None = None, timeout: float = 2.0) -> None:
        """Publish ``last`` (the offline status) if connected, then disconnect cleanly."""
        self._stopping = True
        if last is not None and self.status().connected:
            done = threading.Event()
            self.publish(last[0], last[1], retain=True, on_ack=lambda _r: done.set())
            done.wait(timeout)
        self.client.disconnect()
        self.client.loop_stop()

    def status(self) -> LinkStatus:
        return self._status

    # -- use -------------------------------------------------------------------------------------
    def subscribe(self, topic: str, qos: int = 1) -> None:
        """Subscribe now if connected, and again after every reconnect."""
        self._subscriptions[topic] = qos
        if self._status.connected:
            with self._send:
                self.client.subscribe(topic, qos=qos)

    def unsubscribe(self, topic: str) -> None:
        """No longer, nor after a reconnect (the broker keeps a persistent session's subscriptions:
        one dropped while away is dropped there at the next connect)."""
        if self._subscriptions.pop(topic, None) is None:
            return
        self._dropped.add(topic)
        if self._status.connected:
            with self._send:
                self.client.unsubscribe(topic)
            self._dropped.discard(topic)

    def publish(self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False,
                expiry: int | None = None, on_ack: Callable[[int], None] | None = None) -> bool:
        """Queue a publish (paho keeps QoS 1 until the broker has it, across reconnects of this process);
        ``on_ack`` gets the broker's reason code. False when paho refused it outright."""
        props = None
        if expiry is not None:
            props = Properties(PacketTypes.PUBLISH)
            props.MessageExpiryInterval = expiry
        with self._send:
            info = self.client.publish(topic, payload, qos=qos, retain=retain, properties=props)
        if on_ack is not None:
            with self._ack:
                early = self._early.pop(info.mid, None)
                if early is None:
                    self._acks[info.mid] = on_ack
            if early is not None:
                on_ack(early)
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            log.warning("could not queue a message for %s: %s", topic, mqtt.error_string(info.rc))
            return False
        return True

    # -- paho's callbacks (its network thread) -----------------------------------------------------
    def _trouble(self, text: str) -> None:
        self._status = LinkStatus(False, self._status.since if not self._status.connected else self.clock(), text)
        if text != self._said:
            log.warning("broker %s:%d: %s; trying again", self.endpoint.host, self.endpoint.port, text)
            self._said = text

    def _on_connect(self, _c: Any, _u: Any, flags: Any, reason: Any, _props: Any) -> None:
        if reason.is_failure:
            self._trouble(f"refused the login for {self.client_id!r} ({_reason_text(reason)})")
            return
        was = self._status
        self._status = LinkStatus(True, self.clock())
        if self._said is not None or not was.connected:
            away = f" after {self.clock() - was.since:.0f} s away" if self._said is not None else ""
            log.info("broker %s:%d: connected%s (session %s)", self.endpoint.host, self.endpoint.port, away,
                     "kept" if flags.session_present else "new")
        self._said = None
        for topic, qos in list(self._subscriptions.items()):  # paho's thread, inside paho: no lock of ours
            self.client.subscribe(topic, qos=qos)
        for topic in list(self._dropped):
            if topic not in self._subscriptions:
                self.client.unsubscribe(topic)
            self._dropped.discard(topic)
        if self.on_up is not None:
            try:
                self.on_up()
            except Exception:  # a bug in a caller must not kill paho's thread
                log.exception("after connecting")

    def _on_connect_fail(self, _c: Any, _u: Any) -> None:
        self._trouble("cannot connect (no broker there, or TLS failed: is ca_file the hub's CA?)")

    def _on_disconnect(self, _c: Any, _u: Any, _flags: Any, reason: Any, _props: Any) -> None:
        if self._stopping:
            self._status = LinkStatus(False, self.clock(), "stopped")
            return
        if self._status.connected:
            self._status = LinkStatus(False, self.clock(), f"lost the connection ({_reason_text(reason)})")
        self._trouble(self._status.error or "disconnected")

    def _on_publish(self, _c: Any, _u: Any, mid: int, reason: Any, _props: Any) -> None:
        code = int(getattr(reason, "value", reason))
        with self._ack:
            callback = self._acks.pop(mid, None)
            if callback is None:
                self._early[mid] = code
                if len(self._early) > 10_000:  # acks nobody asked for (QoS 1 without a callback)
                    self._early.clear()
        if callback is not None:
            callback(code)

    def _on_message(self, _c: Any, _u: Any, message: mqtt.MQTTMessage) -> None:
        if self.on_message is None:
            return
        try:
            self.on_message(message.topic, message.payload, bool(message.retain))
        except Exception:
            log.exception("handling a message on %s", message.topic)
