"""Each ``[privacy]`` feature switch on the wall itself (the demo floor, real pygame surfaces under
SDL's dummy driver): what it shows when on and what is gone when off, and the new-leader banner in
each profile."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

import pytest

from display.shot import Preview, build_wall, render
from feeds.board.diff import FeedEventReceived
from feeds.config.schema import load_config
from feeds.connectors.demo import ROSTER
from feeds.model import FeedEvent, _frozen
from feeds.privacy.report import markdown
from helpers import base_config
from test_privacy_proof import drawn, utc  # noqa: F401  (fixtures: every text drawn; the zone)

NAMES = {i: n for i, n, *_ in ROSTER}


def wall(tmp_path: Path, privacy: str) -> Preview:
    path = tmp_path / "config.toml"
    path.write_text(base_config() + "\n[privacy]\n" + privacy, encoding="utf-8")
    made = build_wall(load_config(str(path)), (1920, 1080), state=tmp_path / "state")
    made.wall.celebrations.queue.clear()  # the warm-up's banners: a still picture of what follows
    made.wall.celebrations.current = None
    return made


def completion(preview: Preview, agent: str, title: str = "Solve 36 tickets today") -> None:
    event = FeedEvent(f"c-{agent}", "challenge_completed", data=_frozen({"agent": agent, "challenge": title,
                                                                            "points": 20}))
    preview.wall.update(preview.coordinator.state(), [FeedEventReceived(event)])


@pytest.mark.parametrize("on", [True, False])
def test_individual_celebrations_off_names_the_team_only(tmp_path: Path, on: bool, drawn: list[str]) -> None:
    preview = wall(tmp_path, f"individual_celebrations = {str(on).lower()}\n")
    drawn.clear()
    completion(preview, "kwame")
    banner = preview.wall.celebrations.current
    assert banner is not None
    expected = "Kwame Mensah" if on else "Someone on Night shift"
    assert banner.names == [expected] and banner.title == expected
    render(preview, "celebration")
    assert any("Solve 36 tickets today" in t for t in drawn)
    assert any(expected in t for t in drawn)  # (the leaderboard under the banner still lists Kwame by name)
    drawn.clear()
    render(preview, "wins")
    assert any(expected in t for t in drawn)
    # A new leader's banner names a person too: none with the switch off.
    assert preview.wall.privacy.leader_banners() is on



def test_the_report_lists_the_celebrations_switch(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(base_config() + "\n[privacy]\nindividual_celebrations = false\n", encoding="utf-8")
    text = markdown(load_config(str(path)).config, "config.toml")
    assert "naming the person who completed a challenge" in text and "**off** (`individual_celebrations`)" in text


def names_drawn(texts: list[str]) -> set[str]:
    """The demo people some drawn text names, by full name or first name."""
    return {i for i, name in NAMES.items() if any(name in t or name.split()[0] in t.split() for t in texts)}


@pytest.mark.parametrize("on", [True, False])
def test_each_feature_switch_on_the_wall(tmp_path: Path, on: bool, drawn: list[str]) -> None:
    flag = str(on).lower()
    preview = wall(tmp_path, f"near_you = {flag}\nindividual_challenges = {flag}\nindividual_history = {flag}\n"
                             f"thanks = {flag}\n")
    texts: dict[str, list[str]] = {}
    for scene in ("near", "challenges", "history", "wins"):
        drawn.clear()
        render(preview, scene)
        texts[scene] = list(drawn)
        if scene == "near":  # off: the wall shows the next scene instead
            assert (preview.wall.scene.name == "near") is on
    game = preview.wall.scenes["challenges"].game
    assert game is not None
    # individual_challenges: each person's progress bar, record race and head-to-head; teams' stay.
    assert any(p.scope == "agent" for p in game.progress) is on
    assert bool(names_drawn(texts["challenges"])) is on
    assert not any(d.scope == "agent" for d in game.duels) or on
    # individual_history: "most improved" and personal bests name people; the floor and teams stay.
    # (the demo's first day has nobody improved yet: the section is there, or not)
    assert any("Most improved" in t for t in texts["history"]) is on
    assert game.comparison is not None and game.comparison.teams
    # thanks: a thank-you is a toast and a card on wins, or nothing at all.
    kudos = FeedEvent("k-new", "kudos", data=_frozen({"from": "olga", "to": "kwame", "text": "Спасибо!"}))
    preview.wall.update(preview.coordinator.state(), [FeedEventReceived(kudos)])
    cheers = preview.wall.celebrations
    assert any(c.key == "k-new" for c in [*cheers.waiting, *(c for _, c in cheers.toasts)]) is on
    assert ("k-new" in preview.wall.scenes["wins"].events) is on  # type: ignore[attr-defined]
    assert any("thanked" in t for t in texts["wins"]) is on  # the demo's own thank-yous


@pytest.mark.parametrize("mode", ["named", "anonymous", "top", "teams"])
def test_a_new_leader_has_a_banner_only_where_a_rank_may_be_shown(tmp_path: Path, mode: str) -> None:
    preview = wall(tmp_path, f'mode = "{mode}"\n')
    state = preview.coordinator.state()
    board = state.board
    assert board is not None
    # The second overtakes the first: a new leader on the next poll.
    first, second = board.agents[0], board.agents[1]
    assert first.value is not None
    agents = (second._replace(rank=1, value=first.value + 5), first._replace(rank=2), *board.agents[2:])
    overtaken = replace(board, agents=agents, index=MappingProxyType({a.agent.id: n for n, a in enumerate(agents)}))
    preview.wall.update(replace(state, board=overtaken, generation=state.generation + 1))
    cheers = preview.wall.celebrations
    leaders = [c for c in [cheers.current, *cheers.queue] if c is not None and c.kind == "leader"]
    assert bool(leaders) is (mode in ("named", "anonymous")), mode
    assert preview.wall.privacy.leader_banners() is (mode in ("named", "anonymous"))
    if mode == "anonymous":  # under the alias or initials, never the name
        assert leaders[0].names != [second.agent.name] and "." in leaders[0].names[0]
