"""The team page's privacy choices reach a hub's screens: a real ``chalkwall hub`` and a real
Mosquitto; a choice written to the hub's state file (as the Me page writes it) hides the person on a
screen's redacted board within seconds, and a payload that is not a choices message on the topic is
one log line while the last good choices stay."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from feeds.live.feed import open_live_feed
from feeds.privacy.choices import Choices
from feeds.privacy.view import hub_site_of, open_privacy
from tests.hubkit import Site, running_site
from tests.mosquitto import Client, needs_mosquitto
from tests.test_hub_e2e import wait_for

pytestmark = [needs_mosquitto, pytest.mark.slow]


@pytest.fixture()
def site(tmp_path: Path) -> Iterator[Site]:
    yield from running_site(tmp_path)


def test_a_choice_on_the_team_page_beside_the_hub_hides_the_person_on_its_screens(
        site: Site, caplog: pytest.LogCaptureFixture) -> None:
    loaded = site.screen()
    live = open_live_feed(loaded)
    privacy = open_privacy(loaded.config.privacy, None, hub_site_of(loaded.config))
    live.start()
    try:
        def shown() -> set[str]:
            board = live.coordinator.state().board
            return {r.agent.id for r in privacy.view(board, None).board.agents} if board else set()

        assert wait_for(lambda: "asa" in shown(), timeout=10), site.hub_log_text()
        Choices(site.root / "hub-state").set("asa", "hidden")  # what the Me page does
        assert wait_for(lambda: "asa" not in shown(), timeout=5), site.hub_log_text()
        assert privacy.choices is not None and set(privacy.choices.all()) == {"asa"}

        rogue = Client("rogue")
        assert rogue.connect(site.port) == 0
        with caplog.at_level(logging.WARNING, logger="chalkwall"):
            for _ in range(3):
                rogue.mqtt.publish("chalkwall/acme/privacy", b"{not json", qos=1).wait_for_publish(5)
            rogue.mqtt.publish("chalkwall/acme/privacy", b'{"v": 1, "kind": "privacy", "people": {"asa": 1}}',
                               qos=1).wait_for_publish(5)
            wait_for(lambda: len(caplog.records) >= 2, timeout=2)
        rogue.close()
        said = [r.getMessage() for r in caplog.records if "chalkwall/acme/privacy" in r.getMessage()]
        assert len(said) == 2 and all("keeping what was there" in s for s in said), said  # one line each kind
        assert "asa" not in shown()  # the last good choices stay

        Choices(site.root / "hub-state").set("asa", "ranked")
        # the hub sends only what changed since its last: the rogue's messages replaced it at the broker,
        # the next change of choice replaces them again
        assert wait_for(lambda: "asa" in shown(), timeout=5), site.hub_log_text()
    finally:
        live.stop()
        privacy.close()


def test_a_watcher_or_role_model_set_on_the_team_page_beside_the_hub_is_so_on_its_screens(site: Site) -> None:
    from feeds.web.people import People

    live = open_live_feed(site.screen())
    live.start()
    try:
        def ranked() -> set[str]:
            board = live.coordinator.state().board
            return {r.agent.id for r in board.agents} if board else set()

        assert wait_for(lambda: {"asa", "petr"} <= ranked(), timeout=10), site.hub_log_text()
        people = People(site.root / "hub-state")
        people.invite("asa", "Åsa", "watcher")  # as the team page's admin does, beside the hub
        people.invite("petr", "Пётр", "role_model")
        people.close()

        def moved() -> bool:
            board = live.coordinator.state().board
            return board is not None and not {"asa", "petr"} & ranked() \
                and [r.agent.id for r in board.role_models] == ["petr"] and "asa" in board.watchers
        # the hub marks them at its next poll though the feed has not changed; the screen ranks neither
        assert wait_for(moved, timeout=10), site.hub_log_text()
    finally:
        live.stop()
