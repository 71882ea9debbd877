"""Freshdesk (API v2): today's solved tickets, first-reply times and CSAT per agent, read
incrementally from the ticket list and the satisfaction-ratings list.

- Tickets: ``GET /api/v2/tickets?updated_since=…&order_by=updated_at&order_type=asc&include=stats``.
  A ticket counts for its ``responder_id`` when its status is 4 (resolved) or 5 (closed) and its
  ``stats.resolved_at`` is today; ``first_reply_seconds`` is ``stats.first_responded_at`` minus
  ``created_at``. The list is read by keyset: each page's last ``updated_at`` (less a second)
  starts the next query at page 1, so tickets updated while we page cannot shift one past us, and
  the 300-page cap never bites. The watermark kept between polls overlaps 60 s (at most 5 min).
- Deleted tickets leave the plain list, so ``filter=deleted`` (since local midnight, every poll)
  says which ones to take back — a solved-then-deleted ticket and its rating leave the tally.
- Ratings: ``GET /api/v2/surveys/satisfaction_ratings?created_since=…``, for ``agent_id``;
  ``ratings.default_question`` above 100 is satisfied, 100 neutral (rated, not satisfied), below 0
  not satisfied; any other value is left out with a warning naming the field.
- Roster: ``/api/v2/agents`` (``deactivated`` ones left out), ``/api/v2/groups`` for teams, and
  ``/api/v2/agents/me`` to warn when the key's agent cannot see every ticket (ticket scope).

Rate limits: the account's limit (``X-RateLimit-Total``, Growth's 200 a minute until a header says
otherwise) and the Tickets-List sub-limit (20/100/200 a minute on Growth/Pro/Enterprise, told by
no header, so taken from the plan the total names). A list with stats costs 3 credits; the real
charge is read back from ``X-RateLimit-Used-CurrentRequest`` (decimals such as "700.0" too).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx

from feeds.config.schema import FeedConfig
from feeds.config.secrets import read_secret
from feeds.connectors.base import Context
from feeds.connectors.kit.api import ApiClient, ApiError, Reply, StaticCredentials, number_header
from feeds.connectors.kit.budget import Budget
from feeds.connectors.kit.day import parse_time, utc_iso
from feeds.connectors.kit.native import Member, NativeConnector, NativeOptions, PollContext, native_type
from feeds.logs import LOGGER, log_event

log = logging.getLogger(f"{LOGGER}.connector")
OVERLAP = 60.0  # seconds of watermark re-read between polls (the issue allows at most 300)
PER_PAGE = 100  # the most Freshdesk serves a page
MAX_PAGES = 300  # Freshdesk serves no page past 300
# (per-minute account limit, its Tickets-List sub-limit) of the documented plans, largest first
PLANS = ((700.0, 200.0), (400.0, 100.0), (200.0, 20.0))
HOURLY_FROM = 3000.0  # the legacy plans' hourly totals (3,000 and 5,000); no per-minute plan is near
NEXT = re.compile(r'<\s*[^>]+>\s*;\s*rel="?next"?', re.I)
SUBDOMAIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")


def _subdomain(value: str) -> str | None:
    if not value or SUBDOMAIN.fullmatch(value):
        return None
    first = value.split("//")[-1].split(".")[0]
    hint = f' (just "{first}" for {first}.freshdesk.com)' if SUBDOMAIN.fullmatch(first) else ""
    return f'must be the account\'s name in https://NAME.freshdesk.com, not "{value}"{hint}'


@dataclass(frozen=True)
class FreshdeskOptions(NativeOptions):
    subdomain: str = field(default="", metadata={"check": _subdomain})

    def check(self, reader: Any, key: str) -> None:
        if not self.subdomain and not self.base_url:
            reader.problem(f"{key}.subdomain", 'missing (required for feed type "freshdesk" unless base_url is '
                                               'given): the NAME in https://NAME.freshdesk.com')


def list_limit(per_minute: float) -> float:
    """The Tickets-List sub-limit of the plan whose account limit is ``per_minute``."""
    return next((sub for total, sub in PLANS if per_minute >= total), PLANS[-1][1])


def has_next(headers: httpx.Headers) -> bool:
    return bool(NEXT.search(headers.get("link", "")))


def forbidden(path: str, body: Any) -> str:
    """What a 403 on ``path`` needs, for the one clear error (Freshdesk's own reason appended)."""
    said = body.get("message") if isinstance(body, dict) and isinstance(body.get("message"), str) else ""
    code = body.get("code") if isinstance(body, dict) else None
    if path.startswith("/api/v2/surveys"):
        need = ("a Freshdesk plan with customer satisfaction surveys (Growth or above)" if code == "require_feature"
                else "an agent whose role may view satisfaction survey results")
    elif path.startswith("/api/v2/tickets"):
        need = "an agent whose role may view tickets, with Global ticket access (Admin > Agents > the key's agent)"
    elif path.startswith(("/api/v2/agents", "/api/v2/groups")):
        need = "an administrator's or supervisor's API key (the roster needs the agents and groups lists)"
    else:
        need = "an agent role that may read it"
    return f"{need}; Freshdesk said: {said[:120]}" if said else need


class FreshdeskConnector(NativeConnector):
    vendor = "Freshdesk"
    SUBS = {"tickets": ("tickets_solved", "first_reply_seconds"), "ratings": ("csat", "csat_count"), "deleted": ()}

    def __init__(self, feed: FeedConfig, ctx: Context, *, sleep: Callable[[float], None] | None = None) -> None:
        options: FreshdeskOptions = feed.options
        host = options.base_url or f"https://{options.subdomain}.freshdesk.com"
        key = read_secret(feed.auth, ctx.base_dir)  # first: a missing secret leaves nothing open
        super().__init__(feed, ctx, f"freshdesk:{options.subdomain or host.split('//', 1)[-1].rstrip('/')}")
        where = f"feed.auth.token_env ({feed.auth.token_env})" if feed.auth.token_env else "feed.auth.token_file"
        self.notes: dict[str, str] = {}  # loud warnings about what Freshdesk sent: key -> text
        self._hourly_said = False
        budget = Budget({"account": PLANS[-1][0], "tickets_list": PLANS[-1][1]}, options.rate_share, ctx.clock)
        self.api = ApiClient(host, StaticCredentials.basic(key, "X"), vendor=self.vendor,
                             secret_hint=f"the Freshdesk API key in {where}", budget=budget, timeout=feed.timeout,
                             max_bytes=feed.max_bytes, verify_tls=feed.verify_tls, ca_file=feed.ca_file,
                             clock=ctx.clock, sleep=sleep or ctx.sleep, learn=self.learn, forbidden=forbidden)

    # --- rate limits ----------------------------------------------------------------------------
    def learn(self, headers: httpx.Headers, budget: Budget) -> None:
        total = number_header(headers, "X-RateLimit-Total")
        if total and total > 0:
            per_minute = total
            if total >= HOURLY_FROM:  # a legacy hourly plan: 3,000 an hour is 50 a minute
                per_minute = total / 60.0
                if not self._hourly_said:
                    self._hourly_said = True
                    log_event(log, logging.WARNING, "connector_limit", f"Freshdesk's X-RateLimit-Total {total:g} is "
                              "no per-minute plan's limit; taking it as an hourly one (a legacy plan)", vendor="Freshdesk")
            budget.learn("account", per_minute)
            budget.learn("tickets_list", list_limit(per_minute))
        budget.correct("account", number_header(headers, "X-RateLimit-Used-CurrentRequest"))
        remaining = number_header(headers, "X-RateLimit-Remaining")
        account = budget.buckets["account"]
        if remaining is not None and remaining < account.tokens:  # other integrations use the account
            account.tokens = max(0.0, remaining)

    def _list(self, params: dict[str, Any], what: str, stats: bool) -> Reply:
        """One Tickets-List call: 3 credits with stats (1 without), 1 call of the sub-limit."""
        if stats:
            params = {**params, "include": "stats"}
        return self.api.get("/api/v2/tickets", params, buckets=("account", "tickets_list"), cost=3.0 if stats else 1.0,
                            costs={"tickets_list": 1.0}, what=what)

    # --- the roster -----------------------------------------------------------------------------
    def _pages(self, path: str, params: dict[str, Any], what: str) -> Iterable[list[Any]]:
        for page in range(1, MAX_PAGES + 1):
            reply = self.api.get(path, {**params, "per_page": PER_PAGE, "page": page}, what=what)
            yield rows(reply, what)
            if not has_next(reply.headers):
                return

    def read_roster(self, ctx: PollContext) -> tuple[list[Member], dict[str, str]]:
        agents = [a for page in self._pages("/api/v2/agents", {}, "agent list") for a in page if isinstance(a, dict)]
        groups = [g for page in self._pages("/api/v2/groups", {}, "group list") for g in page if isinstance(g, dict)]
        teams = {str(g["id"]): str(g.get("name") or g["id"]) for g in groups if g.get("id") is not None}
        member_of: dict[str, str] = {}
        for g in groups:
            for aid in g.get("agent_ids") if isinstance(g.get("agent_ids"), list) else []:
                member_of.setdefault(str(aid), str(g.get("id")))
        members = []
        for a in agents:
            if a.get("id") is None or a.get("deactivated") is True:
                continue
            aid = str(a["id"])
            contact = a.get("contact") if isinstance(a.get("contact"), dict) else {}
            name = str(contact.get("name") or contact.get("email") or aid)
            listed = a.get("group_ids") if isinstance(a.get("group_ids"), list) else []
            own = [str(g) for g in listed if str(g) in teams]
            avatar = contact.get("avatar")
            url = avatar.get("avatar_url") if isinstance(avatar, dict) else None
            members.append(Member(aid, name, own[0] if own else member_of.get(aid), url if isinstance(url, str) else None))
        self._check_scope()
        return members, teams

    def _check_scope(self) -> None:
        try:
            me = self.api.get("/api/v2/agents/me", what="the API key's own agent").data
        except ApiError as exc:
            self.notes["scope"] = f"Freshdesk: cannot tell the API key's ticket scope ({exc})"
            return
        scope = me.get("ticket_scope") if isinstance(me, dict) else None
        if scope in (2, 3):
            self.notes["scope"] = ("Freshdesk: the API key's agent has " + ("Group" if scope == 2 else "Restricted")
                                   + " ticket access, so only some tickets are counted: use the key of an agent "
                                   "with Global access")
        else:
            self.notes.pop("scope", None)

    # --- the sub-fetches ------------------------------------------------------------------------
    def collect(self, ctx: PollContext) -> None:
        self.fetch("tickets", lambda: self._tickets(ctx))
        self.fetch("deleted", lambda: self._deleted(ctx))
        self.fetch("ratings", lambda: self._ratings(ctx))

    def _tickets(self, ctx: PollContext, reseeded: bool = False) -> None:
        cur = self.state.get("tickets") or {}
        since = max(float(cur.get("since") or 0.0), ctx.start)
        page = int(cur.get("page") or 1) if float(cur.get("since") or 0.0) >= ctx.start else 1
        high = float(cur.get("high") or 0.0)
        while True:
            params = {"updated_since": utc_iso(since), "order_by": "updated_at", "order_type": "asc",
                      "per_page": PER_PAGE, "page": page}
            try:
                reply = self._list(params, "ticket list", stats=True)
            except ApiError as exc:
                if reseeded or not rejected(exc):
                    raise
                log_event(log, logging.WARNING, "connector_reseed", f"Freshdesk refused the saved watermark ({exc}); "
                          "reading today's tickets again from local midnight", vendor="Freshdesk")
                self.state["tickets"] = {}
                self._tickets(ctx, reseeded=True)
                return
            got = [u for t in rows(reply, "ticket list") if (u := self._ticket(t)) is not None]
            high = max([high, *got])
            if not has_next(reply.headers):
                self.state["tickets"] = {"since": max(ctx.start, high - OVERLAP) if high else since, "page": 1,
                                         "high": high}
                return
            last = max(got, default=since)
            since, page = (last - 1.0, 1) if last - 1.0 > since else (since, page + 1)
            self.state["tickets"] = {"since": since, "page": page, "high": high}
            self.checkpoint()

    def _ticket(self, t: Any) -> float | None:
        """Record one ticket as it stands now; its updated_at (None when it cannot be read)."""
        if not isinstance(t, dict) or t.get("id") is None or parse_time(t.get("updated_at")) is None:
            self.notes["ticket"] = "Freshdesk: tickets without an id or updated_at were left out"
            return None
        updated = parse_time(t.get("updated_at"))
        if t.get("deleted") is True or t.get("spam") is True:
            self.tally.ticket(t["id"], None, None, False)
            return updated
        stats = t.get("stats")
        if not isinstance(stats, dict):
            raise ApiError("Freshdesk sent tickets without stats (include=stats was not honoured), so "
                           "tickets_solved cannot be read", "json")
        solved = t.get("status") in (4, 5) and not isinstance(t.get("status"), bool)
        resolved = parse_time(stats.get("resolved_at"))
        if solved and resolved is None:
            self.notes["resolved"] = ("Freshdesk: resolved or closed tickets without stats.resolved_at were not "
                                      "counted")
        owner = t.get("responder_id")
        created, replied = parse_time(t.get("created_at")), parse_time(stats.get("first_responded_at"))
        frt = replied - created if created is not None and replied is not None and replied >= created else None
        if solved and resolved is not None:
            self.saw_agent(owner)
        self.tally.ticket(t["id"], owner, resolved, solved, frt)
        return updated

    def _deleted(self, ctx: PollContext) -> None:
        """Tickets deleted today (any that were solved today were updated today): out of the tally."""
        gone: set[str] = set()
        for page in range(1, MAX_PAGES + 1):
            params = {"filter": "deleted", "updated_since": utc_iso(ctx.start), "per_page": PER_PAGE, "page": page}
            reply = self._list(params, "deleted-ticket list", stats=False)
            gone |= {str(t["id"]) for t in rows(reply, "deleted-ticket list") if isinstance(t, dict) and "id" in t}
            if not has_next(reply.headers):
                break
        fresh = gone - set(self.state.get("deleted") or ())  # the ones already taken out stay out
        if fresh:
            for tid in fresh:
                self.tally.ticket(tid, None, None, False)
            for key in [k for k in self.tally.ratings if k.split(":", 1)[0] in fresh]:
                del self.tally.ratings[key]
        self.state["deleted"] = sorted(gone)

    def _ratings(self, ctx: PollContext) -> None:
        try:
            self._read_ratings(ctx)
        except ApiError as exc:
            if not rejected(exc):
                raise
            log_event(log, logging.WARNING, "connector_reseed", f"Freshdesk refused the saved ratings watermark "
                      f"({exc}); reading today's ratings again from local midnight", vendor="Freshdesk")
            self.state["ratings"] = {}
            self._read_ratings(ctx)

    def _read_ratings(self, ctx: PollContext) -> None:
        cur = self.state.get("ratings") or {}
        since = max(float(cur.get("since") or 0.0), ctx.start)
        page = int(cur.get("page") or 1) if float(cur.get("since") or 0.0) >= ctx.start else 1
        high = float(cur.get("high") or 0.0)
        gone = set(self.state.get("deleted") or ())
        while True:
            params = {"created_since": utc_iso(since), "per_page": PER_PAGE, "page": page}
            reply = self.api.get("/api/v2/surveys/satisfaction_ratings", params, what="satisfaction ratings")
            for r in rows(reply, "satisfaction ratings"):
                at = self._rating(r, gone)
                high = max(high, at or 0.0)
            if not has_next(reply.headers) or page >= MAX_PAGES:
                self.state["ratings"] = {"since": max(ctx.start, high - OVERLAP) if high else since, "page": 1,
                                         "high": high}
                return
            page += 1
            self.state["ratings"] = {"since": since, "page": page, "high": high}
            self.checkpoint()

    def _rating(self, r: Any, gone: set[str]) -> float | None:
        if not isinstance(r, dict) or r.get("id") is None:
            return None
        at = parse_time(r.get("created_at"))
        key = f"{r.get('ticket_id')}:{r['id']}"
        ratings = r.get("ratings")
        score = ratings.get("default_question") if isinstance(ratings, dict) else None
        if str(r.get("ticket_id")) in gone:
            self.tally.rating(key, None, None, None)
            return at
        if isinstance(score, bool) or not isinstance(score, (int, float)) or 0 <= score < 100:
            self.notes["rating"] = (f"Freshdesk: ratings whose ratings.default_question is not on the documented "
                                    f"scale (103 to -103) were left out, e.g. {str(score)[:20]!s}")
            self.tally.rating(key, None, None, None)
            return at
        agent = r.get("agent_id")
        self.saw_agent(agent)
        self.tally.rating(key, agent, at, score > 100)
        return at

    def warnings(self, ctx: PollContext) -> Iterable[str]:
        yield from super().warnings(ctx)
        yield from self.notes.values()

    def new_day(self, ctx: PollContext) -> None:
        super().new_day(ctx)
        self.state["deleted"] = []
        self.notes.pop("rating", None)
        self.notes.pop("resolved", None)

    # --- chalkwall check --online ---------------------------------------------------------------
    def probes(self, ctx: PollContext) -> dict[str, Callable[[], str]]:
        today = utc_iso(ctx.start)

        def tickets() -> str:
            found = rows(self._list({"updated_since": today, "per_page": 1}, "ticket list", stats=True), "ticket list")
            if found and not (isinstance(found[0], dict) and "stats" in found[0]):
                raise ApiError("Freshdesk sent tickets without stats (include=stats was not honoured)", "json")
            return "the ticket list with stats can be read" + ("" if found else " (no ticket changed today yet)")

        def deleted() -> str:
            self._list({"filter": "deleted", "updated_since": today, "per_page": 1}, "deleted-ticket list", stats=False)
            return "deleted tickets can be read (a solved ticket deleted today stops counting)"

        def ratings() -> str:
            found = rows(self.api.get("/api/v2/surveys/satisfaction_ratings", {"created_since": today, "per_page": 1},
                                      what="satisfaction ratings"), "satisfaction ratings")
            return "satisfaction ratings can be read" + ("" if found else " (none given today yet)")

        return {"tickets": tickets, "ratings": ratings, "deleted": deleted}


def rows(reply: Reply, what: str) -> list[Any]:
    if not isinstance(reply.data, list):
        raise ApiError(f"Freshdesk's answer to {what} is not a list of records", "json")
    return reply.data


def rejected(exc: ApiError) -> bool:
    """A 400 that names the watermark or the page: start again from local midnight."""
    if exc.status != 400 or not isinstance(exc.body, dict):
        return False
    errors = exc.body.get("errors")
    fields = {e.get("field") for e in errors if isinstance(e, dict)} if isinstance(errors, list) else set()
    return bool(fields & {"updated_since", "page", "created_since"})


TYPE = native_type("freshdesk", FreshdeskConnector, FreshdeskOptions,
                   summary="Freshdesk tickets solved, first replies and CSAT today (API v2)", interval=60.0,
                   auth=("secret",), secret="Freshdesk API key")
