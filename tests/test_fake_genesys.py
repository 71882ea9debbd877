"""The fake Genesys Cloud API itself: auth, paging, the clock, validation, every knob, and a small
reference reader showing that the scenario's numbers can be recomputed from what the fake serves."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from fakes.base import Fault
from fakes.genesys import AGG, GenesysFake, ms_iso, team_uuid
from fakes.scenario import Scenario, dst_scenario, make_scenario, vendor_id
from helpers import FakeClock

SCENARIO = make_scenario()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(SCENARIO.at(16))


@pytest.fixture
def make(clock: FakeClock) -> Iterator[Any]:
    started: list[GenesysFake] = []

    def start(scenario: Scenario = SCENARIO, **knobs: Any) -> tuple[GenesysFake, httpx.Client]:
        fake = GenesysFake(scenario, clock, **knobs).start()
        started.append(fake)
        return fake, httpx.Client(base_url=fake.base_url, timeout=5)
    yield start
    for fake in started:
        fake.stop()


def login(client: httpx.Client, fake: GenesysFake) -> dict[str, str]:
    reply = client.post("/oauth/token", auth=(fake.client_id, fake.client_secret),
                        data={"grant_type": "client_credentials"})
    assert reply.status_code == 200, reply.text
    return {"Authorization": "Bearer " + reply.json()["access_token"]}


def query(client: httpx.Client, auth: dict[str, str], start: float, end: float, **body: Any) -> httpx.Response:
    doc = {"interval": f"{ms_iso(start)}/{ms_iso(end)}", "groupBy": ["userId"], "metrics": ["tHandle"], **body}
    return client.post(AGG, json=doc, headers=auth)


def handle_stats(answer: dict[str, Any], metric: str = "tHandle") -> dict[str, tuple[int, float]]:
    """userId -> (count, sum) of one metric over every bucket."""
    out: dict[str, tuple[int, float]] = {}
    for result in answer.get("results", []):
        for bucket in result["data"]:
            for m in bucket["metrics"]:
                if m["metric"] == metric and "userId" in result["group"]:
                    count, total = out.get(result["group"]["userId"], (0, 0.0))
                    out[result["group"]["userId"]] = (count + m["stats"]["count"], total + m["stats"].get("sum", 0))
    return out


def read_board(client: httpx.Client, fake: GenesysFake, scenario: Scenario, now: float) -> dict[str, dict[str, Any]]:
    """The reference reader: what a correct connector computes from the fake's pages."""
    auth = login(client, fake)
    roster: list[str] = []
    uri: str | None = "/api/v2/users?pageSize=100"
    while uri:
        page = client.get(uri, headers=auth).json()
        roster += [u["id"] for u in page["entities"]]
        uri = page.get("nextUri")
    answer = query(client, auth, scenario.day_start(), now,
                   filter={"type": "and", "predicates": [{"dimension": "mediaType", "value": "voice"}]})
    assert answer.status_code == 200, answer.text
    stats = handle_stats(answer.json())
    board = {}
    for uid in roster:
        count, total = stats.get(uid, (0, 0.0))
        board[uid] = {"calls_handled": float(count), "aht_seconds": total / count / 1000 if count else None}
    return board


def assert_same(board: dict[str, dict[str, Any]], expected: dict[str, dict[str, Any]]) -> None:
    assert board.keys() == expected.keys()
    for uid, row in expected.items():
        assert board[uid]["calls_handled"] == row["calls_handled"], uid
        assert board[uid]["aht_seconds"] == pytest.approx(row["aht_seconds"]), uid


def test_a_token_is_given_only_for_the_right_client_credentials_and_grant(make: Any) -> None:
    fake, client = make()
    wrong = client.post("/oauth/token", auth=(fake.client_id, "nope"), data={"grant_type": "client_credentials"})
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    assert client.post("/oauth/token", data={"grant_type": "client_credentials"}).status_code == 401
    grant = client.post("/oauth/token", auth=(fake.client_id, fake.client_secret), data={"grant_type": "password"})
    assert grant.status_code == 400 and grant.json()["error"] == "unsupported_grant_type"
    good = client.post("/oauth/token", auth=(fake.client_id, fake.client_secret),
                       data={"grant_type": "client_credentials"})
    assert good.json()["token_type"] == "bearer" and good.json()["expires_in"] == 86400


def test_the_api_refuses_a_missing_or_unknown_bearer_token_with_genesys_error_bodies(make: Any) -> None:
    fake, client = make()
    missing = client.get("/api/v2/users")
    assert missing.status_code == 401 and missing.json()["code"] == "authentication.required"
    unknown = client.get("/api/v2/users", headers={"Authorization": "Bearer forged"})
    body = unknown.json()
    assert unknown.status_code == 401 and body["code"] == "bad.credentials" and body["status"] == 401
    assert body["contextId"] == unknown.headers["ININ-Correlation-Id"]
    assert client.get("/api/v2/users", headers=login(client, fake)).status_code == 200


def test_a_token_stops_working_when_its_lifetime_ends_and_a_fresh_one_works(make: Any, clock: FakeClock) -> None:
    fake, client = make(token_lifetime=600)
    auth = login(client, fake)
    assert client.get("/api/v2/users", headers=auth).status_code == 200
    clock.advance(600)
    assert client.get("/api/v2/users", headers=auth).json()["code"] == "bad.credentials"
    fresh = login(client, fake)
    assert client.get("/api/v2/users", headers=fresh).status_code == 200
    fake.expire_tokens()
    assert client.get("/api/v2/users", headers=fresh).status_code == 401


def test_users_come_in_pages_that_hold_every_active_agent_exactly_once(make: Any) -> None:
    fake, client = make(max_page=3)
    auth = login(client, fake)
    ids: list[str] = []
    pages = 0
    uri: str | None = "/api/v2/users?pageSize=100&expand=team"
    while uri:
        assert uri.startswith("/api/v2/users?")  # Genesys gives paths, not URLs
        page = client.get(uri, headers=auth).json()
        assert page["pageSize"] == 3 and page["pageNumber"] == pages + 1
        ids += [u["id"] for u in page["entities"]]
        assert all(u["team"]["id"] in {team_uuid(t.id) for t in SCENARIO.teams} for u in page["entities"])
        pages += 1
        uri = page.get("nextUri")
    assert pages == page["pageCount"] >= 3 and page["total"] == len(ids)
    assert sorted(ids) == sorted(vendor_id(p.id, "genesys") for p in SCENARIO.roster())


def test_deactivated_users_are_inactive_and_deleted_ones_show_only_when_asked(make: Any) -> None:
    deleted = SCENARIO.roster()[-1]
    fake, client = make(deleted=[deleted.id])
    auth = login(client, fake)

    def names(state: str) -> set[str]:
        return {u["name"] for u in client.get("/api/v2/users", params={"state": state, "pageSize": 100},
                                               headers=auth).json()["entities"]}
    assert names("inactive") == {"Former Agent"}
    assert names("deleted") == {deleted.name}
    assert deleted.name not in names("active") and "Some Customer" not in names("any")
    assert len(names("any")) == len(SCENARIO.roster()) + 1
    assert client.get("/api/v2/users", params={"state": "gone"}, headers=auth).json()["code"] == "invalid.value"


def test_teams_and_members_page_with_cursors_and_an_old_cursor_is_refused(make: Any, clock: FakeClock) -> None:
    fake, client = make(cursor_ttl=300)
    auth = login(client, fake)
    first = client.get("/api/v2/teams", params={"pageSize": 1}, headers=auth).json()
    second = client.get(first["nextUri"], headers=auth).json()
    assert {t["id"] for t in first["entities"] + second["entities"]} == {team_uuid(t.id) for t in SCENARIO.teams}
    assert "nextUri" not in second
    team = SCENARIO.teams[0]
    members: list[str] = []
    uri: str | None = f"/api/v2/teams/{team_uuid(team.id)}/members?pageSize=2"
    while uri:
        page = client.get(uri, headers=auth).json()
        members += [m["id"] for m in page["entities"]]
        uri = page.get("nextUri")
    mine = [p for p in SCENARIO.people if p.team == team.id and p.role != "end-user"]
    assert sorted(members) == sorted(vendor_id(p.id, "genesys") for p in mine) and len(mine) > 2
    clock.advance(301)
    assert client.get(first["nextUri"], headers=auth).status_code == 400


MID_CALL = next(c for c in SCENARIO.calls if SCENARIO.at(10) < c.start < SCENARIO.at(15))


@pytest.mark.parametrize("now", [SCENARIO.at(11), SCENARIO.at(16), SCENARIO.at(23, 59), MID_CALL.end - 1,
                                 MID_CALL.end + 0.001], ids=["11:00", "16:00", "23:59", "mid-call", "call-ended"])
def test_the_reference_reader_reproduces_the_scenario_numbers(make: Any, clock: FakeClock, now: float) -> None:
    clock.now = now
    fake, client = make(max_page=3)
    assert_same(read_board(client, fake, SCENARIO, clock.now), SCENARIO.expected(clock.now, "genesys"))


def test_the_reference_reader_reproduces_the_numbers_of_the_25_hour_day(make: Any, clock: FakeClock) -> None:
    dst = dst_scenario()
    clock.now = dst.at(23, 30)
    fake, client = make(dst)
    assert_same(read_board(client, fake, dst, clock.now), dst.expected(clock.now, "genesys"))


def test_a_call_counts_once_its_handling_ends_though_it_is_connected_from_the_start(make: Any,
                                                                                    clock: FakeClock) -> None:
    call = next(c for c in SCENARIO.calls if SCENARIO.at(9) < c.start < SCENARIO.at(16))
    uid, mine = vendor_id(call.agent, "genesys"), [c for c in SCENARIO.calls if c.agent == call.agent]
    fake, client = make()
    auth = login(client, fake)
    for now in (call.start + 1, call.end - 0.001, call.end + 0.001):
        clock.now = now
        answer = query(client, auth, SCENARIO.day_start(), SCENARIO.day_end(), metrics=["tHandle", "nConnected"]).json()
        assert handle_stats(answer).get(uid, (0, 0))[0] == sum(1 for c in mine if c.end < now)
        assert handle_stats(answer, "nConnected")[uid][0] == sum(1 for c in mine if c.start < now)
    ending = query(client, auth, SCENARIO.day_start(), call.end).json()  # the interval ends as the call does
    assert handle_stats(ending)[uid][0] == sum(1 for c in mine if c.end < call.end)


def test_nothing_before_the_first_call_gives_an_empty_answer(make: Any) -> None:
    fake, client = make()
    auth = login(client, fake)
    assert query(client, auth, SCENARIO.day_start(), SCENARIO.at(6)).json() == {}


def test_granularity_splits_the_interval_into_buckets_that_add_up(make: Any, clock: FakeClock) -> None:
    fake, client = make()
    auth = login(client, fake)
    whole = handle_stats(query(client, auth, SCENARIO.day_start(), clock.now).json())
    hourly = query(client, auth, SCENARIO.day_start(), clock.now, granularity="PT1H").json()
    assert handle_stats(hourly) == whole
    assert max(len(r["data"]) for r in hourly["results"]) > 1
    dst = dst_scenario()
    fake, client = make(dst)
    auth = login(client, fake)
    day = query(client, auth, dst.day_start(), dst.day_end(), granularity="P1D", timeZone="Europe/Stockholm").json()
    start, end = day["results"][0]["data"][0]["interval"].split("/")
    assert (start, end) == (ms_iso(dst.day_start()), ms_iso(dst.day_end()))  # one 25-hour day


@pytest.mark.parametrize("change", [
    {"interval": "2026-11-24T00:00:00Z"}, {"interval": "yesterday/today"},
    {"interval": "2026-11-24T10:00:00Z/2026-11-24T09:00:00Z"}, {"metrics": []}, {"metrics": ["tMagic"]},
    {"groupBy": ["agentName"]}, {"granularity": "hourly"}, {"timeZone": "Mars/Olympus"},
    {"filter": {"type": "xor", "predicates": []}}, {"filter": {"type": "and", "predicates": 3}}, {"filter": {"type": "and", "predicates": [{"dimension": "x"}]}},
])
def test_a_bad_query_body_gets_a_genesys_400(make: Any, change: dict[str, Any]) -> None:
    fake, client = make()
    doc = {"interval": "2026-11-23T23:00:00.000Z/2026-11-24T15:00:00.000Z", "metrics": ["tHandle"], **change}
    reply = client.post(AGG, json=doc, headers=login(client, fake))
    assert reply.status_code == 400 and reply.json()["code"] in ("bad.request", "invalid.value")
    assert set(reply.json()) >= {"message", "code", "status", "contextId"}


def test_a_query_that_is_not_json_is_refused(make: Any) -> None:
    fake, client = make()
    auth = login(client, fake)
    assert client.post(AGG, content=b"{", headers={**auth, "Content-Type": "application/json"}).status_code == 400
    assert client.post(AGG, content=b"{}", headers={**auth, "Content-Type": "text/plain"}).status_code == 415


def test_a_filter_keeps_only_the_users_it_names(make: Any, clock: FakeClock) -> None:
    fake, client = make()
    auth = login(client, fake)
    two = [vendor_id(p.id, "genesys") for p in SCENARIO.roster()[1:3]]
    filt = {"type": "or", "predicates": [{"dimension": "userId", "value": u} for u in two]}
    answer = query(client, auth, SCENARIO.day_start(), clock.now, filter=filt).json()
    assert sorted(handle_stats(answer)) == sorted(two) and all("userId" in r["group"] for r in answer["results"])


def test_queue_rows_come_without_a_user_unless_turned_off(make: Any, clock: FakeClock) -> None:
    for rows in (True, False):
        fake, client = make(queue_rows=rows)
        answer = query(client, login(client, fake), SCENARIO.day_start(), clock.now, metrics=["tHandle", "nOffered"])
        assert any("userId" not in r["group"] for r in answer.json()["results"]) is rows


def test_every_answer_carries_rate_limit_headers_and_the_limit_gives_429(make: Any, clock: FakeClock) -> None:
    for retry_after in (True, False):
        fake, client = make(rate_limit=3, retry_after=retry_after)
        auth = login(client, fake)
        counts = [client.get("/api/v2/users", headers=auth).headers["inin-ratelimit-count"] for _ in range(3)]
        assert counts == ["1", "2", "3"]
        clock.advance(20)
        limited = client.get("/api/v2/users", headers=auth)
        assert limited.status_code == 429 and limited.json()["code"] == "too.many.requests.retry.after"
        assert limited.headers["inin-ratelimit-allowed"] == "3" and limited.headers["inin-ratelimit-reset"] == "40"
        assert limited.headers.get("Retry-After") == ("40" if retry_after else None)
        clock.advance(40)
        assert client.get("/api/v2/users", headers=auth).status_code == 200


def test_missing_permissions_give_a_403_that_names_the_permission(make: Any, clock: FakeClock) -> None:
    fake, client = make(permissions=["groups:team:view"])
    auth = login(client, fake)
    denied = query(client, auth, SCENARIO.day_start(), clock.now)
    assert denied.status_code == 403 and denied.json()["code"] == "missing.any.permissions"
    assert "analytics:conversationAggregate:view" in denied.json()["message"]
    assert client.get("/api/v2/teams", headers=auth).status_code == 200
    fake, client = make(permissions=[])
    assert client.get("/api/v2/teams", headers=login(client, fake)).status_code == 403


def test_data_lag_hides_metrics_that_completed_moments_ago(make: Any, clock: FakeClock) -> None:
    call = next(c for c in SCENARIO.calls if SCENARIO.at(10) < c.end < SCENARIO.at(15))
    clock.now = call.end + 30
    fake, client = make(data_lag=60)
    lagged = handle_stats(query(client, login(client, fake), SCENARIO.day_start(), clock.now).json())
    earlier, now = SCENARIO.expected(clock.now - 60, "genesys"), SCENARIO.expected(clock.now, "genesys")
    assert {u: float(c) for u, (c, _) in lagged.items()} == \
        {u: row["calls_handled"] for u, row in earlier.items() if row["calls_handled"]}
    uid = vendor_id(call.agent, "genesys")
    assert lagged.get(uid, (0, 0))[0] == now[uid]["calls_handled"] - 1


def test_an_analytics_query_beyond_the_concurrency_limit_gets_429(make: Any, clock: FakeClock) -> None:
    fake, client = make(max_concurrent_queries=1, query_delay=0.5)
    auth = login(client, fake)
    replies: list[int] = []
    slow = threading.Thread(target=lambda: replies.append(
        query(client, auth, SCENARIO.day_start(), clock.now).status_code))
    slow.start()
    while fake.in_flight == 0 and slow.is_alive():
        threading.Event().wait(0.005)
    second = query(client, auth, SCENARIO.day_start(), clock.now)
    slow.join()
    assert replies == [200] and second.status_code == 429 and "Retry-After" in second.headers


def test_injected_faults_and_unknown_paths_look_like_genesys(make: Any) -> None:
    fake, client = make()
    auth = login(client, fake)
    fake.inject(Fault(503, body='{"code":"service.unavailable","status":503}'), path=AGG)
    assert client.post(AGG, json={}, headers=auth).status_code == 503
    missing = client.get("/api/v2/routing/nothing", headers=auth)
    assert missing.status_code == 404 and missing.json()["code"] == "not.found"
