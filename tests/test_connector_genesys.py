"""The native Genesys Cloud connector against the fake Genesys Cloud API served for real on
127.0.0.1, on the fake's injected clock (a sleep advances it, so nothing really waits): the board
equals the scenario's expected calls handled and average handle time through the day and on a
25-hour DST day, with the roster and teams read over three pages or more; and every failure the
issue lists that applies to Genesys leaves the last good numbers on screen with a clear warning,
never a zero and never a secret."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from fakes.base import Fault
from fakes.genesys import AGG, GenesysError, GenesysFake, team_uuid
from fakes.scenario import Call, Scenario, dst_scenario, make_scenario, vendor_id
from feeds.config.schema import AuthConfig, FeedConfig
from feeds.connectors.base import Context
from feeds.connectors.genesys import GenesysConnector, GenesysOptions
from feeds.connectors.kit.day import utc_iso
from feeds.connectors.kit.native import PollContext
from feeds.model import FeedError
from helpers import FakeClock, config_problems, events_named, write_config

SCENARIO = make_scenario()
SECRET_ENV = "CHALKWALL_TEST_GENESYS_SECRET"
ALL_PERMISSIONS = GenesysFake.PERMISSIONS


@pytest.fixture
def secret(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(SECRET_ENV, GenesysFake.CLIENT_SECRET)
    return GenesysFake.CLIENT_SECRET


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(SCENARIO.at(9, 30))


def serve(scenario: Scenario, clock: Any, **knobs: Any) -> Iterator[GenesysFake]:
    fake = GenesysFake(scenario, clock, **knobs)
    with fake.running():
        yield fake


@pytest.fixture
def fake(clock: FakeClock) -> Iterator[GenesysFake]:
    yield from serve(SCENARIO, clock, max_page=3)  # 8 users: 3 pages; 4 members a team: 2 pages


def connector(fake: GenesysFake, clock: FakeClock, state: Path | None = None, *, sleeps: list[float] | None = None,
              client_id: str = GenesysFake.CLIENT_ID, tz: str = SCENARIO.tz, **feed: Any) -> GenesysConnector:
    def sleep(seconds: float) -> None:
        (sleeps if sleeps is not None else []).append(seconds)
        clock.advance(seconds)

    config = FeedConfig(type="genesys", options=GenesysOptions(base_url=fake.base_url, login_url=fake.base_url),
                        auth=AuthConfig(client_id=client_id, token_env=SECRET_ENV), **feed)
    return GenesysConnector(config, Context(Path("."), clock, tz, state), sleep=sleep)


def board(snapshot: Any) -> dict[str, dict[str, float | None]]:
    """Each agent's metrics; a null one (left out of the snapshot) as None."""
    return {a.id: {m: a.metrics.get(m) for m in ("calls_handled", "aht_seconds")} for a in snapshot.agents}


def same(got: dict[str, dict[str, float | None]], want: dict[str, dict[str, float | None]]) -> bool:
    """Equal boards: the same agents, counts exactly, handle times to the microsecond."""
    return got.keys() == want.keys() and all(
        got[a]["calls_handled"] == want[a]["calls_handled"]
        and (got[a]["aht_seconds"] == want[a]["aht_seconds"] is None
             or (None not in (got[a]["aht_seconds"], want[a]["aht_seconds"])
                 and abs(got[a]["aht_seconds"] - want[a]["aht_seconds"]) < 1e-6))  # type: ignore[operator]
        for a in want)


def queries(fake: GenesysFake) -> list[dict[str, Any]]:
    return [r.json() for r in fake.calls(AGG)]


# --- the numbers ------------------------------------------------------------------------------

def test_the_board_equals_the_scenario_in_the_morning_the_afternoon_and_at_the_end_of_the_day(
        fake: GenesysFake, clock: FakeClock, secret: str) -> None:
    c = connector(fake, clock)
    for hour, minute in ((9, 30), (15, 45), (23, 59)):
        clock.now = SCENARIO.at(hour, minute)
        snap = c.poll()
        want = SCENARIO.expected(clock.now, "genesys")
        assert same(board(snap), want), f"at {hour}:{minute:02d}"
        assert snap.warnings == ()
        assert sum(m["calls_handled"] or 0 for m in want.values()) > 0
    body = queries(fake)[-1]
    assert body["interval"] == f"{utc_iso(SCENARIO.day_start())}/{utc_iso(clock.now)}"
    assert body["groupBy"] == ["userId"] and body["metrics"] == ["tHandle"]
    assert body["filter"]["predicates"] == [{"type": "dimension", "dimension": "mediaType", "operator": "matches",
                                             "value": "voice"}]  # calls: not chats, emails or messages
    assert len(fake.calls(AGG)) == 3  # one request a poll
    numbers = [r.arg("pageNumber") for r in fake.calls("/api/v2/users")]
    assert numbers == ["1", "2", "3"] * 3  # three pages each time; hours apart, so read each time


def test_the_25_hour_dst_day_starts_at_local_midnight_and_counts_the_whole_day(clock: FakeClock, secret: str) -> None:
    day = dst_scenario()
    clock.now = day.at(23, 30)
    for fake in serve(day, clock):
        snap = connector(fake, clock).poll()
        assert same(board(snap), day.expected(clock.now, "genesys"))
        assert queries(fake)[0]["interval"].startswith("2026-10-24T22:00:00Z/")  # CEST midnight, in UTC
        assert day.day_end() - day.day_start() == 25 * 3600


def test_a_call_counts_once_its_wrap_up_ends_and_never_twice_however_often_it_is_asked_for(
        fake: GenesysFake, clock: FakeClock, secret: str) -> None:
    call = min((c for c in SCENARIO.calls if c.start > SCENARIO.at(11)), key=lambda c: c.start)
    agent = vendor_id(call.agent, "genesys")
    c = connector(fake, clock)
    clock.now = call.end - 1  # talking and wrapping up done but for the last second: not handled yet
    before = board(c.poll())[agent]["calls_handled"]
    for _ in range(5):  # the whole day is asked for again each poll: the same call, counted once
        clock.advance(1 if clock.now < call.end else 20)
        snap = c.poll()
        assert same(board(snap), SCENARIO.expected(clock.now, "genesys"))
    assert board(snap)[agent]["calls_handled"] >= before + 1  # type: ignore[operator]


def test_agents_are_the_active_users_with_their_work_team_and_largest_picture(
        fake: GenesysFake, clock: FakeClock, secret: str) -> None:
    snap = connector(fake, clock).poll()
    people = {vendor_id(p.id, "genesys"): p for p in SCENARIO.roster()}
    assert {a.id for a in snap.agents} == set(people)
    for a in snap.agents:
        p = people[a.id]
        assert (a.name, a.team, a.avatar) == (p.name, team_uuid(p.team), p.avatar)  # x200, not the x96 one
    assert {t.id: t.name for t in snap.teams} == {team_uuid(t.id): t.name for t in SCENARIO.teams}
    members = [r for r in fake.calls("/api/v2/teams/") if r.path.endswith("/members")]
    assert len(members) >= 4  # 4 members a team at 3 a page: every team's second page was read too


def test_rows_no_user_is_attributed_to_are_left_out(fake: GenesysFake, clock: FakeClock, secret: str) -> None:
    import httpx

    clock.now = SCENARIO.at(16)
    token = httpx.post(fake.base_url + "/oauth/token", auth=(fake.client_id, fake.client_secret),
                       data={"grant_type": "client_credentials"}).json()["access_token"]
    answer = httpx.post(fake.base_url + AGG, headers={"Authorization": f"Bearer {token}"}, json=queries_body()).json()
    assert any("userId" not in r["group"] for r in answer["results"])  # the queue's share, in a userId grouping
    c = connector(fake, clock)
    assert same(board(c.poll()), SCENARIO.expected(clock.now, "genesys"))
    assert set(c.state["calls"]) <= {a.id for a in c.poll().agents}
    clock.advance(360)
    c.poll()
    assert len([r for r in fake.calls("/api/v2/users") if r.arg("pageNumber") == "1"]) == 1  # no unknown id seen


def test_a_users_handle_time_split_over_several_buckets_or_rows_is_added_up_and_a_userless_row_left_out(
        fake: GenesysFake, clock: FakeClock, secret: str) -> None:
    uid = vendor_id(SCENARIO.roster()[1].id, "genesys")

    def t_handle(count: int, total: int) -> dict[str, Any]:
        return {"metric": "tHandle", "stats": {"max": total, "min": 1, "count": count, "sum": total}}

    body = {"results": [{"group": {"userId": uid}, "data": [{"interval": "a", "metrics": [t_handle(2, 300_000)]},
                                                            {"interval": "b", "metrics": [t_handle(1, 60_000)]}]},
                        {"group": {"userId": uid, "mediaType": "voice"}, "data": [{"metrics": [t_handle(1, 40_000)]}]},
                        {"group": {"mediaType": "voice"}, "data": [{"metrics": [t_handle(9, 900_000)]}]}]}  # no user
    fake.inject(Fault(200, body=json.dumps(body)), path=AGG, times=1)
    c = connector(fake, clock)
    assert board(c.poll())[uid] == {"calls_handled": 4.0, "aht_seconds": 100.0}
    assert set(c.state["calls"]) == {uid}


def queries_body() -> dict[str, Any]:
    return {"interval": f"{utc_iso(SCENARIO.day_start())}/{utc_iso(SCENARIO.at(16))}", "groupBy": ["userId"],
            "metrics": ["tHandle", "nOffered"]}


def test_before_the_first_call_ends_every_agent_has_0_calls_and_no_average_not_an_error(
        fake: GenesysFake, clock: FakeClock, secret: str) -> None:
    clock.now = SCENARIO.at(6, 30)  # Genesys answers {} when nothing happened yet
    snap = connector(fake, clock).poll()
    assert snap.warnings == ()
    assert all(m == {"calls_handled": 0.0, "aht_seconds": None} for m in board(snap).values())


def test_local_midnight_starts_the_new_day_and_the_first_second_is_asked_for_without_error(
        fake: GenesysFake, clock: FakeClock, secret: str) -> None:
    c = connector(fake, clock)
    clock.now = SCENARIO.at(23, 59)
    assert any(m["calls_handled"] for m in board(c.poll()).values())
    clock.now = SCENARIO.day_end()  # exactly 00:00:00: the interval must still end after it starts
    snap = c.poll()
    assert snap.warnings == ()
    assert all(m == {"calls_handled": 0.0, "aht_seconds": None} for m in board(snap).values())
    assert queries(fake)[-1]["interval"] == f"{utc_iso(SCENARIO.day_end())}/{utc_iso(SCENARIO.day_end() + 1)}"


# --- the roster -------------------------------------------------------------------------------

def with_former_agents_calls(scenario: Scenario) -> Scenario:
    gone = next(p for p in scenario.people if not p.active)
    extra = tuple(Call(f"gone{n}", gone.id, scenario.at(8 + n), 120_000, 0, 30_000) for n in range(3))
    return replace(scenario, calls=scenario.calls + extra)


def test_a_deactivated_agents_calls_are_not_shown_and_ask_for_the_roster_once_not_every_poll(
        clock: FakeClock, secret: str) -> None:
    day = with_former_agents_calls(SCENARIO)
    clock.now = day.at(11)
    for fake in serve(day, clock):
        c = connector(fake, clock)
        for _ in range(20):  # 20 minutes
            snap = c.poll()
            clock.advance(60)
        gone = vendor_id(next(p for p in day.people if not p.active).id, "genesys")
        assert gone not in board(snap)
        assert same(board(snap), day.expected(clock.now - 60, "genesys"))
        first_pages = [r for r in fake.calls("/api/v2/users") if r.arg("pageNumber") == "1"]
        assert len(first_pages) == 2  # the first read, and one look 5 minutes later for the unknown id


def test_an_agent_deactivated_during_the_day_leaves_at_the_next_hourly_roster_refresh(
        fake: GenesysFake, clock: FakeClock, secret: str) -> None:
    c = connector(fake, clock)
    leaver = SCENARIO.roster()[3]
    uid = vendor_id(leaver.id, "genesys")
    assert uid in board(c.poll())
    fake.scenario = replace(SCENARIO, people=tuple(replace(p, active=False) if p.id == leaver.id else p
                                                   for p in SCENARIO.people))
    clock.advance(30 * 60)
    assert uid in board(c.poll())  # not before the roster is due
    clock.advance(31 * 60)
    snap = c.poll()
    assert uid not in board(snap) and len(snap.agents) == len(SCENARIO.roster()) - 1


def test_a_listed_user_who_is_not_active_is_not_shown_even_if_genesys_sends_one(
        fake: GenesysFake, clock: FakeClock, secret: str) -> None:
    page = {"entities": [{"id": "u-active", "name": "Åsa Ödegård", "state": "active"},
                         {"id": "u-gone", "name": "Former Agent", "state": "inactive"},
                         {"id": "u-deleted", "name": "Deleted Agent", "state": "deleted"}],
            "pageSize": 100, "pageNumber": 1, "total": 3, "pageCount": 1}
    fake.inject(Fault(200, body=json.dumps(page)), path="/api/v2/users", times=1)
    snap = connector(fake, clock).poll()
    assert [(a.id, a.name) for a in snap.agents] == [("u-active", "Åsa Ödegård")]
    assert fake.calls("/api/v2/users")[0].arg("state") == "active"


def test_an_expired_teams_cursor_reads_the_team_list_again_from_its_start(
        fake: GenesysFake, clock: FakeClock, secret: str) -> None:
    real, refused = fake._cursor_page, []

    def expire_once(req: Any, path: str, items: list[dict[str, Any]]) -> dict[str, Any]:
        if req.arg("after") and not refused:
            refused.append(req.path)
            raise GenesysError(400, "bad.request", "The cursor [{cursor}] has expired.", cursor=req.arg("after"))
        return real(req, path, items)

    fake._cursor_page = expire_once  # type: ignore[method-assign]
    snap = connector(fake, clock).poll()
    assert refused and snap.warnings == ()
    people = {vendor_id(p.id, "genesys"): team_uuid(p.team) for p in SCENARIO.roster()}
    assert {a.id: a.team for a in snap.agents} == people


def test_without_the_teams_permission_the_board_has_its_numbers_no_teams_and_says_which_permission(
        clock: FakeClock, secret: str) -> None:
    for fake in serve(SCENARIO, clock, permissions={"analytics:conversationAggregate:view"}):
        snap = connector(fake, clock).poll()
        assert same(board(snap), SCENARIO.expected(clock.now, "genesys"))
        assert snap.teams == () and all(a.team is None for a in snap.agents)
        assert any('Genesys Cloud teams: ' in w and '"groups:team:view" permission' in w for w in snap.warnings)


# --- failures ---------------------------------------------------------------------------------

def test_429_waits_for_retry_after_or_genesys_own_reset_header_or_backs_off_without_either(
        fake: GenesysFake, clock: FakeClock, secret: str) -> None:
    sleeps: list[float] = []
    c = connector(fake, clock, sleeps=sleeps)
    fake.inject(Fault(429, {"Retry-After": "7", "inin-ratelimit-reset": "30"}), path=AGG, times=1)
    assert same(board(c.poll()), SCENARIO.expected(clock.now, "genesys")) and sleeps == [7.0]
    fake.inject(Fault(429, {"inin-ratelimit-reset": "4"}, '{"code": "too.many.requests.retry.after"}'),
                path=AGG, times=1)
    clock.advance(60)
    assert same(board(c.poll()), SCENARIO.expected(clock.now, "genesys")) and sleeps[1:] == [4.0]
    fake.inject(Fault(429, body='{"message": "Rate limit exceeded the maximum"}'), path=AGG, times=1)
    clock.advance(60)
    assert same(board(c.poll()), SCENARIO.expected(clock.now, "genesys"))
    assert 1.0 <= sleeps[2] <= 2.0 and len(sleeps) == 3  # the first equal-jitter step


def test_a_429_asking_for_longer_than_the_poll_may_wait_keeps_the_last_good_numbers(
        fake: GenesysFake, clock: FakeClock, secret: str) -> None:
    sleeps: list[float] = []
    c = connector(fake, clock, sleeps=sleeps)
    good = board(c.poll())
    clock.advance(3600 - 60)  # more calls have ended since, but the query is refused
    fake.inject(Fault(429, {"inin-ratelimit-reset": "58"}), path=AGG, times=1)
    snap = c.poll()
    assert board(snap) == good and not same(good, SCENARIO.expected(clock.now, "genesys"))
    assert sleeps == []
    assert any(w.startswith("Genesys Cloud calls: Genesys Cloud is rate-limiting conversation aggregates query "
                            "(HTTP 429); asked to wait 58 s; calls_handled, aht_seconds kept from")
               for w in snap.warnings), snap.warnings


@pytest.mark.parametrize("fault, tries, said", [
    (Fault(503, body="<html>down</html>"), 4, "not answering conversation aggregates query (HTTP 503)"),
    (Fault(delay=0.8), 1, "did not answer conversation aggregates query within 0.5 s"),
    (Fault(truncate=True), 1, "network error talking to Genesys Cloud (conversation aggregates query)"),
    (Fault(200, body='{"results": [{"group": {"userId": "a'), 1, "truncated or invalid JSON answer to conversation"),
    (Fault(400, body='{"message": "Invalid interval", "code": "bad.request"}'), 1, "HTTP 400 (Invalid interval)"),
])
def test_a_failed_query_keeps_the_last_good_numbers_marked_stale_and_the_next_poll_catches_up(
        fake: GenesysFake, clock: FakeClock, secret: str, fault: Fault, tries: int, said: str) -> None:
    c = connector(fake, clock, timeout=0.5)
    good = board(c.poll())
    clock.advance(1800)
    fake.inject(fault, path=AGG, times=tries)
    snap = c.poll()
    assert board(snap) == good
    assert any(said in w and "calls_handled, aht_seconds kept from" in w for w in snap.warnings), snap.warnings
    clock.advance(60)
    snap = c.poll()  # no cursor to lose: the next query covers midnight to now again
    assert same(board(snap), SCENARIO.expected(clock.now, "genesys")) and snap.warnings == ()


def test_a_single_503_is_retried_within_the_poll(fake: GenesysFake, clock: FakeClock, secret: str) -> None:
    fake.inject(Fault(503), path=AGG, times=1)
    snap = connector(fake, clock).poll()
    assert same(board(snap), SCENARIO.expected(clock.now, "genesys")) and snap.warnings == ()


def test_metrics_are_null_until_the_first_good_query_never_a_made_up_zero(
        fake: GenesysFake, clock: FakeClock, secret: str) -> None:
    fake.inject(Fault(503), path=AGG, times=10)
    snap = connector(fake, clock).poll()
    assert all(m == {"calls_handled": None, "aht_seconds": None} for m in board(snap).values())
    assert len(snap.agents) == len(SCENARIO.roster())
    assert {"calls_handled", "aht_seconds"} <= snap.empty_metrics
    assert any("no good reading today" in w for w in snap.warnings)


@pytest.mark.parametrize("body, field", [
    ({"results": [{"group": {"userId": "u1"}, "data": [{"metrics": [{"metric": "tHandle", "stats": {"count": 2}}]}]}]},
     "metrics[tHandle].stats.sum"),
    ({"results": [{"group": {"userId": "u1"}, "data": [{"metrics": [{"metric": "tHandle", "stats": {"sum": 9}}]}]}]},
     "metrics[tHandle].stats.count"),
    ({"results": {"u1": 3}}, "has no results[] list"),
])
def test_an_answer_in_a_shape_the_docs_do_not_give_fails_loudly_naming_the_field(
        fake: GenesysFake, clock: FakeClock, secret: str, body: dict[str, Any], field: str) -> None:
    c = connector(fake, clock)
    good = board(c.poll())
    fake.inject(Fault(200, body=json.dumps(body)), path=AGG, times=1)
    clock.advance(60)
    snap = c.poll()
    assert board(snap) == good
    assert any(field in w for w in snap.warnings), snap.warnings


def test_an_expired_token_is_asked_for_again_once_and_the_poll_goes_on(
        fake: GenesysFake, clock: FakeClock, secret: str) -> None:
    c = connector(fake, clock)
    c.poll()
    fake.expire_tokens()
    clock.advance(60)
    snap = c.poll()
    assert snap.warnings == () and same(board(snap), SCENARIO.expected(clock.now, "genesys"))
    assert len(fake.calls("/oauth/token")) == 2
    login = fake.calls("/oauth/token")[0]
    assert login.headers["authorization"].startswith("Basic ")  # the client id and secret, as Genesys asks


def test_a_wrong_secret_is_one_clear_error_naming_the_config_keys_and_showing_no_secret(
        fake: GenesysFake, clock: FakeClock, monkeypatch: pytest.MonkeyPatch, logs: Any) -> None:
    monkeypatch.setenv(SECRET_ENV, "not-the-client-secret-4711")
    with pytest.raises(FeedError) as caught:
        connector(fake, clock).poll()
    message = str(caught.value)
    assert "refused the client credentials (HTTP 401)" in message
    assert f"feed.auth.client_id and the OAuth client secret in feed.auth.token_env ({SECRET_ENV})" in message
    assert "not-the-client-secret-4711" not in message + logs.getvalue()
    assert len(fake.calls("/oauth/token")) == 1  # no retry loop on a refused sign-in


def test_a_token_refused_twice_names_the_secret_to_fix(fake: GenesysFake, clock: FakeClock, secret: str) -> None:
    c = connector(fake, clock)
    c.poll()
    fake.inject(Fault(401, body='{"code": "bad.credentials"}'), path=AGG, times=2)
    clock.advance(60)
    snap = c.poll()
    assert any("refused the credentials for conversation aggregates query (HTTP 401): check the OAuth client "
               f"secret in feed.auth.token_env ({SECRET_ENV})" in w for w in snap.warnings), snap.warnings


def test_without_the_analytics_permission_it_says_which_once_and_does_not_ask_again(
        clock: FakeClock, secret: str, logs: Any) -> None:
    for fake in serve(SCENARIO, clock, permissions={"groups:team:view"}):
        c = connector(fake, clock)
        snap = c.poll()
        assert any("does not allow conversation aggregates query (HTTP 403)" in w
                   and '"analytics:conversationAggregate:view" permission' in w for w in snap.warnings), snap.warnings
        assert len(snap.agents) == len(SCENARIO.roster()) and {"calls_handled", "aht_seconds"} <= snap.empty_metrics
        for _ in range(3):
            clock.advance(60)
            c.poll()
        assert len(fake.calls(AGG)) == 1
        assert len([e for e in events_named(logs, "connector_problem") if e["fetch"] == "calls"]) == 1


def test_chalkwall_takes_a_quarter_of_the_limit_genesys_reports_and_never_bursts_past_it(
        clock: FakeClock, secret: str) -> None:
    for fake in serve(SCENARIO, clock, rate_limit=20):  # the token's limit says 20: chalkwall's share 5 a minute
        c = connector(fake, clock, interval=5.0)
        start = clock.now
        polls, warnings = 0, []
        while clock.now < start + 300:
            warnings += c.poll().warnings
            polls += 1
            clock.advance(5)
        at = [r.at for r in fake.calls("/api/v2/")]
        assert c.api.budget.buckets["account"].capacity == 5.0  # learnt from inin-ratelimit-allowed
        assert max(sum(1 for t in at if s <= t < s + 60) for s in at) <= 10  # the bucket + one minute's refill
        assert len(at) <= 5 + 5 + 5 * 5 and polls >= 50  # roster, the bucket, then 5 a minute, for 60 polls
        assert not [w for w in warnings if "HTTP 429" in w]  # Genesys never had to refuse one
        assert any("share of the rate limit" in w or "rate budget spent" in w for w in warnings), set(warnings)


def test_the_state_survives_a_restart_and_a_second_account_in_the_same_file_starts_afresh(
        fake: GenesysFake, clock: FakeClock, secret: str, tmp_path: Path) -> None:
    first = connector(fake, clock, tmp_path)
    good = board(first.poll())
    first.close()
    clock.advance(120)
    fake.inject(Fault(503), path=AGG, times=4)
    again = connector(fake, clock, tmp_path)
    snap = again.poll()
    assert board(snap) == good  # the last good numbers, from the state file, while the query fails
    assert len([r for r in fake.calls("/api/v2/users") if r.arg("pageNumber") == "1"]) == 1  # roster kept too
    again.close()
    rows = sqlite3.connect(tmp_path / "chalkwall.sqlite3").execute("SELECT account FROM connector_state").fetchall()
    assert rows == [(f"genesys:{GenesysFake.CLIENT_ID}@{fake.base_url.split('//')[1]}",)]
    other = connector(fake, clock, tmp_path, client_id="another-org-client")
    assert other.state == {}  # a second Genesys org does not read the first one's state
    other.close()


def test_nothing_secret_reaches_the_log_the_warnings_or_the_state(
        fake: GenesysFake, clock: FakeClock, secret: str, logs: Any, tmp_path: Path) -> None:
    c = connector(fake, clock, tmp_path)
    c.poll()
    fake.inject(Fault(401), path=AGG, times=2)
    fake.inject(Fault(429, {"inin-ratelimit-reset": "500"}), path="/api/v2/users", times=1)
    clock.advance(4000)  # the roster is due again, and is refused too: nothing read, so the poll fails
    with pytest.raises(FeedError) as caught:
        c.poll()
    snap = c.snapshot(PollContext(clock.now, *c.day.window(clock.now), clock.now))
    c.close()
    tokens = list(fake.tokens)
    assert tokens and len(snap.warnings) == 2  # the roster, and the calls
    stored = (tmp_path / "chalkwall.sqlite3").read_bytes().decode("latin-1")
    for text in (logs.getvalue(), " ".join(snap.warnings), str(caught.value), stored):
        assert secret not in text and not any(t in text for t in tokens)


# --- the config ---------------------------------------------------------------------------------

AUTH_KEYS = f'[feed.auth]\nclient_id = "{GenesysFake.CLIENT_ID}"\ntoken_env = "{SECRET_ENV}"\n'
AUTH = AUTH_KEYS + '[board]\nrank_by = "calls_handled"\n'


@pytest.mark.parametrize("feed, problem", [
    ('type = "genesys"\n', 'feed.region: missing (required for feed type "genesys" unless both base_url and login_url'),
    ('type = "genesys"\nbase_url = "http://127.0.0.1:9"\n', "feed.region: missing"),
    ('type = "genesys"\nregion = "mypurecloud.dee"\n', 'feed.region: must be a Genesys Cloud region\'s domain'),
    ('type = "genesys"\nregion = "mypurecloud.dee"\n', '(did you mean "mypurecloud.de"?)'),
    ('type = "genesys"\nregion = "https://api.mypurecloud.de"\n', '(did you mean "mypurecloud.de"?)'),
    ('type = "genesys"\nregion = "mypurecloud.de"\nbase_url = "http://api.mypurecloud.de"\n',
     "feed.base_url: must be https://"),
    ('type = "genesys"\nregion = "mypurecloud.de"\nlogin_url = "https://login.example.com/oauth"\n',
     "feed.login_url: must hold the scheme, host and port only"),
    ('type = "genesys"\nregion = "mypurecloud.de"\nsubdomain = "acme"\n', 'feed.subdomain: unknown key'),
])
def test_check_rejects_a_missing_region_a_bad_url_or_region_and_a_foreign_key(
        tmp_path: Path, feed: str, problem: str) -> None:
    problems = config_problems(tmp_path, f"[feed]\n{feed}{AUTH}")
    assert any(problem in p for p in problems), problems


@pytest.mark.parametrize("auth, problem", [
    (f'[feed.auth]\ntoken_env = "{SECRET_ENV}"\n', 'feed.auth.client_id: missing (required for feed type "genesys")'),
    (f'[feed.auth]\nclient_id = "x"\n', 'feed type "genesys" needs exactly one of token_env or token_file'),
    (AUTH_KEYS + 'type = "bearer"\n', 'feed.auth.type: feed type "genesys" picks its own scheme'),
    (AUTH_KEYS + 'email = "a@b.c"\n', 'feed.auth.email: does not apply to feed type "genesys"'),
])
def test_check_rejects_missing_or_foreign_auth_keys(tmp_path: Path, auth: str, problem: str) -> None:
    problems = config_problems(tmp_path, f'[feed]\ntype = "genesys"\nregion = "mypurecloud.de"\n{auth}')
    assert any(problem in p for p in problems), problems


def test_a_known_or_new_pure_cloud_region_passes_and_sets_the_hosts(tmp_path: Path, secret: str) -> None:
    from feeds.config.schema import load_config

    for region in ("mypurecloud.de", "usw2.pure.cloud", "zzz9.pure.cloud"):
        path = write_config(tmp_path, f'[feed]\ntype = "genesys"\nregion = "{region}"\n{AUTH}')
        loaded = load_config(str(path))
        c = GenesysConnector(loaded.config.feed, Context(tmp_path))
        assert (c.api.base_url, c.api.credentials.token_url) == (  # type: ignore[attr-defined]
            f"https://api.{region}", f"https://login.{region}/oauth/token")
        assert loaded.config.feed.interval == 60.0
        c.close()


# --- the command line: chalkwall check --online and chalkwall feed, against a fake on the real clock ---

def today_scenario() -> Scenario:
    return make_scenario(day=datetime.now(ZoneInfo(SCENARIO.tz)).date())


def real_config(tmp_path: Path, fake: GenesysFake) -> Path:
    return write_config(tmp_path, f'[feed]\ntype = "genesys"\nbase_url = "{fake.base_url}"\n'
                                  f'login_url = "{fake.base_url}"\n{AUTH}'
                                  f'[periods]\ntimezone = "{SCENARIO.tz}"\n[state]\ndir = "{tmp_path / "state"}"\n')


def test_check_online_signs_in_reads_each_part_once_and_says_what_the_board_gets(
        tmp_path: Path, secret: str, capsys: pytest.CaptureFixture[str]) -> None:
    from display.cli import main

    for fake in serve(today_scenario(), time.time):
        assert main(["check", "--online", "--config", str(real_config(tmp_path, fake))]) == 0
        out = capsys.readouterr().out
        assert "genesys roster: OK (8 active agents in 2 teams)" in out
        assert "genesys calls: OK (today so far: " in out and "-> calls_handled, aht_seconds" in out
        assert "genesys teams: OK (work teams can be read)" in out
        assert len(fake.calls(AGG)) == 1
        assert not (tmp_path / "state" / "chalkwall.sqlite3").exists() or sqlite3.connect(
            tmp_path / "state" / "chalkwall.sqlite3").execute("SELECT count(*) FROM connector_state").fetchone() == (0,)


def test_check_online_without_the_analytics_permission_exits_1_naming_it_and_the_missing_metrics(
        tmp_path: Path, secret: str, capsys: pytest.CaptureFixture[str]) -> None:
    from display.cli import main

    for fake in serve(today_scenario(), time.time, permissions={"groups:team:view"}):
        assert main(["check", "--online", "--config", str(real_config(tmp_path, fake))]) == 1
        err = capsys.readouterr().err
        assert "genesys calls: FAILED: Genesys Cloud does not allow conversation aggregates query (HTTP 403)" in err
        assert '"analytics:conversationAggregate:view" permission' in err
        assert "the board will have no calls_handled, aht_seconds" in err
        assert "1 of 3 part(s) of the genesys feed cannot be read" in err


def test_chalkwall_feed_prints_the_board_keeps_the_connectors_state_and_no_secret(
        tmp_path: Path, secret: str, capsys: pytest.CaptureFixture[str]) -> None:
    from display.cli import main

    day = today_scenario()
    for fake in serve(day, time.time):
        assert main(["feed", "--config", str(real_config(tmp_path, fake))]) == 0
        out = capsys.readouterr().out
        printed = json.loads(out)
        assert {a["id"] for a in printed["agents"]} == {vendor_id(p.id, "genesys") for p in day.roster()}
        assert secret not in out and not any(t in out for t in fake.tokens)
        (saved,) = sqlite3.connect(tmp_path / "state" / "chalkwall.sqlite3").execute(
            "SELECT snapshot FROM connector_state").fetchone()
        doc = json.loads(saved)
        at = datetime.fromisoformat(doc["generated_at"].replace("Z", "+00:00")).timestamp()
        published = {a["id"]: {"aht_seconds": None, **a["metrics"]} for a in doc["agents"]}
        assert same(published, day.expected(at, "genesys"))


@pytest.mark.slow
def test_chalkwall_run_end_to_end_publishes_the_fakes_numbers(tmp_path: Path, secret: str) -> None:
    from helpers import WallProcess

    day = today_scenario()
    for fake in serve(day, time.time):
        config = write_config(tmp_path, f'[feed]\ntype = "genesys"\nbase_url = "{fake.base_url}"\n'
                                        f'login_url = "{fake.base_url}"\n{AUTH}[periods]\ntimezone = "{day.tz}"\n')
        wall = WallProcess(config, tmp_path / "state")
        try:
            status = wall.wait_status(lambda s: (s.get("board") or {}).get("agents") == len(day.roster()), timeout=30)
            (saved,) = sqlite3.connect(tmp_path / "state" / "chalkwall" / "chalkwall.sqlite3").execute(
                "SELECT snapshot FROM connector_state").fetchone()
        finally:
            code = wall.stop()
        doc = json.loads(saved)
        at = datetime.fromisoformat(doc["generated_at"].replace("Z", "+00:00")).timestamp()
        published = {a["id"]: {"aht_seconds": None, **a["metrics"]} for a in doc["agents"]}
        assert same(published, day.expected(at, "genesys"))
        assert code == 0 and "Traceback" not in "".join(wall.lines)
        assert secret not in "".join(wall.lines) + json.dumps(status)
        assert not any(t in "".join(wall.lines) for t in fake.tokens)
