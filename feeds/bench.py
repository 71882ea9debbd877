"""Feed-side benchmarks behind ``chalkwall bench``: measured, not guessed.

* **parse + rank + diff** of a large canonical document (5,000 agents by default): each poll's
  document differs from the last (counts move, events arrive), as on a real floor.
* **memory over many polls**: the real coordinator polls an in-memory source 10,000 times with
  a new document and new events every time; RSS is read from /proc at intervals, so growth in
  caches, the seen-event set or the event queue would show.
"""

from __future__ import annotations

import gc
import json
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from feeds.connectors.sources import SourceAdapter
from feeds.connectors.formats import json_decoder
from feeds.board.build import build_board
from feeds.config.schema import BoardConfig, FeedConfig
from feeds.live.coordinator import FeedCoordinator
from feeds.board.diff import diff_boards

MAX_BYTES = 64 * 1024 * 1024
NAMES = ("Åsa Ödegård", "Алексей Смирнов", "Priya Natarajan", "Zoë Müller", "Märta Lindqvist", "Kwame Mensah")


class FloorGenerator:
    """Canonical documents for a floor of ``agents``, a little different every call."""

    def __init__(self, agents: int, teams: int = 20, seed: int = 1) -> None:
        self.rng = random.Random(seed)
        self.teams = [{"id": f"t{i}", "name": f"Team {i}", "color": "#4a90e2"} for i in range(teams)]
        self.agents = [{"id": f"a{i}", "name": f"{NAMES[i % len(NAMES)]} {i}", "team": f"t{i % teams}",
                        "level": ("rookie", "pro", "expert")[i % 3],
                        "metrics": {"tickets_solved": self.rng.randint(0, 40), "csat": 4.5, "csat_count": 6,
                                    "aht_seconds": self.rng.randint(200, 500), "quality": 90.0}}
                       for i in range(agents)]
        self.event_n = 0

    def next(self, events: int = 2) -> bytes:
        for record in self.rng.sample(self.agents, max(1, len(self.agents) // 20)):
            record["metrics"]["tickets_solved"] += 1
        batch = []
        for _ in range(events):
            self.event_n += 1
            batch.append({"id": f"ev{self.event_n}", "type": "kudos", "to": f"a{self.event_n % len(self.agents)}",
                          "text": "Tack för hjälpen!"})
        return json.dumps({"version": 1, "generated_at": "2026-11-23T10:00:00Z", "teams": self.teams,
                           "agents": self.agents, "events": batch}, ensure_ascii=False).encode()


def rss_kib() -> int:
    """Resident set size of this process in KiB (Linux; 0 where /proc cannot tell)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


@dataclass
class Timing:
    name: str
    samples: list[float]

    def line(self) -> str:
        ms = [s * 1000 for s in self.samples]
        return (f"  {self.name:<24} p50 {statistics.median(ms):7.2f} ms   p95 {_pct(ms, 0.95):7.2f} ms   "
                f"max {max(ms):7.2f} ms")


def bench_pipeline(agents: int, rounds: int, board: BoardConfig) -> list[Timing]:
    gen = FloorGenerator(agents)
    docs = [gen.next() for _ in range(rounds + 1)]
    decode = json_decoder(MAX_BYTES)  # exactly what the http and file adapters run
    previous = build_board(decode(docs[0]), board)
    parse_t, rank_t, diff_t, total_t = [], [], [], []
    gc.collect()
    for raw in docs[1:]:
        t0 = time.perf_counter()
        snap = decode(raw)
        t1 = time.perf_counter()
        current = build_board(snap, board)
        t2 = time.perf_counter()
        diff_boards(previous, current)
        t3 = time.perf_counter()
        previous = current
        parse_t.append(t1 - t0)
        rank_t.append(t2 - t1)
        diff_t.append(t3 - t2)
        total_t.append(t3 - t0)
    return [Timing("parse", parse_t), Timing("rank", rank_t), Timing("diff", diff_t),
            Timing("parse + rank + diff", total_t)]


class _MemorySource:
    def __init__(self, produce: Callable[[], bytes]) -> None:
        self.produce = produce

    def fetch(self) -> bytes:
        return self.produce()

    def forget_validators(self) -> None:
        pass

    def close(self) -> None:
        pass


def bench_memory(polls: int, agents: int, board: BoardConfig, report: Callable[[str], None]) -> dict[str, Any]:
    gen = FloorGenerator(agents, seed=2)
    adapter = SourceAdapter(_MemorySource(gen.next), json_decoder(MAX_BYTES))
    coordinator = FeedCoordinator(adapter, FeedConfig(interval=1), board)
    marks: dict[int, int] = {}
    start = time.perf_counter()
    for n in range(1, polls + 1):
        coordinator.poll_once()
        if n % 50 == 0:
            coordinator.drain_events()  # the display drains about this often
        if n in (polls // 10, polls // 2, polls) or n % (polls // 5 or 1) == 0:
            gc.collect()
            marks[n] = rss_kib()
            sizes = coordinator.sizes()
            report(f"  after {n:>6,} polls: RSS {marks[n] / 1024:7.1f} MiB   seen event ids "
                   f"{sizes['seen_events']:>6,}/{sizes['seen_events_cap']:,}   queued events {sizes['queued_events']}")
    first = min(marks)
    return {"polls": polls, "seconds": time.perf_counter() - start, "rss_kib": marks,
            "growth_kib": marks[polls] - marks[first], "from_poll": first}


def run(agents: int = 5000, rounds: int = 40, polls: int = 10_000, poll_agents: int = 200,
        board: BoardConfig | None = None, report: Callable[[str], None] = print) -> dict[str, Any]:
    board = board or BoardConfig(rank_by="tickets_solved")
    report(f"parse + rank + diff, {agents:,} agents, {rounds} polls (each document a little different):")
    timings = bench_pipeline(agents, rounds, board)
    for timing in timings:
        report(timing.line())
    report(f"memory over {polls:,} polls of {poll_agents} agents with 2 new events each:")
    memory = bench_memory(polls, poll_agents, board, report)
    report(f"  RSS growth from poll {memory['from_poll']:,} to {polls:,}: {memory['growth_kib']:+,} KiB "
           f"({memory['seconds']:.1f} s)")
    return {"timings": {t.name: t.samples for t in timings}, "memory": memory}
