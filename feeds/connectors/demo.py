"""The built-in demo feed: a simulated support floor that is lively on a wall from the first minute.

Fifteen agents in three teams (Swedish, Russian and other names, three levels) solve tickets,
collect CSAT ratings and quality scores. Time is compressed so that ranks change every few
seconds, someone completes a challenge about once a minute and a kudos flies about as often;
a working day lasts an hour, after which the floor starts the next day from mid-morning counts.
The floor advances in fixed 2-second steps driven by the injected clock and one seeded RNG, so
the same seed and the same poll times always give the same documents.
"""

from __future__ import annotations

import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from feeds.connectors.base import ConnectorType, Context
from feeds.model import CHALLENGE_COMPLETED, FEED_VERSION, KUDOS, Snapshot
from feeds.connectors.parse import normalise

if TYPE_CHECKING:
    from feeds.config.schema import FeedConfig

STEP = 2.0
DAY_STEPS = 1800  # a compressed working day lasts an hour; then the floor starts a new day
FIRST_KUDOS_STEP = 8
MAX_CATCH_UP = 5000  # steps simulated at most per poll (after a suspend or a big clock jump)
RECENT_EVENTS = 20
METRICS = ("tickets_solved", "csat", "csat_count", "aht_seconds", "quality")  # every agent's, every poll

TEAMS = (("day", "Day shift", "#4a90e2"), ("night", "Night shift", "#9b59b6"),
         ("escalations", "Escalations", "#e67e22"))
ROSTER = (
    ("asa", "Åsa Ödegård", "day", "pro"), ("bjorn", "Björn Källström", "day", "expert"),
    ("aleksei", "Алексей Смирнов", "day", "rookie"), ("priya", "Priya Natarajan", "day", "pro"),
    ("zoe", "Zoë Müller", "day", "rookie"),
    ("marta", "Märta Lindqvist", "night", "expert"), ("olga", "Ольга Кузнецова", "night", "pro"),
    ("kwame", "Kwame Mensah", "night", "pro"), ("siobhan", "Siobhán O'Connor", "night", "rookie"),
    ("dmitri", "Дмитрий Волков", "night", "pro"),
    ("jose", "José García", "escalations", "expert"), ("lukasz", "Łukasz Wójcik", "escalations", "pro"),
    ("ingrid", "Ingrid Sjöström", "escalations", "pro"), ("natalia", "Наталья Иванова", "escalations", "rookie"),
    ("lan", "Nguyễn Thị Lan", "escalations", "pro"),
)
# For fair ranking (docs/fair-ranking.md): three part-timers' hours on the floor (the rest work 8)
# and each agent's channel, fixed so that they take nothing from the seeded simulation.
HOURS = {"zoe": 4.0, "siobhan": 6.0, "lan": 4.0}
CHANNELS = {"asa": "chat", "bjorn": "phone", "aleksei": "chat", "priya": "email", "zoe": "chat",
            "marta": "phone", "olga": "chat", "kwame": "phone", "siobhan": "chat", "dmitri": "email",
            "jose": "phone", "lukasz": "email", "ingrid": "chat", "natalia": "phone", "lan": "email"}
# A team lead who takes tickets too: a role model, thanked on the wall and never ranked. Her
# count grows with the clock, not the seeded RNG, so the agents' floor is the same with or without her.
ROLE_MODELS = (("karin", "Karin Holm", "day", "email", 2.0, 180),)  # id, name, team, channel, hours, steps per ticket
SPEED = {"rookie": 0.045, "pro": 0.06, "expert": 0.072}  # chance of a solved ticket per agent per step
MILESTONE = {"rookie": 12, "pro": 18, "expert": 24}  # "Solve N tickets today" every N tickets
POINTS = {"rookie": 30, "pro": 40, "expert": 50}
KUDOS_CHANCE = 1 / 30
THANKS = ("Thanks for taking my angry caller!", "Tack för hjälpen med fakturan!",
          "Спасибо, что подменила меня!", "You saved my queue today", "Tusen tack för tipset om returer!",
          "Большое спасибо за помощь с эскалацией", "Thanks for the macro, it's gold")


@dataclass
class _Agent:
    id: str
    name: str
    team: str
    level: str
    solved: int
    csat_sum: float
    csat_count: int
    aht: float
    quality: float
    next_milestone: int
    form: float = 1.0  # drifts, so that leads change hands all day, not only in the first minutes


class DemoFeed:
    """Polled like any adapter; ``clock`` (seconds, default time.time) drives the simulation."""

    def __init__(self, seed: int = 7, clock: Callable[[], float] | None = None) -> None:
        self._clock = clock or time.time
        self._rng = random.Random(seed)
        self._seed = seed
        self._start = self._clock()
        self._step = 0
        self._events: deque[dict[str, Any]] = deque(maxlen=RECENT_EVENTS)
        self._new_day()

    def _new_day(self) -> None:
        self._agents = [self._new_agent(*row) for row in ROSTER]
        for lucky in self._rng.sample(self._agents, 3):  # a celebration within the first minute
            lucky.solved = lucky.next_milestone - 1

    def _new_agent(self, agent_id: str, name: str, team: str, level: str) -> _Agent:
        rng = self._rng
        solved = rng.randint(14, 22) + {"rookie": 0, "pro": 3, "expert": 5}[level]
        ratings = rng.randint(4, 9)
        step = MILESTONE[level]
        return _Agent(agent_id, name, team, level, solved, ratings * rng.uniform(4.1, 4.9), ratings,
                      rng.uniform(260, 420), rng.uniform(82, 97), (solved // step + 1) * step)

    def poll(self) -> Snapshot:
        target = int((self._clock() - self._start) / STEP)
        if target - self._step > MAX_CATCH_UP:
            self._step = target - MAX_CATCH_UP
        while self._step < target:
            self._step += 1
            if self._step % DAY_STEPS == 0:
                self._new_day()
            self._advance()
        return normalise(self._document())

    def close(self) -> None:
        pass

    def _when(self) -> str:
        at = datetime.fromtimestamp(self._start + self._step * STEP, timezone.utc)
        return at.isoformat(timespec="seconds").replace("+00:00", "Z")

    def _event(self, kind: str, **fields: Any) -> None:
        n = sum(1 for e in self._events if e["id"].startswith(f"demo-{self._seed}-{self._step}-"))
        self._events.append({"id": f"demo-{self._seed}-{self._step}-{n}", "type": kind, "at": self._when(), **fields})

    def _advance(self) -> None:
        rng = self._rng
        for agent in self._agents:
            if rng.random() < 0.01:
                agent.form = rng.uniform(0.5, 1.8)
            if rng.random() >= SPEED[agent.level] * agent.form:
                continue
            agent.solved += 1
            agent.aht = agent.aht * 0.9 + rng.uniform(180, 480) * 0.1
            if rng.random() < 0.4:
                agent.csat_count += 1
                agent.csat_sum += rng.choices((5, 4, 3, 2), weights=(agent.quality - 40, 30, 6, 2))[0]
            if agent.solved >= agent.next_milestone:
                self._event(CHALLENGE_COMPLETED, agent=agent.id, points=POINTS[agent.level],
                            challenge=f"Solve {agent.next_milestone} tickets today")
                agent.next_milestone += MILESTONE[agent.level]
        if rng.random() < 1 / 120:
            agent = rng.choice(self._agents)
            agent.quality = min(100.0, max(60.0, agent.quality + rng.uniform(-4, 4)))
        if rng.random() < KUDOS_CHANCE or self._step % DAY_STEPS == FIRST_KUDOS_STEP:
            giver, taker = rng.sample(self._agents, 2)
            self._event(KUDOS, **{"from": giver.id, "to": taker.id, "text": rng.choice(THANKS)})

    def _document(self) -> dict[str, Any]:
        return {
            "version": FEED_VERSION,
            "generated_at": self._when(),
            "teams": [{"id": i, "name": n, "color": c} for i, n, c in TEAMS],
            "agents": [{
                "id": a.id, "name": a.name, "team": a.team, "level": a.level,
                "hours_available": HOURS.get(a.id, 8.0), "channel": CHANNELS[a.id],
                "metrics": {"tickets_solved": a.solved, "csat": round(a.csat_sum / a.csat_count, 2),
                            "csat_count": a.csat_count, "aht_seconds": round(a.aht),
                            "quality": round(a.quality, 1)},
            } for a in self._agents] + [{
                "id": i, "name": n, "team": t, "role": "role_model", "channel": c, "hours_available": h,
                "metrics": {"tickets_solved": 4 + (self._step % DAY_STEPS) // every, "csat": 4.8, "csat_count": 6,
                            "aht_seconds": 320, "quality": 94.0},
            } for i, n, t, c, h, every in ROLE_MODELS],
            "events": list(self._events),
        }


def _make(feed: FeedConfig, ctx: Context) -> DemoFeed:
    return DemoFeed(seed=feed.seed, clock=ctx.clock if ctx.clock is not time.time else None)


TYPE = ConnectorType("demo", "a simulated support floor, for trying chalkwall out", _make,
                     keys=frozenset({"seed"}), interval=15.0, metrics=METRICS)
