"""Formats: raw bytes from a source to a Snapshot (canonical JSON, mapped JSON, or CSV).

CSV is what a published spreadsheet gives: one row per agent, columns ``id``, ``name``, ``team``,
``level``, ``avatar``, ``hours_available``, ``role``, ``queue``, ``channel`` (any case; only ``id``
is required) and one column per metric. Cells are
read the way spreadsheets write them: an empty cell is "no data", a decimal comma ("4,8") is a
decimal point, and spaces or "1,234"-style groups are thousands separators.
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import io
import re
from collections.abc import Callable
from typing import Any

from feeds.config.schema import CsvConfig
from feeds.connectors.fastparse import JsonDecoder
from feeds.connectors.mapping import Mapper
from feeds.model import FEED_VERSION, FeedError, Snapshot
from feeds.connectors.parse import Normaliser, decode_json

Decoder = Callable[[bytes], Snapshot]
FIELDS = ("id", "name", "team", "level", "avatar", "hours_available", "role", "queue", "channel")
_THOUSANDS = re.compile(r"-?\d{1,3}(,\d{3})+")
_DECIMAL_COMMA = re.compile(r"-?\d*,\d+")
_LATIN1 = "chalkwall-latin-1"
codecs.register_error(_LATIN1, lambda e: (e.object[e.start:e.end].decode("latin-1"),  # type: ignore[attr-defined]
                                          e.end))


def json_decoder(max_bytes: int, mapper: Mapper | None = None) -> Decoder:
    if mapper is None:
        return JsonDecoder(max_bytes)  # reads only the agent records that changed since last poll
    normalise = Normaliser()
    return lambda raw: normalise(mapper.apply(decode_json(raw, max_bytes)))


def csv_decoder(config: CsvConfig, max_bytes: int) -> Decoder:
    normalise = Normaliser()

    def decode(raw: bytes) -> Snapshot:
        text, note = csv_text(raw, config.encoding, max_bytes)
        snapshot = normalise(parse_csv(text, config.delimiter))
        return dataclasses.replace(snapshot, warnings=(note, *snapshot.warnings)) if note else snapshot

    return decode


def csv_text(raw: bytes, encoding: str, max_bytes: int) -> tuple[str, str | None]:
    """CSV bytes as text, and a note for the log when it was not UTF-8 and had to be guessed.

    Excel on Windows saves "CSV" in the machine's code page (Windows-1252 in western Europe) and
    "Unicode text" as UTF-16 with a byte order mark: both are read; a guess is said so."""
    if len(raw) > max_bytes:
        raise FeedError(f"CSV is {len(raw):,} bytes, over the {max_bytes:,}-byte limit", "too_big")
    if encoding == "auto" and raw[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        encoding = "utf-16"
    if encoding != "auto":
        name = codecs.lookup(encoding).name
        try:
            return raw.decode("utf-8-sig" if name == "utf-8" else encoding).removeprefix("\ufeff"), None
        except UnicodeDecodeError as exc:
            raise FeedError(f"CSV is not {encoding} (byte {exc.start}): check [feed.csv] encoding",
                            "bad_document") from None
    try:
        return raw.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        where = exc.start
    # Windows-1252, with the five bytes it leaves undefined read as Latin-1: this never fails.
    return raw.decode("cp1252", errors=_LATIN1), (
        f"CSV is not UTF-8 (byte {where}); read it as Windows-1252, as Excel on Windows saves it. Set "
        '[feed.csv] encoding = "cp1252" (or "utf-8", ...) to say which it is')


def csv_number(cell: str) -> float | str | None:
    """A spreadsheet cell as a number; None for empty; the text itself when it is not a number."""
    text = cell.strip().replace("\u00a0", "").replace("\u202f", "").replace(" ", "").rstrip("%")
    if not text:
        return None
    if _THOUSANDS.fullmatch(text):
        text = text.replace(",", "")
    elif _DECIMAL_COMMA.fullmatch(text):
        text = text.replace(",", ".")
    try:
        return float(text)
    except ValueError:
        return cell.strip()


def parse_csv(text: str, delimiter: str) -> dict[str, Any]:
    """CSV text to a canonical document (plain data) for the normaliser."""
    if delimiter == "auto":
        try:
            delimiter = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|").delimiter
        except csv.Error:
            delimiter = ","
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(rows)
    except StopIteration:
        raise FeedError("CSV is empty", "bad_document") from None
    except csv.Error as exc:
        raise FeedError(f"CSV is malformed: {exc}", "bad_document") from None
    columns = [h.strip() for h in header]
    lowered = [c.lower() for c in columns]
    if "id" not in lowered:
        raise FeedError(f"CSV has no id column (columns: {', '.join(columns)[:200]})", "bad_document")
    agents: list[dict[str, Any]] = []
    try:
        for row in rows:
            if not any(cell.strip() for cell in row):
                continue
            record: dict[str, Any] = {}
            metrics: dict[str, Any] = {}
            for name, low, cell in zip(columns, lowered, row):
                if low in FIELDS:
                    record[low] = cell.strip() or None
                elif name:
                    metrics[name] = csv_number(cell)
            record["metrics"] = metrics
            agents.append(record)
    except csv.Error as exc:
        raise FeedError(f"CSV is malformed at line {rows.line_num}: {exc}", "bad_document") from None
    return {"version": FEED_VERSION, "agents": agents}
