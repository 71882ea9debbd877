"""Cleaning one value of a feed record: text, identifiers, numbers and times (used by parse.py).

Text is cleaned deliberately: NFC-normalised (a decomposed "Å" from a Mac export renders as one
letter), control characters removed, and capped in length. A value that cannot be used raises
``_Drop`` with the reason a warning gives.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable
from datetime import datetime
from typing import Any

MAX_NAME = 200
MAX_TEXT = 280
MAX_ID = 128
MAX_METRIC = 1e15
_SPACE = re.compile(r"\s+")


class _Drop(Exception):
    """One record is unusable; the message says why."""


class Unusable:
    """A value that could not be had (a mapping expression failed on this record): the normaliser
    treats it like any bad value, naming ``reason``."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Unusable) and other.reason == self.reason

    __hash__ = None  # type: ignore[assignment]


def clean_text(value: Any, limit: int) -> str | None:
    """A tidy single line of text, or None when there is none; raises _Drop for a non-string."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Drop(f"expected text, got {_kind(value)}")
    # Nearly all text is already clean; these checks run in C and spare the per-character pass.
    if (len(value) <= limit and value.isprintable() and "  " not in value and value == value.strip()
            and (value.isascii() or unicodedata.is_normalized("NFC", value))):
        return value or None
    text = unicodedata.normalize("NFC", value)
    text = "".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in text)
    text = _SPACE.sub(" ", text).strip()
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text or None


def clean_id(value: Any, what: str = "id") -> str:
    """An identifier (text, or a whole number taken as text); ``what`` names it in the message."""
    if value is None:
        raise _Drop(f"{what} is missing")
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise _Drop(f"{what} must be text or a whole number, got {_kind(value)}")
    text = clean_text(str(value), MAX_ID + 1)
    if not text:
        raise _Drop(f"{what} is empty")
    if len(text) > MAX_ID:
        raise _Drop(f"{what} is longer than {MAX_ID} characters")
    return text


def clean_number(value: Any) -> float:
    if isinstance(value, Unusable):
        raise _Drop(value.reason)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Drop(f"expected a number, got {_kind(value)}")
    try:
        number = float(value)
    except OverflowError:
        raise _Drop("number is too large") from None
    if not math.isfinite(number):
        raise _Drop(f"{number} is not a finite number")
    if abs(number) > MAX_METRIC:
        raise _Drop(f"{value} is out of range (±{MAX_METRIC:.0e})")
    return number


def clean_time(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            datetime.fromisoformat(value.strip())
            return value.strip()
        except ValueError:
            pass
    raise _Drop(f"time must be ISO 8601 text, got {_kind(value)}")


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, Unusable):
        return value.reason
    name = {bool: "true/false", int: "a number", float: "a number", str: "text", list: "a list",
            dict: "an object"}.get(type(value), type(value).__name__)
    if isinstance(value, str):
        return f'text "{value[:30]}"'
    return name


def plain(number: float) -> str:
    return f"{number:g}"


def _optional(clean: Callable[[], str | None], what: str, notes: list[str], label: str = "") -> str | None:
    """A field the record can do without: its cleaned value, or None and a note when it is bad."""
    try:
        return clean()
    except _Drop as exc:
        notes.append(f"{label + ' ' if label else ''}{what} ignored: {exc}")
        return None

