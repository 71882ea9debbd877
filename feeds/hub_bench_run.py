"""The live half of ``chalkwall bench --hub`` (see :mod:`feeds.hub_bench`): its child processes and
the run that starts them, restarts the broker and the hub mid-way, and counts.

``python -m feeds.hub_bench_run hub CONFIG LOG`` runs a :class:`~feeds.publish.hub.HubProcess` that
logs each new board's monotonic time and each poll's CPU time; ``… screens PORT FIRST COUNT SECONDS
OUT`` runs COUNT headless screens, each a real :class:`~feeds.bus.link.Link` (persistent session,
reconnects by itself) with the real :class:`~feeds.bus.cursor.Inbox` and its cursor on disk, which
decide what a wall would show, subscribed as a real screen of its team is (its board, game part,
events, and the site's game); each screen notes when it has decoded each board, and decodes the game.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from feeds.db import DB_NAME
from feeds.hub_bench import (SCREENS, SETTLE, SITE, TEAMS, Broker, Floor, celebrations, child, free_port, hub_config,
                             latencies, percentile, poll_work, proc_usage, summary, write_atomically, KUDOS_EVERY)


def hub_child(config: str, out: str) -> int:
    from feeds.config.schema import load_config
    from feeds.publish.hub import HubProcess

    process = HubProcess(load_config(config))
    coordinator, publisher = process.live.coordinator, process.publisher
    poll, publish = coordinator.poll_once, publisher.publish
    log, lock, last = open(out, "a", encoding="utf-8"), threading.Lock(), [0]

    def write(record: dict[str, Any]) -> None:
        with lock:
            log.write(json.dumps(record) + "\n")
            log.flush()

    def timed_poll() -> bool:
        t0 = time.thread_time()
        ok = poll()
        cpu, state = time.thread_time() - t0, coordinator.state()
        if state.generation != last[0]:  # a new board: "the hub has it" now
            last[0] = state.generation
            write({"t": "board", "rev": state.generation, "observed_at": state.last_success, "at": time.monotonic(),
                   "cpu": cpu})
        return ok

    def timed_publish() -> None:
        t0, start = time.thread_time(), time.monotonic()
        publish()
        write({"t": "publish", "cpu": time.thread_time() - t0, "start": start, "end": time.monotonic(),
               "rev": coordinator.state().generation})

    coordinator.poll_once = timed_poll  # type: ignore[method-assign]
    publisher.publish = timed_publish  # type: ignore[method-assign]
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: process.stop())
    return process.run()


class Screen:
    """One headless wall of ``team``: what it decoded and what its inbox let it show."""

    def __init__(self, name: str, team: str, directory: Path) -> None:
        from feeds.bus.boards import Boards
        from feeds.bus.cursor import Cursor, Inbox
        from feeds.bus.topics import Topics, stream_of, team_level
        from feeds.live.hubgame import TeamParts

        self.name, self.team, self.stream, self.topics = name, team, stream_of(team), Topics(SITE)
        self.mirror = Boards(self.topics, [team_level(team)])  # whole boards to begin, then the hub's changes
        directory.mkdir(parents=True, exist_ok=True)
        self.inbox = Inbox(Cursor(directory))
        self.parts = TeamParts()  # as a real screen decodes its team's game parts
        self.boards: list[tuple[int, float, float]] = []  # rev, observed_at, decoded (monotonic)
        self.arrived: list[tuple[int, float, float]] = []  # the same boards, as the socket handed them over
        self.shown: list[tuple[str, int]] = []
        self.errors = 0
        self.game_bytes = 0
        self.board_bytes = 0
        self.wholes = 0  # whole boards received (to begin, after a reconnect, after a missed change)
        self._boards: set[tuple[int, float]] = set()  # a retained board sent again after a reconnect is not news

    def on_message(self, topic: str, payload: bytes, _retained: bool) -> None:
        from feeds.bus.cursor import Arrival
        from feeds.bus.topics import BusError, read

        arrived = time.monotonic()
        try:
            what, level = self.topics.parse(topic) or ("", "")
            if what in ("board", "board_change") and payload:
                self.board_bytes += len(payload)
                if what == "board":
                    self.wholes += 1
                    applied = self.mirror.whole(level, read(payload, "board"))
                else:
                    applied = self.mirror.change(level, read(payload, "board_change"))
                key = self.mirror.keys.get(level)
                if applied and key is not None and key not in self._boards:
                    self._boards.add(key)  # type: ignore[arg-type]
                    self.boards.append((*key, time.monotonic()))  # type: ignore[arg-type]
                    self.arrived.append((*key, arrived))  # type: ignore[arg-type]
            elif what in ("game", "game_team"):  # decoded as a real screen does, so its cost is counted
                from feeds.live.hubgame import decode_game

                if what == "game":
                    decode_game(read(payload, "game")["game"])
                elif payload:
                    self.parts(read(payload, "game_team"), self.team)
                self.game_bytes += len(payload)
            elif what in ("events", "recent"):
                data = read(payload, "event" if what == "events" else "recent")
                for item in [data] if what == "events" else data["events"]:
                    self.inbox.offer(Arrival(str(item["stream"]), str(item["epoch"]), int(item["seq"]),
                                             json.dumps(item["event"]), float(item["expires_at"])), time.monotonic())
        except (BusError, KeyError, TypeError, ValueError):  # (the codec's DecodeError is a ValueError)
            self.errors += 1

    def tick(self, link: Any) -> None:
        self.shown += [(a.stream, a.seq) for a in self.inbox.ready(time.monotonic(), time.time())]
        add, drop = self.mirror.fetches()  # as a wall's poll does (feeds.connectors.hub)
        for topic in add:
            link.subscribe(topic)
        for topic in drop:
            link.unsubscribe(topic)

    def result(self) -> dict[str, Any]:
        return {"team": self.team, "stream": self.stream, "boards": self.boards, "arrived": self.arrived,
                "shown": self.shown,
                "errors": self.errors, "game_bytes": self.game_bytes, "board_bytes": self.board_bytes,
                "wholes": self.wholes, "redelivered": self.inbox.duplicates, "missed": self.inbox.missed}


def screens_child(port: str, first: str, count: str, seconds: str, out: str) -> int:
    from feeds.bus.link import Link
    from feeds.config.hub import Broker as Endpoint

    directory = Path(out).parent / "screens"
    screens, links = [], []
    for i in range(int(first), int(first) + int(count)):
        screen = Screen(f"wall-{i}", f"t{i % TEAMS}", directory / f"wall-{i}")
        link = Link(Endpoint("127.0.0.1", int(port), False), f"bench-wall-{i}", on_message=screen.on_message,
                    on_up=screen.mirror.resync)
        for topic in (*screen.mirror.changes_topics(), screen.topics.events(screen.stream),
                      screen.topics.recent(screen.stream), screen.topics.game_team(screen.team), screen.topics.game):
            link.subscribe(topic)
        screen.tick(link)  # its whole board's topic, to begin
        link.start()
        screens.append(screen)
        links.append(link)
    from feeds.live.gcpace import GcPacer

    collector, taken = GcPacer(), 0  # as each wall paces its collector to the boards it takes
    collector.start()
    end = time.monotonic() + float(seconds)
    while time.monotonic() < end:
        time.sleep(0.05)
        for screen, link in zip(screens, links):
            screen.tick(link)
        if (boards := sum(len(screen.boards) for screen in screens)) != taken:
            taken = boards
            collector.after_poll()
    for link in links:
        link.stop()
    Path(out).write_text(json.dumps({s.name: s.result() for s in screens}))
    return 0


def _pygame_screen(directory: Path, port: int) -> tuple[list[Any], dict[str, str]]:
    """``chalkwall run`` as a hub's screen of team t0: on Xvfb when there is one, else SDL's dummy."""
    import shutil

    (directory / "screen.toml").write_text(f'[feed]\ntype = "hub"\nbroker = "mqtt://127.0.0.1:{port}"\nsite = "{SITE}"\n'
                                           f'screen = "wall-0"\n[display]\nteams = ["t0"]\n[state]\n'
                                           f'dir = "{directory / "wall-0-state"}"\n', encoding="utf-8")
    env = dict(os.environ, SDL_AUDIODRIVER="dummy")
    procs: list[Any] = []
    xvfb = shutil.which("Xvfb")
    if xvfb:
        display = f":{90 + os.getpid() % 9}"
        procs.append(__import__("subprocess").Popen([xvfb, display, "-screen", "0", "1920x1080x24", "-nolisten", "tcp"],
                                                    stdout=-3, stderr=-3))
        time.sleep(1.0)
        env.update(DISPLAY=display, SDL_VIDEODRIVER="x11")
    else:
        env.update(SDL_VIDEODRIVER="dummy")
    return procs, env


class WallWatch:
    """The real pygame screen's own figure: the boards it applied, with the lag its status gives
    (``board.lag_s``: applied minus "the hub had it", on the hub's clock), read from the screen's
    retained status by a subscriber of this process. A screen sends its status at most every few
    seconds, so this is a sample of its boards, each measured whole."""

    def __init__(self, port: int) -> None:
        from feeds.bus.link import Link
        from feeds.bus.topics import Topics
        from feeds.config.hub import Broker as Endpoint

        self.lags: dict[tuple[int, float], float] = {}  # (rev, observed_at) -> lag, the first report of each
        self.link = Link(Endpoint("127.0.0.1", port, False), "bench-watch", on_message=self.on_message)
        self.link.subscribe(Topics(SITE).screen_status("wall-0"))
        self.link.start()

    def on_message(self, _topic: str, payload: bytes, _retained: bool) -> None:
        try:
            board = json.loads(payload).get("board") or {}
            key = (int(board["rev"]), float(board["observed_at"]))
            self.lags.setdefault(key, float(board["lag_s"]))
        except (ValueError, KeyError, TypeError, AttributeError):
            pass

    def stop(self) -> list[tuple[float, float]]:
        """(observed_at, lag) of every board the screen applied."""
        self.link.stop()
        return [(observed, lag) for (_, observed), lag in self.lags.items()]


def run(seconds: float = 300.0, report: Any = print) -> dict[str, Any]:
    import subprocess

    work = poll_work(report=report)
    directory = Path(tempfile.mkdtemp(prefix="chalkwall-hubbench-"))
    port = free_port()
    broker = Broker(directory / "broker", port)
    broker.start()
    floor, feed = Floor(), directory / "floor.json"
    write_atomically(feed, floor.next())
    config = hub_config(directory, feed, port)
    hubs = [child(directory / "hub.log", "hub", str(config), str(directory / "hub-1.jsonl"))]
    time.sleep(3.0)
    screens = [child(directory / f"screens-{n}.log", "screens", str(port), str(n * SCREENS // 2), str(SCREENS // 2), str(seconds + 8),
                     str(directory / f"screens-{n}.json")) for n in range(2)]
    xvfb, env = _pygame_screen(directory, port)
    wall = subprocess.Popen([sys.executable, "-m", "display.cli", "run", "--config", str(directory / "screen.toml")],
                            env=env, stdout=open(directory / "wall.log", "wb"), stderr=subprocess.STDOUT,
                            cwd=Path(__file__).resolve().parent.parent)
    watch = WallWatch(port)
    started, faults, samples = time.monotonic(), [], {"hub": [], "broker": [], "screens": [], "wall": []}
    hub_cpu_before = 0.0
    next_kudos = next_board = started
    broker_at, hub_at = started + seconds * 0.4, started + seconds * 0.7
    while (now := time.monotonic()) < started + seconds:
        if now >= next_board:
            if now >= next_kudos:
                floor.kudos()
                next_kudos += KUDOS_EVERY
            write_atomically(feed, floor.next())
            next_board += 1.0
        if broker_at and now >= broker_at:
            broker_at = 0.0
            faults.append(time.monotonic())
            broker.stop()
            time.sleep(2.0)
            broker.start()
            report(f"  broker restarted at {now - started:.0f} s")
        if hub_at and now >= hub_at:
            hub_at = 0.0
            faults.append(time.monotonic())
            hub_cpu_before += proc_usage(hubs[-1].pid)[0]
            hubs[-1].terminate()
            hubs[-1].wait(15)
            hubs.append(child(directory / "hub.log", "hub", str(config), str(directory / "hub-2.jsonl")))
            report(f"  hub restarted at {now - started:.0f} s")
        samples["hub"].append(proc_usage(hubs[-1].pid))
        samples["broker"].append(proc_usage(broker.proc.pid) if broker.proc else (0.0, 0))
        samples["screens"].append(tuple(map(sum, zip(*(proc_usage(s.pid) for s in screens)))))
        samples["wall"].append(proc_usage(wall.pid))
        time.sleep(0.1)
    hub_cpu = hub_cpu_before + proc_usage(hubs[-1].pid)[0]
    for s in screens:
        s.wait(60)
    wall_alive, wall_usage = wall.poll() is None, proc_usage(wall.pid)
    wall_lags = watch.stop()
    for proc in (hubs[-1], wall, *xvfb):
        proc.terminate()
        proc.wait(15)
    broker.stop()
    return _count(directory, started, seconds, faults, work, samples, hub_cpu, wall_alive, wall_usage, report,
                  wall_lags)


def _count(directory: Path, started: float, seconds: float, faults: list[float], work: dict[str, list[float]],
           samples: dict[str, list[Any]], hub_cpu: float, wall_alive: bool, wall_usage: tuple[float, int],
           report: Any, wall_lags: list[tuple[float, float]] | None = None) -> dict[str, Any]:
    published: dict[tuple[int, float], float] = {}
    poll_cpu, publish_cpu, waits, spans = [], [], [], []
    for path in sorted(directory.glob("hub-*.jsonl")):  # one file per hub run: its revs start again
        boards: dict[int, float] = {}
        for line in path.read_text().splitlines():
            record = json.loads(line)
            if record["t"] == "board":
                published[(record["rev"], record["observed_at"])] = boards[record["rev"]] = record["at"]
                poll_cpu.append(record["cpu"])
            else:
                publish_cpu.append(record["cpu"])
                spans.append(record["end"] - record["start"])
                at = boards.pop(record["rev"], None)  # the first publish after the board came
                if at is not None and record["start"] >= at:
                    waits.append(record["start"] - at)
    shown: dict[str, list[tuple[str, int]]] = {}
    streams: dict[str, str] = {}
    received: list[tuple[int, float, float]] = []
    arrived: list[tuple[int, float, float]] = []
    redelivered = errors = game_bytes = board_bytes = wholes = 0
    for path in directory.glob("screens-*.json"):
        for name, result in json.loads(path.read_text()).items():
            shown[name] = [tuple(x) for x in result["shown"]]  # type: ignore[misc]
            streams[name] = result["stream"]
            received += [tuple(b) for b in result["boards"]]  # type: ignore[misc]
            arrived += [tuple(b) for b in result["arrived"]]  # type: ignore[misc]
            redelivered, errors = redelivered + result["redelivered"], errors + result["errors"]
            game_bytes += result.get("game_bytes", 0)
            board_bytes, wholes = board_bytes + result.get("board_bytes", 0), wholes + result.get("wholes", 0)
    db = sqlite3.connect(next((directory / "hub-state").rglob(DB_NAME)))
    first = started + 3.0  # the screens are connected by then
    wall0 = time.time() - (time.monotonic() - first)
    expected: dict[str, set[int]] = {}
    for stream, seq in db.execute("SELECT stream, seq FROM hub_outbox WHERE created_at >= ? AND created_at <= ?",
                                  (wall0, wall0 + seconds - 8)):
        expected.setdefault(stream, set()).add(seq)
    db.close()
    lost, duplicated = celebrations(expected, shown, streams)
    every = latencies(published, received)
    in_fault = lambda t: any(f <= t <= f + SETTLE + 3 for f in faults)  # noqa: E731
    steady = latencies(published, received, skip=in_fault)
    network = latencies(published, arrived, skip=in_fault)
    rss = lambda key: max((r for _, r in samples[key]), default=0) / 1024  # noqa: E731
    report(f"live run: {seconds:.0f} s, {SCREENS} headless screens in 2 processes + 1 pygame screen, "
           f"broker and hub restarted once each (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
           f"logs in {directory})")
    report(f"  board latency, every board       {summary(every)}")
    report(f"  board latency, outside the faults {summary(steady)}")
    report(f"    of which to the screen's socket {summary(network)} (the rest: decoding, 25 screens to a process)")
    report(f"    the hub's part: poll done -> publish starts {summary(waits)}; publish (wall) {summary(spans)}")
    to_mono = time.monotonic() - time.time()  # the screen reports the hub's wall clock
    wall_lags = wall_lags or []
    wall_every = [lag for _, lag in wall_lags]
    wall_steady = [lag for observed, lag in wall_lags if not in_fault(observed + to_mono)]
    report(f"  the pygame screen (chalkwall run; the boards its status reports, one every few seconds): "
           f"{summary(wall_every)}")
    report(f"    outside the faults                {summary(wall_steady)}")
    report(f"  celebrations: {sum(map(len, expected.values()))} published to {len(expected)} teams' screens, "
           f"lost {lost}, duplicated {duplicated} (redelivered and dropped by the cursor: {redelivered}; bad payloads {errors})")
    per_screen = max(1, len(streams))
    report(f"  boards received per headless screen: {board_bytes / per_screen / seconds / 1e3:.0f} kB a second "
           f"(the hub's changes; whole boards: {wholes / per_screen:.1f} a screen, to begin, after a "
           f"reconnect or a missed change)")
    report(f"  game received per headless screen (its team's part and the site's): "
           f"{game_bytes / max(1, len(streams)) / seconds / 1e3:.0f} kB a second")
    report(f"  hub: CPU {hub_cpu:.1f} s over {seconds:.0f} s ({hub_cpu / seconds:.0%} of a core), RSS max {rss('hub'):.0f} MiB")
    report(f"  hub work per poll (live, CPU): parse + engine {summary(poll_cpu)}; publish {summary(publish_cpu)}")
    screens_cpu = max((c for c, _ in samples["screens"]), default=0.0)
    report(f"  broker RSS max {rss('broker'):.0f} MiB; the 2 screen processes: RSS max {rss('screens'):.0f} MiB "
           f"together, CPU {screens_cpu:.1f} s ({screens_cpu / seconds:.0%} of a core)")
    report(f"  pygame screen: {'running' if wall_alive else 'EXITED (see wall.log)'}, CPU {wall_usage[0]:.1f} s, "
           f"RSS {wall_usage[1] / 1024:.0f} MiB")
    return {"latency": every, "steady": steady, "network": network, "lost": lost, "duplicated": duplicated, "hub_cpu": hub_cpu,
            "poll_cpu": poll_cpu, "publish_cpu": publish_cpu, "work": work, "directory": str(directory),
            "p95_ms": percentile(every, 0.95) * 1000, "wall": wall_every, "wall_steady": wall_steady}


def main(argv: list[str]) -> int:
    if argv[:1] == ["hub"]:
        return hub_child(*argv[1:3])
    if argv[:1] == ["screens"]:
        return screens_child(*argv[1:6])
    run(float(argv[0]) if argv else 300.0)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
