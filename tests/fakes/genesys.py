"""A fake Genesys Cloud Platform API (voice), written from Genesys's own documentation and SDK
reference, serving the scenario's calls, people and teams as of the injected clock.

Routes (one server plays both the login host and the API host; point ``login_url`` and
``base_url`` at it):

- ``POST /oauth/token``: Basic ``client_id:client_secret``, form ``grant_type=client_credentials``
  (``application/x-www-form-urlencoded``) → ``{access_token, token_type: "bearer", expires_in}``.
  Wrong client → 401 ``{error: "invalid_client", description, error_description}``; another grant
  → 400 ``unsupported_grant_type``.
- ``POST /api/v2/analytics/conversations/aggregates/query`` (permission
  ``analytics:conversationAggregate:view``): body ``{interval: "start/end", metrics, groupBy?,
  filter?, granularity?, timeZone?}`` → ``{results: [{group: {dim: value}, data: [{interval,
  metrics: [{metric, stats: {max, min, count, sum}}]}]}]}`` (n-metrics: ``{count}``), ``{}`` when
  there is no data. Times are ms (ints). Each metric posts at the moment it completes (Genesys:
  "tHandle emits when the handling is done", n-metrics in real time): tHandle/tAcw at the call's
  end, tTalk/tTalkComplete/tHeld/tHeldComplete when the talk (talk + hold) ends, nConnected when it
  starts. Queue rows (nOffered,
  tAcd) have no userId, so a ``groupBy: ["userId"]`` answer holds a group without one. Results
  come in no fixed order.
- ``GET /api/v2/users`` (no permission): ``pageSize`` (25, capped at 500), ``pageNumber`` (1),
  ``state`` (active|inactive|deleted|any, default active), ``expand`` (``team`` adds ``team``),
  ``id`` (bulk), ``sortOrder``. Listing ``{entities, pageSize, pageNumber, total, pageCount,
  firstUri, selfUri, lastUri, nextUri?, previousUri?}``; the URIs are paths without a host.
  Customers are not Genesys users; a deactivated person is ``state: "inactive"``.
- ``GET /api/v2/teams`` and ``GET /api/v2/teams/{id}/members`` (``groups:team:view``):
  ``pageSize`` (25, capped at 100), opaque ``after`` cursors, ``{entities, nextUri?, selfUri}``.
  Work teams, not groups or queues, are the wallboard's grouping: a user is in at most one team
  (``User.team`` is singular, and the analytics ``teamId`` dimension follows it), while a user can
  be in many groups (directory/permissions) and many queues (routing). Ids are UUIDs; see
  :func:`team_uuid`.

Every /api/v2 answer carries ``ININ-Correlation-Id``; authenticated ones carry ``inin-ratelimit-allowed``,
``inin-ratelimit-count`` and ``inin-ratelimit-reset`` (seconds to the window's end). Errors use the
Genesys body ``{message, code, status, messageWithParams, messageParams, contextId, details,
errors}``: 400 ``bad.request``/``invalid.value``, 401 ``authentication.required``
(no bearer) or ``bad.credentials`` (unknown or expired token), 403 ``missing.any.permissions``, 404
``not.found``, 415 ``unsupported.media.type``, 429 ``too.many.requests.retry.after`` with
``Retry-After`` (the 2021 "normalized 429" announcement).

Knobs: ``client_id``/``client_secret`` (default :attr:`CLIENT_ID`/:attr:`CLIENT_SECRET`),
``token_lifetime`` (s, 86400; Genesys lets an admin pick 300-172800), ``permissions`` (default all
of :attr:`PERMISSIONS`), ``rate_limit`` (requests per token per 60-s window of the fake clock, 300),
``retry_after`` (False: 429s carry only the inin-ratelimit-* headers), ``max_page`` (caps every
page size), ``data_lag`` (s before a metric is visible), ``max_concurrent_queries`` and
``query_delay`` (real s an analytics query takes, to make concurrency observable), ``cursor_ttl``
(s before a teams cursor is refused with 400), ``deleted`` (person ids shown as ``state:
"deleted"``), ``queue_rows`` (False: no userId-less rows). :meth:`expire_tokens` ends every token.

Unverified (picked the most likely shape; a connector should fail loudly if wrong): the analytics
concurrency limit (none by default); the default token lifetime (one secondary source says 3600);
the exact 400 codes and messages for a bad interval, metric or dimension; ``{}`` for an empty
aggregate answer; userId-less rows in a userId grouping; the users sort order (by name); the
500/100 page caps (larger sizes are capped, not refused); expired tokens answering
``bad.credentials`` (not ``credentials.expired``); the oauth error body; the teams cursor format and
expiry; per-token (not per-client) rate windows; tTalk posting with tTalkComplete. Intervals with a
duration (``start/PT1H``) are refused here though Genesys may accept them; only groupBy userId,
mediaType, teamId, direction and purpose are simulated.
"""

from __future__ import annotations

import base64
import math
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, urlencode
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .base import FakeAPI, Request, Response
from .scenario import NAMESPACE, Call, Person, Scenario, vendor_id

AGG = "/api/v2/analytics/conversations/aggregates/query"
TIMERS = {"tHandle", "tTalk", "tTalkComplete", "tHeld", "tHeldComplete", "tAcw", "tAcd"}
COUNTERS = {"nConnected", "nOffered"}
# Real Genesys metric names the fake accepts but has no data for (so they never appear).
OTHER_METRICS = {"tAnswered", "tAlert", "tAbandon", "tWait", "tDialing", "tContacting", "tIvr",
                 "tFlowOut", "tNotResponding", "tUserResponseTime", "tAgentResponseTime", "tVoicemail",
                 "nTransferred", "nBlindTransferred", "nConsult", "nConsultTransferred", "nOutbound",
                 "nOutboundAttempted", "nOutboundConnected", "nOverSla", "nError", "oServiceLevel",
                 "oServiceTarget", "tMonitoring", "tParkComplete", "tShortAbandon"}
DIMENSIONS = ("userId", "mediaType", "teamId", "direction", "purpose")
DURATION = re.compile(r"P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?")


def team_uuid(team_id: str) -> str:
    """The UUID this fake gives a scenario team (Genesys ids are UUIDs)."""
    return str(uuid.uuid5(NAMESPACE, "team:" + team_id))


def ms_iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class GenesysError(Exception):
    def __init__(self, status: int, code: str, message: str, **params: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.params = status, code, message, params


class GenesysFake(FakeAPI):
    CLIENT_ID = "0f1e2d3c-4b5a-4697-8877-665544332211"
    CLIENT_SECRET = "chalkwall-genesys-secret-Zq8x"
    PERMISSIONS = frozenset({"analytics:conversationAggregate:view", "groups:team:view"})

    def __init__(self, scenario: Scenario, clock: Callable[[], float], *, client_id: str = CLIENT_ID,
                 client_secret: str = CLIENT_SECRET, token_lifetime: float = 86400,
                 permissions: Iterable[str] | None = None, rate_limit: int = 300, retry_after: bool = True,
                 max_page: int = 500, data_lag: float = 0.0, max_concurrent_queries: int | None = None,
                 query_delay: float = 0.0, cursor_ttl: float | None = None, deleted: Iterable[str] = (),
                 queue_rows: bool = True) -> None:
        super().__init__(clock)
        self.scenario = scenario
        self.client_id, self.client_secret = client_id, client_secret
        self.token_lifetime = token_lifetime
        self.permissions = frozenset(self.PERMISSIONS if permissions is None else permissions)
        self.rate_limit, self.retry_after, self.max_page = rate_limit, retry_after, max_page
        self.data_lag, self.cursor_ttl, self.queue_rows = data_lag, cursor_ttl, queue_rows
        self.max_concurrent_queries, self.query_delay = max_concurrent_queries, query_delay
        self.deleted = set(deleted)
        self.tokens: dict[str, float] = {}  # token -> expires at (fake clock)
        self.windows: dict[str, list[float]] = {}  # token -> [window start, count]
        self.in_flight = self.max_in_flight = 0
        self._state_lock = threading.Lock()
        self.route("POST", r"/oauth/token", self._token)
        self.route("POST", AGG, self._api(self._aggregates, "analytics:conversationAggregate:view"))
        self.route("GET", r"/api/v2/users", self._api(self._users, None))
        self.route("GET", r"/api/v2/teams", self._api(self._teams, "groups:team:view"))
        self.route("GET", r"/api/v2/teams/([^/]+)/members", self._api(self._members, "groups:team:view"))
        for method in ("GET", "POST", "PUT", "DELETE"):
            self.route(method, r".*", lambda req: self._error(GenesysError(
                404, "not.found", "The requested resource was not found.")))

    # -- auth, limits, errors ------------------------------------------------------------------

    def expire_tokens(self) -> None:
        """Every token issued so far stops working (as if its lifetime had run out)."""
        with self._state_lock:
            self.tokens.clear()

    def _error(self, err: GenesysError, **headers: str) -> Response:
        corr = str(uuid.uuid4())
        text = err.message
        for key, value in err.params.items():
            text = text.replace("{" + key + "}", value)
        body = {"message": text, "code": err.code, "status": err.status, "messageWithParams": err.message,
                "messageParams": err.params, "contextId": corr, "details": [], "errors": []}
        return Response.json(body, err.status, **{"ININ-Correlation-Id": corr, **headers})

    def _token(self, req: Request) -> Response:
        def oauth_error(status: int, error: str, text: str) -> Response:
            return Response.json({"error": error, "description": text, "error_description": text}, status)

        auth = req.headers.get("authorization", "")
        try:
            user, _, secret = base64.b64decode(auth.removeprefix("Basic "), validate=True).decode().partition(":")
        except ValueError:
            user = secret = ""
        if not auth.startswith("Basic ") or (user, secret) != (self.client_id, self.client_secret):
            return oauth_error(401, "invalid_client", "client not found")
        if not req.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return oauth_error(400, "invalid_request", "form-encoded body required")
        form = parse_qs(req.body.decode(errors="replace"))
        if form.get("grant_type") != ["client_credentials"]:
            return oauth_error(400, "unsupported_grant_type", "grant type not supported")
        token = base64.urlsafe_b64encode(uuid.uuid4().bytes * 2).decode().rstrip("=")
        with self._state_lock:
            self.tokens[token] = req.at + self.token_lifetime
        return Response.json({"access_token": token, "token_type": "bearer", "expires_in": int(self.token_lifetime)})

    def _api(self, handler: Callable[[Request], Any], permission: str | None) -> Callable[[Request], Response]:
        def serve(req: Request) -> Response:
            scheme, _, token = req.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not token:
                return self._error(GenesysError(401, "authentication.required",
                                                "No authentication bearer token specified in authorization header."))
            with self._state_lock:
                alive = self.tokens.get(token, -math.inf) > req.at
                window = self.windows.setdefault(token, [req.at, 0])
                if req.at >= window[0] + 60:
                    window[:] = [req.at, 0]
                window[1] += 1
                count, reset = int(window[1]), max(1, math.ceil(window[0] + 60 - req.at))
            if not alive:
                return self._error(GenesysError(401, "bad.credentials", "Invalid login credentials."))
            limits = {"inin-ratelimit-allowed": str(self.rate_limit), "inin-ratelimit-count": str(count),
                      "inin-ratelimit-reset": str(reset)}
            try:
                if count > self.rate_limit:
                    raise GenesysError(429, "too.many.requests.retry.after",
                                       "Rate limit exceeded the maximum. Retry the request in [{seconds}] seconds",
                                       seconds=str(reset))
                if permission is not None and permission not in self.permissions:
                    raise GenesysError(403, "missing.any.permissions", "Unable to perform the requested action. "
                                       "You must have at least one of the following permissions assigned: "
                                       "{permissions}", permissions=f"[{permission}]")
                reply = Response.json(handler(req))
            except GenesysError as err:
                if err.status == 429 and self.retry_after:
                    limits["Retry-After"] = str(reset if count > self.rate_limit else 1)
                return self._error(err, **limits)
            reply.headers.update({"ININ-Correlation-Id": str(uuid.uuid4()), **limits})
            return reply
        return serve

    def _page_size(self, req: Request, cap: int) -> int:
        raw = req.arg("pageSize", "25") or "25"
        if not raw.isdigit() or int(raw) < 1:
            raise GenesysError(400, "invalid.value", "Value [{value}] is not valid for field type [{field}].",
                               value=raw, field="pageSize")
        return min(int(raw), cap, self.max_page)

    # -- people and teams -----------------------------------------------------------------------

    def _state(self, p: Person) -> str:
        return "deleted" if p.id in self.deleted else "active" if p.active else "inactive"

    def _user(self, p: Person, expand: set[str]) -> dict[str, Any]:
        uid = vendor_id(p.id, "genesys")
        user: dict[str, Any] = {
            "id": uid, "name": p.name,
            "division": {"id": str(uuid.uuid5(NAMESPACE, "division:home")), "name": "Home",
                         "selfUri": "/api/v2/authorization/divisions/" + str(uuid.uuid5(NAMESPACE, "division:home"))},
            "chat": {"jabberId": f"{uid}@chalkwall.orgspan.com"}, "email": f"agent{p.id}@chalkwall.example",
            "state": self._state(p), "username": f"agent{p.id}@chalkwall.example", "version": 3,
            "acdAutoAnswer": False, "selfUri": f"/api/v2/users/{uid}"}
        if p.avatar:
            user["images"] = [{"resolution": "x96", "imageUri": p.avatar + "?s=96"},
                              {"resolution": "x200", "imageUri": p.avatar}]
        if "team" in expand and p.team:
            team = next(t for t in self.scenario.teams if t.id == p.team)
            tid = team_uuid(team.id)
            user["team"] = {"id": tid, "name": team.name, "selfUri": f"/api/v2/teams/{tid}"}
        return user

    def _users(self, req: Request) -> dict[str, Any]:
        size = self._page_size(req, 500)
        number_raw = req.arg("pageNumber", "1") or "1"
        if not number_raw.isdigit() or int(number_raw) < 1:
            raise GenesysError(400, "invalid.value", "Value [{value}] is not valid for field type [{field}].",
                               value=number_raw, field="pageNumber")
        number, state = int(number_raw), req.arg("state", "active") or "active"
        if state not in ("active", "inactive", "deleted", "any"):
            raise GenesysError(400, "invalid.value", "Value [{value}] is not valid for field type [{field}].",
                               value=state, field="state")
        expand = {e for v in req.query.get("expand", []) for e in v.split(",")}
        wanted = {i for v in req.query.get("id", []) for i in v.split(",") if i}
        people = [p for p in self.scenario.people if p.role != "end-user"
                  and (state == "any" or self._state(p) == state)
                  and (not wanted or vendor_id(p.id, "genesys") in wanted)]
        people.sort(key=lambda p: (p.name.casefold(), p.id), reverse=req.arg("sortOrder", "ASC").lower()
                    in ("desc", "descending"))
        total, pages = len(people), max(1, math.ceil(len(people) / size))
        rest = {k: v for k, v in req.query.items() if k not in ("pageSize", "pageNumber")}

        def uri(n: int) -> str:
            return "/api/v2/users?" + urlencode({"pageSize": size, "pageNumber": n, **rest}, doseq=True)

        page: dict[str, Any] = {"entities": [self._user(p, expand) for p in people[(number - 1) * size:number * size]],
                                "pageSize": size, "pageNumber": number, "total": total, "firstUri": uri(1),
                                "selfUri": uri(number), "lastUri": uri(pages), "pageCount": pages}
        if number < pages:
            page["nextUri"] = uri(number + 1)
        if number > 1:
            page["previousUri"] = uri(number - 1)
        return page

    def _cursor_page(self, req: Request, path: str, items: list[dict[str, Any]]) -> dict[str, Any]:
        size, start = self._page_size(req, 100), 0
        after = req.arg("after")
        if after:
            try:
                issued, _, index = base64.urlsafe_b64decode(after + "==").decode().partition(":")
                start, issued_at = int(index), float(issued)
            except ValueError:
                raise GenesysError(400, "bad.request", "The cursor [{cursor}] is not valid.", cursor=after) from None
            if self.cursor_ttl is not None and req.at - issued_at > self.cursor_ttl:
                raise GenesysError(400, "bad.request", "The cursor [{cursor}] has expired.", cursor=after)
        page: dict[str, Any] = {"entities": items[start:start + size],
                                "selfUri": path + "?" + urlencode({"pageSize": size})}
        if start + size < len(items):
            cursor = base64.urlsafe_b64encode(f"{req.at}:{start + size}".encode()).decode().rstrip("=")
            page["nextUri"] = path + "?" + urlencode({"pageSize": size, "after": cursor})
        return page

    def _teams(self, req: Request) -> dict[str, Any]:
        prefix = (req.arg("name") or "").casefold()
        teams = [{"id": team_uuid(t.id), "name": t.name, "description": "",
                  "division": {"id": str(uuid.uuid5(NAMESPACE, "division:home")), "name": "Home"},
                  "dateCreated": "2025-01-07T09:00:00.000Z", "dateModified": "2026-03-02T10:00:00.000Z",
                  "memberCount": sum(1 for p in self.scenario.people if p.team == t.id and p.role != "end-user"),
                  "selfUri": f"/api/v2/teams/{team_uuid(t.id)}"}
                 for t in self.scenario.teams if t.name.casefold().startswith(prefix)]
        return self._cursor_page(req, "/api/v2/teams", teams)

    def _members(self, req: Request) -> dict[str, Any]:
        team_id = req.path.split("/")[4]
        team = next((t for t in self.scenario.teams if team_uuid(t.id) == team_id), None)
        if team is None:
            raise GenesysError(404, "not.found", "The requested resource was not found.")
        members = []
        for p in self.scenario.people:
            if p.team == team.id and p.role != "end-user" and self._state(p) != "deleted":
                uid = vendor_id(p.id, "genesys")
                members.append({"id": uid, "selfUri": f"/api/v2/users/{uid}"}
                               | ({"name": p.name} if req.arg("expand") == "entities" else {}))
        return self._cursor_page(req, f"/api/v2/teams/{team_id}/members", members)

    # -- analytics ------------------------------------------------------------------------------

    def _aggregates(self, req: Request) -> dict[str, Any]:
        if not req.headers.get("content-type", "").startswith("application/json"):
            raise GenesysError(415, "unsupported.media.type", "Unsupported Media Type - Unsupported or incorrect "
                               "media type, such as an incorrect Content-Type value in the header.")
        try:
            body = req.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise GenesysError(400, "bad.request", "The request could not be understood by the server due to "
                               "malformed syntax.")
        start, end = parse_interval(body.get("interval"))
        zone = _zone(body.get("timeZone"))
        metrics = body.get("metrics")
        if not isinstance(metrics, list) or not metrics or not all(isinstance(m, str) for m in metrics):
            raise GenesysError(400, "bad.request", "Metrics must be a non-empty list of metric names.")
        for m in metrics:
            if m not in TIMERS | COUNTERS | OTHER_METRICS:
                raise GenesysError(400, "invalid.value", "Value [{value}] is not valid for field type [{field}].",
                                   value=m, field="metrics")
        group_by = body.get("groupBy") or []
        if not isinstance(group_by, list) or any(d not in DIMENSIONS for d in group_by):
            raise GenesysError(400, "invalid.value", "Value [{value}] is not valid for field type [{field}].",
                               value=str(group_by), field="groupBy")
        buckets = split(start, end, body.get("granularity"), zone)
        filt = body.get("filter")
        if filt is not None:
            check_filter(filt)
        with self._state_lock:
            if self.max_concurrent_queries is not None and self.in_flight >= self.max_concurrent_queries:
                raise GenesysError(429, "too.many.requests.retry.after",
                                   "Rate limit exceeded the maximum. Retry the request in [{seconds}] seconds",
                                   seconds="1")
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.query_delay:
                time.sleep(self.query_delay)
            return self._aggregate(req.at, buckets, set(metrics), group_by, filt)
        finally:
            with self._state_lock:
                self.in_flight -= 1

    def _events(self, call: Call) -> list[tuple[float, dict[str, str], str, int]]:
        """What one call emits: (when, dimensions, metric, value)."""
        person = next(p for p in self.scenario.people if p.id == call.agent)
        agent = {"userId": vendor_id(call.agent, "genesys"), "mediaType": "voice", "direction": "inbound",
                 "purpose": "agent", **({"teamId": team_uuid(person.team)} if person.team else {})}
        queue = {"mediaType": "voice", "direction": "inbound", "purpose": "acd"}
        talk_end = call.start + (call.talk_ms + call.hold_ms) / 1000
        out = [(call.start, agent, "nConnected", 1), (talk_end, agent, "tTalk", call.talk_ms),
               (talk_end, agent, "tTalkComplete", call.talk_ms), (call.end, agent, "tAcw", call.acw_ms),
               (call.end, agent, "tHandle", call.handle_ms)]
        if call.hold_ms:
            out += [(talk_end, agent, "tHeld", call.hold_ms), (talk_end, agent, "tHeldComplete", call.hold_ms)]
        if self.queue_rows:
            out += [(call.start - 20, queue, "nOffered", 1), (call.start, queue, "tAcd", 20_000)]
        return out

    def _aggregate(self, now: float, buckets: list[tuple[float, float]], metrics: set[str],
                   group_by: list[str], filt: dict[str, Any] | None) -> dict[str, Any]:
        visible_until = now - self.data_lag
        cells: dict[tuple[tuple[str, str], ...], dict[int, dict[str, list[int]]]] = {}
        for call in self.scenario.calls:
            for at, dims, metric, value in self._events(call):
                if metric not in metrics or at >= visible_until or (filt is not None and not matches(filt, dims)):
                    continue
                index = next((i for i, (a, b) in enumerate(buckets) if a <= at < b), None)
                if index is None:
                    continue
                key = tuple((d, dims[d]) for d in group_by if d in dims)
                cells.setdefault(key, {}).setdefault(index, {}).setdefault(metric, []).append(value)
        results = []
        for key in sorted(cells, key=lambda k: uuid.uuid5(NAMESPACE, repr(k)).hex):  # no meaningful order
            data = []
            for index in sorted(cells[key]):
                a, b = buckets[index]
                data.append({"interval": f"{ms_iso(a)}/{ms_iso(b)}", "metrics": [
                    {"metric": m, "stats": {"count": len(v)} if m in COUNTERS else
                     {"max": max(v), "min": min(v), "count": len(v), "sum": sum(v)}}
                    for m, v in sorted(cells[key][index].items())]})
            results.append({"group": dict(key), "data": data})
        return {"results": results} if results else {}


def _bad_interval(text: object) -> GenesysError:
    return GenesysError(400, "bad.request", "Invalid interval [{interval}]: expected an ISO-8601 interval "
                        "start/end, for example YYYY-MM-DDThh:mm:ss.SSSZ/YYYY-MM-DDThh:mm:ss.SSSZ",
                        interval=str(text))


def parse_interval(text: object) -> tuple[float, float]:
    """Epoch seconds of an ISO-8601 ``start/end`` (a time without an offset is UTC)."""
    if not isinstance(text, str) or text.count("/") != 1:
        raise _bad_interval(text)
    ends = []
    for part in text.split("/"):
        try:
            moment = datetime.fromisoformat(part.replace("Z", "+00:00"))
        except ValueError:
            raise _bad_interval(text) from None
        ends.append((moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp())
    if ends[0] >= ends[1]:
        raise _bad_interval(text)
    return ends[0], ends[1]


def _zone(name: object) -> ZoneInfo:
    if name is None:
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        raise GenesysError(400, "invalid.value", "Value [{value}] is not valid for field type [{field}].",
                           value=str(name), field="timeZone") from None


def split(start: float, end: float, granularity: object, zone: ZoneInfo) -> list[tuple[float, float]]:
    """The buckets: the whole interval, or steps of ``granularity``; day and week steps follow the
    local calendar of ``zone`` (so a DST day is 23 or 25 hours)."""
    if granularity is None:
        return [(start, end)]
    match = DURATION.fullmatch(str(granularity))
    if not match or not any(match.groups()):
        raise GenesysError(400, "invalid.value", "Value [{value}] is not valid for field type [{field}].",
                           value=str(granularity), field="granularity")
    weeks, days, hours, minutes, seconds = (float(g or 0) for g in match.groups())
    calendar, clock_part = timedelta(days=7 * weeks + days), timedelta(hours=hours, minutes=minutes, seconds=seconds)
    out, at = [], start
    while at < end and len(out) < 10_000:
        local = datetime.fromtimestamp(at, zone).replace(tzinfo=None) + calendar  # days: local calendar
        nxt = local.replace(tzinfo=zone).timestamp() + clock_part.total_seconds()  # hours: elapsed time
        out.append((at, min(nxt, end)))
        at = nxt
    return out


def check_filter(node: object) -> None:
    if not isinstance(node, dict) or node.get("type", "and") not in ("and", "or") \
            or not all(isinstance(node.get(k) or [], list) for k in ("clauses", "predicates")):
        raise GenesysError(400, "bad.request", "A filter needs a type of and/or with clauses or predicates.")
    for clause in node.get("clauses") or []:
        check_filter(clause)
    for pred in node.get("predicates") or []:
        if not isinstance(pred, dict) or pred.get("type", "dimension") != "dimension" \
                or pred.get("operator", "matches") not in ("matches", "exists", "notExists"):
            raise GenesysError(400, "bad.request", "Unsupported predicate [{predicate}].", predicate=str(pred))
        if pred.get("dimension") not in DIMENSIONS:
            raise GenesysError(400, "invalid.value", "Value [{value}] is not valid for field type [{field}].",
                               value=str(pred.get("dimension")), field="dimension")


def matches(node: dict[str, Any], dims: dict[str, str]) -> bool:
    tests = [matches(c, dims) for c in node.get("clauses") or []]
    for pred in node.get("predicates") or []:
        op, value = pred.get("operator", "matches"), dims.get(pred["dimension"])
        tests.append(value is not None if op == "exists" else value is None if op == "notExists"
                     else value == pred.get("value"))
    return any(tests) if node.get("type") == "or" else all(tests)
