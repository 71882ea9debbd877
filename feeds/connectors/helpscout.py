"""The native Help Scout connector (Inbox API 2.0): one company report a poll for the whole floor.

- Sign-in: OAuth2 client credentials (``[feed.auth] client_id`` and the app secret in
  ``token_env``/``token_file``) at ``/v2/oauth2/token``; the bearer token is asked for again once
  after a 401.
- Roster: ``/v2/users`` (every user is an agent: owner, admin or user; deleted users are not
  listed), ``/v2/teams`` and ``/v2/teams/{id}/members``, all HAL lists followed by their ``next``
  links; at most hourly, or sooner when the report names a user the roster does not know.
- Metrics: ``GET /v2/reports/company?start=<local midnight>Z&end=<now>Z`` (Plus and Pro plans
  only). Per user in ``users[]``: ``tickets_solved`` is ``closed`` and ``csat`` is
  ``happinessScore`` (Great % − Not Good %, −100…100) as given, to 2 decimals. A roster user the
  report leaves out had no activity: 0 solved and a score of 0, which is also what Help Scout
  shows for a user nobody rated (its report cannot tell the two apart). There is no
  ``csat_count``: the report does not say how many ratings a score stands on.
- Reports are aggregates, so there is no cursor: every poll re-asks for ``[midnight, now)``, and
  a failed poll keeps the last good numbers (marked stale) until the next one succeeds.
- Help Scout's own docs leave some of this open (see docs/connectors/helpscout.md); where a
  guess is wrong — ``closed`` absent from ``users[]``, a field that is not a number — the metric
  fails with an error naming the field instead of showing zeros.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from feeds.config.secrets import read_secret
from feeds.connectors.base import Context
from feeds.connectors.kit.api import ApiClient, ApiError, BudgetSpent, ShapeError, number_header, seconds_header
from feeds.connectors.kit.budget import Budget
from feeds.connectors.kit.day import utc_iso
from feeds.connectors.kit.native import Member, NativeConnector, NativeOptions, PollContext, native_type, secret_place
from feeds.connectors.kit.oauth import ClientCredentials

if TYPE_CHECKING:
    from feeds.config.schema import FeedConfig

API = "https://api.helpscout.net"
PLUS_PER_MINUTE = 400.0  # the documented limit of the cheapest plan with reports; the header corrects it
MAX_PAGES = 200  # 10,000 users or teams at 50 a page: past that, a paging loop, not a roster
REPORTS_NEED = ('a Plus or Pro plan (on Standard: this plan has no reports API) and, for the app\'s user, '
                'the "Reports: View reports" permission')


@dataclass(frozen=True)
class HelpScoutOptions(NativeOptions):
    """Help Scout takes no keys of its own: ``base_url`` (default https://api.helpscout.net) and
    ``rate_share`` come from the kit, the app id and secret from ``[feed.auth]``."""


def secret_hint(feed: FeedConfig) -> str:
    return f"the app secret in {secret_place(feed)}"


def forbidden(path: str, body: Any) -> str:
    """What a 403 needs, by the endpoint refused (Help Scout's wording of the reason varies)."""
    if path.startswith("/v2/reports"):
        detail = _reason(body).lower()
        if "plan" in detail:
            return 'a Plus or Pro plan: this plan has no reports API (Help Scout says: "' + _reason(body) + '")'
        if "permission" in detail:
            return 'the "Reports: View reports" permission for the user the app belongs to'
        return REPORTS_NEED
    return "the app's user to be an Account Owner or Administrator who can see every user and team"


def _reason(body: Any) -> str:
    if not isinstance(body, dict):
        return ""
    errors = (body.get("_embedded") or {}).get("errors") if isinstance(body.get("_embedded"), dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict) and isinstance(errors[0].get("message"), str):
        return errors[0]["message"][:160]
    message = body.get("message")
    return message[:160] if isinstance(message, str) else ""


def learn(headers: httpx.Headers, budget: Budget) -> None:
    """``X-RateLimit-Limit-Minute`` is the account's limit (it differs by plan and add-ons)."""
    budget.learn("account", number_header(headers, "X-RateLimit-Limit-Minute"))


class HelpScoutConnector(NativeConnector):
    vendor = "Help Scout"
    SUBS = {"tickets": ("tickets_solved",), "happiness": ("csat",)}

    def __init__(self, feed: FeedConfig, ctx: Context, *, sleep: Callable[[float], None] | None = None) -> None:
        base = feed.options.base_url.rstrip("/") or API
        host = urlsplit(base).netloc
        super().__init__(feed, ctx, f"helpscout:{feed.auth.client_id}" + ("" if base == API else f"@{host}"))
        hint = secret_hint(feed)
        credentials = ClientCredentials(base + "/v2/oauth2/token", feed.auth.client_id,
                                        read_secret(feed.auth, ctx.base_dir), vendor=self.vendor, secret_hint=hint,
                                        style="form", clock=ctx.clock)
        self.api = ApiClient(base, credentials, vendor=self.vendor, secret_hint=hint,
                             budget=Budget({"account": PLUS_PER_MINUTE}, feed.options.rate_share, ctx.clock),
                             timeout=feed.timeout, max_bytes=feed.max_bytes, verify_tls=feed.verify_tls,
                             ca_file=feed.ca_file, clock=ctx.clock, sleep=sleep or ctx.sleep,
                             waits=[seconds_header("X-RateLimit-Retry-After")], learn=learn, forbidden=forbidden)
        self._report: dict[str, Any] | ApiError | None = None  # this poll's company report, read once

    # --- the roster --------------------------------------------------------------------------
    def read_roster(self, ctx: PollContext) -> tuple[list[Member], dict[str, str]]:
        teams: dict[str, str] = {}
        membership: dict[str, list[str]] = {}  # user id -> the teams listing them
        for team in self._pages("/v2/teams", "teams", "team list"):
            tid = _id(team, "teams[].id")
            teams[tid] = str(team.get("name") or f"Team {tid}")
            for user in self._pages(f"/v2/teams/{tid}/members", "users", f"members of team {tid}"):
                membership.setdefault(_id(user, "users[].id"), []).append(tid)
        members = []
        for user in self._pages("/v2/users", "users", "user list"):
            uid = _id(user, "users[].id")
            name = " ".join(str(user.get(k) or "").strip() for k in ("firstName", "lastName")).strip()
            # a user in several teams is shown in the one with the lowest id: the same every hour
            team = min(membership[uid], key=_sort_key) if uid in membership else None
            photo = user.get("photoUrl")
            members.append(Member(uid, name or f"User {uid}", team,  # never the e-mail address on a wall
                                  photo if isinstance(photo, str) and photo else None))
        roster = {m.id for m in members}
        # users who are in reports but not in /v2/users (deleted): asked about once, then let be
        self.state["strangers"] = sorted((set(self.state.get("strangers") or ()) | self.unknown) - roster)
        return members, teams

    def _pages(self, path: str, key: str, what: str) -> list[dict[str, Any]]:
        """Every item of a HAL list, following ``_links.next`` (re-based on ``base_url``, so a
        proxy or test server in front of Help Scout keeps answering the later pages too)."""
        out: list[dict[str, Any]] = []
        url: str | None = path
        for _ in range(MAX_PAGES):
            assert url is not None
            doc = self.api.get(url, what=what).data
            if not isinstance(doc, dict):
                raise ShapeError(f"Help Scout's {what} is not a HAL document")
            items = (doc.get("_embedded") or {}).get(key) if isinstance(doc.get("_embedded"), dict) else None
            total = (doc.get("page") or {}).get("totalElements") if isinstance(doc.get("page"), dict) else None
            if items is None and total:
                raise ShapeError(f"Help Scout's {what} says {total} items but has no _embedded.{key}")
            out += [i for i in items or () if isinstance(i, dict)]
            href = (((doc.get("_links") or {}).get("next") or {}).get("href")) if isinstance(doc.get("_links"), dict) else None
            if not isinstance(href, str) or not href:
                return out
            parts = urlsplit(href)
            url = parts.path + (f"?{parts.query}" if parts.query else "")
        raise ShapeError(f"Help Scout's {what} has more than {MAX_PAGES} pages: stopped following its next links")

    # --- the report --------------------------------------------------------------------------
    def collect(self, ctx: PollContext) -> None:
        self._report = None
        self.fetch("tickets", lambda: self._take(ctx, "closed", "tickets_solved", "closed"))
        self.fetch("happiness", lambda: self._take(ctx, "happinessScore", "csat", "happiness"))

    def company_report(self, ctx: PollContext) -> dict[str, Any]:
        """Today's company report, asked for once a poll however many metrics read it."""
        if self._report is None:
            try:
                self._report = self._read_report(ctx)
            except BudgetSpent as exc:  # no partial report to show: the last good numbers stay, marked stale
                self._report = ApiError(f"chalkwall's share of the rate limit is spent for {exc.retry_after or 0:.0f} s",
                                        "budget", retry_after=exc.retry_after)
            except ApiError as exc:
                self._report = exc
        if isinstance(self._report, ApiError):
            raise self._report
        return self._report

    def _read_report(self, ctx: PollContext) -> dict[str, Any]:
        end = max(int(ctx.now), int(ctx.start) + 1)  # Help Scout wants end after start, even at 00:00:00
        doc = self.api.get("/v2/reports/company", {"start": utc_iso(ctx.start), "end": utc_iso(end)},
                           what="company report").data
        users = doc.get("users") if isinstance(doc, dict) else None
        if not isinstance(users, list):
            raise ShapeError("Help Scout's company report has no users[] list")
        rows: dict[str, dict[str, Any]] = {}
        for row in users:
            if not isinstance(row, dict) or row.get("user") in (None, ""):
                raise ShapeError("Help Scout's company report has a users[] entry without a user id (users[].user)")
            rows[str(row["user"])] = row
        return rows

    def _take(self, ctx: PollContext, field: str, metric: str, key: str) -> None:
        """One metric out of the report: every row must carry ``field`` as a number, or nothing of
        it is taken (the last good values stay, and the warning names the field)."""
        rows = self.company_report(ctx)
        values: dict[str, float] = {}
        for uid, row in rows.items():
            value = row.get(field)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                seen = "has none" if field not in row else f"has {type(value).__name__} {str(value)[:40]!r}"
                raise ShapeError(f"Help Scout's company report gives no number in users[].{field} for user {uid} "
                                 f"({seen}): {metric} cannot be read from it")
            values[uid] = round(float(value), 2) if field == "happinessScore" else float(value)
        for uid in rows:
            if uid not in self._roster_ids() and uid not in (self.state.get("strangers") or ()):
                self.saw_agent(uid)
        self.state[key] = values

    def day_metrics(self, ctx: PollContext, agents: list[str]) -> dict[str, dict[str, float | None]]:
        closed = self.state.get("closed") or {}
        happiness = self.state.get("happiness") or {}
        return {a: {"tickets_solved": float(closed.get(a, 0.0)), "csat": float(happiness.get(a, 0.0))}
                for a in agents}

    def new_day(self, ctx: PollContext) -> None:
        super().new_day(ctx)
        self.state["closed"], self.state["happiness"], self.state["strangers"] = {}, {}, []

    # --- chalkwall check --online ---------------------------------------------------------------
    def probes(self, ctx: PollContext) -> dict[str, Callable[[], str]]:
        self._report = None

        def probe(field: str) -> Callable[[], str]:
            def call() -> str:
                rows = self.company_report(ctx)
                missing = [uid for uid, row in rows.items()
                           if isinstance(row.get(field), bool) or not isinstance(row.get(field), (int, float))]
                if missing:
                    raise ShapeError(f"Help Scout's company report gives no number in users[].{field} "
                                     f"(user {missing[0]})")
                if not rows:
                    return f"today's company report lists no users yet (users[].{field} not seen)"
                return f"today's company report: users[].{field} for {len(rows)} users"
            return call

        return {"tickets": probe("closed"), "happiness": probe("happinessScore")}


def _id(item: dict[str, Any], where: str) -> str:
    value = item.get("id")
    if value is None or isinstance(value, bool) or value == "":
        raise ShapeError(f"Help Scout sent an entry without an id ({where})")
    return str(value)


def _sort_key(team_id: str) -> int:
    return int(team_id) if team_id.isdigit() else 0


TYPE = native_type("helpscout", HelpScoutConnector, HelpScoutOptions,
                   summary="Help Scout Inbox API 2.0: closed conversations and happiness score per user (Plus/Pro)",
                   interval=60.0, auth=("client_id", "secret"), secret="Help Scout app secret")
