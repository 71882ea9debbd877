"""The ledger's ``announce`` hook (the hub's outbox), on real SQLite files: over random days of
polls the engine awards and celebrates exactly what it does without the hook; every new completion
is in the outbox as the engine made it; an award whose announcement cannot be written is not
recorded either, and is awarded and announced at the next poll."""

from __future__ import annotations

import json
import sqlite3
import tempfile
from datetime import timedelta
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from feeds.connectors.parse import normalise
from feeds.game.engine import Engine
from feeds.game.history import History
from feeds.game.ledger import Ledger
from feeds.config.schema import load_config
from feeds.model import FeedEvent
from feeds.publish.hub import OutboxSeen
from helpers import write_config
from tests.test_hub_speed import CHALLENGES, DAY1, doc

RECORD = """
[[challenges]]
id = "chalk"
title = "Beat yesterday's {best}"
kind = "record"
scope = "team"
metric = "tickets_solved"
points = 100
"""
POLLS = st.lists(st.tuples(st.integers(0, 2), st.integers(0, 25), st.integers(0, 25), st.integers(0, 25)),
                 min_size=1, max_size=8)


def engine(root: Path, state: str) -> Engine:
    config = load_config(str(write_config(root, CHALLENGES + RECORD))).config
    return Engine(Ledger(root / state), config, History(root / state))


def outbox_events(directory: Path) -> list[tuple[str, dict[str, object]]]:
    db = sqlite3.connect(directory / "chalkwall.sqlite3")
    try:
        return [(s, json.loads(p)) for s, p in db.execute("SELECT stream, payload FROM hub_outbox ORDER BY rowid")]
    finally:
        db.close()


@settings(max_examples=25, deadline=None)
@given(POLLS)
def test_the_hook_changes_nothing_the_engine_does_and_queues_every_new_completion(polls) -> None:  # type: ignore[no-untyped-def]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        plain, hooked = engine(root, "plain"), engine(root, "hooked")
        snapshot = [None]
        seen = OutboxSeen(root / "hooked", lambda: snapshot[0], lambda: 1_800_000_000.0)
        hooked.ledger.announce = seen.enqueue_in
        made: list[FeedEvent] = []
        try:
            for minute, (day, asa, petr, lin) in enumerate(sorted(polls)):
                now = DAY1 + timedelta(days=day, minutes=minute)
                snapshot[0] = normalise(doc(asa, petr, lin))
                assert hooked.process(snapshot[0], now) == plain.process(snapshot[0], now)
                assert hooked.completed == plain.completed and hooked.game == plain.game
                made += hooked.completed
            assert hooked.ledger.rows() == plain.ledger.rows()
            queued = outbox_events(root / "hooked")
            assert [p for _, p in queued] == [e.to_dict() for e in made]
            teams = {"asa": "night", "petr": "night", "lin": "day"}
            assert [s for s, _ in queued] == [f"team/{teams.get(str(p.get('agent')), p.get('team'))}"
                                              for _, p in queued]
        finally:
            seen.close()
            plain.close()
            hooked.close()


def test_an_award_whose_announcement_fails_is_not_paid_and_comes_again_at_the_next_poll(tmp_path: Path) -> None:
    eng = engine(tmp_path, "state")
    snapshot = normalise(doc(12, 3, 3))  # Åsa (a rookie) reaches "solve"
    seen = OutboxSeen(tmp_path / "state", lambda: snapshot, lambda: 1_800_000_000.0)

    def locked(db: sqlite3.Connection, event: FeedEvent) -> None:
        raise sqlite3.OperationalError("database is locked")

    eng.ledger.announce = locked
    eng.process(snapshot, DAY1)
    assert eng.completed == [] and not [r for r in eng.ledger.rows() if r[4] == "solve"]
    assert outbox_events(tmp_path / "state") == []
    eng.ledger.announce = seen.enqueue_in  # the lock is gone
    eng.process(snapshot, DAY1 + timedelta(minutes=1))
    done = [e.id for e in eng.completed]
    assert "cw:solve:agent:asa:day:2026-11-23" in done
    assert [p["id"] for _, p in outbox_events(tmp_path / "state")] == done
    assert len([r for r in eng.ledger.rows() if r[4] == "solve"]) == 1
    seen.close()
    eng.close()
