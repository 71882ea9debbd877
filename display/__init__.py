"""Pixels out: the command line, and (with the display) scenes, widgets, animation and themes."""

import os

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")  # before any module imports pygame
