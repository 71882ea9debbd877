"""A fake Intercom REST API (api.intercom.io, .eu., .au.: one server answers for every host), written
from Intercom's own documentation: the OpenAPI descriptions in intercom/Intercom-OpenAPI (2.11–2.16 and
Unstable) and the developer pages on pagination, rate limiting, error codes and HTTP responses.

It serves ``scenario.tickets(clock())`` as conversations: nothing at or after the fake clock's now exists.

Routes (every one needs ``Authorization: Bearer TOKEN``, an ``Intercom-Version`` and an Accept that
admits JSON; answers are JSON, errors are ``{"type":"error.list","request_id":..,"errors":[{code,message}]}``):

- ``GET /me``: the token's admin with its ``app`` (``region`` from the knob).
- ``GET /admins[?display_avatar=true]``: ``admin.list`` of the active agents and admins (ids are strings,
  ``team_ids`` ints). Removed (deactivated) teammates and customers are absent. ``avatar`` only on request.
- ``GET /admins/{id}``, ``GET /teams`` (``team.list``: id, name, ``admin_ids`` ints), ``GET /teams/{id}``.
- ``POST /conversations/search``: body ``{"query": filter | {"operator":"AND"|"OR","value":[..]},
  "pagination": {"per_page": 1..150 (default 20), "starting_after": cursor}}``; the documented field table
  and operators ``= != IN NIN > < ~ !~ ^ $`` (``>``/``<`` are "greater/lower (or equal)", as documented);
  at most 2 levels of AND/OR and 15 items per group; answers ``conversation.list`` with ``total_count``
  and ``pages {type, page, per_page, total_pages, next: {page, starting_after}}`` (no ``next`` on the last
  page). The order is a seeded shuffle, the same on every page: sort yourself or read every page.
- ``GET /conversations/{id}``: one conversation, live (no index lag). 404 ``not_found`` once deleted.
- ``GET /conversations/deleted?page=&per_page=(≤60)&order=desc``: deleted ids with ``deleted_at``; only
  with ``Intercom-Version`` 2.16 or later, or Unstable (the OpenAPI lists it from 2.16; else 400
  ``intercom_version_invalid``, as documented).
- Anything else: 404 ``not_found`` (Intercom also answers 404 for a method a path does not support).

Conversations: ``id`` string, ``state`` open/closed, ``open``, epoch ``created_at``/``updated_at``,
``admin_assignee_id``/``team_assignee_id`` ints or null, ``statistics`` (``last_close_at``,
``last_closed_by_id`` string, ``first_close_at``, ``first_admin_reply_at``, ``time_to_admin_reply``,
``count_reopens``, ...; a reopen keeps the last close's statistics: count only state ``closed``), and
``conversation_rating`` {``rating`` 1–5 (good 5 or 4, neutral 3, bad 1 or 2), ``remark``, ``created_at``
(when the rating was *requested*: the close before it, as the docs say), ``updated_at`` (when it was
given; from version 2.14 on, as in the OpenAPI), ``contact``, ``teammate`` {type admin, id}}.

Rate limit: ``rate_limit`` per minute spread over 10-s windows of ceil(limit/6) on the fake clock;
``X-RateLimit-Limit``/``-Remaining``/``-Reset`` (epoch of the window's end) on every authenticated answer
(not on 401s, as documented); past it 429 ``rate_limit_exceeded`` "Exceeded rate limit of N in 10_seconds"
with the same headers and no Retry-After. ``consume(n)`` spends budget as another integration would.

Knobs (keyword arguments): ``token`` (default ``TOKEN``); ``token_valid_until`` (fake-clock epoch after
which the token answers 401, e.g. revoked); ``scopes`` (default ``SCOPES``; a missing one gives 403
``forbidden`` naming it); ``plan_restricted`` (403 ``api_plan_restricted`` everywhere); ``require_version``
(default True; False serves ``default_version`` when the header is absent, as the docs describe);
``default_version``; ``max_page`` (server-side cap on page size, to force 3+ pages); ``seed`` (result
order); ``index_lag`` (seconds the search index trails the clock); ``cursor_ttl`` (seconds after which a
``starting_after`` is refused with 400); ``rating_bumps_updated_at`` (default True); ``rating_created_at``
("requested", default, or "given": created_at is when the customer rated); ``avatar`` ("object", default,
``{"type":"avatar","image_url":..}``, or "string": the bare URL of the admin schema); ``inclusive_range``
(default True: ``>``/``<`` include the bound); ``team_ids_as_strings`` (``team_assignee_id`` as "7", as
some client libraries type it, instead of the OpenAPI's int); ``region`` ("US", "EU", "AU").

Unverified (no stored source; the most likely shape was picked, and a wrong guess should fail loudly):
the error codes for query limits, bad cursors and per_page > 150 (400 ``parameter_invalid``; the docs
give it for a body that is not JSON), unknown fields (``invalid_field``, seen on tickets search), value
types (``type_mismatch``) and the body of the documented 406 for an Accept without JSON (``not_acceptable``);
that a rating's survey was requested at the close before it; whether cursors expire; whether ``>`` is really inclusive; whether ``<=``/``>=`` are
refused on conversations (they are here: the conversation operator table lacks them); whether a rating
bumps ``updated_at``; the scope names ``read_admins`` for admins and teams; whether the header is truly
required (the docs say it defaults to the app's version: ``require_version``); that removed teammates
vanish from ``/admins``; the ``avatar`` shape (the schema says a URI string, ``/me`` and
``display_avatar`` say an object); the int type of ``team_assignee_id`` (``team_ids_as_strings``); that
conversation search compares timestamps to the second (the docs say contact search truncates to days).
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import math
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Literal

from .base import FakeAPI, Request, Response
from .scenario import Person, Scenario, TicketState

VERSIONS = tuple(f"1.{i}" for i in range(5)) + tuple(f"2.{i}" for i in range(17)) + ("Unstable",)
STRING, DATE, INTEGER, BOOLEAN = "string", "date", "integer", "boolean"
_S = ("id source.type source.id source.delivered_as source.subject source.body source.author.id "
      "source.author.type source.author.name source.author.email source.url contact_ids teammate_ids "
      "channel_initiated state tag_ids priority statistics.last_closed_by_id conversation_rating.remark "
      "conversation_rating.contact_id conversation_rating.admin_d ai_agent.resolution_state "
      "ai_agent.last_answer_type ai_agent.rating_remark ai_agent.source_type ai_agent.source_title")
_D = ("created_at updated_at waiting_since snoozed_until statistics.first_contact_reply_at "
      "statistics.first_assignment_at statistics.first_admin_reply_at statistics.first_close_at "
      "statistics.last_assignment_at statistics.last_assignment_admin_reply_at "
      "statistics.last_contact_reply_at statistics.last_admin_reply_at statistics.last_close_at "
      "conversation_rating.requested_at conversation_rating.replied_at")
_I = ("admin_assignee_id team_assignee_id statistics.time_to_assignment statistics.time_to_admin_reply "
      "statistics.time_to_first_close statistics.time_to_last_close statistics.median_time_to_reply "
      "statistics.count_reopens statistics.count_assignments statistics.count_conversation_parts "
      "conversation_rating.score ai_agent.rating")
FIELDS: dict[str, str] = {**{f: STRING for f in _S.split()}, **{f: DATE for f in _D.split()},
                          **{f: INTEGER for f in _I.split()},
                          **{f: BOOLEAN for f in ("open", "read", "ai_agent_participated")}}
OPERATORS = ("=", "!=", "IN", "NIN", ">", "<", "~", "!~", "^", "$")
SCORES = {"good": (4, 5), "neutral": (3, 3), "bad": (2, 1)}  # (even id, odd id)


class QueryError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


Pred = Callable[[dict[str, Any]], bool]


class IntercomFake(FakeAPI):
    TOKEN = "dG9rOmNoYWxrd2FsbC1mYWtlLWludGVyY29tOjE6MA=="
    VERSION = "2.14"  # the version the tests send: the first whose ratings carry updated_at
    SCOPES = frozenset({"read_conversations", "read_admins"})

    def __init__(self, scenario: Scenario, clock: Callable[[], float], *, token: str = TOKEN,
                 token_valid_until: float | None = None, scopes: frozenset[str] = SCOPES,
                 plan_restricted: bool = False, require_version: bool = True, default_version: str = "2.11",
                 max_page: int = 150, seed: int = 0, index_lag: float = 0.0, cursor_ttl: float | None = None,
                 rate_limit: int = 10_000, rating_bumps_updated_at: bool = True,
                 rating_created_at: Literal["requested", "given"] = "requested",
                 avatar: Literal["object", "string"] = "object", inclusive_range: bool = True,
                 team_ids_as_strings: bool = False, region: str = "US") -> None:
        super().__init__(clock)
        self.scenario = scenario
        self.token, self.token_valid_until, self.scopes = token, token_valid_until, scopes
        self.plan_restricted, self.require_version, self.default_version = plan_restricted, require_version, default_version
        self.max_page, self.seed, self.index_lag, self.cursor_ttl = max_page, seed, index_lag, cursor_ttl
        self.rate_limit, self.rating_bumps_updated_at = rate_limit, rating_bumps_updated_at
        self.rating_created_at, self.avatar, self.inclusive_range, self.region = rating_created_at, avatar, inclusive_range, region
        self.team_ids_as_strings = team_ids_as_strings
        self._window, self._used, self._request_ids = 0, 0, itertools.count(1)
        self._cached: tuple[float, list[tuple[int, str, dict[str, Any], dict[str, Any]]]] | None = None
        guarded = [("GET", r"/me", None, self._me), ("GET", r"/admins", "read_admins", self._admins),
                   ("GET", r"/admins/(\d+)", "read_admins", self._admin),
                   ("GET", r"/teams", "read_admins", self._teams), ("GET", r"/teams/(\w+)", "read_admins", self._team),
                   ("POST", r"/conversations/search", "read_conversations", self._search),
                   ("GET", r"/conversations/deleted", "read_conversations", self._deleted),
                   ("GET", r"/conversations/(\d+)", "read_conversations", self._conversation)]
        for method, pattern, scope, handler in guarded:
            self.route(method, pattern, self._guard(scope, handler))
        for method in ("GET", "POST", "PUT", "DELETE"):
            self.route(method, r".*", self._guard(None, lambda req: self._error(404, "not_found", "Resource Not Found")))

    # --- the checks every request passes -------------------------------------------------------

    def consume(self, n: int) -> None:
        """Spend ``n`` requests of the current window, as another integration on the app would."""
        with self._lock:
            self._roll(self.clock())
            self._used = min(self._used + n, math.ceil(self.rate_limit / 6))

    def _roll(self, now: float) -> None:
        window = int(now // 10 * 10)
        if window != self._window:
            self._window, self._used = window, 0

    def _error(self, status: int, code: str, message: str, **headers: str) -> Response:
        rid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"intercom-fake/{next(self._request_ids)}"))
        return Response.json({"type": "error.list", "request_id": rid,
                              "errors": [{"code": code, "message": message}]}, status, **headers)

    def _guard(self, scope: str | None, handler: Callable[[Request], Response]) -> Callable[[Request], Response]:
        def guarded(req: Request) -> Response:
            auth = req.headers.get("authorization", "")
            scheme, _, given = auth.partition(" ")
            if scheme.lower() != "bearer" or given.strip() != self.token or (
                    self.token_valid_until is not None and req.at >= self.token_valid_until):
                return self._error(401, "unauthorized", "Access Token Invalid")
            limit = math.ceil(self.rate_limit / 6)
            with self._lock:
                self._roll(req.at)
                over = self._used >= limit
                self._used = min(self._used + 1, limit)
                rate = {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(limit - self._used),
                        "X-RateLimit-Reset": str(self._window + 10)}
            if over:
                reply = self._error(429, "rate_limit_exceeded", f"Exceeded rate limit of {limit} in 10_seconds")
            else:
                reply = self._checked(req, scope, handler)
            reply.headers.update(rate)
            return reply
        return guarded

    def _checked(self, req: Request, scope: str | None, handler: Callable[[Request], Response]) -> Response:
        version = req.headers.get("intercom-version")
        if version is None and not self.require_version:
            version = self.default_version
        if version not in VERSIONS:
            return self._error(400, "intercom_version_invalid", "The requested version could not be found")
        accept = req.headers.get("accept", "")
        if not any(kind in accept for kind in ("application/json", "*/*", "application/*")):
            return self._error(406, "not_acceptable", "The Accept header must allow application/json")
        if self.plan_restricted:
            return self._error(403, "api_plan_restricted", "Active subscription needed.")
        if scope is not None and scope not in self.scopes:
            return self._error(403, "forbidden", f"You do not have the required scope ({scope}) to access this resource")
        return handler(replace(req, headers={**req.headers, "intercom-version": version}))

    @staticmethod
    def _version_at_least(req: Request, minor: int) -> bool:
        version = req.headers["intercom-version"]
        return version == "Unstable" or (version.startswith("2.") and int(version[2:]) >= minor)

    # --- admins and teams ----------------------------------------------------------------------

    def _roster(self) -> list[Person]:
        return self.scenario.roster()  # removed teammates and customers are not admins

    def _admin_doc(self, p: Person, with_avatar: bool) -> dict[str, Any]:
        doc: dict[str, Any] = {"type": "admin", "id": p.id, "name": p.name, "email": f"agent{p.id}@chalkwall.example",
                               "job_title": "Support", "away_mode_enabled": False, "away_mode_reassign": False,
                               "away_status_reason_id": None, "has_inbox_seat": True, "team_ids": [int(p.team)]}
        if with_avatar:
            doc["avatar"] = {"type": "avatar", "image_url": p.avatar} if self.avatar == "object" else p.avatar
        return doc

    def _me(self, req: Request) -> Response:
        roster = self._roster()
        me = next((p for p in roster if p.role == "admin"), roster[0])
        doc = self._admin_doc(me, True) | {"email_verified": True, "app": {
            "type": "app", "id_code": "chalkwallfake", "name": "chalkwall fake workspace",
            "created_at": int(self.scenario.day_start()) - 86400 * 400, "secure": False,
            "identity_verification": False, "timezone": self.scenario.tz, "region": self.region}}
        return Response.json(doc)

    def _admins(self, req: Request) -> Response:
        with_avatar = (req.arg("display_avatar") or "").lower() == "true"
        return Response.json({"type": "admin.list", "admins": [self._admin_doc(p, with_avatar) for p in self._roster()]})

    def _admin(self, req: Request) -> Response:
        wanted = req.path.rsplit("/", 1)[1]
        for p in self._roster():
            if p.id == wanted:
                return Response.json(self._admin_doc(p, True))
        return self._error(404, "admin_not_found", "Admin not found")

    def _team_doc(self, team_id: str) -> dict[str, Any] | None:
        team = next((t for t in self.scenario.teams if t.id == team_id), None)
        if team is None:
            return None
        return {"type": "team", "id": team.id, "name": team.name,
                "admin_ids": [int(p.id) for p in self._roster() if p.team == team.id]}

    def _teams(self, req: Request) -> Response:
        return Response.json({"type": "team.list", "teams": [self._team_doc(t.id) for t in self.scenario.teams]})

    def _team(self, req: Request) -> Response:
        doc = self._team_doc(req.path.rsplit("/", 1)[1])
        return Response.json(doc) if doc else self._error(404, "team_not_found", "Team not found")

    # --- conversations -------------------------------------------------------------------------

    def _index(self, at: float) -> list[tuple[int, str, dict[str, Any], dict[str, Any]]]:
        """Every conversation as of ``at``, in the search order: (sort key, id, doc, search values).
        The last answer is kept, as the clock stands still between the pages of most tests."""
        with self._lock:
            if self._cached is not None and self._cached[0] == at:
                return self._cached[1]
        docs = [self._conversation_doc(t) for t in self.scenario.tickets(at).values() if t.status != "deleted"]
        rows = sorted(((self._key(d["id"]), d["id"], d, self._values(d)) for d in docs), key=lambda r: (r[0], r[1]))
        with self._lock:
            self._cached = (at, rows)
        return rows

    def _conversation_doc(self, t: TicketState) -> dict[str, Any]:
        h = t.history
        solves = [s.at for s in h if s.kind == "solve"]
        assigns = [s.at for s in h if s.kind == "assign"]
        replies = [s.at for s in h if s.kind == "reply"]
        contact = hashlib.sha1(f"contact/{t.id}".encode()).hexdigest()[:24]
        first_reply = int(t.first_reply_at) if t.first_reply_at is not None else None
        stats = {"type": "conversation_statistics", "time_to_assignment": None,
                 "time_to_admin_reply": first_reply - int(t.created_at) if first_reply is not None else None,
                 "time_to_first_close": int(solves[0] - t.created_at) if solves else None,
                 "time_to_last_close": int(solves[-1] - t.created_at) if solves else None,
                 "median_time_to_reply": None, "first_contact_reply_at": int(t.created_at),
                 "first_assignment_at": int(assigns[0]) if assigns else None,
                 "first_admin_reply_at": first_reply,
                 "first_close_at": int(solves[0]) if solves else None,
                 "last_assignment_at": int(assigns[-1]) if assigns else None,
                 "last_assignment_admin_reply_at": None, "last_contact_reply_at": int(t.created_at),
                 "last_admin_reply_at": int(replies[-1]) if replies else None,
                 "last_close_at": int(t.solved_at) if t.solved_at is not None else None,
                 "last_closed_by_id": t.closed_by if t.solved_at is not None else None,
                 "count_reopens": t.reopens, "count_assignments": len(assigns), "count_conversation_parts": len(h),
                 "handling_time": None, "adjusted_handling_time": None}
        rating = None
        if t.rating is not None and t.rating_at is not None:
            asked = max((s for s in solves if s <= t.rating_at), default=t.rating_at)
            rating = {"rating": SCORES[t.rating][t.id % 2], "remark": t.comment,
                      "created_at": int(asked if self.rating_created_at == "requested" else t.rating_at),
                      "updated_at": int(t.rating_at),
                      "contact": {"type": "contact", "id": contact, "external_id": None},
                      "teammate": {"type": "admin", "id": t.rated_agent} if t.rated_agent else None}
        updated = t.updated_at if self.rating_bumps_updated_at else max(s.at for s in h if s.kind != "rate")
        closed = t.status in ("solved", "closed")
        mates = sorted({s.agent for s in h if s.agent and s.kind in ("assign", "reply", "solve")})
        return {
            "type": "conversation", "id": str(t.id), "title": None, "created_at": int(t.created_at),
            "updated_at": int(updated), "waiting_since": None if replies else int(t.created_at),
            "snoozed_until": None,
            "source": {"type": "conversation", "id": str(t.id * 7 + 3), "delivered_as": "customer_initiated",
                       "subject": "", "body": f"<p>Ärende {t.id}</p>",
                       "author": {"type": "user", "id": contact, "name": "Some Customer",
                                  "email": f"customer{t.id}@example.com"},
                       "attachments": [], "url": None, "redacted": False},
            "contacts": {"type": "contact.list", "contacts": [{"type": "contact", "id": contact, "external_id": None}]},
            "first_contact_reply": {"created_at": int(t.created_at), "type": "conversation", "url": None},
            "admin_assignee_id": int(t.assignee) if t.assignee else None,
            "team_assignee_id": (t.team if self.team_ids_as_strings else int(t.team)) if t.team else None,
            "open": not closed, "state": "closed" if closed else "open", "read": True,
            "tags": {"type": "tag.list", "tags": []}, "priority": "not_priority", "sla_applied": None,
            "statistics": stats, "conversation_rating": rating,
            "teammates": {"type": "admin.list", "admins": [{"type": "admin", "id": m} for m in mates]},
            "custom_attributes": {}, "topics": {}, "ticket": None,
            "linked_objects": {"type": "list", "data": [], "total_count": 0, "has_more": False},
            "ai_agent": None, "ai_agent_participated": False}

    def _served(self, doc: dict[str, Any], req: Request) -> dict[str, Any]:
        rating = doc["conversation_rating"]
        if rating is not None and not self._version_at_least(req, 14):
            doc = doc | {"conversation_rating": {k: v for k, v in rating.items() if k != "updated_at"}}
        return doc

    def _conversation(self, req: Request) -> Response:
        wanted = str(int(req.path.rsplit("/", 1)[1]))
        doc = next((row[2] for row in self._index(req.at) if row[1] == wanted), None)
        return Response.json(self._served(doc, req)) if doc else self._error(404, "not_found", "Resource Not Found")

    def _deleted(self, req: Request) -> Response:
        if not self._version_at_least(req, 16):  # in the reference from 2.16 (and Unstable) on
            return self._error(400, "intercom_version_invalid", "Requested resource is not available in current API version.")
        gone = [(s.at, s.ticket) for s in self.scenario.steps if s.kind == "delete" and s.at < req.at]
        gone.sort(reverse=(req.arg("order") or "desc") != "asc")
        try:
            page, per_page = int(req.arg("page") or 1), int(req.arg("per_page") or 20)
        except ValueError:
            return self._error(400, "parameter_invalid", "page and per_page must be integers")
        if not 1 <= per_page <= 60 or page < 1:
            return self._error(400, "parameter_invalid", "per_page must be between 1 and 60")
        chunk = gone[(page - 1) * per_page: page * per_page]
        total_pages = math.ceil(len(gone) / per_page)
        host = req.headers.get("host", "api.intercom.io")
        pages: dict[str, Any] = {"type": "pages", "page": page, "per_page": per_page, "total_pages": total_pages}
        if page < total_pages:
            pages["next"] = f"http://{host}/conversations/deleted?per_page={per_page}&order={req.arg('order') or 'desc'}&page={page + 1}"
        return Response.json({"type": "conversations.list", "total_count": len(gone), "pages": pages,
                              "conversations": [{"type": "conversation", "id": str(tid), "metrics_retained": False,
                                                 "deleted_at": int(at)} for at, tid in chunk]})

    # --- search --------------------------------------------------------------------------------

    def _search(self, req: Request) -> Response:
        if not self._version_at_least(req, 0):
            return self._error(400, "intercom_version_invalid", "Requested resource is not available in current API version.")
        try:
            body = req.json()
        except ValueError:
            return self._error(400, "parameter_invalid", "The request body is not valid JSON")
        try:
            if not isinstance(body, dict) or not isinstance(body.get("query"), dict):
                raise QueryError("parameter_not_found", "query parameter is required")
            pred = self._compile(body["query"], 0)
            paging = body.get("pagination") or {}
            per_page = paging.get("per_page", 20) if isinstance(paging, dict) else None
            if not isinstance(per_page, int) or isinstance(per_page, bool) or not 1 <= per_page <= 150:
                raise QueryError("parameter_invalid", "per_page must be an integer between 1 and 150")
            after = self._decode(paging.get("starting_after"), req.at)
        except QueryError as exc:
            return self._error(400, exc.code, str(exc))
        size = min(per_page, self.max_page)
        hits = [row for row in self._index(req.at - self.index_lag) if pred(row[3])]
        rest = [h for h in hits if after is None or (h[0], h[1]) > (after[0], after[1])]
        page_no = after[2] + 1 if after else 1
        chunk = rest[:size]
        pages: dict[str, Any] = {"type": "pages", "page": page_no, "per_page": size,
                                 "total_pages": math.ceil(len(hits) / size)}
        if len(rest) > size:
            last = chunk[-1]
            pages["next"] = {"page": page_no + 1, "starting_after": self._encode(last[0], last[1], page_no, req.at)}
        return Response.json({"type": "conversation.list", "pages": pages, "total_count": len(hits),
                              "conversations": [self._served(h[2], req) for h in chunk]})

    def _key(self, conversation_id: str) -> int:
        return int(hashlib.sha256(f"{self.seed}:{conversation_id}".encode()).hexdigest()[:12], 16)

    @staticmethod
    def _encode(key: int, conversation_id: str, page: int, at: float) -> str:
        return base64.b64encode(json.dumps([key, int(conversation_id), page, int(at)]).encode()).decode()

    def _decode(self, cursor: Any, now: float) -> tuple[int, str, int] | None:
        if cursor is None:
            return None
        try:
            key, cid, page, issued = json.loads(base64.b64decode(str(cursor), validate=True))
            parsed = (int(key), str(int(cid)), int(page))
        except (ValueError, TypeError):
            raise QueryError("parameter_invalid", "starting_after is not a valid cursor") from None
        if self.cursor_ttl is not None and now - issued > self.cursor_ttl:
            raise QueryError("parameter_invalid", "starting_after has expired; start the search again")
        return parsed

    @staticmethod
    def _values(doc: dict[str, Any]) -> dict[str, Any]:
        rating = doc["conversation_rating"] or {}
        src = doc["source"]
        vals: dict[str, Any] = {k: doc[k] for k in ("id", "created_at", "updated_at", "waiting_since", "snoozed_until",
                                                    "admin_assignee_id", "team_assignee_id", "open", "read", "state",
                                                    "priority", "ai_agent_participated")}
        team = doc["team_assignee_id"]
        vals["team_assignee_id"] = int(team) if team is not None else None  # an integer field, however served
        vals |= {f"statistics.{k}": v for k, v in doc["statistics"].items()}
        vals |= {f"source.{k}": src.get(k) for k in ("type", "id", "delivered_as", "subject", "body", "url")}
        vals |= {f"source.author.{k}": v for k, v in src["author"].items()}
        vals |= {"contact_ids": [c["id"] for c in doc["contacts"]["contacts"]],
                 "teammate_ids": [m["id"] for m in doc["teammates"]["admins"]], "tag_ids": [],
                 "channel_initiated": "customer",
                 "conversation_rating.requested_at": rating.get("created_at"),
                 "conversation_rating.replied_at": rating.get("updated_at"),
                 "conversation_rating.score": rating.get("rating"), "conversation_rating.remark": rating.get("remark"),
                 "conversation_rating.contact_id": (rating.get("contact") or {}).get("id"),
                 "conversation_rating.admin_d": (rating.get("teammate") or {}).get("id")}
        return vals

    def _compile(self, node: dict[str, Any], depth: int) -> Pred:
        if "field" in node:
            return self._filter(node)
        op, items = node.get("operator"), node.get("value")
        if op not in ("AND", "OR"):
            raise QueryError("invalid_operator", "Composite operators must be of type AND or OR ")
        if depth >= 2:
            raise QueryError("parameter_invalid", "There's a limit of max 2 nested filters")
        if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
            raise QueryError("parameter_invalid", f"{op} needs a list of filters as its value")
        if len(items) > 15:
            raise QueryError("parameter_invalid", "There's a limit of max 15 filters for each AND or OR group")
        parts = [self._compile(i, depth + 1) for i in items]
        if op == "AND":
            return lambda v: all(p(v) for p in parts)
        return lambda v: any(p(v) for p in parts)

    def _filter(self, node: dict[str, Any]) -> Pred:
        field, op, raw = node.get("field"), node.get("operator"), node.get("value")
        kind = FIELDS.get(field) if isinstance(field, str) else None
        if kind is None:
            raise QueryError("invalid_field", f"{field} is not a valid search field for conversations")
        if op not in OPERATORS or (op in (">", "<") and kind not in (DATE, INTEGER)) or (
                op in ("~", "!~", "^", "$") and kind != STRING):
            raise QueryError("invalid_operator", f"Operator {op} is not supported for {field}")
        if op in ("IN", "NIN"):
            if not isinstance(raw, list):
                raise QueryError("parameter_invalid", f"{op} needs an array value")
            wanted = [self._coerce(field, kind, x) for x in raw]
        else:
            wanted = [self._coerce(field, kind, raw)]
        value, inclusive = wanted[0] if wanted else None, self.inclusive_range

        def test(vals: dict[str, Any]) -> bool:
            have = vals.get(field)
            seq = have if isinstance(have, list) else [have]
            if op in ("=", "IN"):
                return any(h in wanted for h in seq)
            if op in ("!=", "NIN"):
                return not any(h in wanted for h in seq)
            if have is None or value is None:
                return False
            if op == ">":
                return have >= value if inclusive else have > value
            if op == "<":
                return have <= value if inclusive else have < value
            text, part = str(have).lower(), str(value).lower()
            return {"~": part in text, "!~": part not in text, "^": text.startswith(part), "$": text.endswith(part)}[op]
        return test

    @staticmethod
    def _coerce(field: str, kind: str, raw: Any) -> Any:
        if raw is None:
            return None
        if kind in (DATE, INTEGER):
            if isinstance(raw, int) and not isinstance(raw, bool):
                return raw
            if isinstance(raw, str) and raw.lstrip("-").isdigit():
                return int(raw)
        elif kind == BOOLEAN:
            if isinstance(raw, bool):
                return raw
            if raw in ("true", "false"):
                return raw == "true"
        elif isinstance(raw, (str, int)) and not isinstance(raw, bool):
            return str(raw)
        raise QueryError("type_mismatch", f"{field} expects a {kind} value, not {raw!r}")
