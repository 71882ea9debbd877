"""One support floor's day, vendor-neutral: who works here, and what happened to every ticket and
call, minute by minute. Each fake server shows it as its vendor would (as of its injected clock);
``expected`` says what chalkwall must show, by the canonical rules every connector follows.

Times are epoch seconds (UTC). The business day is ``[local midnight, next local midnight)`` in
``tz``, so a DST day is 23 or 25 hours long. Edge cases are placed by hand (see ``make_scenario``):
a solve a second either side of midnight, a reopen and re-solve, a reassignment after the solve,
a late rating on yesterday's ticket, yesterday's rating, a deactivated agent, an assignee who is not
an agent (an end user), a deleted ticket and a neutral rating.
"""

from __future__ import annotations

import random
import statistics
import uuid
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

Rating = Literal["good", "neutral", "bad"]
Kind = Literal["create", "assign", "reply", "solve", "close", "reopen", "rate", "delete"]
Vendor = Literal["zendesk", "freshdesk", "helpscout", "intercom", "genesys"]
NAMESPACE = uuid.UUID("5b1e7a1e-c4a1-4c0a-9d2e-000000c0ffee")


@dataclass(frozen=True)
class Person:
    id: str  # digits; see vendor_id for the vendors whose ids are not numbers
    first: str
    last: str
    team: str  # a Team.id
    role: Literal["agent", "admin", "end-user"] = "agent"
    active: bool = True
    avatar: str | None = None

    @property
    def name(self) -> str:
        return f"{self.first} {self.last}"


@dataclass(frozen=True)
class Team:
    id: str
    name: str


@dataclass(frozen=True)
class Step:
    """One thing that happened to a ticket: ``agent`` is who did it (the new assignee for assign,
    the rated agent for rate), ``team`` the group for create/assign."""

    at: float
    ticket: int
    kind: Kind
    agent: str | None = None
    team: str | None = None
    rating: Rating | None = None
    comment: str = ""


@dataclass(frozen=True)
class Call:
    id: str
    agent: str
    start: float
    talk_ms: int
    hold_ms: int
    acw_ms: int

    @property
    def end(self) -> float:
        return self.start + (self.talk_ms + self.hold_ms + self.acw_ms) / 1000

    @property
    def handle_ms(self) -> int:
        return self.talk_ms + self.hold_ms + self.acw_ms


@dataclass
class TicketState:
    """A ticket as of some moment: what a vendor's API would show for it then."""

    id: int
    created_at: float
    updated_at: float
    status: Literal["open", "solved", "closed", "deleted"] = "open"
    assignee: str | None = None
    team: str | None = None
    solved_at: float | None = None  # the latest solve
    closed_by: str | None = None  # who made the latest solve
    closed_at: float | None = None
    first_reply_at: float | None = None
    reopens: int = 0
    rating: Rating | None = None
    rating_at: float | None = None
    rated_agent: str | None = None  # the assignee when it was rated
    comment: str = ""
    history: list[Step] = field(default_factory=list)


@dataclass(frozen=True)
class Scenario:
    tz: str
    day: date
    people: tuple[Person, ...]
    teams: tuple[Team, ...]
    steps: tuple[Step, ...]  # sorted by time
    calls: tuple[Call, ...] = ()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    def day_start(self, day: date | None = None) -> float:
        return datetime.combine(day or self.day, time(0), self.zone).timestamp()

    def day_end(self) -> float:
        return self.day_start(self.day + timedelta(days=1))

    def at(self, hour: int, minute: int = 0, second: int = 0, day: date | None = None) -> float:
        """Epoch seconds of a local wall-clock time on the scenario's day (or another)."""
        return datetime.combine(day or self.day, time(hour, minute, second), self.zone).timestamp()

    def roster(self) -> list[Person]:
        """Who chalkwall shows: the active agents and admins."""
        return [p for p in self.people if p.active and p.role in ("agent", "admin")]

    def tickets(self, now: float) -> dict[int, TicketState]:
        """Every ticket as it stands at ``now`` (steps at or after ``now`` have not happened)."""
        out: dict[int, TicketState] = {}
        for step in self.steps:
            if step.at >= now:
                break
            t = out.get(step.ticket)
            if t is None:
                t = out[step.ticket] = TicketState(step.ticket, step.at, step.at)
            t.updated_at = step.at
            t.history.append(step)
            if step.kind in ("create", "assign"):
                t.assignee = step.agent if step.kind == "assign" or step.agent else t.assignee
                t.team = step.team or t.team
            elif step.kind == "reply" and t.first_reply_at is None:
                t.first_reply_at = step.at
            elif step.kind == "solve":
                t.status, t.solved_at, t.closed_by = "solved", step.at, step.agent or t.assignee
            elif step.kind == "close":
                t.status, t.closed_at = "closed", step.at
            elif step.kind == "reopen":
                t.status, t.reopens = "open", t.reopens + 1
            elif step.kind == "rate":
                t.rating, t.rating_at, t.rated_agent, t.comment = step.rating, step.at, t.assignee, step.comment
            elif step.kind == "delete":
                t.status = "deleted"
        return out

    def expected(self, now: float, vendor: Vendor) -> dict[str, dict[str, float | None]]:
        """What the board must show at ``now`` per agent (vendor ids), by the canonical rules."""
        start = self.day_start()
        ids = {p.id: vendor_id(p.id, vendor) for p in self.people}
        roster = [p.id for p in self.roster()]
        if vendor == "genesys":
            calls = [c for c in self.calls if start <= c.end < now]
            out_g: dict[str, dict[str, float | None]] = {}
            for pid in roster:
                mine = [c for c in calls if c.agent == pid]
                out_g[ids[pid]] = {"calls_handled": float(len(mine)),
                                   "aht_seconds": (sum(c.handle_ms for c in mine) / len(mine) / 1000) if mine else None}
            return out_g
        by_closer = vendor in ("intercom", "helpscout")
        solved: dict[str, list[TicketState]] = {pid: [] for pid in roster}
        rated: dict[str, list[Rating]] = {pid: [] for pid in roster}
        for t in self.tickets(now).values():
            owner = t.closed_by if by_closer else t.assignee
            if t.status in ("solved", "closed") and t.solved_at is not None and start <= t.solved_at < now \
                    and owner in solved:
                solved[owner].append(t)
            if t.rating is not None and t.rating_at is not None and start <= t.rating_at < now \
                    and t.status != "deleted" and t.rated_agent in rated:
                if not (vendor == "zendesk" and t.rating == "neutral"):  # Zendesk rates good or bad only
                    rated[t.rated_agent].append(t.rating)
        out: dict[str, dict[str, float | None]] = {}
        for pid in roster:
            mine = solved[pid]
            scores = rated[pid]
            row: dict[str, float | None] = {"tickets_solved": float(len(mine))}
            if vendor == "helpscout":
                great, bad = scores.count("good"), scores.count("bad")
                row["csat"] = round(100 * (great - bad) / len(scores), 2) if scores else 0.0
            else:
                row["csat"] = 100 * scores.count("good") / len(scores) if scores else None
                row["csat_count"] = float(len(scores))
                frts = [t.first_reply_at - t.created_at for t in mine if t.first_reply_at is not None]
                row["first_reply_seconds"] = statistics.median(frts) if frts else None
            out[ids[pid]] = row
        return out


def vendor_id(person_id: str, vendor: Vendor) -> str:
    """The id a vendor gives a person: Genesys uses UUIDs, the others numbers."""
    return str(uuid.uuid5(NAMESPACE, person_id)) if vendor == "genesys" else person_id


FIRST = ["Åsa", "Björn", "Дмитрий", "Zoë", "Oskar", "Märta", "Ольга", "Liam", "Noor", "Pål", "Chidi", "Ingrid"]
LAST = ["Ödegård", "Lindqvist", "Смирнов", "Núñez", "Berg", "Åkesson", "Иванова", "O'Brien", "Haddad", "Sæther"]


def make_scenario(seed: int = 7, day: date = date(2026, 11, 24), tz: str = "Europe/Stockholm",
                  agents: int = 8, tickets: int = 120, calls: int = 60) -> Scenario:
    """A seeded day: ``agents`` agents in two or more teams, ``tickets`` created since 07:00 local
    (most solved, some rated), ``calls`` calls, and the hand-placed edge cases (ticket ids ≥ 90000).
    Ask for the day at, say, 16:00 local for a mid-afternoon view; 23:59 for the whole day."""
    rng = random.Random(seed)
    base = Scenario(tz, day, (), (), ())
    n_teams = max(2, agents // 25)
    teams = tuple(Team(str(3000 + i), ["Första linjen", "Night shift", "Billing", "VIP"][i % 4] + ("" if i < 4 else f" {i}"))
                  for i in range(n_teams))
    people = [Person(str(1001 + i), FIRST[i % len(FIRST)], LAST[(i * 7) % len(LAST)] + ("" if i < len(LAST) else f" {i}"),
                     teams[i % n_teams].id, role="admin" if i == 0 else "agent",
                     avatar=None if i % 3 == 0 else f"https://avatars.example/{1001 + i}.png")
              for i in range(agents)]
    gone = Person("1900", "Former", "Agent", teams[0].id, active=False)  # deactivated: solves, never shown
    customer = Person("5000", "Some", "Customer", teams[0].id, role="end-user")
    people += [gone, customer]
    working = [p.id for p in people[:agents]]
    steps: list[Step] = []
    open_from, close_by = base.at(7), base.at(17, 30)
    for n in range(tickets):
        tid = 10_000 + n
        t0 = rng.uniform(open_from, close_by)
        who = rng.choice(working)
        team = next(p.team for p in people if p.id == who)
        steps += [Step(t0, tid, "create", team=team), Step(t0 + rng.uniform(5, 120), tid, "assign", who, team)]
        reply = t0 + rng.uniform(60, 3600)
        steps.append(Step(reply, tid, "reply", who))
        if rng.random() < 0.85:
            solve = reply + rng.uniform(60, 7200)
            steps.append(Step(solve, tid, "solve", who))
            if rng.random() < 0.3:
                steps.append(Step(solve + rng.uniform(600, 3600), tid, "rate", who,
                                  rating=rng.choices(["good", "neutral", "bad"], [7, 1, 2])[0]))
    made_calls = []
    for n in range(calls):
        made_calls.append(Call(f"c{n:05d}", rng.choice(working), rng.uniform(open_from, close_by),
                               rng.randint(60_000, 900_000), rng.randint(0, 120_000), rng.randint(10_000, 180_000)))
    base = replace(base, calls=tuple(made_calls))
    a, b, c = working[1 % agents], working[2 % agents], working[3 % agents]
    yesterday = day - timedelta(days=1)
    t1, t2, t3 = base.at(9), base.at(10), base.at(11)
    steps += [
        # solved a second before midnight (yesterday) and a second after (today)
        Step(base.at(23, 0, 0, yesterday), 90001, "create", team=teams[0].id),
        Step(base.at(23, 1, 0, yesterday), 90001, "assign", a, teams[0].id),
        Step(base.at(23, 59, 59, yesterday), 90001, "solve", a),
        Step(base.at(23, 0, 0, yesterday), 90002, "create", team=teams[0].id),
        Step(base.at(23, 1, 0, yesterday), 90002, "assign", a, teams[0].id),
        Step(base.day_start() + 1, 90002, "solve", a),
        # reopened and solved again: counts once, on its latest solve
        Step(t1, 90003, "create", team=teams[1].id), Step(t1 + 60, 90003, "assign", b, teams[1].id),
        Step(t1 + 300, 90003, "reply", b), Step(t1 + 900, 90003, "solve", b),
        Step(t2, 90003, "reopen"), Step(t2 + 1800, 90003, "solve", b),
        # reopened and still open: does not count
        Step(t1, 90004, "create", team=teams[1].id), Step(t1 + 60, 90004, "assign", b, teams[1].id),
        Step(t1 + 600, 90004, "solve", b), Step(t3, 90004, "reopen"),
        # reassigned after the solve: moves to the new assignee (Intercom/Help Scout: stays with the closer)
        Step(t1, 90005, "create", team=teams[0].id), Step(t1 + 60, 90005, "assign", a, teams[0].id),
        Step(t1 + 200, 90005, "reply", a), Step(t1 + 700, 90005, "solve", a),
        Step(t3, 90005, "assign", c, teams[0].id),
        # yesterday's ticket rated today: the rating counts today, the solve does not
        Step(base.at(14, 0, 0, yesterday), 90006, "create", team=teams[0].id),
        Step(base.at(14, 1, 0, yesterday), 90006, "assign", c, teams[0].id),
        Step(base.at(15, 0, 0, yesterday), 90006, "solve", c), Step(t2, 90006, "rate", c, rating="good",
                                                                    comment="Tack så mycket!"),
        # rated yesterday: does not count today
        Step(base.at(10, 0, 0, yesterday), 90007, "create", team=teams[0].id),
        Step(base.at(10, 1, 0, yesterday), 90007, "assign", c, teams[0].id),
        Step(base.at(11, 0, 0, yesterday), 90007, "solve", c),
        Step(base.at(12, 0, 0, yesterday), 90007, "rate", c, rating="bad"),
        # a deactivated agent's and an end user's solves: never shown
        Step(t1, 90008, "create", team=teams[0].id), Step(t1 + 60, 90008, "assign", gone.id, teams[0].id),
        Step(t1 + 600, 90008, "solve", gone.id),
        Step(t1, 90009, "create", team=teams[0].id), Step(t1 + 60, 90009, "assign", customer.id, teams[0].id),
        Step(t1 + 600, 90009, "solve", customer.id),
        # solved, then deleted: gone
        Step(t1, 90010, "create", team=teams[1].id), Step(t1 + 60, 90010, "assign", b, teams[1].id),
        Step(t1 + 600, 90010, "solve", b), Step(t3, 90010, "delete"),
        # a neutral rating (Freshdesk 100, Intercom 3, Help Scout "okay"): rated, not satisfied
        Step(t1, 90011, "create", team=teams[1].id), Step(t1 + 60, 90011, "assign", b, teams[1].id),
        Step(t1 + 100, 90011, "reply", b), Step(t1 + 600, 90011, "solve", b),
        Step(t2, 90011, "rate", b, rating="neutral"),
        # solved then closed: still counts, once
        Step(t1, 90012, "create", team=teams[1].id), Step(t1 + 60, 90012, "assign", b, teams[1].id),
        Step(t1 + 600, 90012, "solve", b), Step(t3, 90012, "close"),
    ]
    # Vendors show whole seconds: so does the scenario, so first-reply times agree to the second.
    steps = sorted((replace(s, at=float(round(s.at))) for s in steps), key=lambda s: (s.at, s.ticket))
    made = tuple(replace(c, start=float(round(c.start))) for c in base.calls)
    return replace(base, people=tuple(people), teams=teams, steps=tuple(steps), calls=made)


def dst_scenario(seed: int = 11) -> Scenario:
    """The 25-hour day: Europe/Stockholm leaves summer time on 2026-10-25 at 03:00 local."""
    return make_scenario(seed, day=date(2026, 10, 25), agents=6, tickets=60, calls=30)
