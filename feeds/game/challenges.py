"""chalkwall's own challenges, computed from plain metrics, so a helpdesk that only reports numbers
still gets the whole game.

* **target** — reach a value within the period; for agents the target may depend on their level
  (``target = { rookie = 10, pro = 20, expert = 30 }``), so a rookie can win too.
* **race** — the first agent or team to reach the target wins; one winner per period.
* **record** — Schwab's chalk: beat the best value of the previous period ("Night shift: 10 —
  yesterday's 7 beaten").
* **personal_best** — an agent's own target from their history: the median of their last
  ``lookback`` periods × ``stretch``, never under ``floor``: everybody stretched at their own level.
* **streak** — another (target or personal-best) challenge met ``length`` periods in a row.

Lower-is-better metrics (handle time) are met by going *under* the target or the record. Every
completion is an award in the ledger — its keys make it once per subject and period — and comes
back as a ``challenge_completed`` feed event, so the wall celebrates it like one the feed reported.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from types import MappingProxyType
from datetime import datetime
from typing import Any

from feeds.board.scoring import gate_open
from feeds.config.schema import BoardConfig, ChallengeConfig
from feeds.game.compare import Comparison, Values
from feeds.game.history import History
from feeds.game.incremental import Changes
from feeds.game.ledger import Award, Ledger
from feeds.model import CHALLENGE_COMPLETED, FeedEvent, Snapshot, _frozen, plain_number
from feeds.game.progress import Book, Progress, _Blank, progress_of, progress_since
from feeds.periods import Calendar, Period

__all__ = ["Challenges", "Duel", "GameState", "Progress", "RecordToBeat", "_Blank", "badges", "plain_fields",
           "plain_number"]


@dataclass(frozen=True, slots=True)
class RecordToBeat:
    """Schwab's chalk number: the previous period's best, who set it, and today's best so far."""

    challenge: str
    title: str
    scope: str
    metric: str
    lower_is_better: bool
    best: float | None
    holder: str | None
    leader: str | None
    leader_value: float | None
    beaten: bool
    today: tuple[tuple[str, float], ...] = ()  # every subject's value so far this period, best first


@dataclass(frozen=True, slots=True)
class Duel:
    """A head-to-head under way: both sides' values so far, and when it is decided."""

    challenge: str
    title: str
    scope: str
    metric: str
    lower_is_better: bool
    sides: tuple[tuple[str, float | None], ...]
    ends_at: str  # ISO 8601, UTC


@dataclass(frozen=True, slots=True)
class GameState:
    """The game as it stands this poll: plain data for the display (and, later, the hub)."""

    period: str
    progress: tuple[Progress, ...] = ()
    records: tuple[RecordToBeat, ...] = ()
    comparison: Comparison | None = None
    duels: tuple[Duel, ...] = ()
    badges: Mapping[str, tuple[str, ...]] = field(default_factory=lambda: MappingProxyType({}))  # subject -> badges

    def to_dict(self, progress: bool = True) -> dict[str, Any]:
        """Plain data for JSON; ``progress=False`` leaves the (long) progress list empty, for a
        caller that encodes it itself (the hub, :mod:`feeds.publish.encode`)."""
        return {"period": self.period, "progress": [plain_fields(p) for p in self.progress] if progress else [],
                "records": [plain_fields(r) for r in self.records], "duels": [plain_fields(d) for d in self.duels],
                "comparison": self.comparison.to_dict() if self.comparison else None,
                "badges": {k: list(v) for k, v in self.badges.items()}}


def plain_fields(obj: Progress | RecordToBeat | Duel) -> dict[str, Any]:
    """``dataclasses.asdict`` for these flat records (their fields are numbers, text and tuples of
    them), without its deep copy: ten thousand progress entries a poll on a big floor."""
    return {name: getattr(obj, name) for name in _FIELDS[type(obj)]}


_FIELDS = {cls: tuple(f.name for f in dataclasses.fields(cls)) for cls in (Progress, RecordToBeat, Duel)}
MILESTONES = (100, 50, 10)
_NO_TARGETS: Mapping[str, float] = MappingProxyType({})  # the same object every poll (Book.own)


def badges(ledger: Ledger, challenges: tuple[ChallengeConfig, ...], recent_period: str) -> dict[str, tuple[str, ...]]:
    """Who wears what: "record" (holds the latest record), "streak" (a streak still going: won in
    ``recent_period`` or after) and "milestone:N" (N challenges completed, the highest reached)."""
    out: dict[str, list[str]] = {}
    kinds = {c.id: c.kind for c in challenges}
    for challenge, _, subject in ledger.latest_winners([c for c, k in kinds.items() if k == "record"]):
        out.setdefault(subject, []).append("record")
    for challenge, _, subject in ledger.latest_winners([c for c, k in kinds.items() if k == "streak"], recent_period):
        out.setdefault(subject, []).append("streak")
    for (_, subject), count in ledger.completions().items():
        reached = next((m for m in MILESTONES if count >= m), None)
        if reached:
            out.setdefault(subject, []).append(f"milestone:{reached}")
    return {s: tuple(dict.fromkeys(b)) for s, b in out.items()}


class Challenges:
    def __init__(self, challenges: tuple[ChallengeConfig, ...], board: BoardConfig, calendar: Calendar,
                 ledger: Ledger, history: History, levels: Mapping[str, str] | None = None) -> None:
        self.challenges = challenges
        self.levels = levels or {}  # from config: overrides the feed's
        self.board = board
        self.calendar = calendar
        self.ledger = ledger
        self.history = history
        self.progress: tuple[Progress, ...] = ()
        self.records: tuple[RecordToBeat, ...] = ()
        self.duels: tuple[Duel, ...] = ()
        self._targets: dict[tuple[str, str], dict[str, float]] = {}
        self._winners: dict[tuple[str, str], str] = {}  # (race, period) -> its winner
        self._made: dict[str, dict[str, Progress]] = {}  # challenge -> subject -> its last Progress
        self._titles: dict[str, dict[float, str]] = {}  # challenge -> target -> its title
        self._books: dict[str, Book] = {}  # challenge -> what its last poll found (progress_since)
        self._steady = False  # the last evaluate() finished: its books hold

    def metrics(self) -> set[str]:
        return {c.metric for c in self.challenges if c.metric}

    def evaluate(self, snapshot: Snapshot, values: Values, now: datetime,
                 changes: Changes | None = None) -> list[tuple[Award, FeedEvent]]:
        """Every challenge this poll's ``values`` complete; the new completions.
        ``self.progress`` and ``self.records`` are then where every challenge stands. With
        ``changes`` (what changed since the last call), a day's agent challenge works out only
        the changed agents' progress, and offers the ledger only their completions: the others'
        were offered at an earlier poll of the period (see :func:`feeds.game.progress.progress_since`)."""
        progress: list[Progress] = []
        records: list[RecordToBeat] = []
        levels: dict[str, str | None] | None = None
        done: list[tuple[Award, FeedEvent]] = []
        duels: list[Duel] = []
        by_id = {c.id: c for c in self.challenges}
        if not self._steady or len(by_id) != len(self.challenges):
            changes = None  # the last call failed half-way (or ids repeat): nothing is known to be as it was
        self._steady = False
        # Streaks last: they count the awards the other challenges have just made.
        for challenge in sorted(self.challenges, key=lambda c: c.kind == "streak"):
            kind_of_period = by_id[challenge.of].period if challenge.kind == "streak" and challenge.of in by_id \
                else challenge.period
            period = self.period_of(kind_of_period, now)
            if period is None:
                continue  # a shift challenge while no shift is on
            if challenge.kind == "streak":
                done += self._streak(challenge, period, now)
                continue
            current = self.current(challenge, period, values, now)
            if challenge.kind == "head_to_head":
                lower = self.board.metric(challenge.metric).lower_is_better
                duels.append(Duel(challenge.id, challenge.title, challenge.scope, challenge.metric, lower,
                                  tuple((side, current.get(side)) for side in challenge.sides),
                                  period.end.isoformat(timespec="seconds")))
                done += self._decide(challenge, period, lower, now)
                continue
            own = self._own_targets(challenge, period) if challenge.kind == "personal_best" else _NO_TARGETS
            lower = self.board.metric(challenge.metric).lower_is_better
            reached: Callable[[float, float], bool] = (lambda v, t: v <= t) if lower else (lambda v, t: v >= t)
            if challenge.kind == "record":
                record, beaten = self._record(challenge, current, period, lower, now)
                records.append(record)
                done += beaten
                continue
            titles = self._titles.setdefault(challenge.id, {})
            book = self._books.get(challenge.id)
            found = None
            if (changes is not None and book is not None and book.period == period.key and book.own is own
                    and challenge.scope == "agent" and period.kind == "day" and challenge.metric in changes.stable):
                found = progress_since(book, challenge, current, own, self.levels, changes, self.board, reached, titles)
            if found is None:
                if levels is None:
                    levels = {a.id: a.level for a in snapshot.agents} | dict(self.levels)
                shut = self._gated(challenge, snapshot)
                made = progress_of(challenge, current, own, levels, shut, reached,
                                   self._made.get(challenge.id, {}), titles)
                book = self._books[challenge.id] = Book(period.key, own, set(shut),
                                                         {s for s, p in made.items() if p.done}, made=made)
                found = [s for s, p in made.items() if p.done]
            self._made[challenge.id] = made = book.made  # this poll's only: it never outgrows the floor
            if challenge.kind == "race":
                done += self._race(challenge, period, lower, book, now)
                progress += self._mark_won(challenge, period, book, list(made.values())) if book.done else made.values()
            else:
                for subject in found:
                    p = made[subject]
                    award = Award(challenge.id, challenge.scope, subject, period.key, challenge.points, "chalkwall")
                    made_event = partial(self._event, challenge, award, now, target=p.target, value=p.value)
                    if self.ledger.award(award, now, made_event):
                        done.append((award, made_event()))
                progress += made.values()
        self.progress, self.records, self.duels = tuple(progress), tuple(records), tuple(duels)
        self._steady = True
        return done

    def _race(self, challenge: ChallengeConfig, period: Period, lower: bool, book: Book,
              now: datetime) -> list[tuple[Award, FeedEvent]]:
        """A race's award, to the best of those done (the first to get there wins: the ledger
        keeps one winner per period); asked of the ledger only while the race is not decided."""
        if not book.done or self.ledger.race_decided(challenge.id, period.key):
            return []
        made = book.made
        subject = min(book.done, key=lambda s: (made[s].value if lower else -made[s].value, s))
        award = Award(challenge.id, challenge.scope, subject, period.key, challenge.points, "chalkwall")
        event = partial(self._event, challenge, award, now, target=made[subject].target, value=made[subject].value)
        if not self.ledger.award_first(award, now, event):
            return []
        return [(award, event())]

    def _mark_won(self, challenge: ChallengeConfig, period: Period, book: Book,
                  mine: list[Progress]) -> list[Progress]:
        """The progress list with the race's winner marked (the same marked object while the
        winner's progress is the same)."""
        won = self._race_winner(challenge, period.key)
        p = book.made.get(won) if won is not None else None
        if p is None:
            return mine
        if book.won is None or book.won[0] is not p:
            book.won = (p, dataclasses.replace(p, won=True))
        mine[list(book.made).index(p.subject)] = book.won[1]
        return mine

    def _gated(self, challenge: ChallengeConfig, snapshot: Snapshot) -> frozenset[str]:
        """The agents whose quality shuts the challenge's gate this poll (judged on the feed's
        values now, also for a week's or a month's challenge)."""
        gate = challenge.gate
        if gate is None or challenge.scope != "agent":
            return frozenset()
        return frozenset(a.id for a in snapshot.agents if not gate_open(a, gate, self.board))

    def _race_winner(self, challenge: ChallengeConfig, period: str) -> str | None:
        """Who won a race in ``period``, from the ledger (the one who got there first, whoever leads
        now); asked once per race and period, as a decided race stays decided."""
        key = (challenge.id, period)
        if key not in self._winners:
            found = self.ledger.subjects_won(challenge.id, challenge.scope, period)
            if not found:
                return None
            self._winners = {k: v for k, v in self._winners.items() if k[1] == period} | {key: found[0]}
        return self._winners[key]

    def period_of(self, kind: str, now: datetime) -> Period | None:
        return self.calendar.shift(now) if kind == "shift" else self.calendar.period(kind, now)

    def current(self, challenge: ChallengeConfig, period: Period, values: Values, now: datetime) -> dict[str, float]:
        """Each subject's value of the challenge's metric in ``period`` so far. The feed reports the
        current day; a week or month adds the finished days' finals (a mean for a lower-is-better
        metric), a shift takes away what the counter stood at when the shift began. Values for
        other periods than the day are kept in the history under the period's own key, so their
        finals are there for records, personal bests, duels and streaks."""
        today = values.get((challenge.scope, challenge.metric), {})
        if period.kind == "day":
            return today
        lower = self.board.metric(challenge.metric).lower_is_better
        if period.kind == "shift":
            out = self._shift(challenge, period, today, now)
        else:
            days: dict[str, list[float]] = {s: [v] for s, v in today.items()}
            day = self.calendar.period("day", period.start)
            current_day = self.calendar.period("day", now).key
            while day.start < period.end and day.key != current_day:
                for subject, value in self.history.values(day.key, challenge.scope, challenge.metric).items():
                    days.setdefault(subject, []).append(value)
                day = self.calendar.period("day", day.end)
            out = {s: (sum(v) / len(v) if lower else sum(v)) for s, v in days.items()}
        self.history.record(period.key, [(challenge.scope, s, challenge.metric, v) for s, v in out.items()], now)
        return out

    def _shift(self, challenge: ChallengeConfig, period: Period, today: dict[str, float],
               now: datetime) -> dict[str, float]:
        start = self.calendar.local(period.start)
        started_day = self.calendar.period("day", period.start).key
        minute = start.hour * 60 + start.minute
        baseline = self.history.at(started_day, minute, challenge.scope, challenge.metric, or_after=True)
        if started_day == self.calendar.period("day", now).key:
            return {s: v - baseline.get(s, 0.0) for s, v in today.items()}
        # A shift over midnight: what it did before the day's counters reset, and after.
        before = self.history.values(started_day, challenge.scope, challenge.metric)
        subjects = set(today) | set(before)
        return {s: before.get(s, 0.0) - baseline.get(s, 0.0) + today.get(s, 0.0) for s in subjects}

    def own_targets(self, challenge: ChallengeConfig, period: Period) -> dict[str, float]:
        """A personal-best challenge's target for each agent in ``period`` (reads the history only)."""
        return self._own_targets(challenge, period)

    def _own_targets(self, challenge: ChallengeConfig, period: Period) -> dict[str, float]:
        """Each agent's own target: the median of their last ``lookback`` periods × ``stretch``
        (÷ for a lower-is-better metric), never under ``floor``. Computed once per period."""
        key = (challenge.id, period.key)
        if key not in self._targets:
            lower = self.board.metric(challenge.metric).lower_is_better
            past: dict[str, list[float]] = {}
            earlier = period
            for _ in range(challenge.lookback):
                earlier = self.calendar.previous(earlier)
                for subject, value in self.history.values(earlier.key, "agent", challenge.metric).items():
                    past.setdefault(subject, []).append(value)
            targets = {}
            for subject, values in past.items():
                middle = statistics.median(values)
                target = middle / challenge.stretch if lower else max(challenge.floor, middle * challenge.stretch)
                targets[subject] = round(target, 1)
            self._targets = {k: v for k, v in self._targets.items() if k[1] == period.key} | {key: targets}
        return self._targets[key]

    def _decide(self, challenge: ChallengeConfig, period: Period, lower: bool,
                now: datetime) -> list[tuple[Award, FeedEvent]]:
        """The head-to-head of the period that just ended, decided on its final values (on the first
        poll after it ended, whenever that is: a restart or a quiet night does not skip it)."""
        ended = self.calendar.previous(period)
        finals = self.history.values(ended.key, challenge.scope, challenge.metric)
        a, b = challenge.sides
        if a not in finals or b not in finals or finals[a] == finals[b]:
            return []  # a side without figures, or a draw: no winner
        winner, loser = (a, b) if ((finals[a] < finals[b]) if lower else (finals[a] > finals[b])) else (b, a)
        award = Award(challenge.id, challenge.scope, winner, ended.key, challenge.points, "chalkwall")

        def made() -> FeedEvent:
            event = self._event(challenge, award, now, value=finals[winner], best=finals[loser])
            return dataclasses.replace(event, data=_frozen({**event.data, "challenge":
                                       f"{challenge.title}: won {plain_number(finals[winner])} to {plain_number(finals[loser])}"}))
        if not self.ledger.award_first(award, now, made):
            return []
        return [(award, made())]

    def _streak(self, challenge: ChallengeConfig, period: Period, now: datetime) -> list[tuple[Award, FeedEvent]]:
        periods = [period]
        while len(periods) < challenge.length:
            periods.append(self.calendar.previous(periods[-1]))
        keys = [p.key for p in periods]
        done = []
        won = self.ledger.periods_won_by(challenge.of, challenge.scope, keys)
        for subject in self.ledger.subjects_won(challenge.of, challenge.scope, period.key):
            if won.get(subject) == set(keys):
                award = Award(challenge.id, challenge.scope, subject, period.key, challenge.points, "chalkwall")
                made = partial(self._event, challenge, award, now, target=challenge.length)
                if self.ledger.award(award, now, made):
                    done.append((award, made()))
        return done

    def _record(self, challenge: ChallengeConfig, current: dict[str, float], period_now: Period, lower: bool,
                now: datetime) -> tuple[RecordToBeat, list[tuple[Award, FeedEvent]]]:
        period = period_now.key
        previous = self.calendar.previous(period_now).key
        before = self.history.values(previous, challenge.scope, challenge.metric)
        pick = min if lower else max
        leader = pick(current, key=lambda s: (current[s], s)) if current else None
        best = pick(before.values()) if before else None
        holder = pick(before, key=lambda s: (before[s], s)) if before else None
        record = RecordToBeat(challenge.id, challenge.title.format_map(_Blank({"best": plain_number(best or 0)})),
                              challenge.scope, challenge.metric, lower, best, holder, leader,
                              current.get(leader) if leader else None,
                              best is not None and leader is not None and
                              ((current[leader] < best) if lower else (current[leader] > best)),
                              tuple(sorted(current.items(), key=lambda kv: (kv[1] if lower else -kv[1], kv[0]))))
        if best is None:
            return record, []  # no earlier period to beat yet
        done = []
        for subject, value in current.items():
            if (value < best) if lower else (value > best):
                award = Award(challenge.id, challenge.scope, subject, period, challenge.points, "chalkwall")
                made = partial(self._event, challenge, award, now, best=best, value=value)
                if self.ledger.award(award, now, made):
                    done.append((award, made()))
        return record, done

    def _event(self, challenge: ChallengeConfig, award: Award, now: datetime, **numbers: float) -> FeedEvent:
        shown = {k: plain_number(float(v)) for k, v in numbers.items()}
        title = challenge.title.format_map(_Blank(shown))
        return FeedEvent(f"cw:{challenge.id}:{award.subject_kind}:{award.subject}:{award.period}", CHALLENGE_COMPLETED,
                         now.isoformat(timespec="seconds"),
                         _frozen({award.subject_kind: award.subject, "challenge": title, "points": award.points,
                                  "kind": challenge.kind}))
