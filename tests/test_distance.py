"""``viewing_distance``: text whose x-height is at least the distance ÷ 500, so fewer rows from further
away, and ``chalkwall check`` saying when a theme or screen cannot meet it as designed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from display.clock import FakeClock
from display.legibility import screen_height_m
from display.scenes.leaderboard import LeaderboardScene
from display.shot import init_offscreen, make_stage
from display.stage import Stage
from feeds.config.schema import load_config
from helpers import ROOT, write_config

init_offscreen()


def stage_at(tmp_path: Path, extra: str, size: tuple[int, int] = (1920, 1080)) -> Stage:
    loaded = load_config(str(write_config(tmp_path, f"[display]\n{extra}\n")))
    return make_stage(loaded, size, FakeClock())


def x_height_m(stage: Stage, fraction: float) -> float:
    """The drawn x-height, in metres on the configured screen, of text of theme size ``fraction``."""
    font = stage.fonts.chain("text", stage.px(fraction), False)[0][0]
    (_, _, _, top, _), = font.metrics("x")
    return top * screen_height_m(stage.display.screen_inches, stage.size) / stage.h


def test_every_theme_size_has_an_x_height_of_a_500th_of_the_viewing_distance(tmp_path: Path) -> None:
    for distance, inches, size in ((8, 55, (1920, 1080)), (6, 43, (1280, 720)), (10, 65, (1080, 1920)), (4, 32, (3840, 2160))):
        stage = stage_at(tmp_path, f"viewing_distance = {distance}\nscreen_inches = {inches}", size)
        for name in ("small", "row", "rank", "value", "header"):
            assert x_height_m(stage, getattr(stage.theme.sizes, name)) >= distance / 500 * 0.99  # a pixel's rounding


def test_without_a_distance_the_theme_sizes_stand(tmp_path: Path) -> None:
    near, unset = stage_at(tmp_path, "viewing_distance = 2"), stage_at(tmp_path, "")
    small = unset.theme.sizes.small
    assert near.px(small) == unset.px(small) == round(1080 * small)  # 2 m asks less than the theme gives


def test_the_leaderboard_shows_fewer_rows_from_further_away(tmp_path: Path) -> None:
    def rows(extra: str) -> int:
        scene = LeaderboardScene(stage_at(tmp_path, extra))
        scene.order = [f"a{i}" for i in range(40)]
        return scene._fit(scene.stage.content())[2]

    assert rows("") > rows("viewing_distance = 9") > rows("viewing_distance = 14") >= 1


def check(tmp_path: Path, extra: str) -> list[str]:
    config = write_config(tmp_path, f'[display]\n{extra}\n')
    result = subprocess.run([sys.executable, "-m", "display.cli", "check", "--config", str(config)],
                            capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    return [line for line in result.stdout.splitlines() if line.startswith("warning:")]


def test_check_warns_when_the_theme_is_too_small_for_the_distance_and_when_the_screen_is(tmp_path: Path) -> None:
    assert check(tmp_path, "viewing_distance = 4") == []
    far = check(tmp_path, "viewing_distance = 9")
    assert len(far) == 1 and "from 9 m on a 55-inch screen" in far[0] and "18 mm" in far[0]
    assert "small" in far[0] and "fewer rows fit" in far[0]
    tiny = check(tmp_path, 'viewing_distance = 9\nscreen_inches = 24')
    assert any("use a bigger screen" in line for line in tiny)
