"""The game in parts, and the fast JSON both ends use: each fast path is held against a plain Python
one over random inputs — the publisher's parts against ``pack`` of a loop that sorts each progress
entry into its team, the screen's assembly against the hub's own GameState, msgspec's decoding
against the standard library's and the codec's Python walk (same results, same refusals)."""

from __future__ import annotations

import json
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from feeds.bus import topics
from feeds.bus.codec import DecodeError, decode, slow_decode
from feeds.bus.topics import BusError, pack, read
from feeds.game.challenges import GameState, Progress, plain_fields
from feeds.live.compact import Expander, expand
from feeds.live.hubgame import TeamParts, assemble, decode_game, decode_team_game
from feeds.model import Agent, Snapshot, Team
from feeds.publish import encode
from feeds.publish.encode import REST, Encoder, Fragments, positions
from feeds.publish.hub import team_documents
from tests.test_bus_codec import demo_game

SETTINGS = settings(max_examples=60, deadline=None)
TEAM_IDS = ["night", "day", "a/b+c", "Åsa's"]
SUBJECTS = ["asa", "petr", "lin", "solo", "ghost", *TEAM_IDS, "gone-team"]


# --- a plain reference of what the publisher sends ------------------------------------------------

def home_of(scope: str, subject: str, member: dict[str, str | None], teams: set[str | None]) -> Any:
    if scope == "agent" and subject in member:
        return member[subject]
    if scope == "team" and subject in teams:
        return subject
    return REST


def heads_of(parts: dict[Any, bytes]) -> list[tuple[str, ...]]:
    """The heads every team part carries (the same list in each, no head twice)."""
    lists = {json.dumps(json.loads(body)["heads"]) for team, body in parts.items() if team != REST}
    assert len(lists) <= 1, lists
    heads = [tuple(h) for h in json.loads(lists.pop())] if lists else []
    assert len(set(heads)) == len(heads)
    return heads


def compact(progress: list[Progress], heads: list[tuple[str, ...]]) -> list[list[Any]]:
    """A team's progress as docs/hub.md writes it: [head, subject, value, target, flags]."""
    return [[heads.index((p.challenge, p.title, p.kind, p.scope)), p.subject, p.value, p.target,
             (1 if p.done else 0) + (2 if p.won else 0) + (4 if p.gated else 0)] for p in progress]


def reference(game: GameState, snapshot: Snapshot, epoch: int, heads: list[tuple[str, ...]]) -> dict[Any, bytes]:
    """The parts a plain loop makes, team parts with the publisher's ``heads`` (its numbering)."""
    member = {a.id: a.team for a in snapshot.agents}
    teams = {t.id for t in snapshot.teams} | set(member.values())
    groups: dict[Any, list[tuple[int, Progress]]] = {}
    for i, p in enumerate(game.progress):
        groups.setdefault(home_of(p.scope, p.subject, member, teams), []).append((i, p))
    badges: dict[Any, dict[str, list[str]]] = {}
    for subject, worn in game.badges.items():
        homes = [h for h in ([member[subject]] if subject in member else []) + ([subject] if subject in teams else [])]
        for home in homes or [REST]:
            badges.setdefault(home, {})[subject] = list(worn)
    rest = groups.get(REST, [])
    whole = game.to_dict()
    out: dict[Any, bytes] = {REST: pack("game", {"epoch": epoch, "game": {
        "period": game.period, "progress": [plain_fields(p) for _, p in rest], "order": [i for i, _ in rest],
        "records": whole["records"], "duels": whole["duels"], "comparison": whole["comparison"],
        "badges": badges.get(REST, {})}})}
    for team in sorted((teams | set(groups) | set(badges)) - {REST}, key=lambda t: (t is None, t or "")):
        mine = groups.get(team, [])
        out[team] = pack("game_team", {"epoch": epoch, "team": team, "heads": heads,
                                       "progress": compact([p for _, p in mine], heads),
                                       "order": [i for i, _ in mine], "badges": badges.get(team, {})})
    return out


# --- random floors and games ----------------------------------------------------------------------

numbers = st.one_of(st.integers(-5, 50), st.floats(-1e6, 1e6, allow_nan=False), st.sampled_from([1e16, 1e-7, 0.1]))


@st.composite
def floors(draw: Any) -> tuple[Snapshot, GameState]:
    agents = tuple(Agent(a, a.upper(), draw(st.sampled_from([*TEAM_IDS, None])))
                   for a in draw(st.lists(st.sampled_from(SUBJECTS[:5]), unique=True)))
    teams = tuple(Team(t, t.title()) for t in draw(st.lists(st.sampled_from(TEAM_IDS), unique=True)))
    progress = tuple(Progress(draw(st.sampled_from(["solve", "race"])), "T", "target", draw(st.sampled_from(["agent", "team"])),
                              draw(st.sampled_from(SUBJECTS)), draw(numbers), draw(numbers), draw(st.booleans()),
                              draw(st.booleans()), draw(st.booleans()))
                     for _ in range(draw(st.integers(0, 25))))
    badges = draw(st.dictionaries(st.sampled_from(SUBJECTS), st.lists(st.sampled_from(["record", "streak"]),
                                                                        min_size=1, max_size=2).map(tuple)))
    return Snapshot(agents, teams), GameState("day:2026-11-23", progress, badges=MappingProxyType(badges))


@SETTINGS
@given(floors(), floors())
def test_the_game_parts_are_packs_bytes_of_each_teams_share_across_polls(first: Any, second: Any) -> None:
    encoder = Encoder()
    for snapshot, game in (first, second, first):  # the third poll reuses cached fragments
        parts = encoder.game(game, 7, snapshot)
        assert parts == reference(game, snapshot, 7, heads_of(parts))


@SETTINGS
@given(floors(), st.lists(st.sampled_from([*TEAM_IDS, None]), unique=True))
def test_a_screen_assembles_the_hubs_game_for_the_teams_it_shows(floor: Any, shown: list[str | None]) -> None:
    snapshot, game = floor
    parts = Encoder().game(game, 1, snapshot)
    site = decode_game(read(parts.pop(REST), "game")["game"])
    decoded = {team: decode_team_game(read(body, "game_team")) for team, body in parts.items()}
    # every team: the hub's GameState itself
    assert assemble(site, decoded.values()) == game
    # some teams: their subjects' progress and badges (and those of no team), in the engine's order
    member = {a.id: a.team for a in snapshot.agents}
    teams = {t.id for t in snapshot.teams} | set(member.values())
    keep = set(shown) | {REST}
    mine = assemble(site, [decoded[t] for t in shown if t in decoded])
    assert mine.progress == tuple(p for p in game.progress if home_of(p.scope, p.subject, member, teams) in keep)
    wanted = {s: b for s, b in game.badges.items()
              if (s in member and member[s] in keep) or (s in teams and s in keep)
              or (s not in member and s not in teams)}
    assert dict(mine.badges) == wanted and (mine.period, mine.records, mine.comparison) == (game.period, (), None)


def test_a_real_games_parts_come_back_as_the_game(tmp_path: Path) -> None:
    game = demo_game(tmp_path)
    agents = tuple(Agent(p.subject, p.subject, "t1" if i % 2 else "t2")
                   for i, p in enumerate({p.subject: p for p in game.progress if p.scope == "agent"}.values()))
    snapshot = Snapshot(agents, (Team("t1", "One"), Team("t2", "Two")))
    parts = Encoder().game(game, 3, snapshot)
    assert parts == reference(game, snapshot, 3, heads_of(parts)) and set(parts) == {REST, "t1", "t2"}
    site = decode_game(read(parts.pop(REST), "game")["game"])
    assert assemble(site, [decode_team_game(read(b, "game_team")) for b in parts.values()]) == game
    assert len(parts["t1"]) < len(pack("game", {"epoch": 3, "game": game.to_dict()})) * 0.7


def test_the_old_shape_of_the_game_is_refused_with_a_clear_reason(tmp_path: Path) -> None:
    old = json.loads(pack("game", {"epoch": 1, "game": demo_game(tmp_path).to_dict()}))
    with pytest.raises(DecodeError, match="old shape"):
        decode_game(old["game"])
    with pytest.raises(DecodeError, match=r"TeamGame\.progress\[0\]: expected an array"):
        decode_team_game({"progress": old["game"]["progress"][:2], "order": [0, 1]})


@pytest.mark.parametrize("part, words", [
    ({"heads": [["c", "T", "target", "agent"]], "progress": [[0, "asa", 1, 2, 0]] * 2, "order": [0]}, "TeamGame.order"),
    ({"heads": [["c", "T", "target", "agent"]], "progress": [[1, "asa", 1, 2, 0]], "order": [0]},
     r"TeamGame\.progress\[0\]\[0\]: no head 1"),
    ({"progress": [[0, "asa", 1, 2, 0]], "order": [0]}, "no head 0"),
    ({"heads": [["c", "T", "target", "agent"]], "progress": [[0, "asa", 1, 2, 8]], "order": [0]},
     r"TeamGame\.progress\[0\]\[4\]: flags 8"),
    ({"heads": [["c", "T", "target", "agent"]], "progress": [[0, "asa", 1, 2, -1]], "order": [0]}, "flags -1"),
    ({"heads": [["c", "T", "target", "agent"]], "progress": [[0, "asa", 1, 2, True]], "order": [0]}, "expected int"),
    ({"heads": [["c", "T", "target"]], "progress": [], "order": []}, r"TeamGame\.heads\[0\]"),
    ({"heads": [["c", "T", "target", "agent"]], "progress": [[0, "asa", float("nan"), 2, 0]], "order": [0]},
     r"TeamGame\.progress\[0\]\[2\]"),
])
def test_a_team_part_of_the_wrong_shape_is_refused_saying_where(part: dict[str, Any], words: str) -> None:
    with pytest.raises(DecodeError, match=words):
        decode_team_game(part)


# --- a screen's expander: the last part's entries remembered --------------------------------------

HEADS_A = (("race", "First to 40", "race", "agent"), ("own", "Beat your usual", "personal_best", "agent"))
HEADS_B = (HEADS_A[1], HEADS_A[0])  # the hub numbered its heads afresh: the same entries mean other things
ENTRY = st.tuples(st.sampled_from([0, 1, 0, 1, 2]), st.sampled_from(SUBJECTS[:3]), st.sampled_from([0.0, 1.0]),
                  st.just(40.0), st.sampled_from([0, 1, 0, 1, 8]))  # head 2 and flags 8 refused


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.lists(ENTRY, max_size=6)), min_size=1, max_size=8))
def test_an_expander_gives_what_expand_gives_and_refuses_what_it_refuses(parts: list[Any]) -> None:
    expander, last = Expander(), None
    for flipped, entries in parts:
        heads = HEADS_B if flipped else HEADS_A
        try:
            want: Any = expand(heads, entries)
        except DecodeError as exc:
            want = str(exc)
        try:
            got: Any = expander(heads, entries)
        except DecodeError as exc:
            got = str(exc)
        assert got == want  # the same progress (by value) or the same refusal, whatever came before
        if isinstance(got, tuple) and last is not None and last[0] == heads:
            before = dict(zip(last[1], last[2]))
            for entry, progress in zip(entries, got):  # an entry of the last good part is its very object
                if entry in before:
                    assert progress is before[entry]
        if isinstance(got, tuple):
            last = (heads, entries, got)


def test_a_screen_decodes_each_teams_parts_with_that_teams_memory() -> None:
    def part(*entries: tuple[int, str, float, float, int]) -> dict[str, Any]:
        return {"heads": [list(h) for h in HEADS_A], "progress": [list(e) for e in entries],
                "order": list(range(len(entries)))}

    parts = TeamParts()
    night = parts(part((0, "asa", 1.0, 40.0, 0), (1, "asa", 2.0, 30.0, 0)), "night")
    day = parts(part((0, "asa", 1.0, 40.0, 0)), "day")
    again = parts(part((0, "asa", 1.0, 40.0, 0), (1, "asa", 3.0, 30.0, 1)), "night")
    assert again.progress[0] is night.progress[0]  # unchanged: the same object, though day came between
    assert again.progress[1] == Progress("own", "Beat your usual", "personal_best", "agent", "asa", 3.0, 30.0, True)
    assert day.progress[0] == night.progress[0] and day.progress[0] is not night.progress[0]
    assert again == decode_team_game(part((0, "asa", 1.0, 40.0, 0), (1, "asa", 3.0, 30.0, 1)))


# --- the fragment cache -------------------------------------------------------------------------

@SETTINGS
@given(st.lists(st.lists(st.integers(0, 9)), max_size=5))
def test_fragments_are_the_encoding_of_each_object_whatever_was_cached(polls: list[list[int]]) -> None:
    pool = [Progress("c", "t", "target", "agent", f"a{i}", float(i), 10, False) for i in range(10)]
    fragments, calls = Fragments(), []

    def encode(obj: Any) -> bytes:
        calls.append(obj)
        return topics.ENCODER.encode(obj)

    last: list[Progress] = []
    for poll in polls:
        objs = [pool[i] for i in poll]
        calls.clear()
        fragments.update(objs, encode)
        assert fragments.parts == [topics.ENCODER.encode(plain_fields(o)) for o in objs]
        if len(objs) == len(last):  # only the positions whose object is not the last poll's are encoded
            assert [id(c) for c in calls] == [id(o) for o, p in zip(objs, last) if o is not p]
        else:  # only the objects the last poll did not have
            assert not any(any(c is p for p in last) for c in calls)
        last = objs


@SETTINGS
@given(st.lists(st.sampled_from(["a", "b", None, 3, REST])))
def test_positions_is_the_plain_grouping_loop(keys: list[Any]) -> None:
    plain: dict[Any, list[int]] = {}
    for i, key in enumerate(keys):
        plain.setdefault(key, []).append(i)
    assert positions(keys) == plain and list(positions(keys)) == list(plain)


# --- msgspec's decoding is the standard library's and the codec's -----------------------------------

def old_read(payload: bytes, kind: str) -> dict[str, Any]:
    try:
        data = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BusError(f"not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise BusError("not a JSON object")
    if data.get("v") != topics.VERSION:
        raise BusError(f"payload version {data.get('v')!r}; this chalkwall reads version {topics.VERSION} "
                       "(are the hub and this screen the same release?)")
    if data.get("kind") != kind:
        raise BusError(f"a {data.get('kind')!r} message where a {kind!r} belongs")
    return data


def outcome(call: Any, *args: Any) -> Any:
    try:
        return "ok", call(*args)
    except (BusError, DecodeError) as exc:
        return type(exc).__name__, str(exc)


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
                           max_leaves=12)
payloads = st.one_of(
    st.binary(max_size=40),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(st.sampled_from(["v", "kind", "x"]), st.sampled_from([1, 2, True, 1.0, "game", "board", None]))
    .map(lambda d: json.dumps(d).encode()),
    st.sampled_from([b'\xef\xbb\xbf{"v":1,"kind":"game"}', b'{"v":1,"kind":"game","x":NaN}', b'{"v":1,"kind":"game","x":1e400}',
                     b'{"v":1,"kind":"game","x":"\xed\xa0\x80"}', b'{"v":1,"kind":"game"} x', "{\"v\":1,\"kind\":\"game\"}".encode("utf-16")]),
)


@settings(max_examples=400, deadline=None)
@given(payloads)
def test_read_takes_and_refuses_what_it_always_did(payload: bytes) -> None:
    fast, slow = outcome(read, payload, "game"), outcome(old_read, payload, "game")
    assert repr(fast) == repr(slow)  # (repr: NaN is not equal to itself)


def paths(value: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON value (the value itself first)."""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    return [at, *(p for k, v in items for p in paths(v, (*at, k)))]


def damage(value: Any, at: tuple[Any, ...], new: Any) -> Any:
    """``value`` with the part at ``at`` replaced by ``new`` (or, for ``...``, removed)."""
    if not at:
        return new
    head, *rest = at
    copy = dict(value) if isinstance(value, dict) else list(value)
    if not rest and new is ...:
        del copy[head]
    else:
        copy[head] = damage(value[head], tuple(rest), new)
    return copy


@pytest.fixture(scope="module")
def wire(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return json.loads(json.dumps(demo_game(tmp_path_factory.mktemp("demo")).to_dict()))


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_the_codecs_fast_path_decodes_and_refuses_as_its_python_walk(wire: dict[str, Any], data: st.DataObject) -> None:
    at = data.draw(st.sampled_from(paths(wire)[1:]))
    new = data.draw(st.one_of(st.sampled_from([float("nan"), float("inf"), 10**30, -0.0, 3, 2.5, True, "x", None, ...]),
                              json_values))
    damaged = damage(wire, at, new)
    assert repr(outcome(decode, GameState, damaged)) == repr(outcome(slow_decode, GameState, damaged))
    if outcome(decode, GameState, damaged)[0] == "ok":
        assert decode(GameState, damaged) == slow_decode(GameState, damaged)
        assert type(decode(GameState, damaged).badges) is MappingProxyType


# --- the boards: a changed agent's bytes, and every team's board across polls ----------------------

agent_numbers = st.one_of(st.integers(-2**60, 2**60), st.floats(allow_nan=False, allow_infinity=False),
                          st.sampled_from([0.0, -0.0, 1.0, 2.0**53, 2.0**53 + 2, -2.0**53, 1e16, 0.1, 7.5]), st.booleans())
maybe_text = st.one_of(st.none(), st.sampled_from(["", "x", "Åsa", "a/b"]))


@st.composite
def agents(draw: Any, ids: list[str] = SUBJECTS[:5]) -> tuple[Agent, ...]:
    return tuple(Agent(a, draw(st.sampled_from(["Åsa Ödegård", "Пётр", ""])), draw(st.sampled_from([*TEAM_IDS, None])),
                       draw(maybe_text), draw(maybe_text),
                       MappingProxyType(draw(st.dictionaries(st.sampled_from(["tickets", "csat", "aht", "q"]), agent_numbers))),
                       draw(st.one_of(st.none(), agent_numbers)), draw(maybe_text), draw(maybe_text), draw(maybe_text))
                 for a in draw(st.lists(st.sampled_from(ids), unique=True)))


@settings(max_examples=300, deadline=None)
@given(agents())
def test_a_changed_agents_bytes_are_to_dicts(floor: tuple[Agent, ...]) -> None:
    for agent in floor:
        assert encode._agent(agent) == b"," + topics.ENCODER.encode(agent.to_dict())


@SETTINGS
@given(st.lists(st.tuples(agents(), st.lists(st.sampled_from(TEAM_IDS), unique=True), st.booleans()), min_size=1, max_size=4))
def test_the_boards_are_packs_bytes_of_each_teams_document_across_polls(polls: list[Any]) -> None:
    encoder, kept = Encoder(), {}  # type: ignore[var-annotated]
    for floor, team_ids, generated in polls:
        floor = tuple(kept.setdefault(repr(a), a) for a in floor)  # an unchanged agent: the same object, as parse keeps it
        snapshot = Snapshot(floor, tuple(Team(t, t.title()) for t in team_ids),
                            generated_at="2026-11-23T09:00:00Z" if generated else None)
        head = {"rev": len(kept), "epoch": 2, "observed_at": 1764000000.5}
        assert encoder.boards(snapshot, head) == {team: pack("board", {**head, **d})
                                                  for team, d in team_documents(snapshot).items()}


@settings(max_examples=30, deadline=None)
@given(st.lists(st.lists(st.tuples(st.sampled_from(SUBJECTS[:5]), st.integers(0, 60)), min_size=1, max_size=8),
                min_size=2, max_size=12))
def test_heads_come_and_go_and_are_numbered_afresh_when_many_are_gone(polls: list[list[tuple[str, int]]]) -> None:
    snapshot = Snapshot(tuple(Agent(a, a, TEAM_IDS[i % 2]) for i, a in enumerate(SUBJECTS[:5])), ())
    encoder = Encoder()
    for poll in polls:  # a title per subject's own target: most polls bring new heads, old ones go
        game = GameState("day:1", tuple(Progress("own", f"Beat your usual: {t}", "personal_best", "agent", s, 1.0, t, False)
                                        for s, t in poll))
        parts = encoder.game(game, 1, snapshot)
        assert parts == reference(game, snapshot, 1, heads_of(parts))
        assert len(encoder.heads.number) <= 2 * encoder.heads.base + 16 + len(poll)
        site = decode_game(read(parts.pop(REST), "game")["game"])
        assert assemble(site, [decode_team_game(read(b, "game_team")) for b in parts.values()]) == game


def test_a_hub_whose_heads_keep_changing_numbers_them_afresh_and_says_the_same() -> None:
    snapshot = Snapshot(tuple(Agent(a, a, "night") for a in SUBJECTS[:5]), ())
    encoder, seen = Encoder(), []
    for day in range(40):  # every poll, every subject's own target (and so its title) is new
        game = GameState(f"day:{day}", tuple(Progress("own", f"Beat your usual: {day * 5 + i}", "personal_best", "agent",
                                                      s, 1.0, day * 5 + i, False) for i, s in enumerate(SUBJECTS[:5])))
        parts = encoder.game(game, 1, snapshot)
        seen.append(len(encoder.heads.number))
        assert parts == reference(game, snapshot, 1, heads_of(parts))
    assert max(seen) <= 2 * 5 + 16 + 5 and seen.count(5) > 1  # renumbered (to this poll's five) more than once
