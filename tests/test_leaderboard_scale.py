"""The leaderboard on a large floor: every agent is seen over the rotation, a frame costs what the
page on screen costs (not what the floor does), and the column headers never overlap."""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import pygame
import pytest

from display.clock import FakeClock
from display.scenes.leaderboard import LeaderboardScene
from display.scenes.near import NearScene
from display.shot import init_offscreen, make_stage
from display.stage import Stage
from display.wall import Wall
from display.widgets import format_value, metric_label
from feeds.board.build import build_board
from feeds.config.schema import BoardConfig, load_config
from feeds.live.coordinator import FeedState
from feeds.connectors.parse import normalise
from helpers import ROOT, agent, doc, write_config

init_offscreen()


class CountingClock(FakeClock):
    """A fake clock that counts how often it is read: every tween reads it, so the count is the
    work a frame does per row."""

    reads = 0

    def now(self) -> float:
        self.reads += 1
        return super().now()


def stage_for(tmp_path: Path, config: str = "", size: tuple[int, int] = (1280, 720),
              clock: FakeClock | None = None) -> Stage:
    loaded = load_config(str(write_config(tmp_path, config)))
    return make_stage(loaded, size, clock or FakeClock())


def floor(n: int, generation: int = 1, swap: tuple[int, int] | None = None) -> FeedState:
    """``n`` agents with distinct values, a{0} leading; ``swap`` exchanges two places' values."""
    values = [float(10 * n - i) for i in range(n)]
    if swap is not None:
        i, j = swap
        values[i], values[j] = values[j], values[i]
    agents = [agent(f"a{i}", values[i], team=f"t{i % 4}", csat=4.5) for i in range(n)]
    return FeedState(build_board(normalise(doc(*agents)), BoardConfig()), 1.0, None, 0, False, generation)


PLAYLIST = '[[display.scenes]]\nname = "leaderboard"\nseconds = 30\n[[display.scenes]]\nname = "teams"\nseconds = 12\n'


def visits(wall: Wall, st: FeedState, count: int, step: float = 0.5) -> list[list[int]]:
    """The leaderboard pages as they reach the screen, visit by visit, over ``count`` visits."""
    screen = pygame.Surface(wall.stage.size)
    scene = wall.scenes["leaderboard"]
    clock: FakeClock = wall.stage.clock  # type: ignore[assignment]
    seen: list[list[int]] = []
    on = False
    while len(seen) < count or on:
        clock.advance(step)
        wall.update(st)
        drawn = wall.frame(screen)
        if wall.scene is not scene:
            on = False
            continue
        if not on:
            seen.append([])
            on = True
        page = scene.page  # type: ignore[attr-defined]
        if not seen[-1] or seen[-1][-1] != page:
            assert drawn, "a page turned but nothing reached the screen"
            seen[-1].append(page)
    return seen


def test_every_page_of_a_large_floor_is_seen_over_a_few_visits(tmp_path: Path) -> None:
    wall = Wall(stage_for(tmp_path, PLAYLIST))
    st = floor(200)
    wall.update(st)
    scene: LeaderboardScene = wall.scenes["leaderboard"]  # type: ignore[assignment]
    pages = scene.pages()
    assert pages > 8
    shown = visits(wall, st, pages)
    every = [page for visit in shown for page in visit]
    assert set(every) == set(range(pages))  # everybody, not only the first three pages
    per_visit = len(shown[0])
    assert all(len(v) == per_visit for v in shown[:-1])
    # Each visit goes on from the page after the last one seen; none is repeated while others wait.
    assert every[:pages] == list(range(pages))


def test_a_floor_that_fits_the_slot_shows_every_page_at_every_visit(tmp_path: Path) -> None:
    wall = Wall(stage_for(tmp_path, PLAYLIST))
    st = floor(20)
    wall.update(st)
    scene: LeaderboardScene = wall.scenes["leaderboard"]  # type: ignore[assignment]
    assert scene.pages() == 2
    assert scene.page_seconds() == 15.0  # the 30 s slot shared by the two pages, not page 1 twice
    assert visits(wall, st, 3) == [[0, 1], [0, 1], [0, 1]]


def test_a_reload_keeps_the_page_on_screen(tmp_path: Path) -> None:
    stage = stage_for(tmp_path, PLAYLIST)
    wall = Wall(stage)
    st = floor(200)
    wall.update(st)
    stage.clock.advance(25)  # type: ignore[attr-defined]
    before = wall.scenes["leaderboard"].page  # type: ignore[attr-defined]
    assert before > 0
    fresh = Wall(make_stage(load_config(str(tmp_path / "config.toml")), stage.size, stage.clock))
    fresh.adopt(wall)
    assert fresh.scenes["leaderboard"].page == before  # type: ignore[attr-defined]


def loop_reads(wall: Wall, st: FeedState, screen: pygame.Surface) -> int:
    """Clock reads of one pass of the loop: update, frame, and the questions it asks to sleep."""
    clock: CountingClock = wall.stage.clock  # type: ignore[assignment]
    clock.reads = 0
    wall.update(st)
    wall.frame(screen)
    wall.animating()
    wall.next_wake()
    return clock.reads


def wall_of(tmp_path: Path, n: int) -> tuple[Wall, pygame.Surface]:
    wall = Wall(stage_for(tmp_path, clock=CountingClock()))
    wall.update(floor(n))
    screen = pygame.Surface(wall.stage.size)
    wall.frame(screen)
    return wall, screen


@pytest.mark.parametrize("moving", [False, True], ids=["still", "a rank change on screen"])
def test_a_frame_costs_the_same_on_a_floor_of_5000_as_on_one_of_60(tmp_path: Path, moving: bool) -> None:
    costs = []
    for n in (60, 5000):
        wall, screen = wall_of(tmp_path, n)
        st = floor(n, generation=2, swap=(1, 2) if moving else None)
        wall.update(st)
        clock: FakeClock = wall.stage.clock  # type: ignore[assignment]
        reads = []
        for _ in range(90):  # a second and a half: the slide, the count-up and the settling
            clock.advance(1 / 60)
            reads.append(loop_reads(wall, st, screen))
        assert wall.animating() is False
        costs.append(reads)
    small, large = costs
    assert large == small  # the same work every frame, whatever the agents off screen
    assert max(large) < 400  # and that work is a page's, not a floor's


def test_a_new_value_off_screen_does_not_wake_the_page_on_screen(tmp_path: Path) -> None:
    wall, screen = wall_of(tmp_path, 5000)
    wall.update(floor(5000, generation=2, swap=(3000, 3001)))
    assert wall.frame(screen) == []
    assert not wall.animating()


def test_an_arrow_leaves_its_row_when_its_time_is_up(tmp_path: Path) -> None:
    wall, screen = wall_of(tmp_path, 12)
    clock: FakeClock = wall.stage.clock  # type: ignore[assignment]
    clock.advance(61 - clock.wall() % 60)  # a second into a minute: no new minute before the arrow goes
    wall.frame(screen)
    wall.update(floor(12, generation=2, swap=(1, 2)))
    for _ in range(120):  # the slide, drawn frame by frame
        clock.advance(1 / 60)
        wall.frame(screen)
    scene: LeaderboardScene = wall.scenes["leaderboard"]  # type: ignore[assignment]
    assert scene.rows["a2"].key[-2] == 1  # the overtaker shows its arrow
    expiry = scene.next_change()
    assert expiry is not None and expiry < clock.now() + 45
    clock.advance(expiry - clock.now() - 0.5)
    assert wall.frame(screen) == []
    clock.advance(0.5)
    assert wall.frame(screen)  # the arrow's time is up: its rows are drawn again, without it
    assert scene.rows["a2"].key[-2] == 0 and scene.rows["a1"].key[-2] == 0


class CountingAgents(tuple):  # type: ignore[type-arg]
    """The board's own agents, counting every one handed out (by iteration, index or slice)."""

    touched = 0
    passes = 0  # walks over the floor: iterations and slices

    def __iter__(self):  # type: ignore[no-untyped-def]
        CountingAgents.passes += 1
        for item in super().__iter__():
            CountingAgents.touched += 1
            yield item

    def __getitem__(self, key):  # type: ignore[no-untyped-def]
        found = super().__getitem__(key)
        CountingAgents.passes += isinstance(key, slice)
        CountingAgents.touched += len(found) if isinstance(key, slice) else 1
        return found


def test_the_near_scene_reads_a_large_floor_once_per_picture_not_once_per_team_and_row(tmp_path: Path) -> None:
    stage = stage_for(tmp_path, size=(1920, 1080))
    members = [agent(f"a{i}", float(50000 - i), team=f"t{i % 20}") for i in range(5000)]
    board = build_board(normalise(doc(*members)), BoardConfig())
    counted = dataclasses.replace(board, agents=CountingAgents(board.agents))
    scene = NearScene(stage)
    scene.update(counted, [])
    CountingAgents.touched = 0
    assert scene.has_content()
    for _ in range(3):  # the rotation asks, then a picture, a new minute's picture
        scene.draw(pygame.Surface(stage.size))
    # One pass for the board, and the neighbours of the rows shown: not one pass per team, per
    # picture, nor a slice of the floor per row.
    assert 0 < CountingAgents.touched <= 1.5 * len(board.agents)


def test_the_challenges_scene_sorts_a_large_floor_once_per_board_not_per_picture(tmp_path: Path) -> None:
    from display.shot import build_wall

    preview = build_wall(load_config(str(ROOT / "config.toml")), (1920, 1080), state=tmp_path)
    scene = preview.wall.scenes["challenges"]
    assert scene.game is not None and scene.board is not None and scene.game.progress
    scene.board = dataclasses.replace(scene.board, agents=CountingAgents(scene.board.agents))
    CountingAgents.passes = 0
    assert scene.has_content()
    for _ in range(3):  # the rotation asks, then a picture, a new minute's picture
        scene.draw(pygame.Surface(preview.wall.stage.size))
    assert CountingAgents.passes == 1  # one walk over the floor for this board, not one per picture


LABELS = {
    "short": '[board.metrics.csat]\nlabel = "Csat"\n',
    "long": '[board.metrics.csat]\nlabel = "Customer satisfaction"\n'
            '[board.metrics.tickets_solved]\nlabel = "Tickets solved today"\n',
    "very long": '[board.metrics.csat]\nlabel = "Customer satisfaction, rolling thirty-day average"\n'
                 '[board.metrics.tickets_solved]\nlabel = "Tickets solved across every channel since midnight"\n',
}


@pytest.mark.parametrize("size", [(1920, 1080), (1280, 720), (1080, 1920)], ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("labels", list(LABELS))
def test_column_headers_never_overlap(tmp_path: Path, size: tuple[int, int], labels: str) -> None:
    stage = stage_for(tmp_path, f'[display]\nsecondary = "csat"\n{LABELS[labels]}', size)
    wall = Wall(stage)
    wall.update(floor(20))
    scene: LeaderboardScene = wall.scenes["leaderboard"]  # type: ignore[assignment]
    wall.frame(pygame.Surface(stage.size))
    headers = [rect for _, rect in scene.headers()]
    assert len(headers) == (0 if stage.portrait else 3)  # portrait rows name their own numbers
    for a, b in itertools.combinations(headers, 2):
        assert not a.colliderect(b), f"{a} overlaps {b}"
    for rect in headers:
        assert stage.content().contains(rect.clip(stage.content())) and 0 <= rect.x and rect.right <= stage.w
    if labels != "very long" and size[0] >= 1920:  # room enough: every header whole, at its size
        texts = [metric_label(m, stage.board) for m in ("tickets_solved", "csat")] + ["Team"]
        natural = [stage.fonts.width(t, "text", stage.px(stage.theme.sizes.small)) for t in texts]
        assert [label.get_width() for label, _ in scene.headers()] == natural


@pytest.mark.parametrize("labels", list(LABELS))
def test_a_portrait_row_keeps_its_secondary_number_however_long_the_label(tmp_path: Path, labels: str) -> None:
    stage = stage_for(tmp_path, f'[display]\nsecondary = "csat"\n{LABELS[labels]}', (1080, 1920))
    scene = LeaderboardScene(stage)
    names = ("Night shift", "Day shift", "Escalations", "Billing and accounts")
    teams = [{"id": f"t{i}", "name": name} for i, name in enumerate(names)]
    members = [agent(f"a{i}", float(100 - i), team=f"t{i % 4}", csat=4.5) for i in range(20)]
    scene.update(build_board(normalise(doc(*members, teams=teams)), BoardConfig()), [])
    ranked = scene.order[0]
    px = stage.px(stage.theme.sizes.small)
    number = format_value(4.5, "csat", stage.board)
    for room in range(80, 1000, 40):
        detail, size = scene.art.portrait_detail(ranked, "Night shift", room)
        assert detail.endswith((f" {number}", f" {number} · Night shift")) or detail == number
        if detail.endswith("Night shift"):  # then every team's name fits too
            widest = f"{metric_label('csat', stage.board)} {number} · Billing and accounts"
            assert stage.fonts.width(widest, "text", size) <= room
        assert stage.fonts.width(detail, "text", size) <= room and size >= 0.85 * px


def test_the_base_layer_is_redrawn_in_place_not_reallocated_when_the_scene_changes(tmp_path: Path) -> None:
    wall = Wall(stage_for(tmp_path, PLAYLIST))
    wall.update(floor(200))
    screen = pygame.Surface(wall.stage.size)
    wall.frame(screen)
    layer = wall._base_layer
    wall.show("teams")
    wall.frame(screen)
    assert wall._base_layer is layer  # a full-screen copy and convert cost ~3 ms a scene change
    expected = pygame.Surface(wall.stage.size)
    wall.draw(expected)  # and it is the teams scene's base now, not the leaderboard's
    assert pygame.image.tobytes(screen, "RGB") == pygame.image.tobytes(expected, "RGB")
