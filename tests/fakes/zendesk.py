"""A fake Zendesk Support API v2, written from Zendesk's own reference pages (and the OpenAPI copies
in api-evangelist/zendesk), serving a :class:`~tests.fakes.scenario.Scenario` as of the fake clock.

Auth: HTTP Basic ``{email}/token:{api_token}``. ``EMAIL``/``TOKEN`` is an admin (unless
``admin=False``), ``AGENT_EMAIL``/``AGENT_TOKEN`` always a plain agent. Anything else: 401
``{"error": "Couldn't authenticate you"}``. Admin-only routes give an agent 403 ``{"error":
"Forbidden", "description": "You do not have access to this page. ..."}``.

Routes (each also with a ``.json`` suffix; anything else is 404 ``InvalidEndpoint``):

- ``GET /api/v2/incremental/tickets/cursor`` (admin; the 10/min incremental bucket): ``start_time``
  (epoch) or ``cursor``; ``per_page`` ≤1000 (default 1000); ``include=metric_sets`` adds a top-level
  ``metric_sets[]``; ``exclude_deleted=true``. Shows the world as of now−60 s (nothing changed in the
  last minute), ordered by (``generated_timestamp``, id); a ticket changed again moves behind the
  cursor's position and so reappears with its full current state. Cursors are Zendesk's shape,
  base64 of ``"{ts}.0||{id}|"``. ``end_of_stream`` is true on the last page; ``after_cursor`` /
  ``after_url`` point past the last ticket served. A start_time within 60 s of now (or in the
  future) → ``too_recent_status`` with ``{"error": "InvalidValue", "description": "Too recent
  start_time. ..."}``; a malformed or expired cursor → 422.
- ``GET /api/v2/satisfaction_ratings`` (admin): ``score`` (offered, unoffered, received[_with(out)_comment],
  good[...], bad[...]), ``start_time``/``end_time`` epoch, inclusive, on ``created_at``; an
  ``end_time`` newer than now−60 s → ``too_recent_status``. Cursor pagination (``page[size]`` ≤100,
  ``page[after]``, ``meta.has_more``/``after_cursor``, ``links.next``) or, without ``page[size]``,
  offset pagination (``page``, ``per_page``, ``next_page``, ``count``). Bad ``page[after]`` → 400
  ``{"errors": [{"code": "InvalidPaginationParameter", ...}]}``.
- ``GET /api/v2/users`` (agents too): ``role=`` / ``role[]=`` filter; same pagination.
  ``GET /api/v2/users/me``: ``{"user": {...}}`` for the caller, the anonymous user without credentials.
- ``GET /api/v2/groups``, ``GET /api/v2/group_memberships``: same pagination.
- ``GET /api/v2/search/count?query=type:ticket status>=solved solved>=2026-11-24T00:00:00+01:00
  assignee:1002`` (agents too) → ``{"count": N}``; terms ``status``, ``solved``/``created``/``updated``
  (ISO with offset, or a date), ``assignee``, ``group``; anything else → 400. The index lags by
  ``index_lag`` seconds.

Rate limits: every answer carries ``X-Rate-Limit``/``X-Rate-Limit-Remaining`` and
``ratelimit-limit``/``-remaining``/``-reset`` for the account's per-minute bucket (fixed clock
minutes). Over it, or over the incremental bucket, → 429 with ``Retry-After`` (seconds to the next
minute) and ``ratelimit-reset``, JSON body; with ``rate_limit_plain`` a text/plain body and no
``Retry-After``. Requests refused with 429 are not counted.

Knobs: ``max_page`` (caps every page size, to force 3+ pages), ``admin`` (False: EMAIL/TOKEN is a
non-admin agent), ``account_limit`` (700, Enterprise), ``incremental_limit`` (10; 30 with High
Volume), ``rate_limit_plain``, ``too_recent_status`` (422), ``cursors_expired`` (also an attribute
to flip mid-test: every incremental cursor → 422), ``deactivated`` ("inactive": listed with
``active: false``; "suspended": ``active: true, suspended: true``; "absent": not listed), ``lag``
(the export's 60 s), ``index_lag`` (search count, 0 s). ``use_incremental_budget(n)``: another
integration on the account spends n of this minute's incremental calls.

Scenario mapping: ids are ints (people, teams); ``requester_id`` is the scenario's end user; status
``new`` until assigned, then open/solved/closed/deleted; a neutral rating is served as ``offered``
(Zendesk rates good or bad only); ratings of deleted tickets are not served.

Unverified (picked the most likely shape; connectors should fail loudly if wrong):
- the too-recent status: practitioner code saw 422 ``InvalidValue`` "Too recent start_time"; the
  current docs say only that start_time "must be at least one minute in the past" (knob: 400);
- the invalid-cursor body (``{"error": "InvalidCursor", ...}``) and the 429 body wording;
- an empty page from a start_time request has ``after_cursor: null`` (a forum report);
  from a cursor request it returns the same cursor;
- ``links.next`` is null on the last cursor page; ``page[size]`` above the maximum is clamped;
- ``metric_set.solved_at`` keeps the previous solve after a reopen (status tells it is open);
  ``reply_time_in_minutes.business`` equals calendar (no business hours set);
- satisfaction ``created_at`` is the time the customer rated (not when the survey was offered), and
  ``start_time``/``end_time`` filter on it; the ``end_time`` 60-s rule (practitioner code);
- ``ratelimit-*`` headers describe the account bucket on every route, incremental included;
- ``/users/me`` without credentials answers 200 with an anonymous user (id null), not 401;
- a date-only search value (``solved>=2026-11-24``) is read as a UTC day.
"""

from __future__ import annotations

import base64
import bisect
import binascii
import json
import math
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

from .base import FakeAPI, Request, Response, iso, parse_iso
from .scenario import Person, Scenario, TicketState

SUFFIX = r"(?:\.json)?"
FORBIDDEN = {"error": "Forbidden", "description": "You do not have access to this page. Please contact the "
             "account owner of this help desk for further help."}
SCORES = {
    "offered": ("offered",), "unoffered": ("unoffered",), "received": ("good", "bad"),
    "good": ("good",), "bad": ("bad",),
}


class ZendeskFake(FakeAPI):
    EMAIL = "lead@example.com"
    TOKEN = "zd-admin-token-6f1e2d"
    AGENT_EMAIL = "agent@example.com"
    AGENT_TOKEN = "zd-agent-token-93ab07"
    INCREMENTAL_MAX = 1000
    LIST_MAX = 100

    def __init__(self, scenario: Scenario, clock: Callable[[], float], *, max_page: int | None = None,
                 admin: bool = True, account_limit: int = 700, incremental_limit: int = 10,
                 rate_limit_plain: bool = False, too_recent_status: int = 422, cursors_expired: bool = False,
                 deactivated: str = "inactive", lag: float = 60.0,
                 index_lag: float = 0.0) -> None:
        super().__init__(clock)
        if deactivated not in ("inactive", "suspended", "absent"):
            raise ValueError(f"deactivated must be inactive, suspended or absent, not {deactivated!r}")
        self.scenario = scenario
        self.max_page = max_page
        self.account_limit = account_limit
        self.incremental_limit = incremental_limit
        self.rate_limit_plain = rate_limit_plain
        self.too_recent_status = too_recent_status
        self.cursors_expired = cursors_expired
        self.deactivated = deactivated
        self.lag = lag
        self.index_lag = index_lag
        self._customer = next((int(p.id) for p in scenario.people if p.role == "end-user"), None)
        self._tokens = {(self.EMAIL, self.TOKEN): "admin" if admin else "agent",
                        (self.AGENT_EMAIL, self.AGENT_TOKEN): "agent"}
        self._used: dict[tuple[str, int], int] = {}  # (bucket, clock minute) -> requests
        self._cache: tuple[float, dict[int, TicketState]] | None = None
        self._sorted: tuple[float, list[TicketState]] | None = None
        routes: list[tuple[str, Callable[[Request], Response], bool, bool]] = [
            (r"/api/v2/incremental/tickets/cursor", self._incremental, True, True),
            (r"/api/v2/satisfaction_ratings", self._ratings, True, False),
            (r"/api/v2/users/me", self._me, False, False),
            (r"/api/v2/users", self._users, False, False),
            (r"/api/v2/search/count", self._search_count, False, False),
            (r"/api/v2/groups", self._groups, False, False),
            (r"/api/v2/group_memberships", self._memberships, False, False),
        ]
        for pattern, handler, admin_only, incremental in routes:
            self.route("GET", pattern + SUFFIX, self._guard(handler, admin_only, incremental))
        for method in ("GET", "POST", "PUT", "DELETE"):
            self.route(method, r".*", self._guard(self._not_found, False, False))

    # -- auth, buckets, headers ------------------------------------------------------------------

    def use_incremental_budget(self, n: int) -> None:
        """Another integration on the same account makes ``n`` incremental calls this minute."""
        key = ("incremental", int(self.clock() // 60))
        with self._lock:
            self._used[key] = self._used.get(key, 0) + n

    def _login(self, req: Request) -> tuple[str, str] | None:
        """(email, "admin" or "agent") for good Basic ``{email}/token:{token}`` credentials."""
        header = req.headers.get("authorization", "")
        if not header.lower().startswith("basic "):
            return None
        try:
            user, _, secret = base64.b64decode(header[6:].strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        email, _, kind = user.rpartition("/")
        role = self._tokens.get((email, secret)) if kind == "token" else None
        return (email, role) if role else None

    def _role(self, req: Request) -> str | None:
        login = self._login(req)
        return login[1] if login else None

    def _take(self, bucket: str, limit: int, now: float) -> bool:
        key = (bucket, int(now // 60))
        with self._lock:
            if self._used.get(key, 0) >= limit:
                return False
            self._used[key] = self._used.get(key, 0) + 1
            return True

    def _headers(self, now: float) -> dict[str, str]:
        with self._lock:
            used = self._used.get(("account", int(now // 60)), 0)
        left, reset = str(max(0, self.account_limit - used)), str(self._reset(now))
        return {"X-Rate-Limit": str(self.account_limit), "X-Rate-Limit-Remaining": left,
                "ratelimit-limit": str(self.account_limit), "ratelimit-remaining": left, "ratelimit-reset": reset}

    @staticmethod
    def _reset(now: float) -> int:
        return max(1, math.ceil(60 - now % 60))

    def _guard(self, handler: Callable[[Request], Response], admin_only: bool,
               incremental: bool) -> Callable[[Request], Response]:
        def guarded(req: Request) -> Response:
            now = req.at
            if not self._take("account", self.account_limit, now) or (
                    incremental and self._role(req) == "admin"
                    and not self._take("incremental", self.incremental_limit, now)):
                reply = self._too_many(now)
            else:
                role = self._role(req)
                if role is None and handler == self._me and "authorization" not in req.headers:
                    reply = handler(req)  # Zendesk answers /users/me anonymously
                elif role is None:
                    reply = Response.json({"error": "Couldn't authenticate you"}, 401)
                elif admin_only and role != "admin":
                    reply = Response.json(FORBIDDEN, 403)
                else:
                    reply = handler(req)
            reply.headers.update(self._headers(now))
            if reply.status == 429:
                reply.headers["ratelimit-remaining"] = reply.headers["X-Rate-Limit-Remaining"] = "0"
            return reply
        return guarded

    def _too_many(self, now: float) -> Response:
        wait = str(self._reset(now))
        if self.rate_limit_plain:
            return Response.text("Number of allowed API requests per minute exceeded", 429)
        return Response.json({"error": "APIRateLimitExceeded",
                              "description": "Number of allowed API requests per minute exceeded"},
                             429, **{"Retry-After": wait})

    def _not_found(self, req: Request) -> Response:
        return Response.json({"error": "InvalidEndpoint", "description": "Not found"}, 404)

    def _invalid(self, status: int, description: str) -> Response:
        return Response.json({"error": "InvalidValue", "description": description}, status)

    # -- the scenario in Zendesk's shapes ---------------------------------------------------------

    def _tickets(self, at: float) -> dict[int, TicketState]:
        with self._lock:
            if self._cache is not None and self._cache[0] == at:
                return self._cache[1]
        tickets = self.scenario.tickets(at)
        with self._lock:
            self._cache = (at, tickets)
        return tickets

    def _ordered(self, at: float) -> list[TicketState]:
        """The tickets as of ``at`` in export order, (generated_timestamp, id); cached per moment."""
        with self._lock:
            if self._sorted is not None and self._sorted[0] == at:
                return self._sorted[1]
        ordered = sorted(self._tickets(at).values(), key=self._position)
        with self._lock:
            self._sorted = (at, ordered)
        return ordered

    @staticmethod
    def _position(t: TicketState) -> tuple[float, int]:
        return (int(t.updated_at), t.id)

    def _url(self, path: str, query: list[tuple[str, str]] | None = None, **more: str) -> str:
        pairs = list(query or []) + list(more.items())
        return f"{self.base_url}{path}" + (f"?{urlencode(pairs, quote_via=quote)}" if pairs else "")

    def _requester(self) -> int | None:
        return self._customer

    @staticmethod
    def _status(t: TicketState) -> str:
        if t.status == "open":
            return "new" if t.assignee is None and not t.reopens else "open"
        return t.status

    @staticmethod
    def _rating_id(t: TicketState) -> int:
        return 700_000 + t.id

    def _rating_on_ticket(self, t: TicketState) -> dict[str, Any]:
        if t.rating in ("good", "bad"):
            return {"id": self._rating_id(t), "score": t.rating, "comment": t.comment or None}
        if t.rating == "neutral":
            return {"id": self._rating_id(t), "score": "offered"}
        return {"score": "unoffered"}

    def _ticket(self, t: TicketState) -> dict[str, Any]:
        requester = self._requester()
        return {
            "url": self._url(f"/api/v2/tickets/{t.id}.json"), "id": t.id, "external_id": None,
            "via": {"channel": "web", "source": {"from": {}, "to": {}, "rel": None}},
            "created_at": iso(t.created_at), "updated_at": iso(t.updated_at),
            "generated_timestamp": int(t.updated_at), "type": None, "subject": f"Ticket {t.id}",
            "raw_subject": f"Ticket {t.id}", "description": "Hej, something is wrong.", "priority": None,
            "status": self._status(t), "recipient": None, "requester_id": requester, "submitter_id": requester,
            "assignee_id": int(t.assignee) if t.assignee else None, "organization_id": None,
            "group_id": int(t.team) if t.team else None, "collaborator_ids": [], "follower_ids": [],
            "email_cc_ids": [], "forum_topic_id": None, "problem_id": None, "has_incidents": False,
            "is_public": True, "due_at": None, "tags": [], "custom_fields": [],
            "satisfaction_rating": self._rating_on_ticket(t), "sharing_agreement_ids": [],
            "custom_status_id": None, "fields": [], "followup_ids": [], "ticket_form_id": 360000001,
            "brand_id": 360000002, "allow_channelback": False, "allow_attachments": True,
            "from_messaging_channel": False,
        }

    def _metric_set(self, t: TicketState) -> dict[str, Any]:
        reply = None if t.first_reply_at is None else int(t.first_reply_at - t.created_at)
        minutes = None if reply is None else math.ceil(reply / 60)
        solve = None if t.solved_at is None else math.ceil((t.solved_at - t.created_at) / 60)
        assigned = next((s.at for s in t.history if s.kind == "assign"), None)
        solves = [s.at for s in t.history if s.kind == "solve"]
        return {
            "url": self._url(f"/api/v2/ticket_metrics/{800_000 + t.id}.json"), "id": 800_000 + t.id,
            "ticket_id": t.id, "created_at": iso(t.created_at), "updated_at": iso(t.updated_at),
            "group_stations": sum(1 for s in t.history if s.kind == "assign" and s.team),
            "assignee_stations": sum(1 for s in t.history if s.kind == "assign"),
            "reopens": t.reopens, "replies": sum(1 for s in t.history if s.kind == "reply"),
            "assignee_updated_at": iso(t.updated_at) if t.assignee else None, "requester_updated_at": iso(t.created_at),
            "status_updated_at": iso(t.updated_at),
            "initially_assigned_at": iso(assigned) if assigned else None,
            "assigned_at": iso(max(s.at for s in t.history if s.kind == "assign")) if assigned else None,
            "solved_at": iso(t.solved_at) if t.solved_at is not None else None,
            "latest_comment_added_at": iso(t.first_reply_at or t.created_at),
            "reply_time_in_minutes": {"calendar": minutes, "business": minutes},
            "reply_time_in_seconds": {"calendar": reply},
            "first_resolution_time_in_minutes": {
                "calendar": math.ceil((solves[0] - t.created_at) / 60) if solves else None,
                "business": math.ceil((solves[0] - t.created_at) / 60) if solves else None},
            "full_resolution_time_in_minutes": {"calendar": solve, "business": solve},
            "agent_wait_time_in_minutes": {"calendar": None, "business": None},
            "requester_wait_time_in_minutes": {"calendar": None, "business": None},
            "on_hold_time_in_minutes": {"calendar": 0, "business": 0},
        }

    # -- incremental export -----------------------------------------------------------------------

    @staticmethod
    def _cursor(ts: int, tid: int) -> str:
        return base64.b64encode(f"{ts}.0||{tid}|".encode()).decode()

    @staticmethod
    def _decode(cursor: str) -> tuple[int, int] | None:
        try:
            m = re.fullmatch(r"(\d+)\.0\|\|(\d+)\|", base64.b64decode(cursor, validate=True).decode())
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None
        return (int(m[1]), int(m[2])) if m else None

    def _incremental(self, req: Request) -> Response:
        cutoff = req.at - self.lag
        cursor, start = req.arg("cursor"), req.arg("start_time")
        try:
            per_page = min(int(req.arg("per_page") or self.INCREMENTAL_MAX), self.INCREMENTAL_MAX, self.max_page or 10**9)
        except ValueError:
            return self._invalid(400, "per_page must be an integer")
        if per_page < 1:
            return self._invalid(400, "per_page must be positive")
        if cursor is not None:
            after = self._decode(cursor)
            if after is None or self.cursors_expired:
                return Response.json({"error": "InvalidCursor", "description": "Cursor is invalid or has expired"}, 422)
            key: tuple[float, int] = after
        elif start is not None:
            if not re.fullmatch(r"\d+", start):
                return self._invalid(400, "start_time must be a Unix epoch time in seconds")
            if int(start) > cutoff:
                return self._invalid(self.too_recent_status, "Too recent start_time. Use a start_time older than 1 minute")
            key = (int(start), -1)  # >= start_time: every id at that second
        else:
            return self._invalid(400, "start_time or cursor is required")
        includes = {part.strip() for part in (req.arg("include") or "").split(",") if part.strip()}
        exclude_deleted = (req.arg("exclude_deleted") or "").lower() == "true"
        ordered = self._ordered(cutoff)
        rest = [t for t in ordered[bisect.bisect_right(ordered, key, key=self._position):]
                if not (exclude_deleted and t.status == "deleted")]
        page = rest[:per_page]
        if page:
            after_cursor: str | None = self._cursor(int(page[-1].updated_at), page[-1].id)
        else:
            after_cursor = cursor  # a start_time with nothing after it gives no cursor at all
        doc: dict[str, Any] = {
            "tickets": [self._ticket(t) for t in page],
            "after_url": self._url("/api/v2/incremental/tickets/cursor.json", cursor=after_cursor) if after_cursor else None,
            "after_cursor": after_cursor, "before_url": None, "before_cursor": None,
            "end_of_stream": len(rest) <= per_page,
        }
        if "metric_sets" in includes:
            doc["metric_sets"] = [self._metric_set(t) for t in page]
        return Response.json(doc)

    # -- lists: satisfaction ratings, users, groups, memberships -----------------------------------

    def _page(self, req: Request, name: str, records: list[dict[str, Any]], path: str) -> Response:
        """Zendesk's two list paginations over ``records`` (already in id order)."""
        cap = min(self.LIST_MAX, self.max_page or self.LIST_MAX)
        kept = [(k, v) for k, vs in req.query.items() for v in vs if not k.startswith("page") and k != "per_page"]
        if any(k.startswith("page[") for k in req.query):
            try:
                size = max(1, min(int(req.arg("page[size]") or self.LIST_MAX), cap))
            except ValueError:
                return self._bad_page("page[size]")
            start = 0
            if req.arg("page[after]"):
                try:
                    last = json.loads(base64.urlsafe_b64decode(req.arg("page[after]") or ""))["v"]
                    start = next((i for i, r in enumerate(records) if r["id"] > int(last)), len(records))
                except (ValueError, KeyError, TypeError, binascii.Error):
                    return self._bad_page("page[after]")
            chunk = records[start:start + size]
            more = start + size < len(records)

            def mark(record: dict[str, Any] | None) -> str | None:
                return None if record is None else base64.urlsafe_b64encode(
                    json.dumps({"o": "id", "v": record["id"]}).encode()).decode()
            after, before = mark(chunk[-1] if chunk else None), mark(chunk[0] if chunk else None)
            nxt = self._url(path, kept + [("page[size]", str(size)), ("page[after]", after)]) \
                if more and after else None
            return Response.json({name: chunk, "meta": {"has_more": more, "after_cursor": after,
                                                        "before_cursor": before},
                                  "links": {"next": nxt, "prev": None}})
        try:
            per_page = max(1, min(int(req.arg("per_page") or self.LIST_MAX), cap))
            number = max(1, int(req.arg("page") or 1))
        except ValueError:
            return self._invalid(400, "page and per_page must be integers")
        chunk = records[(number - 1) * per_page:number * per_page]
        last = number * per_page >= len(records)
        link = lambda n: self._url(path, kept, page=str(n), per_page=str(per_page))  # noqa: E731
        return Response.json({name: chunk, "next_page": None if last else link(number + 1),
                              "previous_page": link(number - 1) if number > 1 else None, "count": len(records)})

    @staticmethod
    def _bad_page(param: str) -> Response:
        return Response.json({"errors": [{"code": "InvalidPaginationParameter", "title": f"{param} is not valid"}]}, 400)

    def _group_at(self, t: TicketState, at: float) -> str | None:
        team = None
        for step in t.history:
            if step.at <= at and step.kind in ("create", "assign") and step.team:
                team = step.team
        return team

    def _ratings(self, req: Request) -> Response:
        score = req.arg("score") or ""
        base, _, comment = score.partition("_with")
        if score and (base not in SCORES or comment not in ("", "_comment", "out_comment")):
            return self._invalid(400, f"score {score!r} is not valid")
        times: dict[str, int] = {}
        for name in ("start_time", "end_time"):
            value = req.arg(name)
            if value is not None:
                if not re.fullmatch(r"\d+", value):
                    return self._invalid(400, f"{name} must be a Unix epoch time in seconds")
                times[name] = int(value)
        if times.get("end_time", 0) > req.at - 60:
            return self._invalid(self.too_recent_status, "Too recent end_time. Use an end_time older than 1 minute")
        out = []
        for t in self._tickets(req.at).values():
            if t.rating is None or t.rating_at is None or t.status == "deleted":
                continue
            served = "offered" if t.rating == "neutral" else t.rating
            if score and served not in SCORES[base]:
                continue
            if comment and (comment == "_comment") != bool(t.comment):
                continue
            if not times.get("start_time", 0) <= t.rating_at <= times.get("end_time", 10**12):
                continue
            group = self._group_at(t, t.rating_at)
            out.append({
                "url": self._url(f"/api/v2/satisfaction_ratings/{self._rating_id(t)}.json"), "id": self._rating_id(t),
                "assignee_id": int(t.rated_agent) if t.rated_agent else None,
                "group_id": int(group) if group else None, "requester_id": self._requester(), "ticket_id": t.id,
                "score": served, "comment": t.comment or None if served != "offered" else None,
                "reason": None, "reason_id": None, "reason_code": None,
                "created_at": iso(t.rating_at), "updated_at": iso(t.rating_at),
            })
        out.sort(key=lambda r: r["id"])
        return self._page(req, "satisfaction_ratings", out, "/api/v2/satisfaction_ratings.json")

    def _listed(self) -> list[Person]:
        return [p for p in self.scenario.people if p.active or self.deactivated != "absent"]

    def _user(self, p: Person) -> dict[str, Any]:
        staff = p.role in ("agent", "admin")
        active = p.active or self.deactivated == "suspended"
        day0 = iso(self.scenario.day_start() - 400 * 86400)
        photo = None if not p.avatar else {
            "url": self._url(f"/api/v2/attachments/{900_000 + int(p.id)}.json"), "id": 900_000 + int(p.id),
            "file_name": p.avatar.rsplit("/", 1)[-1], "content_url": p.avatar, "mapped_content_url": p.avatar,
            "content_type": "image/png", "size": 4096, "width": 80, "height": 80, "inline": False,
            "deleted": False, "thumbnails": []}
        return {
            "id": int(p.id), "url": self._url(f"/api/v2/users/{p.id}.json"), "name": p.name,
            "email": f"user{p.id}@example.com", "created_at": day0, "updated_at": day0,
            "time_zone": "Stockholm", "iana_time_zone": self.scenario.tz, "phone": None,
            "shared_phone_number": None, "photo": photo, "locale_id": 1, "locale": "en-US",
            "organization_id": None, "role": p.role, "verified": True, "external_id": None, "tags": [],
            "alias": "", "active": active, "shared": False, "shared_agent": False, "last_login_at": day0,
            "two_factor_auth_enabled": None, "signature": "", "details": "", "notes": "",
            "role_type": None, "custom_role_id": None, "moderator": staff, "ticket_restriction": None if staff else "requested",
            "only_private_comments": False, "restricted_agent": False,
            "suspended": not p.active and self.deactivated == "suspended",
            "default_group_id": int(p.team) if staff else None, "report_csv": staff, "user_fields": {},
        }

    def _users(self, req: Request) -> Response:
        roles = set(req.query.get("role[]", [])) | set(req.query.get("role", []))
        people = sorted((p for p in self._listed() if not roles or p.role in roles), key=lambda p: int(p.id))
        return self._page(req, "users", [self._user(p) for p in people], "/api/v2/users.json")

    def _groups(self, req: Request) -> Response:
        day0 = iso(self.scenario.day_start() - 400 * 86400)
        groups = [{"url": self._url(f"/api/v2/groups/{g.id}.json"), "id": int(g.id), "is_public": True,
                   "name": g.name, "description": "", "default": i == 0, "deleted": False,
                   "created_at": day0, "updated_at": day0}
                  for i, g in enumerate(sorted(self.scenario.teams, key=lambda g: int(g.id)))]
        return self._page(req, "groups", groups, "/api/v2/groups.json")

    def _memberships(self, req: Request) -> Response:
        day0 = iso(self.scenario.day_start() - 400 * 86400)
        rows = [{"url": self._url(f"/api/v2/group_memberships/{40_000 + int(p.id)}.json"), "id": 40_000 + int(p.id),
                 "user_id": int(p.id), "group_id": int(p.team), "default": True,
                 "created_at": day0, "updated_at": day0}
                for p in sorted(self._listed(), key=lambda p: int(p.id)) if p.role in ("agent", "admin")]
        return self._page(req, "group_memberships", rows, "/api/v2/group_memberships.json")

    def _me(self, req: Request) -> Response:
        login = self._login(req)
        if login is None:
            return Response.json({"user": {"id": None, "url": None, "name": "Anonymous user", "email": "invalid@example.com",
                                           "role": "end-user", "active": True, "suspended": False}})
        uid = 1 if login[1] == "admin" else 2
        return Response.json({"user": {"id": uid, "url": self._url(f"/api/v2/users/{uid}.json"), "name": f"API {login[1]}",
                                       "email": login[0], "role": login[1], "active": True, "suspended": False}})

    # -- search count ---------------------------------------------------------------------------

    def _search_count(self, req: Request) -> Response:
        """``type:ticket`` with ``status``, ``solved``/``created``/``updated``, ``assignee`` and
        ``group`` terms; the index shows the world as it was ``index_lag`` seconds ago."""
        tests: list[Callable[[TicketState], bool]] = []
        for term in (req.arg("query") or "").split():
            m = re.fullmatch(r"(\w+)(:|>=|<=|>|<)(.+)", term)
            if m is None:
                return self._invalid(400, f"Invalid search: {term!r}")
            field, op, value = m.groups()
            if field == "type" and value == "ticket":
                continue
            if field == "status" and value in STATUSES:
                tests.append(lambda t, op=op, v=STATUSES.index(value): _compare(STATUSES.index(self._status(t)), op, v))
            elif field in ("solved", "created", "updated"):
                when = _search_time(value)
                if when is None:
                    return self._invalid(400, f"Invalid search: {value!r} is not a date")
                attr = {"solved": "solved_at", "created": "created_at", "updated": "updated_at"}[field]
                tests.append(lambda t, op=op, w=when, a=attr, day=len(value) == 10:
                             getattr(t, a) is not None and _compare(getattr(t, a), op, w, day))
            elif field in ("assignee", "group"):
                tests.append(lambda t, a="assignee" if field == "assignee" else "team", v=value: getattr(t, a) == v)
            else:
                return self._invalid(400, f"fake: the search term {term!r} is not served")
        tickets = [t for t in self._tickets(req.at - self.index_lag).values() if t.status != "deleted"]
        return Response.json({"count": sum(1 for t in tickets if all(test(t) for test in tests))})


STATUSES = ["new", "open", "pending", "hold", "solved", "closed"]


def _search_time(value: str) -> float | None:
    try:  # a date-only value is read as a UTC day here (the reference does not say which zone)
        return parse_iso(value + "T00:00:00Z" if len(value) == 10 else value)
    except ValueError:
        return None


def _compare(left: float, op: str, right: float, day: bool = False) -> bool:
    if day and op == ":":
        return right <= left < right + 86400
    if day and op in (">", "<="):
        right += 86400 - 1  # solved>2026-11-24 means after that whole day
    return {":": left == right, ">=": left >= right, "<=": left <= right, ">": left > right, "<": left < right}[op]
