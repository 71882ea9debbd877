"""``chalkwall hub init-broker``: a Mosquitto drop-in config, a login per screen, an ACL and a private CA.

Everything is written under one directory (Debian's ``/etc/mosquitto`` by default): the drop-in
``conf.d/chalkwall.conf`` that Debian's ``mosquitto.conf`` includes, and ``chalkwall/`` beside it with
the password file, the ACL, the CA and the broker's certificate, and ``secrets/<user>.password`` — one
random password per login, for the admin to copy to that screen (never printed, never logged).

Running it again is safe: existing logins keep their passwords, new screens get one, the ACL and
the drop-in are rewritten from the config, the CA is kept, and the server certificate is made again
only when the host names change or it nears expiry.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import pwd
import secrets
import sys
from dataclasses import dataclass, field
from pathlib import Path

from feeds.config.hub import HubConfig
from feeds.config.schema import LoadedConfig
from feeds.publish.certs import make_ca, make_server, server_needs_renewal

ITERATIONS = 20_000  # mosquitto_passwd's default is 101; a broker login is checked once per connect
BROKER_USER = "mosquitto"
DEFAULT_HUB_USER = "hub"


def hash_password(password: str, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """Mosquitto 2's password-file hash (``$7$``: PBKDF2-HMAC-SHA512, as ``mosquitto_passwd`` writes)."""
    salt = salt if salt is not None else secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


@dataclass(frozen=True)
class Layout:
    """Where init-broker puts each file under ``out``."""

    out: Path

    @property
    def conf(self) -> Path:
        return self.out / "conf.d" / "chalkwall.conf"

    @property
    def home(self) -> Path:
        return self.out / "chalkwall"

    @property
    def passwd(self) -> Path:
        return self.home / "passwd"

    @property
    def acl(self) -> Path:
        return self.home / "acl"

    @property
    def ca_cert(self) -> Path:
        return self.home / "ca.crt"

    @property
    def ca_key(self) -> Path:
        return self.home / "ca.key"

    @property
    def server_cert(self) -> Path:
        return self.home / "server.crt"

    @property
    def server_key(self) -> Path:
        return self.home / "server.key"

    def secret(self, user: str) -> Path:
        return self.home / "secrets" / f"{user}.password"


@dataclass
class Report:
    """What one run did, a line each, for the admin (no secret in it)."""

    lines: list[str] = field(default_factory=list)

    def say(self, line: str) -> None:
        self.lines.append(line)


def hub_user(hub: HubConfig) -> str:
    return hub.auth.username if hub.auth is not None else DEFAULT_HUB_USER


def render_acl(hub: HubConfig) -> str:
    """The hub may read and write its site; each screen may read its site and write only its own status."""
    site = hub.topic()
    lines = ["# chalkwall: who may read and write which topics (written by `chalkwall hub init-broker`)",
             f"user {hub_user(hub)}", f"topic readwrite {site}/#", ""]
    for screen in hub.screens:
        lines += [f"user {screen}", f"topic read {site}/#",
                  f"topic write {site}/screen/{screen}/status", f"topic write {site}/screen/{screen}/ack", ""]
    return "\n".join(lines)


def render_conf(layout: Layout, local_port: int, tls_port: int) -> str:
    return f"""\
# chalkwall hub broker, written by `chalkwall hub init-broker`: run it again rather than editing
# this file (it rewrites this file and the ACL from the hub's config).
per_listener_settings false
allow_anonymous false
password_file {layout.passwd}
acl_file {layout.acl}

# the hub itself, on this machine; client ids are not tied to user names here, so that
# `chalkwall hub status` can log in as the hub beside it without taking the hub's session over
listener {local_port} 127.0.0.1

# the screens, over TLS with chalkwall's own CA
listener {tls_port}
use_username_as_clientid true
cafile {layout.ca_cert}
certfile {layout.server_cert}
keyfile {layout.server_key}
tls_version tlsv1.2

# sessions survive a restart; retained boards need not (the hub republishes them on every connect)
autosave_interval 300
persistent_client_expiration 2d
max_queued_messages 1000
message_size_limit 2000000
set_tcp_nodelay true
"""


def _write(path: Path, data: bytes, mode: int, broker_reads: bool = False) -> None:
    """Write ``path`` whole (a temporary file renamed over it), private to its owner — and to the broker's
    group, when it runs as its own user and must read it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    group = _broker_group() if broker_reads else None
    if group is not None:
        os.chown(tmp, 0, group)
        os.chmod(tmp, 0o640)
    else:
        os.chmod(tmp, mode)
    os.replace(tmp, path)


def _broker_group() -> int | None:
    """Mosquitto's group when we run as root on a machine with Debian's package (it drops to that user)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(BROKER_USER).pw_gid
    except KeyError:
        return None


def _read_passwd(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        user, sep, hashed = line.partition(":")
        if sep and user and not line.startswith("#"):
            out[user] = hashed
    return out


def _logins(hub: HubConfig, layout: Layout, report: Report) -> None:
    known = _read_passwd(layout.passwd)
    users = [hub_user(hub), *hub.screens]
    for user in users:
        if user in known:
            continue
        password = secrets.token_urlsafe(24)
        _write(layout.secret(user), (password + "\n").encode(), 0o600)
        known[user] = hash_password(password)
        report.say(f"login {user}: new; its password is in {layout.secret(user)}")
    kept = [u for u in users if u in known]
    report.say(f"logins: {len(kept)} ({', '.join(kept)})")
    gone = sorted(set(known) - set(users))
    if gone:
        report.say(f"logins kept though no longer in the config (remove them by hand): {', '.join(gone)}")
    body = "".join(f"{user}:{hashed}\n" for user, hashed in known.items())
    _write(layout.passwd, body.encode(), 0o600, broker_reads=True)


def _certificates(layout: Layout, hosts: list[str], now: dt.datetime, report: Report) -> None:
    if not (layout.ca_cert.is_file() and layout.ca_key.is_file()):
        cert, key = make_ca(now)
        _write(layout.ca_key, key, 0o600)
        _write(layout.ca_cert, cert, 0o644)
        report.say(f"CA: new, {layout.ca_cert} (copy it to every screen: [feed] ca_file)")
    else:
        report.say(f"CA: kept, {layout.ca_cert}")
    ca_cert = layout.ca_cert.read_bytes()
    why = server_needs_renewal(layout.server_cert, ca_cert, hosts, now)
    if why is None:
        report.say(f"server certificate: kept ({', '.join(hosts)})")
        return
    cert, key = make_server(ca_cert, layout.ca_key.read_bytes(), hosts, now)
    _write(layout.server_key, key, 0o600, broker_reads=True)
    _write(layout.server_cert, cert, 0o644)
    report.say(f"server certificate: made ({why}) for {', '.join(hosts)}")


def init_broker(hub: HubConfig, out: Path, hosts: list[str], *, local_port: int = 1883, tls_port: int = 8883,
                now: dt.datetime | None = None) -> Report:
    """Write (or bring up to date) everything Mosquitto needs for ``hub``; what was done, line by line."""
    now = now or dt.datetime.now(dt.timezone.utc)
    layout, report = Layout(out), Report()
    names = list(dict.fromkeys([hub.endpoint.host, *hosts, "localhost", "127.0.0.1"]))
    _logins(hub, layout, report)
    _write(layout.acl, render_acl(hub).encode(), 0o600, broker_reads=True)
    report.say(f"ACL: {layout.acl} (the hub: all of {hub.topic()}/#; each screen: read it, write its own status)")
    _certificates(layout, names, now, report)
    _write(layout.conf, render_conf(layout, local_port, tls_port).encode(), 0o644)
    report.say(f"broker config: {layout.conf} (then: systemctl restart mosquitto)")
    return report


def cmd_init_broker(loaded: LoadedConfig, out: str, hosts: list[str], local_port: int, tls_port: int) -> int:
    hub = loaded.config.hub
    if hub is None:
        print(f"chalkwall: {loaded.label} has no [hub] section (broker, site, screens): init-broker sets up "
              "the broker for a hub's config", file=sys.stderr)
        return 2
    for label, port in (("--local-port", local_port), ("--tls-port", tls_port)):
        if not 1 <= port <= 65535:
            print(f"chalkwall: {label} must be 1 to 65535, not {port}", file=sys.stderr)
            return 2
    if local_port == tls_port:
        print("chalkwall: --local-port and --tls-port must differ", file=sys.stderr)
        return 2
    try:
        report = init_broker(hub, Path(out).expanduser(), hosts, local_port=local_port, tls_port=tls_port)
    except OSError as exc:
        print(f"chalkwall: cannot write {exc.filename or out}: {exc.strerror or exc}"
              f"{' (run it with sudo)' if isinstance(exc, PermissionError) else ''}", file=sys.stderr)
        return 1
    print("\n".join(report.lines))
    if not hub.screens:
        print("chalkwall: [hub] screens is empty: no screen can log in yet", file=sys.stderr)
    return 0
