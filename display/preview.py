"""Scene previews for the team page: each scene drawn as the wall would, from its last saved board.

The admin's previews page (``/admin/preview/<scene>.png``) shows what the wall shows without
polling the feed again (a vendor API counts every request: Zendesk allows 10 a minute): the board
comes from the ``last_snapshot`` the running wall keeps in the state file (read only), and is drawn
with the code ``chalkwall shot`` uses (:func:`display.shot.build_wall`), its challenges over a
throwaway ledger. pygame is not thread-safe, so every drawing happens on one worker thread, under a
lock; each picture is kept for :data:`CACHE_SECONDS`.

Each drawing also keeps the strings it drew (:attr:`Rendered.texts`), so a page can ask which
scenes show a person: ``Previews.scenes_showing("Åsa Ödegård")``.

The composition root (``display/cli.py``) injects :meth:`Previews.png` and :meth:`Previews.check`
into the team page; ``feeds/web`` itself never imports pygame.
"""

from __future__ import annotations

import io
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pygame

from display.clock import FakeClock
from display.shot import build_wall, render
from feeds.config.schema import SCENES, LoadedConfig, load_config
from feeds.config.validate import ConfigError, Problem
from feeds.connectors.parse import parse_document
from feeds.db import feed_state_dir, saved_board_json
from feeds.logs import LOGGER
from feeds.model import FeedError, Snapshot

log = logging.getLogger(LOGGER + ".preview")
CACHE_SECONDS = 30.0
PREVIEW_SCENES = (*SCENES, "celebration")
DEFAULT_SIZE = (1920, 1080)
RENDER_LOCK = threading.Lock()  # pygame draws in one thread at a time, whoever asks


@dataclass(frozen=True)
class Rendered:
    """One scene as drawn: the PNG, its size, and every string drawn on it (in drawing order)."""

    scene: str
    png: bytes
    size: tuple[int, int]
    texts: tuple[str, ...]

    def shows(self, text: str) -> bool:
        """Whether ``text`` (a name, an alias) was drawn on this scene, whole or within a longer string."""
        folded = text.casefold()
        return any(folded in drawn.casefold() for drawn in self.texts)


class SavedBoard:
    """An adapter that answers every poll with the board the wall saved: no network at all."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot

    def poll(self) -> Snapshot | None:
        return self.snapshot

    def close(self) -> None:
        pass


def saved_board(directory: Path) -> Snapshot | None:
    """The last board the wall saved in ``directory``'s state file, read only; None when there is none."""
    text = saved_board_json(directory)
    if text is None:
        return None
    body = text.encode("utf-8")
    try:
        return parse_document(body, len(body) + 1)
    except FeedError as exc:
        log.warning("cannot read the wall's last board for a preview: %s", exc)
        return None


def render_scene(loaded: LoadedConfig, scene: str, snapshot: Snapshot,
                 size: tuple[int, int] | None = None) -> Rendered:
    """``scene`` drawn from ``snapshot`` as ``chalkwall shot`` would, at the wall's size."""
    size = size or loaded.config.display.resolution or DEFAULT_SIZE
    with RENDER_LOCK:
        preview = build_wall(loaded, size, clock=FakeClock(wall=time.time()), adapter=SavedBoard(snapshot))
        try:
            fonts = preview.wall.stage.fonts
            fonts.drawn = []
            surface = render(preview, scene)
            texts = tuple(fonts.drawn)
            fonts.drawn = None
            out = io.BytesIO()
            pygame.image.save(surface, out, "preview.png")
        finally:
            close = getattr(preview.coordinator.on_snapshot, "close", None)
            if close is not None:  # the engine's ledger and history, on the throwaway state
                close()
            if preview.scratch is not None:
                preview.scratch.cleanup()
    return Rendered(scene, out.getvalue(), size, texts)


def config_findings(loaded: LoadedConfig) -> tuple[list[Problem], list[Problem]]:
    """What ``chalkwall check`` says of the config file as it is on disk now: its problems (file,
    key, message with any "did you mean") and its warnings."""
    from display.cli import _theme_problems, check_warnings

    cli_path = str(loaded.path) if loaded.path is not None else None
    try:
        now = load_config(cli_path)
    except ConfigError as exc:
        return [*exc.problems, *_theme_problems(cli_path)], []
    try:
        _, warnings = check_warnings(now)
    except ConfigError as exc:
        return list(exc.problems), []
    return [], [Problem(now.label, "", w) for w in warnings]


class Previews:
    """Scene previews (and the config check, which measures fonts) on one worker thread."""

    def __init__(self, loaded: LoadedConfig, size: tuple[int, int] | None = None) -> None:
        self.loaded = loaded
        self.size = size
        self.scenes = PREVIEW_SCENES
        self.directory = feed_state_dir(loaded.config.state.dir, loaded.config.feed.type)
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chalkwall-preview")
        self._cache: dict[str, tuple[float, Rendered]] = {}
        self._cache_lock = threading.Lock()

    def close(self) -> None:
        self._worker.shutdown(wait=False, cancel_futures=True)

    def _current_config(self) -> LoadedConfig:
        """The config as the wall would have reloaded it: the file now, else the one started with."""
        if self.loaded.path is None:
            return self.loaded
        try:
            return load_config(str(self.loaded.path))
        except ConfigError:  # the wall keeps its last good config too
            return self.loaded

    def _draw(self, scene: str) -> Rendered | None:
        with self._cache_lock:
            kept = self._cache.get(scene)
        if kept is not None and time.monotonic() - kept[0] < CACHE_SECONDS:
            return kept[1]  # drawn while this one waited its turn
        snapshot = saved_board(self.directory)
        drawn = None if snapshot is None else render_scene(self._current_config(), scene, snapshot, self.size)
        if drawn is not None:  # no board yet: asked again next time, it is cheap to find out
            with self._cache_lock:
                self._cache[scene] = (time.monotonic(), drawn)
        return drawn

    def render(self, scene: str, timeout: float = 60.0) -> Rendered | None:
        """``scene`` drawn (at most :data:`CACHE_SECONDS` old); None when the wall has saved no board."""
        if scene not in self.scenes:
            raise ValueError(f"no scene {scene!r}")
        with self._cache_lock:
            kept = self._cache.get(scene)
        if kept is not None and time.monotonic() - kept[0] < CACHE_SECONDS:
            return kept[1]
        return self._worker.submit(self._draw, scene).result(timeout)

    def png(self, scene: str) -> bytes | None:
        drawn = self.render(scene)
        return None if drawn is None else drawn.png

    def scenes_showing(self, text: str) -> list[str]:
        """The scenes on which ``text`` (a person's name or alias as the wall shows it) is drawn now."""
        return [scene for scene in self.scenes if scene != "celebration"
                and (drawn := self.render(scene)) is not None and drawn.shows(text)]

    def check(self) -> tuple[list[Problem], list[Problem]]:
        return self._worker.submit(config_findings, self.loaded).result(60.0)
