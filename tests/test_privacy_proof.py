"""The proof: in ``top``, ``teams`` and ``anonymous`` no scene, banner or toast draws the name of
anyone the profile does not allow — on the demo floor and on an HTTP feed from a real local server.

Every string the wall draws passes through the font cache (``FontBook.render``); the test records
them all while each scene, a celebration and a thank-you toast are drawn, and looks in them for
every person's full name, each part of it (a first name alone names someone too) and their id.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pygame
import pytest

from display.fonts import FontBook
from display.shot import Preview, build_wall, render
from feeds.board.build import Board
from feeds.board.diff import FeedEventReceived
from feeds.config.schema import SCENES, LoadedConfig, load_config
from feeds.connectors.demo import ROLE_MODELS, ROSTER
from feeds.model import FeedEvent, _frozen
from helpers import FeedServer, agent, base_config, doc

RANKING_SCENES = ("leaderboard", "teams", "challenges", "record", "near", "history")
HIDDEN, CELEBRATE_ONLY, ALIASED, ALIAS = "kwame", "olga", "asa", "Night owl"  # in both feeds

# The HTTP floor: two teams of six and a team of two (smaller than min_group = 5).
HTTP_PEOPLE = [
    ("kwame", "Kwame Boateng", "north", 40), ("olga", "Olga Petrova", "north", 38), ("asa", "Åsa Lund", "north", 36),
    ("pjotr", "Пётр Иванов", "north", 30), ("ines", "Inès Duarte", "north", 22), ("tomas", "Tomáš Novák", "north", 9),
    ("yuki", "Yuki Tanaka", "south", 41), ("femi", "Femi Adeyemi", "south", 33), ("maja", "Maja Berg", "south", 29),
    ("omar", "Omar Haddad", "south", 27), ("lena", "Lena Vogel", "south", 18), ("raul", "Raúl Ortega", "south", 4),
    ("greta", "Greta Holm", "tiny", 45), ("ake", "Åke Ström", "tiny", 3),
]
HTTP_ROLE_MODELS = [("maria", "María Quispe", "north", 7)]  # a manager who takes tickets: never ranked


@pytest.fixture(autouse=True, scope="module")
def utc() -> None:
    os.environ["TZ"] = "UTC"
    time.tzset()


@pytest.fixture
def drawn(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every text the wall renders from now on (cached texts included: the cache is per wall)."""
    texts: list[str] = []
    original = FontBook.render

    def recording(self: FontBook, text: str, *args: Any, **kwargs: Any) -> pygame.Surface:
        texts.append(text)
        return original(self, text, *args, **kwargs)

    monkeypatch.setattr(FontBook, "render", recording)
    return texts


def privacy_toml(mode: str) -> str:
    return (f'[privacy]\nmode = "{mode}"\ntop_n = 5\n[privacy.people]\n{HIDDEN} = {{ ranking = "hidden" }}\n'
            f'{CELEBRATE_ONLY} = {{ ranking = "celebrate_only" }}\n{ALIASED} = {{ alias = "{ALIAS}" }}\n')


def demo_config(tmp_path: Path, mode: str, choices: bool = True) -> LoadedConfig:
    base = base_config()
    path = tmp_path / "config.toml"
    privacy = privacy_toml(mode) if choices else f'[privacy]\nmode = "{mode}"\n'  # no choices: a plain board
    path.write_text(base + "\n" + privacy, encoding="utf-8")
    return load_config(str(path))


def http_config(tmp_path: Path, mode: str, server: FeedServer) -> LoadedConfig:
    agents = [{**agent(i, solved, team=team), "name": name} for i, name, team, solved in HTTP_PEOPLE]
    agents += [{**agent(i, solved, team=team), "name": name, "role": "role_model"}
               for i, name, team, solved in HTTP_ROLE_MODELS]
    teams = [{"id": "north", "name": "North desk", "color": "#3377cc"},
             {"id": "south", "name": "South desk", "color": "#cc7733"}, {"id": "tiny", "name": "Tiny desk"}]
    events = [{"id": "c1", "type": "challenge_completed", "agent": "tomas", "challenge": "Solve 5", "points": 10},
              {"id": "c2", "type": "challenge_completed", "agent": HIDDEN, "challenge": "Solve 40", "points": 10}]
    server.json("/feed", doc(*agents, teams=teams, events=events))
    path = tmp_path / "config.toml"
    path.write_text(f'[feed]\ntype = "http"\nurl = "{server.url}/feed"\n[board]\nrank_by = "tickets_solved"\n'
                    f'[display]\nsecondary = ""\n' + privacy_toml(mode), encoding="utf-8")
    return load_config(str(path))


@dataclass
class Floor:
    names: dict[str, str]  # id -> full name, everyone on the feed
    full: Board  # the board before privacy

    def tokens(self, ident: str) -> list[str]:
        """What names a person: their id, their full name and each part of it of 3 letters or more."""
        name = self.names[ident]
        return [ident, name, *(p for p in re.split(r"[\s\-]+", name) if len(p) >= 3)]


def named_in(texts: list[str], floor: Floor, allowed: set[str]) -> dict[str, list[str]]:
    """The people (not in ``allowed``) some drawn text names, with those texts."""
    found: dict[str, list[str]] = {}
    joined = [t.casefold() for t in texts]
    for ident in floor.names:
        if ident in allowed:
            continue
        for token in floor.tokens(ident):
            pattern = re.compile(rf"(?<!\w){re.escape(token.casefold())}(?!\w)")
            hits = [t for t, low in zip(texts, joined) if pattern.search(low)]
            if hits:
                found.setdefault(ident, []).extend(hits)
    return found


def expected_top(floor: Floor, top_n: int) -> set[str]:
    """Worked out apart from the redaction: the best ranked, neither hidden nor celebrate-only, from
    teams of at least 5, at most a third of the group."""
    sizes = {t.team.id: t.members for t in floor.full.teams}
    cap = min(top_n, len(floor.full.agents) // 3)
    eligible = [r.agent.id for r in floor.full.agents if r.rank is not None and r.agent.id not in (HIDDEN, CELEBRATE_ONLY)
                and sizes.get(r.agent.team or "", 0) >= 5]
    return set(eligible[:cap])


def feed_news(preview: Preview, floor: Floor) -> None:
    """A thank-you to the aliased person, one to the hidden one, and completions by several: through
    the wall's own door (Wall.update), as the loop hands them over."""
    people = list(floor.names)
    news = [FeedEvent("k1", "kudos", data=_frozen({"from": people[-1], "to": ALIASED, "text": "Tack!"})),
            FeedEvent("k2", "kudos", data=_frozen({"from": people[-2], "to": HIDDEN, "text": "Thanks"})),
            FeedEvent("c9", "challenge_completed", data=_frozen({"agent": HIDDEN, "challenge": "Hidden win", "points": 5})),
            FeedEvent("c8", "challenge_completed", data=_frozen({"agent": people[-1], "challenge": "Last win", "points": 5}))]
    preview.wall.update(preview.coordinator.state(), [FeedEventReceived(e) for e in news])


def walk(preview: Preview, floor: Floor, drawn: list[str]) -> Iterator[tuple[str, list[str]]]:
    """Each scene; then, the news handed over, the wins again, the celebration and the toast: what
    each drew."""
    for scene in SCENES:
        drawn.clear()
        render(preview, scene)
        yield scene, list(drawn)
    feed_news(preview, floor)
    for scene in ("wins", "celebration"):
        drawn.clear()
        render(preview, scene)
        yield scene, list(drawn)
    drawn.clear()
    preview.wall.celebrations.current = None
    preview.wall.celebrations.update()
    surface = pygame.Surface(preview.wall.stage.size)
    preview.wall.draw(surface)
    yield "toast", list(drawn)


def open_floor(kind: str, mode: str, tmp_path: Path, server: FeedServer,
               choices: bool = True) -> tuple[Preview, Floor]:
    loaded = demo_config(tmp_path, mode, choices) if kind == "demo" else http_config(tmp_path, mode, server)
    preview = build_wall(loaded, (1920, 1080), state=tmp_path / "state")
    full = preview.coordinator.state().board
    assert full is not None
    people = [*ROSTER, *ROLE_MODELS] if kind == "demo" else [*HTTP_PEOPLE, *HTTP_ROLE_MODELS]
    names = {i: n for i, n, *_ in people}  # role models too: their lane names them
    return preview, Floor(names, full)


@pytest.mark.parametrize("kind", ["demo", "http"])
def test_top_names_only_the_best_few_in_rankings_and_never_the_hidden(kind: str, tmp_path: Path,
                                                                    server: FeedServer, drawn: list[str]) -> None:
    preview, floor = open_floor(kind, "top", tmp_path, server)
    top = expected_top(floor, 5)
    view = preview.wall.view
    assert view is not None and {a.agent.id for a in view.agents} == top
    assert len(top) <= len(floor.names) // 3 and HIDDEN not in top and CELEBRATE_ONLY not in top
    seen_toast = False
    for scene, texts in walk(preview, floor, drawn):
        shown = preview.wall.scene.name if scene in SCENES else scene  # "near" is off: another scene stands in
        allowed = top if shown in RANKING_SCENES else set(floor.names) - {HIDDEN}
        leaks = named_in(texts, floor, allowed - {ALIASED})
        assert leaks == {}, f"{scene} names {leaks}"
        seen_toast |= scene == "toast" and any(ALIAS in t for t in texts)
        if scene == "near":  # off in "top": the wall shows the next scene instead
            assert preview.wall.scene.name != "near"
        if scene == "leaderboard":
            assert f"and {len(floor.full.agents) - len(top)} more · everyone counts in the team totals" in texts
    assert seen_toast, "the thank-you to the aliased person was shown, under the alias"


@pytest.mark.parametrize("kind", ["demo", "http"])
def test_teams_names_nobody_anywhere(kind: str, tmp_path: Path, server: FeedServer, drawn: list[str]) -> None:
    preview, floor = open_floor(kind, "teams", tmp_path, server)
    assert preview.wall.view is not None and preview.wall.view.agents == ()
    everything = []
    for scene, texts in walk(preview, floor, drawn):
        assert named_in(texts, floor, set()) == {}, f"{scene} names someone"
        everything += texts
    assert any(t.startswith("Someone on ") for t in everything), "praise still reaches the floor, by team"
    if kind == "http":  # the team of two is not shown on its own
        assert not any("Tiny desk" in t for t in everything)


@pytest.mark.parametrize("kind", ["demo", "http"])
def test_anonymous_ranks_everyone_under_an_alias_or_initials(kind: str, tmp_path: Path, server: FeedServer,
                                                            drawn: list[str]) -> None:
    preview, floor = open_floor(kind, "anonymous", tmp_path, server)
    view = preview.wall.view
    assert view is not None and view.agents
    assert ALIAS in {a.agent.name for a in view.agents}
    for scene, texts in walk(preview, floor, drawn):
        assert named_in(texts, floor, set()) == {}, f"{scene} names someone"


def test_the_proof_can_fail_a_named_wall_names_people(tmp_path: Path, server: FeedServer, drawn: list[str]) -> None:
    preview, floor = open_floor("demo", "named", tmp_path, server)
    leaks = {}
    for scene, texts in walk(preview, floor, drawn):
        leaks.update(named_in(texts, floor, set()))
    assert HIDDEN not in leaks  # hidden in every mode, named too
    assert len(leaks) >= 10


@pytest.mark.parametrize("choices", [True, False], ids=["with-choices", "no-choices"])
def test_a_watcher_is_drawn_nowhere_even_on_a_named_wall(tmp_path: Path, server: FeedServer, drawn: list[str],
                                                         choices: bool) -> None:
    from feeds.web.people import People

    (tmp_path / "before").mkdir()
    before, floor = open_floor("demo", "named", tmp_path / "before", server, choices)
    leader = next(r.agent for r in floor.full.agents if r.agent.id not in (HIDDEN, CELEBRATE_ONLY, ALIASED))
    before.close()
    people = People(tmp_path / "state")
    people.invite(leader.id, leader.name, "watcher")  # as the team page's admin does
    people.close()
    preview, floor = open_floor("demo", "named", tmp_path, server, choices)
    try:
        view = preview.wall.view
        assert view is not None and leader.id not in {a.agent.id for a in (*view.agents, *view.role_models)}
        news = [FeedEvent("w1", "kudos", data=_frozen({"from": ALIASED, "to": leader.id, "text": "Thanks"})),
                FeedEvent("w2", "challenge_completed",
                          data=_frozen({"agent": leader.id, "challenge": "A win", "points": 5}))]
        preview.wall.update(preview.coordinator.state(), [FeedEventReceived(e) for e in news])
        seen: list[str] = []
        for scene, texts in walk(preview, floor, drawn):
            assert leader.id not in named_in(texts, floor, set()), f"{scene} names the watcher"
            seen += texts
        assert named_in(seen, floor, set()), "the proof can fail: others are named on this wall"
    finally:
        preview.close()
