"""The team page beside a hub, end to end: a real ``chalkwall hub`` and a real Mosquitto, the team
page's app (Starlette's TestClient) on the hub's state file, and a screen of the hub. A public
thank-you reaches the thanked person's screen once and is paid once; an undo reaches it too (also
one made while the hub was down); a quiet thank-you never shows."""

from __future__ import annotations

import re
import signal
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from feeds.board.diff import BoardEvent, FeedEventReceived, ThanksWithdrawn
from feeds.live.feed import LiveFeed, open_live_feed
from feeds.web.app import Site as WebSite
from feeds.web.app import build_app
from feeds.web.auth import RateLimit
from feeds.web.people import People
from tests.hubkit import Site, running_site
from tests.mosquitto import needs_mosquitto
from tests.test_hub_e2e import wait_for

pytestmark = [needs_mosquitto, pytest.mark.slow]


class Screen:
    """A screen of the hub showing team "night" (Åsa and Пётр) and what its display was handed."""

    def __init__(self, site: Site) -> None:
        self.live: LiveFeed = open_live_feed(site.screen())
        self.events: list[BoardEvent] = []
        self.live.start()

    def seen(self) -> list[tuple[str, str]]:
        self.events.extend(e for e in self.live.coordinator.drain_events()
                           if isinstance(e, (FeedEventReceived, ThanksWithdrawn)))
        return [("kudos", e.event.id) if isinstance(e, FeedEventReceived) else ("withdrawn", e.event_id)
                for e in self.events]


class Page:
    """The team page's app on the hub's state directory, signed in as one person."""

    def __init__(self, state: Path, person: str) -> None:
        people = People(state)
        token = people.invite(person, None)
        self.client = TestClient(build_app(WebSite(People(state), state.parent / "pw", "http://x", RateLimit())),
                                 follow_redirects=False)
        assert self.client.get(f"/in/{token}").status_code == 303
        people.close()

    def fields(self) -> dict[str, str]:
        return dict(re.findall(r'name="(csrf|key)" value="([^"]+)"', self.client.get("/thanks").text))

    def thank(self, to: str, text: str, visibility: str = "public") -> None:
        sent = self.client.post("/thanks", data={**self.fields(), "to": to, "text": text, "visibility": visibility})
        assert sent.status_code == 303, sent.text

    def undo(self, thank_id: int) -> None:
        undone = self.client.post("/thanks/undo", data={"csrf": self.fields()["csrf"], "id": str(thank_id)})
        assert undone.status_code == 303, undone.text


@pytest.fixture()
def site(tmp_path: Path) -> Iterator[Site]:
    yield from running_site(tmp_path)


def test_thanks_from_the_team_page_reach_the_screens_of_the_hub_once_and_undos_take_them_back(site: Site) -> None:
    state = site.root / "hub-state"
    screen = Screen(site)
    try:
        assert wait_for(lambda: screen.live.coordinator.state().board, timeout=10)
        assert wait_for(lambda: (state / "chalkwall.sqlite3").exists(), timeout=5)
        lin = Page(state, "lin")  # of the day team, thanking the night team's people

        lin.thank("asa", "Tack för hjälpen!")
        assert wait_for(lambda: screen.seen(), timeout=10) == [("kudos", "web:1")], site.hub_log_text()
        shown = next(e for e in screen.events if isinstance(e, FeedEventReceived)).event
        assert (shown.type, shown.data["to"], shown.data["text"]) == ("kudos", "asa", "Tack för hjälpen!")

        lin.undo(1)  # within ten minutes: the screen is told, so its toast goes
        assert wait_for(lambda: len(screen.seen()) == 2, timeout=10)
        assert screen.seen() == [("kudos", "web:1"), ("withdrawn", "web:1")]

        lin.thank("petr", "Спасибо!", visibility="quiet")  # quiet: only Пётр sees it, never the wall
        lin.thank("asa", "Again, thanks")  # web:3, after it: when this shows, the quiet one had its chance
        assert wait_for(lambda: ("kudos", "web:3") in screen.seen(), timeout=10)

        assert site.hub is not None
        site.hub.send_signal(signal.SIGKILL)  # the hub dies; the thanks are undone while it is down
        site.hub.wait()
        lin.undo(3)
        site.start_hub()
        assert wait_for(lambda: ("withdrawn", "web:3") in screen.seen(), timeout=15), site.hub_log_text()
        time.sleep(2.0)  # the restarted hub reads the last hour's thanks again: nothing is repeated
        assert screen.seen() == [("kudos", "web:1"), ("withdrawn", "web:1"), ("kudos", "web:3"),
                                 ("withdrawn", "web:3")]
    finally:
        screen.live.stop()
    db = sqlite3.connect(state / "chalkwall.sqlite3")
    rows = db.execute("SELECT event_id, challenge, subject, points FROM awards ORDER BY id").fetchall()
    assert rows == [("web:1", "kudos", "asa", 5.0), ("web:1#undone", "kudos_undone", "asa", -5.0),
                    ("web:2", "kudos", "petr", 5.0), ("web:3", "kudos", "asa", 5.0),
                    ("web:3#undone", "kudos_undone", "asa", -5.0)]
    announced = {r[0] for r in db.execute("SELECT event_id FROM hub_outbox")}
    assert "web:2" not in announced  # the quiet one went to no stream at all
