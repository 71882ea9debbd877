"""The team page: a small server-rendered web app beside the wall (``chalkwall web``).

The top layer beside ``feeds.live``: it reads the config and shares the state SQLite file, and
never imports pygame or ``display``.
"""
