"""Formats: raw bytes from a source to a Snapshot (canonical JSON, mapped JSON, or CSV).

CSV is what a published spreadsheet gives: one row per agent, columns ``id``, ``name``, ``team``,
``level``, ``avatar`` (any case; only ``id`` is required) and one column per metric. Cells are
read the way spreadsheets write them: an empty cell is "no data", a decimal comma ("4,8") is a
decimal point, and spaces or "1,234"-style groups are thousands separators.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from typing import Any

from feeds.config import CsvConfig
from feeds.mapping import Mapper
from feeds.model import FEED_VERSION, FeedError, Snapshot
from feeds.parse import Normaliser, decode_json, decode_text

Decoder = Callable[[bytes], Snapshot]
FIELDS = ("id", "name", "team", "level", "avatar")
_THOUSANDS = re.compile(r"-?\d{1,3}(,\d{3})+")
_DECIMAL_COMMA = re.compile(r"-?\d*,\d+")


def json_decoder(max_bytes: int, mapper: Mapper | None = None) -> Decoder:
    normalise = Normaliser()
    if mapper is None:
        return lambda raw: normalise(decode_json(raw, max_bytes))
    return lambda raw: normalise(mapper.apply(decode_json(raw, max_bytes)))


def csv_decoder(config: CsvConfig, max_bytes: int) -> Decoder:
    normalise = Normaliser()
    return lambda raw: normalise(parse_csv(raw, config.delimiter, max_bytes))


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


def parse_csv(raw: bytes, delimiter: str, max_bytes: int) -> dict[str, Any]:
    """CSV bytes to a canonical document (plain data) for the normaliser."""
    text = decode_text(raw, max_bytes, "CSV")
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
