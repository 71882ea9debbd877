"""``chalkwall run``: the wall itself, fullscreen, from boot, for months.

The loop never waits on the network: it reads the coordinator's latest state and event queue,
lets the wall decide whether a frame is needed, and otherwise sleeps until the next thing that can
change the picture (a poll, a page turn, the clock's minute); the polling thread wakes it early.
While something moves it paces itself to ``max_fps``. SIGTERM from systemd ends it cleanly.
Edits to the config or theme are applied between frames (see :mod:`feeds.config.reload`): the wall is
rebuilt around the same board and celebrations, and the feed restarted only when its part changed.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from pathlib import Path
from datetime import datetime, timezone
from collections import deque
from dataclasses import dataclass, field

import pygame

from display.celebrate import Celebration
from display.clock import Clock, SystemClock
from display.present import Presenter, canvas_for
from display.health import Notifier, StatusFile, status_path
from display.schedule import ScreenSchedule
from display.shot import make_stage
from display.sound import Chime
from display.stage import Notice
from display.themes import Theme, load_theme, theme_path
from display.wall import Wall
from feeds.board.build import Board
from feeds.connectors.registry import make_adapter
from feeds.config.schema import LoadedConfig
from feeds.config.web import wall_qr_url
from feeds.config.lastgood import remember
from feeds.live.coordinator import FeedState
from feeds.live.gcpace import GcPacer
from feeds.db import feed_state_dir
from feeds.live.feed import open_live_feed
from feeds.privacy.view import hub_site_of, open_privacy, unlisted
from feeds.logs import LOGGER, log_event, setup_logging
from feeds.model import FeedError
from feeds.config.reload import ConfigWatcher, Reloaded, Rejected
from feeds.config.validate import ConfigError, Problem

log = logging.getLogger(f"{LOGGER}.display")
NO_DISPLAY_HINT = ("preview offscreen instead: chalkwall shot --scene leaderboard --out board.png")


@dataclass
class FrameStats:
    """Frame times of the last few hundred frames, for health reports and the log."""

    times: deque[float] = field(default_factory=lambda: deque(maxlen=600))
    frames: int = 0

    def add(self, seconds: float) -> None:
        self.times.append(seconds)
        self.frames += 1

    def p95_ms(self) -> float:
        if not self.times:
            return 0.0
        ordered = sorted(self.times)
        return ordered[int(0.95 * (len(ordered) - 1))] * 1000


def open_screen(windowed: bool, size: tuple[int, int] | None) -> pygame.Surface:
    """The window or the whole screen; pygame.error when there is no display at all."""
    driver = os.environ.get("SDL_VIDEODRIVER", "")
    if not windowed and not driver and not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ["SDL_VIDEODRIVER"] = driver = "kmsdrm"  # a Pi booted to a console: straight to the screen
    if driver in ("", "x11") and os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        # On X11, SDL's default "accelerated" window surface re-uploads the whole screen on every
        # update, whatever rectangles were asked for (about 11 ms a frame at 1080p here); the native
        # X11 framebuffer honours them. KMSDRM and Wayland have no native one, so only here.
        os.environ.setdefault("SDL_FRAMEBUFFER_ACCELERATION", "0")
    pygame.display.init()
    pygame.font.init()
    if windowed:
        screen = pygame.display.set_mode(size or (1280, 720), pygame.RESIZABLE)
    else:
        desktop = pygame.display.get_desktop_sizes()[0]
        screen = pygame.display.set_mode(size or desktop, pygame.FULLSCREEN)
    pygame.display.set_caption("chalkwall")
    pygame.mouse.set_visible(False)
    return screen


def feed_fields(state: FeedState, shown: Board | None) -> dict[str, object]:
    """What the status file says about the feed and the board. The leader is named as the wall
    shows them (``shown``, the privacy profile's view): an alias in ``anonymous``, nobody in
    ``teams``, never someone hidden (``chalkwall status`` may be read by anyone with a shell)."""
    board = state.board
    leader = shown.agents[0].agent.name if shown is not None and shown.agents else None
    return {"last_success": state.last_success, "stale": state.stale, "last_error": state.last_error,
            "data_problems": [str(problem) for problem in state.problems], "source_notes": list(state.notes),
            "board": None if board is None else {"agents": len(board.agents), "leader": leader,
                                                  "generation": state.generation}}


# Sections of the config that the feed, the points engine or the state directory read: a change to
# any of them restarts the live feed (around the same board). The rest only rebuild the picture.
FEED_SECTIONS = frozenset({"feed", "board", "periods", "points", "levels", "challenges", "state"})
RELOADED_NOTICE_SECONDS = 8.0



def run(loaded: LoadedConfig, windowed: bool = False, size: tuple[int, int] | None = None,
        log_choice: tuple[str | None, str | None] = (None, None), rejected: ConfigError | None = None) -> int:
    """Show the wall until SIGTERM (or Esc/q in a window); the exit code. ``rejected``: the
    config file's problems, when ``loaded`` is the last good copy standing in for it."""
    try:
        screen = open_screen(windowed, size or loaded.config.display.resolution)
    except pygame.error as exc:
        print(f"chalkwall: no display available ({exc}); {NO_DISPLAY_HINT}", file=sys.stderr)
        return 1
    try:
        kiosk = Kiosk(loaded, screen, windowed, log_choice, rejected)
    except FeedError as exc:
        print(f"chalkwall: feed failed: {exc}", file=sys.stderr)
        pygame.quit()
        return 1
    return kiosk.run()


def build_theme(loaded: LoadedConfig) -> Theme:
    """A reloaded config's theme, after checking that its feed can be made (its secret read):
    everything that can reject an edit is found before any of it is applied."""
    theme = load_theme(loaded.config.display.theme, loaded.base_dir, loaded.label)
    try:
        make_adapter(loaded.config.feed, loaded.base_dir).close()
    except FeedError as exc:
        raise ConfigError([Problem(loaded.label, "feed", str(exc))]) from None
    return theme


class Kiosk:
    """The running wall: screen, feed, schedule, health reports and hot reload, in one loop."""

    def __init__(self, loaded: LoadedConfig, screen: pygame.Surface, windowed: bool,
                 log_choice: tuple[str | None, str | None] = (None, None), rejected: ConfigError | None = None,
                 clock: Clock | None = None) -> None:
        self.loaded, self.screen, self.windowed, self.log_choice = loaded, screen, windowed, log_choice
        cfg = loaded.config
        self.clock = clock or SystemClock()
        problems = list(rejected.problems) if rejected else []
        try:
            self.theme = load_theme(cfg.display.theme, loaded.base_dir, loaded.label)
        except ConfigError as exc:  # a broken theme at boot: the built-in one until it is fixed
            log_event(log, logging.ERROR, "config_rejected", f"the theme is not valid, showing the built-in "
                      f"dark theme until it is fixed: {'; '.join(map(str, exc.problems))}",
                      problems=[{"file": p.file, "key": p.key, "message": p.message} for p in exc.problems])
            problems += exc.problems
            self.theme = load_theme("dark", loaded.base_dir)
        if not problems:
            remember(loaded)
        # The wall is drawn on a canvas a few pixels smaller than the screen, which drifts (burn-in care).
        self.canvas_size = canvas_for(screen)
        stage = make_stage(loaded, self.canvas_size, self.clock, self.theme)
        self.chime = Chime(stage.theme.celebration.sound)
        self.privacy = open_privacy(cfg.privacy, feed_state_dir(cfg.state.dir, cfg.feed.type), hub_site_of(cfg))
        self.wall = Wall(stage, self._on_banner, self.privacy)
        # The loop sleeps on this, not in pygame.event.wait(timeout), which polls (≈2 % of a core idle).
        self.wake = threading.Event()
        self.live = open_live_feed(loaded, on_update=self.wake.set)
        self.watcher = ConfigWatcher(loaded, self.theme, build_theme,
                                     lambda cfg: [theme_path(cfg.config.display.theme, cfg.base_dir)],
                                     on_change=self.wake.set)
        self.stop = False
        self.status_failed = False
        self.stats = FrameStats()
        self.look_for_input = 0.25 if windowed else 1.0  # how often window events are read while asleep
        self.notifier = Notifier()
        self.presenter = Presenter(screen, self._backdrop())
        self.schedule = ScreenSchedule(cfg.schedule, cfg.periods.zone)
        self.screen_on: bool | None = None
        self.status = StatusFile(status_path(cfg.state.dir), started=self.clock.now())
        self.frames_at_status = 0
        self.ready = False
        self.rejected: list[str] = []  # the problems of the last edit not applied, until one is
        self._swap: threading.Thread | None = None
        self._toast_shown: str | None = None  # the key of the toast last logged as on screen
        if problems:
            self._refuse(problems, "Config not valid — running the last good one" if rejected else "")

    def _on_banner(self, banner: Celebration) -> None:
        """A banner comes on screen: the theme's sound, and a record of what the floor was shown."""
        log_event(log, logging.INFO, "banner_shown", f"on screen: {banner.kicker}: {banner.title} — {banner.detail}",
                  key=banner.key, title=banner.title)
        self.chime.play(banner)

    def _backdrop(self) -> pygame.Surface:
        """What fills the edges the drifting canvas leaves."""
        return make_stage(self.loaded, self.screen.get_size(), self.clock, self.theme).background()

    def run(self) -> int:
        def on_term(signum: int, frame: object) -> None:
            self.stop = True
            self.wake.set()

        signal.signal(signal.SIGTERM, on_term)
        self.live.start()
        self.watcher.start()
        pacer = pygame.time.Clock()
        collector, taken = GcPacer(), None  # paced to the boards: a hub's screen decodes its whole board each second
        collector.start()
        log.info("chalkwall running at %dx%d (%s)", *self.screen.get_size(),
                 "windowed" if self.windowed else "fullscreen")
        try:
            while not self.stop:
                pause = self.step()
                if self.live.coordinator.state().generation != taken:
                    taken = self.live.coordinator.state().generation
                    collector.after_poll(full_ok=not self.wall.animating())  # a full collection: not mid-move
                if pause is None:
                    pacer.tick(self.wall.frame_rate(self.loaded.config.display.max_fps))
                else:
                    self._sleep(pause)
        finally:
            self.notifier.stopping()
            self.watcher.stop()
            if self._swap is not None:
                self._swap.join()
            self.live.stop()
            self.privacy.close()
            pygame.quit()
        log.info("chalkwall stopped after %d frames (p95 %.1f ms)", self.stats.frames, self.stats.p95_ms())
        return 0

    def step(self) -> float | None:
        """One turn of the loop: input, config edits, the schedule, the feed's news, a frame; how
        long to sleep before the next (None: something moves, pace to ``max_fps``)."""
        self._input()
        outcome = self.watcher.take()
        if outcome is not None:
            self._apply(outcome)
        on = self._power()  # before the news: a banner starts only on a screen that is on
        coordinator = self.live.coordinator
        self.wall.update(coordinator.state(), coordinator.drain_events())
        self._log_toast()
        if not on:  # dark: no frames at all, only the watchdog and the status file
            self._report(self.clock.now(), on=False)
            return self.look_for_input
        self._frame()
        self._report(self.clock.now(), on=True)
        if self.wall.animating():
            return None
        return min(self.look_for_input, max(0.001, self.wall.next_wake() - self.clock.now()))

    def _log_toast(self) -> None:
        """A record of each thank-you toast as it comes on screen: who thanked whom, not the words."""
        toasts = self.wall.celebrations.toasts
        item = toasts[0][1] if toasts else None
        if item is not None and item.key != self._toast_shown:
            log_event(log, logging.INFO, "toast_shown", f"on screen: {item.title}", key=item.key, title=item.title)
        self._toast_shown = item.key if item is not None else None

    def _sleep(self, seconds: float) -> None:
        self.wake.wait(seconds)
        self.wake.clear()

    def _input(self) -> None:
        for event in pygame.event.get():
            if event.type == pygame.QUIT:
                self.stop = True
            elif event.type == pygame.KEYDOWN and self.windowed and event.key in (pygame.K_ESCAPE, pygame.K_q):
                self.stop = True
            elif event.type in (pygame.WINDOWSIZECHANGED, pygame.VIDEORESIZE) \
                    and canvas_for(self.screen) != self.wall.stage.size:
                self.canvas_size = canvas_for(self.screen)
                self._rebuild()

    def _rebuild(self) -> None:
        """A new wall (a new size, config or theme) around the same board and celebrations."""
        fresh = Wall(make_stage(self.loaded, self.canvas_size, self.clock, self.theme), self._on_banner, self.privacy)
        fresh.adopt(self.wall)
        self.wall = fresh
        self.presenter = Presenter(self.screen, self._backdrop())

    def _power(self) -> bool:
        """Follow the office hours: the screen on or dark; whether it is on. While it is dark the
        celebrations are held, and the screen comes back with what the floor missed."""
        on = self.schedule.is_on(datetime.fromtimestamp(self.clock.wall(), timezone.utc))
        if on != self.screen_on:
            if self.screen_on is not None or not on:  # switching, or starting outside office hours
                log.info("screen %s (office hours)", "on" if on else "off")
                threading.Thread(target=self.schedule.run, args=(on,), daemon=True).start()  # a TV may be slow
            self.screen_on = on
            if not on:
                self.wall.celebrations.hold()
                self.screen.fill((0, 0, 0))
                pygame.display.flip()
            else:
                self.presenter.invalidate()  # lay the backdrop's edges again: the dark screen erased them
                self._welcome_back()
        return on

    def _welcome_back(self) -> None:
        hours = self.loaded.config.schedule.hold_banners_hours
        held, expired = self.wall.celebrations.welcome_back(hours * 3600)
        parts = ([f"{held} shown now as one \"while you were away\" banner"] if held else []) + \
                ([f"{expired} older than {hours:g} h dropped unseen"] if expired else [])
        if parts:
            log_event(log, logging.INFO, "banners_held", "celebrations came while the screen was off: " +
                      "; ".join(parts), held=held, expired=expired)

    def _frame(self) -> None:
        started = self.clock.now()
        if self.presenter.present(self.wall, self.clock.wall()):
            self.stats.add(self.clock.now() - started)
            if not self.ready:  # the first frame is on screen: now systemd may call us started
                self.notifier.ready(f"showing {self.wall.scene.name}")
                self.ready = True

    def _report(self, now: float, on: bool) -> None:
        """Ping the watchdog (only this loop does: if it hangs, systemd restarts chalkwall) and
        write the status file when it is due."""
        self.notifier.alive(now)
        if not self.status.due(now):
            return
        coordinator = self.live.coordinator
        fields: dict[str, object] = {"screen": "off", "scene": None, "fps": 0.0, "frame_p95_ms": 0.0,
                                     "held_banners": len(self.wall.celebrations.held)}
        if on:
            status = self.status
            fps = (self.stats.frames - self.frames_at_status) / max(0.001, now - status.written) if status.written else 0.0
            fields = {"screen": "on", "fps": round(fps, 2), "frame_p95_ms": round(self.stats.p95_ms(), 2),
                      "scene": self.wall.scene.name, "notices": self.wall.notices(),
                      "caches": {"text": self.wall.stage.fonts.cache_len(), **coordinator.sizes()}}
        self.frames_at_status = self.stats.frames
        view = self.wall.view
        if view is not None:  # what the profile let on screen (never who)
            fields["privacy"] = {"mode": self.loaded.config.privacy.mode, "listed": len(view.agents),
                                 "unlisted": unlisted(view)}
        fields |= {"config": {"file": self.loaded.label, "theme": self.theme.name, "rejected": self.rejected},
                   **feed_fields(coordinator.state(), view)}
        bus_status = getattr(coordinator.adapter, "bus_status", None)  # a hub's screen: its broker and board lag
        if callable(bus_status):
            fields["hub"] = bus_status()
        if not self.status.write(now, fields) and not self.status_failed:
            log.error("cannot write the status file %s (a full disk, a read-only directory?); "
                      "the wall keeps running", self.status.path)
            self.status_failed = True

    # --- hot reload ---------------------------------------------------------------------
    def _apply(self, outcome: Reloaded[Theme] | Rejected) -> None:
        self.status.soon()
        if isinstance(outcome, Rejected):
            self._refuse(list(outcome.problems))
            return
        old, new = self.loaded.config, outcome.loaded.config
        changed = set(outcome.changed)
        self.rejected = []
        remember(outcome.loaded)
        self.loaded, self.theme = outcome.loaded, outcome.extra
        if changed & FEED_SECTIONS or old.privacy.keep_days != new.privacy.keep_days:  # the engine trims
            self._restart_feed()
        if "log" in changed:
            fmt, level = self.log_choice  # the command line's choice wins over the file's
            setup_logging(fmt or new.log.format, level or new.log.level)
        if changed & {"schedule", "periods"}:
            self.schedule = ScreenSchedule(new.schedule, new.periods.zone)  # _power switches if need be
        if "state" in changed:
            self.status = StatusFile(status_path(new.state.dir), started=self.status.started, _soon=True)
            self.status_failed = False
        if new.display.resolution != old.display.resolution:
            log.warning("display.resolution takes effect when chalkwall next starts")
        if "theme" in changed:
            self.chime = Chime(self.theme.celebration.sound)
        if changed & {"privacy", "state", "feed"}:
            self.privacy.close()
            self.privacy = open_privacy(new.privacy, feed_state_dir(new.state.dir, new.feed.type), hub_site_of(new))
        if changed & {"display", "theme", "board", "privacy", "state", "feed"} or new.feed.avatars != old.feed.avatars \
                or wall_qr_url(new.web) != wall_qr_url(old.web):
            self._rebuild()
        until = self.clock.now() + RELOADED_NOTICE_SECONDS
        self.wall.set_notice(Notice((f"Config reloaded: {', '.join(outcome.changed) or 'no changes'}",),
                                    colour="up", until=until))

    def _refuse(self, problems: list[Problem], headline: str = "") -> None:
        """Say on screen (and in the status file) that the config on disk is not what runs."""
        self.rejected = [str(p) for p in problems]
        first = problems[0]
        more = f" · {len(problems) - 1} more in the log" if len(problems) > 1 else ""
        where = f"{Path(first.file).name}: {first.key + ': ' if first.key else ''}"
        self.wall.set_notice(Notice(((headline or "Config edit not applied") + more, where + first.message),
                                    colour="down"))

    def _restart_feed(self) -> None:
        """A new live feed for the new config, carrying on from the old one's board and events. The
        old one is stopped in the background (a poll in flight may take seconds) before the new one
        starts polling, so the two never write the ledger at once."""
        if self._swap is not None:
            self._swap.join()  # one restart at a time
        old = self.live
        try:
            fresh = open_live_feed(self.loaded, on_update=self.wake.set, after=old.coordinator)
        except FeedError as exc:  # its secret went missing since the edit was checked
            log.error("cannot restart the feed for the new config (%s); the old feed keeps running", exc)
            return
        self.live = fresh

        def swap() -> None:
            try:
                old.stop()
            except Exception:  # the old feed's troubles must not keep the new one from starting
                log.exception("stopping the old feed failed")
            fresh.coordinator.take_over(old.coordinator)  # whatever it published while stopping
            fresh.start()

        self._swap = threading.Thread(target=swap, name="chalkwall-feed-swap", daemon=True)
        self._swap.start()
