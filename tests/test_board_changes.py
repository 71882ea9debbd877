"""A screen's boards kept from the hub's changes (feeds/bus/boards.py, feeds/publish/encode.py): after
every poll the board a screen has made of the changes is exactly the hub's whole board of that poll,
whatever moves, reorders, joins or leaves (hypothesis over the fast reader's documents; the real
hub's coordinator and publisher on a moving 1,000-agent floor); a change lost on the way makes the
screen read the whole board once, never show a wrong one; a change that does not fit is refused."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feeds.bus.boards import DOC_KEYS, Boards
from feeds.bus.topics import BusError, Topics, read, team_level
from feeds.connectors.fastparse import JsonDecoder
from feeds.connectors.parse import normalise
from feeds.publish.encode import Encoder
from tests.test_fastparse import MAX, clean_sequences

TOPICS = Topics("acme")


def whole_doc(body: bytes) -> dict[str, Any]:
    data = read(body, "board")
    return {k: data[k] for k in DOC_KEYS if k in data}


class Hub:
    """The publisher's rule for changes (feeds/publish/hub.py ``Publisher._changes``) on an Encoder."""

    def __init__(self) -> None:
        self.encoder, self.sent, self.bases = Encoder(), {}, {}

    def poll(self, snapshot: Any, rev: int) -> tuple[dict[str | None, bytes], dict[str | None, bytes]]:
        key = {"rev": rev, "observed_at": rev + 0.5}
        boards = self.encoder.boards(snapshot, {**key, "epoch": 1})
        sent = {t: b for t, b in boards.items() if self.sent.get(t) != b}
        for team in [t for t in self.sent if t not in boards]:
            del self.sent[team]
        self.sent.update(sent)
        changes = self.encoder.changes(sent, {t: b for t, b in self.bases.items() if b != key})
        self.bases = {t: self.bases.get(t) for t in boards}
        self.bases.update({t: key for t in sent})
        return boards, changes


def screen_follows(polls: list[Any], drop: Any = lambda _n, _t: "") -> dict[str, int]:
    """Each snapshot through a Hub and one screen of every team, the broker's part played here: whole
    boards go to the whole-board topics the screen has subscribed (at once when it subscribes: the
    retained copy), changes to it unless ``drop`` says the change was lost — "reconnect": with the
    screen's connection (which then reads every whole board again), "silent": alone (only the next
    change can tell). The screen's board is checked against the whole board after every poll. Counts
    what the screen received."""
    hub, screen = Hub(), Boards(TOPICS, ["+"], normalise)
    counts, subscribed, behind = {"wholes": 0, "changes": 0, "bytes": 0}, set(), set()

    def deliver(boards: dict[str | None, bytes], topics: set[str]) -> None:
        for team, body in boards.items():
            if topics & {TOPICS.boards_of("+"), TOPICS.boards_of(team_level(team))}:
                counts["wholes"] += 1
                screen.whole(team_level(team), read(body, "board"))
                behind.discard(team)

    def sync(boards: dict[str | None, bytes]) -> None:  # the screen's poll, woken by each message
        while True:
            add, gone = screen.fetches()
            subscribed.difference_update(gone)
            subscribed.update(add)
            if not add:
                return
            deliver(boards, set(add))

    sync({})
    for n, snapshot in enumerate(polls, 1):
        boards, changes = hub.poll(snapshot, n)
        deliver({t: b for t, b in boards.items() if t in changes}, subscribed)  # a retained board is news
        for gone in [level for level in screen.docs if level not in {team_level(t) for t in boards}]:
            screen.whole(gone, None)  # the hub's empty change
        for team, change in changes.items():
            lost = drop(n, team)
            if lost == "reconnect":
                screen.resync()
            if lost:
                behind.add(team)
                continue
            counts["changes"] += 1
            counts["bytes"] += len(change)
            if screen.change(team_level(team), read(change, "board_change")):
                behind.discard(team)
        sync(boards)
        for team, body in boards.items():
            if team not in behind:  # a silent loss shows only at the team's next change
                assert screen.docs[team_level(team)] == whole_doc(body), (n, team)
        assert set(screen.docs) <= {team_level(t) for t in boards}
    return counts


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(clean_sequences(), st.integers(0, 3), st.randoms())
def test_a_screen_made_of_changes_has_the_whole_board_after_every_poll(polls: list[bytes], lose: int,
                                                                        rng: random.Random) -> None:
    decoder, snapshots = JsonDecoder(MAX), []
    for raw in polls:
        try:
            snapshots.append(decoder(raw))
        except Exception:  # noqa: BLE001 - a refused document: the hub publishes nothing new
            continue
    screen_follows(snapshots, drop=lambda _n, _t: rng.choice(["", "reconnect", "silent"]) if rng.randrange(4) < lose
                   else "")


def bench_floor(polls: int) -> list[Any]:
    from feeds.hub_bench import Floor

    floor, decoder, out = Floor(agents=1000, teams=4, seed=3), JsonDecoder(1 << 26), []
    for n in range(polls):
        if n == 5:  # someone changes team
            floor.agents[10]["team"] = "t2"
        if n == 8:  # someone leaves, someone joins a new team
            del floor.agents[20]
            floor.agents.append({"id": "new", "name": "Zoë Новая", "team": "t9", "metrics": {"tickets_solved": 1}})
            floor.teams.append({"id": "t9", "name": "Nine"})
        if n == 11:
            floor.teams = floor.teams[:-1]
            floor.agents = [a for a in floor.agents if a["team"] != "t9"]
        out.append(decoder(floor.next()))
    return out


def test_on_a_moving_floor_a_screen_reads_changes_and_a_whole_board_only_when_it_must() -> None:
    counts = screen_follows(bench_floor(16))
    # to begin (4 teams), then none: a move of team and a join are whole changes, not fetches
    assert counts["wholes"] == 4, counts
    assert counts["changes"] >= 16 * 4
    whole = len(json.dumps(whole_doc_size_probe()))
    assert counts["bytes"] / counts["changes"] < whole / 3, (counts, whole)


def whole_doc_size_probe() -> dict[str, Any]:
    from feeds.hub_bench import Floor

    floor = Floor(agents=1000, teams=4, seed=3)
    return {"agents": [a for a in floor.agents if a["team"] == "t0"]}


def test_a_lost_change_costs_one_whole_board_and_never_a_wrong_one() -> None:
    lost = {(6, "t1"): "silent", (7, "t3"): "silent", (12, "t0"): "reconnect"}
    counts = screen_follows(bench_floor(16), drop=lambda n, team: lost.get((n, team), ""))
    # each silent loss: that team's whole board once, at its next change; the reconnect: every team's,
    # twice (the "+" subscription is dropped once a change applies on what it brought)
    assert counts["wholes"] == 4 + 2 + 2 * 4, counts


def test_a_change_that_does_not_fit_is_refused_and_a_hub_without_changes_keeps_whole_boards() -> None:
    hub = Hub()
    decoder = JsonDecoder(MAX)
    doc = {"version": 1, "teams": [{"id": "night"}], "agents": [
        {"id": "asa", "name": "Åsa", "team": "night", "metrics": {"tickets_solved": 1}},
        {"id": "petr", "name": "Пётр", "team": "night", "metrics": {"tickets_solved": 2}}]}
    boards, changes = hub.poll(decoder(json.dumps(doc).encode()), 1)
    screen = Boards(TOPICS, ["night"], normalise)
    assert screen.fetches() == ([TOPICS.boards_of("night")], [])
    screen.whole("night", read(boards["night"], "board"))
    assert screen.fetches() == ([], [])  # no change yet: the whole board stays subscribed (an older hub)
    doc["agents"][1]["metrics"]["tickets_solved"] = 3
    boards, changes = hub.poll(decoder(json.dumps(doc).encode()), 2)
    change = read(changes["night"], "board_change")
    assert [place for place, _ in change["set"]] == [1] and change["base"] == {"rev": 1, "observed_at": 1.5}
    for bad in ({**change, "set": [[0, change["set"][0][1]]]},  # Пётр put in Åsa's place
                {**change, "set": [[5, change["set"][0][1]]]}, {**change, "set": [1]},
                {**change, "base": "rev 1"}, {k: v for k, v in change.items() if k != "size"}):
        with pytest.raises(BusError):
            screen.change("night", bad)
        assert screen.docs["night"]["agents"][1]["metrics"]["tickets_solved"] == 2  # kept what it had
    assert screen.fetches() == ([], [])  # (still subscribed to the whole board: no change applied yet)
    assert screen.change("night", change)
    assert screen.docs["night"] == whole_doc(boards["night"])
    assert screen.fetches() == ([], [TOPICS.boards_of("night")])  # changes flow: whole boards no longer read
    assert not screen.change("night", {**change, "base": {"rev": 7, "observed_at": 7.5}, "rev": 8})
    assert screen.fetches() == ([TOPICS.boards_of("night")], [])  # one missed: the whole board again
    screen.resync()
    assert screen.fetches() == ([], [])


def test_the_real_hub_sends_changes_a_screen_can_follow(tmp_path: Path) -> None:
    """The hub's own coordinator and publisher (as ``chalkwall bench --hub`` runs them) on a moving floor."""
    from feeds.hub_bench import BenchHub, Floor

    hub = BenchHub(tmp_path, Floor(agents=600, teams=3, seed=5), keep=True)
    publisher, floor, link = hub.publisher, hub.floor, hub.link
    publisher.reconnected()
    screen = Boards(publisher.topics, ["t1"], normalise)
    screen.fetches()
    try:
        for n in range(8):
            if n == 4:
                publisher.reconnected()  # the hub's link came back: whole again
            if n == 6:  # team t2 leaves the feed: its board and its change topic are cleared
                floor.teams = [t for t in floor.teams if t["id"] != "t2"]
                floor.agents = [a for a in floor.agents if a["team"] != "t2"]
            hub.write()
            hub.coordinator.poll_once()
            link.sent.clear()
            publisher.publish()
            sent = dict(link.sent)
            whole, change = sent[publisher.topics.board("t1")], sent[publisher.topics.board_change("t1")]
            if n == 0:
                screen.whole("t1", read(whole, "board"))
            assert screen.change("t1", read(change, "board_change")) or n == 0
            assert screen.docs["t1"] == whole_doc(whole)
            if n not in (0, 4, 6):
                assert len(change) < len(whole) / 4, (n, len(change), len(whole))
            elif n != 6:
                assert read(change, "board_change")["base"] is None
            gone = {t: b for t, b in link.sent if t.endswith("/t2")}
            assert (gone.get(publisher.topics.board_change("t2")) == b"") == (n == 6), (n, gone.keys())
            assert (gone.get(publisher.topics.board("t2")) == b"") == (n == 6)
    finally:
        hub.close()

def two_agents(solved: int) -> bytes:
    return json.dumps({"version": 1, "teams": [{"id": "night"}], "agents": [
        {"id": "asa", "name": "Åsa", "team": "night", "metrics": {"tickets_solved": 1}},
        {"id": "petr", "name": "Пётр", "team": "night", "metrics": {"tickets_solved": solved}}]}).encode()


def test_a_reconnect_reads_the_whole_board_even_when_an_old_change_applies_first() -> None:
    decoder, hub, screen = JsonDecoder(MAX), Hub(), Boards(TOPICS, ["night"], normalise)
    screen.fetches()
    boards, _ = hub.poll(decoder(two_agents(2)), 1)
    screen.whole("night", read(boards["night"], "board"))
    _, changes = hub.poll(decoder(two_agents(3)), 2)
    assert screen.change("night", read(changes["night"], "board_change"))
    assert screen.fetches() == ([], [TOPICS.boards_of("night")])
    _, queued = hub.poll(decoder(two_agents(4)), 3)  # the screen is away: this change waits in its session,
    boards, _ = hub.poll(decoder(two_agents(5)), 4)  # this one the broker drops (its queue is full)
    screen.resync()  # back (paho's thread) ...
    assert screen.change("night", read(queued["night"], "board_change"))  # ... and the queued change comes first
    assert screen.fetches() == ([TOPICS.boards_of("night")], [])  # still: the whole board is read
    screen.whole("night", read(boards["night"], "board"))
    assert screen.docs["night"] == whole_doc(boards["night"])  # 5, not 4, on a floor gone quiet


def test_a_board_of_the_same_number_but_another_body_is_taken_whole() -> None:
    """A hub restarted before any poll succeeded numbers its first board as the last run did."""
    decoder, screen = JsonDecoder(MAX), Boards(TOPICS, ["night"], normalise)
    boards, changes = Hub().poll(decoder(two_agents(2)), 1)
    screen.change("night", read(changes["night"], "board_change"))
    restarted = Hub()
    boards, changes = restarted.poll(decoder(two_agents(7)), 1)
    assert screen.change("night", read(changes["night"], "board_change"))
    assert screen.docs["night"] == whole_doc(boards["night"])
    assert screen.whole("night", read(boards["night"], "board")) is False  # the same board again: no news
    boards, changes = restarted.poll(decoder(two_agents(8)), 1)  # the same number again, another body
    assert read(changes["night"], "board_change")["base"] is None
    assert screen.change("night", read(changes["night"], "board_change"))
    assert screen.docs["night"] == whole_doc(boards["night"])


def test_a_team_gone_from_an_every_team_screen_is_no_longer_read_whole() -> None:
    screen = Boards(TOPICS, ["+"], normalise)
    screen.fetches()
    screen.change("x", {"rev": 5, "observed_at": 5.5, "base": {"rev": 4, "observed_at": 4.5}, "size": 1, "set": []})
    assert screen.fetches() == ([TOPICS.boards_of("x")], [])  # no board for x yet: fetched
    screen.whole("x", None)  # x left the feed
    assert screen.fetches() == ([], [TOPICS.boards_of("x")])


def test_a_publish_in_the_middle_of_a_poll_sends_the_last_finished_poll(tmp_path: Path) -> None:
    """The hub's main thread publishes whenever it is woken (an acknowledgement, a screen's status,
    the 5 s timer), also while the poller is between storing a snapshot and numbering it."""
    from feeds.hub_bench import BenchHub, Floor

    hub = BenchHub(tmp_path, Floor(agents=300, teams=3, seed=5), keep=True)
    publisher, coordinator, link = hub.publisher, hub.coordinator, hub.link
    publisher.reconnected()
    screen = Boards(publisher.topics, ["t1"], normalise)
    screen.fetches()

    def deliver() -> None:
        for topic, body in link.sent:
            if topic == publisher.topics.board("t1") and not screen.docs:
                screen.whole("t1", read(body, "board"))
            elif topic == publisher.topics.board_change("t1"):
                screen.change("t1", read(body, "board_change"))
        link.sent.clear()

    engine, middle = coordinator.on_snapshot, [False]

    def on_snapshot(snapshot: Any) -> Any:
        if middle[0]:
            publisher.publish()
            assert publisher.topics.board("t1") not in dict(link.sent)  # nothing new: the last poll's board stands
            deliver()
        return engine(snapshot)

    coordinator.on_snapshot = on_snapshot
    try:
        for n in range(6):
            middle[0] = n == 3
            hub.write()
            coordinator.poll_once()
            publisher.publish()
            deliver()
            assert screen.docs["t1"] == whole_doc(publisher._sent[publisher.topics.board("t1")]), n
    finally:
        hub.close()
