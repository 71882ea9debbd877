"""Hot reload: a running wall (and later the hub) follows edits to its config and theme files.

A small thread reads the watched files twice a second and compares their contents (so a ``touch``
is not an edit, and two edits within one mtime tick are not missed). A changed file is only read
once it has stood still for one look, so an editor that writes in two goes is not caught half-way.
It is then validated whole, by the same code as at start; the outcome waits in a slot for the main
loop, which applies it between frames. An invalid edit changes nothing: the old config keeps
running, and each broken version is reported once (``config_rejected``), not every look.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from feeds.config.schema import Config, LoadedConfig, load_config
from feeds.logs import LOGGER, log_event
from feeds.config.validate import ConfigError, Problem

log = logging.getLogger(f"{LOGGER}.reload")
T = TypeVar("T")
LOOK_SECONDS = 0.5  # a change is applied 0.5–1 s after the editor saves


@dataclass(frozen=True)
class Reloaded(Generic[T]):
    """A valid edit: the new config, what the caller built from it (the display: its theme), and
    the names of the config sections that changed (plus "theme")."""

    loaded: LoadedConfig
    extra: T
    changed: tuple[str, ...]


@dataclass(frozen=True)
class Rejected:
    """An invalid edit, with every problem found in it; the running config stays."""

    problems: tuple[Problem, ...]

    def lines(self) -> list[str]:
        return [str(p) for p in self.problems]


def changed_sections(old: Config, new: Config) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(Config) if getattr(old, f.name) != getattr(new, f.name))


def _fingerprint(path: Path) -> bytes | None:
    try:
        return hashlib.blake2b(path.read_bytes(), digest_size=16).digest()
    except OSError:  # missing (an editor's rename in progress), or unreadable: compared like content
        return None


class ConfigWatcher(Generic[T]):
    """Watches ``loaded``'s file and the files ``files`` names for it (a theme file); ``build``
    turns a valid config into what the caller needs besides (the theme), or raises ConfigError."""

    def __init__(self, loaded: LoadedConfig, extra: T, build: Callable[[LoadedConfig], T],
                 files: Callable[[LoadedConfig], Sequence[Path]] = lambda loaded: (), *,
                 on_change: Callable[[], None] | None = None, look_seconds: float = LOOK_SECONDS) -> None:
        self.loaded, self.extra = loaded, extra
        self.build, self.files, self.on_change = build, files, on_change
        self.look_seconds = look_seconds
        self._watched = self._paths(loaded)
        self._tried = self._look()  # what was last validated (at start: what is running)
        self._last_look = self._tried
        self._outcome: Reloaded[T] | Rejected | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _paths(self, *configs: LoadedConfig) -> tuple[Path, ...]:
        paths: list[Path] = []
        for loaded in configs:
            paths += [p for p in (loaded.path, *self.files(loaded)) if p is not None]
        return tuple(dict.fromkeys(paths))

    def _look(self) -> dict[Path, bytes | None]:
        return {path: _fingerprint(path) for path in self._watched}

    # --- the watching thread ------------------------------------------------------------
    def start(self) -> None:
        if self.loaded.path is None:
            return
        self._thread = threading.Thread(target=self._run, name="chalkwall-reload", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.look_seconds):
            try:
                self.check()
            except Exception:  # a bug here must never take the wall down; the next look tries again
                log.exception("config watcher failed")

    def check(self) -> Reloaded[T] | Rejected | None:
        """One look: when a watched file changed and has stood still since the last look,
        validate it and leave the outcome for :meth:`take` (also returned, for tests)."""
        now = self._look()
        settled = now == self._last_look
        self._last_look = now
        if not settled or now == self._tried:
            return None
        self._tried = now
        outcome = self._attempt()
        with self._lock:
            self._outcome = outcome
        if self.on_change is not None:
            self.on_change()
        return outcome

    def _attempt(self) -> Reloaded[T] | Rejected:
        path = self.loaded.path
        assert path is not None
        try:
            if not path.is_file():
                raise ConfigError([Problem(self.loaded.label, "", "the file is gone (moved or deleted?); "
                                                                  "the running config stays until it is back")])
            fresh = load_config(str(self.loaded.path))
            fresh = dataclasses.replace(fresh, label=self.loaded.label)
            # A new theme file named by the new config is watched from now on, valid or not.
            self._watched = self._paths(self.loaded, fresh)
            self._tried = self._last_look = self._look()
            extra = self.build(fresh)
        except ConfigError as exc:
            problems = tuple(exc.problems)
            log_event(log, logging.ERROR, "config_rejected",
                      f"config edit not applied, the running config stays: {'; '.join(map(str, problems))}",
                      problems=[{"file": p.file, "key": p.key, "message": p.message} for p in problems])
            return Rejected(problems)
        changed = changed_sections(self.loaded.config, fresh.config) + (("theme",) if extra != self.extra else ())
        self.loaded, self.extra = fresh, extra
        # The old theme file is no longer watched; what was read above stays what was tried, so
        # a change made while this edit was being checked is still seen at the next look.
        self._watched = self._paths(fresh)
        self._tried = {path: self._tried[path] for path in self._watched}
        self._last_look = dict(self._tried)
        log_event(log, logging.INFO, "config_reloaded",
                  f"config reloaded from {fresh.label}: " + (", ".join(changed) if changed else "nothing changed"),
                  file=fresh.label, changed=list(changed))
        return Reloaded(fresh, extra, changed)

    def take(self) -> Reloaded[T] | Rejected | None:
        """The outcome of the latest edit, once (for the main loop)."""
        with self._lock:
            outcome, self._outcome = self._outcome, None
        return outcome
