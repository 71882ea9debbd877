"""The broker away (a shortened outage: seconds, not the hour docs/hub.md describes — the backoff's cap,
``reconnect_max``, is 1 s here): the screen keeps its last board, says "hub unreachable since 10:42"
and marks it stale after ``stale_seconds``; the hub keeps polling and recording (its outbox fills);
both reconnect by themselves and the celebration recorded meanwhile reaches the screen once."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path

from feeds.board.diff import FeedEventReceived
from feeds.live.coordinator import FeedState
from feeds.live.feed import open_live_feed
from tests.hubkit import make_site
from tests.mosquitto import free_port, needs_mosquitto
from tests.test_hub_e2e import AGENTS, TEAMS, wait_for

pytestmark = needs_mosquitto


def write(path: Path, solved: int, events: list[dict[str, object]] = ()) -> None:
    agents = [dict(a, metrics={"tickets_solved": solved}) if a["id"] == "asa" else a for a in AGENTS]
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"version": 1, "teams": TEAMS, "agents": agents, "events": list(events)}))
    tmp.replace(path)


def test_the_broker_away_the_screen_keeps_a_stale_board_and_both_come_back(tmp_path: Path) -> None:
    port = free_port()
    site = make_site(tmp_path, f"listener {port} 127.0.0.1\nallow_anonymous true\n", port)
    site.start_hub()
    live = open_live_feed(site.screen(feed_extra="stale_after = 3"))
    live.start()
    got: list[str] = []

    def seen(event_id: str) -> bool:
        got.extend(e.event.id for e in live.coordinator.drain_events() if isinstance(e, FeedEventReceived))
        return event_id in got

    try:
        assert wait_for(lambda: live.coordinator.state().board, timeout=5)
        site.broker.stop()  # away
        lost_at = time.strftime("%H:%M")
        # (the broker may deliver the hub's will as it shuts down: "hub offline since" for a poll or two first)
        state = wait_for(lambda: (lambda s: s if s.stale and (s.last_error or "").startswith("hub unreachable")
                                  else None)(live.coordinator.state()), timeout=10)
        assert state, live.coordinator.state()
        assert state.last_error.startswith("hub unreachable since ") and lost_at in state.last_error, state.last_error
        assert [a.agent.name for a in state.board.agents] == ["Åsa Ödegård", "Пётр Иванов"]  # the last board, kept
        notice = wall_notices(state, tmp_path)[0]  # what the floor reads in the corner
        assert notice.startswith("data from ") and notice.endswith(f"hub unreachable since {lost_at}"), notice
        write(site.feed, 20, [{"id": "k-away", "type": "kudos", "from": "lin", "to": "asa", "text": "Спасибо!"}])
        outbox = tmp_path / "hub-state" / "chalkwall.sqlite3"

        def recorded() -> bool:
            with sqlite3.connect(outbox) as db:
                return bool(db.execute("SELECT 1 FROM hub_outbox WHERE event_id LIKE '%k-away%' AND published = 0")
                            .fetchone())

        assert wait_for(recorded, timeout=10)  # the hub keeps polling and recording while the broker is away
        time.sleep(3)  # several of the hub's and the screen's reconnect attempts
        assert site.hub.poll() is None
        site.broker.start()  # back: nobody restarts the hub or the screen
        back = wait_for(lambda: (lambda s: s if s.last_error is None and not s.stale and s.board and
                                 s.board.agents[0].agent.metrics.get("tickets_solved") == 20 else None)(
            live.coordinator.state()), timeout=15)
        assert back, live.coordinator.state()
        assert wait_for(lambda: seen("k-away"), timeout=10), got
        time.sleep(1)
        seen("")
        assert got.count("k-away") == 1
        assert wait_for(lambda: not recorded(), timeout=5)  # the broker acknowledged it: published
    finally:
        live.stop()
        site.close()
    log = site.hub_log_text()
    assert log.count("trying again") <= 2, log  # the outage said once (a second line: the reason changed)
    assert "connected after" in log, log


def wall_notices(state: FeedState, root: Path) -> list[str]:
    """The wall drawn with the screen's own state; the picture kept for a look (``CHALKWALL_SHOTS``)."""
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    import pygame

    from display.clock import FakeClock
    from display.shot import init_offscreen, make_stage
    from display.wall import Wall
    from feeds.config.schema import load_config

    init_offscreen()
    (root / "look.toml").write_text('[feed]\ntype = "demo"\n')
    wall = Wall(make_stage(load_config(str(root / "look.toml")), (1280, 720), FakeClock()))
    wall.update(state, [])
    surface = pygame.Surface((1280, 720))
    wall.frame(surface)
    shots = Path(os.environ.get("CHALKWALL_SHOTS", root))
    shots.mkdir(parents=True, exist_ok=True)
    pygame.image.save(surface, str(shots / "hub-unreachable.png"))
    return wall.notices()
