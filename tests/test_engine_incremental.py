"""The engine's incremental polls against the full computation, over randomized floors.

Two engines on their own real SQLite state files are fed the same sequence of snapshots: one
works as it does on a hub (only what changed since the last poll), the other is made to work
everything out from scratch every poll. Agents change values, levels, teams and roles, join and
leave, values appear and vanish; the clock moves on, skips to the next day and goes back; the
ledger (and the history) fail once on a read-only connection to the same file. The game state,
the awards, the completions, the events shown and the history and ledger tables must be equal.
"""

from __future__ import annotations

import random
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from feeds.config.schema import load_config
from feeds.connectors.parse import Normaliser, normalise
from feeds.game.compare import measure
from feeds.game.engine import Engine
from feeds.game.history import History
from feeds.board.build import without_role_models
from feeds.game.incremental import Measurer, Roster
from feeds.game.ledger import Ledger
from feeds.model import Snapshot
from helpers import write_config

START = datetime(2026, 11, 23, 6, 0, tzinfo=timezone.utc)  # 07:00 in Stockholm
TEAMS = ("day", "night", "weekend")
LEVELS = (None, "rookie", "pro", "expert")

CONFIG = """
[periods]
timezone = "Europe/Stockholm"
shifts = [{ name = "early", start = "06:00", end = "14:00" }, { name = "late", start = "14:00", end = "22:00" }]

[privacy]
keep_days = 1

[board]
rank_by = "tickets_solved"

[board.metrics.aht_seconds]
lower_is_better = true

[board.metrics.csat]
samples = "csat_count"
min_samples = 3

[[challenges]]
id = "solve"
title = "Solve {target} today"
kind = "target"
metric = "tickets_solved"
points = 20
target = { rookie = 6, pro = 9, expert = 12 }

[[challenges]]
id = "careful"
title = "Solve {target}, quality first"
kind = "target"
metric = "tickets_solved"
points = 15
target = 8
gate = { metric = "csat", min = 4, sample = 3 }

[[challenges]]
id = "first"
title = "First to {target}"
kind = "race"
metric = "tickets_solved"
points = 50
target = 10

[[challenges]]
id = "quick"
title = "Handle time under {target} s"
kind = "target"
metric = "aht_seconds"
points = 10
target = 250

[[challenges]]
id = "own"
title = "Beat your usual: {target}"
kind = "personal_best"
metric = "tickets_solved"
points = 30
floor = 7

[[challenges]]
id = "roll"
title = "{target} days in a row"
kind = "streak"
of = "own"
length = 2
points = 60

[[challenges]]
id = "chalk"
title = "Beat yesterday's {best}"
kind = "record"
scope = "team"
metric = "tickets_solved"
points = 100

[[challenges]]
id = "solo-chalk"
title = "Beat yesterday's best {best}"
kind = "record"
metric = "csat"
points = 5

[[challenges]]
id = "team-race"
title = "First team to {target}"
kind = "race"
scope = "team"
metric = "tickets_solved"
points = 40
target = 40

[[challenges]]
id = "week"
title = "{target} this week"
kind = "target"
period = "week"
metric = "tickets_solved"
points = 25
target = 20

[[challenges]]
id = "early-shift"
title = "{target} this shift"
kind = "target"
period = "shift"
metric = "tickets_solved"
points = 5
target = 5

[[challenges]]
id = "duel"
title = "Day vs night"
kind = "head_to_head"
scope = "team"
metric = "tickets_solved"
sides = ["day", "night"]
points = 80
"""


class Floor:
    """A randomized floor document that changes a little (or a lot) per poll."""

    def __init__(self, rng: random.Random, agents: int = 24) -> None:
        self.rng = rng
        self.agents = [self._new(i) for i in range(agents)]
        self.n = agents
        self.kudos = 0

    def _new(self, i: int) -> dict[str, Any]:
        rng = self.rng
        metrics: dict[str, float] = {"tickets_solved": float(rng.randint(0, 5))}
        if rng.random() < 0.7:
            metrics["aht_seconds"] = float(rng.randint(150, 400))
        if rng.random() < 0.7:
            metrics |= {"csat": round(rng.uniform(3, 5), 2), "csat_count": float(rng.randint(0, 6))}
        return {"id": f"a{i}", "name": f"Agent {i}", "team": rng.choice(TEAMS), "level": rng.choice(LEVELS),
                "metrics": metrics}

    def step(self, new_day: bool) -> dict[str, Any]:
        rng = self.rng
        if new_day:  # the helpdesk's counters start again
            for record in self.agents:
                record["metrics"] = {**record["metrics"], "tickets_solved": float(rng.randint(0, 2))}
        for record in self.agents:
            if rng.random() < 0.2:
                metrics = dict(record["metrics"])
                what = rng.random()
                if what < 0.6:
                    metrics["tickets_solved"] = metrics.get("tickets_solved", 0.0) + rng.choice((1, 1, 2, 3, -1))
                elif what < 0.75:
                    metrics["aht_seconds"] = float(rng.randint(150, 400))
                elif what < 0.9:
                    metrics["csat"] = round(rng.uniform(3, 5), 2)
                    metrics["csat_count"] = metrics.get("csat_count", 0.0) + 1
                elif what < 0.95:
                    metrics.pop(rng.choice(("aht_seconds", "csat", "tickets_solved")), None)
                else:
                    metrics["tickets_solved"] = metrics.get("tickets_solved", 0.0)
                record["metrics"] = metrics
            if rng.random() < 0.01:
                record["level"] = rng.choice(LEVELS)
            if rng.random() < 0.005:
                record["team"] = rng.choice(TEAMS)
            if rng.random() < 0.005:
                record["role"] = None if record.get("role") else "role_model"
        if rng.random() < 0.04:  # someone joins, somewhere in the list
            self.agents.insert(rng.randrange(len(self.agents) + 1), self._new(self.n))
            self.n += 1
        if rng.random() < 0.04 and len(self.agents) > 3:
            del self.agents[rng.randrange(len(self.agents))]
        if rng.random() < 0.01:
            rng.shuffle(self.agents)
        events = []
        if rng.random() < 0.3:
            self.kudos += 1
            giver, taker = rng.sample([a["id"] for a in self.agents], 2)
            events.append({"id": f"k{self.kudos}", "type": "kudos", "from": giver, "to": taker})
        return {"version": 1, "teams": [{"id": t, "name": t.title()} for t in TEAMS],
                "agents": [dict(a) for a in self.agents], "events": events}


def _engine(tmp_path: Path, name: str) -> Engine:
    (tmp_path / name).mkdir()
    config = load_config(str(write_config(tmp_path / name, CONFIG))).config
    state = tmp_path / name / "state"
    return Engine(Ledger(state), config, History(state))


def _tables(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    db = sqlite3.connect(engine.ledger.path)
    try:
        return {"totals": db.execute("SELECT * FROM totals ORDER BY 1, 2, 3, 4").fetchall(),
                "samples": db.execute("SELECT * FROM samples ORDER BY 1, 2, 3, 4, 5").fetchall(),
                "awards": db.execute("SELECT * FROM awards ORDER BY id").fetchall(),
                "names": db.execute("SELECT * FROM names ORDER BY 1, 2").fetchall()}
    finally:
        db.close()


def _read_only(engine: Engine, ledger: bool, history: bool) -> list[tuple[Any, str, sqlite3.Connection]]:
    """Swap the ledger's and/or the history's connection for a read-only one to the same file."""
    swapped = []
    for owner, wanted in ((engine.ledger, ledger), (engine.history, history)):
        if wanted:
            ro = sqlite3.connect(f"file:{engine.ledger.path}?mode=ro", uri=True, check_same_thread=False,
                                 isolation_level=None if owner is engine.ledger else "")
            swapped.append((owner, "_db", owner._db))  # type: ignore[union-attr]
            owner._db = ro  # type: ignore[union-attr]
    return swapped


def _clock(rng: random.Random, now: datetime) -> tuple[datetime, bool]:
    """The next poll's time, and whether it is a new local day for the floor's counters."""
    roll = rng.random()
    if roll < 0.04:
        later = (now + timedelta(days=1)).replace(hour=6, minute=rng.randint(0, 50))
    elif roll < 0.07:
        later = now - timedelta(hours=rng.randint(1, 30))  # a clock set back (NTP, a wrong RTC)
    elif roll < 0.15:
        later = now + timedelta(hours=rng.randint(1, 6))
    else:
        later = now + timedelta(seconds=rng.randint(1, 200))
    return later, later.date() != now.date()


@pytest.mark.parametrize("seed", range(6))
def test_incremental_polls_equal_the_full_computation(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    fast, full = _engine(tmp_path, "fast"), _engine(tmp_path, "full")
    floor, parse, now = Floor(rng), Normaliser(), START
    incremental = compared = 0
    for poll in range(70):
        now, new_day = _clock(rng, now)
        doc = floor.step(new_day)
        # Mostly as the hub parses (unchanged agents stay the same objects); sometimes all new objects.
        snapshot = parse(doc) if rng.random() < 0.85 else normalise(doc)
        fail = rng.random() < 0.06
        history_too = rng.random() < 0.5
        swapped = [_read_only(e, ledger=True, history=history_too) for e in (fast, full)] if fail else []
        full._steady = False  # the reference works everything out, every poll
        was_steady = fast._steady
        try:
            got, want = fast.process(snapshot, now), full.process(snapshot, now)
        finally:
            for changes in swapped:
                for owner, name, db in changes:
                    getattr(owner, name).close()
                    setattr(owner, name, db)
        incremental += was_steady and fast._steady
        c = fast.game.comparison if fast.game else None
        compared += bool(c and (c.improved or c.personal_bests) and c.today.before is not None)
        assert got == want, poll
        assert fast.completed == full.completed, poll
        assert fast.shown == full.shown, poll
        assert fast.game == full.game, poll
        assert fast._failing == full._failing, poll
        if rng.random() < 0.05:
            fast.boundary(now)
            full.boundary(now)
        if rng.random() < 0.05:  # the nightly retention trim (keep_days = 1), on the engines' clock
            for engine in (fast, full):
                engine.clock = now.timestamp
                engine.trim()
        if poll % 10 == 9 or fail:
            assert _tables(fast) == _tables(full), (poll, _diff(_tables(fast), _tables(full)))
    assert _tables(fast) == _tables(full)
    assert fast.game is not None and fast.game.progress  # the game was played...
    assert incremental > 20  # ...and most polls took the incremental way
    assert compared > 5  # polls compared with yesterday at this time (most improved, personal bests)
    assert _tables(fast)["awards"], "some awards were made"
    for engine in (fast, full):
        engine.close()


@pytest.mark.parametrize("seed", range(4))
def test_the_measurer_gives_what_measure_gives(tmp_path: Path, seed: int) -> None:
    """The roster's ids and game as the snapshot's; values equal to ``compare.measure``'s after every poll; the rows a superset of those that
    changed (all of them after a full measurement); duplicate ids measured as ``measure`` does."""
    rng = random.Random(seed)
    config = load_config(str(write_config(tmp_path, CONFIG))).config
    measurer, floor, parse, roster = Measurer(config.board), Floor(rng, agents=40), Normaliser(), Roster()
    metrics = {"tickets_solved", "aht_seconds", "csat"}
    before: set[tuple[str, str, str, float]] = set()
    for poll in range(80):
        doc = floor.step(new_day=rng.random() < 0.05)
        snapshot = parse(doc)
        if rng.random() < 0.03:  # duplicate ids: never from the parser, but a Snapshot may have them
            snapshot = Snapshot(snapshot.agents + snapshot.agents[:2])
        known, game = roster.update(snapshot.agents)
        assert known == {a.id for a in snapshot.agents}, poll
        assert game == without_role_models(snapshot).agents, poll
        values, rows, changes = measurer.measure(snapshot.agents, metrics, full=rng.random() < 0.05)
        want_values, want_rows = measure(snapshot, metrics, config.board)
        assert values == want_values and list(values) == list(want_values), poll
        assert all(list(values[k]) == list(want_values[k]) for k in values), poll  # the same order
        if changes is None:
            assert rows == want_rows, poll
        else:
            assert set(want_rows) - before <= set(rows), poll
            assert measurer.rows() == want_rows, poll
        before = set(want_rows)


def test_a_locked_ledger_then_full_polls_again(tmp_path: Path) -> None:
    """After a poll the ledger could not record, the next poll works everything out again and
    pays what the failed poll could not."""
    fast = _engine(tmp_path, "fast")
    parse = Normaliser()
    doc = {"version": 1, "teams": [{"id": "day", "name": "Day"}],
           "agents": [{"id": f"a{i}", "name": f"A{i}", "team": "day", "level": "rookie",
                       "metrics": {"tickets_solved": 1.0}} for i in range(5)]}
    fast.process(parse(doc), START)
    fast.process(parse(doc), START + timedelta(seconds=5))
    assert fast._steady
    doc["agents"][2] = {**doc["agents"][2], "metrics": {"tickets_solved": 6.0}}  # a rookie's target
    swapped = _read_only(fast, ledger=True, history=False)
    assert fast.process(parse(doc), START + timedelta(seconds=10)) == []
    assert not fast._steady and fast._failing
    for owner, name, db in swapped:
        getattr(owner, name).close()
        setattr(owner, name, db)
    awards = fast.process(parse(doc), START + timedelta(seconds=15))  # the same snapshot: nothing "changed"
    assert ("solve", "a2") in [(a.challenge, a.subject) for a in awards]
    assert fast._steady and not fast._failing
    fast.close()


def _diff(a: dict[str, list[tuple[Any, ...]]], b: dict[str, list[tuple[Any, ...]]]) -> str:
    """What differs between two engines' tables, for the assertion's message."""
    out = []
    for k in a:
        sa, sb = set(a[k]), set(b[k])
        out.append(f"{k}: only fast {sorted(sa - sb)[:6]} only full {sorted(sb - sa)[:6]}")
    return "\n".join(out)
