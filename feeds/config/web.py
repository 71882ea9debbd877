"""The ``[web]`` section: where the team page (``chalkwall web``) listens and how it signs people in.

``qr_on_wall`` puts ``public_url`` on the wall as a QR code (the wins scene). Plain HTTP is for a
trusted LAN only; with ``tls_cert`` and ``tls_key`` (both or neither) the page
is served over HTTPS and its session cookie is marked ``Secure``.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from feeds.config.validate import Reader

DEFAULT_LISTEN = "127.0.0.1:8080"


def split_listen(value: str) -> tuple[str, int] | None:
    """``host:port`` (``[v6]:port`` for IPv6) as (host, port); None when it is not one."""
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        return None
    if host.startswith("[") and host.endswith("]"):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return None
        return host[1:-1], int(port)
    if ":" in host or any(c.isspace() or c in "/?#@" for c in host):
        return None
    return host, int(port)


def check_listen(value: str) -> str | None:
    if split_listen(value) is None:
        return f'must look like "127.0.0.1:8080" or "0.0.0.0:8080" (address:port, port 1 to 65535), not "{value}"'
    return None


def check_public_url(value: str) -> str | None:
    if value and not (value.startswith(("http://", "https://")) and len(value.split("://", 1)[1]) > 0):
        return f'must start with "http://" or "https://" (what the invite links point to), not "{value}"'
    return None


@dataclass(frozen=True)
class WebConfig:
    """The team page (``chalkwall web``)."""

    listen: str = field(default=DEFAULT_LISTEN, metadata={"check": check_listen})
    public_url: str = field(default="", metadata={"check": check_public_url})  # default: http(s)://listen
    admin_password_file: str = "admin-password"  # an argon2 hash; `chalkwall people admin-password` writes it
    tls_cert: str = ""
    tls_key: str = ""
    qr_on_wall: bool = False  # a QR code of public_url on the wall's wins scene ("Thank a colleague: scan")

    def check(self, reader: Reader, key: str) -> None:
        if bool(self.tls_cert) != bool(self.tls_key):
            have, lack = ("tls_cert", "tls_key") if self.tls_cert else ("tls_key", "tls_cert")
            reader.problem(f"{key}.{lack}", f"missing (required with {have}): HTTPS needs both the certificate "
                                            "and its key, or neither for plain HTTP on a trusted LAN")

    @property
    def tls(self) -> bool:
        return bool(self.tls_cert and self.tls_key)

    def url(self) -> str:
        """Where links and QR codes point: ``public_url``, else this machine's ``listen`` address."""
        if self.public_url:
            return self.public_url.rstrip("/")
        return f"{'https' if self.tls else 'http'}://{self.listen}"


def wall_qr_url(web: WebConfig) -> str:
    """What the wall's QR code holds: ``public_url`` (the team page's own address, which signs a
    visitor in, never a personal link), or "" for no QR code: off, or no ``public_url`` set."""
    return web.public_url.rstrip("/") if web.qr_on_wall and web.public_url else ""


def qr_warning(web: WebConfig) -> str | None:
    """For ``chalkwall check``: the sentence when ``qr_on_wall`` is on but phones could not use it."""
    if not web.qr_on_wall:
        return None
    if not web.public_url:
        return ("web.qr_on_wall = true but web.public_url is empty: the wall draws no QR code (one of "
                f"{web.url()} would help nobody); set public_url to the address phones reach the team page at")
    host = urlsplit(web.public_url).hostname or ""
    if host == "localhost" or _loopback(host):
        return (f"web.qr_on_wall = true but web.public_url ({web.public_url}) is this machine's own loopback "
                "address: a phone that scans the wall's QR code cannot reach it")
    return None


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback or ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return False


def web_path(value: str, base_dir: Path, credential: bool = False) -> Path:
    """A ``[web]`` file: absolute as given, else beside the config (or, ``credential``, in systemd's
    ``$CREDENTIALS_DIRECTORY`` when that holds it, as ``LoadCredential=`` puts it there)."""
    path = Path(value).expanduser()
    if path.is_absolute():
        return path
    creds = os.environ.get("CREDENTIALS_DIRECTORY")
    if credential and creds and (Path(creds) / path).is_file():
        return Path(creds) / path
    return base_dir / path
