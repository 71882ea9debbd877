"""The team page's QR code on the wins scene (``[web] qr_on_wall``): off by default; on, a code of
``public_url`` that a real decoder (zxing-cpp) reads back from the rendered surface, module for
module the matrix drawn, dark on light in every theme, clear of every card at 1920x1080, 1280x720
and portrait 1080x1920, made once and not per frame; golden images of it; ``chalkwall check``
warns when it could help nobody; the key's typos and wrong types are named."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import time
from pathlib import Path

import pygame
import pytest
import zxingcpp
from PIL import Image

from display.clock import FakeClock
from display.qr import DARK, LIGHT, QUIET, QrPanel
from display.scenes.wins import WinsScene
from display.shot import Preview, build_wall, render
from display.themes import builtin_names, load_theme
from feeds.config.schema import LoadedConfig, load_config
from helpers import ROOT, config_problems, write_config
from test_golden import check_golden

URL = "http://chalkwall.office.lan:8080"
SIZES = {"1080p": (1920, 1080), "720p": (1280, 720), "portrait": (1080, 1920)}
LOOK = Path("/tmp/chalkwall-wall-qr")  # where the pictures land for a person to open and look at


@pytest.fixture(autouse=True, scope="module")
def utc() -> None:
    os.environ["TZ"] = "UTC"  # the header clock shows local time, as in the golden images
    time.tzset()


def with_qr(on: bool = True, url: str = URL) -> LoadedConfig:
    loaded = load_config(str(ROOT / "config.toml"))
    cfg = loaded.config
    web = dataclasses.replace(cfg.web, qr_on_wall=on, public_url=url)
    return dataclasses.replace(loaded, config=dataclasses.replace(cfg, web=web))


def wins(loaded: LoadedConfig, size: tuple[int, int], theme: str, tmp_path: Path) -> tuple[Preview, pygame.Surface]:
    preview = build_wall(loaded, size, theme=load_theme(theme, ROOT), clock=FakeClock(), state=tmp_path)
    return preview, render(preview, "wins")


def scene_of(preview: Preview) -> WinsScene:
    scene = preview.wall.scenes["wins"]
    assert isinstance(scene, WinsScene)
    return scene


def as_image(surface: pygame.Surface, rect: pygame.Rect | None = None) -> Image.Image:
    part = surface.subsurface(rect) if rect is not None else surface
    return Image.frombytes("RGB", part.get_size(), pygame.image.tobytes(part, "RGB"))


def modules_read(surface: pygame.Surface, at: tuple[int, int], panel: QrPanel) -> list[list[bool]]:
    """Each module's centre pixel on the screen, dark or not."""
    x0, y0 = at[0] + panel.code_at[0], at[1] + panel.code_at[1]
    half = panel.module // 2
    return [[sum(surface.get_at((x0 + x * panel.module + half, y0 + y * panel.module + half))[:3]) < 3 * 128
             for x in range(len(panel.matrix))] for y in range(len(panel.matrix))]


@pytest.mark.parametrize("size_name", list(SIZES))
@pytest.mark.parametrize("theme", builtin_names())
def test_the_code_reads_back_as_the_page_address_clear_of_every_card(theme: str, size_name: str,
                                                                        tmp_path: Path) -> None:
    size = SIZES[size_name]
    preview, surface = wins(with_qr(), size, theme, tmp_path)
    scene = scene_of(preview)
    rect, panel = scene.qr_rect(), scene.qr_panel()
    assert rect is not None and panel is not None
    LOOK.mkdir(exist_ok=True)
    pygame.image.save(surface, LOOK / f"wins-qr-{theme}-{size_name}.png")
    found = zxingcpp.read_barcodes(as_image(surface))  # the whole screen, as a phone would see it
    assert [(r.format, r.text) for r in found] == [(zxingcpp.BarcodeFormat.QRCode, URL)]
    assert modules_read(surface, rect.topleft, panel) == [list(row) for row in panel.matrix]
    module, code_x, code_y = panel.module, rect.x + panel.code_at[0], rect.y + panel.code_at[1]
    side = len(panel.matrix) * module
    quiet = pygame.Rect(code_x - QUIET * module, code_y - QUIET * module, side + 2 * QUIET * module,
                        side + 2 * QUIET * module)
    for x, y in ((quiet.x, quiet.y), (quiet.right - 1, quiet.bottom - 1), (quiet.x + 1, code_y + side // 2),
                 (quiet.right - 2, code_y + side // 3)):
        assert surface.get_at((x, y))[:3] == LIGHT  # the quiet zone: light all round, whatever the theme
    assert surface.get_at((code_x + module // 2, code_y + module // 2))[:3] == DARK  # a finder's corner
    assert quiet.w >= (25 + 8) * module and module >= 3  # a version 2 code or larger, its quiet zone whole
    area = preview.wall.stage.content()
    assert area.contains(rect)
    cards = scene.cards_drawn
    assert len(cards) >= 4  # the code took a corner, not the scene
    assert all(area.contains(card) and not card.colliderect(rect) for card in cards), (cards, rect)


def test_the_code_is_sized_in_millimetres_on_the_screen(tmp_path: Path) -> None:
    """3.5 mm modules: 6 pixels on a 55-inch 1080p screen, 4 at 720p, 7 on a 32-inch 720p one (its
    pixels are smaller), 10 on a 65-inch 4K, and never fewer than 3 (a 100-inch 720p projection)."""
    for size, inches, module in (((1920, 1080), 55.0, 6), ((1280, 720), 55.0, 4), ((1080, 1920), 55.0, 6),
                                 ((1280, 720), 32.0, 7), ((3840, 2160), 65.0, 10), ((1280, 720), 100.0, 3)):
        loaded = with_qr()
        display = dataclasses.replace(loaded.config.display, screen_inches=inches)
        loaded = dataclasses.replace(loaded, config=dataclasses.replace(loaded.config, display=display))
        preview = build_wall(loaded, size, clock=FakeClock(), state=tmp_path / f"{size[0]}-{inches}")
        panel = scene_of(preview).qr_panel()
        assert panel is not None and panel.module == module, (size, inches)


def test_the_code_is_made_once_not_per_frame(tmp_path: Path) -> None:
    preview, surface = wins(with_qr(), SIZES["1080p"], "dark", tmp_path)
    scene = scene_of(preview)
    first = scene.qr_panel()
    for _ in range(3):
        preview.clock.advance(1)
        preview.wall.draw(surface)
    assert scene.qr_panel() is first and first is not None


@pytest.mark.parametrize("url", ["", URL])
def test_off_by_default_and_without_a_public_url_no_code_is_drawn(url: str, tmp_path: Path) -> None:
    assert load_config(str(ROOT / "config.toml")).config.web.qr_on_wall is False
    for loaded in (with_qr(on=False, url=url), with_qr(on=True, url="")):
        preview, surface = wins(loaded, SIZES["1080p"], "dark", tmp_path)
        assert scene_of(preview).qr_rect() is None
        assert zxingcpp.read_barcodes(as_image(surface)) == []


def test_an_empty_wins_scene_keeps_its_message_clear_of_the_code(tmp_path: Path) -> None:
    loaded = with_qr()
    preview, _ = wins(loaded, SIZES["720p"], "dark", tmp_path)
    scene = scene_of(preview)
    scene.events.clear()
    surface = pygame.Surface(preview.wall.stage.size)
    preview.wall.draw(surface)
    rect = scene.qr_rect()
    assert rect is not None
    assert [r.text for r in zxingcpp.read_barcodes(as_image(surface))] == [URL]
    assert not any(r.colliderect(rect) for r in scene.cards_drawn)


@pytest.mark.parametrize("size_name", ["1080p", "portrait"])
@pytest.mark.parametrize("theme", ["dark", "light"])
def test_the_wins_scene_with_the_code_matches_its_golden_image(theme: str, size_name: str, tmp_path: Path) -> None:
    _, surface = wins(with_qr(), SIZES[size_name], theme, tmp_path)
    check_golden(surface, f"wins-qr-{theme}-{size_name}.png")


def test_the_key_is_checked_as_every_key_is(tmp_path: Path) -> None:
    assert config_problems(tmp_path, "[web]\nqr_on_wal = true\n") == [
        'config.toml: web.qr_on_wal: unknown key (did you mean "qr_on_wall"?)']
    problems = config_problems(tmp_path, '[web]\nqr_on_wall = "yes"\n')
    assert len(problems) == 1 and problems[0].startswith("config.toml: web.qr_on_wall: ")


def chalkwall_check(config: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CHALKWALL_CONFIG"}
    return subprocess.run([sys.executable, "-m", "display.cli", "check", "--config", str(config)],
                          capture_output=True, text=True, env=env, timeout=60)


def test_check_warns_when_the_code_could_help_nobody(tmp_path: Path) -> None:
    cases = {"": "web.public_url is empty: the wall draws no QR code",
             'public_url = "http://127.0.0.1:8080"\n': "loopback address",
             f'public_url = "{URL}"\n': None}
    for extra, warned in cases.items():
        config = write_config(tmp_path, f'[state]\ndir = "{tmp_path / "state"}"\n[web]\nqr_on_wall = true\n{extra}')
        result = chalkwall_check(config)
        assert result.returncode == 0, result.stderr
        warnings = [line for line in result.stdout.splitlines() if "qr_on_wall" in line]
        if warned is None:
            assert warnings == []
        else:
            assert len(warnings) == 1 and warnings[0].startswith("warning: ") and warned in warnings[0]
    off = write_config(tmp_path, f'[state]\ndir = "{tmp_path / "state"}"\n')
    assert "qr_on_wall" not in chalkwall_check(off).stdout


def test_turning_the_code_on_while_the_wall_runs_takes_effect_at_the_reload(tmp_path: Path) -> None:
    from display.app import Kiosk, build_theme
    from display.shot import init_offscreen
    from feeds.config.reload import Reloaded

    base = f'[feed]\ntype = "http"\nurl = "http://127.0.0.1:9/feed"\n[state]\ndir = "{tmp_path / "state"}"\n'
    off = load_config(str(write_config(tmp_path, base)))
    kiosk = Kiosk(off, pygame.display.set_mode((640, 360)), windowed=True)
    try:
        assert kiosk.wall.stage.wall_qr == ""
        on = load_config(str(write_config(tmp_path, base + f'[web]\nqr_on_wall = true\npublic_url = "{URL}/"\n')))
        kiosk._apply(Reloaded(on, build_theme(on), ("web",)))
        assert kiosk.wall.stage.wall_qr == URL  # the page's address, its trailing slash dropped
    finally:
        if kiosk._swap is not None:
            kiosk._swap.join()
        kiosk.live.stop()
        pygame.display.quit()  # no screen left behind for the tests that draw offscreen
        init_offscreen()
