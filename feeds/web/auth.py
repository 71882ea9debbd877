"""Sign-in pieces of the team page: the admin password (argon2), the sign-in rate limit, the
session key and the per-session CSRF token.

The admin password is kept only as an argon2id hash in ``[web] admin_password_file``. Sign-in tries
are limited per client address (5 a minute by default) *before* the hash is checked, so a flood of
wrong passwords costs one dictionary lookup each, not an argon2 run.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

SESSION_KEY_FILE = "web-session.key"
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def write_password_hash(path: Path, password: str) -> None:
    """Write ``password``'s argon2 hash to ``path`` (mode 0600), replacing any before it at once."""
    if len(password) < 8:
        raise ValueError("the admin password needs at least 8 characters")
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(path.name + ".new")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(hash_password(password) + "\n")
    os.replace(temp, path)


def read_password_hash(path: Path) -> str | None:
    """The stored hash, or None when there is none (admin sign-in is then off)."""
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return text if text.startswith("$argon2") else None


def verify_password(stored: str | None, password: str) -> bool:
    if stored is None or not password:
        return False
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def admin_mark(stored: str) -> str:
    """What an admin session remembers of the hash: a new password signs every admin out."""
    return hashlib.sha256(stored.encode("utf-8")).hexdigest()[:16]


class RateLimit:
    """At most ``tries`` attempts per ``window`` seconds per key (a client address)."""

    def __init__(self, tries: int = 5, window: float = 60.0, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 10_000) -> None:
        self.tries, self.window, self.clock, self.max_keys = tries, window, clock, max_keys
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        """Count one attempt by ``key``; False (not counted) when it is over its limit."""
        now = self.clock()
        with self._lock:
            if len(self._seen) >= self.max_keys:  # a sweep of addresses must not grow memory without end
                self._seen = {k: q for k, q in self._seen.items() if q and q[-1] > now - self.window}
            stamps = self._seen.setdefault(key, deque())
            while stamps and stamps[0] <= now - self.window:
                stamps.popleft()
            if len(stamps) >= self.tries:
                return False
            stamps.append(now)
            return True

    def forgive(self, key: str) -> None:
        """Take back ``key``'s last attempt (it succeeded): only failures use up the limit."""
        with self._lock:
            stamps = self._seen.get(key)
            if stamps:
                stamps.pop()

    def retry_after(self, key: str) -> int:
        with self._lock:
            stamps = self._seen.get(key)
            if not stamps:
                return 0
            return max(1, int(stamps[0] + self.window - self.clock()) + 1)


def session_key(directory: Path) -> str:
    """The key that signs session cookies: made once, kept (0600) in the state directory, so a
    restart keeps everyone signed in. Deleting the file signs everyone out."""
    path = directory / SESSION_KEY_FILE
    try:
        key = path.read_text(encoding="utf-8").strip()
        if len(key) >= 32:
            return key
    except OSError:
        pass
    directory.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(key + "\n")
    return key


def new_csrf() -> str:
    return secrets.token_urlsafe(32)


def csrf_ok(expected: object, given: object) -> bool:
    return (isinstance(expected, str) and isinstance(given, str) and bool(expected)
            and hmac.compare_digest(expected.encode(), given.encode()))
