"""Themes: colours, fonts, sizes and celebration style, read from TOML into typed dataclasses.

A theme is named in config as a built-in (``dark``, ``light``, ``high-contrast``, from the
``themes/`` folder) or as a path to a TOML file of the same shape. Sizes are fractions of the
screen height, so one theme fits 720p, 4K and portrait screens alike. ``contrast_warnings`` flags
text/background pairs under the WCAG 4.5:1 ratio for people reading from across the room.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from feeds.config.validate import ConfigError, Problem, Reader, did_you_mean, read_toml

RGB = tuple[int, int, int]
_HEX = re.compile(r"#[0-9a-fA-F]{6}")
MIN_TEXT = 1 / 36  # no text smaller than this fraction of the screen height (30 px at 1080p)
MIN_CONTRAST = 4.5


def _colour(value: str) -> str | None:
    return None if _HEX.fullmatch(value) else f'must be a colour like "#1a2b3c", not "{value}"'


def _text_size(value: float) -> str | None:
    return None if value >= MIN_TEXT else f"must be at least 1/36 of the screen height ({MIN_TEXT:.4f}) to read from 5 m"


C = {"check": _colour}
T = {"check": _text_size, "max": 0.5}


def rgb(hex_colour: str) -> RGB:
    return int(hex_colour[1:3], 16), int(hex_colour[3:5], 16), int(hex_colour[5:7], 16)


@dataclass(frozen=True)
class Colours:
    background: str = field(default="#0d1424", metadata=C)
    background_end: str = field(default="#1a2540", metadata=C)
    surface: str = field(default="#18223a", metadata=C)
    highlight: str = field(default="#2a3a60", metadata=C)
    text: str = field(default="#f5f7fb", metadata=C)
    muted: str = field(default="#b3bdd4", metadata=C)
    accent: str = field(default="#ffc940", metadata=C)
    up: str = field(default="#43e08c", metadata=C)
    down: str = field(default="#ff7a7a", metadata=C)
    stale: str = field(default="#ffb020", metadata=C)
    banner: str = field(default="#202c4c", metadata=C)


@dataclass(frozen=True)
class Fonts:
    """Font families, in order of preference; the first that has every letter of a text wins."""

    text: tuple[str, ...] = ("Noto Sans", "DejaVu Sans")
    numbers: tuple[str, ...] = ("Noto Sans", "DejaVu Sans")


@dataclass(frozen=True)
class Sizes:
    """Fractions of the screen height."""

    header: float = field(default=0.05, metadata=T)
    row: float = field(default=0.042, metadata=T)
    rank: float = field(default=0.05, metadata=T)
    value: float = field(default=0.055, metadata=T)
    small: float = field(default=0.03, metadata=T)
    banner_title: float = field(default=0.08, metadata=T)
    hero: float = field(default=0.2, metadata=T)


@dataclass(frozen=True)
class Background:
    style: Literal["color", "gradient", "image"] = "gradient"
    image: str = ""


@dataclass(frozen=True)
class Celebration:
    style: Literal["confetti", "glow", "none"] = "confetti"
    sound: str = ""


@dataclass(frozen=True)
class Theme:
    name: str = "Dark"
    colours: Colours = field(default_factory=Colours)
    fonts: Fonts = field(default_factory=Fonts)
    sizes: Sizes = field(default_factory=Sizes)
    background: Background = field(default_factory=Background)
    celebration: Celebration = field(default_factory=Celebration)

    def colour(self, name: str) -> RGB:
        return rgb(getattr(self.colours, name))

    def check(self, reader: Reader, key: str) -> None:
        if self.background.style == "image" and not self.background.image:
            reader.problem("background.image", 'missing (required when style = "image")')


def themes_dir() -> Path:
    """The built-in themes: inside the wheel when installed, at the repository top when editable."""
    here = Path(__file__).resolve().parent
    inside = here / "bundled_themes"
    return inside if inside.is_dir() else here.parent / "themes"


def builtin_names() -> list[str]:
    return sorted(p.stem for p in themes_dir().glob("*.toml"))


def theme_path(name: str, base_dir: Path) -> Path:
    """Where the theme ``name`` is read from: a built-in's file, or a path relative to the config's folder."""
    if "/" in name or name.endswith(".toml"):
        return base_dir / name if not Path(name).is_absolute() else Path(name)
    return themes_dir() / f"{name}.toml"


def load_theme(name: str, base_dir: Path, config_label: str = "config.toml") -> Theme:
    """A built-in theme by name, or a theme file by path (relative to the config's folder)."""
    looks_like_path = "/" in name or name.endswith(".toml")
    path = theme_path(name, base_dir)
    if not path.is_file():
        if looks_like_path:
            raise ConfigError([Problem(str(path), "", "no such theme file")])
        names = builtin_names()
        raise ConfigError([Problem(config_label, "display.theme", f'no built-in theme "{name}"'
                                   f"{did_you_mean(name, names)}; built-in: {', '.join(names)}")])
    reader = Reader(str(path))
    theme = reader.load(Theme, read_toml(path))
    reader.raise_if_any()
    assert theme is not None
    for attr, owner in (("image", theme.background), ("sound", theme.celebration)):
        value = getattr(owner, attr)
        if value and not Path(value).is_absolute():  # relative to the theme file
            owner = dataclasses.replace(owner, **{attr: str(path.parent / value)})
            theme = dataclasses.replace(theme, **{"background" if attr == "image" else "celebration": owner})
    return theme


def luminance(colour: RGB) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in colour)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: RGB, b: RGB) -> float:
    """The WCAG contrast ratio of two colours, 1 to 21."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def contrast_warnings(theme: Theme, label: str) -> list[str]:
    """Text/background pairs below 4.5:1, each named."""
    pairs = [("text", "background"), ("text", "background_end"), ("text", "surface"), ("muted", "surface"),
             ("muted", "background"), ("accent", "surface"), ("up", "surface"), ("down", "surface"),
             ("text", "highlight"), ("text", "banner"), ("stale", "background")]
    out = []
    for fg, bg in pairs:
        ratio = contrast(theme.colour(fg), theme.colour(bg))
        if ratio < MIN_CONTRAST:
            out.append(f"{label}: colours.{fg} on colours.{bg} has contrast {ratio:.2f}:1, "
                       f"below {MIN_CONTRAST}:1 — hard to read from across the room")
    return out
