"""Canonical feed (version 1) parsing: raw bytes or a decoded document in, a Snapshot out.

Two levels of trouble are told apart. A bad *document* (not JSON, not an object, wrong version,
too big) raises FeedError and the coordinator keeps the last good board. A bad *record* (an agent
without an id, a NaN metric, an unknown team) is dropped with a warning naming it; the rest is
used. Each value is cleaned by ``clean.py``; ``fastparse.py`` reads raw canonical JSON without
decoding the records that did not change.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Callable
from types import MappingProxyType
from typing import Any

from feeds.connectors.clean import (MAX_ID, MAX_METRIC, MAX_NAME, MAX_TEXT, Unusable, _Drop, _kind,
                                    _optional, clean_id, clean_number, clean_text, clean_time, plain)
from feeds.model import (CHALLENGE_COMPLETED, FEED_VERSION, KUDOS, Agent, FeedError, FeedEvent,
                         Snapshot, Team, _frozen)

__all__ = ["MAX_ID", "MAX_NAME", "MAX_TEXT", "Normaliser", "Unusable", "clean_id", "clean_number",
           "clean_text", "clean_time", "decode_json", "decode_text", "normalise", "parse_document", "plain"]

MAX_METRICS = 64
DUPLICATE_AGENT = "duplicate agent id (the first one is used)"
_COLOR = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")


def decode_text(raw: bytes, max_bytes: int, what: str = "document") -> str:
    """Bytes to text within the size cap, or FeedError. A UTF-8 byte order mark is tolerated."""
    if len(raw) > max_bytes:
        raise FeedError(f"{what} is {len(raw):,} bytes, over the {max_bytes:,}-byte limit", "too_big")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FeedError(f"{what} is not UTF-8 (byte {exc.start})", "bad_document") from None


def decode_json(raw: bytes, max_bytes: int) -> Any:
    """Bytes to a JSON value, or FeedError."""
    text = decode_text(raw, max_bytes)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise FeedError(f"document is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
                        "bad_document") from None
    except RecursionError:
        raise FeedError("document is not usable JSON: nested too deeply", "bad_document") from None
    except ValueError as exc:  # a number of thousands of digits: Python's int limit
        raise FeedError(f"document is not usable JSON: {exc}", "bad_document") from None


def parse_document(raw: bytes, max_bytes: int) -> Snapshot:
    return normalise(decode_json(raw, max_bytes))


def _label(kind: str, index: int, record: Any) -> str:
    return f"{kind}[{index}]{label_id(record)}"


def label_id(record: Any) -> str:
    """The part of a record's label in warnings after its place: ' (id "…")' when it has one."""
    if isinstance(record, dict) and type(record.get("id")) in (str, int):
        return f' (id "{str(record["id"])[:40]}")'
    return ""


def _list(doc: dict[str, Any], key: str) -> list[Any]:
    value = doc.get(key, [])
    if value is None:
        return []
    if not isinstance(value, list):
        raise FeedError(f'"{key}" must be a list, got {_kind(value)}', "bad_document")
    return value


AgentCache = dict[str | int, tuple[dict[str, Any], Agent, tuple[str, ...]]]


class Normaliser:
    """``normalise`` with a memory of the last poll: an agent record equal to the one seen last
    time is not cleaned again. On a big floor most records do not change between polls, so this
    halves the work. Only for freshly decoded documents: a caller that mutated a record it had
    already passed in would defeat the equality check."""

    def __init__(self) -> None:
        self._cache: AgentCache = {}

    def __call__(self, doc: Any) -> Snapshot:
        fresh: AgentCache = {}
        snapshot = normalise(doc, self._cache, fresh)
        self._cache = fresh  # only this poll's records: the cache never outgrows the floor
        return snapshot


def normalise(doc: Any, cache: AgentCache | None = None, fresh: AgentCache | None = None) -> Snapshot:
    """A decoded canonical document to a Snapshot; FeedError when the document as a whole is bad."""
    generated_at, warnings, raw_teams, raw_agents, raw_events = read_head(doc)
    teams = read_teams(raw_teams, warnings)
    derive_teams = "teams" not in doc

    agents: dict[str, Agent] = {}
    notes: list[str] = []
    for i, record in enumerate(raw_agents):
        notes.clear()
        try:
            raw_id = record.get("id") if type(record) is dict else None
            cacheable = fresh is not None and type(raw_id) in (str, int)  # not bool/float: True == 1
            hit = cache.get(raw_id) if cache and cacheable else None
            if hit is not None and hit[0] == record:
                agent = hit[1]
                notes.extend(hit[2])
                fresh[raw_id] = hit  # type: ignore[index]  # its record equals this one: the same entry
            else:
                agent = _agent(record, notes)
                if cacheable:
                    fresh[raw_id] = (record, agent, tuple(notes))  # type: ignore[index]
            if agent.team is not None and agent.team not in teams:
                if not derive_teams:  # the agent still counts; only its team is unknown
                    notes.append(unknown_team(agent.team))
                    agent = agent._replace(team=None)
                else:
                    teams[agent.team] = Team(agent.team, agent.team)
            if agent.id in agents:
                raise _Drop(DUPLICATE_AGENT)
        except _Drop as exc:
            warnings.append(f"{_label('agents', i, record)} dropped: {exc}")
            continue
        agents[agent.id] = agent
        if notes:
            warnings.extend(f"{_label('agents', i, record)} {note}" for note in notes)

    events = read_events(raw_events, warnings)
    return Snapshot(tuple(agents.values()), tuple(teams.values()), tuple(events), generated_at,
                    tuple(warnings), _named_empty(raw_agents))


def read_head(doc: Any) -> tuple[str | None, list[str], list[Any], list[Any], list[Any]]:
    """A document's version checked, its generated_at, the warnings so far and its three lists."""
    if not isinstance(doc, dict):
        raise FeedError(f"document must be a JSON object, got {_kind(doc)}", "bad_document")
    version = doc.get("version")
    if version != FEED_VERSION or isinstance(version, bool):
        raise FeedError(f"unsupported feed version {json.dumps(version)} (chalkwall reads version 1)",
                        "bad_version")
    warnings: list[str] = []
    try:
        generated_at = clean_time(doc.get("generated_at"))
    except _Drop as exc:
        warnings.append(f"generated_at ignored: {exc}")
        generated_at = None
    return generated_at, warnings, _list(doc, "teams"), _list(doc, "agents"), _list(doc, "events")


def read_teams(raw_teams: list[Any], warnings: list[str]) -> dict[str, Team]:
    teams: dict[str, Team] = {}
    for i, record in enumerate(raw_teams):
        notes: list[str] = []  # about a record that is kept; a dropped record gets only its reason
        try:
            team = _team(record, notes, f"teams[{i}]")
        except _Drop as exc:
            warnings.append(f"{_label('teams', i, record)} dropped: {exc}")
            continue
        if team.id in teams:
            warnings.append(f"{_label('teams', i, record)} dropped: duplicate team id")
            continue
        teams[team.id] = team
        warnings.extend(notes)
    return teams


def read_events(raw_events: list[Any], warnings: list[str]) -> list[FeedEvent]:
    events: list[FeedEvent] = []
    seen: set[str] = set()
    notes: list[str] = []
    for i, record in enumerate(raw_events):
        notes.clear()
        try:
            event = _event(record, notes)
        except _Drop as exc:
            warnings.append(f"{_label('events', i, record)} dropped: {exc}")
            continue
        warnings.extend(f"{_label('events', i, record)} {note}" for note in notes)
        if event.id not in seen:
            seen.add(event.id)
            events.append(event)
    return events


def unknown_team(team: str) -> str:
    return f'team "{team}" ignored: not one of the feed\'s teams'


def _named_empty(raw_agents: list[Any]) -> frozenset[str]:
    """The metrics agent records name without a value yet (null, an empty cell): no data so far
    (the first CSAT rating of the day), not a metric the feed lacks."""
    return frozenset(name for record in raw_agents for name in named_empty(record))


def named_empty(record: Any) -> tuple[str, ...]:
    """The metrics one agent record names without a value yet."""
    metrics = record.get("metrics") if type(record) is dict else None
    if type(metrics) is dict and None in metrics.values():
        return tuple(name for name, value in metrics.items() if value is None)
    return ()


def _team(record: Any, warnings: list[str], label: str) -> Team:
    if not isinstance(record, dict):
        raise _Drop(f"expected an object, got {_kind(record)}")
    team_id = clean_id(record.get("id"))
    name = _optional(lambda: clean_text(record.get("name"), MAX_NAME), "name", warnings, label) or team_id
    color = record.get("color")
    if color is not None and not (isinstance(color, str) and _COLOR.fullmatch(color.strip())):
        warnings.append(f"{label} colour ignored: expected #rgb or #rrggbb, got {_kind(color)}")
        color = None
    elif isinstance(color, str):
        color = color.strip().lower()
        if len(color) == 4:
            color = "#" + "".join(c * 2 for c in color[1:])
    return Team(team_id, name, color)


def _agent(record: Any, notes: list[str]) -> Agent:
    """One agent record; ``notes`` collects remarks (without the record's label) if it is kept.
    Only a missing or bad id drops it: a bad name, team, level, avatar or metric value drops that
    value alone (with a note), so one stray cell never takes an agent off the wall."""
    if not isinstance(record, dict):
        raise _Drop(f"expected an object, got {_kind(record)}")
    agent_id = clean_id(record.get("id"))
    raw_name = record.get("name")
    name = _field(clean_text, raw_name, MAX_NAME, "name", notes)
    if name is None:
        notes.append("has no name; shown by its id")
        name = agent_id
    elif len(raw_name) > MAX_NAME:
        notes.append(f"name shortened to {MAX_NAME} characters")
    team = _field(clean_id, record.get("team"), "team", "team", notes)
    if team is not None:
        team = sys.intern(team)  # a floor has a few teams: one string each, for the whole-poll passes
    level = _field(clean_text, record.get("level"), 40, "level", notes)
    avatar = _field(clean_text, record.get("avatar"), 2048, "avatar", notes)
    raw_metrics = record.get("metrics", {})
    if not isinstance(raw_metrics, dict):
        raise _Drop(f"metrics must be an object, got {_kind(raw_metrics)}")
    metrics = read_metrics(raw_metrics, notes)
    hours = _hours(record.get("hours_available"), notes)
    role = _field(_word, record.get("role"), 40, "role", notes)
    queue = _field(_word, record.get("queue"), 40, "queue", notes)
    channel = _field(_word, record.get("channel"), 40, "channel", notes)
    return Agent(agent_id, name, team, level.lower() if level else None, avatar, MappingProxyType(metrics),
                 hours, role, queue, channel)


def read_metrics(raw_metrics: dict[str, Any], notes: list[str]) -> dict[str, float]:
    """An agent record's metrics object: its usable numbers; a bad value is left out with a note."""
    metrics: dict[str, float] = {}
    for key, value in raw_metrics.items():
        kind = type(value)
        # The common case inline (this loop runs for every metric of every agent of every poll);
        # NaN fails both comparisons and falls through to clean_number, which names the problem.
        if (kind is int or kind is float) and -MAX_METRIC <= value <= MAX_METRIC:
            number = float(value)
        elif value is None:
            continue  # "no data yet" is not an error
        else:
            try:
                number = clean_number(value)
            except _Drop as exc:
                notes.append(f'metric "{key}" ignored: {exc}')
                continue
        if len(metrics) == MAX_METRICS:
            notes.append(f"has more than {MAX_METRICS} metrics; the rest are ignored")
            break
        metrics[key] = number
    return metrics


def _field(clean: Callable[[Any, Any], str | None], value: Any, arg: Any, what: str,
           notes: list[str]) -> str | None:
    """An agent's field it can do without: ``clean(value, arg)``, or None and a note when it is bad
    (``_optional`` without a closure to build: this runs seven times for every changed agent)."""
    if value is None:
        return None
    try:
        return clean(value, arg)
    except _Drop as exc:
        notes.append(f"{what} ignored: {exc}")
        return None


def _word(value: Any, limit: int = 40) -> str | None:
    """A role, queue or channel: short text, compared without case ("Chat" and "chat" are one)."""
    text = clean_text(value, limit)
    return text.lower() if text else None


def _hours(value: Any, notes: list[str]) -> float | None:
    """Hours available this period (0 to 744, a month): a bad one is dropped with a note, as a
    bad metric is; a CSV cell arrives as text."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip().replace(",", "."))
        except ValueError:
            notes.append(f"hours_available ignored: expected a number, got {_kind(value)}")
            return None
    try:
        hours = clean_number(value)
    except _Drop as exc:
        notes.append(f"hours_available ignored: {exc}")
        return None
    if not 0 <= hours <= 744:
        notes.append(f"hours_available ignored: {plain(hours)} is not between 0 and 744")
        return None
    return hours


def _event(record: Any, notes: list[str]) -> FeedEvent:
    if not isinstance(record, dict):
        raise _Drop(f"expected an object, got {_kind(record)}")
    event_id = clean_id(record.get("id"))
    kind = clean_text(record.get("type"), 40)
    if not kind:
        raise _Drop("type is missing")
    at = clean_time(record.get("at"))
    data: dict[str, Any] = {}
    if kind == KUDOS:
        data["to"] = clean_id(record.get("to"), '"to" (who is thanked)')
        if record.get("from") is not None:
            data["from"] = clean_id(record.get("from"), '"from"')
        data["text"] = _optional(lambda: clean_text(record.get("text"), MAX_TEXT), "text", notes) or ""  # still thanks
    elif kind == CHALLENGE_COMPLETED:
        for who in ("agent", "team"):
            if record.get(who) is not None:
                data[who] = clean_id(record.get(who), f'"{who}"')
        if not data:
            raise _Drop("challenge_completed needs an agent or a team")
        challenge = clean_text(record.get("challenge"), MAX_TEXT)
        if not challenge:
            raise _Drop("challenge_completed needs the challenge's title")
        data["challenge"] = challenge
        data["points"] = clean_number(record.get("points", 0))
    else:
        for key, value in record.items():
            if key in ("id", "type", "at"):
                continue
            if isinstance(value, str):
                data[key] = clean_text(value, MAX_TEXT) or ""
            elif isinstance(value, (bool, int)) or (isinstance(value, float) and math.isfinite(value)):
                data[key] = value
    return FeedEvent(event_id, kind, at, _frozen(data))
