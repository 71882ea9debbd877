"""The Me page (``/me``): my points and what earned each, my badges, today's targets, my streaks,
the thanks I received, what the wall shows about me (:mod:`feeds.web.wall_me`) and my privacy
choices.

Everything comes from the state file the wall writes: the ledger (points, badges and streaks,
through the same :func:`feeds.game.challenges.badges` the wall wears them by), the wall's last saved
board (today's values and my level, for level-fitted targets) and the ``thanks`` table. The privacy
form writes :class:`feeds.privacy.choices.Choices`; the wall applies them within one poll.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from feeds.config.schema import ChallengeConfig
from feeds.game.challenges import Challenges, Progress, _Blank, badges
from feeds.game.history import History
from feeds.game.ledger import KUDOS, KUDOS_UNDONE, SHOP, Ledger
from feeds.game.shop import request_titles, row_title
from feeds.game.thanks import LedgerRow, ThanksStore
from feeds.model import plain_number
from feeds.privacy.choices import ALIAS_MAX, RANKINGS, Choices
from feeds.web.app import Site, Who, checked_form, page
from feeds.web.floor import Floor
from feeds.web.thanks import now_of, thanks_routes
from feeds.web.wall_me import on_wall, wall_routes

BADGE_LABELS = {"record": "Record holder", "streak": "On a streak"}
RANKING_LABELS = {"ranked": "Rank me as usual",
                  "celebrate_only": "Celebrate me, but keep me out of the rankings",
                  "hidden": "Hide me: out of the rankings and never named on the wall"}
TARGET_KINDS = ("target", "race", "personal_best")
STREAK_LOOKBACK = 60  # periods looked back for a streak's length


@dataclass(frozen=True)
class Line:
    """A ledger row as the Me page shows it."""

    when: str
    what: str
    points: float


@dataclass(frozen=True)
class Target:
    progress: Progress
    period: str  # "day", "week", "month" or "shift"
    lower_is_better: bool
    winner: str | None = None  # a race someone has won


@dataclass(frozen=True)
class Streak:
    title: str
    run: int  # periods in a row, up to the latest one won
    length: int  # what the challenge asks for
    unit: str


def badge_label(badge: str) -> str:
    if badge.startswith("milestone:"):
        return f"{badge.split(':', 1)[1]} challenges completed"
    return BADGE_LABELS.get(badge, badge)


class _Elided(dict):  # type: ignore[type-arg]
    """For a title in the history: a number the row does not keep ({best}, {value}) shows as "…"."""

    def __missing__(self, key: str) -> str:
        return "…"


def title_of(challenge: ChallengeConfig, target: float | None = None, past: bool = False) -> str:
    """A challenge's title with its numbers: ``target`` (the one for my level), a streak's length;
    in a history row (``past``) the numbers it does not keep as "…"."""
    if challenge.kind == "streak":
        target = challenge.length
    elif target is None and isinstance(challenge.target, (int, float)) and challenge.target:
        target = challenge.target
    shown = {"target": plain_number(target)} if target is not None else {}
    return challenge.title.format_map(_Elided(shown) if past else _Blank(shown))


class MePage:
    """What the page shows of one person; each method reads the state file afresh."""

    def __init__(self, site: Site, store: ThanksStore, floor: Floor, ledger: Ledger, history: History) -> None:
        self.site, self.store, self.floor, self.ledger, self.history = site, store, floor, ledger, history
        self.config = site.config
        self.calendar = floor.calendar
        # The wall's own challenge code, for personal-best targets (it only reads the history for them).
        self.challenges = Challenges(self.config.challenges, self.config.board, self.calendar, ledger, history,
                                     self.config.levels.agents)

    def lines(self, me: str, names: dict[str, str]) -> list[Line]:
        agent = self.floor.agent(me)
        level = self.config.levels.agents.get(me) or (agent.level if agent else None)
        titles = {c.id: title_of(c, c.target_for(level) if c.kind in ("target", "race") else None, past=True)
                  for c in self.config.challenges}
        rows = self.store.ledger_of(me)
        items = request_titles(self.floor.path) if any(r.source == SHOP for r in rows) else {}
        return [Line(self.floor.when(r.awarded_at), self.what(r, titles, names, items), r.points) for r in rows]

    @staticmethod
    def what(row: LedgerRow, titles: dict[str, str], names: dict[str, str], items: dict[int, str] | None = None) -> str:
        if row.source == SHOP:  # as the payroll export says it: "Shop: Fika (request 3) — approved"
            return row_title(row.challenge, row.period, items or {})
        giver = names.get(row.giver or "", row.giver or "a colleague")
        if row.challenge == KUDOS:
            return f"thanks from {giver}: {row.text}" if row.text else f"thanks from {giver}"
        if row.challenge == KUDOS_UNDONE:
            return f"thanks from {giver} taken back" + (f": {row.text}" if row.text else "")
        if row.source == "feed":
            return row.challenge  # the feed's own challenge: its name is its title
        return titles.get(row.challenge, row.challenge)

    def badges(self, me: str, now: datetime) -> list[str]:
        yesterday = self.calendar.previous(self.calendar.period("day", now)).key
        return [badge_label(b) for b in badges(self.ledger, self.config.challenges, yesterday).get(me, ())]

    def targets(self, me: str, now: datetime) -> list[Target]:
        """My target, race and personal-best challenges of the period under way: the value the wall
        last kept for the period (the board's today's value before it kept any) against the target
        for my level (or my own, from my history), done once reached or in the ledger."""
        agent = self.floor.agent(me)
        level = self.config.levels.agents.get(me) or (agent.level if agent else None)
        out = []
        for c in self.config.challenges:
            if c.scope != "agent" or c.kind not in TARGET_KINDS:
                continue
            period = self.calendar.shift(now) if c.period == "shift" else self.calendar.period(c.period, now)
            if period is None:
                continue  # a shift challenge while no shift is on
            target = self.challenges.own_targets(c, period).get(me, c.floor or None) if c.kind == "personal_best" \
                else c.target_for(level)
            if target is None:
                continue
            won = bool(self.ledger.periods_won(c.id, "agent", me, [period.key]))
            winner = next(iter(self.ledger.subjects_won(c.id, "agent", period.key)), None) if c.kind == "race" else None
            kept = self.history.values(period.key, "agent", c.metric).get(me)
            value = kept if kept is not None else float(agent.metrics.get(c.metric, 0.0)) if agent else None
            lower = self.config.board.metric(c.metric).lower_is_better
            reached = value is not None and (value <= target if lower else value >= target)
            done = won if c.kind == "race" else won or reached  # a race is won once, by whoever got there first
            out.append(Target(Progress(c.id, title_of(c, target), c.kind, c.scope, me, value or 0.0, target, done,
                                       won and c.kind == "race"), c.period, lower, winner))
        return out

    def streaks(self, me: str, now: datetime) -> list[Streak]:
        """My run of each streak's challenge, counted back from this period (or the last, while
        this one is not won yet) in the ledger."""
        out = []
        by_id = {c.id: c for c in self.config.challenges}
        for c in self.config.challenges:
            of = by_id.get(c.of)
            if c.kind != "streak" or c.scope != "agent" or of is None or of.period == "shift":
                continue
            periods = [self.calendar.period(of.period, now)]
            while len(periods) < STREAK_LOOKBACK:
                periods.append(self.calendar.previous(periods[-1]))
            won = self.ledger.periods_won(of.id, "agent", me, [p.key for p in periods])
            keys = [p.key for p in periods]
            if keys[0] not in won:
                keys = keys[1:]  # today is not over: the run so far is yesterday's
            run = next((i for i, key in enumerate(keys) if key not in won), len(keys))
            out.append(Streak(title_of(c), run, c.length, of.period))
        return out


def own_routes(site: Site) -> list[Route]:
    """The Thanks and Me pages, over stores of the people table's state file."""
    directory = site.people.path.parent
    store, ledger, choices = ThanksStore(directory), Ledger(directory), Choices(directory)
    floor = Floor(directory, site.config, site.people)
    me_page = MePage(site, store, floor, ledger, History(directory))

    def view(request: Request, who: Who, status: int = 200, **extra: Any) -> HTMLResponse:
        now = now_of(site)
        names = floor.names()
        lines = me_page.lines(who.id, names)
        choice = choices.get(who.id)
        return page(request, "me.html", status, balance=sum(line.points for line in lines), lines=lines[:200],
                    more=max(0, len(lines) - 200), badges=me_page.badges(who.id, now),
                    targets=me_page.targets(who.id, now), streaks=me_page.streaks(who.id, now),
                    received=store.received_by(who.id), names=names, choice=choice, rankings=RANKINGS,
                    ranking_labels=RANKING_LABELS, alias_max=ALIAS_MAX, ranked_role=who.role != "watcher",
                    on_board=floor.agent(who.id) is not None, when=floor.when, wall=on_wall(site, who.id), **extra)

    def not_a_person(request: Request) -> HTMLResponse:
        return page(request, "message.html", 403, title="Sign in as yourself",
                    text="Admins signed in by password have no points or privacy choices: sign in with "
                         "your own link to see yours.")

    async def me(request: Request) -> HTMLResponse:
        who: Who = request.state.who
        if who.admin:
            return not_a_person(request)
        saved = request.query_params.get("saved") == "1"
        return await run_in_threadpool(view, request, who, saved=saved)

    async def privacy(request: Request) -> Response:
        form = await checked_form(request)
        who: Who = request.state.who
        if who.admin:
            return not_a_person(request)
        ranking = str(form.get("ranking", ""))
        alias = str(form.get("alias", ""))
        try:
            if ranking not in RANKINGS:
                raise ValueError("Pick one of the choices for the rankings.")
            await run_in_threadpool(choices.set, who.id, ranking, alias, now_of(site))  # type: ignore[arg-type]
        except ValueError as exc:
            return await run_in_threadpool(view, request, who, 400, error=str(exc), alias_typed=alias)
        return RedirectResponse("/me?saved=1", 303)

    return [*thanks_routes(site, store, floor), *wall_routes(site),
            Route("/me", me, methods=["GET"]),
            Route("/me/privacy", privacy, methods=["POST"])]
