"""The fake Help Scout API itself, read with plain httpx: its auth, HAL paging, report windows and
knobs behave as Help Scout documents them, and a small reference reader recomputes the scenario's
expected board from what it serves (which is what makes the fake worth testing a connector against)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from fakes.base import Fault, iso
from fakes.helpscout import HelpScoutFake
from fakes.scenario import Scenario, dst_scenario, make_scenario
from helpers import FakeClock

SCENARIO = make_scenario()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(SCENARIO.at(16))


def running(scenario: Scenario, clock: FakeClock, **knobs: Any) -> Iterator[tuple[HelpScoutFake, httpx.Client]]:
    fake = HelpScoutFake(scenario, clock, **knobs)
    with fake.running(), httpx.Client(base_url=fake.base_url, timeout=5) as client:
        yield fake, client


@pytest.fixture
def api(clock: FakeClock) -> Iterator[tuple[HelpScoutFake, httpx.Client]]:
    yield from running(SCENARIO, clock, max_page=3)


def token(client: httpx.Client, secret: str = HelpScoutFake.CLIENT_SECRET) -> httpx.Response:
    return client.post("/v2/oauth2/token", data={"grant_type": "client_credentials",
                                                 "client_id": HelpScoutFake.CLIENT_ID, "client_secret": secret})


def bearer(client: httpx.Client) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(client).json()['access_token']}"}


def today(scenario: Scenario, now: float) -> dict[str, str]:
    return {"start": iso(scenario.day_start()), "end": iso(now)}


def read_all(client: httpx.Client, path: str, key: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    """Follows ``_links.next`` to the end, as a HAL client would."""
    out: list[dict[str, Any]] = []
    url: str | None = path
    while url:
        doc = client.get(url, headers=headers).raise_for_status().json()
        out += doc.get("_embedded", {}).get(key, [])
        url = doc["_links"].get("next", {}).get("href")
    return out


def reference_board(client: httpx.Client, scenario: Scenario, now: float) -> dict[str, dict[str, float]]:
    """What a correct Help Scout connector shows: every listed user, with the company report's closed
    and happinessScore for today (0 for a user the report leaves out)."""
    headers = bearer(client)
    roster = {str(u["id"]) for u in read_all(client, "/v2/users", "users", headers)}
    report = client.get("/v2/reports/company", params=today(scenario, now), headers=headers).raise_for_status().json()
    rows = {row["user"]: row for row in report["users"]}
    return {uid: {"tickets_solved": float(rows.get(uid, {}).get("closed", 0)),
                  "csat": float(rows.get(uid, {}).get("happinessScore", 0.0))} for uid in roster}


def test_a_token_is_issued_for_the_app_credentials_and_refused_for_a_wrong_secret(api: Any) -> None:
    _, client = api
    good = token(client)
    assert good.status_code == 200
    assert good.json()["token_type"] == "bearer" and good.json()["expires_in"] == 172800
    bad = token(client, "not-the-secret")
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"
    assert "not-the-secret" not in bad.text
    wrong_grant = client.post("/v2/oauth2/token", data={"grant_type": "password"})
    assert wrong_grant.status_code == 400


def test_the_token_endpoint_also_takes_json(api: Any) -> None:
    _, client = api
    reply = client.post("/v2/oauth2/token", json={"grant_type": "client_credentials",
                                                  "client_id": HelpScoutFake.CLIENT_ID,
                                                  "client_secret": HelpScoutFake.CLIENT_SECRET})
    assert reply.status_code == 200 and reply.json()["access_token"]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer made-up"}, {"Authorization": "Basic eDp5"}])
def test_api_calls_without_a_valid_bearer_token_get_401_in_help_scouts_envelope(api: Any, headers: dict) -> None:
    _, client = api
    reply = client.get("/v2/users", headers=headers)
    assert reply.status_code == 401
    assert {"logRef", "message", "_links"} <= reply.json().keys()
    assert reply.headers["X-RateLimit-Limit-Minute"] == "400"


def test_users_come_in_pages_each_user_exactly_once_by_next_links(api: Any) -> None:
    fake, client = api
    headers = bearer(client)
    first = client.get("/v2/users", headers=headers).json()
    assert first["page"] == {"size": 3, "totalElements": 8, "totalPages": 3, "number": 1}
    assert first["_links"]["next"]["href"].startswith(fake.base_url)
    users = read_all(client, "/v2/users", "users", headers)
    assert len(fake.calls("/v2/users")) == 4  # the first page twice, then pages 2 and 3
    assert sorted(u["id"] for u in users) == sorted(int(p.id) for p in SCENARIO.roster())
    assert all(isinstance(u["id"], int) and u["type"] == "user" for u in users)
    owner = next(u for u in users if u["id"] == 1001)
    assert (owner["firstName"], owner["lastName"], owner["role"]) == ("Åsa", "Ödegård", "owner")
    assert "photoUrl" not in owner  # this person has no avatar; Help Scout then leaves the field out
    assert next(u for u in users if u["id"] == 1002)["photoUrl"] == "https://avatars.example/1002.png"


def test_the_email_filter_finds_one_user_and_me_is_the_apps_owner(api: Any) -> None:
    _, client = api
    headers = bearer(client)
    found = client.get("/v2/users", params={"email": "user1003@example.com"}, headers=headers).json()
    assert [u["id"] for u in found["_embedded"]["users"]] == [1003]
    assert "email=user1003%40example.com" in found["_links"]["self"]["href"]
    assert client.get("/v2/users/me", headers=headers).json()["role"] == "owner"


def test_a_page_past_the_end_has_no_embedded_list_and_a_bad_page_number_is_400(api: Any) -> None:
    _, client = api
    headers = bearer(client)
    past = client.get("/v2/users", params={"page": 9}, headers=headers).json()
    assert "_embedded" not in past and past["page"]["number"] == 9
    assert client.get("/v2/users", params={"page": 0}, headers=headers).status_code == 400


def test_a_deleted_user_is_not_listed_anywhere_but_keeps_their_report_numbers(api: Any, clock: FakeClock) -> None:
    _, client = api
    headers = bearer(client)
    listed = {u["id"] for u in read_all(client, "/v2/users", "users", headers)}
    members = {u["id"] for t in read_all(client, "/v2/teams", "teams", headers)
               for u in read_all(client, t["_links"]["teamMembers"]["href"], "users", headers)}
    assert 1900 not in listed and 1900 not in members and 5000 not in listed
    assert members == listed
    assert client.get("/v2/users/1900", headers=headers).status_code == 404
    report = client.get("/v2/reports/company", params=today(SCENARIO, clock()), headers=headers).json()
    gone = next(row for row in report["users"] if row["user"] == "1900")
    assert gone["closed"] == 1 and gone["name"] == "Former Agent"
    assert "5000" not in {row["user"] for row in report["users"]}  # a customer is not a user


def test_teams_carry_their_ids_and_names_and_an_unknown_team_is_404(api: Any) -> None:
    _, client = api
    headers = bearer(client)
    teams = read_all(client, "/v2/teams", "teams", headers)
    assert {(t["id"], t["name"]) for t in teams} == {(int(t.id), t.name) for t in SCENARIO.teams}
    assert client.get("/v2/teams/4242/members", headers=headers).status_code == 404


@pytest.mark.parametrize("scenario,hour", [(SCENARIO, 9), (SCENARIO, 16), (SCENARIO, 23), (dst_scenario(), 23)])
def test_a_reference_reader_recomputes_the_scenarios_expected_board_from_the_fake(scenario: Scenario,
                                                                                  hour: int) -> None:
    now = scenario.at(hour, 59, 59) if hour == 23 else scenario.at(hour)
    for _, client in running(scenario, FakeClock(now), max_page=3):
        assert reference_board(client, scenario, now) == scenario.expected(now, "helpscout")


def test_the_report_shows_nothing_at_or_after_the_clock(api: Any, clock: FakeClock) -> None:
    _, client = api
    headers = bearer(client)
    clock.now = SCENARIO.at(10)
    to_now = client.get("/v2/reports/company", params=today(SCENARIO, clock()), headers=headers).json()
    future = client.get("/v2/reports/company", params={**today(SCENARIO, clock()), "end": iso(SCENARIO.day_end())},
                        headers=headers).json()
    assert future["users"] == to_now["users"] and future["current"]["closed"] == to_now["current"]["closed"]
    assert to_now["current"]["closed"] == sum(r["tickets_solved"] for r in SCENARIO.expected(clock(), "helpscout")
                                              .values()) + 1  # and the deleted user's
    clock.now = SCENARIO.at(16)
    later = client.get("/v2/reports/company", params=today(SCENARIO, clock()), headers=headers).json()
    assert later["current"]["closed"] > to_now["current"]["closed"]


@pytest.mark.parametrize("params,path", [
    ({"start": "2026-11-23T23:00:00+00:00", "end": "2026-11-24T15:00:00Z"}, "start"),
    ({"start": "2026-11-23T23:00:00Z", "end": "2026-11-24"}, "end"),
    ({"start": "2026-11-23T23:00:00Z"}, "end"),
    ({"start": "2026-11-24T15:00:00Z", "end": "2026-11-23T23:00:00Z"}, "end"),
    ({"start": "2026-11-23T23:00:00Z", "end": "2026-11-24T15:00:00Z", "previousStart": "2026-11-22T23:00:00Z"},
     "previousEnd"),
])
def test_report_ranges_not_in_utc_z_or_backwards_get_400_naming_the_parameter(api: Any, params: dict,
                                                                              path: str) -> None:
    _, client = api
    reply = client.get("/v2/reports/company", params=params, headers=bearer(client))
    assert reply.status_code == 400
    assert reply.json()["_embedded"]["errors"][0]["path"] == path


def test_a_previous_range_adds_previous_numbers_and_deltas(api: Any, clock: FakeClock) -> None:
    _, client = api
    yesterday = SCENARIO.day_start() - 86400
    params = {**today(SCENARIO, clock()), "previousStart": iso(yesterday), "previousEnd": iso(SCENARIO.day_start())}
    report = client.get("/v2/reports/company", params=params, headers=bearer(client)).json()
    users = {p.id for p in SCENARIO.people if p.role != "end-user"}
    closed_yesterday = sum(1 for t in SCENARIO.tickets(clock()).values() if t.status in ("solved", "closed")
                           and t.solved_at is not None and yesterday <= t.solved_at < SCENARIO.day_start()
                           and t.closed_by in users)
    assert closed_yesterday == 3 and report["previous"]["closed"] == closed_yesterday
    row = next(r for r in report["users"] if r["user"] == "1004")
    assert {"previousClosed", "previousReplies", "previousHappinessScore"} <= row.keys()
    assert report["deltas"]["closed"] == pytest.approx(100 * (report["current"]["closed"] - 3) / 3)
    plain = client.get("/v2/reports/company", params=today(SCENARIO, clock()), headers=bearer(client)).json()
    assert "previous" not in plain and plain["deltas"] == {}


def test_the_standard_plan_gets_403_on_reports_but_may_still_list_users(clock: FakeClock) -> None:
    for _, client in running(SCENARIO, clock, plan="standard"):
        headers = bearer(client)
        reply = client.get("/v2/reports/company", params=today(SCENARIO, clock()), headers=headers)
        assert reply.status_code == 403 and reply.json()["message"] == "Access denied"
        assert "Plus and Pro" in reply.json()["_embedded"]["errors"][0]["message"]
        assert reply.headers["X-RateLimit-Limit-Minute"] == "200"
        assert client.get("/v2/users", headers=headers).status_code == 200


def test_a_user_without_the_reports_permission_gets_403_on_reports(clock: FakeClock) -> None:
    for _, client in running(SCENARIO, clock, reports_permission=False):
        reply = client.get("/v2/reports/user", params={**today(SCENARIO, clock()), "user": "1002"},
                           headers=bearer(client))
        assert reply.status_code == 403 and "permission" in reply.text


def test_a_token_stops_working_after_its_lifetime_and_a_fresh_one_works(clock: FakeClock) -> None:
    for _, client in running(SCENARIO, clock, token_lifetime=120):
        headers = bearer(client)
        assert client.get("/v2/users", headers=headers).status_code == 200
        clock.advance(120)
        assert client.get("/v2/users", headers=headers).status_code == 401
        assert client.get("/v2/users", headers=bearer(client)).status_code == 200


def test_expire_tokens_forces_the_401_then_refresh_path(api: Any) -> None:
    fake, client = api
    headers = bearer(client)
    fake.expire_tokens()
    assert client.get("/v2/teams", headers=headers).status_code == 401
    assert client.get("/v2/teams", headers=bearer(client)).status_code == 200
    assert len(fake.calls("/v2/oauth2/token")) == 2


def test_over_the_rate_limit_help_scout_sends_only_x_ratelimit_retry_after(clock: FakeClock) -> None:
    clock.now = SCENARIO.at(16, 0, 15)
    for _, client in running(SCENARIO, clock, rate_limit=3):
        headers = bearer(client)
        seen = [client.get("/v2/teams", headers=headers) for _ in range(4)]
        assert [r.status_code for r in seen] == [200, 200, 200, 429]
        assert [r.headers["X-RateLimit-Remaining-Minute"] for r in seen] == ["2", "1", "0", "0"]
        assert seen[3].headers["X-RateLimit-Retry-After"] == "45" and "Retry-After" not in seen[3].headers
        clock.advance(45)
        assert client.get("/v2/teams", headers=headers).status_code == 200


def test_report_lag_keeps_the_latest_activity_out_of_reports(clock: FakeClock) -> None:
    now = clock()
    for _, client in running(SCENARIO, clock, report_lag=3600):
        lagged = client.get("/v2/reports/company", params=today(SCENARIO, now), headers=bearer(client)).json()
    for _, client in running(SCENARIO, FakeClock(now - 3600)):
        hour_ago = client.get("/v2/reports/company", params=today(SCENARIO, now), headers=bearer(client)).json()
    assert lagged["users"] == hour_ago["users"]
    assert lagged["current"]["closed"] < sum(r["tickets_solved"] for r in SCENARIO.expected(now, "helpscout").values())


def test_round_happiness_none_serves_the_raw_double_as_help_scouts_examples_do(clock: FakeClock) -> None:
    for _, client in running(SCENARIO, clock, round_happiness=None):
        report = client.get("/v2/reports/company", params=today(SCENARIO, clock()), headers=bearer(client)).json()
    scores = {r["user"]: r["happinessScore"] for r in report["users"]}
    assert scores["1001"] == pytest.approx(200 / 3) and scores["1001"] != 66.67


def test_idle_users_are_left_out_of_the_report_unless_report_all_users(clock: FakeClock) -> None:
    clock.now = SCENARIO.day_start() + 60  # only 90002, solved a second after midnight
    for _, client in running(SCENARIO, clock):
        few = client.get("/v2/reports/company", params=today(SCENARIO, clock()), headers=bearer(client)).json()
    for _, client in running(SCENARIO, clock, report_all_users=True):
        every = client.get("/v2/reports/company", params=today(SCENARIO, clock()), headers=bearer(client)).json()
    assert [(r["user"], r["closed"]) for r in few["users"]] == [("1002", 1)]
    assert len(every["users"]) == len(SCENARIO.roster()) + 1  # and the deleted user
    assert sum(r["closed"] for r in every["users"]) == 1


def test_deleted_in_reports_false_drops_a_deleted_users_numbers(clock: FakeClock) -> None:
    for _, client in running(SCENARIO, clock, deleted_in_reports=False):
        report = client.get("/v2/reports/company", params=today(SCENARIO, clock()), headers=bearer(client)).json()
    assert "1900" not in {r["user"] for r in report["users"]}


def test_the_user_report_for_a_team_sums_its_current_members(api: Any, clock: FakeClock) -> None:
    _, client = api
    headers = bearer(client)
    team = SCENARIO.teams[1]
    params = {**today(SCENARIO, clock()), "officeHours": "false"}
    summed = client.get("/v2/reports/user", params={**params, "user": team.id}, headers=headers).json()
    expected = SCENARIO.expected(clock(), "helpscout")
    members = [p.id for p in SCENARIO.roster() if p.team == team.id]
    assert summed["user"]["name"] == team.name
    assert summed["current"]["closed"] == sum(expected[m]["tickets_solved"] for m in members)
    one = client.get("/v2/reports/user", params={**params, "user": members[0]}, headers=headers).json()
    assert one["current"]["happinessScore"] == expected[members[0]]["csat"]


def test_injected_faults_still_reach_the_client_past_auth_and_rate_limits(api: Any) -> None:
    fake, client = api
    headers = bearer(client)
    fake.inject(Fault(503, body='{"message":"unavailable"}'), path="/v2/reports", times=1)
    params = today(SCENARIO, SCENARIO.at(16))
    assert client.get("/v2/reports/company", params=params, headers=headers).status_code == 503
    assert client.get("/v2/reports/company", params=params, headers=headers).status_code == 200
