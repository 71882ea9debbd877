"""A fake Help Scout Inbox (Mailbox) API 2.0, written from Help Scout's developer documentation, that
serves a :class:`Scenario` as of the injected clock (nothing at or after ``clock()`` is visible).

Routes (all JSON; lists are HAL: ``_embedded.<name>``, ``page{size,totalElements,totalPages,number}``
and ``_links`` self/first/last/page(templated)/next/previous with absolute hrefs, ``?page=N`` 1-based):

- ``POST /v2/oauth2/token``: client credentials (form, JSON or query params: ``grant_type=
  client_credentials``, ``client_id``, ``client_secret``) -> ``{token_type:"bearer", access_token,
  expires_in}``. Wrong id/secret -> 401 ``{"error":"invalid_client",...}``; another grant -> 400.
- ``GET /v2/users`` (``email`` exact filter), ``GET /v2/users/me`` (the app's owner),
  ``GET /v2/users/{id}``: id (int), firstName, lastName, email, role (owner/admin/user), timezone,
  photoUrl (left out when the user has none), createdAt, updatedAt, type "user", mention, initials.
- ``GET /v2/teams`` (id, name, timezone, mention, initials, createdAt, updatedAt,
  ``_links.teamMembers``) and ``GET /v2/teams/{id}/members`` (``_embedded.users``).
- ``GET /v2/reports/company?start=..Z&end=..Z[&previousStart=..Z&previousEnd=..Z]``: filterTags,
  current{startDate,endDate,customersHelped,closed,totalReplies,totalUsers,totalDays,
  repliesPerDayPerUser,repliesPerDay,resolvedPerDay}, previous and deltas (percent change) when a
  previous range is given (else no ``previous`` and ``deltas: {}``), users[]{user (string id), name,
  replies, customersHelped, closed, happinessScore, handleTime, previous*}.
- ``GET /v2/reports/user?user={user or team id}&start&end[&officeHours=true|false]``: user{id,name,
  hasPhoto,photoUrl,createdAt,totalCustomersHelped} and current{resolved, closed, totalReplies,
  customersHelped, happinessScore, ...}; a team id sums its current members.

Report numbers for ``[start, min(end, now - report_lag))``: ``closed`` = conversations whose latest
close (the scenario's solve) is in the window and that are closed now, for the user who closed them
(``closed_by``, so a reassignment after the close does not move it); ``replies``/``customersHelped``
= reply threads / distinct conversations replied to; ``happinessScore`` = Great % - Not Good % over
the ratings given in the window to that user (good = Great, neutral = Okay, bad = Not Good), 0 when
unrated. Deleted conversations count nowhere. Only users with activity in the window are listed.

Budgets: the base's request log (``calls(path)``) has every request, token requests included.

Auth: ``Authorization: Bearer <token from /v2/oauth2/token>`` on every other route; missing, unknown,
revoked (:meth:`HelpScoutFake.expire_tokens`) or expired tokens get 401. Defaults: ``CLIENT_ID``,
``CLIENT_SECRET``. Every /v2 answer carries ``X-RateLimit-Limit-Minute`` and
``X-RateLimit-Remaining-Minute``; over the limit, 429 with ``X-RateLimit-Retry-After`` (seconds) and
no ``Retry-After`` (body ``{"message": "API rate limit exceeded"}``). Errors (400/401/403/404) use
Help Scout's envelope ``{logRef, message, _embedded.errors[{path, message, rejectedValue, source,
_links.about}], _links.about}`` (content type application/vnd.error+json).

Knobs (keyword arguments): ``client_id``/``client_secret``; ``token_lifetime`` (s, default 172800);
``plan`` ("standard" -> 403 on every /v2/reports route, limit 200/min; "plus" 400; "pro" 800);
``rate_limit`` (requests per clock minute, overrides the plan's; writes cost 2); ``reports_permission``
(False = the token's user lacks "Reports: View reports" -> 403); ``max_page`` (page size, Help Scout's is
50); ``report_lag`` (s before an event shows in reports); ``round_happiness`` (decimals, default 2, as
``Scenario.expected``; None serves the raw double as Help Scout's examples show); ``report_all_users``
(list every user in users[], even without activity); ``deleted_in_reports`` (default True: a deleted
user's work stays in reports, as Help Scout's help centre says, while /v2/users no longer lists them).

How the scenario maps: agent -> role "user", the first admin -> "owner", other admins -> "admin";
an inactive person is a deleted user (Help Scout has no deactivation); an end-user is a customer, not
a user, so appears nowhere (also not in reports, though the scenario has them solve one ticket).

Unverified (picked the likeliest shape; connectors must fail loudly if they differ):
- ``closed`` in company ``users[]``: the v2 doc example leaves it out, a Ruby client reads it.
- users[] lists only users with activity; ``totalDays`` = whole days in the range, at least 1;
  ``resolvedPerDay`` counts closed conversations with a user reply; ``handleTime`` is always 0.
- ``end`` is exclusive (the docs' examples end at 23:59:59, which hints it may be inclusive).
- whether the token endpoint counts against the rate limit (here: no) and its error bodies (OAuth2
  RFC 6749 shape here); the 401/403/429 bodies and the ``source`` value for query parameters.
- that a Standard plan's 403 on reports says "Access denied" (the errors page lists it for Reports).
- report data lag (none by default) and the order of users[] (by id here).
- ``happinessScore`` rounded to 2 decimals by default, as the brief and ``Scenario.expected`` want;
  Help Scout's examples show unrounded doubles (66.66666666666666), hence ``round_happiness``.
- 0 for an unrated user (the brief's rule): the report cannot tell "nobody rated" from Great = Not Good.
"""

from __future__ import annotations

import math
import re
import secrets
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode

from fakes.base import FakeAPI, Request, Response, iso, parse_iso
from fakes.scenario import Person, Scenario

HAL = "application/hal+json;charset=UTF-8"
ERRORS = "http://developer.helpscout.net/mailbox-api/overview/errors"
ISO_Z = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
PLAN_LIMITS = {"standard": 200, "plus": 400, "pro": 800}


class HelpScoutError(Exception):
    """Raised inside a handler; becomes Help Scout's error envelope."""

    def __init__(self, status: int, message: str, path: str = "", detail: str = "", value: str | None = None,
                 code: str = "") -> None:
        super().__init__(message)
        self.status, self.message, self.path, self.detail, self.value, self.code = \
            status, message, path, detail, value, code

    def response(self) -> Response:
        doc: dict[str, Any] = {"logRef": f"{uuid.uuid4()}#1", "message": self.message,
                               "_links": {"about": {"href": ERRORS}}}
        if self.detail:
            err: dict[str, Any] = {"path": self.path, "message": self.detail, "source": "PARAMETER",
                                   "_links": {"about": {"href": f"{ERRORS}#{self.code}"}}}
            if self.value is not None:
                err["rejectedValue"] = self.value
            doc["_embedded"] = {"errors": [err]}
        return Response.json(doc, self.status, **{"Content-Type": "application/vnd.error+json;charset=UTF-8"})


@dataclass
class _Window:
    """One report range's counts, per user id (a string)."""

    replies: dict[str, int] = field(default_factory=dict)
    helped: dict[str, set[int]] = field(default_factory=dict)
    closed: dict[str, int] = field(default_factory=dict)
    ratings: dict[str, list[str]] = field(default_factory=dict)
    resolved: int = 0

    def active(self) -> set[str]:
        return set(self.replies) | set(self.closed) | set(self.ratings)


class HelpScoutFake(FakeAPI):
    CLIENT_ID = "chalkwall-app-id"
    CLIENT_SECRET = "chalkwall-app-secret-0123456789"

    def __init__(self, scenario: Scenario, clock: Callable[[], float], *, client_id: str = CLIENT_ID,
                 client_secret: str = CLIENT_SECRET, token_lifetime: int = 172800, plan: str = "plus",
                 rate_limit: int | None = None, reports_permission: bool = True, max_page: int = 50,
                 report_lag: float = 0.0, round_happiness: int | None = 2, report_all_users: bool = False,
                 deleted_in_reports: bool = True) -> None:
        super().__init__(clock)
        if plan not in PLAN_LIMITS:
            raise ValueError(f"plan must be one of {sorted(PLAN_LIMITS)}")
        self.scenario = scenario
        self.client_id, self.client_secret = client_id, client_secret
        self.token_lifetime, self.plan = token_lifetime, plan
        self.rate_limit = rate_limit if rate_limit is not None else PLAN_LIMITS[plan]
        self.reports_permission, self.max_page, self.report_lag = reports_permission, max_page, report_lag
        self.round_happiness, self.report_all_users = round_happiness, report_all_users
        self.deleted_in_reports = deleted_in_reports
        self.tokens: dict[str, float] = {}  # access token -> expiry (fake clock)
        self._window_used: tuple[int, int] = (-1, 0)  # (clock minute, cost used in it)
        self._created = scenario.day_start() - 400 * 86400
        self.route("POST", r"/v2/oauth2/token", self._token)
        self.route("GET", r"/v2/users", self._users)
        self.route("GET", r"/v2/users/me", lambda req: self._one_user(self._owner()))
        self.route("GET", r"/v2/users/(\d+)", self._user)
        self.route("GET", r"/v2/teams", self._teams)
        self.route("GET", r"/v2/teams/(\d+)/members", self._members)
        self.route("GET", r"/v2/reports/company", self._company)
        self.route("GET", r"/v2/reports/user", self._user_report)
        for method in ("GET", "POST", "PUT", "DELETE"):
            self.route(method, r".*", self._not_found)

    def route(self, method: str, pattern: str, handler: Callable[[Request], Response]) -> None:
        """As the base's, but a :class:`HelpScoutError` a handler raises becomes its error envelope."""
        def guarded(req: Request) -> Response:
            try:
                return handler(req)
            except HelpScoutError as exc:
                return exc.response()
        super().route(method, pattern, guarded)

    def _not_found(self, req: Request) -> Response:
        raise HelpScoutError(404, "Not found", "", f"The resource was not found: '{req.path}'", None, "NotFound")

    def start(self) -> HelpScoutFake:
        # serve_forever polls for shutdown every 0.5 s by default, which made every stop() cost that.
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02},
                                        daemon=True)
        super().start()
        return self

    # -- the plumbing every request goes through -------------------------------------------------

    def dispatch(self, req: Request) -> Response:
        if req.path == "/v2/oauth2/token":
            return super().dispatch(req)
        minute = int(req.at // 60)
        with self._lock:
            used = self._window_used[1] if self._window_used[0] == minute else 0
            cost = 1 if req.method == "GET" else 2
            limited = used + cost > self.rate_limit
            if not limited:
                used += cost
            self._window_used = (minute, used)
        rate = {"X-RateLimit-Limit-Minute": str(self.rate_limit),
                "X-RateLimit-Remaining-Minute": str(max(0, self.rate_limit - used))}
        if limited:
            wait = max(1, math.ceil((minute + 1) * 60 - req.at))
            return Response.json({"message": "API rate limit exceeded"}, 429,
                                 **rate, **{"X-RateLimit-Retry-After": str(wait)})
        try:
            self._authenticate(req)
            if req.path.startswith("/v2/reports/") and (self.plan == "standard" or not self.reports_permission):
                why = ("Reports are only available on the Plus and Pro plans" if self.plan == "standard"
                       else "The user does not have the Reports: View reports permission")
                raise HelpScoutError(403, "Access denied", "", why, None, "AccessDenied")
            reply = super().dispatch(req)
        except HelpScoutError as exc:
            reply = exc.response()
        reply.headers.update(rate)
        return reply

    def _authenticate(self, req: Request) -> None:
        header = req.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        expiry = self.tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        if expiry is None or req.at >= expiry:
            raise HelpScoutError(401, "Unauthorized", "Authorization",
                                 "Full authentication is required to access this resource" if not header
                                 else "Invalid or expired access token", None, "Unauthorized")

    def expire_tokens(self) -> None:
        """Every token issued so far stops working (the next call with one gets 401)."""
        with self._lock:
            self.tokens.clear()

    def _token(self, req: Request) -> Response:
        args = {k: v[-1] for k, v in req.query.items()}
        ctype = req.headers.get("content-type", "")
        if "json" in ctype:
            try:
                body = req.json()
            except ValueError:
                return Response.json({"error": "invalid_request", "error_description": "Malformed JSON"}, 400)
            args.update({k: str(v) for k, v in body.items()} if isinstance(body, dict) else {})
        elif req.body:
            args.update({k: v[-1] for k, v in parse_qs(req.body.decode(errors="replace")).items()})
        if args.get("grant_type") != "client_credentials":
            return Response.json({"error": "unsupported_grant_type",
                                  "error_description": "Unsupported grant type"}, 400)
        if not secrets.compare_digest(args.get("client_id", ""), self.client_id) or \
                not secrets.compare_digest(args.get("client_secret", ""), self.client_secret):
            return Response.json({"error": "invalid_client", "error_description": "Bad client credentials"}, 401)
        token = secrets.token_hex(16)
        with self._lock:
            self.tokens[token] = req.at + self.token_lifetime
        return Response.json({"token_type": "bearer", "access_token": token, "expires_in": self.token_lifetime})

    # -- users and teams ---------------------------------------------------------------------

    def users(self) -> list[Person]:
        """Who Help Scout lists: the scenario's agents and admins that are not deleted."""
        return [p for p in self.scenario.people if p.role in ("agent", "admin") and p.active]

    def _owner(self) -> Person:
        return next(p for p in self.users() if p.role == "admin")

    def _user_doc(self, p: Person) -> dict[str, Any]:
        role = "owner" if p is self._owner() else "admin" if p.role == "admin" else "user"
        doc: dict[str, Any] = {
            "id": int(p.id), "firstName": p.first, "lastName": p.last, "email": f"user{p.id}@example.com",
            "role": role, "timezone": self.scenario.tz, "createdAt": iso(self._created),
            "updatedAt": iso(self._created), "type": "user", "mention": p.first.lower(),
            "initials": (p.first[:1] + p.last[:1]).upper(), "alternateEmails": [],
            "_links": {"self": {"href": f"{self.base_url}/v2/users/{p.id}"}}}
        if p.avatar:
            doc["photoUrl"] = p.avatar
        return doc

    def _one_user(self, p: Person) -> Response:
        return Response.json(self._user_doc(p), **{"Content-Type": HAL})

    def _user(self, req: Request) -> Response:
        uid = req.path.rsplit("/", 1)[1]
        p = next((p for p in self.users() if p.id == uid), None)
        if p is None:
            raise HelpScoutError(404, "Not found", "id", f"User {uid} not found", uid, "NotFound")
        return self._one_user(p)

    def _users(self, req: Request) -> Response:
        people = self.users()
        email = req.arg("email")
        if email:
            people = [p for p in people if self._user_doc(p)["email"] == email]
        return self._page(req, "users", [self._user_doc(p) for p in people])

    def _team_doc(self, team_id: str, name: str) -> dict[str, Any]:
        return {"id": int(team_id), "name": name, "timezone": self.scenario.tz,
                "mention": re.sub(r"\W+", "-", name.lower()).strip("-"),
                "initials": "".join(w[:1] for w in name.split()[:2]).upper(),
                "createdAt": iso(self._created), "updatedAt": iso(self._created),
                "_links": {"self": {"href": f"{self.base_url}/v2/teams/{team_id}"},
                           "teamMembers": {"href": f"{self.base_url}/v2/teams/{team_id}/members"}}}

    def _teams(self, req: Request) -> Response:
        return self._page(req, "teams", [self._team_doc(t.id, t.name) for t in self.scenario.teams])

    def _members(self, req: Request) -> Response:
        team_id = req.path.split("/")[3]
        if not any(t.id == team_id for t in self.scenario.teams):
            raise HelpScoutError(404, "Not found", "id", f"Team {team_id} not found", team_id, "NotFound")
        return self._page(req, "users", [self._user_doc(p) for p in self.users() if p.team == team_id])

    def _page(self, req: Request, key: str, items: list[dict[str, Any]]) -> Response:
        raw = req.arg("page", "1") or "1"
        if not raw.isdigit() or int(raw) < 1:
            raise HelpScoutError(400, "Bad request", "page", "must be greater than or equal to 1", raw,
                                 "InvalidNumber")
        number, size = int(raw), self.max_page
        pages = max(1, math.ceil(len(items) / size))
        chunk = items[(number - 1) * size: number * size]
        url = f"{self.base_url}{req.path}"
        rest = {k: v[-1] for k, v in sorted(req.query.items()) if k != "page"}
        extra = f"&{urlencode(rest)}" if rest else ""
        links: dict[str, Any] = {"self": {"href": f"{url}?page={number}{extra}"},
                                 "first": {"href": f"{url}?page=1{extra}"},
                                 "last": {"href": f"{url}?page={pages}{extra}"},
                                 "page": {"href": f"{url}{{?page}}", "templated": True}}
        if number < pages:
            links["next"] = {"href": f"{url}?page={number + 1}{extra}"}
        if number > 1:
            links["previous"] = {"href": f"{url}?page={min(number - 1, pages)}{extra}"}
        doc: dict[str, Any] = {"_links": links,
                               "page": {"size": size, "totalElements": len(items), "totalPages": pages,
                                        "number": number}}
        if chunk:  # Help Scout leaves _embedded out of an empty page
            doc["_embedded"] = {key: chunk}
        return Response.json(doc, **{"Content-Type": HAL})

    # -- reports -----------------------------------------------------------------------------

    def _range(self, req: Request, start_key: str, end_key: str, required: bool) -> tuple[float, float] | None:
        values = {k: req.arg(k) for k in (start_key, end_key)}
        if not required and values[start_key] is None and values[end_key] is None:
            return None
        for key, value in values.items():
            if value is None:
                raise HelpScoutError(400, "Bad request", key, "may not be null", None, "NotNull")
            if not ISO_Z.fullmatch(value):
                raise HelpScoutError(400, "Bad request", key, "The value must be a valid ISO 8601 date with the "
                                     "format yyyy-MM-dd'T'HH:mm:ss'Z'", value, "MalformedDate")
        lo, hi = parse_iso(values[start_key] or ""), parse_iso(values[end_key] or "")
        if hi <= lo:
            raise HelpScoutError(400, "Bad request", end_key, f"must be after {start_key}", values[end_key],
                                 "InvalidDateRange")
        return lo, hi

    def _reporting_users(self) -> dict[str, Person]:
        return {p.id: p for p in self.scenario.people if p.role in ("agent", "admin")
                and (p.active or self.deleted_in_reports)}

    def _window(self, lo: float, hi: float) -> _Window:
        horizon = self.clock() - self.report_lag
        hi = min(hi, horizon)
        users = self._reporting_users()
        w = _Window()
        for t in self.scenario.tickets(horizon).values():
            if t.status == "deleted":
                continue
            repliers = {s.agent for s in t.history if s.kind == "reply" and s.agent in users}
            for s in t.history:
                if s.kind == "reply" and s.agent in users and lo <= s.at < hi:
                    w.replies[s.agent] = w.replies.get(s.agent, 0) + 1
                    w.helped.setdefault(s.agent, set()).add(t.id)
            if t.status in ("solved", "closed") and t.solved_at is not None and lo <= t.solved_at < hi \
                    and t.closed_by in users:
                w.closed[t.closed_by] = w.closed.get(t.closed_by, 0) + 1
                w.resolved += bool(repliers)
            if t.rating is not None and t.rating_at is not None and lo <= t.rating_at < hi \
                    and t.rated_agent in users:
                w.ratings.setdefault(t.rated_agent, []).append(t.rating)
        return w

    def _happiness(self, ratings: list[str]) -> float:
        if not ratings:
            return 0.0
        score = 100 * (ratings.count("good") - ratings.count("bad")) / len(ratings)
        return round(score, self.round_happiness) if self.round_happiness is not None else score

    def _totals(self, w: _Window, lo: float, hi: float, n_users: int) -> dict[str, Any]:
        days = max(1, int((hi - lo) // 86400))
        replies = sum(w.replies.values())
        helped = len(set().union(*w.helped.values())) if w.helped else 0
        return {"startDate": iso(lo), "endDate": iso(hi), "customersHelped": helped,
                "closed": sum(w.closed.values()), "totalReplies": replies, "totalUsers": n_users,
                "totalDays": days, "repliesPerDayPerUser": replies / days / n_users if n_users else 0.0,
                "repliesPerDay": replies / days, "resolvedPerDay": w.resolved / days}

    def _company(self, req: Request) -> Response:
        cur = self._range(req, "start", "end", True)
        assert cur is not None
        prev = self._range(req, "previousStart", "previousEnd", False)
        w = self._window(*cur)
        pw = self._window(*prev) if prev else None
        users = self._reporting_users()
        shown = set(users) if self.report_all_users else w.active() | (pw.active() if pw else set())
        rows: list[dict[str, Any]] = []
        for uid in sorted(shown, key=int):
            row: dict[str, Any] = {"user": uid, "name": users[uid].name, "replies": w.replies.get(uid, 0),
                                   "customersHelped": len(w.helped.get(uid, ())), "closed": w.closed.get(uid, 0),
                                   "happinessScore": self._happiness(w.ratings.get(uid, [])), "handleTime": 0.0}
            if pw is not None:
                row.update({"previousReplies": pw.replies.get(uid, 0),
                            "previousCustomersHelped": len(pw.helped.get(uid, ())),
                            "previousClosed": pw.closed.get(uid, 0),
                            "previousHappinessScore": self._happiness(pw.ratings.get(uid, [])),
                            "previousHandleTime": 0.0})
            rows.append(row)
        doc: dict[str, Any] = {"filterTags": [], "current": self._totals(w, *cur, len(rows)), "deltas": {},
                               "users": rows}
        if pw is not None and prev is not None:
            doc["previous"] = self._totals(pw, *prev, len(pw.active()))
            doc["deltas"] = {k: (100 * (doc["current"][k] - doc["previous"][k]) / doc["previous"][k]
                                 if doc["previous"][k] else 0.0)
                             for k in ("customersHelped", "totalReplies", "repliesPerDay", "closed", "totalUsers",
                                       "repliesPerDayPerUser")}
        return Response.json(doc)

    def _user_report(self, req: Request) -> Response:
        cur = self._range(req, "start", "end", True)
        assert cur is not None
        uid = req.arg("user") or ""
        if not uid:
            raise HelpScoutError(400, "Bad request", "user", "may not be null", None, "NotNull")
        if req.arg("officeHours") not in (None, "true", "false"):
            raise HelpScoutError(400, "Bad request", "officeHours", "must be true or false",
                                 req.arg("officeHours"), "EnumValue")
        users = self._reporting_users()
        team = next((t for t in self.scenario.teams if t.id == uid), None)
        if team is not None:
            ids, name, photo = [p.id for p in self.users() if p.team == uid], team.name, None
        elif uid in users:
            ids, name, photo = [uid], users[uid].name, users[uid].avatar
        else:
            raise HelpScoutError(404, "Not found", "user", f"User {uid} not found", uid, "NotFound")
        w = self._window(*cur)
        ratings = [r for i in ids for r in w.ratings.get(i, [])]
        days = max(1, int((cur[1] - cur[0]) // 86400))
        replies = sum(w.replies.get(i, 0) for i in ids)
        closed = sum(w.closed.get(i, 0) for i in ids)
        user: dict[str, Any] = {"id": int(uid), "hasPhoto": photo is not None, "createdAt": iso(self._created),
                                "name": name, "totalCustomersHelped": sum(len(w.helped.get(i, ())) for i in ids)}
        if photo:
            user["photoUrl"] = photo
        current = {"startDate": iso(cur[0]), "endDate": iso(cur[1]), "totalDays": days, "resolved": closed,
                   "closed": closed, "totalReplies": replies, "repliesPerDay": replies / days,
                   "customersHelped": user["totalCustomersHelped"], "happinessScore": self._happiness(ratings),
                   "handleTime": 0.0}
        return Response.json({"filterTags": [], "user": user, "current": current, "deltas": {}})
