"""Fixtures shared by the tests (the helpers themselves are in helpers.py)."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator

import pytest

from feeds.logs import setup_logging
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


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    """The log, as JSON lines, at debug level (read with helpers.records / events_named)."""
    stream = io.StringIO()
    setup_logging("json", "debug", stream)
    yield stream
    setup_logging("plain", "warning")
