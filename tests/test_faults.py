"""Faults in a real subprocess: the feed down for a long stretch, kill -9 and restart, a full disk
and a read-only state directory. The wall must ride through each with the last good board on
screen, lose no points and repeat no celebration."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from helpers import FeedServer, WallProcess, agent, doc, write_config


def floor(*events: dict) -> dict:
    return doc(agent("åsa", 9), agent("олег", 12), agent("li", 3), events=list(events))


def recent(seconds_ago: float = 30) -> str:
    return datetime.fromtimestamp(time.time() - seconds_ago, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def config_for(tmp_path: Path, url: str) -> Path:
    return write_config(tmp_path, f'[feed]\ntype = "http"\nurl = "{url}/floor"\ninterval = 0.5\nstale_after = 2\n'
                                  '[points]\nkudos = 5\n'
                                  '[[challenges]]\nid = "solve"\ntitle = "Solve {target} tickets today"\n'
                                  'kind = "target"\nmetric = "tickets_solved"\npoints = 20\ntarget = 5\n')


def ledger(state: Path) -> list[tuple[str, str, float]]:
    db = sqlite3.connect(state / "chalkwall" / "chalkwall.sqlite3")
    try:
        return sorted(db.execute("SELECT challenge, subject, points FROM awards").fetchall())
    finally:
        db.close()


def test_an_outage_then_kill_9_and_a_restart_lose_nothing_and_repeat_nothing(tmp_path: Path) -> None:
    server = FeedServer().start()
    server.json("/floor", floor({"id": "c1", "type": "challenge_completed", "at": recent(), "agent": "олег",
                                 "challenge": "Beat the queue", "points": 50},
                                {"id": "k1", "type": "kudos", "at": recent(), "from": "li", "to": "åsa"}))
    config, state = config_for(tmp_path, server.url), tmp_path / "state"
    wall = WallProcess(config, state)
    try:
        up = wall.wait_status(lambda s: (s.get("board") or {}).get("leader") == "Олег")
        wall.wait_for(lambda r: r.get("event") == "banner_shown" and "c1" in r["key"].split("+"), timeout=10)
        awarded = ledger(state)
        assert ("Beat the queue", "олег", 50.0) in awarded and ("solve", "олег", 20.0) in awarded
        assert ("solve", "åsa", 20.0) in awarded and not [a for a in awarded if a[1] == "li" and a[0] == "solve"]

        # The feed goes down for a long stretch: the board stays, marked stale, the process lives.
        server.stop()
        wall.wait_for(lambda r: r.get("event") == "feed_error", timeout=10)
        down = wall.wait_status(lambda s: s["stale"] and any("feed unreachable" in n for n in s["notices"]))
        assert down["board"] == {**up["board"], "generation": down["board"]["generation"]} and down["pid"] == up["pid"]
        time.sleep(6)
        assert wall.proc.poll() is None and wall.status()["stale"]

        # It comes back on the same port: recovered by itself, the notice gone.
        server = FeedServer(port=server.port)
        server.json("/floor", floor())  # the events have scrolled out of the feed by now
        server.start()
        wall.wait_for(lambda r: r.get("event") == "feed_recovered", timeout=30)
        wall.wait_status(lambda s: not s["stale"] and not s["notices"], timeout=10)
        shown = {key for r in wall.events("banner_shown") for key in r["key"].split("+")}
    finally:
        wall.kill()  # kill -9: no clean stop of any kind

    # Restarted while the feed is down again: the same board at once, stale, no repeated banner.
    server.stop()
    again = WallProcess(config, state)
    try:
        back = again.wait_status(lambda s: s["pid"] != up["pid"], timeout=15)  # the new process's first report
        assert back["board"]["leader"] == "Олег" and back["board"]["agents"] == 3 and back["stale"]
        assert any(n.startswith("data from ") for n in back["notices"])
        server = FeedServer(port=server.port)
        server.json("/floor", floor({"id": "c1", "type": "challenge_completed", "at": recent(), "agent": "олег",
                                     "challenge": "Beat the queue", "points": 50}))  # listed again by the feed
        server.start()
        again.wait_status(lambda s: not s["stale"], timeout=30)
        time.sleep(2)  # a few polls with the old completion in them
        repeated = [r for r in again.events("banner_shown") if set(r["key"].split("+")) & (shown | {"c1"})]
        assert not repeated, [(r["key"], r["message"]) for r in repeated]
        assert ledger(state) == awarded  # nothing lost, nothing counted twice
    finally:
        code = again.stop()
        server.stop()
    assert code == 0 and "Traceback" not in "".join(wall.lines + again.lines)


def tiny_disk(mountpoint: Path, options: str) -> tuple[str, ...]:
    """A command prefix that runs its command with a small tmpfs at ``mountpoint`` (in a private
    mount namespace, so nothing is left mounted if the test dies)."""
    if not shutil.which("unshare"):
        pytest.skip("unshare (util-linux) is missing")
    mountpoint.mkdir(parents=True, exist_ok=True)
    script = 'mount -t tmpfs -o "$0" chalkwall-test "$1" && shift && exec "$@"'
    for prefix in (("unshare", "-m"), ("unshare", "-rm")):  # as root; else in a user namespace
        probe = subprocess.run([*prefix, "sh", "-c", script, options, str(mountpoint), "true"], capture_output=True)
        if probe.returncode == 0:
            return (*prefix, "sh", "-c", script, options, str(mountpoint))
    if os.environ.get("CI"):
        pytest.fail(f"cannot mount a tmpfs here: {probe.stderr.decode().strip()}")
    pytest.skip(f"cannot mount a tmpfs here: {probe.stderr.decode().strip()}")


def test_a_read_only_state_directory_gets_one_clear_line_and_the_wall_runs(tmp_path: Path) -> None:
    server = FeedServer().start()
    server.json("/floor", floor({"id": "k1", "type": "kudos", "at": recent(), "from": "li", "to": "åsa"}))
    state = tmp_path / "state"
    prefix = tiny_disk(state, "ro,size=64k")
    wall = WallProcess(config_for(tmp_path, server.url), state, prefix, runtime=tmp_path / "run")
    try:
        wall.wait_status(lambda s: (s.get("board") or {}).get("agents") == 3 and s["fps"] > 0, timeout=15)
        problems = [r for _, r in wall.records if r["level"] == "error"]
        assert problems and all("Read-only file system" in r["message"] or "readonly" in r["message"].lower()
                                for r in problems), problems
        assert {r["event"] for r in problems} <= {"state_unwritable", "ledger_unavailable", "thanks_unavailable"}
        time.sleep(2)  # polls go on; the errors are not repeated every poll
        assert len([r for _, r in wall.records if r["level"] == "error"]) == len(problems)
        assert wall.wait_status(lambda s: s["uptime_s"] > 3)["board"]["agents"] == 3
    finally:
        code = wall.stop()
        server.stop()
    assert code == 0 and "Traceback" not in "".join(wall.lines)


def test_a_disk_that_fills_up_while_running_gets_one_clear_line_and_the_wall_runs(tmp_path: Path) -> None:
    server = FeedServer().start()
    polls = {"n": 0}

    def busy_floor(headers: dict[str, str]):  # a new kudos every poll: something to write every time
        from helpers import Reply

        polls["n"] += 1
        body = floor(*[{"id": f"k{i}", "type": "kudos", "at": recent(), "from": "li", "to": "åsa"}
                       for i in range(polls["n"] - 20, polls["n"]) if i >= 0])
        return Reply(200, json.dumps(body).encode(), {"Content-Type": "application/json"})

    server.routes["/floor"] = busy_floor
    state = tmp_path / "state"
    prefix = tiny_disk(state, "size=1m")
    wall = WallProcess(config_for(tmp_path, server.url), state, prefix, runtime=tmp_path / "run")
    try:
        wall.wait_status(lambda s: (s.get("board") or {}).get("agents") == 3 and s["fps"] > 0, timeout=15)
        time.sleep(1)
        inside = Path(f"/proc/{wall.proc.pid}/root") / str(state).lstrip("/")  # the tmpfs, seen from here
        with open(inside / "filler", "wb", buffering=0) as filler:  # to the last byte; unbuffered: close has no rest
            try:
                while True:
                    filler.write(b"\0" * 65536)
                    filler.flush()
            except OSError as exc:
                assert exc.errno == 28  # ENOSPC
        _, first = wall.wait_for(lambda r: r.get("level") == "error", timeout=20)
        assert first["event"] in ("state_unwritable", "ledger_error") and "full" in first["message"]
        polled = polls["n"]
        time.sleep(3)
        assert polls["n"] > polled + 2 and wall.proc.poll() is None  # still polling, still drawing
        errors = [r["event"] for _, r in wall.records if r["level"] == "error"]
        assert len(errors) == len(set(errors)) <= 3  # each trouble said once, not once per poll
        assert wall.wait_status(lambda s: time.time() - s["updated"] < 6)["board"]["agents"] == 3
    finally:
        code = wall.stop()
        server.stop()
    assert code == 0 and "Traceback" not in "".join(wall.lines)
