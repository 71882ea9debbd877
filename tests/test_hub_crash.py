"""kill -9 of a real hub exactly after an award is committed (the ``after-award`` fault point, see
feeds/faults.py), then a restart: the celebration reaches the screen once and the ledger has one
award — for chalkwall's own completion (announced in the award's transaction) and for the feed's
kudos (offered again by the feed after the restart). A real Mosquitto, a real screen."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from feeds.board.diff import FeedEventReceived
from feeds.faults import FAULT_ENV
from feeds.game.ledger import AWARDED
from feeds.live.feed import LiveFeed, open_live_feed
from tests.hubkit import Site, make_site
from tests.mosquitto import free_port, needs_mosquitto
from tests.test_hub_e2e import AGENTS, TEAMS, wait_for

pytestmark = [needs_mosquitto, pytest.mark.slow]

CHALLENGE = """
[periods]
timezone = "Europe/Stockholm"
[[challenges]]
id = "solve"
title = "Solve {target} tickets today"
kind = "target"
metric = "tickets_solved"
points = 20
target = 15
"""


def write_floor(path: Path, asa_solved: float, events: list[dict[str, object]] = ()) -> None:
    agents = [{**a, "metrics": {"tickets_solved": asa_solved}} if a["id"] == "asa" else a for a in AGENTS]
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"version": 1, "teams": TEAMS, "agents": agents, "events": list(events)}))
    tmp.replace(path)


class Watch:
    """A screen of the hub (its own process's live feed, in this one) and the celebrations it got."""

    def __init__(self, site: Site) -> None:
        self.live: LiveFeed = open_live_feed(site.screen())
        self.got: list[FeedEventReceived] = []
        self.live.start()

    def ids(self) -> list[str]:
        self.got.extend(e for e in self.live.coordinator.drain_events() if isinstance(e, FeedEventReceived))
        return [e.event.id for e in self.got]


@pytest.fixture()
def site(tmp_path: Path) -> Iterator[Site]:
    port = free_port()
    made = make_site(tmp_path, f"listener {port} 127.0.0.1\nallow_anonymous true\n", port)
    yield made
    made.close()


def state_db(site: Site) -> sqlite3.Connection:
    return sqlite3.connect(site.root / "hub-state" / "chalkwall.sqlite3")


def killed_after_the_award(site: Site, timeout: float = 20.0) -> None:
    assert site.hub is not None
    try:
        site.hub.wait(timeout)
    except Exception:
        raise AssertionError("the hub did not reach the fault point:\n" + site.hub_log_text())
    assert site.hub.returncode == -9, site.hub_log_text()


def test_a_completion_paid_just_before_a_kill_is_announced_once_after_the_restart(site: Site) -> None:
    write_floor(site.feed, asa_solved=12)
    site.start_hub(CHALLENGE, env={FAULT_ENV: AWARDED})  # dies the moment an award is committed
    screen = Watch(site)
    try:
        assert wait_for(lambda: screen.live.coordinator.state().board, timeout=10)
        write_floor(site.feed, asa_solved=16)  # Åsa completes "solve"
        killed_after_the_award(site)
        db = state_db(site)
        awards = db.execute("SELECT event_id, challenge, subject FROM awards").fetchall()
        assert awards == [(None, "solve", "asa")]
        # Killed right after the commit: the outbox already holds the celebration (never sent)
        queued = db.execute("SELECT stream, event_id, published FROM hub_outbox").fetchall()
        assert len(queued) == 1 and queued[0][0] == "team/night" and queued[0][1].startswith("cw:solve:agent:asa:")
        assert queued[0][2] == 0
        db.close()

        site.start_hub(CHALLENGE)  # systemd starts it again, without the fault
        assert wait_for(lambda: screen.ids(), timeout=15), site.hub_log_text()
        time.sleep(2.0)  # several polls of the restarted hub, the completion still met
        ids = screen.ids()
        assert len(ids) == 1 and ids[0] == queued[0][1]
        event = screen.got[0].event
        assert (event.data["challenge"], event.data["points"], event.data["agent"]) == ("Solve 15 tickets today", 20, "asa")
    finally:
        screen.live.stop()
    db = state_db(site)
    assert db.execute("SELECT COUNT(*) FROM awards WHERE challenge = 'solve'").fetchone()[0] == 1
    assert db.execute("SELECT COUNT(*) FROM hub_outbox").fetchone()[0] == 1


def test_the_feeds_kudos_paid_just_before_a_kill_is_announced_once_after_the_restart(site: Site) -> None:
    write_floor(site.feed, asa_solved=12)
    site.start_hub(env={FAULT_ENV: AWARDED})
    screen = Watch(site)
    try:
        assert wait_for(lambda: screen.live.coordinator.state().board, timeout=10)
        write_floor(site.feed, 12, [{"id": "k1", "type": "kudos", "from": "petr", "to": "asa", "text": "Tack!"}])
        killed_after_the_award(site)
        site.start_hub()
        assert wait_for(lambda: screen.ids(), timeout=15), site.hub_log_text()
        time.sleep(2.0)
        assert screen.ids() == ["k1"]
    finally:
        screen.live.stop()
    db = state_db(site)
    assert db.execute("SELECT event_id, points FROM awards").fetchall() == [("k1", 5.0)]
