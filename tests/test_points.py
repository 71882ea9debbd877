"""The points ledger and engine: exactly once, kudos limits, export — on a real SQLite file."""

from __future__ import annotations

import csv
import io
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from feeds.config.schema import load_config
from feeds.game.engine import Engine
from feeds.game.ledger import Award, Ledger
from feeds.logs import setup_logging
from feeds.connectors.parse import normalise
from helpers import agent, doc, write_config

NOW = datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)


def completion(n: int, who: str = "ann", at: str | None = "2026-11-23T09:00:00Z", points: float = 10) -> dict:
    out = {"id": f"c{n}", "type": "challenge_completed", "agent": who, "challenge": f"Solve {n}", "points": points}
    if at:
        out["at"] = at
    return out


def kudos(n: int, giver: str, taker: str, at: str = "2026-11-23T09:00:00Z") -> dict:
    return {"id": f"k{n}", "type": "kudos", "from": giver, "to": taker, "text": "Tack!", "at": at}


def engine(tmp_path: Path, extra: str = "") -> Engine:
    config = load_config(str(write_config(tmp_path, f'[periods]\ntimezone = "Europe/Stockholm"\n{extra}'))).config
    return Engine(Ledger(tmp_path / "state"), config)


def test_each_completion_is_awarded_once(tmp_path: Path) -> None:
    eng = engine(tmp_path)
    snap = normalise(doc(agent("ann", 1), events=[completion(1), completion(2, "bob", points=25)]))
    assert [(a.subject, a.points, a.period) for a in eng.process(snap, NOW)] == [
        ("ann", 10, "day:2026-11-23"), ("bob", 25, "day:2026-11-23")]
    assert eng.process(snap, NOW) == []  # the same events polled again
    eng.ledger.close()
    again = engine(tmp_path)  # a restart: the same file
    assert again.process(snap, NOW) == []
    assert again.ledger.balances() == [("agent", "bob", 25.0, 1), ("agent", "ann", 10.0, 1)]


def test_an_event_without_a_time_is_still_once_after_midnight(tmp_path: Path) -> None:
    eng = engine(tmp_path)
    snap = normalise(doc(events=[completion(1, at=None)]))
    assert len(eng.process(snap, NOW)) == 1
    assert eng.process(snap, datetime(2026, 11, 24, 10, tzinfo=timezone.utc)) == []  # another day, same event


def test_the_same_challenge_can_be_won_again_in_the_next_period(tmp_path: Path) -> None:
    eng = engine(tmp_path)
    first = normalise(doc(events=[completion(1, at="2026-11-23T09:00:00Z")]))
    second = normalise(doc(events=[dict(completion(1, at="2026-11-24T09:00:00Z"), id="c1-next")]))
    assert len(eng.process(first, NOW)) == 1 and len(eng.process(second, NOW)) == 1
    dup = normalise(doc(events=[dict(completion(1, at="2026-11-23T11:00:00Z"), id="c1-again")]))
    assert eng.process(dup, NOW) == []  # same challenge, agent and day: the key says once


def test_kudos_earn_points_limited_per_sender_per_day(tmp_path: Path) -> None:
    eng = engine(tmp_path, "[points]\nkudos = 2\nkudos_per_sender_per_day = 2\n")
    events = [kudos(1, "bob", "ann"), kudos(2, "bob", "cat"), kudos(3, "bob", "ann"), kudos(4, "cat", "ann"),
              kudos(5, "ann", "ann"), kudos(6, "bob", "ann", at="2026-11-24T08:00:00Z")]
    floor = [agent("ann", 1), agent("bob", 1), agent("cat", 1)]  # only the floor's own kudos pay
    awarded = eng.process(normalise(doc(*floor, events=events)), NOW)
    assert [(a.subject, a.giver) for a in awarded] == [("ann", "bob"), ("cat", "bob"), ("ann", "cat"), ("ann", "bob")]
    assert dict((s, p) for _, s, p, _ in eng.ledger.balances()) == {"ann": 6.0, "cat": 2.0}


def test_export_csv_lists_every_award(tmp_path: Path) -> None:
    from feeds.game.payout import Report, export_csv

    eng = engine(tmp_path)
    eng.process(normalise(doc(agent("ann", 1), agent("bob", 1), events=[completion(1), kudos(2, "bob", "ann")])), NOW)
    out = io.StringIO()
    assert export_csv(Report(eng.ledger, eng.config).awards(), out) == 2
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [(r["subject"], r["challenge"], r["challenge_title"], r["points"], r["source"], r["giver"]) for r in rows] \
        == [("ann", "feed:solve-1", "Solve 1", "10", "feed", ""), ("ann", "kudos", "Kudos", "5", "kudos", "bob")]


def test_each_award_is_one_celebration_log_record(tmp_path: Path) -> None:
    eng = engine(tmp_path)
    stream = io.StringIO()
    setup_logging("json", "info", stream)
    try:
        snap = normalise(doc(agent("ann", 1), events=[completion(1)]))
        eng.process(snap, NOW)
        eng.process(snap, NOW)
    finally:
        setup_logging("plain", "warning")
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [(r["event"], r["challenge"], r["subject"], r["name"], r["period"], r["points"]) for r in records] == [
        ("celebration", "Solve 1", "ann", "Ann", "day:2026-11-23", 10.0)]


def test_the_ledger_is_wal_and_unique(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path)
    assert ledger.award(Award("x", "team", "night", "day:2026-11-23", 5, "chalkwall"))
    assert not ledger.award(Award("x", "team", "night", "day:2026-11-23", 5, "chalkwall"))
    db = sqlite3.connect(ledger.path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_kill_9_at_any_moment_loses_nothing_and_repeats_nothing(tmp_path: Path) -> None:
    """A real process polls a feed that keeps gaining completions; it is killed -9 at random
    moments and restarted. In the end every completion is in the ledger exactly once."""
    feed = tmp_path / "feed.json"
    state = tmp_path / "state"
    config = write_config(tmp_path, f'[feed]\ntype = "file"\npath = "feed.json"\ninterval = 0.5\n'
                                    f'[state]\ndir = "{state}"\n[periods]\ntimezone = "UTC"\n'
                                    '[[challenges]]\nid = "one"\ntitle = "One"\nkind = "target"\n'
                                    'metric = "tickets_solved"\ntarget = 1\npoints = 7\n')
    env = {k: v for k, v in os.environ.items() if k not in ("CHALKWALL_CONFIG", "DISPLAY")}
    env.update(SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy", XDG_STATE_HOME=str(tmp_path / "xdg"),
               RUNTIME_DIRECTORY=str(tmp_path / "run"))
    wall = [sys.executable, "-m", "display.cli", "run", "--windowed", "--size", "640x360", "--log-format", "json",
            "--config", str(config)]  # the wall pays; `feed --watch` only looks
    rng = random.Random(4)
    total = 0
    logs = []

    def publish(n: int) -> None:
        tmp = feed.with_suffix(".tmp")  # atomic replace, as a well-behaved exporter writes
        tmp.write_text(json.dumps(doc(agent("ann", 1), agent("bob", 2),
                                      events=[completion(i, ("ann", "bob")[i % 2]) for i in range(n)])))
        os.replace(tmp, feed)

    for _ in range(8):
        total += rng.randint(3, 12)
        publish(total)
        proc = subprocess.Popen(wall, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(rng.uniform(0.6, 1.8))
        proc.send_signal(signal.SIGKILL)
        logs.append(proc.communicate(timeout=10)[1])
    proc = subprocess.Popen(wall, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    db_path = state / "chalkwall.sqlite3"
    while time.monotonic() < deadline:
        time.sleep(0.3)
        if db_path.exists():
            count = sqlite3.connect(db_path).execute("SELECT COUNT(*) FROM awards").fetchone()[0]
            if count >= total + 2:
                break
    proc.terminate()
    logs.append(proc.communicate(timeout=10)[1])
    rows = sqlite3.connect(db_path).execute("SELECT event_id, subject, points FROM awards WHERE challenge != 'one' "
                                            "ORDER BY id").fetchall()
    assert sorted(r[0] for r in rows) == sorted(f"c{i}" for i in range(total))  # none lost, none twice
    assert sum(r[2] for r in rows) == 10 * total
    own = sqlite3.connect(db_path).execute("SELECT subject, points FROM awards WHERE challenge = 'one'").fetchall()
    assert sorted(own) == [("ann", 7.0), ("bob", 7.0)]  # chalkwall's own challenge: once each, across the kills
    logged = [json.loads(line)["event_id"] for text in logs for line in text.splitlines()
              if line.startswith("{") and json.loads(line)["event"] == "celebration"]
    assert len(logged) == len(set(logged))  # no completion celebrated twice across the restarts


def test_what_the_feed_showed_while_the_ledger_failed_is_recorded_once_it_works(tmp_path: Path) -> None:
    eng = engine(tmp_path)
    path = eng.ledger.path
    eng.ledger._db.close()  # the disk went away: every write now fails with a real sqlite3 error
    stream = io.StringIO()
    setup_logging("json", "info", stream)
    try:
        assert eng.process(normalise(doc(agent("ann", 1), events=[completion(1)])), NOW) == []
        assert eng.process(normalise(doc(agent("ann", 1), events=[completion(2)])), NOW) == []  # 1 scrolled out
        eng.ledger._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)  # the disk is back
        fresh = eng.process(normalise(doc(agent("ann", 1), events=[completion(3)])), NOW)
    finally:
        setup_logging("plain", "warning")
    assert sorted(a.challenge for a in fresh) == ["Solve 1", "Solve 2", "Solve 3"]
    assert [json.loads(line)["event"] for line in stream.getvalue().splitlines()
            if json.loads(line)["event"] != "celebration"] == ["ledger_error", "ledger_recovered"]
    assert eng.process(normalise(doc(agent("ann", 1), events=[completion(3)])), NOW) == []  # and only once
