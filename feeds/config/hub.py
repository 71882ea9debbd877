"""The ``[hub]`` section: one process polls for every screen and publishes through an MQTT broker.

A config with a ``[hub]`` section is a hub's (``chalkwall hub``); without one nothing changes for a
single screen. ``broker`` is ``mqtts://host:8883`` (TLS) or ``mqtt://`` on this machine's loopback only:
the password and every board would otherwise cross the LAN in clear. ``site`` names the topic tree
(``chalkwall/<site>/…``); ``screens`` lists the screens' ids, for ``chalkwall hub init-broker`` (one
broker login each) and ``chalkwall hub status``. ``[hub.auth]`` holds the hub's broker login; with
no auth section the connection is anonymous (loopback tests only).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from feeds.config.validate import Reader

TOPIC_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
LOOPBACK_NAMES = ("localhost",)
DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}


@dataclass(frozen=True)
class Broker:
    """Where a broker listens, parsed from ``mqtts://host:port``."""

    host: str
    port: int
    tls: bool

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_broker(value: str) -> Broker | None:
    """``value`` as a :class:`Broker`; None when it is not ``mqtt[s]://host[:port]``."""
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname or parts.username or parts.password:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return None
    return Broker(parts.hostname, port or DEFAULT_PORTS[parts.scheme], parts.scheme == "mqtts")


def check_broker(value: str) -> str | None:
    if "@" in value:
        return "must not contain a user name or password: put them in [hub.auth] (username, password_file)"
    broker = parse_broker(value)
    if broker is None:
        return f'must look like "mqtts://hub.office.lan:8883" (or "mqtt://127.0.0.1:1883" on this machine), not "{value}"'
    if not broker.tls and not broker.loopback:
        return (f'"{value}" would send the broker password and every board in clear across the network: '
                f'use "mqtts://{broker.host}:8883" (mqtt:// only to 127.0.0.1 or localhost)')
    return None


def check_topic_id(value: str) -> str | None:
    if not TOPIC_ID.match(value):
        return (f'must be 1 to 63 lower-case letters, digits, "-" or "_", starting with a letter or digit '
                f'(it becomes part of MQTT topics and broker user names), not "{value}"')
    return None


@dataclass(frozen=True)
class HubAuth:
    """The broker login; the password itself lives in a file (a systemd credential on a kiosk)."""

    username: str = ""
    password_file: str = ""

    def check(self, reader: Reader, key: str) -> None:
        for name in ("username", "password_file"):
            if not getattr(self, name):
                reader.problem(f"{key}.{name}", "missing (required in an auth section: the broker login)")


@dataclass(frozen=True)
class HubConfig:
    """The hub (``chalkwall hub``) and its broker."""

    broker: str = field(default="", metadata={"check": check_broker})
    site: str = field(default="", metadata={"check": check_topic_id})
    screens: tuple[str, ...] = field(default=(), metadata={"each": check_topic_id})
    ca_file: str = ""  # the CA that signed the broker's certificate (init-broker writes ca.crt); "": the system's
    reconnect_max: float = field(default=30.0, metadata={"min": 1, "max": 600})  # seconds: the backoff's cap
    auth: HubAuth | None = None

    def check(self, reader: Reader, key: str) -> None:
        for name in ("broker", "site"):
            if not getattr(self, name):
                reader.problem(f"{key}.{name}", "missing (required for a hub)")
        for dup in sorted({s for s in self.screens if self.screens.count(s) > 1}):
            reader.problem(f"{key}.screens", f'"{dup}" is listed more than once')
        if self.auth is not None and self.auth.username in self.screens:
            reader.problem(f"{key}.auth.username", f'"{self.auth.username}" is also a screen id: the hub needs a '
                                                   'login of its own (its rights are wider)')

    @property
    def endpoint(self) -> Broker:
        parsed = parse_broker(self.broker)
        assert parsed is not None  # the check above
        return parsed

    def topic(self, *parts: str) -> str:
        return "/".join(("chalkwall", self.site, *parts))
