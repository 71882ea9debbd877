"""The site summary (``chalkwall/<site>/board/summary``, retained): every team with its size and its
totals, and the floor's, from a real hub through a real Mosquitto — small, and no one's name in it."""

from __future__ import annotations

import json
from pathlib import Path

from feeds.bus.topics import read
from tests.mosquitto import Client, needs_mosquitto
from tests.test_hub_e2e import AGENTS, site, wait_for, write_feed  # noqa: F401  (site: the fixture)

pytestmark = needs_mosquitto


def summary_of(client: Client) -> dict[str, object] | None:
    found = [m for m in client.messages if m.topic == "chalkwall/acme/board/summary" and m.payload]
    return read(found[-1].payload, "summary") if found else None


def test_the_summary_has_each_team_s_size_and_totals_and_follows_the_feed(site) -> None:  # noqa: F811
    _, port, feed, _ = site
    head_office = Client("head-office")
    assert head_office.connect(port) == 0
    head_office.mqtt.subscribe("chalkwall/acme/board/summary", qos=1)
    summary = wait_for(lambda: summary_of(head_office), timeout=10)
    assert summary is not None
    teams = {t["id"]: t for t in summary["teams"]}
    assert [t["id"] for t in summary["teams"]] == ["night", "day"]  # the feed's order
    assert (teams["night"]["name"], teams["night"]["agents"], teams["day"]["agents"]) == ("Night shift", 2, 1)
    assert teams["night"]["totals"]["tickets_solved"] == 12 + 9 and teams["day"]["totals"]["tickets_solved"] == 14
    assert summary["floor"]["tickets_solved"] == 12 + 9 + 14 and summary["agents"] == 3
    assert not any(a["name"].encode() in m.payload for a in AGENTS for m in head_office.messages)
    AGENTS[0]["metrics"]["tickets_solved"] = 20
    try:
        write_feed(feed)
        assert wait_for(lambda: (summary_of(head_office) or {}).get("floor", {}).get("tickets_solved") == 43, timeout=10), \
            summary_of(head_office)
    finally:
        AGENTS[0]["metrics"]["tickets_solved"] = 12
    head_office.close()
