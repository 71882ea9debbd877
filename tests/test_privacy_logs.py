"""The journal follows the privacy profile: the engine logs an award under the person's name only in
``named`` and only for someone without a privacy choice; else by agent id (as the ledger keeps it).
Real config files, a real ledger and the engine's own log records."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from feeds.config.schema import load_config
from feeds.connectors.parse import normalise
from feeds.game.engine import Engine
from feeds.game.history import History
from feeds.game.ledger import Ledger
from feeds.privacy.choices import Choices
from helpers import write_config
from tests.test_hub_speed import CHALLENGES, DAY1, doc

NAMES = ("Åsa Ödegård", "Пётр Иванов", "Lin Chen")


def celebrations(tmp_path: Path, privacy: str, caplog: pytest.LogCaptureFixture,
                 chosen: dict[str, str] | None = None) -> list[logging.LogRecord]:
    config = load_config(str(write_config(tmp_path, CHALLENGES + privacy))).config
    state = tmp_path / "state"
    choices = Choices(state)
    for agent, ranking in (chosen or {}).items():
        choices.set(agent, ranking)  # type: ignore[arg-type]
    engine = Engine(Ledger(state), config, History(state), choices=choices)
    caplog.clear()
    try:
        with caplog.at_level(logging.INFO, logger="chalkwall"):
            engine.process(normalise(doc(0, 0, 0)), DAY1)
            engine.process(normalise(doc(30, 30, 30)), DAY1.replace(minute=5))
    finally:
        engine.close()
    out = [r for r in caplog.records if " earned " in r.getMessage()]
    assert len({r.getMessage().split(" earned")[0] for r in out}) >= 3, "not everyone earned: the test shows nothing"
    return out


@pytest.mark.parametrize("mode", ["top", "anonymous", "teams"])
def test_outside_named_the_journal_holds_agent_ids_never_names(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                                               mode: str) -> None:
    records = celebrations(tmp_path, f'\n[privacy]\nmode = "{mode}"\n', caplog)
    for record in records:
        text = record.getMessage() + repr(record.__dict__)
        assert not any(name in text for name in NAMES), text


def test_in_named_only_the_people_with_a_choice_are_logged_by_id(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    records = celebrations(tmp_path, '\n[privacy.people.lin]\nalias = "L"\n', caplog, {"asa": "hidden"})
    said = " ".join(r.getMessage() + repr(r.__dict__) for r in records)
    assert "Пётр Иванов earned" in said  # no choice: the feed's name, as before
    assert "Åsa Ödegård" not in said and "asa earned" in said  # her own choice, on the team page
    assert "Lin Chen" not in said and "lin earned" in said  # the admin's alias for him
