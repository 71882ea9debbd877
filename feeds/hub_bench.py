"""``chalkwall bench --hub``: one hub, a real Mosquitto and 50 screens on this machine, measured.

* **the hub's work per poll** (``poll_work``): the whole poll of a 5,000-agent, 10-team floor with
  the default config's challenges — parse, engine, ledger, outbox and the publisher's encoding —
  through a link that only counts, timed in the polling thread's CPU time.
* **the live run** (``run``): Mosquitto (``set_tcp_nodelay true``) started here, the hub
  (:class:`~feeds.publish.hub.HubProcess` in a child process) on a file feed that changes every
  second with a kudos every 5 s, 50 headless screens in two processes (each a real
  :class:`~feeds.bus.link.Link`: persistent session, reconnects, the screen's cursor rule), and one
  real pygame screen (``chalkwall run`` with ``[feed] type = "hub"``); the broker and then the hub
  are restarted mid-run. Latency is from "the hub has the new board" (its poll returned) to "the
  screen has decoded it", both on CLOCK_MONOTONIC, which every process on a host shares.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

NAMES = ("Åsa Ödegård", "Пётр Иванов", "Priya Natarajan", "Zoë Müller", "Märta Lindqvist", "Kwame Mensah")
SITE = "bench"
TEAMS = 10
SCREENS = 50
KUDOS_EVERY = 5.0  # seconds between celebrations
SETTLE = 5.0  # seconds after a fault not counted as steady state


# --- counting (pure: tests/test_hub_bench.py) ---------------------------------------------------

def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) by nearest rank; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(q * (len(ordered) - 1)))))]


def latencies(published: Mapping[tuple[int, float], float], received: Iterable[tuple[int, float, float]],
              skip: Callable[[float], bool] = lambda _t: False) -> list[float]:
    """Seconds from the hub having each board (``published``: (rev, observed_at) -> monotonic time)
    to a screen applying it (``received``: rev, observed_at, monotonic time); boards the hub did not
    log (a retained board from before the run) and those ``skip`` rules out are left out."""
    out = []
    for rev, observed, at in received:
        start = published.get((rev, observed))
        if start is not None and not skip(start):
            out.append(at - start)
    return out


def celebrations(expected: Mapping[str, set[int]], shown: Mapping[str, list[tuple[str, int]]],
                 stream_of_screen: Mapping[str, str]) -> tuple[int, int]:
    """(lost, duplicated) over all screens: each screen should show every seq of its team's stream
    in ``expected`` exactly once; ``shown`` is what each screen put on its wall, in order."""
    lost = duplicated = 0
    for screen, stream in stream_of_screen.items():
        seqs = [seq for s, seq in shown.get(screen, []) if s == stream]
        duplicated += len(seqs) - len(set(seqs))
        lost += len(expected.get(stream, set()) - set(seqs))
    return lost, duplicated


def summary(values_s: list[float]) -> str:
    ms = [v * 1000 for v in values_s]
    if not ms:
        return "no samples"
    return (f"p50 {statistics.median(ms):6.1f} ms  p95 {percentile(ms, 0.95):6.1f} ms  max {max(ms):6.1f} ms"
            f"  ({len(ms):,} samples)")


# --- the floor -----------------------------------------------------------------------------------

class Floor:
    """A canonical document of ``agents`` in ``teams``: a twentieth of them solve a ticket each
    call; ``kudos`` adds a thank-you between two colleagues (senders rotate: 3 a day each). Counts
    start low, so that within a run nobody reaches the default challenges' targets (30, 40): the
    celebrations are the kudos alone, one every 5 s as the issue asks."""

    def __init__(self, agents: int = 5000, teams: int = TEAMS, seed: int = 1) -> None:
        self.rng = random.Random(seed)
        self.teams = [{"id": f"t{i}", "name": f"Team {i}"} for i in range(teams)]
        self.agents = [{"id": f"a{i}", "name": f"{NAMES[i % len(NAMES)]} {i}", "team": f"t{i % teams}",
                        "level": ("rookie", "pro", "expert")[i % 3],
                        "metrics": {"tickets_solved": self.rng.randint(0, 10), "csat": 4.5, "csat_count": 6,
                                    "aht_seconds": self.rng.randint(200, 500), "quality": 90.0}}
                       for i in range(agents)]
        self.events: list[dict[str, Any]] = []
        self.kudos_n = 0

    def kudos(self) -> None:
        self.kudos_n += 1
        n = len(self.agents)
        giver, taker = (self.kudos_n * 7) % n, (self.kudos_n * 7 + 1) % n
        self.events = [*self.events, {"id": f"bench-k{self.kudos_n}", "type": "kudos", "from": f"a{giver}",
                                      "to": f"a{taker}", "text": "Tack för hjälpen!"}][-20:]

    def next(self) -> bytes:
        for record in self.rng.sample(self.agents, max(1, len(self.agents) // 20)):
            record["metrics"]["tickets_solved"] += 1
        return json.dumps({"version": 1, "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                           "teams": self.teams, "agents": self.agents, "events": self.events},
                          ensure_ascii=False).encode()


def write_atomically(path: Path, body: bytes) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(body)
    tmp.replace(path)


def hub_config(directory: Path, feed: Path, port: int, interval: float = 1.0) -> Path:
    """The default config's board and challenges, on ``feed``, publishing to the broker on ``port``."""
    text = (Path(__file__).resolve().parent.parent / "config.toml").read_text(encoding="utf-8")
    text = text.replace('type = "demo"', f'type = "file"\npath = "{feed}"', 1)
    text = text.replace("interval = 2 ", f"interval = {interval} ", 1)
    text = text.replace("[state]\n", f'[state]\ndir = "{directory / "hub-state"}"\n', 1)
    text += f'\n[hub]\nbroker = "mqtt://127.0.0.1:{port}"\nsite = "{SITE}"\nscreens = ["wall-0"]\n'
    path = directory / "hub.toml"
    path.write_text(text, encoding="utf-8")
    return path


# --- the hub's work per poll --------------------------------------------------------------------

class _CountingLink:
    """A link that is always up and only counts (``keep``: and keeps each message, topic and body)."""

    def __init__(self, keep: bool = False) -> None:
        self.messages = self.bytes = 0
        self.keep, self.sent = keep, []  # type: list[tuple[str, bytes]]

    def status(self) -> Any:
        return type("Up", (), {"connected": True})()

    def publish(self, topic: str, body: bytes, *, retain: bool = False, expiry: int | None = None,
                on_ack: Callable[[int], None] | None = None, qos: int = 1) -> None:
        self.messages, self.bytes = self.messages + 1, self.bytes + len(body)
        if self.keep:
            self.sent.append((topic, body))
        if on_ack is not None:
            on_ack(0)


class BenchHub:
    """The hub's own coordinator, engine, ledger, outbox and publisher on ``floor`` written to a file in
    ``directory`` (the default config's board and challenges), publishing into a :class:`_CountingLink`:
    what :func:`poll_work` times, and what tests of the publisher drive poll by poll."""

    def __init__(self, directory: Path, floor: Floor, keep: bool = False) -> None:
        from feeds.config.schema import load_config
        from feeds.db import feed_state_dir
        from feeds.live.feed import open_live_feed
        from feeds.publish.hub import OutboxSeen, Publisher
        from feeds.publish.outbox import Outbox

        self.floor, self.feed = floor, directory / "floor.json"
        write_atomically(self.feed, floor.next())
        self.loaded = load_config(str(hub_config(directory, self.feed, 1883)))
        cfg = self.loaded.config
        assert cfg.hub is not None
        state = feed_state_dir(cfg.state.dir, cfg.feed.type)
        self.outbox, holder = Outbox(state), []  # type: ignore[var-annotated]
        self.seen = OutboxSeen(state, lambda: holder[0].coordinator.snapshot if holder else None, time.time)
        self.live = open_live_feed(self.loaded, seen=self.seen, rank=False)
        holder.append(self.live)
        self.coordinator = self.live.coordinator
        self.link = _CountingLink(keep)
        self.publisher = Publisher(cfg.hub, self.coordinator, self.outbox, self.link)  # type: ignore[arg-type]

    def write(self) -> None:
        """The floor's next document, in place for the next poll."""
        write_atomically(self.feed, self.floor.next())

    def close(self) -> None:
        self.live.stop()
        self.seen.close()
        self.outbox.close()


def poll_work(agents: int = 5000, polls: int = 30, report: Callable[[str], None] = print) -> dict[str, list[float]]:
    """The hub's whole poll (coordinator + publisher) ``polls`` times; CPU seconds of each."""
    import logging

    from feeds.live.gcpace import GcPacer
    from feeds.logs import LOGGER

    directory = Path(tempfile.mkdtemp(prefix="chalkwall-hubpoll-"))
    quiet = logging.getLogger(LOGGER)
    level = quiet.level
    quiet.setLevel(logging.WARNING)  # not a "celebration" line per kudos
    try:
        hub = BenchHub(directory, Floor(agents))
        link, floor = hub.link, hub.floor
        pacer = GcPacer()
        pacer.start()
        work, coordinator_t, publish_t = [], [], []
        for n in range(polls + 3):
            if n % int(KUDOS_EVERY) == 0:
                floor.kudos()
            hub.write()
            t0 = time.thread_time()
            hub.coordinator.poll_once()
            t1 = time.thread_time()
            hub.publisher.publish()
            pacer.after_poll()  # as the hub's main thread does after each publish
            t2 = time.thread_time()
            if n >= 3:  # the first polls fill the caches
                work.append(t2 - t0), coordinator_t.append(t1 - t0), publish_t.append(t2 - t1)
        hub.close()
        report(f"hub work per poll, {agents:,} agents in {TEAMS} teams, default challenges, {polls} polls (CPU time):")
        report(f"  parse + engine          {summary(coordinator_t)}")
        report(f"  publish (encode)        {summary(publish_t)}")
        report(f"  whole poll              {summary(work)}")
        report(f"  {link.messages / (polls + 3):.0f} messages, {link.bytes / (polls + 3) / 1e6:.2f} MB a poll")
        return {"work": work, "coordinator": coordinator_t, "publish": publish_t}
    finally:
        quiet.setLevel(level)
        shutil.rmtree(directory, ignore_errors=True)


# --- processes -------------------------------------------------------------------------------------

def proc_usage(pid: int) -> tuple[float, int]:
    """(CPU seconds, RSS KiB) of a process from /proc; (0, 0) once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        rss = next(int(line.split()[1]) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                   if line.startswith("VmRSS:"))
        return cpu, rss
    except (OSError, StopIteration, IndexError, ValueError):
        return 0.0, 0


class Broker:
    """Mosquitto on a loopback port, persistence on, Nagle off (hub-mqtt.md §6)."""

    def __init__(self, directory: Path, port: int) -> None:
        self.directory, self.port = directory, port
        self.proc: subprocess.Popen[bytes] | None = None
        directory.mkdir(parents=True, exist_ok=True)
        run_as = "user root\n" if os.geteuid() == 0 else ""
        (directory / "mosquitto.conf").write_text(
            f"{run_as}listener {port} 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay true\npersistence true\n"
            f"persistence_location {directory}/\nlog_dest file {directory}/mosquitto.log\n")

    def start(self) -> None:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.proc = subprocess.Popen([binary, "-c", str(self.directory / "mosquitto.conf")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)


def wait_port(port: int, timeout: float = 10.0) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def child(log: Path, *args: str) -> subprocess.Popen[bytes]:
    """``python -m feeds.hub_bench_run ARGS``, its output into ``log`` (50 screens' reconnect lines)."""
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "feeds.hub_bench_run", *args], stdout=out,
                                stderr=subprocess.STDOUT, cwd=Path(__file__).resolve().parent.parent)
