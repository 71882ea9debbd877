"""Scene previews for the team page: each scene drawn as the wall would, from its last saved board.

The admin's previews page (``/admin/preview/<scene>.png``) shows what the wall shows without
polling the feed again (a vendor API counts every request: Zendesk allows 10 a minute): the board
comes from the ``last_snapshot`` the running wall keeps in the state file (read only), and is drawn
with the code ``chalkwall shot`` uses (:func:`display.shot.build_wall`), its challenges over a
throwaway ledger — but redacted with the people's own privacy choices and the team page's role
models from the real state file, as the running wall redacts it, so a preview never shows what
the wall would not. pygame is not thread-safe, so every drawing happens on one worker thread,
under a lock; the pictures are kept for :data:`CACHE_SECONDS`, and drawn again at once when
someone's choice changed.

Each drawing keeps, page by page (a long board pages through its rows), the strings it drew, so a
page can ask which scenes show a person: :meth:`Previews.appearances` finds the name the wall
shows an agent by (an alias, initials; nobody hidden) on the scenes of the rotation — the Me
page's "what the wall shows about me".

The composition root (``display/cli.py``) injects :meth:`Previews.png`, :meth:`Previews.check`,
:meth:`Previews.appearances` and :meth:`Previews.page_png` into the team page; ``feeds/web``
itself never imports pygame.
"""

from __future__ import annotations

import io
import logging
import re
import sqlite3
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import pygame

from display.clock import FakeClock
from display.shot import Preview, build_wall, render
from feeds.board.build import Board
from feeds.config.schema import SCENES, LoadedConfig, load_config
from feeds.config.validate import ConfigError, Problem
from feeds.connectors.parse import parse_document
from feeds.db import DB_NAME, feed_state_dir, saved_board_json
from feeds.logs import LOGGER
from feeds.model import FeedError, Snapshot
from feeds.privacy.view import SOMEONE

log = logging.getLogger(LOGGER + ".preview")
CACHE_SECONDS = 30.0
MAX_PAGES = 12  # pages drawn of a scene that pages through a long board (a floor of hundreds)
PREVIEW_SCENES = (*SCENES, "celebration")
DEFAULT_SIZE = (1920, 1080)
RENDER_LOCK = threading.Lock()  # pygame draws in one thread at a time, whoever asks


@dataclass(frozen=True)
class Page:
    """One page of a scene as drawn: the PNG, the header's subtitle, and every string drawn."""

    png: bytes
    title: str
    texts: tuple[str, ...]

    def shows(self, text: str) -> bool:
        """Whether ``text`` (a name, an alias) was drawn here, whole or as words within a longer
        string ("Åsa Ödegård completed …"), never as part of a longer word ("Jo Li" in "Jo Lind")."""
        pattern = re.compile(rf"(?<!\w){re.escape(text.casefold())}(?!\w)")
        return bool(text) and any(pattern.search(drawn.casefold()) for drawn in self.texts)


@dataclass(frozen=True)
class Rendered:
    """One scene as drawn, each of its pages (a long board pages through its rows), with what
    the wall would make of it: whether the rotation shows it now (``on_wall``: in the playlist, let
    on screen by the privacy profile, with something to show), and the name the wall may show each
    person by (``names``: agent id to name, alias or initials; nobody it may not name)."""

    scene: str
    size: tuple[int, int]
    pages: tuple[Page, ...]
    shown: str  # the scene actually on screen: another when the profile does not allow this one
    on_wall: bool = True
    names: Mapping[str, str] = field(default_factory=dict)

    @property
    def png(self) -> bytes:
        return self.pages[0].png

    @property
    def texts(self) -> tuple[str, ...]:
        return tuple(text for page in self.pages for text in page.texts)

    def shows(self, text: str) -> bool:
        """Whether ``text`` was drawn on any page of this scene."""
        return any(page.shows(text) for page in self.pages)


class Seen(NamedTuple):
    """A page of a scene on which the wall shows a person now (a plain tuple for the web page)."""

    scene: str
    page: int  # from 0
    title: str  # the header's subtitle on that page ("Wins and thanks", "Ranked by … · page 2 of 3")


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


def people_stamp(directory: Path) -> tuple[object, ...]:
    """What the wall's redaction reads from the team page now (each person's privacy choice, the
    role models and watchers it marks), read only: a picture drawn under other choices is drawn again."""
    path = directory / DB_NAME
    if not path.exists():
        return ()
    stamp: list[object] = []
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error:
        return ()
    try:
        for query in ("SELECT agent, ranking, alias FROM privacy_choices ORDER BY agent",
                      "SELECT id, role FROM people WHERE role IN ('role_model', 'watcher') ORDER BY id"):
            try:
                stamp.append(tuple(db.execute(query).fetchall()))
            except sqlite3.Error:  # no such table yet: nobody has chosen
                stamp.append(())
    finally:
        db.close()
    return tuple(stamp)


def shown_names(view: Board | None) -> dict[str, str]:
    """Each person the wall may name, by the name it shows them by (an alias, initials); "Someone
    on Night shift" names nobody."""
    if view is None:
        return {}
    source = getattr(view, "source", None) or view
    out = {}
    for row in (*source.agents, *source.role_models):
        found = view.find(row.agent.id)
        if found is not None and found.agent.name != SOMEONE and not found.agent.name.startswith(f"{SOMEONE} on "):
            out[row.agent.id] = found.agent.name
    return out


def _pages(preview: Preview, scene: str) -> list[Page]:
    """``scene`` drawn page by page (most scenes have one; a long board pages through its rows as
    time passes), each saved as a PNG with the strings drawn on it."""
    wall = preview.wall
    fonts = wall.stage.fonts
    fonts.drawn = []
    try:
        surface = render(preview, scene)
        count = 1 if scene == "celebration" else min(MAX_PAGES, int(getattr(wall.scene, "pages", lambda: 1)()))
        step = float(getattr(wall.scene, "page_seconds", lambda: 0.0)())
        pages = []
        for n in range(count):
            if n:
                preview.clock.advance(step * (1.5 if n == 1 else 1.0))  # to the middle of the next page
                fonts.drawn = []
                wall.draw(surface)
            out = io.BytesIO()
            pygame.image.save(surface, out, "preview.png")
            title = "A celebration" if scene == "celebration" else wall.scene.subtitle()
            pages.append(Page(out.getvalue(), title, tuple(fonts.drawn)))
    finally:
        fonts.drawn = None
    return pages


def render_scenes(loaded: LoadedConfig, scenes: Sequence[str], snapshot: Snapshot,
                  size: tuple[int, int] | None = None, people: Path | None = None) -> dict[str, Rendered]:
    """Each of ``scenes`` drawn from ``snapshot`` as ``chalkwall shot`` would, at the wall's size, by
    one wall redacted as the running wall is (``people``: the state directory whose privacy
    choices and role models it reads)."""
    size = size or loaded.config.display.resolution or DEFAULT_SIZE
    rotation = {entry.name for entry in loaded.config.display.scenes}
    out = {}
    with RENDER_LOCK:
        preview = build_wall(loaded, size, clock=FakeClock(wall=time.time()), adapter=SavedBoard(snapshot),
                             people=people)
        try:
            names = shown_names(preview.wall.view)
            for scene in sorted(scenes, key=lambda name: name == "celebration"):  # a banner last: it stays up
                pages = _pages(preview, scene)
                shown = preview.wall.scene.name if scene != "celebration" else scene
                on_wall = scene in rotation and shown == scene and preview.wall.scene.has_content()
                out[scene] = Rendered(scene, size, tuple(pages), shown, on_wall, names)
        finally:
            preview.close()
    return out


def render_scene(loaded: LoadedConfig, scene: str, snapshot: Snapshot, size: tuple[int, int] | None = None,
                 people: Path | None = None) -> Rendered:
    """One scene drawn as :func:`render_scenes` draws it."""
    return render_scenes(loaded, [scene], snapshot, size, people)[scene]


def config_findings(loaded: LoadedConfig) -> tuple[list[Problem], list[Problem]]:
    """What ``chalkwall check`` says of the config file as it is on disk now: its problems (file,
    key, message with any "did you mean") and its warnings."""
    from display.check import check_warnings, theme_problems

    cli_path = str(loaded.path) if loaded.path is not None else None
    try:
        now = load_config(cli_path)
    except ConfigError as exc:
        return [*exc.problems, *theme_problems(cli_path)], []
    try:
        _, warnings = check_warnings(now)
    except ConfigError as exc:
        return list(exc.problems), []
    return [], [Problem(now.label, "", w) for w in warnings]


class Previews:
    """Scene previews (and the config check, which measures fonts) on one worker thread: every
    scene drawn together from one wall, kept :data:`CACHE_SECONDS` and while the people's choices
    stay as they were (a choice just saved on the Me page shows at once)."""

    def __init__(self, loaded: LoadedConfig, size: tuple[int, int] | None = None) -> None:
        self.loaded = loaded
        self.size = size
        self.scenes = PREVIEW_SCENES
        self.directory = feed_state_dir(loaded.config.state.dir, loaded.config.feed.type)
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="chalkwall-preview")
        self._cache: tuple[float, tuple[object, ...], dict[str, Rendered]] | None = None
        self._cache_lock = threading.Lock()
        self._refreshing: Future[dict[str, Rendered] | None] | None = None

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

    def _kept(self, stamp: tuple[object, ...]) -> dict[str, Rendered] | None:
        with self._cache_lock:
            kept = self._cache
        if kept is not None and kept[1] == stamp and time.monotonic() - kept[0] < CACHE_SECONDS:
            return kept[2]
        return None

    def _draw(self, stamp: tuple[object, ...]) -> dict[str, Rendered] | None:
        kept = self._kept(stamp)
        if kept is not None:
            return kept  # drawn while this one waited its turn
        snapshot = saved_board(self.directory)
        if snapshot is None:  # no board yet: asked again next time, it is cheap to find out
            return None
        drawn = render_scenes(self._current_config(), self.scenes, snapshot, self.size, people=self.directory)
        with self._cache_lock:
            self._cache = (time.monotonic(), stamp, drawn)
        return drawn

    def render_all(self, timeout: float = 120.0) -> dict[str, Rendered] | None:
        """Every scene drawn (at most :data:`CACHE_SECONDS` old, under the choices in force now);
        None when the wall has saved no board."""
        stamp = people_stamp(self.directory)
        kept = self._kept(stamp)
        if kept is not None:
            return kept
        with self._cache_lock:
            old = self._cache
            if old is not None and old[1] == stamp:  # only older than CACHE_SECONDS: redraw behind it
                if self._refreshing is None or self._refreshing.done():
                    self._refreshing = self._worker.submit(self._draw, stamp)
                return old[2]
        # Nothing drawn yet, or someone's privacy choice changed since: a picture under the old
        # choices could show a person who has just asked not to be shown, so this one waits.
        return self._worker.submit(self._draw, stamp).result(timeout)

    def render(self, scene: str, timeout: float = 120.0) -> Rendered | None:
        """``scene`` drawn (see :meth:`render_all`); None when the wall has saved no board."""
        if scene not in self.scenes:
            raise ValueError(f"no scene {scene!r}")
        drawn = self.render_all(timeout)
        return None if drawn is None else drawn.get(scene)

    def png(self, scene: str) -> bytes | None:
        drawn = self.render(scene)
        return None if drawn is None else drawn.png

    def scenes_showing(self, text: str) -> list[str]:
        """The scenes on which ``text`` (a person's name or alias as the wall shows it) is drawn now."""
        drawn = self.render_all() or {}
        return [scene for scene, r in drawn.items() if scene != "celebration" and r.shown == scene and r.shows(text)]

    def appearances(self, person: str) -> tuple[str | None, list[Seen]] | None:
        """Where the wall shows ``person`` (an agent id) now: the name it shows them by (None when
        it may name them nowhere: hidden, not on the board, or only "Someone" in ``teams``) and
        each page of a scene in the rotation on which that name is drawn; None when the wall has
        saved no board yet. The name is looked up as the redaction makes it (an alias, initials),
        then found among the strings drawn."""
        drawn = self.render_all()
        if not drawn:
            return None
        name = next(iter(drawn.values())).names.get(person)
        if name is None:
            return None, []
        return name, [Seen(scene, n, page.title) for scene, r in drawn.items() if r.on_wall and scene != "celebration"
                      for n, page in enumerate(r.pages) if page.shows(name)]

    def page_png(self, scene: str, page: int) -> bytes | None:
        """One page of a scene (from 0), as :meth:`render_all` drew it; None when there is none."""
        drawn = self.render(scene)
        if drawn is None or not 0 <= page < len(drawn.pages):
            return None
        return drawn.pages[page].png

    def check(self) -> tuple[list[Problem], list[Problem]]:
        return self._worker.submit(config_findings, self.loaded).result(60.0)
