"""The team page's address as a QR code in a corner of the wall (``[web] qr_on_wall``), made once.

The code holds ``[web] public_url`` — the team page's own address, where a visitor signs in; never a
personal link or a token. It is drawn dark on light whatever the theme (a phone's reader looks for
dark modules on a light ground), with the four-module quiet zone the standard asks for, on a light
panel that carries the caption. Its modules are sized in millimetres on the screen, from
``[display] screen_inches``: :data:`MODULE_MM` reads from a couple of metres with a phone camera.

:class:`QrPanel` is built once per address, screen size and theme (the wins scene keeps it); a
frame only blits it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pygame
import qrcode
import qrcode.constants

from display.legibility import screen_height_m
from display.stage import Stage
from display.widgets import wrap_text

# A phone's camera at 2–3 m sees a module of 3.5 mm as 3 or more of its pixels: enough to decode.
MODULE_MM = 3.5
MIN_MODULE_PX = 3  # below this a TV's scaler smears the edges of the modules
QUIET = 4  # modules of light around the code (ISO/IEC 18004)
DARK = (17, 17, 17)
LIGHT = (250, 250, 250)
CAPTION = "Thank a colleague: scan"
CAPTION_SIZE = 0.03  # a fraction of the screen height, as the theme's sizes (the stage keeps it legible)
CAPTION_WIDTH = 1.6  # the widest the caption may make the panel, in code widths


def qr_matrix(text: str) -> tuple[tuple[bool, ...], ...]:
    """``text`` as QR modules (True: dark), without the quiet zone; error correction M, which
    survives a TV's glare on a few modules."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    code.add_data(text)
    code.make(fit=True)
    return tuple(tuple(bool(cell) for cell in row) for row in code.get_matrix())


def module_px(stage: Stage) -> int:
    """Pixels per module for :data:`MODULE_MM` on this screen (whole pixels: crisp edges)."""
    mm_per_px = screen_height_m(stage.display.screen_inches, stage.size) * 1000 / stage.h
    return max(MIN_MODULE_PX, math.ceil(MODULE_MM / mm_per_px - 0.05))  # 5.52 px is 5, not 6: a little slack


@dataclass(frozen=True)
class QrPanel:
    """The drawn panel, and where on it the code's first module is (for tests that read it back)."""

    surface: pygame.Surface
    matrix: tuple[tuple[bool, ...], ...]
    module: int  # pixels per module
    code_at: tuple[int, int]  # the top-left dark-or-light module, inside the quiet zone

    @property
    def size(self) -> tuple[int, int]:
        return self.surface.get_size()


def make_panel(stage: Stage, url: str, caption: str = CAPTION) -> QrPanel:
    """The light panel: the code with its quiet zone on top, the caption (one or two lines) under it."""
    matrix = qr_matrix(url)
    module = module_px(stage)
    n = len(matrix)
    side = (n + 2 * QUIET) * module
    code = pygame.Surface((side, side))
    code.fill(LIGHT)
    for y, row in enumerate(matrix):
        for x, dark in enumerate(row):
            if dark:
                code.fill(DARK, ((x + QUIET) * module, (y + QUIET) * module, module, module))
    if stage.portrait:
        return _beside(stage, code, caption, matrix, module)
    # The caption may make the panel wider than the code (the code then stands centred on it),
    # never more than CAPTION_WIDTH codes wide: two lines of the smallest legible text.
    pad = QUIET * module // 2
    most = round(side * CAPTION_WIDTH)
    lines = [stage.text_fitted(line, CAPTION_SIZE, DARK, most, bold=True)
             for line in wrap_text(stage, caption, CAPTION_SIZE, most - 2 * pad, 2, bold=True)]
    width = max([side, *(line.get_width() + 2 * pad for line in lines)])
    height = side + (sum(line.get_height() for line in lines) + pad if lines else 0)
    panel = pygame.Surface((width, height))
    panel.fill(LIGHT)
    left = (width - side) // 2
    panel.blit(code, (left, 0))
    y = side  # below the whole quiet zone
    for line in lines:
        panel.blit(line, line.get_rect(midtop=(width // 2, y)))
        y += line.get_height()
    return QrPanel(panel, matrix, module, (left + QUIET * module, QUIET * module))


def _beside(stage: Stage, code: pygame.Surface, caption: str, matrix: tuple[tuple[bool, ...], ...],
            module: int) -> QrPanel:
    """Portrait: the caption to the code's left in the theme's own text colour, a strip across the
    foot of the content (legible text is tall on a portrait screen: under the code it would not fit)."""
    side = code.get_width()
    room = stage.content().w - side - stage.margin
    lines = [stage.text_fitted(line, CAPTION_SIZE, "text", room, bold=True)
             for line in wrap_text(stage, caption, CAPTION_SIZE, room, 2, bold=True)]
    text_w = max((line.get_width() for line in lines), default=0)
    width = text_w + stage.margin + side if lines else side
    panel = pygame.Surface((width, side), pygame.SRCALPHA)
    panel.blit(code, (width - side, 0))
    y = (side - sum(line.get_height() for line in lines)) // 2
    for line in lines:
        panel.blit(line, line.get_rect(topright=(text_w, y)))
        y += line.get_height()
    return QrPanel(panel, matrix, module, (width - side + QUIET * module, QUIET * module))
