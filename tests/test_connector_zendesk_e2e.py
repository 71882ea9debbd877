"""The Zendesk connector end to end, in real processes: ``chalkwall run`` against the fake Zendesk
on the real clock publishes the scenario's numbers, ``chalkwall feed`` prints them without the
secret, and a poll loop killed with SIGKILL mid-backfill resumes from its saved cursor to the same
numbers as a clean run."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from fakes.scenario import Scenario, make_scenario
from fakes.zendesk import ZendeskFake
from feeds.connectors.zendesk import EXPORT
from helpers import ROOT, WallProcess, write_config

pytestmark = pytest.mark.slow


def evening_zone() -> str:
    """A fixed-offset zone where it is 22:xx now: the scenario's whole day (07:00 to about 21:30)
    is over, and midnight is more than an hour away."""
    offset = (22 - datetime.now(timezone.utc).hour) % 24
    offset = offset - 24 if offset > 14 else offset
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"


def board(state: Path) -> dict[str, dict[str, float]] | None:
    """The numbers the connector last published, from the state file's connector_state table."""
    try:
        with sqlite3.connect(state / "chalkwall.sqlite3") as db:
            row = db.execute("SELECT snapshot FROM connector_state WHERE snapshot IS NOT NULL").fetchone()
    except sqlite3.Error:
        return None
    if row is None:
        return None
    return {a["id"]: {k: float(v) for k, v in a["metrics"].items()} for a in json.loads(row[0])["agents"]}


def expected(sc: Scenario, now: float) -> dict[str, dict[str, float]]:
    return {aid: {k: float(v) for k, v in row.items() if v is not None}
            for aid, row in sc.expected(now, "zendesk").items()}


def test_chalkwall_run_publishes_the_scenarios_numbers_and_chalkwall_feed_prints_them_without_the_secret(
        tmp_path: Path) -> None:
    zone = evening_zone()
    today = datetime.now(ZoneInfo(zone)).date()
    sc = make_scenario(day=today, tz=zone)
    fake = ZendeskFake(sc, time.time).start()
    (tmp_path / "zd.token").write_text(ZendeskFake.TOKEN)
    state = tmp_path / "state"
    config = write_config(tmp_path, f'[feed]\ntype = "zendesk"\nbase_url = "{fake.base_url}"\n[feed.auth]\n'
                                    f'email = "{ZendeskFake.EMAIL}"\ntoken_file = "zd.token"\n'
                                    f'[periods]\ntimezone = "{zone}"\n[state]\ndir = "{state}"\n')
    wall = WallProcess(config, tmp_path / "xdg", runtime=tmp_path / "run")
    try:
        deadline = time.monotonic() + 40
        while (found := board(state)) != expected(sc, time.time()) and time.monotonic() < deadline:
            assert wall.proc.poll() is None, "chalkwall exited:\n" + "".join(wall.lines)
            time.sleep(0.2)
        assert found == expected(sc, time.time()), "".join(wall.lines[-20:])
        assert ZendeskFake.TOKEN not in json.dumps(wall.wait_status(lambda s: bool(s)))
    finally:
        assert wall.stop() == 0
    assert ZendeskFake.TOKEN not in "".join(wall.lines)
    done = subprocess.run([sys.executable, "-m", "display.cli", "feed", "--config", str(config)], capture_output=True,
                          text=True, timeout=60, env={k: v for k, v in os.environ.items() if k != "CHALKWALL_CONFIG"})
    fake.stop()
    assert done.returncode == 0, done.stderr
    assert ZendeskFake.TOKEN not in done.stdout + done.stderr
    printed = json.loads(done.stdout)
    assert printed["feed"] == "zendesk" and ZendeskFake.EMAIL not in done.stdout
    text = json.dumps(printed)
    assert all(f'"{p.id}"' in text for p in sc.roster())


def loop(fake: ZendeskFake, tmp_path: Path, sc: Scenario, base: float, t0: float, speed: float) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), str(ROOT)])}
    return subprocess.Popen([sys.executable, str(ROOT / "tests" / "zendesk_loop.py"), fake.base_url,
                             str(tmp_path / "state"), str(tmp_path), sc.tz, repr(base), repr(t0), str(speed),
                             ZendeskFake.EMAIL], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def test_a_poll_loop_killed_mid_backfill_resumes_from_its_saved_cursor_to_a_clean_runs_numbers(tmp_path: Path) -> None:
    sc = make_scenario()
    base, t0, speed = sc.at(22), time.time(), 30.0  # 22:00 on the scenario's day, half a minute a second

    def clock() -> float:
        return base + (time.time() - t0) * speed

    fake = ZendeskFake(sc, clock, max_page=10).start()  # ~15 pages: at 2.5 a minute, several polls
    (tmp_path / "zd.token").write_text(ZendeskFake.TOKEN)
    try:
        first = loop(fake, tmp_path, sc, base, t0, speed)
        deadline = time.monotonic() + 20
        while len(fake.calls(EXPORT)) < 4 and time.monotonic() < deadline:
            assert first.poll() is None, first.communicate()[1]
            time.sleep(0.01)
        first.kill()  # SIGKILL: no clean-up of any kind
        assert first.wait(timeout=10) == -signal.SIGKILL  # killed, not finished: the backfill was under way
        before = fake.calls(EXPORT)
        assert len(before) >= 4
        resumed_from = _after_cursor(fake, before[-1])
        second = loop(fake, tmp_path, sc, base, t0, speed)
        _, err = second.communicate(timeout=60)
        assert second.returncode == 0, err
        after = fake.calls(EXPORT)[len(before):]
        assert after[0].arg("start_time") is None
        assert after[0].arg("cursor") in {resumed_from, *(q.arg("cursor") for q in before)}
        assert after[0].arg("cursor") != before[0].arg("cursor") or len(before) == 1
        assert board(tmp_path / "state") == expected(sc, sc.day_end() - 1)
        assert len(before) + len(after) <= 2 * 15
    finally:
        fake.stop()


def _after_cursor(fake: ZendeskFake, request: Any) -> str:
    """The cursor the fake gave in answer to ``request`` (asked again: nothing changes after 21:30)."""
    params = {k: v[-1] for k, v in request.query.items()}
    reply = httpx.get(fake.base_url + request.path, params=params, auth=(f"{fake.EMAIL}/token", fake.TOKEN))
    return str(reply.json()["after_cursor"])
