"""Hot reload: the watcher validates edits to the config and theme files, and the wall is rebuilt
around the same board, banner, queue and wins, with a notice for the admin."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pygame
import pytest

from display.app import build_theme
from display.clock import FakeClock
from display.shot import init_offscreen, make_stage
from display.stage import Notice
from display.themes import Theme, theme_path
from display.wall import Wall
from feeds.board.build import build_board
from feeds.config.schema import BoardConfig, LoadedConfig, load_config
from feeds.live.coordinator import FeedCoordinator, FeedState
from feeds.board.diff import FeedEventReceived
from feeds.model import FeedEvent
from feeds.connectors.parse import normalise
from feeds.config.reload import ConfigWatcher, Reloaded, Rejected
from helpers import agent, doc, write_config

init_offscreen()
BASE = '[feed]\ntype = "demo"\n[display]\ntitle = "Floor 3"\n'


def watcher(tmp_path: Path, text: str = BASE) -> ConfigWatcher[Theme]:
    loaded = load_config(str(write_config(tmp_path, text)))
    return ConfigWatcher(loaded, build_theme(loaded), build_theme,
                         lambda cfg: [theme_path(cfg.config.display.theme, cfg.base_dir)], look_seconds=0.01)


def settle(w: ConfigWatcher[Theme]) -> Reloaded[Theme] | Rejected | None:
    """Two looks: the first sees the change, the second sees it has stood still."""
    return w.check() or w.check()


def test_a_valid_edit_is_reloaded_with_the_sections_that_changed(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    w = watcher(tmp_path)
    assert w.check() is None  # nothing changed since start
    (tmp_path / "config.toml").write_text(BASE.replace("Floor 3", "Floor 4") + 'theme = "light"\n')
    assert w.check() is None  # just written: not read until it has stood still for one look
    with caplog.at_level(logging.INFO, logger="chalkwall"):
        outcome = w.check()
    assert isinstance(outcome, Reloaded)
    assert outcome.changed == ("display", "theme") and outcome.extra.name == "Light"
    assert outcome.loaded.config.display.title == "Floor 4" and w.take() is outcome and w.take() is None
    record = next(r for r in caplog.records if getattr(r, "event", "") == "config_reloaded")
    assert record.fields["changed"] == ["display", "theme"] and "config.toml" in record.fields["file"]


def test_rewriting_the_same_bytes_is_not_an_edit(tmp_path: Path) -> None:
    w = watcher(tmp_path)
    path = tmp_path / "config.toml"
    path.write_text(path.read_text())
    assert settle(w) is None and w.take() is None


def test_an_invalid_edit_is_rejected_once_naming_the_file_the_key_and_a_guess(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    w = watcher(tmp_path)
    (tmp_path / "config.toml").write_text(BASE + 'animaton = "none"\n')
    with caplog.at_level(logging.INFO, logger="chalkwall"):
        outcome = settle(w)
        assert settle(w) is None  # the same broken file is reported once, not on every look
    assert isinstance(outcome, Rejected)
    assert outcome.lines() == [f'{tmp_path / "config.toml"}: display.animaton: unknown key (did you mean "animation"?)']
    rejected = [r for r in caplog.records if getattr(r, "event", "") == "config_rejected"]
    assert len(rejected) == 1 and rejected[0].fields["problems"] == [
        {"file": str(tmp_path / "config.toml"), "key": "display.animaton",
         "message": 'unknown key (did you mean "animation"?)'}]
    (tmp_path / "config.toml").write_text(BASE + 'theme = "drak"\n')  # a theme that does not exist
    theme = settle(w)
    assert isinstance(theme, Rejected) and "display.theme" in theme.lines()[0] and 'did you mean "dark"' in theme.lines()[0]
    assert w.loaded.config.display.theme == "dark" and w.extra.name == "Dark"  # the running config stays
    (tmp_path / "config.toml").write_text(BASE + 'theme = "light"\n')  # fixed
    fixed = settle(w)
    assert isinstance(fixed, Reloaded) and fixed.extra.name == "Light"


def test_a_half_written_file_is_not_read_until_it_stands_still(tmp_path: Path) -> None:
    w = watcher(tmp_path)
    path = tmp_path / "config.toml"
    path.write_text(BASE + '[board]\nrank_by = "qual')  # the editor's first write
    assert w.check() is None
    path.write_text(BASE + '[board]\nrank_by = "quality"\n')  # its second, before the next look
    assert w.check() is None
    outcome = w.check()
    assert isinstance(outcome, Reloaded) and outcome.changed == ("board",)


def test_editing_the_theme_file_reloads_and_a_broken_theme_is_rejected(tmp_path: Path) -> None:
    theme = tmp_path / "ours.toml"
    theme.write_text('name = "ours"\n[colours]\naccent = "#ff0000"\n')
    w = watcher(tmp_path, BASE + 'theme = "ours.toml"\n')
    theme.write_text('name = "ours"\n[colours]\naccent = "#00ff00"\n')
    outcome = settle(w)
    assert isinstance(outcome, Reloaded) and outcome.changed == ("theme",)
    assert outcome.extra.colours.accent == "#00ff00"
    theme.write_text('name = "ours"\n[colours]\naccent = "green"\n')
    broken = settle(w)
    assert isinstance(broken, Rejected) and str(theme) in broken.lines()[0] and "colours.accent" in broken.lines()[0]


def test_a_new_theme_file_is_watched_even_while_it_is_broken(tmp_path: Path) -> None:
    w = watcher(tmp_path)
    theme = tmp_path / "new.toml"
    theme.write_text('name = "new"\n[colours]\ntext = "white"\n')
    (tmp_path / "config.toml").write_text(BASE + 'theme = "new.toml"\n')
    assert isinstance(settle(w), Rejected)
    theme.write_text('name = "new"\n[colours]\ntext = "#ffffff"\n')  # the admin fixes the theme, not the config
    outcome = settle(w)
    assert isinstance(outcome, Reloaded) and outcome.extra.name == "new" and "theme" in outcome.changed


def test_a_feed_whose_secret_cannot_be_read_is_rejected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLOOR_TOKEN", raising=False)
    w = watcher(tmp_path)
    (tmp_path / "config.toml").write_text('[feed]\ntype = "http"\nurl = "http://127.0.0.1:9/x"\n'
                                          '[feed.auth]\ntype = "bearer"\ntoken_env = "FLOOR_TOKEN"\n')
    outcome = settle(w)
    assert isinstance(outcome, Rejected) and "FLOOR_TOKEN" in outcome.lines()[0]
    assert w.loaded.config.feed.type == "demo"


def test_a_deleted_config_is_rejected_and_its_return_reloaded(tmp_path: Path) -> None:
    w = watcher(tmp_path)
    path = tmp_path / "config.toml"
    path.unlink()
    outcome = settle(w)
    assert isinstance(outcome, Rejected) and "the file is gone" in outcome.lines()[0]
    path.write_text(BASE.replace("Floor 3", "Floor 5"))
    assert isinstance(settle(w), Reloaded)


# --- the wall around a reload ------------------------------------------------------------
def board_state(generation: int, events: list[dict] | None = None) -> FeedState:
    board = build_board(normalise(doc(agent("åsa", 9), agent("олег", 7), agent("li", 3), events=events)),
                        BoardConfig())
    return FeedState(board, 1.0, None, 0, False, generation)


def completion(n: int) -> FeedEventReceived:
    return FeedEventReceived(FeedEvent(f"c{n}", "challenge_completed", None,
                                       {"agent": "åsa", "challenge": f"Goal {n}", "points": 5}))


def test_a_new_wall_carries_on_with_the_board_the_banner_the_queue_and_the_wins(tmp_path: Path) -> None:
    clock = FakeClock()
    loaded = load_config(str(write_config(tmp_path, BASE)))
    old = Wall(make_stage(loaded, (960, 540), clock))
    old.update(board_state(3), [completion(1), completion(2)])
    old.show("leaderboard")
    clock.advance(1.0)
    old.update(board_state(3), [])
    assert old.celebrations.current is not None and len(old.celebrations.queue) == 1
    light = load_config(str(write_config(tmp_path, BASE + 'theme = "light"\n')))
    fresh = Wall(make_stage(light, (960, 540), clock))
    fresh.adopt(old)
    assert fresh.view == old.view and fresh.state.generation == 3
    assert fresh.celebrations.current is old.celebrations.current  # the banner keeps its time...
    assert fresh.celebrations.started == old.celebrations.started and len(fresh.celebrations.queue) == 1
    assert [e.id for e in fresh.scenes["wins"].latest()] == ["c2", "c1"] or \
        {e.id for e in fresh.scenes["wins"].latest()} == {"c1", "c2"}
    surface = pygame.Surface((960, 540))
    assert fresh.frame(surface)  # ...and is drawn again in the new look: light background at the corner
    assert surface.get_at((2, 2))[:3] == fresh.stage.background().get_at((2, 2))[:3] != (0, 0, 0)
    fresh.update(board_state(3), [])  # the same generation from the feed: no new diff, no new banner
    assert len(fresh.celebrations.queue) == 1


def test_the_notice_is_drawn_beside_the_stale_one_and_goes_by_itself(tmp_path: Path) -> None:
    clock = FakeClock()
    loaded = load_config(str(write_config(tmp_path, BASE)))
    wall = Wall(make_stage(loaded, (1280, 720), clock))
    stale = FeedState(board_state(1).board, clock.wall() - 3600, "timed out", 3, True, 1)
    wall.update(stale, [])
    plain = pygame.Surface((1280, 720))
    wall.frame(plain)
    wall.set_notice(Notice(("Config reloaded: display",), colour="up", until=clock.now() + 8))
    noticed = pygame.Surface((1280, 720))
    assert wall.frame(noticed) == [noticed.get_rect()]  # a new notice: a whole new frame
    assert wall.notices()[0].endswith("feed unreachable") and wall.notices()[1] == "Config reloaded: display"
    up = wall.stage.colour("up")
    left_corner = [(x, y) for x in range(0, 640, 2) for y in range(600, 720, 2) if noticed.get_at((x, y))[:3] == up]
    assert left_corner and not [p for p in left_corner if plain.get_at(p)[:3] == up]
    assert max(x for x, _ in left_corner) < 640  # bottom left: clear of the stale notice on the right
    assert wall.next_wake() <= clock.now() + 8  # the loop wakes to take it away
    clock.advance(8.1)
    after = pygame.Surface((1280, 720))
    assert wall.frame(after) and wall.notices() == [wall.stage.stale_text(stale)]
    assert not [p for p in left_corner if after.get_at(p)[:3] == up]


def test_a_coordinator_takes_over_the_board_and_unread_events(tmp_path: Path) -> None:
    feed_file = tmp_path / "feed.json"
    feed_file.write_text(json.dumps(doc(agent("åsa", 9), events=[
        {"id": "k1", "type": "kudos", "from": "åsa", "to": "åsa", "text": "thanks"}])))
    loaded: LoadedConfig = load_config(str(write_config(tmp_path, '[feed]\ntype = "file"\npath = "feed.json"\n')))
    from feeds.connectors.registry import make_adapter

    cfg = loaded.config
    old = FeedCoordinator(make_adapter(cfg.feed, loaded.base_dir), cfg.feed, cfg.board)
    assert old.poll_once()
    fresh = FeedCoordinator(make_adapter(cfg.feed, loaded.base_dir), cfg.feed, cfg.board)
    fresh.take_over(old)
    assert fresh.state() == old.state() and fresh.state().generation == 1
    assert any(isinstance(e, FeedEventReceived) and e.event.id == "k1" for e in fresh.drain_events())
    assert old.drain_events() == []
