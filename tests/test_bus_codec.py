"""Game state crosses the bus as JSON and comes back equal; wrong shapes are refused with their path."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from feeds.bus.codec import DecodeError, decode
from feeds.config.schema import load_config
from feeds.connectors.registry import adapter_for
from feeds.game.challenges import GameState
from feeds.game.engine import Engine
from feeds.game.history import History
from feeds.game.ledger import Ledger
from tests.helpers import ROOT


def demo_game(tmp_path: Path) -> GameState:
    loaded = load_config(str(ROOT / "config.toml"))
    clock = [1_780_000_000.0]
    adapter = adapter_for(loaded, clock=lambda: clock[0], state_dir=tmp_path)
    engine = Engine(Ledger(tmp_path), loaded.config, History(tmp_path), clock=lambda: clock[0], announce=False)
    game = None
    for _ in range(6):
        game = engine(adapter.poll()).game
        clock[0] += 600
    assert game is not None
    return game


def test_a_real_game_state_round_trips_through_json(tmp_path: Path) -> None:
    game = demo_game(tmp_path)
    assert game.progress and game.comparison is not None  # the demo plays every kind
    wire = json.loads(json.dumps(game.to_dict()))
    back = decode(GameState, wire)
    assert back == game
    assert back.to_dict() == game.to_dict()


@pytest.mark.parametrize(("change", "path"), [
    (lambda d: d["progress"][0].update(target="ten"), "GameState.progress[0].target"),
    (lambda d: d.update(progress={"a": 1}), "GameState.progress"),
    (lambda d: d.pop("period"), "GameState.period: missing"),
    (lambda d: d["progress"][0].update(value=float("nan")), "GameState.progress[0].value"),
    (lambda d: d.update(badges={"a1": [7]}), "GameState.badges.a1[0]"),
])
def test_wrong_shapes_are_refused_with_their_path(tmp_path: Path, change, path: str) -> None:
    wire = json.loads(json.dumps(demo_game(tmp_path).to_dict()))
    change(wire)
    with pytest.raises(DecodeError) as caught:
        decode(GameState, wire)
    assert path in str(caught.value)


def test_a_mapping_the_data_leaves_out_is_its_default_once_not_wrapped_twice() -> None:
    from feeds.bus.codec import slow_decode

    fast, slow = decode(GameState, {"period": "day:2026-12-02"}), slow_decode(GameState, {"period": "day:2026-12-02"})
    assert repr(fast) == repr(slow) and repr(fast.badges) == "mappingproxy({})"
