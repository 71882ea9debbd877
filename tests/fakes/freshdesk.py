"""A fake Freshdesk API v2 (written from Freshdesk's documentation) serving one scenario day.

Everything is shown as of the injected clock: ``scenario.tickets(clock())``, so nothing that happens
at or after "now" is visible. Ids are integers (the scenario's digit strings), times are ISO-8601 UTC
with a Z, as Freshdesk writes them.

Auth: HTTP Basic with the API key as user name and any password (the docs say ``X``):
``Authorization: Basic base64("fd-test-key-3f9a:X")`` (``FreshdeskFake.API_KEY``). Missing or wrong
credentials: 401 ``{"code": "invalid_credentials", "message": "You have to be logged in to perform
this action."}``. The key belongs to ``TOKEN_AGENT`` (the scenario's first admin).

Routes (all GET; list routes page with ``page`` (1-based) and ``per_page`` (default 30, at most 100)
and put ``Link: <absolute URL with page=N+1>; rel="next"`` on every page but the last):

- ``/api/v2/tickets``: ``updated_since`` (ISO UTC or a date), ``order_by`` (created_at, due_by,
  updated_at, status; default created_at), ``order_type`` (asc/desc, default desc), ``include``
  (stats, requester, description, company: 2 extra credits each), ``filter`` (deleted, spam,
  new_and_my_open, watching), ``requester_id``, ``email``, ``company_id`` (accepted). Without
  ``updated_since`` only tickets created in the last 30 days. At most 300 pages (400 beyond).
  ``stats`` = ``first_responded_at``, ``agent_responded_at``, ``requester_responded_at``,
  ``status_updated_at``, ``reopened_at``, ``resolved_at``, ``closed_at``, ``pending_since``.
  Status 2 open, 3 pending, 4 resolved, 5 closed, 6/7 custom ("waiting on ...", never solved).
- ``/api/v2/tickets/{id}`` (``include=stats``; a deleted ticket shows ``"deleted": true``).
- ``/api/v2/surveys/satisfaction_ratings``: ``created_since``, ``user_id``; one record per rated
  ticket, oldest first: ``ratings.default_question`` 103/102/101 happy, 100 neutral, -101/-102/-103
  unhappy; ``agent_id`` is the ticket's agent when it was rated (null if none).
- ``/api/v2/agents`` (``email``, ``state`` fulltime/occasional), ``/api/v2/agents/me``,
  ``/api/v2/agents/{id}``; ``/api/v2/groups`` and ``/api/v2/groups/{id}`` (with ``agent_ids``).
- ``/api/v2/search/tickets?query="..."``: ``{"results": [...], "total": N}``, 30 a page, pages
  1-10; terms ``field:value``, ``field:>'YYYY-MM-DD'``/``field:<'...'`` (UTC dates, inclusive) on
  agent_id, group_id, status, priority, type, created_at, updated_at; AND, OR, parentheses.

Errors as Freshdesk sends them: 400 ``{"description": "Validation failed", "errors": [{"field",
"message", "code"}]}`` (unknown query parameters are ``invalid_field``); 403 ``{"code":
"access_denied" | "require_feature", "message"}``; 404 with an empty body; 429 with ``Retry-After``.

Rate limits: every response carries ``X-RateLimit-Total``, ``X-RateLimit-Remaining`` and
``X-RateLimit-Used-CurrentRequest`` for the account bucket (credits per 60 s of fake clock). A call
costs 1 credit, plus 2 per ``include``; invalid and unauthorised requests are charged too (1), a
429 is not. ``GET /api/v2/tickets`` also counts against the Tickets-List sub-bucket (calls per
60 s). Either bucket full: 429 ``{"message": ...}`` with ``Retry-After`` (whole seconds until
enough credits expire). ``spend(n)`` lets "another integration" use up the shared account bucket.

Knobs (keyword arguments):

- ``plan``: "growth" (200/min, tickets list 20/min), "pro" (400, 100), "enterprise" (700, 200),
  "trial" (50, and an unverified 50); ``rate_limit`` / ``list_limit`` override either number (None = unlimited).
- ``decimal_headers``: write the rate headers as "700.0" (one team saw this).
- ``max_page``: cap every page at this many records (tests get 3+ pages), ``max_pages`` (300).
- ``link_style``: "rfc" (``<url>; rel="next"``) or "docs" (``< url>;rel="next"``, the docs' example).
- ``deleted``: "absent" (default, as documented: gone from the list and search, shown by
  ``filter=deleted``, which combines with ``updated_since`` as singer-io/tap-freshdesk uses it) or
  "flag" (still listed, with ``"deleted": true``). So with the default, a ticket solved and then
  deleted today simply stops appearing: only ``filter=deleted`` tells a reader to take it back.
- ``deactivated``: "flag" (default: listed with ``"deactivated": true``) or "absent".
- ``ticket_scope``: 1 global, 2 group (only the token agent's groups' tickets), 3 restricted (only
  tickets assigned to the token agent), as a non-global agent's key would see.
- ``forbidden``: path prefixes that answer 403 access_denied (a key without that privilege).
- ``surveys``: False = satisfaction ratings answer 403 require_feature (plan without surveys).
- ``auto_close_after``: seconds after which a resolved ticket is closed by automation (status 5,
  ``closed_at`` set, ``updated_at`` bumped), as Freshdesk's default automation does after days.
- ``index_lag``: seconds before a change is visible to search (the list has no lag).
- ``revoke_key()``: from now on the key is refused (401), as when an admin regenerates it.

Unverified (picked the most likely shape; a connector should fail loudly if these are wrong):
whether ``updated_since`` is inclusive (here: ``updated_at >= updated_since``); the body of a 429
and whether the Tickets-List sub-bucket has its own headers (here: none, only ``Retry-After``);
whether the sub-bucket counts calls or credits (here: calls); whether a reopened ticket keeps
``stats.resolved_at`` (here: kept, so the status must be checked); whether a rating bumps the
ticket's ``updated_at`` (here: yes, as the scenario says); whether deactivated agents are listed
(see ``deactivated``) and whether ratings of deleted tickets are listed (here: not); whether
ratings have the 30-day default window (here: yes); the ratings order (here: oldest first); the
404 body (here: empty); that no avatar URL is served for agents; and the search date semantics.
"""

from __future__ import annotations

import base64
import math
import re
import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

from .base import FakeAPI, Request, Response, iso
from .scenario import Scenario, TicketState

PLANS: dict[str, tuple[int, int]] = {"growth": (200, 20), "pro": (400, 100), "enterprise": (700, 200),
                                     "trial": (50, 50)}
HAPPY, UNHAPPY = (103, 102, 101), (-103, -102, -101)
LIST_PARAMS = {"page", "per_page", "updated_since", "order_by", "order_type", "include", "filter",
               "requester_id", "email", "company_id"}
INCLUDES = ("stats", "requester", "description", "company")
FILTERS = ("new_and_my_open", "watching", "spam", "deleted")
ORDER_BY = ("created_at", "due_by", "updated_at", "status")
REQUESTER_ID = 5000  # every ticket's requester: the scenario's customer
_Bad = tuple[str, str, str]  # field, message, code


class FreshdeskFake(FakeAPI):
    API_KEY = "fd-test-key-3f9a"
    PASSWORD = "X"
    ADMIN_ROLE, AGENT_ROLE = 43000000001, 43000000002

    def __init__(self, scenario: Scenario, clock: Callable[[], float], *, plan: str = "growth",
                 rate_limit: int | None | str = "plan", list_limit: int | None | str = "plan",
                 decimal_headers: bool = False, max_page: int = 100, max_pages: int = 300,
                 link_style: str = "rfc", deleted: str = "absent", deactivated: str = "flag",
                 ticket_scope: int = 1, forbidden: Iterable[str] = (), surveys: bool = True,
                 auto_close_after: float | None = None, index_lag: float = 0.0) -> None:
        super().__init__(clock)
        # Headers and body go out in two writes; without TCP_NODELAY each keep-alive reply waits
        # ~40 ms for a delayed ACK. The handler class is this instance's own, so only this fake changes.
        self.httpd.RequestHandlerClass.disable_nagle_algorithm = True  # type: ignore[attr-defined]
        # serve_forever's default 0.5 s poll makes every stop() wait that long.
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.scenario = scenario
        account, listing = PLANS[plan]
        self.rate_limit = account if rate_limit == "plan" else rate_limit
        self.list_limit = listing if list_limit == "plan" else list_limit
        self.decimal_headers, self.max_page, self.max_pages = decimal_headers, max_page, max_pages
        self.link_style, self.deleted, self.deactivated = link_style, deleted, deactivated
        self.ticket_scope, self.forbidden, self.surveys = ticket_scope, tuple(forbidden), surveys
        self.auto_close_after, self.index_lag = auto_close_after, index_lag
        self.api_key: str | None = self.API_KEY
        admin = next(p for p in scenario.people if p.role == "admin")
        self.TOKEN_AGENT = int(admin.id)
        self._spent: list[tuple[float, int]] = []  # (at, credits) in the account bucket
        self._listed: list[float] = []  # Tickets-List calls
        self._budget_lock = threading.Lock()
        api = r"/api/v2"
        self.route("GET", api + r"/tickets", self._tickets)
        self.route("GET", api + r"/tickets/(\d+)", self._ticket)
        self.route("GET", api + r"/surveys/satisfaction_ratings", self._ratings)
        self.route("GET", api + r"/agents", self._agents)
        self.route("GET", api + r"/agents/(me|\d+)", self._agent)
        self.route("GET", api + r"/groups", self._groups)
        self.route("GET", api + r"/groups/(\d+)", self._group)
        self.route("GET", api + r"/search/tickets", self._search)

    # --- the account: auth, budget, headers ---------------------------------------------------

    def revoke_key(self) -> None:
        self.api_key = None

    def spend(self, credits: int) -> None:
        """Another integration on the same account uses ``credits`` now."""
        with self._budget_lock:
            self._spent.append((self.clock(), credits))

    def dispatch(self, req: Request) -> Response:
        with self._budget_lock:  # the server is threaded; one account, one budget
            return self._dispatch(req)

    def _dispatch(self, req: Request) -> Response:
        now = req.at
        self._spent = [(t, c) for t, c in self._spent if t > now - 60]
        self._listed = [t for t in self._listed if t > now - 60]
        is_list = req.path == "/api/v2/tickets"
        includes = [i for i in (req.arg("include") or "").split(",") if i]
        cost = 1 + 2 * len(includes)
        wait = self._wait(now, cost, is_list)
        if wait is not None:
            reply = Response.json({"message": "You have exceeded the limit of requests per minute"},
                                  429, **{"Retry-After": str(wait)})
            return self._headers(reply, 0)
        if not self._authorised(req):
            self._spent.append((now, 1))
            reply = Response.json({"code": "invalid_credentials",
                                   "message": "You have to be logged in to perform this action."}, 401)
            return self._headers(reply, 1)
        if any(req.path.startswith(p) for p in self.forbidden):
            self._spent.append((now, 1))
            return self._headers(Response.json({"code": "access_denied", "message":
                                                "You are not authorized to perform this action."}, 403), 1)
        reply = super().dispatch(req)
        charged = cost if reply.status == 200 else 1
        self._spent.append((now, charged))
        if is_list and reply.status == 200:
            self._listed.append(now)
        return self._headers(reply, charged)

    def _authorised(self, req: Request) -> bool:
        header = req.headers.get("authorization", "")
        if not header.startswith("Basic ") or self.api_key is None:
            return False
        try:
            user = base64.b64decode(header[6:], validate=True).decode().split(":", 1)[0]
        except ValueError:
            return False
        return user == self.api_key

    def _wait(self, now: float, cost: int, is_list: bool) -> int | None:
        waits = []
        if self.rate_limit is not None and sum(c for _, c in self._spent) + cost > self.rate_limit:
            left = sum(c for _, c in self._spent) + cost - self.rate_limit
            for at, credits in sorted(self._spent):
                left -= credits
                if left <= 0:
                    waits.append(at + 60 - now)
                    break
            else:
                waits.append(60.0)
        if is_list and self.list_limit is not None and len(self._listed) >= self.list_limit:
            waits.append(min(self._listed) + 60 - now)
        return max(1, math.ceil(max(waits))) if waits else None

    def _headers(self, reply: Response, charged: int) -> Response:
        total = self.rate_limit if self.rate_limit is not None else 1_000_000
        remaining = max(0, total - sum(c for _, c in self._spent))
        fmt: Callable[[int], str] = (lambda n: f"{n:.1f}") if self.decimal_headers else str
        reply.headers.update({"X-RateLimit-Total": fmt(total), "X-RateLimit-Remaining": fmt(remaining),
                              "X-RateLimit-Used-CurrentRequest": fmt(charged),
                              "X-Freshdesk-API-Version": "latest=2; requested=2"})
        return reply

    # --- shapes ---------------------------------------------------------------------------------

    def _agent_json(self, pid: str) -> dict[str, Any]:
        p = next(x for x in self.scenario.people if x.id == pid)
        since = iso(self.scenario.day_start() - 86400 * 400)
        return {"id": int(p.id), "available": p.active, "available_since": None, "occasional": False,
                "signature": None, "ticket_scope": self.ticket_scope if int(p.id) == self.TOKEN_AGENT else 1,
                "group_ids": [int(p.team)], "skill_ids": [], "type": "support_agent",
                "role_ids": [self.ADMIN_ROLE if p.role == "admin" else self.AGENT_ROLE],
                "deactivated": not p.active, "focus_mode": True, "created_at": since, "updated_at": since,
                "contact": {"name": p.name, "email": f"agent.{p.id}@example.com", "active": True,
                            "job_title": None, "language": "en", "mobile": None, "phone": None,
                            "time_zone": "Stockholm", "last_login_at": None,
                            "created_at": since, "updated_at": since}}

    def _agents_visible(self) -> list[str]:
        return [p.id for p in self.scenario.people if p.role in ("agent", "admin")
                and (p.active or self.deactivated == "flag")]

    def _status(self, t: TicketState, now: float) -> int:
        status = t.status
        if status == "deleted":  # a deleted ticket keeps the status it had
            last = [s.kind for s in t.history if s.kind in ("solve", "close", "reopen")][-1:]
            status = {"solve": "solved", "close": "closed"}.get(last[0] if last else "", "open")
        if status == "closed" or self._auto_closed_at(t, now) is not None:
            return 5
        if status == "solved":
            return 4
        if t.first_reply_at is None:
            return 2
        return (3, 6, 7, 2)[t.id % 4]  # pending, two custom statuses, open

    def _auto_closed_at(self, t: TicketState, now: float) -> float | None:
        if self.auto_close_after is None or t.status != "solved" or t.solved_at is None:
            return None
        at = t.solved_at + self.auto_close_after
        return at if at < now else None

    def _ticket_json(self, t: TicketState, now: float, includes: list[str]) -> dict[str, Any]:
        auto = self._auto_closed_at(t, now)
        updated = max(t.updated_at, auto or 0)
        created = t.created_at
        out: dict[str, Any] = {
            "id": t.id, "subject": f"Ticket {t.id}", "status": self._status(t, now), "priority": 1 + t.id % 4,
            "source": 1 + t.id % 3, "type": None, "responder_id": int(t.assignee) if t.assignee else None,
            "group_id": int(t.team) if t.team else None, "requester_id": REQUESTER_ID, "company_id": None,
            "product_id": None, "email_config_id": None, "spam": False, "is_escalated": False,
            "fr_escalated": False, "cc_emails": [], "fwd_emails": [], "reply_cc_emails": [], "to_emails": None,
            "tags": [], "custom_fields": {}, "due_by": iso(created + 3 * 86400), "fr_due_by": iso(created + 86400),
            "created_at": iso(created), "updated_at": iso(updated)}
        if t.status == "deleted" or self.deleted == "flag":
            out["deleted"] = t.status == "deleted"
        if "stats" in includes:
            reopened = [s.at for s in t.history if s.kind == "reopen"]
            closed = t.closed_at if t.status == "closed" else auto
            out["stats"] = {
                "agent_responded_at": iso(t.first_reply_at) if t.first_reply_at else None,
                "requester_responded_at": None,
                "first_responded_at": iso(t.first_reply_at) if t.first_reply_at else None,
                "status_updated_at": iso(updated), "reopened_at": iso(reopened[-1]) if reopened else None,
                "resolved_at": iso(t.solved_at) if t.solved_at else None,
                "closed_at": iso(closed) if closed else None,
                "pending_since": iso(t.first_reply_at) if out["status"] == 3 and t.first_reply_at else None}
        if "requester" in includes:
            out["requester"] = {"id": REQUESTER_ID, "name": "Some Customer", "email": "customer@example.org",
                                "mobile": None, "phone": None}
        if "description" in includes:
            out["description"], out["description_text"] = "<div>Help!</div>", "Help!"
        return out

    def _in_scope(self, t: TicketState) -> bool:
        agent = next(p for p in self.scenario.people if int(p.id) == self.TOKEN_AGENT)
        return (self.ticket_scope == 1 or (self.ticket_scope == 2 and t.team == agent.team)
                or (self.ticket_scope == 3 and t.assignee == agent.id))

    def _visible(self, state: dict[int, TicketState], deleted_filter: bool) -> list[TicketState]:
        """The list's tickets: ``filter=deleted`` shows only the deleted ones; otherwise they are
        left out unless the ``deleted="flag"`` knob keeps them (marked)."""
        keep: Callable[[TicketState], bool] = (
            (lambda t: t.status == "deleted") if deleted_filter
            else (lambda t: self.deleted == "flag" or t.status != "deleted"))
        return [t for t in state.values() if keep(t) and self._in_scope(t)]

    # --- routes ---------------------------------------------------------------------------------

    def _tickets(self, req: Request) -> Response:
        now = req.at
        bad = _unknown(req, LIST_PARAMS)
        includes = [i for i in (req.arg("include") or "").split(",") if i]
        bad += [("include", "It should be one/combination of: " + ",".join(INCLUDES), "invalid_value")
                for i in includes if i not in INCLUDES][:1]
        order_by, order_type = req.arg("order_by", "created_at"), req.arg("order_type", "desc")
        if order_by not in ORDER_BY:
            bad.append(("order_by", "It should be one of these values: " + ",".join(ORDER_BY), "invalid_value"))
        if order_type not in ("asc", "desc"):
            bad.append(("order_type", "It should be one of these values: asc,desc", "invalid_value"))
        filt = req.arg("filter")
        if filt is not None and filt not in FILTERS:
            bad.append(("filter", "It should be one of these values: " + ",".join(FILTERS), "invalid_value"))
        since = _time_arg(req, "updated_since", bad)
        page, per_page = _paging(req, bad, self.max_pages)
        if bad:
            return _invalid(bad)
        rows = self._visible(self.scenario.tickets(now), filt == "deleted")
        if filt in ("spam", "watching"):
            rows = []
        if since is None:
            rows = [t for t in rows if t.created_at >= now - 30 * 86400]
        shaped = [self._ticket_json(t, now, includes) for t in rows]
        if since is not None:
            shaped = [d for d in shaped if d["updated_at"] >= iso(since)]
        key = {"created_at": "created_at", "updated_at": "updated_at", "due_by": "due_by", "status": "status"}
        shaped.sort(key=lambda d: (d[key[order_by]], d["id"]), reverse=order_type == "desc")
        return self._page(req, shaped, page, per_page)

    def _ticket(self, req: Request) -> Response:
        bad = _unknown(req, {"include"})
        if bad:
            return _invalid(bad)
        t = self.scenario.tickets(req.at).get(int(req.path.rsplit("/", 1)[1]))
        if t is None or not self._in_scope(t):
            return Response(404, b"", {"Content-Type": "application/json"})
        includes = [i for i in (req.arg("include") or "").split(",") if i]
        return Response.json(self._ticket_json(t, req.at, includes))

    def _ratings(self, req: Request) -> Response:
        bad = _unknown(req, {"page", "per_page", "created_since", "user_id"})
        since = _time_arg(req, "created_since", bad)
        page, per_page = _paging(req, bad, self.max_pages)
        if bad:
            return _invalid(bad)
        if not self.surveys:
            return Response.json({"code": "require_feature", "message": "The Surveys feature(s) is/are not "
                                  "supported in your plan. Please upgrade your account to use it."}, 403)
        now = req.at
        floor = since if since is not None else now - 30 * 86400
        rows = []
        for t in sorted(self.scenario.tickets(now).values(), key=lambda t: (t.rating_at or 0, t.id)):
            if t.rating is None or t.rating_at is None or t.rating_at < floor or t.status == "deleted":
                continue
            score = {"good": HAPPY[t.id % 3], "neutral": 100, "bad": UNHAPPY[t.id % 3]}[t.rating]
            rows.append({"id": 43_000_000_000 + t.id, "survey_id": 43_000_089_898, "user_id": REQUESTER_ID,
                         "agent_id": int(t.rated_agent) if t.rated_agent else None,
                         "group_id": int(t.team) if t.team else None, "ticket_id": t.id,
                         "feedback": t.comment or None, "ratings": {"default_question": score},
                         "created_at": iso(t.rating_at), "updated_at": iso(t.rating_at)})
        if req.arg("user_id"):
            rows = [r for r in rows if str(r["user_id"]) == req.arg("user_id")]
        return self._page(req, rows, page, per_page)

    def _agents(self, req: Request) -> Response:
        bad = _unknown(req, {"page", "per_page", "email", "phone", "mobile", "state"})
        page, per_page = _paging(req, bad, self.max_pages)
        if req.arg("state") not in (None, "fulltime", "occasional"):
            bad.append(("state", "It should be one of these values: fulltime,occasional", "invalid_value"))
        if bad:
            return _invalid(bad)
        rows = [self._agent_json(pid) for pid in self._agents_visible()]
        if req.arg("email"):
            rows = [a for a in rows if a["contact"]["email"] == req.arg("email")]
        if req.arg("state") == "occasional":
            rows = []
        return self._page(req, sorted(rows, key=lambda a: a["id"]), page, per_page)

    def _agent(self, req: Request) -> Response:
        which = req.path.rsplit("/", 1)[1]
        pid = str(self.TOKEN_AGENT) if which == "me" else which
        if pid not in self._agents_visible():
            return Response(404, b"", {"Content-Type": "application/json"})
        return Response.json(self._agent_json(pid))

    def _group_json(self, team_id: str) -> dict[str, Any]:
        team = next(t for t in self.scenario.teams if t.id == team_id)
        since = iso(self.scenario.day_start() - 86400 * 400)
        members = [int(p.id) for p in self.scenario.people
                   if p.team == team.id and p.active and p.role in ("agent", "admin")]
        return {"id": int(team.id), "name": team.name, "description": None, "escalate_to": None,
                "unassigned_for": "30m", "business_hour_id": None, "group_type": "support_agent_group",
                "auto_ticket_assign": 0, "agent_ids": members, "created_at": since, "updated_at": since}

    def _groups(self, req: Request) -> Response:
        bad = _unknown(req, {"page", "per_page"})
        page, per_page = _paging(req, bad, self.max_pages)
        if bad:
            return _invalid(bad)
        return self._page(req, [self._group_json(t.id) for t in self.scenario.teams], page, per_page)

    def _group(self, req: Request) -> Response:
        gid = req.path.rsplit("/", 1)[1]
        if gid not in {t.id for t in self.scenario.teams}:
            return Response(404, b"", {"Content-Type": "application/json"})
        return Response.json(self._group_json(gid))

    def _search(self, req: Request) -> Response:
        bad = _unknown(req, {"query", "page"})
        query = req.arg("query") or ""
        try:
            page = int(req.arg("page", "1") or "")
        except ValueError:
            page = 0
        if not 1 <= page <= 10:
            bad.append(("page", "Has to be a positive number less than or equal to 10", "invalid_value"))
        matcher = None
        if len(query) < 2 or not (query.startswith('"') and query.endswith('"')) or len(query) > 512:
            bad.append(("query", "Query should be enclosed in double quotes and at most 512 characters",
                        "invalid_value"))
        else:
            try:
                matcher = _SearchQuery(query[1:-1]).parse()
            except ValueError as exc:
                bad.append(("query", str(exc), "invalid_value"))
        if bad or matcher is None:
            return _invalid(bad)
        seen = req.at - self.index_lag
        rows = [self._ticket_json(t, seen, []) for t in self._visible(self.scenario.tickets(seen), False)]
        hits = sorted((d for d in rows if matcher(d)), key=lambda d: (d["created_at"], d["id"]), reverse=True)
        return Response.json({"results": hits[(page - 1) * 30: page * 30], "total": len(hits)})

    def _page(self, req: Request, rows: list[dict[str, Any]], page: int, per_page: int) -> Response:
        size = min(per_page, self.max_page)
        reply = Response.json(rows[(page - 1) * size: page * size])
        if page * size < len(rows) and page < self.max_pages:
            query = {k: v[-1] for k, v in req.query.items()}
            query["page"] = str(page + 1)
            url = f"{self.base_url}{req.path}?{urlencode(query)}"
            reply.headers["Link"] = f'< {url}>;rel="next"' if self.link_style == "docs" else f'<{url}>; rel="next"'
        return reply


# --- validation helpers -------------------------------------------------------------------------

def _invalid(bad: list[_Bad]) -> Response:
    return Response.json({"description": "Validation failed",
                          "errors": [{"field": f, "message": m, "code": c} for f, m, c in bad]}, 400)


def _unknown(req: Request, allowed: set[str]) -> list[_Bad]:
    return [(name, "Unexpected/invalid field in request", "invalid_field") for name in req.query if name not in allowed]


def _paging(req: Request, bad: list[_Bad], max_pages: int) -> tuple[int, int]:
    out = []
    for name, default, top in (("page", "1", max_pages), ("per_page", "30", 100)):
        raw = req.arg(name, default) or ""
        if not raw.isdigit() or not 1 <= int(raw) <= top:
            bad.append((name, f"It should be a Positive Number less than or equal to {top}", "invalid_value"))
            out.append(1)
        else:
            out.append(int(raw))
    return out[0], out[1]


def _time_arg(req: Request, name: str, bad: list[_Bad]) -> float | None:
    raw = req.arg(name)
    if raw is None:
        return None
    try:
        when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        bad.append((name, "It should be in the 'valid date' format", "invalid_value"))
        return None
    return (when if when.tzinfo else when.replace(tzinfo=timezone.utc)).timestamp()


class _SearchQuery:
    """The filter-tickets query language, enough of it: terms joined by AND/OR, with parentheses."""

    FIELDS = {"agent_id": "responder_id", "group_id": "group_id", "status": "status", "priority": "priority",
              "type": "type", "created_at": "created_at", "updated_at": "updated_at"}
    TOKEN = re.compile(r"\s*(\(|\)|AND\b|OR\b|(\w+):(>|<)?('[^']*'|-?\d+|null|\w+))")

    def __init__(self, text: str) -> None:
        self.tokens: list[re.Match[str]] = []
        pos, text = 0, text.strip()
        while pos < len(text):
            m = self.TOKEN.match(text, pos)
            if m is None:
                raise ValueError(f"Invalid query near: {text[pos:pos + 20]}")
            self.tokens.append(m)
            pos = m.end()
            while pos < len(text) and text[pos] == " ":
                pos += 1

    def parse(self) -> Callable[[dict[str, Any]], bool]:
        match = self._or()
        if self.tokens:
            raise ValueError("Invalid query: unexpected " + self.tokens[0].group(1))
        return match

    def _or(self) -> Callable[[dict[str, Any]], bool]:
        parts = [self._and()]
        while self.tokens and self.tokens[0].group(1) == "OR":
            self.tokens.pop(0)
            parts.append(self._and())
        return lambda d: any(p(d) for p in parts)

    def _and(self) -> Callable[[dict[str, Any]], bool]:
        parts = [self._term()]
        while self.tokens and self.tokens[0].group(1) == "AND":
            self.tokens.pop(0)
            parts.append(self._term())
        return lambda d: all(p(d) for p in parts)

    def _term(self) -> Callable[[dict[str, Any]], bool]:
        if not self.tokens:
            raise ValueError("Invalid query: it ends too soon")
        tok = self.tokens.pop(0)
        if tok.group(1) == "(":
            inner = self._or()
            if not self.tokens or self.tokens.pop(0).group(1) != ")":
                raise ValueError("Invalid query: unbalanced parentheses")
            return inner
        field, op, value = tok.group(2), tok.group(3), tok.group(4)
        if field not in self.FIELDS:
            raise ValueError(f"Invalid query: {field} is not a supported field")
        key = self.FIELDS[field]
        if key in ("created_at", "updated_at"):
            day = datetime.strptime(value.strip("'"), "%Y-%m-%d").replace(tzinfo=timezone.utc)
            lo, hi = iso(day.timestamp()), iso((day + timedelta(days=1)).timestamp())
            if op == ">":
                return lambda d: d[key] >= lo
            if op == "<":
                return lambda d: d[key] < hi
            return lambda d: lo <= d[key] < hi
        if op:
            bound = int(value)
            return (lambda d: d[key] is not None and d[key] >= bound) if op == ">" else \
                (lambda d: d[key] is not None and d[key] <= bound)
        want = None if value == "null" else (value.strip("'") if key == "type" else int(value))
        return lambda d: d[key] == want
