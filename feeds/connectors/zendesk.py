"""The native Zendesk Support connector: ``[feed] type = "zendesk"``.

Per poll it reads what changed since the saved cursor from the cursor-based incremental ticket
export (``/api/v2/incremental/tickets/cursor``, ``include=metric_sets``, ``per_page=1000``), and
the satisfaction ratings received since the ratings watermark (``/api/v2/satisfaction_ratings``,
``score=received``, a five-minute overlap), and folds both into the day's idempotent tally:

- ``tickets_solved``: tickets whose current ``metric_set.solved_at`` is today and whose status is
  solved or closed, for the current ``assignee_id``; ``first_reply_seconds`` the median over them
  of ``reply_time_in_seconds.calendar`` (Zendesk fills it for messaging tickets only), else
  ``reply_time_in_minutes.calendar`` × 60.
- ``csat`` / ``csat_count``: good ÷ (good + bad) over ratings created today, for the rating's
  ``assignee_id`` ("the agent assigned at the time of rating").

The roster is the active, unsuspended agents and admins (``/api/v2/users?role[]=agent&role[]=admin``);
teams are the groups, an agent's team their ``default_group_id``. Auth is HTTP Basic
``{email}/token:{api_token}``. The export is for admins only and has its own 10-a-minute bucket.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from feeds.config.secrets import read_secret
from feeds.connectors.base import Context
from feeds.connectors.kit.api import ApiClient, ApiError, StaticCredentials, number_header, seconds_header
from feeds.connectors.kit.budget import Budget
from feeds.connectors.kit.day import parse_time
from feeds.connectors.kit.native import Member, NativeConnector, NativeOptions, PollContext, native_type
from feeds.logs import LOGGER, log_event

if TYPE_CHECKING:
    from feeds.config.schema import FeedConfig
    from feeds.config.validate import Reader

log = logging.getLogger(f"{LOGGER}.connector")

EXPORT = "/api/v2/incremental/tickets/cursor"
RATINGS = "/api/v2/satisfaction_ratings"
USERS = "/api/v2/users"
GROUPS = "/api/v2/groups"
ACCOUNT_LIMIT = 200.0  # requests a minute on the smallest plan (Team) until the headers say more
INCREMENTAL_LIMIT = 10.0  # /api/v2/incremental/*, per account (30 with High Volume)
EXPORT_LAG = 60.0  # the export leaves out the latest minute; too recent a start_time is refused
RATINGS_LAG = 90.0  # end_time is kept this far behind now (practitioners saw <60 s refused)
RATINGS_OVERLAP = 300.0  # the ratings watermark re-reads at most five minutes
LIST_PAGE = 100  # cursor pagination's page[size] maximum
SOLVED = ("solved", "closed")
_SUBDOMAIN = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")


def _check_subdomain(value: str) -> str | None:
    if not value or _SUBDOMAIN.fullmatch(value):
        return None
    host = value.lower().removeprefix("https://").removeprefix("http://").split("/")[0]
    hint = f' (did you mean "{host.split(".")[0]}"?)' if host.endswith(".zendesk.com") else ""
    return f'must be the name before .zendesk.com, like "acme", not "{value}"{hint}'


@dataclass(frozen=True)
class ZendeskOptions(NativeOptions):
    """``subdomain``: the account, as in https://{subdomain}.zendesk.com (required unless
    ``base_url`` is given)."""

    subdomain: str = field(default="", metadata={"check": _check_subdomain})

    def check(self, reader: Reader, key: str) -> None:
        if not self.subdomain and not self.base_url:
            reader.problem(f"{key}.subdomain", 'missing (required for feed type "zendesk" unless base_url is given): '
                                               'the name before .zendesk.com, e.g. "acme"')


def _forbidden(path: str, body: Any) -> str:
    if path.startswith("/api/v2/incremental"):
        return "an admin's API token (Zendesk's incremental ticket export is for admins only)"
    if path.startswith(RATINGS):
        return ("an admin's API token and customer satisfaction ratings turned on (Zendesk lists ratings "
                "for admins only)")
    return "an agent's or admin's API token, with token access turned on in Admin Center (Apps and integrations > APIs)"


def _learn(headers: httpx.Headers, budget: Budget) -> None:
    """The account's per-minute limit, as Zendesk sends it on every answer."""
    budget.learn("account", number_header(headers, "X-Rate-Limit", "ratelimit-limit"))


def _secret_hint(feed: FeedConfig) -> str:
    where = f"feed.auth.token_env ({feed.auth.token_env})" if feed.auth.token_env else "feed.auth.token_file"
    return f"feed.auth.email and the API token in {where}"


class ZendeskConnector(NativeConnector):
    vendor = "Zendesk"
    SUBS = {"tickets": ("tickets_solved", "first_reply_seconds"), "ratings": ("csat", "csat_count")}

    def __init__(self, feed: FeedConfig, ctx: Context, *, sleep: Callable[[float], None] | None = None) -> None:
        options: ZendeskOptions = feed.options
        origin = options.base_url.rstrip("/") or f"https://{options.subdomain}.zendesk.com"
        super().__init__(feed, ctx, f"zendesk:{options.subdomain or urlsplit(origin).netloc}")
        secret = read_secret(feed.auth, ctx.base_dir)
        self.api = ApiClient(
            origin, StaticCredentials.basic(f"{feed.auth.email}/token", secret), vendor=self.vendor,
            secret_hint=_secret_hint(feed), budget=Budget({"account": ACCOUNT_LIMIT, "incremental": INCREMENTAL_LIMIT},
                                                          options.rate_share, ctx.clock),
            timeout=feed.timeout, max_bytes=max(feed.max_bytes, 32 * 1024 * 1024), verify_tls=feed.verify_tls,
            ca_file=feed.ca_file, headers={"Accept": "application/json"}, clock=ctx.clock, sleep=sleep or ctx.sleep,
            waits=[seconds_header("ratelimit-reset")], learn=_learn, forbidden=_forbidden)

    # --- the roster -------------------------------------------------------------------------------
    def _pages(self, path: str, name: str, params: dict[str, Any], what: str) -> Iterator[list[dict[str, Any]]]:
        """Each page of a cursor-paginated list (``page[size]``, ``meta.after_cursor``)."""
        query = {**params, "page[size]": LIST_PAGE}
        while True:
            doc = self.api.get(path, query, what=what).data
            rows = doc.get(name) if isinstance(doc, dict) else None
            if not isinstance(rows, list):
                raise ApiError(f"Zendesk's answer to {what} has no {name} list", "json")
            yield [r for r in rows if isinstance(r, dict)]
            meta = doc.get("meta") or {}
            if not meta.get("has_more") or not meta.get("after_cursor"):
                return
            query = {**params, "page[size]": LIST_PAGE, "page[after]": meta["after_cursor"]}

    def read_roster(self, ctx: PollContext) -> tuple[list[Member], dict[str, str]]:
        members = []
        for page in self._pages(USERS, "users", {"role[]": ["agent", "admin"]}, "the agent list"):
            for u in page:
                if u.get("id") is None or u.get("role") not in ("agent", "admin"):
                    continue
                if u.get("active") is False or u.get("suspended") is True:
                    continue  # deactivated or suspended: off the board
                photo = u.get("photo") if isinstance(u.get("photo"), dict) else {}
                group = u.get("default_group_id")
                members.append(Member(str(u["id"]), str(u.get("name") or u["id"]),
                                      str(group) if group is not None else None, photo.get("content_url") or None))
        teams: dict[str, str] = {}
        for page in self._pages(GROUPS, "groups", {}, "the group list"):
            teams.update({str(g["id"]): str(g.get("name") or g["id"]) for g in page
                          if g.get("id") is not None and not g.get("deleted")})
        return members, teams

    # --- the poll ---------------------------------------------------------------------------------
    def collect(self, ctx: PollContext) -> None:
        self.fetch("tickets", lambda: self._tickets(ctx))
        self.fetch("ratings", lambda: self._ratings(ctx))

    def new_day(self, ctx: PollContext) -> None:
        super().new_day(ctx)
        if float(self.state.get("tickets_at") or 0) < ctx.start - 3600:
            self.state.pop("cursor", None)  # not read since well before midnight: today from midnight, not days of changes

    def _tickets(self, ctx: PollContext) -> None:
        while True:
            cursor = self.state.get("cursor")
            params: dict[str, Any] = {"include": "metric_sets", "per_page": 1000}
            if cursor:
                params["cursor"] = cursor
            elif ctx.start > ctx.now - EXPORT_LAG - 5:
                return  # local midnight is under a minute ago: Zendesk has nothing of today to give yet
            else:
                params["start_time"] = int(ctx.start)
            try:
                doc = self.api.request("GET", EXPORT, params=params, buckets=("account", "incremental"),
                                       what="the ticket export").data
            except ApiError as exc:
                if exc.kind != "http" or exc.status not in (400, 422):
                    raise
                if cursor:  # expired or refused: today again from midnight, the numbers on screen stay
                    self.state.pop("cursor", None)
                    log_event(log, logging.WARNING, "cursor_rejected", f"Zendesk refused the saved export cursor "
                              f"(HTTP {exc.status}); reading today again from local midnight", vendor=self.vendor)
                    continue
                if "recent" in str(exc.body).lower():
                    return  # start_time too recent by Zendesk's clock: next poll
                raise
            self._fold(doc, ctx.start)
            after = doc.get("after_cursor")
            if after:
                self.state["cursor"] = after
            self.state["tickets_at"] = ctx.now
            if doc.get("end_of_stream") is not False or not after or after == cursor:
                return  # the poll saves the cursor with its snapshot
            self.checkpoint()  # mid-backfill: what is read so far survives a kill

    def _fold(self, doc: Any, today: float) -> None:
        tickets = doc.get("tickets") if isinstance(doc, dict) else None
        if not isinstance(tickets, list) or not isinstance(doc.get("end_of_stream"), bool):
            raise ApiError("Zendesk's ticket export answer has no tickets list or end_of_stream", "json")
        sets = doc.get("metric_sets")
        if tickets and not isinstance(sets, list) and not any("metric_set" in t for t in tickets if isinstance(t, dict)):
            raise ApiError("Zendesk's ticket export sent no metric_sets (include=metric_sets): tickets_solved "
                           "cannot be read", "json")
        by_ticket = {m.get("ticket_id"): m for m in sets or () if isinstance(m, dict)}
        missing = []
        for t in tickets:
            if not isinstance(t, dict) or t.get("id") is None:
                continue
            status = t.get("status")
            metric = t.get("metric_set") if isinstance(t.get("metric_set"), dict) else by_ticket.get(t["id"]) or {}
            rating = t.get("satisfaction_rating") if isinstance(t.get("satisfaction_rating"), dict) else {}
            if status == "deleted":
                self.tally.ticket(t["id"], None, None, False)
                if rating.get("id") is not None:
                    self.tally.rating(rating["id"], None, None, None)
                continue
            solved_at = parse_time(metric.get("solved_at"))
            if status in SOLVED and solved_at is None:
                missing.append(str(t["id"]))
            owner = t.get("assignee_id")
            self.tally.ticket(t["id"], owner, solved_at, status in SOLVED, _first_reply(metric))
            if status in SOLVED and solved_at is not None and solved_at >= today:
                self.saw_agent(owner)
            key = str(rating.get("id"))
            known = self.tally.ratings.get(key)
            if known is not None and rating.get("score") in ("good", "bad"):  # the customer changed their mind
                self.tally.ratings[key] = [known[0], known[1], rating["score"] == "good"]  # (a new list: saved)
        if missing:
            log_event(log, logging.WARNING, "zendesk_no_solved_at", f"Zendesk sent {len(missing)} solved ticket(s) "
                      f"without metric_set.solved_at (e.g. #{missing[0]}): they are not counted in tickets_solved",
                      vendor=self.vendor, tickets=missing[:10])

    def _ratings(self, ctx: PollContext) -> None:
        end = int(ctx.now - RATINGS_LAG)
        start = int(max(ctx.start, float(self.state.get("ratings_to") or 0) - RATINGS_OVERLAP))
        if end <= start:
            return
        params = {"score": "received", "start_time": start, "end_time": end}
        try:
            for page in self._pages(RATINGS, "satisfaction_ratings", params, "the satisfaction ratings"):
                for r in page:
                    score = r.get("score")
                    if r.get("id") is None or score not in ("good", "bad"):
                        continue
                    self.saw_agent(r.get("assignee_id"))
                    self.tally.rating(r["id"], r.get("assignee_id"), parse_time(r.get("created_at")), score == "good")
        except ApiError as exc:
            if exc.kind == "http" and exc.status in (400, 422) and "recent" in str(exc.body).lower():
                return  # end_time too recent by Zendesk's clock: the next poll reads these
            raise
        self.state["ratings_to"] = end

    # --- check --online -----------------------------------------------------------------------------
    def probes(self, ctx: PollContext) -> dict[str, Callable[[], str]]:
        since = int(min(ctx.start, ctx.now - 3600))

        def tickets() -> str:
            doc = self.api.request("GET", EXPORT, params={"start_time": since, "include": "metric_sets", "per_page": 1},
                                   buckets=("account", "incremental"), what="the ticket export").data
            if not isinstance(doc, dict) or not isinstance(doc.get("tickets"), list):
                raise ApiError("Zendesk's ticket export answer has no tickets list", "json")
            return "the incremental ticket export answers" + ("" if "metric_sets" in doc or not doc["tickets"]
                                                              else ", but without metric_sets")

        def ratings() -> str:
            params = {"score": "received", "start_time": since, "end_time": int(ctx.now - RATINGS_LAG), "page[size]": 1}
            doc = self.api.get(RATINGS, params, what="the satisfaction ratings").data
            if not isinstance(doc, dict) or not isinstance(doc.get("satisfaction_ratings"), list):
                raise ApiError("Zendesk's answer to the satisfaction ratings has no satisfaction_ratings list", "json")
            return "satisfaction ratings can be listed"

        return {"tickets": tickets, "ratings": ratings}


def _first_reply(metric: dict[str, Any]) -> float | None:
    """Seconds to the first reply: exact for messaging tickets, whole minutes for the rest."""
    seconds = metric.get("reply_time_in_seconds")
    if isinstance(seconds, dict) and isinstance(seconds.get("calendar"), (int, float)):
        return float(seconds["calendar"])
    minutes = metric.get("reply_time_in_minutes")
    if isinstance(minutes, dict) and isinstance(minutes.get("calendar"), (int, float)):
        return float(minutes["calendar"]) * 60.0
    return None


TYPE = native_type("zendesk", ZendeskConnector, ZendeskOptions, summary="Zendesk Support: tickets solved, CSAT, "
                   "first reply time (incremental export)", interval=60.0, auth=("secret", "email"), secret="API token")
