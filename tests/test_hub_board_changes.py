"""A hub's screen on its board changes, through a real Mosquitto and a real ``chalkwall hub``: it reads
its team's whole board to begin, then only the changes (no whole board arrives while the floor
moves); its own connection cut mid-way (the socket shut under paho) while changes it will never get are
sent, it reads the whole board again and shows the current one on a floor that has gone quiet since.
(A change that applies on top of its board after the reconnect makes that reading unneeded.)"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

from feeds.live.feed import open_live_feed
from tests.hubkit import make_site
from tests.mosquitto import free_port, needs_mosquitto
from tests.test_hub_e2e import AGENTS, TEAMS, wait_for

pytestmark = needs_mosquitto


def write(path: Path, solved: int) -> None:
    agents = [dict(a, metrics={"tickets_solved": solved}) if a["id"] == "asa" else a for a in AGENTS]
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"version": 1, "teams": TEAMS, "agents": agents}))
    tmp.replace(path)


def test_a_screen_follows_changes_reads_whole_boards_only_when_it_must(tmp_path: Path) -> None:
    port = free_port()
    site = make_site(tmp_path, f"listener {port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 1\n", port)
    site.start_hub()
    live = open_live_feed(site.screen())
    feed = live.coordinator.adapter
    received: list[str] = []
    handle = feed.link.on_message

    def counting(topic: str, payload: bytes, retained: bool) -> None:
        received.append(topic)
        handle(topic, payload, retained)

    feed.link.on_message = counting
    whole, change = feed.topics.board("night"), feed.topics.board_change("night")

    def solved() -> object:
        board = live.coordinator.state().board
        return board and next(a.agent.metrics.get("tickets_solved") for a in board.agents if a.agent.id == "asa")

    live.start()
    try:
        assert wait_for(lambda: solved() == 12, timeout=10)
        for n in range(13, 18):  # the floor moves: each new board arrives as a change
            write(site.feed, n)
            assert wait_for(lambda n=n: solved() == n, timeout=10), (n, solved())
            if n == 13:  # the retained board, then the first new one with its change: now on changes alone
                assert wait_for(lambda: whole not in feed.link._subscriptions)
                wholes = received.count(whole)
                assert wholes <= 2, received
        assert received.count(whole) == wholes, received  # four new boards, no whole one among them
        assert received.count(change) >= 4, received

        sock = feed.link.client.socket()
        assert isinstance(sock, socket.socket)
        sock.shutdown(socket.SHUT_RDWR)  # the screen's own connection is cut; paho reconnects a second later
        write(site.feed, 30)  # … while the floor moves twice: the broker queues one message for it, drops
        time.sleep(0.6)  # the rest (max_queued_messages 1), and then the floor goes quiet
        write(site.feed, 31)
        assert wait_for(lambda: solved() == 31, timeout=15), solved()  # back: the current board, not 30
    finally:
        live.stop()
        site.close()
