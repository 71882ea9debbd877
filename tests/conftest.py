"""Fixtures shared by the tests (the helpers themselves are in helpers.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from helpers import FakeClock, FeedServer

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")


@pytest.fixture
def server() -> Iterator[FeedServer]:
    srv = FeedServer()
    srv.thread.start()
    yield srv
    srv.httpd.shutdown()
    srv.httpd.server_close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
