"""The native Genesys Cloud connector (voice): ``[feed] type = "genesys"``.

- Sign-in: OAuth2 client credentials at ``https://login.{region}/oauth/token`` (``[feed.auth]
  client_id``, the client secret in ``token_env``/``token_file``, sent as HTTP Basic, as Genesys's
  own SDKs do); the bearer token is asked for again once after a 401.
- Metrics, one request a poll: ``POST /api/v2/analytics/conversations/aggregates/query`` for
  ``[local midnight, now)``, ``groupBy: ["userId"]``, ``metrics: ["tHandle"]``, voice only. Per
  user, ``calls_handled`` is tHandle's ``count`` and ``aht_seconds`` its ``sum`` ÷ ``count`` ÷ 1000
  (Genesys times are ms). tHandle posts when the handling ends (after-call work included), so a
  call counts on the day and in the poll after its wrap-up. It is an aggregate, so there is no
  cursor: every poll re-asks for the whole day, and a failed poll keeps the last good numbers
  (marked stale) until the next one succeeds.
- Roster, at most hourly: the active users (``/api/v2/users?state=active``, numbered pages), and
  the work teams (``/api/v2/teams`` and each team's ``/members``, cursor pages). A user is in at
  most one work team. Teams need ``groups:team:view``; without it the board shows no teams and
  says so, but the numbers still come.
- Where Genesys answers in a shape its documentation does not give (no ``results`` list, a
  tHandle without ``count`` or ``sum``), the metric fails with an error naming the field, never
  zeros.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from feeds.config.secrets import read_secret
from feeds.config.validate import did_you_mean
from feeds.connectors.base import Context
from feeds.connectors.kit.api import ApiClient, ApiError, BudgetSpent, ShapeError, number_header, seconds_header
from feeds.connectors.kit.budget import Budget
from feeds.connectors.kit.day import utc_iso
from feeds.connectors.kit.native import (Member, NativeConnector, NativeOptions, PollContext, check_base_url,
                                         native_type, secret_place)
from feeds.connectors.kit.oauth import ClientCredentials

if TYPE_CHECKING:
    from feeds.config.schema import FeedConfig
    from feeds.config.validate import Reader

AGGREGATES = "/api/v2/analytics/conversations/aggregates/query"
USERS = "/api/v2/users"
TEAMS = "/api/v2/teams"
TOKEN_PER_MINUTE = 300.0  # client.credentials.token.rate.per.minute; inin-ratelimit-allowed corrects it
PAGE_SIZE = 100
MAX_PAGES = 500  # 50,000 users or members at 100 a page: past that, a paging loop, not a roster
AGGREGATE_NEEDS = ('the "analytics:conversationAggregate:view" permission (Analytics > Conversation Aggregate > '
                   "View) in a role given to the OAuth client, for the divisions its agents are in")
TEAMS_NEEDS = 'the "groups:team:view" permission (Groups > Team > View) in a role given to the OAuth client'
# The regions Genesys's SDKs know (PureCloudRegionHosts); a newer "*.pure.cloud" one is accepted too.
REGIONS = ("mypurecloud.com", "mypurecloud.ie", "mypurecloud.com.au", "mypurecloud.jp", "mypurecloud.de",
           "usw2.pure.cloud", "cac1.pure.cloud", "apne2.pure.cloud", "euw2.pure.cloud", "aps1.pure.cloud",
           "use2.us-gov-pure.cloud", "sae1.pure.cloud", "mec1.pure.cloud", "apne3.pure.cloud", "euc2.pure.cloud",
           "mxc1.pure.cloud", "apse1.pure.cloud")
_NEW_REGION = re.compile(r"[a-z]{2,5}\d{1,2}\.pure\.cloud")


def _check_region(value: str) -> str | None:
    if not value or value in REGIONS or _NEW_REGION.fullmatch(value):
        return None
    host = value.lower().strip().removeprefix("https://").removeprefix("http://").split("/")[0]
    for prefix in ("api.", "login.", "apps."):
        host = host.removeprefix(prefix)
    if host in REGIONS or _NEW_REGION.fullmatch(host):
        return f'must be the region\'s domain only, like "mypurecloud.de", not "{value}" (did you mean "{host}"?)'
    return (f'must be a Genesys Cloud region\'s domain, as in https://apps.<region> (e.g. "mypurecloud.com", '
            f'"mypurecloud.de", "usw2.pure.cloud"), not "{value}"' + did_you_mean(host, REGIONS))


@dataclass(frozen=True)
class GenesysOptions(NativeOptions):
    """``region``: the org's Genesys Cloud region, e.g. "mypurecloud.de" (API https://api.{region},
    sign-in https://login.{region}); ``login_url`` replaces the sign-in host as ``base_url`` does the
    API host (scheme, host and port only). ``region`` is required unless both are given."""

    region: str = field(default="", metadata={"check": _check_region})
    login_url: str = field(default="", metadata={"check": check_base_url})

    def check(self, reader: Reader, key: str) -> None:
        if not self.region and not (self.base_url and self.login_url):
            reader.problem(f"{key}.region", 'missing (required for feed type "genesys" unless both base_url and '
                                            'login_url are given): the region\'s domain, e.g. "mypurecloud.de"')


def secret_hint(feed: FeedConfig) -> str:
    return f"the OAuth client secret in {secret_place(feed)}"


def forbidden(path: str, body: Any) -> str:
    """What a 403 needs, by the endpoint refused."""
    if path.startswith("/api/v2/analytics"):
        return AGGREGATE_NEEDS
    if path.startswith(TEAMS):
        return TEAMS_NEEDS
    return "an OAuth client with the Client Credentials grant and a role for the divisions its agents are in"


def learn(headers: httpx.Headers, budget: Budget) -> None:
    """``inin-ratelimit-allowed`` is the token's limit a minute (300 unless support raised it)."""
    budget.learn("account", number_header(headers, "inin-ratelimit-allowed"))


class GenesysConnector(NativeConnector):
    vendor = "Genesys Cloud"
    SUBS = {"calls": ("calls_handled", "aht_seconds")}

    def __init__(self, feed: FeedConfig, ctx: Context, *, sleep: Callable[[float], None] | None = None) -> None:
        options: GenesysOptions = feed.options
        api = options.base_url.rstrip("/") or f"https://api.{options.region}"
        login = options.login_url.rstrip("/") or f"https://login.{options.region}"
        super().__init__(feed, ctx, f"genesys:{feed.auth.client_id}@{urlsplit(api).netloc}")
        hint = secret_hint(feed)
        secret = read_secret(feed.auth, ctx.base_dir)
        credentials = ClientCredentials(login + "/oauth/token", feed.auth.client_id, secret, vendor=self.vendor,
                                        secret_hint=hint, style="basic", clock=ctx.clock)
        self.api = ApiClient(api, credentials, vendor=self.vendor, secret_hint=hint,
                             budget=Budget({"account": TOKEN_PER_MINUTE}, options.rate_share, ctx.clock),
                             timeout=feed.timeout, max_bytes=feed.max_bytes, verify_tls=feed.verify_tls,
                             ca_file=feed.ca_file, headers={"Accept": "application/json"}, clock=ctx.clock, sleep=sleep or ctx.sleep,
                             waits=[seconds_header("inin-ratelimit-reset")], learn=learn, forbidden=forbidden)
        self.teams_problem: str | None = None  # why the last roster read has no fresh teams

    # --- the roster --------------------------------------------------------------------------
    def read_roster(self, ctx: PollContext) -> tuple[list[Member], dict[str, str]]:
        users = list(self._numbered(USERS, {"state": "active"}, "user list"))
        try:
            teams, team_of = self._teams()
            self.teams_problem = None
        except ApiError as exc:  # the numbers still come; teams as last read, and a note saying why
            self.teams_problem = str(exc)
            teams = dict(self.state.get("teams") or {})
            team_of = {row[0]: row[2] for row in self.state.get("roster") or [] if row[2] in teams}
        members = []
        for user in users:
            uid = _id(user, "users entities[].id")
            if user.get("state", "active") != "active":  # asked for active users only; never show another
                continue
            name = user.get("name")
            members.append(Member(uid, str(name).strip() if isinstance(name, str) and name.strip() else
                                  str(user.get("email") or f"User {uid}"), team_of.get(uid), _avatar(user)))
        roster = {m.id for m in members}
        # ids in the analytics but not active users (deactivated, deleted): asked about once a day
        self.state["strangers"] = sorted((set(self.state.get("strangers") or ()) | self.unknown) - roster)
        return members, teams

    def _teams(self) -> tuple[dict[str, str], dict[str, str]]:
        teams: dict[str, str] = {}
        team_of: dict[str, str] = {}
        for team in self._cursored(TEAMS, "team list"):
            tid = _id(team, "teams entities[].id")
            teams[tid] = str(team.get("name") or f"Team {tid}")
            for member in self._cursored(f"{TEAMS}/{tid}/members", f"members of team {tid}"):
                team_of.setdefault(_id(member, "team members entities[].id"), tid)
        return teams, team_of

    def _numbered(self, path: str, params: dict[str, str], what: str) -> Iterator[dict[str, Any]]:
        """Every entity of a numbered listing (``pageNumber``, ``pageCount``)."""
        for number in range(1, MAX_PAGES + 1):
            doc = self._listing(self.api.get(path, {**params, "pageSize": PAGE_SIZE, "pageNumber": number},
                                             what=what).data, what)
            yield from doc["entities"]
            count = doc.get("pageCount")
            if not doc["entities"] or (isinstance(count, int) and number >= count) or \
                    (not isinstance(count, int) and not doc.get("nextUri")):
                return
        raise ShapeError(f"Genesys Cloud's {what} has more than {MAX_PAGES} pages: stopped reading it")

    def _cursored(self, path: str, what: str) -> list[dict[str, Any]]:
        """Every entity of a cursor listing. A cursor refused part-way (HTTP 400: it expired) reads
        the whole listing again from its start, once."""
        try:
            return self._follow(path, what)
        except ApiError as exc:
            if exc.status != 400:
                raise
            return self._follow(path, what)

    def _follow(self, path: str, what: str) -> list[dict[str, Any]]:
        """Follow ``nextUri`` (a path, so re-based on base_url: a proxy or test server keeps answering)."""
        out: list[dict[str, Any]] = []
        uri = f"{path}?pageSize={PAGE_SIZE}"
        for _ in range(MAX_PAGES):
            doc = self._listing(self.api.get(uri, what=what).data, what)
            out += doc["entities"]
            nxt = doc.get("nextUri")
            if not isinstance(nxt, str) or not nxt:
                return out
            parts = urlsplit(nxt)
            uri = parts.path + (f"?{parts.query}" if parts.query else "")
        raise ShapeError(f"Genesys Cloud's {what} has more than {MAX_PAGES} pages: stopped following nextUri")

    @staticmethod
    def _listing(doc: Any, what: str) -> dict[str, Any]:
        if not isinstance(doc, dict) or not isinstance(doc.get("entities", []), list):
            raise ShapeError(f"Genesys Cloud's {what} has no entities[] list")
        return {**doc, "entities": [e for e in doc.get("entities") or () if isinstance(e, dict)]}

    # --- the day's calls ---------------------------------------------------------------------
    def collect(self, ctx: PollContext) -> None:
        self.fetch("calls", lambda: self._calls(ctx))

    def query(self, ctx: PollContext) -> dict[str, list[float]]:
        """Today's tHandle per user so far: user id -> [count, sum in ms]."""
        end = max(int(ctx.now), int(ctx.start) + 1)  # an interval must end after it starts, even at 00:00:00
        body = {"interval": f"{utc_iso(ctx.start)}/{utc_iso(end)}", "groupBy": ["userId"], "metrics": ["tHandle"],
                "filter": {"type": "and", "predicates": [
                    {"type": "dimension", "dimension": "mediaType", "operator": "matches", "value": "voice"}]}}
        doc = self.api.post(AGGREGATES, body, what="conversation aggregates query").data
        if not isinstance(doc, dict):
            raise ShapeError("Genesys Cloud's conversation aggregates answer is not a JSON object")
        results = doc.get("results", [])  # Genesys answers {} when nothing happened yet
        if not isinstance(results, list):
            raise ShapeError("Genesys Cloud's conversation aggregates answer has no results[] list")
        out: dict[str, list[float]] = {}
        for result in results:
            group = result.get("group") if isinstance(result, dict) else None
            uid = group.get("userId") if isinstance(group, dict) else None
            if not uid:  # a row no user is attributed to (a queue's share of the call)
                continue
            for bucket in result.get("data") or ():
                for metric in (bucket.get("metrics") or ()) if isinstance(bucket, dict) else ():
                    if isinstance(metric, dict) and metric.get("metric") == "tHandle":
                        count, total = _stat(metric, "count"), _stat(metric, "sum")
                        row = out.setdefault(str(uid), [0.0, 0.0])
                        row[0] += count
                        row[1] += total
        return out

    def _calls(self, ctx: PollContext) -> None:
        try:
            calls = self.query(ctx)
        except BudgetSpent as exc:  # nothing partial to show: the last good numbers stay, marked stale
            raise ApiError(f"chalkwall's share of the rate limit is spent for {exc.retry_after or 0:.0f} s",
                           "budget", retry_after=exc.retry_after) from None
        strangers = set(self.state.get("strangers") or ())
        for uid in calls:
            if uid not in strangers:
                self.saw_agent(uid)
        self.state["calls"] = calls

    def day_metrics(self, ctx: PollContext, agents: list[str]) -> dict[str, dict[str, float | None]]:
        calls = self.state.get("calls") or {}
        out: dict[str, dict[str, float | None]] = {}
        for agent in agents:
            count, total = calls.get(agent, (0.0, 0.0))
            out[agent] = {"calls_handled": float(count), "aht_seconds": total / count / 1000 if count else None}
        return out

    def new_day(self, ctx: PollContext) -> None:
        super().new_day(ctx)
        self.state["calls"], self.state["strangers"] = {}, []

    def warnings(self, ctx: PollContext) -> Iterator[str]:
        yield from super().warnings(ctx)
        if self.teams_problem:
            yield f"{self.vendor} teams: {self.teams_problem}; teams kept from the last good roster"

    # --- chalkwall check --online ---------------------------------------------------------------
    def probes(self, ctx: PollContext) -> dict[str, Callable[[], str]]:
        def calls() -> str:
            found = self.query(ctx)
            handled = sum(int(count) for count, _ in found.values())
            return f"today so far: {handled} voice calls handled (tHandle) by {len(found)} users"

        def teams() -> str:
            doc = self._listing(self.api.get(TEAMS, {"pageSize": 1}, what="team list").data, "team list")
            return "work teams can be read" if doc["entities"] else "no work teams set up (the board shows no teams)"

        return {"calls": calls, "teams": teams}


def _stat(metric: dict[str, Any], name: str) -> float:
    stats = metric.get("stats")
    value = stats.get(name) if isinstance(stats, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        seen = "it has none" if not isinstance(stats, dict) or name not in stats else f"it has {str(value)[:40]!r}"
        raise ShapeError(f"Genesys Cloud's aggregates give no number in results[].data[].metrics[tHandle].stats.{name} "
                         f"({seen}): calls_handled and aht_seconds cannot be read from it")
    return float(value)


def _id(item: dict[str, Any], where: str) -> str:
    value = item.get("id")
    if not isinstance(value, str) or not value:
        raise ShapeError(f"Genesys Cloud sent an entry without an id ({where})")
    return value


def _avatar(user: dict[str, Any]) -> str | None:
    """The largest of a user's profile images (``images[]``: ``resolution`` "x96", ``imageUri``)."""
    best: tuple[int, str] | None = None
    for image in user.get("images") or ():
        uri = image.get("imageUri") if isinstance(image, dict) else None
        if isinstance(uri, str) and uri:
            size = int(m.group()) if (m := re.search(r"\d+", str(image.get("resolution") or ""))) else 0
            if best is None or size > best[0]:
                best = (size, uri)
    return best[1] if best else None


TYPE = native_type("genesys", GenesysConnector, GenesysOptions,
                   summary="Genesys Cloud (voice): calls handled and average handle time per agent, from analytics "
                           "aggregates",
                   interval=60.0, auth=("client_id", "secret"), secret="Genesys Cloud OAuth client secret")
