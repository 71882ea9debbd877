"""Bad input on the bus reaches a screen (a rogue client, allowed here on an anonymous broker):
garbage, a payload of another version, a board or game or event of the wrong shape, a 50 MB message
(refused by the broker's ``message_size_limit 2000000``, as init-broker writes it) and a 3 MB one on a
broker without that limit (kept away by the screen's MQTT 5 Maximum Packet Size). Each costs one
clear log line; nothing crashes; the screen keeps its last good board."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import pytest

from feeds.live.feed import open_live_feed
from tests.hubkit import make_site
from tests.mosquitto import Client, free_port, needs_mosquitto
from tests.test_hub_e2e import wait_for

pytestmark = needs_mosquitto
BOARD = "chalkwall/acme/board/team/night"
CHANGE = "chalkwall/acme/board/change/night"  # where a screen's board comes from, once the changes flow
NAMES = ["Åsa Ödegård", "Пётр Иванов"]
BAD = [  # topic, payload, words the one log line must say
    (CHANGE, b"\x00\xff{garbage", "not JSON"),
    (CHANGE, b'{"v":2,"kind":"board_change","agents":[]}', "payload version 2"),
    (CHANGE, b'{"v":1,"kind":"board_change","base":null,"version":1,"agents":"nobody"}', "agents"),
    (CHANGE, b'{"v":1,"kind":"board_change","base":{"rev":1},"set":"everyone"}', "without its set and size"),
    ("chalkwall/acme/game/team/night", b'[1,2,3]', "not a JSON object"),  # (a topic says 5 kinds at most)
    ("chalkwall/acme/game", b'{"v":1,"kind":"game","game":{"progress":"x","order":[]}}', "GameState"),
    ("chalkwall/acme/game", b'{"v":1,"kind":"game","game":{"period":"p","progress":[]}}', "old shape"),
    ("chalkwall/acme/game/team/night", b'{"v":1,"kind":"game_team","progress":[{"x":1}],"order":[0]}', "TeamGame"),
    ("chalkwall/acme/events/team/night", b'{"v":1,"kind":"event","stream":"team/night"}', "an event without epoch, seq"),
    ("chalkwall/acme/events/team/night", b'{"v":1,"kind":"board"}', "where a 'event' belongs"),
    ("chalkwall/acme/hub/status", b"\xff", "not JSON"),
    (CHANGE, b"[" * 100_000, "nested too deeply"),
]


def lines(caplog: pytest.LogCaptureFixture, topic: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith(f"ignored a message on {topic}:")]


def test_garbage_wrong_versions_shapes_and_50_mb_each_cost_one_line(tmp_path: Path,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    port = free_port()
    site = make_site(tmp_path, f"listener {port} 127.0.0.1\nallow_anonymous true\nmessage_size_limit 2000000\n", port)
    site.start_hub()
    live = open_live_feed(site.screen())
    live.start()
    rogue = Client("rogue")
    try:
        assert wait_for(lambda: live.coordinator.state().board, timeout=5)
        assert rogue.connect(port) == 0
        for topic, payload, words in BAD:
            before = len(lines(caplog, topic))
            rogue.publish(topic, payload)
            assert wait_for(lambda: len(lines(caplog, topic)) > before, timeout=3), (topic, payload)
            time.sleep(0.5)  # no second line comes
            said = lines(caplog, topic)[before:]
            assert len(said) == 1 and words in said[0], said
            state = live.coordinator.state()
            assert [a.agent.name for a in state.board.agents] == NAMES and state.last_error is None
        reason = rogue.publish(BOARD, b"x" * 50_000_000, timeout=6)
        assert reason is None or reason.is_failure, reason  # refused (paho may not have read the PUBACK yet)
        time.sleep(1)
        assert "50000000" not in caplog.text  # it never reached the screen
        assert "Dropped too large PUBLISH from rogue" in site.broker.log_text()  # and PUBACK rc 149 (0x95)
        state = live.coordinator.state()
        assert [a.agent.name for a in state.board.agents] == NAMES and state.last_error is None
        assert live.coordinator.adapter.link.status().connected and site.hub.poll() is None
        assert "Traceback" not in caplog.text and "Traceback" not in site.hub_log_text()
    finally:
        rogue.close()
        live.stop()
        site.close()


def test_a_message_over_the_screens_maximum_packet_size_never_arrives(tmp_path: Path,
                                                                       caplog: pytest.LogCaptureFixture) -> None:
    port = free_port()
    site = make_site(tmp_path, f"listener {port} 127.0.0.1\nallow_anonymous true\nmessage_size_limit 0\n", port)
    rogue = Client("rogue")  # plays the hub here: one good board first, then 3 MB
    live = open_live_feed(site.screen())
    try:
        assert rogue.connect(port) == 0
        rogue.publish("chalkwall/acme/hub/status", json.dumps({"v": 1, "kind": "hub_status", "state": "online",
                                                                "at": time.time()}), retain=True)
        good = {"v": 1, "kind": "board", "rev": 1, "version": 1, "teams": [{"id": "night", "name": "Night"}],
                "agents": [{"id": "asa", "name": "Åsa Ödegård", "team": "night", "metrics": {"tickets_solved": 3}}]}
        rogue.publish(BOARD, json.dumps(good), retain=True)
        live.start()
        assert wait_for(lambda: live.coordinator.state().board, timeout=5)
        huge = dict(good, agents=[dict(good["agents"][0], name="x" * 3_000_000)])
        assert rogue.publish(BOARD, json.dumps(huge), timeout=20) is not None  # the broker took it...
        time.sleep(1.5)
        state = live.coordinator.state()  # ...and never sent it to a screen that said 2 MB at most
        assert [a.agent.name for a in state.board.agents] == ["Åsa Ödegård"] and state.last_error is None
        assert live.coordinator.adapter.link.status().connected
        assert "Traceback" not in caplog.text
    finally:
        rogue.close()
        live.stop()
        site.close()
