"""Personal sign-in links as the admin hands them out: the URL and its QR code (a PNG).

The URL is ``[web] public_url`` + ``/in/TOKEN``. A QR file holds a working link, so the invite
directory is made private (0700) and each file 0600.
"""

from __future__ import annotations

import base64
import io
import os
import re
from pathlib import Path

import qrcode

from feeds.logs import register_secret


def invite_url(public_url: str, token: str) -> str:
    register_secret(token)  # printed once, by the command that made it; never in a log line
    return f"{public_url.rstrip('/')}/in/{token}"


def qr_png(text: str) -> bytes:
    """``text`` as a QR code PNG, big enough to scan off a phone screen or a printout."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=8, border=4)
    code.add_data(text)
    code.make(fit=True)
    out = io.BytesIO()
    code.make_image().save(out)  # the default PIL image factory: a real PNG
    return out.getvalue()


def qr_data_uri(text: str) -> str:
    return "data:image/png;base64," + base64.b64encode(qr_png(text)).decode("ascii")


def qr_file_name(person_id: str) -> str:
    """A safe file name for an id (ids can hold anything: "Åsa Ödegård", "a/b")."""
    safe = re.sub(r"[^\w.@-]+", "_", person_id, flags=re.UNICODE).strip("._") or "person"
    return f"{safe}.png"


def write_qr(directory: Path, person_id: str, url: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(directory, 0o700)
    path = directory / qr_file_name(person_id)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(qr_png(url))
    return path
