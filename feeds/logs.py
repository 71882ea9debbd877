"""Logging set-up: plain lines for people, or one JSON object per line for journald and tests.

Records that matter to an operator carry an ``event`` name (feed_error, feed_recovered,
record_dropped, ...) and structured fields; :func:`log_event` attaches them. Registered secrets
are masked in every formatted record, whatever the format.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone
from typing import Any, TextIO

LOGGER = "chalkwall"
_SECRETS: set[str] = set()


def registered_secrets() -> frozenset[str]:
    """Every secret read so far (tokens, passwords): masked in every formatted record."""
    return frozenset(_SECRETS)


def register_secret(value: str) -> None:
    if len(value) >= 4:  # shorter strings would blank out ordinary words in the log
        _SECRETS.add(value)


def log_event(logger: logging.Logger, level: int, event: str, message: str, **fields: Any) -> None:
    """Log ``message`` as the named structured event with extra fields."""
    logger.log(level, message, extra={"event": event, "fields": fields})


def _redact(text: str) -> str:
    for secret in registered_secrets():
        text = text.replace(secret, "***")
        escaped = json.dumps(secret)[1:-1]
        if escaped != secret:
            text = text.replace(escaped, "***")
    return text


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": getattr(record, "event", "log"),
            "message": record.getMessage(),
        }
        for key, value in getattr(record, "fields", {}).items():
            out.setdefault(key, value)
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return _redact(json.dumps(out, ensure_ascii=False, default=str))


class PlainFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(message)s", "%Y-%m-%d %H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        return _redact(super().format(record))


def setup_logging(fmt: str = "plain", level: str = "info", stream: TextIO | None = None) -> None:
    """Send chalkwall's (and its libraries') records to ``stream`` (stderr) in the chosen format."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else PlainFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper()))
    # httpx logs every request at INFO; one line per poll would drown the journal.
    for noisy in ("httpx", "httpcore", "apscheduler"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
