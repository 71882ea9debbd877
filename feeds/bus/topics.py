"""The hub's topic tree and the envelope every payload travels in (schema in docs/hub.md).

```
chalkwall/<site>/hub/status              retained  the hub: online/offline (its will), version, epoch
chalkwall/<site>/board/team/<team>       retained  one team's part of the feed (a canonical document)
chalkwall/<site>/board/change/<team>     QoS 1     what changed in it since the board before (or all of it)
chalkwall/<site>/board/summary           retained  each team's size and totals, the floor's (no names)
chalkwall/<site>/game                    retained  the game's site-wide part: period, records, duels, comparison
chalkwall/<site>/game/team/<team>        retained  that team's part of the game: its agents' and its own progress, badges
chalkwall/<site>/events/team/<team>      QoS 1     celebrations for that team's screens, numbered
chalkwall/<site>/events/site             QoS 1     celebrations for every screen, numbered
chalkwall/<site>/recent/team/<team>      retained  the last events of that stream (a screen back from away)
chalkwall/<site>/recent/site             retained  the same for the site stream
chalkwall/<site>/privacy                 retained  the people's own choices from the team page (hidden, alias)
chalkwall/<site>/screen/<id>/status      retained  a screen: online/offline (its will), what it shows
```

A team id becomes one topic level, percent-encoded (``/``, ``+`` and ``#`` would break the tree);
agents without a team are under ``_none``. Every payload is a JSON object with ``"v": 1`` and the
``kind`` of message; a payload of another version, a wrong kind or not JSON is refused by
:func:`read`, with the reason, so the caller logs one line and keeps what it had.

Both ends use msgspec's JSON (:data:`ENCODER`, and a decoder), several times faster than the standard
library's on the hub's megabytes. :func:`read` falls back to :func:`json.loads` whenever msgspec
refuses a payload, so what the standard library takes (a UTF-8 BOM, ``NaN``) is still taken — and
refused later exactly as before — and every refusal keeps its old wording.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Any
from urllib.parse import quote, unquote

import msgspec

VERSION = 1
ROOT = "chalkwall"
NO_TEAM = "_none"
MAX_PAYLOAD = 2_000_000


def _plain(obj: Any) -> Any:
    if isinstance(obj, MappingProxyType):  # the game's frozen mappings (badges)
        return dict(obj)
    raise TypeError(f"cannot encode a {type(obj).__name__} as JSON")


# The one encoder of every payload and of the publisher's fragments (feeds/publish/encode.py), so
# that a payload joined from fragments is byte for byte the payload encoded whole.
ENCODER = msgspec.json.Encoder(enc_hook=_plain)
_DECODER = msgspec.json.Decoder()


class BusError(ValueError):
    """A message that is not one chalkwall can use."""


@lru_cache(maxsize=4096)  # the hub asks for every team's topics after each poll
def team_level(team: str | None) -> str:
    return quote(team, safe="") if team else NO_TEAM


def team_of_level(level: str) -> str | None:
    return None if level == NO_TEAM else unquote(level)


@dataclass(frozen=True)
class Topics:
    site: str

    def _t(self, *parts: str) -> str:
        return "/".join((ROOT, self.site, *parts))

    @property
    def hub_status(self) -> str:
        return self._t("hub", "status")

    def board(self, team: str | None) -> str:
        return self._t("board", "team", team_level(team))

    def board_change(self, team: str | None) -> str:
        return self._t("board", "change", team_level(team))

    def board_changes_of(self, level: str) -> str:
        """The subscription to one team level's board changes, or every team's (``+``)."""
        return self._t("board", "change", level)

    def boards_of(self, level: str) -> str:
        """The subscription to one team level's whole board, or every team's (``+``)."""
        return self._t("board", "team", level)

    @property
    def summary(self) -> str:
        return self._t("board", "summary")

    @property
    def boards(self) -> str:
        return self._t("board", "team", "+")

    @property
    def game(self) -> str:
        return self._t("game")

    def game_team(self, team: str | None) -> str:
        return self._t("game", "team", team_level(team))

    def game_teams_of(self, level: str) -> str:
        """The subscription to one team level's game part, or every team's (``+``)."""
        return self._t("game", "team", level)

    def events(self, stream: str) -> str:
        return self._t("events", stream)

    def recent(self, stream: str) -> str:
        return self._t("recent", stream)

    @property
    def privacy(self) -> str:
        return self._t("privacy")

    def screen_status(self, screen: str) -> str:
        return self._t("screen", screen, "status")

    @property
    def screen_statuses(self) -> str:
        return self._t("screen", "+", "status")

    def parse(self, topic: str) -> tuple[str, str] | None:
        """(what, which) for a topic of this site: ("board", team level), ("events", stream), …"""
        prefix = self._t("")
        if not topic.startswith(prefix):
            return None
        parts = topic[len(prefix):].split("/")
        if parts == ["hub", "status"]:
            return "hub", ""
        if parts == ["game"]:
            return "game", ""
        if parts == ["privacy"]:
            return "privacy", ""
        if len(parts) == 3 and parts[:2] == ["board", "team"]:
            return "board", parts[2]
        if len(parts) == 3 and parts[:2] == ["board", "change"]:
            return "board_change", parts[2]
        if len(parts) == 3 and parts[:2] == ["game", "team"]:
            return "game_team", parts[2]
        if len(parts) >= 2 and parts[0] in ("events", "recent"):
            return parts[0], "/".join(parts[1:])
        if len(parts) == 3 and parts[0] == "screen" and parts[2] == "status":
            return "screen", parts[1]
        return None


def stream_of(team: str | None) -> str:
    return f"team/{team_level(team)}"


def pack(kind: str, body: dict[str, Any]) -> bytes:
    return ENCODER.encode({"v": VERSION, "kind": kind, **body})


def parse_json(payload: bytes) -> Any:
    """The payload's JSON value: msgspec's, or where msgspec refuses it the standard library's
    (which takes a little more, and words the refusal as screens have always logged it)."""
    try:
        return _DECODER.decode(payload)
    except msgspec.DecodeError:
        pass
    except RecursionError:
        raise BusError("not usable JSON: nested too deeply") from None
    try:
        return json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BusError(f"not JSON ({exc})") from None
    except RecursionError:
        raise BusError("not usable JSON: nested too deeply") from None
    except ValueError as exc:  # a number of thousands of digits (Python's int limit)
        raise BusError(f"not usable JSON ({exc})") from None


def read(payload: bytes, kind: str) -> dict[str, Any]:
    """The payload's object, once it is a version-1 ``kind``; BusError with the reason otherwise."""
    if len(payload) > MAX_PAYLOAD:
        raise BusError(f"{len(payload)} bytes, over the {MAX_PAYLOAD} a message may have")
    data = parse_json(payload)
    if not isinstance(data, dict):
        raise BusError("not a JSON object")
    if data.get("v") != VERSION:
        raise BusError(f"payload version {data.get('v')!r}; this chalkwall reads version {VERSION} "
                       "(are the hub and this screen the same release?)")
    if data.get("kind") != kind:
        raise BusError(f"a {data.get('kind')!r} message where a {kind!r} belongs")
    return data
