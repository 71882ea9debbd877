"""Pixels out: the command line, and (with the display) scenes, widgets, animation and themes."""
