"""``chalkwall run``: the wall itself, fullscreen, from boot, for months.

The loop never waits on the network: it reads the coordinator's latest state and event queue,
lets the wall decide whether a frame is needed, and otherwise sleeps until the next thing that can
change the picture (a poll, a page turn, the clock's minute); the polling thread wakes it early.
While something moves it paces itself to ``max_fps``. SIGTERM from systemd ends it cleanly.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from datetime import datetime, timezone
from collections import deque
from dataclasses import dataclass, field

import pygame

from display import burnin
from display.clock import SystemClock
from display.health import Notifier, StatusFile, status_path
from display.schedule import ScreenSchedule
from display.shot import make_stage
from display.sound import Chime
from display.wall import Wall
from feeds.config import LoadedConfig
from feeds.coordinator import FeedState
from feeds.live import open_live_feed
from feeds.logs import LOGGER
from feeds.model import FeedError

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


def canvas_for(screen: pygame.Surface) -> tuple[int, int]:
    """The size the wall draws at: the screen less the margin its burn-in drift moves within."""
    return screen.get_width() - 2 * burnin.MAX, screen.get_height() - 2 * burnin.MAX


def feed_fields(state: FeedState) -> dict[str, object]:
    """What the status file says about the feed."""
    return {"last_success": state.last_success, "stale": state.stale, "last_error": state.last_error}


def run(loaded: LoadedConfig, windowed: bool = False, size: tuple[int, int] | None = None) -> int:
    cfg = loaded.config
    try:
        screen = open_screen(windowed, size or cfg.display.resolution)
    except pygame.error as exc:
        print(f"chalkwall: no display available ({exc}); {NO_DISPLAY_HINT}", file=sys.stderr)
        return 1
    clock = SystemClock()
    # The wall is drawn on a canvas a few pixels smaller than the screen, which drifts (burn-in care).
    canvas_size = canvas_for(screen)
    stage = make_stage(loaded, canvas_size, clock)
    chime = Chime(stage.theme.celebration.sound)
    wall = Wall(stage, chime.play)
    # The loop sleeps on this, not in pygame.event.wait(timeout), which polls (≈2 % of a core idle).
    wake = threading.Event()
    try:
        live = open_live_feed(loaded, on_update=wake.set)
    except FeedError as exc:
        print(f"chalkwall: feed failed: {exc}", file=sys.stderr)
        pygame.quit()
        return 1
    coordinator = live.coordinator
    stop = False
    status_failed = False

    def on_term(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True
        wake.set()

    signal.signal(signal.SIGTERM, on_term)
    live.start()
    pacer = pygame.time.Clock()
    stats = FrameStats()
    look_for_input = 0.25 if windowed else 1.0  # how often window events are read while asleep
    notifier = Notifier()
    backdrop = make_stage(loaded, screen.get_size(), clock).background()  # fills the edges the canvas leaves
    drifted: tuple[int, int] | None = None
    canvas = screen
    schedule = ScreenSchedule(cfg.schedule, cfg.periods.zone)
    screen_on: bool | None = None
    status = StatusFile(status_path(cfg.state.dir), started=clock.now())
    frames_at_status = 0
    ready = False
    log.info("chalkwall running at %dx%d (%s)", *screen.get_size(), "windowed" if windowed else "fullscreen")
    try:
        while not stop:
            for event in pygame.event.get():
                if event.type == pygame.QUIT:
                    stop = True
                elif event.type == pygame.KEYDOWN and windowed and event.key in (pygame.K_ESCAPE, pygame.K_q):
                    stop = True
                elif event.type in (pygame.WINDOWSIZECHANGED, pygame.VIDEORESIZE) and canvas_for(screen) != wall.stage.size:
                    canvas_size = canvas_for(screen)
                    wall = _resized(wall, loaded, canvas_size, clock, chime)
                    backdrop = make_stage(loaded, screen.get_size(), clock).background()
                    drifted = None
            wall.update(coordinator.state(), coordinator.drain_events())
            on = schedule.is_on(datetime.now(timezone.utc))
            if on != screen_on:
                if screen_on is not None or not on:  # switching, or starting outside office hours
                    log.info("screen %s (office hours)", "on" if on else "off")
                    threading.Thread(target=schedule.run, args=(on,), daemon=True).start()  # a TV may be slow
                screen_on = on
                if not on:
                    screen.fill((0, 0, 0))
                    pygame.display.flip()
                else:
                    drifted = None  # lay the backdrop's edges again: the dark screen erased them
            if not on:  # dark: no frames at all, only the watchdog and the status file
                notifier.alive(clock.now())
                if status.due(clock.now()):
                    status.write(clock.now(), {"screen": "off", "scene": None, "fps": 0.0, "frame_p95_ms": 0.0,
                                               **feed_fields(coordinator.state())})
                wake.wait(look_for_input)
                wake.clear()
                continue
            offset = burnin.drift(clock.wall())
            if offset != drifted:  # a one-pixel step: lay the backdrop and draw the whole picture there
                drifted = offset
                screen.blit(backdrop, (0, 0))
                canvas = screen.subsurface(pygame.Rect((burnin.MAX + offset[0], burnin.MAX + offset[1]), canvas_size))
                wall.invalidate()
            started = clock.now()
            rects = [r.move(canvas.get_offset()) for r in wall.frame(canvas)]
            if rects:
                if rects[0].size == canvas_size and len(rects) == 1:
                    rects = [screen.get_rect()]  # a whole frame: the backdrop's edges too
                pygame.display.update(rects)
                stats.add(clock.now() - started)
                if not ready:  # the first frame is on screen: now systemd may call us started
                    notifier.ready(f"showing {wall.scene.name}")
                    ready = True
            now = clock.now()
            notifier.alive(now)  # only this loop pings: if it hangs, systemd restarts chalkwall
            if status.due(now):
                fps = (stats.frames - frames_at_status) / max(0.001, now - status.written) if status.written > 0 else 0.0
                frames_at_status = stats.frames
                if not status.write(now, {"screen": "on", "fps": round(fps, 2), "frame_p95_ms": round(stats.p95_ms(), 2),
                                          "scene": wall.scene.name, **feed_fields(coordinator.state()),
                                          "caches": {"text": wall.stage.fonts.cache_len(), **coordinator.sizes()}}) \
                        and not status_failed:
                    log.error("cannot write the status file %s (a full disk, a read-only directory?); "
                              "the wall keeps running", status.path)
                    status_failed = True
            if wall.animating():
                pacer.tick(cfg.display.max_fps)
            else:
                wake.wait(min(look_for_input, max(0.001, wall.next_wake() - clock.now())))
                wake.clear()
    finally:
        notifier.stopping()
        live.stop()
        pygame.quit()
    log.info("chalkwall stopped after %d frames (p95 %.1f ms)", stats.frames, stats.p95_ms())
    return 0


def _resized(wall: Wall, loaded: LoadedConfig, size: tuple[int, int], clock: SystemClock, chime: Chime) -> Wall:
    """A new wall for the new size, carrying over the board and pending celebrations."""
    fresh = Wall(make_stage(loaded, size, clock), chime.play)
    fresh.celebrations.queue = wall.celebrations.queue
    fresh.update(wall.state, [])
    if wall.view is not None and fresh.view is None:
        fresh.view = wall.view
    return fresh
