"""Looking at a feed touches no state, a closed pipe ends quietly, the demo pays from its own ledger,
and ``chalkwall points`` reads as a payroll sheet should: real subprocesses, servers and SQLite files."""

from __future__ import annotations

import csv
import hashlib
import io
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

from feeds.connectors.demo import DemoFeed
from feeds.config.schema import load_config
from feeds.board.diff import FeedEventReceived
from feeds.game.engine import Engine
from feeds.game.ledger import Award, Ledger
from feeds.live.feed import open_live_feed
from feeds.connectors.parse import normalise
from feeds.db import DB_NAME
from helpers import FakeClock, FeedServer, agent, doc, write_config

EVENTS = [{"id": "k1", "type": "kudos", "from": "bo", "to": "ada", "text": "Tack!"},
          {"id": "c1", "type": "challenge_completed", "agent": "ada", "challenge": "Solve 20 today", "points": 25}]


def env_for(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CHALKWALL_CONFIG", "STATE_DIRECTORY")}
    env.update(XDG_STATE_HOME=str(tmp_path / "xdg"), PYTHONUNBUFFERED="1")
    return env


def chalkwall(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "display.cli", *args], capture_output=True, text=True,
                          env=env_for(tmp_path), cwd=tmp_path, timeout=60)


def files(*roots: Path) -> dict[str, str]:
    """Every file under ``roots`` and a hash of its bytes: what "untouched" is checked against."""
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest()
            for root in roots if root.exists() for p in sorted(root.rglob("*")) if p.is_file()}


def test_feed_and_feed_watch_touch_no_state_so_a_wall_started_later_still_celebrates(
        server: FeedServer, tmp_path: Path) -> None:
    server.json("/feed", doc(agent("ada", 3, team="day"), agent("bo", 8, team="day"), events=EVENTS))
    state = tmp_path / "state"
    config = write_config(tmp_path, f'[feed]\ntype = "http"\nurl = "{server.url}/feed"\ninterval = 1\n'
                                    f'[state]\ndir = "{state}"\n')
    earlier = Ledger(state)  # a wall has run here before: a real ledger with an award in it
    earlier.award(Award("Solve 5", "agent", "bo", "day:2026-11-01", 10, "feed"))
    earlier.close()
    before = files(state, tmp_path / "xdg")

    once = chalkwall(tmp_path, "feed", "--config", str(config))
    assert once.returncode == 0, once.stderr
    watch = subprocess.Popen([sys.executable, "-m", "display.cli", "feed", "--watch", "--config", str(config)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env_for(tmp_path))
    lines: queue.Queue[str] = queue.Queue()
    assert watch.stdout is not None
    threading.Thread(target=lambda: [lines.put(line) for line in watch.stdout], daemon=True).start()
    shown: list[str] = []
    try:
        while not any("challenge_completed" in line for line in shown):
            shown.append(lines.get(timeout=30))
        deadline = time.monotonic() + 30
        while len(server.requests) < 3:  # and it went on polling, a board and events seen more than once
            assert time.monotonic() < deadline, "feed --watch stopped polling"
            time.sleep(0.1)
    finally:
        watch.send_signal(signal.SIGINT)
        watch.wait(timeout=30)
    assert any("★ kudos" in line for line in shown)
    assert files(state, tmp_path / "xdg") == before

    wall = open_live_feed(load_config(str(config)))
    try:
        wall.coordinator.poll_once()
        celebrated = {e.event.id for e in wall.coordinator.drain_events() if isinstance(e, FeedEventReceived)}
        assert wall.engine is not None
        balances = {s: p for _, s, p, _ in wall.engine.ledger.balances()}
    finally:
        wall.stop()
    assert celebrated == {"k1", "c1"}
    assert balances == {"ada": 30.0, "bo": 10.0}


def closed_pipe_run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run chalkwall with stdout a pipe whose reader is already gone (``| head`` after its lines)."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        return subprocess.run([sys.executable, "-m", "display.cli", *args], stdout=write_end,
                              stderr=subprocess.PIPE, text=True, env=env_for(tmp_path), cwd=tmp_path, timeout=60)
    finally:
        os.close(write_end)


def test_feed_into_a_closed_pipe_exits_quietly_with_the_sigpipe_status(tmp_path: Path) -> None:
    for args in (("feed",), ("feed", "--watch")):
        result = closed_pipe_run(tmp_path, *args)
        assert (args, result.returncode, result.stderr) == (args, 141, "")


DEMO = '[feed]\ntype = "demo"\n[state]\ndir = "{state}"\n'
REAL = '[feed]\ntype = "http"\nurl = "{url}/feed"\n[state]\ndir = "{state}"\n'


def demo_floor(tmp_path: Path, state: Path, minutes: int = 20) -> object:
    """A demo wall run for ``minutes`` of its floor's time; its live feed, not yet stopped."""
    (tmp_path / "demo").mkdir()
    loaded = load_config(str(write_config(tmp_path / "demo", DEMO.format(state=state))))
    live = open_live_feed(loaded)
    clock = FakeClock()
    live.coordinator.adapter = DemoFeed(seed=loaded.config.feed.seed, clock=clock)  # its floor on a fast clock
    for _ in range(minutes):
        clock.advance(60)
        live.coordinator.poll_once()
    return live


def test_a_demo_run_pays_into_its_own_ledger_never_the_one_a_real_feed_pays_from(tmp_path: Path) -> None:
    state = tmp_path / "state"
    live = demo_floor(tmp_path, state)
    live.stop()  # type: ignore[attr-defined]
    assert not (state / DB_NAME).exists()
    demo_ledger = Ledger(state / "demo")
    assert demo_ledger.balances(), "the demo floor earned nothing: the test shows nothing"
    demo_ledger.close()
    real = write_config(tmp_path, REAL.format(url="http://127.0.0.1:9", state=state))
    result = chalkwall(tmp_path, "points", "--config", str(real))
    assert (result.returncode, result.stderr) == (1, f"chalkwall: no points yet: no ledger at {state / DB_NAME}\n")
    shown = chalkwall(tmp_path, "points", "--config", str(tmp_path / "demo" / "config.toml"))
    assert shown.returncode == 0 and shown.stderr == (f"chalkwall: reading the ledger at {state / 'demo' / DB_NAME} "
                                                      "(the demo feed's own, apart from a real feed's)\n")


def test_points_on_the_built_in_demo_says_it_reads_the_demo_ledger(tmp_path: Path) -> None:
    result = chalkwall(tmp_path, "points")  # no config anywhere: the built-in demo
    ledger = tmp_path / "xdg" / "chalkwall" / "demo" / DB_NAME
    assert result.returncode == 1
    assert result.stderr == f"chalkwall: no points yet: no ledger at {ledger} (the demo feed's own, apart from a " \
                            "real feed's)\n"


def test_a_reload_from_the_demo_to_a_real_feed_carries_no_demo_points_or_news(
        server: FeedServer, tmp_path: Path) -> None:
    server.json("/feed", doc(agent("ada", 3, team="day"), agent("bo", 8, team="day"), events=EVENTS))
    state = tmp_path / "state"
    demo = demo_floor(tmp_path, state)
    assert demo.coordinator.state().board is not None  # type: ignore[attr-defined]
    real = load_config(str(write_config(tmp_path, REAL.format(url=server.url, state=state))))
    fresh = open_live_feed(real, after=demo.coordinator)  # type: ignore[attr-defined]
    demo.stop()  # type: ignore[attr-defined]
    fresh.coordinator.take_over(demo.coordinator)  # type: ignore[attr-defined]  # as the app's swap does
    try:
        fresh.coordinator.poll_once()
        # the wall takes a board by its generation: the real feed's first must not look like an old one
        assert fresh.coordinator.state().generation > demo.coordinator.state().generation  # type: ignore[attr-defined]
        news = {e.event.id for e in fresh.coordinator.drain_events() if isinstance(e, FeedEventReceived)}
        assert fresh.engine is not None
        balances = {s: p for _, s, p, _ in fresh.engine.ledger.balances()}
        board = fresh.coordinator.state().board
    finally:
        fresh.stop()
    assert news == {"k1", "c1"}
    assert balances == {"ada": 30.0}
    assert board is not None and {r.agent.id for r in board.agents} == {"ada", "bo"}


POINTS = """
[feed]
type = "http"
url = "http://127.0.0.1:9/feed"
[periods]
timezone = "Europe/Stockholm"
[state]
dir = "{state}"
[[challenges]]
id = "quick"
title = "Handle time under {{target}} s"
kind = "target"
metric = "aht_seconds"
points = 10
target = 300
"""


def test_points_and_its_export_read_as_a_payroll_sheet(tmp_path: Path) -> None:
    state = tmp_path / "state"
    config = write_config(tmp_path, POINTS.format(state=state))
    loaded = load_config(str(config))
    engine = Engine(Ledger(state), loaded.config)
    floor = normalise(doc({"id": "a1", "name": "Åsa Ödegård", "metrics": {}},
                          {"id": "a2", "name": "Борис Петров", "metrics": {}}, events=[
        {"id": "c1", "type": "challenge_completed", "agent": "a1", "challenge": "Solve 20 today", "points": 25,
         "at": "2026-11-22T23:30:00Z"},  # 00:30 on the 23rd in Stockholm
        {"id": "k1", "type": "kudos", "from": "a2", "to": "a1", "text": "Tack!", "at": "2026-11-22T20:00:00Z"}]))
    engine.process(floor, datetime(2026, 11, 22, 23, 30, tzinfo=timezone.utc))
    engine.ledger.award(Award("quick", "agent", "a2", "day:2026-11-24", 2.5, "chalkwall"),
                        datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc))
    engine.close()

    shown = chalkwall(tmp_path, "points", "--config", str(config))
    assert shown.returncode == 0, shown.stderr
    rows = [line.split() for line in shown.stdout.splitlines()[1:]]
    assert rows == [["Åsa", "Ödegård", "agent", "30", "2", "a1"],
                    ["Борис", "Петров", "agent", "2.5", "1", "a2"]]
    assert shown.stderr == f"chalkwall: reading the ledger at {state / DB_NAME}\n"

    export = chalkwall(tmp_path, "points", "export", "--csv", "--config", str(config))
    assert export.returncode == 0, export.stderr
    table = list(csv.DictReader(io.StringIO(export.stdout)))
    assert [(r["subject"], r["name"], r["challenge"], r["challenge_title"], r["points"], r["giver"], r["giver_name"])
            for r in table] == [
        ("a1", "Åsa Ödegård", "feed:solve-20-today", "Solve 20 today", "25", "", ""),
        ("a1", "Åsa Ödegård", "kudos", "Kudos", "5", "a2", "Борис Петров"),
        ("a2", "Борис Петров", "quick", "Handle time under 300 s", "2.5", "", "")]
    assert [r["period"] for r in table] == ["day:2026-11-23", "day:2026-11-22", "day:2026-11-24"]

    day = chalkwall(tmp_path, "points", "export", "--csv", "--since", "2026-11-23", "--until", "2026-11-23",
                    "--config", str(config))
    assert [r["challenge"] for r in csv.DictReader(io.StringIO(day.stdout))] == ["feed:solve-20-today", "kudos"]
    later = chalkwall(tmp_path, "points", "--since", "2026-11-24", "--config", str(config))
    assert [line.split()[-1] for line in later.stdout.splitlines()[1:]] == ["a2"]
    before = chalkwall(tmp_path, "points", "--until", "2026-11-22", "--config", str(config))
    assert before.returncode == 0 and before.stdout.splitlines()[1:] == []
    wrong = chalkwall(tmp_path, "points", "--since", "23/11/2026", "--config", str(config))
    assert wrong.returncode == 2 and "expected a date as YYYY-MM-DD" in wrong.stderr


def test_points_names_an_award_from_before_names_were_kept_by_the_last_board(tmp_path: Path) -> None:
    from feeds.live.state import StoredBoard

    state = tmp_path / "state"
    config = write_config(tmp_path, POINTS.format(state=state))
    ledger = Ledger(state)  # as a ledger written before it kept names: an award alone
    ledger.award(Award("quick", "team", "night", "day:2026-11-24", 10, "chalkwall"))
    ledger.close()
    board = StoredBoard(state)
    board.save(normalise(doc({"id": "a1", "name": "Åsa", "team": "night", "metrics": {}},
                             teams=[{"id": "night", "name": "Nattskiftet"}])), 1_795_000_000.0)
    board.close()
    shown = chalkwall(tmp_path, "points", "--config", str(config))
    assert shown.stdout.splitlines()[1].split() == ["Nattskiftet", "team", "10", "1", "night"]
