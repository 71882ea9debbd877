"""The fake Freshdesk API itself: auth, paging, the clock, the knobs, and that a small reference
reader recomputes the scenario's canonical numbers from nothing but what the fake serves."""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import httpx
import pytest

from fakes.base import Fault, iso, parse_iso
from fakes.freshdesk import FreshdeskFake
from fakes.scenario import Scenario, Step, dst_scenario, make_scenario
from helpers import FakeClock

Api = tuple[FreshdeskFake, httpx.Client]

DAY = make_scenario()
NEXT = re.compile(r'<\s*([^>]+)>\s*;\s*rel="next"')
ISO_Z = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(DAY.at(16))


def running(scenario: Scenario, clock: FakeClock, **knobs: Any) -> Iterator[Api]:
    fake = FreshdeskFake(scenario, clock, **knobs)
    with fake.running(), httpx.Client(base_url=fake.base_url, auth=(fake.API_KEY, "X"), timeout=5) as client:
        yield fake, client


@pytest.fixture
def api(clock: FakeClock) -> Iterator[Api]:
    yield from running(DAY, clock, max_page=10, plan="enterprise")


def read_all(client: httpx.Client, path: str, params: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
    """Every record of a list route, following Link rel="next"; and how many pages that took."""
    rows: list[dict[str, Any]] = []
    url: str | None = path
    pages = 0
    while url is not None:
        reply = client.get(url, params=params if pages == 0 else None)
        assert reply.status_code == 200, reply.text
        rows += reply.json()
        pages += 1
        found = NEXT.search(reply.headers.get("link", ""))
        url = found.group(1) if found else None
    return rows, pages


def reference_numbers(client: httpx.Client, scenario: Scenario, now: float) -> dict[str, dict[str, float | None]]:
    """The canonical rules applied to what the fake serves (a connector in miniature)."""
    start = scenario.day_start()
    agents, _ = read_all(client, "/api/v2/agents", {"per_page": 100})
    roster = {str(a["id"]) for a in agents if not a["deactivated"]}
    tickets, _ = read_all(client, "/api/v2/tickets", {"updated_since": iso(start), "include": "stats",
                                                      "order_by": "updated_at", "order_type": "asc", "per_page": 100})
    ratings, _ = read_all(client, "/api/v2/surveys/satisfaction_ratings", {"created_since": iso(start)})
    solved: dict[str, list[float]] = {a: [] for a in roster}
    counted: dict[str, int] = {a: 0 for a in roster}
    for t in {t["id"]: t for t in tickets}.values():
        resolved = t["stats"]["resolved_at"]
        owner = str(t["responder_id"])
        if t.get("deleted"):
            continue
        if t["status"] in (4, 5) and resolved and start <= parse_iso(resolved) < now and owner in roster:
            counted[owner] += 1
            if t["stats"]["first_responded_at"]:
                solved[owner].append(parse_iso(t["stats"]["first_responded_at"]) - parse_iso(t["created_at"]))
    scores: dict[str, list[int]] = {a: [] for a in roster}
    for r in ratings:
        if start <= parse_iso(r["created_at"]) < now and str(r["agent_id"]) in roster:
            scores[str(r["agent_id"])].append(r["ratings"]["default_question"])
    return {a: {"tickets_solved": float(counted[a]),
                "csat": 100 * sum(s > 100 for s in scores[a]) / len(scores[a]) if scores[a] else None,
                "csat_count": float(len(scores[a])),
                "first_reply_seconds": statistics.median(solved[a]) if solved[a] else None} for a in roster}


@pytest.mark.parametrize("scenario, hour, deleted", [(DAY, 12, "absent"), (DAY, 23, "absent"),
                                                     (DAY, 23, "flag"), (dst_scenario(), 16, "absent")])
def test_the_reference_reader_recomputes_the_expected_numbers_from_the_fake(scenario: Scenario, hour: int,
                                                                            deleted: str) -> None:
    clock = FakeClock(scenario.at(hour, 59))
    for _, client in running(scenario, clock, max_page=7, plan="enterprise", deleted=deleted):
        got = reference_numbers(client, scenario, clock())
        want = scenario.expected(clock(), "freshdesk")
        assert set(got) == set(want)
        for agent_id, row in want.items():
            assert got[agent_id] == pytest.approx(row), agent_id
        assert sum(row["tickets_solved"] or 0 for row in got.values()) > 20


def test_no_credentials_and_a_wrong_key_are_refused_with_freshdesks_401(api: Api) -> None:
    fake, client = api
    for auth in (None, ("not-the-key", "X")):
        reply = httpx.get(fake.base_url + "/api/v2/tickets", auth=auth)
        assert reply.status_code == 401
        assert reply.json() == {"code": "invalid_credentials",
                                "message": "You have to be logged in to perform this action."}
    assert client.get("/api/v2/tickets").status_code == 200


def test_a_revoked_key_is_refused_from_then_on(api: Api) -> None:
    fake, client = api
    assert client.get("/api/v2/groups").status_code == 200
    fake.revoke_key()
    assert client.get("/api/v2/groups").status_code == 401


def test_paging_returns_every_ticket_exactly_once_across_three_or_more_pages(api: Api,
                                                                              clock: FakeClock) -> None:
    _, client = api
    rows, pages = read_all(client, "/api/v2/tickets", {"updated_since": iso(DAY.day_start() - 86400),
                                                       "order_by": "updated_at", "order_type": "asc"})
    ids = [r["id"] for r in rows]
    want = {t.id for t in DAY.tickets(clock()).values() if t.status != "deleted"}
    assert pages >= 3 and len(ids) == len(set(ids)) and set(ids) == want
    assert [r["updated_at"] for r in rows] == sorted(r["updated_at"] for r in rows)


def test_the_link_header_keeps_the_query_and_is_absent_on_the_last_page(api: Api) -> None:
    fake, client = api
    first = client.get("/api/v2/groups", params={"per_page": 1})
    assert first.headers["link"] == f'<{fake.base_url}/api/v2/groups?per_page=1&page=2>; rel="next"'
    assert "link" not in client.get("/api/v2/groups", params={"per_page": 1, "page": 2}).headers


def test_the_docs_link_style_puts_a_space_inside_the_brackets(clock: FakeClock) -> None:
    for fake, client in running(DAY, clock, link_style="docs"):
        link = client.get("/api/v2/groups", params={"per_page": 1}).headers["link"]
        assert link == f'< {fake.base_url}/api/v2/groups?per_page=1&page=2>;rel="next"'


def test_bad_paging_and_unknown_parameters_get_freshdesks_validation_error(api: Api) -> None:
    _, client = api
    reply = client.get("/api/v2/tickets", params={"per_page": 101, "created_since": "2026-11-24T00:00:00Z"})
    assert reply.status_code == 400
    body = reply.json()
    assert body["description"] == "Validation failed"
    assert {(e["field"], e["code"]) for e in body["errors"]} == {("per_page", "invalid_value"),
                                                                 ("created_since", "invalid_field")}
    assert client.get("/api/v2/tickets", params={"updated_since": "yesterday"}).status_code == 400
    assert client.get("/api/v2/tickets", params={"include": "stats,everything"}).status_code == 400


def test_no_more_than_max_pages_are_served(clock: FakeClock) -> None:
    for _, client in running(DAY, clock, max_page=10, max_pages=3):
        rows, pages = read_all(client, "/api/v2/tickets", {"updated_since": iso(DAY.day_start())})
        assert pages == 3 and len(rows) == 30
        assert client.get("/api/v2/tickets", params={"page": 4}).status_code == 400


def test_nothing_at_or_after_the_clock_is_visible_and_updated_since_filters(api: Api,
                                                                            clock: FakeClock) -> None:
    _, client = api
    noon = DAY.at(12)
    clock.now = noon
    early, _ = read_all(client, "/api/v2/tickets", {"updated_since": iso(DAY.day_start() - 86400)})
    assert early and all(parse_iso(t["created_at"]) < noon and parse_iso(t["updated_at"]) < noon for t in early)
    clock.now = DAY.at(18)
    later, _ = read_all(client, "/api/v2/tickets", {"updated_since": iso(noon)})
    assert later and all(parse_iso(t["updated_at"]) >= noon for t in later)
    assert len(read_all(client, "/api/v2/tickets", {"updated_since": iso(DAY.day_start() - 86400)})[0]) > len(early)
    rated, _ = read_all(client, "/api/v2/surveys/satisfaction_ratings", {"created_since": iso(noon)})
    assert rated and all(noon <= parse_iso(r["created_at"]) < clock() for r in rated)


def test_without_updated_since_only_tickets_created_in_the_last_30_days_are_listed(
        api: Api, clock: FakeClock) -> None:
    _, client = api
    assert client.get("/api/v2/tickets").json()
    clock.advance(31 * 86400)
    assert client.get("/api/v2/tickets").json() == []
    assert client.get("/api/v2/tickets", params={"updated_since": iso(DAY.day_start() - 86400)}).json()


def test_statuses_and_stats_follow_the_ticket_history(api: Api) -> None:
    _, client = api
    get = lambda tid: client.get(f"/api/v2/tickets/{tid}", params={"include": "stats"}).json()  # noqa: E731
    reopened, closed, resolved_twice = get(90004), get(90012), get(90003)
    assert reopened["status"] in (2, 3, 6, 7) and reopened["stats"]["resolved_at"] is not None
    assert reopened["stats"]["reopened_at"] == iso(DAY.at(11))
    assert closed["status"] == 5 and closed["stats"]["closed_at"] == iso(DAY.at(11))
    assert resolved_twice["status"] == 4 and resolved_twice["stats"]["resolved_at"] == iso(DAY.at(10) + 1800)
    assert get(90005)["responder_id"] == int(DAY.people[3].id)  # reassigned after the solve
    assert "stats" not in client.get("/api/v2/tickets/90012").json()


def test_deleted_tickets_leave_the_list_but_filter_deleted_shows_them(api: Api) -> None:
    _, client = api
    since = {"updated_since": iso(DAY.day_start() - 86400)}
    assert 90010 not in {t["id"] for t in read_all(client, "/api/v2/tickets", since)[0]}
    gone = client.get("/api/v2/tickets", params={**since, "filter": "deleted"}).json()
    assert [(t["id"], t["deleted"], t["status"]) for t in gone] == [(90010, True, 4)]
    assert client.get("/api/v2/tickets/90010").json()["deleted"] is True


def test_the_deleted_flag_knob_keeps_deleted_tickets_in_the_list_marked(clock: FakeClock) -> None:
    for _, client in running(DAY, clock, deleted="flag"):
        rows, _ = read_all(client, "/api/v2/tickets", {"updated_since": iso(DAY.day_start()), "per_page": 100})
        flags = {t["id"]: t["deleted"] for t in rows}
        assert flags[90010] is True and not any(v for k, v in flags.items() if k != 90010)


def test_ratings_use_freshdesks_scale_and_name_the_agent_at_rating_time(api: Api) -> None:
    _, client = api
    rows, _ = read_all(client, "/api/v2/surveys/satisfaction_ratings", {"created_since": iso(DAY.day_start() - 86400)})
    by_ticket = {r["ticket_id"]: r for r in rows}
    assert by_ticket[90011]["ratings"]["default_question"] == 100
    assert by_ticket[90006]["ratings"]["default_question"] > 100 and by_ticket[90006]["feedback"] == "Tack så mycket!"
    assert by_ticket[90007]["ratings"]["default_question"] < 0
    assert {r["ratings"]["default_question"] for r in rows} <= {103, 102, 101, 100, -101, -102, -103}
    assert by_ticket[90006]["agent_id"] == int(DAY.people[3].id)


def test_deactivated_agents_are_flagged_by_default_and_absent_with_the_knob(api: Api,
                                                                            clock: FakeClock) -> None:
    _, client = api
    flagged = {a["id"]: a["deactivated"] for a in read_all(client, "/api/v2/agents", {})[0]}
    assert flagged[1900] is True and 5000 not in flagged and sum(flagged.values()) == 1
    for _, other in running(DAY, clock, deactivated="absent"):
        ids = {a["id"] for a in read_all(other, "/api/v2/agents", {})[0]}
        assert 1900 not in ids and ids == {int(p.id) for p in DAY.roster()}
        assert other.get("/api/v2/agents/1900").status_code == 404


def test_groups_list_their_active_agents(api: Api) -> None:
    _, client = api
    groups = {g["id"]: set(g["agent_ids"]) for g in client.get("/api/v2/groups").json()}
    want: dict[int, set[int]] = {}
    for p in DAY.roster():
        want.setdefault(int(p.team), set()).add(int(p.id))
    assert groups == want


def test_every_response_carries_the_rate_headers_and_include_costs_three(api: Api) -> None:
    _, client = api
    plain = client.get("/api/v2/groups")
    assert plain.headers["x-ratelimit-total"] == "700" and plain.headers["x-ratelimit-used-currentrequest"] == "1"
    stats = client.get("/api/v2/tickets", params={"include": "stats"})
    assert stats.headers["x-ratelimit-used-currentrequest"] == "3"
    assert int(plain.headers["x-ratelimit-remaining"]) - int(stats.headers["x-ratelimit-remaining"]) == 3
    refused = httpx.get(str(client.base_url) + "/api/v2/groups")
    assert refused.status_code == 401 and refused.headers["x-ratelimit-used-currentrequest"] == "1"


def test_the_decimal_knob_writes_the_rate_headers_as_decimals(clock: FakeClock) -> None:
    for _, client in running(DAY, clock, plan="enterprise", decimal_headers=True):
        headers = client.get("/api/v2/groups").headers
        assert (headers["x-ratelimit-total"], headers["x-ratelimit-remaining"],
                headers["x-ratelimit-used-currentrequest"]) == ("700.0", "699.0", "1.0")


def test_the_tickets_list_sub_bucket_answers_429_with_retry_after(clock: FakeClock) -> None:
    for fake, client in running(DAY, clock, list_limit=3):
        for _ in range(3):
            assert client.get("/api/v2/tickets").status_code == 200
            clock.advance(10)
        refused = client.get("/api/v2/tickets")
        assert refused.status_code == 429 and refused.headers["retry-after"] == "30"
        assert int(refused.headers["x-ratelimit-remaining"]) > 100  # the account bucket is not the reason
        assert client.get("/api/v2/groups").status_code == 200
        clock.advance(30)
        assert client.get("/api/v2/tickets").status_code == 200


def test_another_integration_can_exhaust_the_shared_account_bucket(clock: FakeClock) -> None:
    for fake, client in running(DAY, clock, plan="growth"):
        fake.spend(199)
        clock.advance(20)
        assert client.get("/api/v2/groups").status_code == 200
        refused = client.get("/api/v2/groups")
        assert refused.status_code == 429 and refused.headers["retry-after"] == "40"
        assert refused.headers["x-ratelimit-remaining"] == "0"
        clock.advance(40)
        assert client.get("/api/v2/groups").status_code == 200


def test_a_restricted_key_sees_only_its_own_tickets_and_says_so_on_agents_me(clock: FakeClock) -> None:
    for fake, client in running(DAY, clock, ticket_scope=3, plan="enterprise"):
        me = client.get("/api/v2/agents/me").json()
        assert me["id"] == fake.TOKEN_AGENT and me["ticket_scope"] == 3
        rows, _ = read_all(client, "/api/v2/tickets", {"updated_since": iso(DAY.day_start()), "per_page": 100})
        assert rows and {t["responder_id"] for t in rows} == {fake.TOKEN_AGENT}


def test_forbidden_paths_and_a_plan_without_surveys_answer_403(clock: FakeClock) -> None:
    for _, client in running(DAY, clock, forbidden=["/api/v2/groups"], surveys=False):
        denied = client.get("/api/v2/groups")
        assert denied.status_code == 403 and denied.json()["code"] == "access_denied"
        nosurvey = client.get("/api/v2/surveys/satisfaction_ratings")
        assert nosurvey.status_code == 403 and nosurvey.json()["code"] == "require_feature"
        assert client.get("/api/v2/agents").status_code == 200


def test_auto_close_turns_old_resolved_tickets_into_closed_ones(clock: FakeClock) -> None:
    for _, client in running(DAY, clock, auto_close_after=3600):
        t = client.get("/api/v2/tickets/90011", params={"include": "stats"}).json()
        assert t["status"] == 5 and t["stats"]["closed_at"] == iso(DAY.at(9, 10) + 3600)
        assert t["updated_at"] >= t["stats"]["closed_at"]


def test_search_counts_with_utc_dates_and_sees_changes_only_after_the_index_lag(clock: FakeClock) -> None:
    solve = next(s for s in DAY.steps if s.kind == "solve" and s.at > DAY.at(12))
    clock.now = solve.at + 30
    query = f'"agent_id:{solve.agent} AND status:4 AND updated_at:>\'{iso(solve.at)[:10]}\'"'
    for fake, client in running(DAY, clock, index_lag=120):
        lagging = client.get("/api/v2/search/tickets", params={"query": query}).json()
        assert solve.ticket not in {t["id"] for t in lagging["results"]}
        clock.advance(120)
        fresh = client.get("/api/v2/search/tickets", params={"query": query}).json()
        assert solve.ticket in {t["id"] for t in fresh["results"]} and fresh["total"] == lagging["total"] + 1
        assert client.get("/api/v2/search/tickets", params={"query": "status:4"}).status_code == 400
        assert client.get("/api/v2/search/tickets", params={"query": '"status:4"', "page": 11}).status_code == 400


def test_injected_faults_reach_the_client_and_are_logged(api: Api) -> None:
    fake, client = api
    fake.inject(Fault(503, {"Retry-After": "5"}, "{}"), path="/api/v2/tickets", times=1)
    assert client.get("/api/v2/tickets").status_code == 503
    assert client.get("/api/v2/tickets").status_code == 200
    assert len(fake.calls("/api/v2/tickets")) == 2


def test_a_rating_names_the_agent_at_rating_time_even_after_a_reassignment(clock: FakeClock) -> None:
    rated, later = DAY.people[3].id, DAY.people[5].id
    moved = Step(DAY.at(12), 90006, "assign", later, DAY.teams[0].id)
    day = replace(DAY, steps=tuple(sorted(DAY.steps + (moved,), key=lambda s: (s.at, s.ticket))))
    for _, client in running(day, clock, plan="enterprise"):
        ratings, _ = read_all(client, "/api/v2/surveys/satisfaction_ratings", {"created_since": iso(day.day_start())})
        assert next(r for r in ratings if r["ticket_id"] == 90006)["agent_id"] == int(rated)
        assert client.get("/api/v2/tickets/90006").json()["responder_id"] == int(later)
        want = day.expected(clock(), "freshdesk")
        got = reference_numbers(client, day, clock())
        assert got[rated]["csat_count"] == want[rated]["csat_count"] and got[later] == pytest.approx(want[later])


def test_records_carry_freshdesks_types_integer_ids_and_iso_utc_times(api: Api) -> None:
    _, client = api
    tickets, _ = read_all(client, "/api/v2/tickets", {"updated_since": iso(DAY.day_start()), "include": "stats"})
    for t in tickets:
        assert isinstance(t["id"], int) and t["status"] in (2, 3, 4, 5, 6, 7)
        assert t["responder_id"] is None or isinstance(t["responder_id"], int)
        assert ISO_Z.fullmatch(t["created_at"]) and ISO_Z.fullmatch(t["updated_at"])
        assert all(v is None or ISO_Z.fullmatch(v) for v in t["stats"].values())
    agent = client.get("/api/v2/agents/me").json()
    assert isinstance(agent["id"], int) and all(isinstance(g, int) for g in agent["group_ids"])


def test_updated_since_includes_a_ticket_updated_at_exactly_that_second(api: Api,
                                                                        clock: FakeClock) -> None:
    _, client = api
    t = DAY.tickets(clock())[90012]
    rows, _ = read_all(client, "/api/v2/tickets", {"updated_since": iso(t.updated_at)})
    assert 90012 in {r["id"] for r in rows}
    assert all(r["updated_at"] >= iso(t.updated_at) for r in rows)


def test_concurrent_requests_share_one_budget_exactly(clock: FakeClock) -> None:
    for fake, client in running(DAY, clock, rate_limit=10, list_limit=None):
        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(lambda _: client.get("/api/v2/groups").status_code, range(16)))
        assert sorted(codes) == [200] * 10 + [429] * 6
        assert len(fake.calls("/api/v2/groups")) == 16


def test_search_dates_are_utc_so_a_solve_just_after_local_midnight_falls_on_the_previous_day(api: Api) -> None:
    _, client = api
    local_day = DAY.day.isoformat()  # 00:00:01 in Stockholm is 23:00:01Z the day before
    query = f"\"agent_id:{DAY.people[1].id} AND updated_at:>'{local_day}'\""
    reply = client.get("/api/v2/search/tickets", params={"query": query}).json()
    assert 0 < reply["total"] <= 30  # all on one page
    found = {t["id"] for t in reply["results"]}
    listed, _ = read_all(client, "/api/v2/tickets", {"updated_since": iso(DAY.day_start())})
    assert 90002 not in found and 90002 in {t["id"] for t in listed}
