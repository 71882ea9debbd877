"""The parser's hint of which agents changed (``Snapshot.changed``) is true, and using it changes nothing.

The fast JSON reader gives each snapshot a :class:`~feeds.model.Changed` when its agents are last
poll's tuple with a few places replaced. Its places must cover every agent that is not the same
object (hypothesis, over the reader's own randomized documents); the roster, the measurer, the
engine and the publisher's encoder must give exactly what they give with the hint withheld (their
own identity pass), byte for byte for the payloads; and a snapshot whose agents were replaced
afterwards (roles, privacy: ``dataclasses.replace``) must not be read by its stale hint.
"""

from __future__ import annotations

import dataclasses
import json
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feeds.config.schema import load_config
from feeds.connectors.fastparse import JsonDecoder
from feeds.game.compare import measure
from feeds.game.incremental import Measurer, Roster
from feeds.hub_bench import Floor as BenchFloor
from feeds.model import Agent, Changed, Snapshot
from feeds.publish.encode import Encoder
from helpers import write_config
from tests.test_engine_incremental import CONFIG, START, Floor, _clock, _engine, _tables
from tests.test_fastparse import MAX, clean_sequences, sequences

METRICS = {"tickets_solved", "aht_seconds", "csat"}


def _raw(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, ensure_ascii=False).encode()


def _withheld(snapshot: Snapshot) -> Snapshot:
    return dataclasses.replace(snapshot, changed=None)


def _check_hint(snapshot: Snapshot, last: Snapshot | None) -> bool:
    """The hint, if any, is about this snapshot's agents and the last one's, and covers every change."""
    hint = snapshot.changed
    if hint is None:
        return False
    assert last is not None and hint.before is last.agents and hint.after is snapshot.agents
    assert list(hint.places) == sorted(set(hint.places)) and all(0 <= i < len(hint.after) for i in hint.places)
    differ = {i for i, (a, b) in enumerate(zip(hint.after, hint.before)) if a is not b}
    assert len(hint.after) == len(hint.before) and differ <= set(hint.places)
    assert hint.differ() == sorted(differ)
    return True


# --- the parser's hint ---------------------------------------------------------------------------

@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.one_of(sequences(), clean_sequences()))
def test_the_hint_covers_every_agent_that_is_not_the_same(polls: list[bytes]) -> None:
    decoder, last = JsonDecoder(MAX), None
    for raw in polls:
        try:
            snapshot = decoder(raw)
        except Exception:  # noqa: BLE001 - an error poll: the next hint must not reach across it
            last = None
            continue
        _check_hint(snapshot, last)
        last = snapshot


def test_the_bench_floor_carries_a_hint_each_poll() -> None:
    floor, decoder = BenchFloor(agents=1000), JsonDecoder(1 << 26)
    last = decoder(floor.next())
    hinted = 0
    for _ in range(4):
        snapshot = decoder(floor.next())
        hinted += _check_hint(snapshot, last)
        assert snapshot.changed is not None and len(snapshot.changed.places) < len(snapshot.agents) // 5
        last = snapshot
    assert hinted == 4


def test_the_hint_is_not_part_of_the_reading() -> None:
    agents = (Agent("a", "A"),)
    hinted = Snapshot(agents, changed=Changed(agents, agents, ()))
    assert hinted == Snapshot(agents) and repr(hinted) == repr(Snapshot(agents))


# --- the engine's measurer and roster ------------------------------------------------------------

def _tamper(rng: random.Random, snapshot: Snapshot) -> Snapshot:
    """``dataclasses.replace`` of the agents, as roles, role models or privacy do: one agent's
    value moved where the parser's hint does not say so (the stale hint stays on the snapshot)."""
    agents = list(snapshot.agents)
    unhinted = [i for i in range(len(agents)) if snapshot.changed is None or i not in snapshot.changed.places]
    at = rng.choice(unhinted or range(len(agents)))
    agent = agents[at]
    agents[at] = agent._replace(metrics={**agent.metrics, "tickets_solved": agent.metrics.get("tickets_solved", 0.0) + 7})
    return dataclasses.replace(snapshot, agents=tuple(agents))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1))
def test_the_measurer_and_roster_give_the_same_with_the_hint_and_without(tmp_path_factory: Any, seed: int) -> None:
    rng = random.Random(seed)
    config = load_config(str(write_config(tmp_path_factory.mktemp("c"), CONFIG))).config
    hinted, plain = (Measurer(config.board), Roster()), (Measurer(config.board), Roster())
    floor, decoder, used = Floor(rng, agents=30), JsonDecoder(MAX), 0
    for poll in range(40):
        snapshot = decoder(_raw(floor.step(new_day=rng.random() < 0.05)))
        if snapshot.agents and rng.random() < 0.15:
            snapshot = _tamper(rng, snapshot)
        full = rng.random() < 0.05
        used += snapshot.changed is not None and snapshot.changed.after is snapshot.agents
        got_roster = hinted[1].update(snapshot.agents, snapshot.changed)
        want_roster = plain[1].update(snapshot.agents)
        assert got_roster == want_roster, poll
        got = hinted[0].measure(snapshot.agents, METRICS, full, snapshot.changed)
        want = plain[0].measure(snapshot.agents, METRICS, full)
        assert got == want, poll
        assert got[0] == measure(snapshot, METRICS, config.board)[0], poll
    assert used > 10


def test_a_replaced_agents_snapshot_is_measured_by_its_own_pass(tmp_path: Path) -> None:
    config = load_config(str(write_config(tmp_path, CONFIG))).config
    floor, decoder, measurer = Floor(random.Random(5), agents=30), JsonDecoder(MAX), Measurer(config.board)
    first = decoder(_raw(floor.step(new_day=False)))
    measurer.measure(first.agents, METRICS)
    second = decoder(_raw(floor.step(new_day=False)))
    assert second.changed is not None and second.changed.applies(second.agents, first.agents)
    tampered = _tamper(random.Random(1), second)
    assert tampered.changed is second.changed  # replace keeps the field, but it is about another tuple
    assert not tampered.changed.applies(tampered.agents, first.agents)
    values, _, _ = measurer.measure(tampered.agents, METRICS, hint=tampered.changed)
    assert values == measure(tampered, METRICS, config.board)[0]


# --- the engine and the publisher's encoder ------------------------------------------------------

@pytest.mark.parametrize("seed", range(3))
def test_engine_and_payloads_are_the_same_byte_for_byte_with_the_hint_and_without(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    engines = {"hinted": _engine(tmp_path, "hinted"), "plain": _engine(tmp_path, "plain")}
    encoders = {name: Encoder() for name in engines}
    floor, decoder, now, used = Floor(rng, agents=40), JsonDecoder(MAX), START, 0
    for poll in range(50):
        now, new_day = _clock(rng, now)
        snapshot = decoder(_raw(floor.step(new_day)))
        if rng.random() < 0.1:
            snapshot = _tamper(rng, snapshot)
        used += snapshot.changed is not None and snapshot.changed.after is snapshot.agents
        fed = {"hinted": snapshot, "plain": _withheld(snapshot)}
        awards = {name: engine.process(fed[name], now) for name, engine in engines.items()}
        assert awards["hinted"] == awards["plain"], poll
        assert engines["hinted"].game == engines["plain"].game, poll
        head = {"rev": poll, "epoch": 1}
        payloads = {name: (encoders[name].boards(fed[name], head),
                           encoders[name].game(engines[name].game, 1, fed[name]) if engines[name].game else None)
                    for name in engines}
        assert payloads["hinted"] == payloads["plain"], poll
    assert used > 20
    assert _tables(engines["hinted"]) == _tables(engines["plain"])
    for engine in engines.values():
        engine.close()
