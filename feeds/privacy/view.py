"""The one place the privacy profile is enforced: the board and game the wall receives, redacted.

:func:`redact` turns a ranked board (already limited to the wall's teams) and the game state into
what ``[privacy]`` and each person's choices allow, so that no scene, banner or toast can show what
it never receives:

* listed rows only — in ``top`` the best ``top_n`` (never more than a third of the group), in
  ``anonymous`` everyone under an alias or initials, in ``teams`` nobody — re-ranked among
  themselves, so a hidden person's place leaves no gap; the rest are counted (``unlisted``: "and 14
  more") and still count in their team's totals, which are the board's own; with ``[board]
  group_by`` each group is ranked, and capped at a third of its own people, on its own;
* in ``top`` and ``anonymous`` a team smaller than ``min_group`` is not broken down into people (in
  ``teams`` it is not shown at all), so a small team's unlisted member cannot be inferred; in every
  profile, nor is a team whose total minus its listed values would be one unlisted person's value
  (:func:`_giveaways`), or a small team with anyone unlisted;
* people who may be celebrated but are not listed (``celebrate_only``; in ``top`` anyone) are
  known to :meth:`PrivateBoard.find` for banners and toasts, under the name the profile allows — in
  ``teams`` "Someone on Night shift"; an unknown id is "Someone", never the raw id;
* feed events and the game (progress, records, duels, comparisons, badges) keep only subjects the
  wall may show.

``named`` with no choices and every feature on is today's wall: the board passes unchanged.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass, field, fields, replace
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from feeds.board.build import Board, RankedAgent, TeamStanding, competition_ranks, group_of, sort_keys
from feeds.config.privacy import FEATURES, PrivacyConfig
from feeds.game.challenges import GameState
from feeds.logs import LOGGER
from feeds.model import CHALLENGE_COMPLETED, KUDOS, Agent, FeedEvent
from feeds.privacy.choices import DEFAULT, Choice, Choices, HubChoices

log = logging.getLogger(f"{LOGGER}.privacy")
SOMEONE = "Someone"
_STRICTNESS = {"ranked": 0, "celebrate_only": 1, "hidden": 2}
# Scenes that show one person against the next: off in "top" and "teams" (UODO: never who did worst).
BOTTOM_SCENES = frozenset({"near"})
PAIR = 2  # a team total of fewer members than this is one person's value
LOOK_SECONDS = 1.0  # how often the wall asks whether a choice changed (a poll is rarely quicker)


class Rules:
    """The profile applied to one board: who is listed, who may be named, under which name."""

    def __init__(self, board: Board, cfg: PrivacyConfig, choices: Mapping[str, Choice]) -> None:
        self.cfg, self.choices, self.mode = cfg, choices, cfg.mode
        self.group = len(board.agents)
        self.sizes = {t.team.id: t.members for t in board.teams}
        self.names = {t.team.id: t.team.name for t in board.teams}

    def small(self, agent: Agent) -> bool:
        """Whether the agent's group is too small to break down into people (never in ``named``)."""
        if self.mode == "named":
            return False
        least = self.cfg.min_group
        return self.group < least or (agent.team is not None and self.sizes.get(agent.team, self.group) < least)

    def celebrated(self, agent: Agent, choice: Choice) -> bool:
        """Whether a banner or a thank-you may name this agent when the board does not list them."""
        return choice.named and (self.mode != "anonymous" or not self.small(agent))  # a small team's alias is guessed

    def shown_as(self, agent: Agent, choice: Choice) -> Agent:
        if self.mode == "teams":  # a team too small to show is not named either: two people are nearly one
            team = self.names.get(agent.team or "") if self.sizes.get(agent.team or "", 0) >= self.cfg.min_group \
                else None
            return agent._replace(name=f"{SOMEONE} on {team}" if team else SOMEONE, avatar=None)
        if self.mode == "anonymous":
            return agent._replace(name=choice.alias or initials(agent.name), avatar=None)
        if choice.alias:  # a photo would undo the alias
            return agent._replace(name=choice.alias, avatar=None)
        return agent


@dataclass(frozen=True, slots=True)
class PrivateBoard(Board):
    """A board as the profile allows it: ``agents`` are the listed rows; :meth:`find` also knows
    those who may be named in a celebration without being listed (worked out when asked, from
    ``source``); ``unlisted`` counts the people not listed."""

    unlisted: int = 0
    unlisted_by_group: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))  # with group_by
    mode: str = "named"
    features: frozenset[str] = frozenset(FEATURES)  # those switched on
    source: Board | None = field(default=None, repr=False, compare=False)
    rules: Rules | None = field(default=None, repr=False, compare=False)

    def find(self, agent_id: str) -> RankedAgent | None:
        i = self.index.get(agent_id)
        if i is not None:
            return self.agents[i]
        row = self.source.find(agent_id) if self.source is not None else None
        if row is None or self.rules is None:
            return None
        choice = self.rules.choices.get(agent_id, DEFAULT)
        return RankedAgent(None, self.rules.shown_as(row.agent, choice), None) \
            if self.rules.celebrated(row.agent, choice) else None

    def unknown(self, ident: str | None) -> str:
        return SOMEONE  # never the raw id: it may be a name

    def hailed(self, ident: str | None) -> tuple[str, str | None, str | None]:
        """With ``individual_celebrations`` off a completion names the person's team only, as in
        ``teams``: "Someone on Night shift" ("Someone" for a team too small, or none)."""
        name, colour, avatar = self.who(ident)
        if "individual_celebrations" in self.features or self.mode == "teams" or not ident or self.rules is None:
            return name, colour, avatar
        row = self.source.find(ident) if self.source is not None else None
        if row is None:
            return name, colour, avatar  # a team, or nobody the wall knows ("Someone")
        team = row.agent.team or ""
        big = self.rules.sizes.get(team, 0) >= self.rules.cfg.min_group
        return (f"{SOMEONE} on {self.rules.names[team]}" if big else SOMEONE), colour if big else None, None


class _Known(Container[str]):
    """The ids a private board lists or may name, for ``in`` (without building a set per frame)."""

    def __init__(self, board: PrivateBoard) -> None:
        self.board = board

    def __contains__(self, ident: object) -> bool:
        return isinstance(ident, str) and self.board.find(ident) is not None


def unlisted(board: Board | None, group: str | None = None) -> int:
    """How many people on the wall the board does not list (0 for a board that lists everyone);
    with ``group`` (``[board] group_by``), how many in that group's board."""
    if not isinstance(board, PrivateBoard):
        return 0
    return board.unlisted if group is None else board.unlisted_by_group.get(group, 0)


def known_ids(board: Board | None) -> Container[str]:
    """The ids a board lists or may name (its own index when it is not a private one)."""
    if board is None:
        return {}
    return _Known(board) if isinstance(board, PrivateBoard) else board.index


def shows(board: Board | None, feature: str) -> bool:
    """Whether a feature that shows individuals' data (``FEATURES``) is on for this board."""
    if not isinstance(board, PrivateBoard):
        return True
    return feature in board.features and (board.mode != "teams" or feature == "thanks")


def team_only(board: Board | None) -> bool:
    """Whether the board shows team totals only (mode ``teams``, or every group too small)."""
    return isinstance(board, PrivateBoard) and not board.agents and board.unlisted > 0


@lru_cache(maxsize=16384)  # every row, every poll, in "anonymous": the same names over and over
def initials(name: str) -> str:
    """"Åsa Ödegård" → "Å. Ö.": what ``anonymous`` shows for someone without an alias."""
    parts = [p for p in name.replace("-", " ").split() if p[:1].isalpha()]
    return " ".join(f"{p[0].upper()}." for p in parts[:2]) or "?"


def combine(own: Choice, admin: Choice | None) -> Choice:
    """A person's own choice and the admin's: the more private ranking wins; the person's own
    alias wins over the admin's."""
    if admin is None:
        return own
    ranking = max(own.ranking, admin.ranking, key=_STRICTNESS.__getitem__)
    return Choice(ranking, own.alias or admin.alias)


def admin_choices(cfg: PrivacyConfig) -> dict[str, Choice]:
    return {agent: Choice(p.ranking, p.alias or None) for agent, p in cfg.people.items()}


def effective(cfg: PrivacyConfig, own: Mapping[str, Choice]) -> dict[str, Choice]:
    """Every person's choice as the wall applies it (only those other than the default)."""
    admin = admin_choices(cfg)
    out = {agent: combine(own.get(agent, DEFAULT), admin.get(agent)) for agent in {*admin, *own}}
    return {agent: c for agent, c in out.items() if c != DEFAULT}


@dataclass(frozen=True, slots=True)
class View:
    board: Board
    game: GameState | None


def redact(board: Board, game: GameState | None, cfg: PrivacyConfig, choices: Mapping[str, Choice]) -> View:
    """The board and game the wall may show (see the module's docstring); ``choices`` are
    :func:`effective` ones."""
    if cfg.mode == "named" and not choices and not board.watchers and all(cfg.feature(f) for f in FEATURES):
        return View(board, game)  # (watchers: their thanks and completions must not reach the wall)
    mode = cfg.mode
    rules = Rules(board, cfg, choices)
    check_small = mode in ("top", "anonymous")
    renamed = mode == "anonymous"  # else only an alias changes a name
    agents: list[RankedAgent] = []
    if mode != "teams":
        blocked: set[str] = set()  # teams whose members would give away an unlisted one's value
        while mode == "top":  # first who is listed (cheap), then the rows, once
            more = _giveaways(board, _listed(board, rules, choices, blocked, build=False), cfg.min_group) - blocked
            if not more:
                break
            blocked |= more  # the places they leave go to the next best of other teams
        if mode != "top" and choices:  # everyone else is listed: only the choices leave anyone out
            blocked = _chosen_giveaways(board, rules, choices, cfg.min_group)
        agents = _listed(board, rules, choices, blocked).agents
    listed = tuple(agents)
    if mode == "teams":
        teams = _big_teams(board.teams, cfg.min_group, board.lower_is_better)
    elif rules.group > len(listed) and any(t.members < PAIR for t in board.teams):
        # A team of one whose member is not listed: its total is that person's value, so it is not
        # shown on its own (its work counts in the floor's). A bigger small team shows its total, as
        # min_group promises: only its members can subtract their own values from it.
        shown = {a.agent.id for a in listed}
        exposed = {r.agent.team for r in board.agents if r.agent.id not in shown}
        teams = _big_teams(board.teams, PAIR, board.lower_is_better, exposed)
    else:
        teams = board.teams
    base: dict[str, Any] = {f.name: getattr(board, f.name) for f in fields(Board)}
    base.update(agents=listed, teams=teams, index=MappingProxyType({a.agent.id: n for n, a in enumerate(listed)}),
                role_models=_role_models(board, rules, choices, check_small, renamed))
    by_group: dict[str, int] = {}
    if board.group_by:  # each group's board says how many more it has
        by_group = _group_sizes(board)
        for row in listed:
            by_group[group_of(row.agent, board.group_by)] -= 1
    private = PrivateBoard(**base, unlisted=rules.group - len(listed), unlisted_by_group=MappingProxyType(by_group),
                           mode=mode,
                           features=frozenset(f for f in FEATURES if cfg.feature(f)), source=board, rules=rules)
    allowed = event_filter(private, cfg)
    private = replace(private, events=tuple(e for e in board.events if allowed(e)))
    ids = set(private.index)
    return View(private, _game(game, ids, {t.team.id for t in teams}, cfg) if game is not None else None)


@dataclass(slots=True)
class _Listing:
    """The rows listed, and per team how many listed and unlisted members' values are in its total."""

    agents: list[RankedAgent] = field(default_factory=list)
    shown: dict[str, int] = field(default_factory=dict)  # a key for every team with a listed member
    unshown: dict[str, int] = field(default_factory=dict)


def _listed(board: Board, rules: Rules, choices: Mapping[str, Choice], blocked: set[str],
            build: bool = True) -> _Listing:
    """The rows the profile lists, ranked again among themselves, none of a ``blocked`` team
    (without ``build``, only who is listed is counted: the rows are not made)."""
    mode, cfg = rules.mode, rules.cfg
    check_small = mode in ("top", "anonymous")
    renamed = mode == "anonymous"
    grouped = bool(board.group_by)
    # With [board] group_by each group is a board of its own: ranked, and capped at a third, on its own.
    caps = {g: cfg.cap(n) for g, n in _group_sizes(board).items()} if mode == "top" else {}
    runs: dict[str, _Run] = {}
    out = _Listing()
    agents, shown, unshown = out.agents, out.shown, out.unshown
    rows = board.agents
    for i, row in enumerate(rows):  # 5,000 rows a poll: the common case (no choice, no alias) costs a few lookups
        choice = choices.get(row.agent.id)
        team = row.agent.team
        if (choice is not None and choice.ranking != "ranked") or (check_small and rules.small(row.agent)) \
                or (blocked and team in blocked):
            if not build and team is not None and row.rank is not None:
                unshown[team] = unshown.get(team, 0) + 1
            continue
        key = group_of(row.agent, board.group_by) if grouped else ""
        run = runs.get(key)
        if run is None:
            run = runs[key] = _Run()
        if mode == "top" and (row.rank is None or run.listed >= caps[key]):
            if not grouped:  # the board is in order: nobody further down is listed, the unranked last
                for rest in rows[i:] if not build else ():
                    if rest.rank is None:
                        break
                    if rest.agent.team is not None:
                        unshown[rest.agent.team] = unshown.get(rest.agent.team, 0) + 1
                break
            if not build and team is not None and row.rank is not None:
                unshown[team] = unshown.get(team, 0) + 1
            continue  # this group is done; the next group's rows follow
        if not build:
            if team is not None:
                shown[team] = shown.get(team, 0) + (row.rank is not None)
            run.listed += 1
            continue
        # Ranked again among the listed (1, 1, 3 as the board): a hidden place leaves no gap.
        rank = None if row.rank is None else run.here if row.rank == run.there else run.listed + 1
        run.there, run.here = row.rank, rank
        run.listed += 1
        agent = rules.shown_as(row.agent, choice or DEFAULT) if renamed or choice is not None else row.agent
        agents.append(row if rank == row.rank and agent is row.agent else RankedAgent(rank, agent, row.value))
    return out


def _giveaways(board: Board, listing: _Listing, least: int) -> set[str]:
    """The teams whose listed members, with the team's total, would give away the unlisted ones'
    values: exactly one unlisted member whose value counts in the total (the total minus the values
    shown is theirs), or any unlisted member of a team smaller than ``least`` (the rest of a team of
    three is nearly one person). A gated member's value is not in the total: it gives nothing away."""
    if not listing.unshown:
        return set()
    sizes = {t.team.id: t.members for t in board.teams}
    return {team for team in listing.shown if (rest := listing.unshown.get(team, 0)) == 1
            or (rest > 0 and sizes.get(team, 0) < least)}


def _chosen_giveaways(board: Board, rules: Rules, choices: Mapping[str, Choice], least: int) -> set[str]:
    """:func:`_giveaways` where only people's choices leave anyone out (``named``, ``anonymous``):
    worked out from the choices, not from every row."""
    check_small = rules.mode in ("top", "anonymous")
    left: dict[str, int] = {}  # per team, the members a choice leaves out
    unshown: dict[str, int] = {}  # ... of whom the value is in the team's total
    for ident, choice in choices.items():
        i = board.index.get(ident) if choice.ranking != "ranked" else None
        if i is None:
            continue
        row = board.agents[i]
        team = row.agent.team
        if team is None or (check_small and rules.small(row.agent)):
            continue  # a small team lists nobody in "anonymous": there is nothing to give away
        left[team] = left.get(team, 0) + 1
        if row.rank is not None:
            unshown[team] = unshown.get(team, 0) + 1
    sizes = {t.team.id: t.members for t in board.teams}
    return {team for team, rest in unshown.items() if sizes.get(team, 0) > left[team]  # someone listed
            and (rest == 1 or sizes.get(team, 0) < least)}


@dataclass(slots=True)
class _Run:
    """One group's listed rows so far: how many, and the last one's rank on the board and here."""

    listed: int = 0
    there: int | None = None
    here: int | None = None


def _group_sizes(board: Board) -> dict[str, int]:
    """How many people each group of the board has (one group, "", without ``group_by``)."""
    if not board.group_by:
        return {"": len(board.agents)}
    sizes: dict[str, int] = {}
    for row in board.agents:
        key = group_of(row.agent, board.group_by)
        sizes[key] = sizes.get(key, 0) + 1
    return sizes


def _role_models(board: Board, rules: Rules, choices: Mapping[str, Choice], check_small: bool,
                 renamed: bool) -> tuple[RankedAgent, ...]:
    """The role models' lane as the profile allows it: never ranked anyway, so praise names them in
    ``named`` and ``top``; under an alias or initials in ``anonymous``; nobody in ``teams``; never
    the hidden, nor anyone a small team would give away."""
    if rules.mode == "teams":
        return ()
    kept = []
    for row in board.role_models:
        choice = choices.get(row.agent.id, DEFAULT)
        if not choice.named or (check_small and rules.small(row.agent)):
            continue
        agent = rules.shown_as(row.agent, choice) if renamed or row.agent.id in choices else row.agent
        kept.append(row if agent is row.agent else row._replace(agent=agent))
    return tuple(kept)


def _big_teams(teams: tuple[TeamStanding, ...], least: int, lower: bool,
               only: Container[str | None] | None = None) -> tuple[TeamStanding, ...]:
    """The teams of at least ``least`` members (of those in ``only``: others stay whatever their
    size), ranked again among themselves."""
    kept = [t for t in teams if t.members >= least or (only is not None and t.team.id not in only)]
    ranks = competition_ranks(sort_keys([t.value for t in kept], lower))
    out = []
    for n, (rank, t) in enumerate(zip(ranks, kept)):
        ahead = kept[n - 1].value if n else None
        gap = None if ahead is None or t.value is None else round(abs(ahead - t.value), 2)
        out.append(TeamStanding(rank, t.team, t.value, t.members, gap))
    return tuple(out)


def event_filter(board: PrivateBoard, cfg: PrivacyConfig) -> Callable[[FeedEvent], bool]:
    """Whether a feed event may reach the screen: a thank-you or a completion only about someone the
    board may name (a hidden person's is not shown at all), and thanks only with ``thanks`` on."""
    def allowed(event: FeedEvent) -> bool:
        data = event.data
        if event.type == KUDOS:
            return cfg.thanks and board.find(str(data.get("to"))) is not None
        if event.type == CHALLENGE_COMPLETED and data.get("agent"):
            return board.find(str(data.get("agent"))) is not None
        return True
    return allowed


def _game(game: GameState, agents: set[str], teams: set[str], cfg: PrivacyConfig) -> GameState:
    """The game with only the subjects the wall may show: listed agents (when
    ``individual_challenges`` is on) and the teams shown."""
    people = agents if cfg.individual_challenges else set()

    def ok(scope: str, subject: str | None) -> bool:
        return subject in (people if scope == "agent" else teams)

    records = tuple(replace(r, today=tuple(t for t in r.today if ok(r.scope, t[0])),
                            holder=r.holder if ok(r.scope, r.holder) else None,
                            leader=r.leader if ok(r.scope, r.leader) else None,
                            leader_value=r.leader_value if ok(r.scope, r.leader) else None)
                    for r in game.records if r.scope != "agent" or people)
    comparison = game.comparison
    if comparison is not None:
        mine = agents if cfg.individual_history else set()
        comparison = replace(comparison, teams=tuple(c for c in comparison.teams if c.subject in teams),
                             improved=tuple(c for c in comparison.improved if c.subject in mine),
                             personal_bests=tuple(s for s in comparison.personal_bests if s in mine))
    return replace(game, progress=tuple(p for p in game.progress if ok(p.scope, p.subject)),
                   records=records, comparison=comparison,
                   duels=tuple(d for d in game.duels if all(ok(d.scope, s) for s, _ in d.sides)),
                   badges=MappingProxyType({s: b for s, b in game.badges.items() if s in people or s in teams}))


class Privacy:
    """The profile and each person's choices, as the wall applies them: :meth:`view` on every new
    board; :meth:`changed` says when the team page wrote a choice since (read again, cheaply)."""

    def __init__(self, cfg: PrivacyConfig, choices: Choices | HubChoices | None = None) -> None:
        self.cfg = cfg
        self.choices = choices
        self._lock = threading.Lock()
        self._version: int | None = None
        self._looked = -LOOK_SECONDS
        self._effective: dict[str, Choice] = effective(cfg, {})

    def _current(self) -> dict[str, Choice]:
        if self.choices is None:
            return self._effective
        try:
            version = self.choices.version()
            if version != self._version:
                self._effective = effective(self.cfg, self.choices.all())
                self._version = version
        except Exception:  # an unreadable state file: the last choices read (or the admin's) stay
            pass
        return self._effective

    def changed(self, now: float) -> bool:
        """Whether someone's choice changed since the last :meth:`view`; the state file is asked at
        most once every ``LOOK_SECONDS`` of clock time ``now`` (the wall asks at every frame)."""
        if self.choices is None or now - self._looked < LOOK_SECONDS:
            return False
        self._looked = now
        try:
            return self.choices.version() != self._version
        except Exception:
            return False

    def view(self, board: Board, game: GameState | None) -> View:
        with self._lock:
            return redact(board, game, self.cfg, self._current())

    def scene_allowed(self, name: str) -> bool:
        """Whether a scene may be shown at all: ``near`` is off in ``top`` and ``teams`` and with
        ``near_you = false``."""
        if name in BOTTOM_SCENES and (self.cfg.mode in ("top", "teams") or not self.cfg.near_you):
            return False
        return True

    def allows(self, event: FeedEvent, board: Board | None) -> bool:
        """Whether a feed event just received may be remembered and celebrated on ``board``."""
        if not isinstance(board, PrivateBoard):
            return True
        return event_filter(board, self.cfg)(event)

    def leader_banners(self) -> bool:
        """A "new leader" banner ranks someone first: not in ``top`` (praise, never a rank) or ``teams``,
        nor with ``individual_celebrations`` off (it names a person)."""
        return self.cfg.mode in ("named", "anonymous") and self.cfg.individual_celebrations

    def close(self) -> None:
        if self.choices is not None:
            self.choices.close()


def open_privacy(cfg: PrivacyConfig, directory: Path | None, hub_site: str | None = None) -> Privacy:
    """The wall's privacy, reading each person's choices from the state file in ``directory`` — on a
    hub's screen (``hub_site``) from what the hub publishes instead; the admin's choices alone when
    the file cannot be opened (a read-only disk: the wall still runs)."""
    choices: Choices | HubChoices | None = None
    if hub_site:
        choices = HubChoices(hub_site)
    elif directory is not None:
        try:
            choices = Choices(directory)
        except (OSError, sqlite3.Error) as exc:
            log.warning("cannot read the people's privacy choices (%s); applying the config's alone", exc)
    return Privacy(cfg, choices)


def hub_site_of(cfg: Any) -> str | None:
    """The hub's site when ``cfg`` (a Config) is a hub's screen: its choices come over the bus."""
    return getattr(cfg.feed.options, "site", None) or None if cfg.feed.type == "hub" else None
