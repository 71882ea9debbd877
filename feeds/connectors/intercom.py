"""Intercom: the conversations closed today and the ratings given today, from conversation search.

It sends ``Intercom-Version: 2.14``: the version the official SDKs default to (since late 2025) and
the first whose ``conversation_rating`` carries ``updated_at``, the time a rating was given (its
``created_at`` is when the rating was *requested*). What it reads:

- the roster: ``GET /admins?display_avatar=true`` and ``GET /teams`` (hourly, or soon after an
  unknown admin closes a conversation); an admin's team is the first of its ``team_ids``;
- ``conversations``: ``POST /conversations/search`` on ``updated_at`` since a watermark (re-reading
  five minutes of overlap), every page, since search results come in no fixed order. A conversation
  counts for ``statistics.last_closed_by_id`` when its ``statistics.last_close_at`` is today and
  its ``state`` is ``closed`` now; its first reply is ``first_admin_reply_at − created_at`` in
  calendar seconds. Then ``GET /conversations/deleted`` (documented from version 2.16, asked with
  that version) takes out what was deleted today;
- ``ratings``: the same search on ``conversation_rating.replied_at`` since its own watermark; a
  rating of 4 or 5 (of 5) is satisfied, for ``conversation_rating.teammate``, on the day of its
  ``updated_at``.

A cold start reads from local midnight, a page at a time, the cursor saved after each; a cursor
Intercom refuses re-seeds from midnight while the tally, and so the board, stays. The limit is
10,000 requests a minute per app, counted in 10-second windows (``X-RateLimit-Limit`` is the
window's); chalkwall takes ``rate_share`` of it. A field the answers lack is said in a warning that
names it; it never becomes a zero.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import httpx

from feeds.config.secrets import read_secret
from feeds.connectors.base import Context
from feeds.connectors.kit.api import ApiClient, ApiError, StaticCredentials, epoch_header, number_header
from feeds.connectors.kit.budget import Budget
from feeds.connectors.kit.day import parse_time
from feeds.connectors.kit.native import Member, NativeConnector, NativeOptions, PollContext, native_type, secret_place
from feeds.logs import LOGGER, log_event

if TYPE_CHECKING:
    from collections.abc import Iterable

    from feeds.config.schema import FeedConfig

log = logging.getLogger(f"{LOGGER}.connector")
VERSION = "2.14"
DELETED_VERSION = "2.16"  # the first version whose reference lists GET /conversations/deleted
HOSTS = {"us": "https://api.intercom.io", "eu": "https://api.eu.intercom.io", "au": "https://api.au.intercom.io"}
PER_MINUTE = 10_000.0  # per app; private apps also share 25,000 a minute per workspace
WINDOW = 10.0  # Intercom counts the minute's limit in 10-second windows
PER_PAGE = 150  # the most a search page holds
OVERLAP = 300.0  # seconds of changes a watermark re-reads
BACKFILL = 900.0  # a pass reaching further back than this saves its cursor after every page
SATISFIED = 4  # of 5
DELETED_PER_PAGE = 60
DELETED_PAGES = 5  # at most, per poll


@dataclass(frozen=True)
class IntercomOptions(NativeOptions):
    region: Literal["us", "eu", "au"] = "us"  # where the workspace is hosted: api.intercom.io, .eu., .au.


def learn(headers: httpx.Headers, budget: Budget) -> None:
    """``X-RateLimit-Limit`` is the 10-second window's allowance: six of them make the minute's."""
    per_window = number_header(headers, "X-RateLimit-Limit")
    if per_window:
        budget.learn("account", per_window * 60.0 / WINDOW)


def forbidden(path: str, body: Any) -> str:
    if _error_code(body) == "api_plan_restricted":
        return ("a workspace subscription that allows API access (Intercom answered api_plan_restricted); "
                "tickets_solved, first_reply_seconds, csat and csat_count need it")
    if path.startswith(("/admins", "/teams")):
        return 'the "Read admins" permission for the app (Developer Hub: the app\'s Authentication settings)'
    return 'the "Read conversations" permission for the app (Developer Hub: the app\'s Authentication settings)'


def _error_code(body: Any) -> str:
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return str(errors[0].get("code") or "")
    return ""


def _list(doc: Any, key: str, what: str) -> list[Any]:
    rows = doc.get(key) if isinstance(doc, dict) else None
    if not isinstance(rows, list):
        raise ApiError(f"Intercom's answer to {what} has no '{key}' list", "json")
    return rows


def _avatar(value: Any) -> str | None:
    """The admin schema says a URL string; ``display_avatar`` answers ``{"image_url": ...}``."""
    if isinstance(value, dict):
        value = value.get("image_url")
    return value if isinstance(value, str) and value.startswith(("http://", "https://")) else None


def secret_hint(feed: FeedConfig) -> str:
    return f"the Intercom access token in {secret_place(feed)}"


class IntercomConnector(NativeConnector):
    vendor = "Intercom"
    SUBS = {"conversations": ("tickets_solved", "first_reply_seconds"), "ratings": ("csat", "csat_count")}

    def __init__(self, feed: FeedConfig, ctx: Context) -> None:
        options: IntercomOptions = feed.options
        token = read_secret(feed.auth, ctx.base_dir)
        # The token is what names the workspace: two tokens, two tallies (a digest, never the token).
        super().__init__(feed, ctx, "intercom:" + hashlib.sha256(token.encode()).hexdigest()[:16])
        base = options.base_url or HOSTS[options.region]
        budget = Budget({"account": PER_MINUTE}, options.rate_share, ctx.clock, windows={"account": WINDOW})

        def client(version: str) -> ApiClient:
            return ApiClient(base, StaticCredentials.bearer(token), vendor=self.vendor, secret_hint=secret_hint(feed),
                             budget=budget, timeout=feed.timeout, max_bytes=feed.max_bytes, verify_tls=feed.verify_tls,
                             ca_file=feed.ca_file, headers={"Intercom-Version": version, "Accept": "application/json"},
                             clock=ctx.clock, sleep=ctx.sleep, waits=[epoch_header("X-RateLimit-Reset")], learn=learn,
                             forbidden=forbidden)

        self.api = client(VERSION)
        self.deleted_api = client(DELETED_VERSION)  # the same budget: one account
        self.shape: dict[str, str] = {}  # what answers lacked (said in the warnings, never counted)
        self.unattributed: set[str] = set()  # closed conversations without who closed them, or when
        self.no_deleted = ""  # why deleted conversations cannot be listed, once known

    # --- the roster ----------------------------------------------------------------------------
    def new_day(self, ctx: PollContext) -> None:
        super().new_day(ctx)
        self.unattributed.clear()  # yesterday's odd answers are not today's warnings
        self.shape.clear()

    def read_roster(self, ctx: PollContext) -> tuple[list[Member], dict[str, str]]:
        admins = _list(self.api.get("/admins", {"display_avatar": "true"}, what="admin list").data, "admins", "admin list")
        teams = _list(self.api.get("/teams", what="team list").data, "teams", "team list")
        names = {str(t["id"]): str(t.get("name") or t["id"]) for t in teams if isinstance(t, dict) and t.get("id") is not None}
        members = []
        for a in admins:
            if not isinstance(a, dict) or a.get("id") in (None, "") or a.get("type", "admin") != "admin":
                continue
            team_ids = a.get("team_ids") if isinstance(a.get("team_ids"), list) else []
            members.append(Member(str(a["id"]), str(a.get("name") or a["id"]), str(team_ids[0]) if team_ids else None,
                                  _avatar(a.get("avatar"))))
        return members, names

    # --- the day's conversations and ratings ---------------------------------------------------
    def collect(self, ctx: PollContext) -> None:
        self.fetch("conversations", lambda: self._conversations(ctx))
        self.fetch("ratings", lambda: self._search("rated", "conversation_rating.replied_at", ctx,
                                                   lambda c: self._rating(c, ctx), "rating search"))

    def _conversations(self, ctx: PollContext) -> None:
        self._search("changed", "updated_at", ctx, lambda c: self._conversation(c, ctx), "conversation search")
        self._deleted(ctx)

    def _search(self, key: str, field: str, ctx: PollContext, take: Callable[[dict[str, Any]], float | None],
                what: str) -> None:
        """One pass over everything whose ``field`` is past the watermark in ``state[key]``, a page
        at a time; the cursor is kept after each page (and saved at once while backfilling), the
        watermark moves once the pass is complete."""
        run = dict(self.state.get(key) or {})
        if run.get("since") is None:
            mark = run.get("mark")
            since = ctx.start if mark is None else max(ctx.start, float(mark) - OVERLAP)
            run = {"mark": mark, "since": since, "after": None, "high": None}
        run = {"mark": None, "after": None, "high": None} | run  # whatever a damaged state lacks
        reseeded = False
        while True:
            paging: dict[str, Any] = {"per_page": PER_PAGE}
            if run["after"]:
                paging["starting_after"] = run["after"]
            body = {"query": {"field": field, "operator": ">", "value": int(run["since"])}, "pagination": paging}
            try:
                doc = self.api.post("/conversations/search", body, what=what).data
            except ApiError as exc:
                if exc.status != 400 or not run["after"] or reseeded:
                    raise
                reseeded = True  # the saved cursor was refused (expired?): today again from midnight
                log_event(log, logging.WARNING, "connector_reseed",
                          f"Intercom refused the saved cursor of the {what} ({exc}); reading today again from "
                          "local midnight, the numbers so far kept", vendor=self.vendor, fetch=key)
                run = {"mark": None, "since": ctx.start, "after": None, "high": None}
                self.state[key] = run
                continue
            rows = _list(doc, "conversations", what)
            for conv in rows:
                if isinstance(conv, dict):
                    at = take(conv)
                    if at is not None:
                        run["high"] = at if run["high"] is None else max(run["high"], at)
            pages = doc.get("pages") if isinstance(doc.get("pages"), dict) else {}
            nxt = pages.get("next") if isinstance(pages.get("next"), dict) else {}
            after = nxt.get("starting_after")
            if after and rows and after != run["after"]:
                run["after"] = after
                self.state[key] = run
                if ctx.now - run["since"] > BACKFILL:  # a backfill: kill -9 must not cost its pages
                    self.checkpoint()
                continue
            marks = [m for m in (run["high"], run["mark"]) if m is not None]
            self.state[key] = {"mark": max(marks) if marks else run["since"]}
            return

    def _conversation(self, conv: dict[str, Any], ctx: PollContext) -> float | None:
        cid, state = conv.get("id"), conv.get("state")
        if cid is None or state is None:
            raise ApiError("Intercom's conversation search answered a conversation without 'id' or 'state'", "json")
        cid = str(cid)
        stats = conv.get("statistics") if isinstance(conv.get("statistics"), dict) else {}
        closed_at = parse_time(stats.get("last_close_at"))
        closer = stats.get("last_closed_by_id")
        closer = str(closer) if closer not in (None, "") else None
        if state == "closed" and (closed_at is None or closer is None):
            self.unattributed.add(cid)
        else:
            self.unattributed.discard(cid)
        solved = state == "closed" and closed_at is not None and closed_at >= ctx.start and closer is not None
        replied, created = parse_time(stats.get("first_admin_reply_at")), parse_time(conv.get("created_at"))
        first_reply = replied - created if replied is not None and created is not None and replied >= created else None
        self.tally.ticket(cid, closer, closed_at, solved, first_reply)
        if solved:
            self.saw_agent(closer)
        updated = parse_time(conv.get("updated_at"))
        if updated is None:
            self.shape["updated_at"] = ("conversations came without updated_at: each poll re-reads the day "
                                        "(correct, but more requests)")
        return updated

    def _rating(self, conv: dict[str, Any], ctx: PollContext) -> float | None:
        cid, rating = str(conv.get("id")), conv.get("conversation_rating")
        if not isinstance(rating, dict) or rating.get("rating") is None:
            self.tally.rating(cid, None, None, None)
            return None
        if "updated_at" not in rating:
            raise ApiError("Intercom's conversation_rating has no updated_at (when the rating was given; it needs "
                           f"Intercom-Version {VERSION} or later), so csat cannot be dated", "json")
        given, score = parse_time(rating.get("updated_at")), rating.get("rating")
        teammate = rating.get("teammate")
        agent = teammate.get("id") if isinstance(teammate, dict) else None
        if not isinstance(score, (int, float)) or isinstance(score, bool) or not 1 <= score <= 5:
            self.shape["rating"] = f"a conversation_rating.rating was {score!r}, not 1 to 5: that rating is not counted"
            self.tally.rating(cid, None, None, None)
            return given
        today = given is not None and given >= ctx.start and agent not in (None, "")
        self.tally.rating(cid, str(agent) if today else None, given, score >= SATISFIED if today else None)
        if today:
            self.saw_agent(agent)
        return given

    def _deleted(self, ctx: PollContext) -> None:
        """Take today's deleted conversations out (newest first, until one deleted before midnight)."""
        if self.no_deleted:
            return
        self.deleted_api.deadline = self.api.deadline
        for page in range(1, DELETED_PAGES + 1):
            try:
                doc = self.deleted_api.get("/conversations/deleted", {"order": "desc", "per_page": DELETED_PER_PAGE,
                                                                      "page": page}, what="deleted conversation list").data
            except ApiError as exc:
                if exc.status not in (400, 403, 404):
                    raise
                self.no_deleted = str(exc)
                log_event(log, logging.WARNING, "connector_problem", f"Intercom deleted conversations: {exc}",
                          vendor=self.vendor, fetch="deleted", error_kind=exc.kind, status=exc.status)
                return
            rows = [r for r in _list(doc, "conversations", "deleted conversation list") if isinstance(r, dict)]
            times = [t for t in (parse_time(r.get("deleted_at")) for r in rows) if t is not None]
            for row in rows:
                if row.get("id") is not None:
                    self.tally.ticket(str(row["id"]), None, None, False)
                    self.tally.rating(str(row["id"]), None, None, None)
            pages = doc.get("pages") if isinstance(doc.get("pages"), dict) else {}
            if not rows or not times or min(times) < ctx.start or not pages.get("next"):
                return

    # --- check --online, warnings, closing -----------------------------------------------------
    def probes(self, ctx: PollContext) -> dict[str, Callable[[], str]]:
        def count(query: dict[str, Any], what: str, label: str) -> Callable[[], str]:
            def call() -> str:
                doc = self.api.post("/conversations/search", {"query": query, "pagination": {"per_page": 1}}, what=what).data
                total = doc.get("total_count") if isinstance(doc, dict) else None
                if not isinstance(total, int):
                    raise ApiError(f"Intercom's answer to {what} has no total_count", "json")
                return f"{total} {label} today"
            return call

        since = {"operator": ">", "value": int(ctx.start)}
        closed = {"operator": "AND", "value": [{"field": "statistics.last_close_at", **since},
                                               {"field": "state", "operator": "=", "value": "closed"}]}
        return {"conversations": count(closed, "conversation search", "conversations closed"),
                "ratings": count({"field": "conversation_rating.replied_at", **since}, "rating search", "ratings given")}

    def warnings(self, ctx: PollContext) -> Iterable[str]:
        yield from super().warnings(ctx)
        if self.unattributed:
            yield (f"Intercom: {len(self.unattributed)} closed conversation(s) came without statistics.last_close_at "
                   "or statistics.last_closed_by_id and are not counted")
        for message in self.shape.values():
            yield f"Intercom: {message}"
        if self.no_deleted:
            yield f"Intercom: cannot list deleted conversations ({self.no_deleted}); one deleted today may still count"

    def close(self) -> None:
        super().close()
        self.deleted_api.close()


TYPE = native_type("intercom", IntercomConnector, IntercomOptions, interval=30.0, auth=("secret",),
                   secret="Intercom access token",
                   summary="Intercom: conversations closed and rated today, from conversation search")
