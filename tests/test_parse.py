"""The canonical parser: bad documents are refused whole, bad records are dropped by name."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feeds.connectors.demo import DemoFeed
from feeds.model import FeedError, Snapshot
from feeds.connectors.parse import MAX_NAME, Normaliser, normalise, parse_document
from helpers import FakeClock, agent, doc

SCHEMA = json.loads((Path(__file__).parent.parent / "feeds" / "feed-v1.schema.json").read_text())
EXAMPLE = {
    "version": 1, "generated_at": "2026-11-23T10:15:00Z",
    "teams": [{"id": "night", "name": "Night shift", "color": "#4a90e2"}],
    "agents": [{"id": "a1", "name": "Åsa Ödegård", "team": "night", "level": "pro", "avatar": "a1.png",
                "metrics": {"tickets_solved": 12, "csat": 4.8, "aht_seconds": 312}},
               {"id": "a2", "name": "Ольга Кузнецова", "team": "night", "metrics": {"tickets_solved": 9}}],
    "events": [{"id": "ev-991", "type": "kudos", "at": "2026-11-23T10:14:00Z", "from": "a2", "to": "a1",
                "text": "Thanks!"},
               {"id": "ev-992", "type": "challenge_completed", "at": "2026-11-23T10:14:30Z", "agent": "a1",
                "challenge": "Solve 20 tickets today", "points": 50}],
}


def parse(obj: object, max_bytes: int = 1 << 20) -> Snapshot:
    return parse_document(json.dumps(obj, ensure_ascii=False).encode(), max_bytes)


def test_the_documented_example_parses_and_round_trips() -> None:
    jsonschema.validate(EXAMPLE, SCHEMA)
    snap = parse(EXAMPLE)
    assert [a.name for a in snap.agents] == ["Åsa Ödegård", "Ольга Кузнецова"]
    assert snap.agents[0].metrics == {"tickets_solved": 12, "csat": 4.8, "aht_seconds": 312}
    assert snap.events[1].data == {"agent": "a1", "challenge": "Solve 20 tickets today", "points": 50}
    assert snap.warnings == ()
    assert normalise(snap.to_dict()) == snap
    jsonschema.validate(snap.to_dict(), SCHEMA)


@pytest.mark.parametrize(("raw", "kind", "message"), [
    (b"<html>oops</html>", "bad_document", "document is not JSON: Expecting value at line 1 column 1"),
    (b"\xff\xfe{}", "bad_document", "document is not UTF-8 (byte 0)"),
    (b"[1, 2]", "bad_document", "document must be a JSON object, got a list"),
    (b'{"version": 2, "agents": []}', "bad_version", "unsupported feed version 2 (chalkwall reads version 1)"),
    (b'{"agents": []}', "bad_version", "unsupported feed version null (chalkwall reads version 1)"),
    (b'{"version": true, "agents": []}', "bad_version", "unsupported feed version true (chalkwall reads version 1)"),
    (b'{"version": 1, "agents": {"a": 1}}', "bad_document", '"agents" must be a list, got an object'),
    (b"[" * 100_000, "bad_document", "document is not usable JSON: nested too deeply"),
    (b'{"version": 1, "n": ' + b"9" * 5000 + b"}", "bad_document",
     "document is not usable JSON: Exceeds the limit (4300 digits) for integer string conversion: value has "
     "5000 digits; use sys.set_int_max_str_digits() to increase the limit"),
])
def test_bad_documents_are_refused_whole(raw: bytes, kind: str, message: str) -> None:
    with pytest.raises(FeedError) as info:
        parse_document(raw, 1 << 20)
    assert (info.value.kind, str(info.value)) == (kind, message)


def test_too_big_is_refused_before_parsing() -> None:
    with pytest.raises(FeedError, match="document is 2,000 bytes, over the 1,024-byte limit") as info:
        parse_document(b" " * 2000, 1024)
    assert info.value.kind == "too_big"


def test_bad_records_are_dropped_by_name_and_the_rest_is_used() -> None:
    raw = ('{"version": 1, "teams": [{"id": "t"}], "agents": ['
           '{"id": "ok", "name": "Fine", "team": "t", "metrics": {"x": 1}},'
           '{"name": "No id", "metrics": {"x": 1}},'
           '{"id": "nan", "name": "NaN", "metrics": {"x": NaN}},'
           '{"id": "inf", "name": "Inf", "metrics": {"x": 1e999}},'
           '{"id": "str", "name": "Str", "metrics": {"x": "12"}},'
           '{"id": "bool", "name": "Bool", "metrics": {"x": true}},'
           '{"id": "huge", "name": "Huge", "metrics": {"x": 1e16}},'
           '{"id": "lost", "name": "Lost", "team": "nowhere", "metrics": {"x": 1}},'
           '{"id": "ok", "name": "Twin", "metrics": {"x": 2}},'
           '{"id": ["a"], "name": "List id"},'
           '"just a string",'
           '{"id": 42, "name": "Number id", "metrics": {"x": -5, "y": null}}]}')
    snap = parse_document(raw.encode(), 1 << 20)
    # A bad metric value or an unknown team costs that value, not the agent: only a bad id drops one.
    assert [(a.id, a.name, a.team, dict(a.metrics)) for a in snap.agents] == [
        ("ok", "Fine", "t", {"x": 1.0}), ("nan", "NaN", None, {}), ("inf", "Inf", None, {}), ("str", "Str", None, {}),
        ("bool", "Bool", None, {}), ("huge", "Huge", None, {}), ("lost", "Lost", None, {"x": 1.0}),
        ("42", "Number id", None, {"x": -5.0})]
    assert list(snap.warnings) == [
        "agents[1] dropped: id is missing",
        'agents[2] (id "nan") metric "x" ignored: nan is not a finite number',
        'agents[3] (id "inf") metric "x" ignored: inf is not a finite number',
        'agents[4] (id "str") metric "x" ignored: expected a number, got text "12"',
        'agents[5] (id "bool") metric "x" ignored: expected a number, got true/false',
        'agents[6] (id "huge") metric "x" ignored: 1e+16 is out of range (±1e+15)',
        'agents[7] (id "lost") team "nowhere" ignored: not one of the feed\'s teams',
        'agents[8] (id "ok") dropped: duplicate agent id (the first one is used)',
        "agents[9] dropped: id must be text or a whole number, got a list",
        "agents[10] dropped: expected an object, got text \"just a string\"",
    ]


def test_one_bad_secondary_value_drops_that_value_and_keeps_the_agent_on_the_wall() -> None:
    snap = parse_document(json.dumps({"version": 1, "agents": [
        {"id": "a1", "name": "Åsa", "team": "day", "level": 3, "avatar": ["x"],
         "metrics": {"tickets_solved": 12, "csat": "n/a"}},
        {"id": "a2", "name": 7, "team": {"id": "night"}, "metrics": {"tickets_solved": 9, "csat": 4.5}}]}).encode(),
        1 << 20)
    assert [(a.id, a.name, a.team, a.level, a.avatar, dict(a.metrics)) for a in snap.agents] == [
        ("a1", "Åsa", "day", None, None, {"tickets_solved": 12.0}),
        ("a2", "a2", None, None, None, {"tickets_solved": 9.0, "csat": 4.5})]
    assert list(snap.warnings) == [
        'agents[0] (id "a1") level ignored: expected text, got a number',
        'agents[0] (id "a1") avatar ignored: expected text, got a list',
        'agents[0] (id "a1") metric "csat" ignored: expected a number, got text "n/a"',
        'agents[1] (id "a2") name ignored: expected text, got a number',
        'agents[1] (id "a2") has no name; shown by its id',
        'agents[1] (id "a2") team ignored: team must be text or a whole number, got an object']


def test_huge_integers_and_negative_numbers() -> None:
    snap = parse_document(b'{"version":1,"agents":[{"id":"a","name":"A","metrics":{"x":' + b"9" * 400 + b"}},"
                          b'{"id":"b","name":"B","metrics":{"x":-999999999999999}}]}', 1 << 20)
    assert [(a.id, dict(a.metrics)) for a in snap.agents] == [("a", {}), ("b", {"x": -999999999999999})]
    assert snap.warnings == ('agents[0] (id "a") metric "x" ignored: number is too large',)


def test_names_any_unicode_cleaned_and_long_names_capped() -> None:
    decomposed = unicodedata.normalize("NFD", "Åsa Ödegård")
    long_name = "Ж" * 250
    snap = parse(doc(
        {"id": "a", "name": decomposed, "metrics": {}},
        {"id": "b", "name": "  Line\nbreak\t and\u2028tabs \x00 ", "metrics": {}},
        {"id": "c", "name": long_name, "metrics": {}},
        {"id": "d", "name": "Ж" * 200, "metrics": {}},
        {"id": "e", "name": "李小龍 🎧 محمد", "metrics": {}},
        {"id": "f", "metrics": {}},
    ))
    names = {a.id: a.name for a in snap.agents}
    assert names["a"] == "Åsa Ödegård" and len(names["a"]) == 11  # NFC: one code point per letter
    assert names["b"] == "Line break and tabs"
    assert len(names["c"]) == MAX_NAME and names["c"].endswith("…")
    assert names["d"] == "Ж" * 200  # exactly at the limit: kept whole
    assert names["e"] == "李小龍 🎧 محمد"
    assert names["f"] == "f"
    assert snap.warnings == ('agents[2] (id "c") name shortened to 200 characters',
                             'agents[5] (id "f") has no name; shown by its id')


def test_teams_derived_when_absent_and_colours_normalised() -> None:
    snap = parse(doc(agent("a", 1, team="Day"), agent("b", 2, team="Night"), agent("c", 3)))
    assert [(t.id, t.name) for t in snap.teams] == [("Day", "Day"), ("Night", "Night")]
    snap = parse(doc(teams=[{"id": "t", "color": "#ABC"}, {"id": "u", "color": "blue"}, {"id": "t"}]))
    assert [(t.id, t.name, t.color) for t in snap.teams] == [("t", "t", "#aabbcc"), ("u", "u", None)]
    assert snap.warnings == ('teams[1] colour ignored: expected #rgb or #rrggbb, got text "blue"',
                             'teams[2] (id "t") dropped: duplicate team id')


def test_events_are_checked_by_type_and_unknown_types_are_kept() -> None:
    snap = parse(doc(events=[
        {"id": "k", "type": "kudos", "from": "a", "to": "b", "text": "Tack!"},
        {"id": "k", "type": "kudos", "to": "b"},
        {"id": "c", "type": "challenge_completed", "team": "night", "challenge": "Beat 7"},
        {"id": "bad1", "type": "kudos"},
        {"id": "bad2", "type": "challenge_completed", "agent": "a"},
        {"id": "bad3", "type": "kudos", "to": "b", "at": "yesterday"},
        {"type": "kudos", "to": "b"},
        {"id": "n", "type": "shift_started", "shift": "night", "nested": {"dropped": True}},
    ]))
    assert [e.id for e in snap.events] == ["k", "c", "n"]
    assert snap.events[1].data == {"team": "night", "challenge": "Beat 7", "points": 0.0}
    assert snap.events[2].data == {"shift": "night"}
    assert snap.warnings == (
        'events[3] (id "bad1") dropped: "to" (who is thanked) is missing',
        'events[4] (id "bad2") dropped: challenge_completed needs the challenge\'s title',
        'events[5] (id "bad3") dropped: time must be ISO 8601 text, got text "yesterday"',
        "events[6] dropped: id is missing",
    )


def test_demo_documents_match_the_schema() -> None:
    clock = FakeClock()
    feed = DemoFeed(seed=3, clock=clock)
    clock.advance(600)
    snap = feed.poll()
    assert snap.events and snap.warnings == ()
    jsonschema.validate(snap.to_dict(), SCHEMA)


# --- property-based: whatever arrives, the parser rejects or returns; it never crashes -----------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20)
fields = st.sampled_from(["id", "name", "team", "level", "avatar", "metrics", "type", "to", "from",
                          "agent", "challenge", "points", "at", "text", "color"])
records = st.dictionaries(fields, json_values | st.dictionaries(st.text(max_size=8), json_values, max_size=4),
                          max_size=8)
documents = st.fixed_dictionaries(
    {"version": st.sampled_from([1, 1, 1, 2, "1", None])},
    optional={"agents": st.lists(records, max_size=6) | json_values,
              "teams": st.lists(records, max_size=4) | json_values,
              "events": st.lists(records, max_size=4) | json_values,
              "generated_at": json_values})


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(documents)
def test_random_documents_never_crash_the_parser(document: dict[str, object]) -> None:
    try:
        snap = normalise(document)
    except FeedError:
        return
    # What comes out is clean, canonical and stable under a second pass.
    assert all(a.id and a.name for a in snap.agents)
    assert len({a.id for a in snap.agents}) == len(snap.agents)
    again = normalise(snap.to_dict())
    assert again.agents == snap.agents and again.events == snap.events


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_random_bytes_never_crash_the_parser(raw: bytes) -> None:
    try:
        parse_document(raw, 1 << 20)
    except FeedError:
        pass


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(documents, min_size=2, max_size=4))
def test_the_caching_normaliser_always_agrees_with_a_fresh_one(sequence: list[dict[str, object]]) -> None:
    cached = Normaliser()
    for document in sequence:
        for _ in range(2):  # the same document twice: the second pass is served from the cache
            fresh_copy = json.loads(json.dumps(document, allow_nan=True))
            try:
                expected = normalise(fresh_copy)
            except FeedError:
                with pytest.raises(FeedError):
                    cached(json.loads(json.dumps(document, allow_nan=True)))
                continue
            assert cached(json.loads(json.dumps(document, allow_nan=True))) == expected


def test_the_cache_sees_changes_bool_ids_and_nan() -> None:
    cached = Normaliser()
    first = cached(doc(agent("a", 1), {"id": 1, "name": "One", "metrics": {}}))
    assert [a.id for a in first.agents] == ["a", "1"]
    second = cached(doc(agent("a", 2), {"id": True, "name": "One", "metrics": {}}))
    assert [(a.id, dict(a.metrics)) for a in second.agents] == [("a", {"tickets_solved": 2})]
    assert second.warnings == ("agents[1] dropped: id must be text or a whole number, got true/false",)
    nan = parse_document(b'{"version":1,"agents":[{"id":"n","name":"N","metrics":{"x":NaN}}]}', 1000)
    assert [dict(a.metrics) for a in nan.agents] == [{}]
    cached(json.loads('{"version":1,"agents":[{"id":"n","name":"N","metrics":{"x":1}}]}'))
    again = cached(json.loads('{"version":1,"agents":[{"id":"n","name":"N","metrics":{"x":NaN}}]}'))
    assert [dict(a.metrics) for a in again.agents] == [{}] and "not a finite number" in again.warnings[0]


def test_a_team_with_a_bad_name_is_kept_under_its_id_with_its_agents() -> None:
    snap = parse_document(json.dumps({"version": 1, "teams": [{"id": "day", "name": ["Day"]}],
                                      "agents": [{"id": "a1", "name": "Åsa", "team": "day"}]}).encode(), 1 << 20)
    assert [(t.id, t.name) for t in snap.teams] == [("day", "day")]
    assert [(a.id, a.team) for a in snap.agents] == [("a1", "day")]
    assert list(snap.warnings) == ["teams[0] name ignored: expected text, got a list"]


def test_a_kudos_with_a_bad_text_is_still_a_kudos() -> None:
    snap = parse_document(json.dumps({"version": 1, "agents": [], "events": [
        {"id": "k1", "type": "kudos", "from": "a2", "to": "a1", "text": {"sv": "Tack!"}}]}).encode(), 1 << 20)
    assert [(e.id, dict(e.data)) for e in snap.events] == [("k1", {"to": "a1", "from": "a2", "text": ""})]
    assert list(snap.warnings) == ['events[0] (id "k1") text ignored: expected text, got an object']
