"""The native-connector kit on a toy vendor API served for real on 127.0.0.1: nulls before the
first good read, last good values kept (never a zero) when a sub-fetch fails, 403 stops asking,
401 refreshes once, 429 waits as the vendor asks, a spent budget gives partial numbers marked as
catching up, the state survives a restart, and midnight starts a new day."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from fakes.base import Fault, FakeAPI, Request, Response
from feeds.config.schema import FeedConfig
from feeds.connectors.base import Context
from feeds.connectors.kit.api import ApiClient, ApiError, StaticCredentials, epoch_header, seconds_header
from feeds.connectors.kit.budget import Budget
from feeds.connectors.kit.native import Member, NativeConnector, NativeOptions, PollContext, check_base_url
from feeds.connectors.kit.oauth import ClientCredentials
from feeds.model import FeedError
from helpers import FakeClock

TZ = "Europe/Stockholm"


class Toy(FakeAPI):
    """Agents a1, a2; tickets served 2 a page after a cursor; ratings in one list."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock)
        self.tickets: list[dict[str, Any]] = []  # {"id", "owner", "solved_at" | None, "v"} in change order
        self.ratings: list[dict[str, Any]] = []
        self.token_ok = {"t1"}
        self.route("GET", "/agents", lambda r: self._auth(r) or Response.json(
            [{"id": "a1", "name": "Åsa Ödegård", "team": "t"}, {"id": "a2", "name": "Дмитрий Смирнов", "team": "t"}]))
        self.route("GET", "/tickets", self._tickets)
        self.route("GET", "/ratings", lambda r: self._auth(r) or Response.json(self.ratings))
        self.route("POST", "/token", self._token)
        self.issued = 0

    def _auth(self, req: Request) -> Response | None:
        if req.headers.get("authorization", "").removeprefix("Bearer ") not in self.token_ok:
            return Response.json({"message": "bad token"}, 401)
        return None

    def _tickets(self, req: Request) -> Response:
        if (refused := self._auth(req)) is not None:
            return refused
        after = int(req.arg("after", "0") or 0)
        page = self.tickets[after:after + 2]
        return Response.json({"tickets": page, "next": after + len(page), "more": after + 2 < len(self.tickets)})

    def _token(self, req: Request) -> Response:
        self.issued += 1
        token = f"t{self.issued}"
        self.token_ok = {token}
        return Response.json({"access_token": token, "expires_in": 7200})


@dataclass(frozen=True)
class ToyOptions(NativeOptions):
    pass


class ToyConnector(NativeConnector):
    vendor = "Toy"
    SUBS = {"tickets": ("tickets_solved",), "ratings": ("csat", "csat_count")}

    def __init__(self, feed: FeedConfig, ctx: Context, api: ApiClient) -> None:
        super().__init__(feed, ctx, "toy:test")
        self.api = api

    def read_roster(self, ctx: PollContext) -> tuple[list[Member], dict[str, str]]:
        rows = self.api.get("/agents", what="agent list").data
        return [Member(a["id"], a["name"], a["team"]) for a in rows], {"t": "Team"}

    def collect(self, ctx: PollContext) -> None:
        self.fetch("tickets", lambda: self._tickets())
        self.fetch("ratings", lambda: self._ratings())

    def _tickets(self) -> None:
        while True:
            page = self.api.get("/tickets", {"after": self.state.get("cursor", 0)}, what="ticket list").data
            for t in page["tickets"]:
                self.saw_agent(t["owner"])
                self.tally.ticket(t["id"], t["owner"], t["solved_at"], t["solved_at"] is not None)
            self.state["cursor"] = page["next"]
            self.checkpoint()
            if not page["more"]:
                return

    def _ratings(self) -> None:
        for r in self.api.get("/ratings", what="ratings").data:
            self.tally.rating(r["id"], r["agent"], r["at"], r["good"])


@pytest.fixture
def toy(clock: FakeClock) -> Any:
    clock.now = 1_795_500_000.0  # 2026-11-18, mid-morning in Stockholm
    api = Toy(clock).start()
    yield api
    api.stop()


def connector(toy: Toy, clock: FakeClock, state: Path | None, credentials: Any = None, limits: dict[str, float] | None = None,
              sleeps: list[float] | None = None) -> ToyConnector:
    def sleep(seconds: float) -> None:
        (sleeps if sleeps is not None else []).append(seconds)
        clock.advance(seconds)

    api = ApiClient(toy.base_url, credentials or StaticCredentials.bearer("t1"), vendor="Toy",
                    secret_hint="the Toy token in feed.auth.token_env", budget=Budget(limits or {"account": 1000.0}, 1.0, clock),
                    clock=clock, sleep=sleep, waits=[seconds_header("X-Wait"), epoch_header("X-Reset")],
                    forbidden=lambda path, body: "an admin token")
    feed = FeedConfig(type="demo", interval=60.0, options=ToyOptions())
    return ToyConnector(feed, Context(Path("."), clock, TZ, state), api)


def metrics(snapshot: Any) -> dict[str, dict[str, float]]:
    return {a.id: dict(a.metrics) for a in snapshot.agents}


def test_a_metric_is_null_until_its_first_good_read_and_never_a_made_up_zero(toy: Toy, clock: FakeClock) -> None:
    toy.inject(Fault(503, body='{"message": "down"}'), path="/ratings", times=10)
    toy.tickets = [{"id": 1, "owner": "a1", "solved_at": clock.now - 60}]
    snap = connector(toy, clock, None).poll()
    assert metrics(snap) == {"a1": {"tickets_solved": 1.0}, "a2": {"tickets_solved": 0.0}}
    assert {"csat", "csat_count"} <= snap.empty_metrics
    assert any("Toy ratings" in w and "no good reading today" in w for w in snap.warnings)
    assert snap.notes == ("Toy ratings unreadable: csat and csat_count not yet read today",)


def test_a_failed_sub_fetch_keeps_its_last_good_values_and_says_since_when(toy: Toy, clock: FakeClock) -> None:
    c = connector(toy, clock, None)
    toy.tickets = [{"id": 1, "owner": "a1", "solved_at": clock.now - 60}]
    toy.ratings = [{"id": "r1", "agent": "a1", "at": clock.now - 30, "good": True}]
    c.poll()
    toy.tickets.append({"id": 2, "owner": "a1", "solved_at": clock.now})
    toy.inject(Fault(500, body="oops"), path="/tickets", times=4)  # the first try and 3 retries
    clock.advance(60)
    snap = c.poll()
    assert metrics(snap)["a1"] == {"tickets_solved": 1.0, "csat": 100.0, "csat_count": 1.0}
    assert any(w.startswith("Toy tickets: ") and "tickets_solved kept from" in w for w in snap.warnings)
    clock.advance(60)
    assert metrics(c.poll())["a1"]["tickets_solved"] == 2.0


def test_a_ticket_seen_twice_reassigned_or_reopened_counts_once_for_its_owner_now(toy: Toy, clock: FakeClock) -> None:
    c = connector(toy, clock, None)
    t = clock.now - 100
    toy.tickets = [{"id": 1, "owner": "a1", "solved_at": t}, {"id": 2, "owner": "a1", "solved_at": t},
                   {"id": 1, "owner": "a1", "solved_at": t},  # the same change again (an overlapping page)
                   {"id": 2, "owner": "a2", "solved_at": t},  # reassigned after the solve
                   {"id": 3, "owner": "a2", "solved_at": t}, {"id": 3, "owner": "a2", "solved_at": None}]  # reopened
    assert {a: m["tickets_solved"] for a, m in metrics(c.poll()).items()} == {"a1": 1.0, "a2": 1.0}
    toy.tickets.append({"id": 1, "owner": "a1", "solved_at": t})  # seen again in a later poll
    assert {a: m["tickets_solved"] for a, m in metrics(c.poll()).items()} == {"a1": 1.0, "a2": 1.0}


def test_403_is_one_clear_error_naming_what_is_needed_and_is_not_asked_again(toy: Toy, clock: FakeClock, logs: Any) -> None:
    from helpers import events_named

    toy.inject(Fault(403, body='{"error": "Forbidden"}'), path="/ratings", times=1)
    c = connector(toy, clock, None)
    first = c.poll()
    assert any("does not allow ratings (HTTP 403): it needs an admin token" in w for w in first.warnings)
    clock.advance(60)
    c.poll()
    assert len(toy.calls("/ratings")) == 1
    assert len(events_named(logs, "connector_problem")) == 1


def test_401_with_a_static_token_names_the_secret_to_fix_and_leaks_nothing(toy: Toy, clock: FakeClock) -> None:
    c = connector(toy, clock, None, credentials=StaticCredentials.bearer("wrong-secret-123"))
    with pytest.raises(FeedError) as caught:
        c.poll()
    assert "check the Toy token in feed.auth.token_env" in str(caught.value)
    assert "wrong-secret-123" not in str(caught.value)


def test_oauth_client_credentials_are_asked_for_again_once_after_a_401(toy: Toy, clock: FakeClock) -> None:
    creds = ClientCredentials(toy.base_url + "/token", "id", "s3cret", vendor="Toy", secret_hint="feed.auth.token_file",
                              clock=clock)
    c = connector(toy, clock, None, credentials=creds)
    c.poll()
    assert creds.fetched == 1
    toy.token_ok = {"revoked-elsewhere"}  # the vendor forgot the token early
    clock.advance(60)
    c.poll()
    assert creds.fetched == 2 and not c.errors


def test_429_waits_for_retry_after_or_the_vendors_own_header_within_the_deadline(toy: Toy, clock: FakeClock) -> None:
    sleeps: list[float] = []
    toy.inject(Fault(429, {"Retry-After": "7"}), path="/tickets", times=1)
    toy.inject(Fault(429, {"X-Wait": "3"}), path="/ratings", times=1)
    c = connector(toy, clock, None, sleeps=sleeps)
    c.poll()
    assert sleeps == [7.0, 3.0] and not c.errors
    toy.inject(Fault(429, {"X-Reset": str(int(clock.now) + 500)}), path="/tickets", times=1)
    clock.advance(60)
    snap = c.poll()  # 500 s is past the poll's deadline: no waiting, a clear note, the values kept
    assert any("rate-limiting ticket list (HTTP 429)" in w for w in snap.warnings)


def test_a_spent_budget_returns_partial_numbers_marked_catching_up_and_goes_on_next_poll(toy: Toy, clock: FakeClock,
                                                                                         tmp_path: Path) -> None:
    toy.tickets = [{"id": n, "owner": "a1", "solved_at": clock.now - 10} for n in range(10)]  # 5 pages
    c = connector(toy, clock, tmp_path, limits={"account": 2.0})  # 2 a minute: not 5 pages in one poll
    snap = c.poll()
    assert metrics(snap)["a1"]["tickets_solved"] < 10
    assert any("catching up" in w for w in snap.warnings)
    assert snap.notes == ("Catching up with Toy: today's numbers are partial",)
    for _ in range(5):
        clock.advance(60)
        snap = c.poll()
    assert metrics(snap)["a1"]["tickets_solved"] == 10
    assert not any("catching up" in w for w in snap.warnings)


def test_a_restart_resumes_from_the_saved_cursor_with_the_same_numbers(toy: Toy, clock: FakeClock, tmp_path: Path) -> None:
    toy.tickets = [{"id": n, "owner": "a2", "solved_at": clock.now - 10} for n in range(5)]
    first = connector(toy, clock, tmp_path)
    before = metrics(first.poll())
    first.close()
    asked = len(toy.calls("/tickets"))
    again = connector(toy, clock, tmp_path)
    assert metrics(again.poll()) == before
    assert [r.arg("after") for r in toy.calls("/tickets")[asked:]] == ["5"]


def test_local_midnight_starts_a_new_day_of_zeros_once_the_tickets_are_read(toy: Toy, clock: FakeClock) -> None:
    c = connector(toy, clock, None)
    toy.tickets = [{"id": 1, "owner": "a1", "solved_at": clock.now}]
    c.poll()
    clock.advance(24 * 3600)
    assert metrics(c.poll())["a1"]["tickets_solved"] == 0.0


def test_an_unknown_agent_on_a_ticket_refreshes_the_roster_at_once_but_not_every_poll(toy: Toy, clock: FakeClock) -> None:
    c = connector(toy, clock, None)
    c.poll()
    toy.tickets = [{"id": 1, "owner": "a9", "solved_at": clock.now}]
    clock.advance(400)
    c.poll()
    clock.advance(60)
    c.poll()
    assert len(toy.calls("/agents")) == 2


@pytest.mark.parametrize("url, ok", [("https://acme.zendesk.com", True), ("http://127.0.0.1:8080", True),
                                     ("http://localhost:1", True), ("http://acme.zendesk.com", False),
                                     ("https://acme.zendesk.com/api/v2", False), ("ftp://x", False),
                                     ("https://user:pw@acme.zendesk.com", False)])
def test_base_url_is_a_bare_origin_and_https_except_on_loopback(url: str, ok: bool) -> None:
    assert (check_base_url(url) is None) == ok


def test_a_budget_never_lets_more_than_its_share_through_in_any_60_seconds(clock: FakeClock) -> None:
    from feeds.connectors.kit.budget import Bucket

    bucket = Bucket(10.0, 0.25, clock)  # Zendesk's incremental export: 10 a minute, 25 % of it
    spent: list[float] = []
    for _ in range(400):  # a caller that waits exactly as long as it is told, then spends
        wait = bucket.wait()
        clock.advance(wait if wait > 0 else 0.7)
        if bucket.wait() == 0:
            bucket.spend()
            spent.append(clock.now)
    worst = max(sum(1 for t in spent if s <= t < s + 60) for s in spent)
    assert worst == 2  # 2.5 allowed: never 3 in a minute, and the share is used
    assert len(spent) >= (spent[-1] - spent[0]) / 60 * 2 - 2


def test_the_state_file_holds_exactly_the_tally_after_changes_deletions_and_a_new_day(tmp_path: Path) -> None:
    import sqlite3

    from feeds.connectors.kit.store import StateStore
    from feeds.connectors.kit.tally import Tally

    store = StateStore(tmp_path, "toy:rows")
    tally = Tally()
    for n in range(50):
        tally.ticket(n, "a1", 1000.0 + n, True)
    tally.rating("r1", "a1", 1000.0, True)
    store.save({"cursor": 1}, None, {"tickets": tally.tickets, "ratings": tally.ratings})
    tally.ticket(3, "a2", 2000.0, True)  # reassigned
    tally.ticket(4, "a1", None, False)  # reopened
    del tally.ratings["r1"]  # taken away directly, as a connector may
    tally.prune(1010.0)  # a new day: the early solves go
    store.save({"cursor": 2}, None, {"tickets": tally.tickets, "ratings": tally.ratings})
    store.close()
    state, tables = StateStore(tmp_path, "toy:rows").load() or ({}, {})
    assert state == {"cursor": 2}
    assert tables.get("tickets", {}) == dict(tally.tickets) and tables.get("ratings", {}) == {}
    rows = sqlite3.connect(tmp_path / "chalkwall.sqlite3").execute("SELECT count(*) FROM connector_rows").fetchone()
    assert rows == (len(tally.tickets),) and "3" in tally.tickets and "4" not in tally.tickets


def test_an_answer_in_an_undocumented_shape_is_a_shape_problem_of_that_part_alone(toy: Toy, clock: FakeClock) -> None:
    toy.tickets = [{"id": 1, "owner": "a1", "solved_at": clock.now - 60}]
    toy.route("GET", "/ratings", lambda r: Response.json({"ratings": "not a list"}))  # an object, not the list
    toy._routes.reverse()  # the new route first
    snap = connector(toy, clock, None).poll()
    assert metrics(snap)["a1"]["tickets_solved"] == 1.0  # the tickets part still ran
    assert any("ratings: an answer for ratings is not in the documented shape" in w for w in snap.warnings)


def test_a_budget_spent_before_anything_was_read_leaves_the_metric_empty_not_zero(toy: Toy, clock: FakeClock) -> None:
    toy.tickets = [{"id": 1, "owner": "a1", "solved_at": clock.now - 60}]
    c = connector(toy, clock, None, limits={"account": 2.0})  # the roster and one page: no ratings call
    snap = c.poll()
    assert metrics(snap)["a1"]["tickets_solved"] == 1.0
    assert "csat" in snap.empty_metrics and "csat_count" in snap.empty_metrics  # null, never a made-up 0
