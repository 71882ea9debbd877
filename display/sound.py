"""The optional celebration sound a theme may name: played when a banner appears.

The audio device is opened only if a theme asks for a sound (a wall without one never touches
ALSA). A sound that cannot be played — no audio device, a missing or broken file — is logged once
and then left alone: silence never stops the celebration.
"""

from __future__ import annotations

import logging

import pygame

from feeds.logs import LOGGER, log_event

log = logging.getLogger(f"{LOGGER}.sound")


class Chime:
    def __init__(self, path: str) -> None:
        self.path = path
        self.played = 0
        self._sound: pygame.mixer.Sound | None = None
        self._broken = not path

    def play(self, *_: object) -> None:
        if self._broken:
            return
        try:
            if not pygame.mixer.get_init():
                pygame.mixer.init()
            if self._sound is None:
                self._sound = pygame.mixer.Sound(self.path)
            self._sound.play()
            self.played += 1
        except (pygame.error, OSError) as exc:
            self._broken = True
            log_event(log, logging.WARNING, "sound_failed", f"cannot play celebration sound {self.path}: {exc}",
                      path=self.path, error=str(exc))
