"""The fake Zendesk API itself, read with plain httpx: auth, paging, the export's clock rules, rate
limits, the knobs, and a small reference reader that rebuilds ``Scenario.expected`` from what the
fake serves (which is what makes the fake worth testing a connector against)."""

from __future__ import annotations

import base64
import statistics
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest

from fakes.base import parse_iso
from fakes.scenario import Scenario, dst_scenario, make_scenario
from fakes.zendesk import ZendeskFake
from helpers import FakeClock

SCENARIO = make_scenario()
EXPORT = "/api/v2/incremental/tickets/cursor"
RATINGS = "/api/v2/satisfaction_ratings"


def quiet_moment(sc: Scenario, after: float) -> float:
    """The first whole minute after ``after`` with no step in the two minutes before it, so that
    the export's one-minute lag and the ratings' end_time clamp hide nothing ``expected`` counts."""
    t = after
    while any(t - 120 <= s.at < t for s in sc.steps):
        t += 60
    return t


@pytest.fixture
def zendesk() -> Iterator[Any]:
    made: list[ZendeskFake] = []

    def make(sc: Scenario = SCENARIO, at: float | None = None, **knobs: Any) -> tuple[ZendeskFake, httpx.Client, FakeClock]:
        clock = FakeClock(at if at is not None else quiet_moment(sc, sc.at(16)))
        fake = ZendeskFake(sc, clock, **knobs).start()
        made.append(fake)
        client = httpx.Client(base_url=fake.base_url, auth=(f"{fake.EMAIL}/token", fake.TOKEN), timeout=5)
        return fake, client, clock

    yield make
    for fake in made:
        fake.stop()


def export_all(client: httpx.Client, start: float, **params: Any) -> list[dict[str, Any]]:
    pages, query = [], {"start_time": int(start), "per_page": 1000, "include": "metric_sets", **params}
    while True:
        reply = client.get(EXPORT, params=query)
        assert reply.status_code == 200, reply.text
        pages.append(reply.json())
        if pages[-1]["end_of_stream"]:
            return pages
        query = {"cursor": pages[-1]["after_cursor"], **{k: v for k, v in query.items() if k not in ("start_time", "cursor")}}


def list_all(client: httpx.Client, path: str, name: str, **params: Any) -> list[dict[str, Any]]:
    out, reply = [], client.get(path, params={"page[size]": 100, **params})
    while True:
        assert reply.status_code == 200, reply.text
        out.append(reply.json())
        if not out[-1]["meta"]["has_more"]:
            return [row for page in out for row in page[name]]
        reply = client.get(out[-1]["links"]["next"])


def reference_reader(client: httpx.Client, sc: Scenario, now: float) -> dict[str, dict[str, float | None]]:
    """Canonical numbers from the fake's JSON only, by the issue's Zendesk rules."""
    start = sc.day_start()
    users = list_all(client, "/api/v2/users", "users", **{"role[]": ["agent", "admin"]})
    roster = {str(u["id"]) for u in users if u["active"] and not u["suspended"]}
    latest: dict[int, dict[str, Any]] = {}
    metrics: dict[int, dict[str, Any]] = {}
    for page in export_all(client, start):
        latest.update({t["id"]: t for t in page["tickets"]})
        metrics.update({m["ticket_id"]: m for m in page["metric_sets"]})
    solved: dict[str, list[int | None]] = {a: [] for a in roster}
    for tid, t in latest.items():
        at = metrics[tid]["solved_at"]
        if t["status"] in ("solved", "closed") and at and start <= parse_iso(at) < now \
                and str(t["assignee_id"]) in roster:
            solved[str(t["assignee_id"])].append(metrics[tid]["reply_time_in_seconds"]["calendar"])
    ratings = list_all(client, RATINGS, "satisfaction_ratings", score="received",
                       start_time=int(start), end_time=int(now - 60))
    rated: dict[str, list[str]] = {a: [] for a in roster}
    for r in ratings:
        if str(r["assignee_id"]) in roster:
            rated[str(r["assignee_id"])].append(r["score"])
    out: dict[str, dict[str, float | None]] = {}
    for agent in roster:
        frts = [s for s in solved[agent] if s is not None]
        scores = rated[agent]
        out[agent] = {"tickets_solved": float(len(solved[agent])),
                      "csat": 100 * scores.count("good") / len(scores) if scores else None,
                      "csat_count": float(len(scores)),
                      "first_reply_seconds": statistics.median(frts) if frts else None}
    return out


# -- the reference reader: the fake serves the scenario's numbers ------------------------------------

@pytest.mark.parametrize("sc, hour", [(SCENARIO, 16), (SCENARIO, 23), (dst_scenario(), 15)],
                         ids=["mid-afternoon", "whole day", "25-hour DST day"])
def test_a_reader_of_the_fakes_pages_gets_the_scenarios_expected_numbers(zendesk: Any, sc: Scenario, hour: int) -> None:
    now = quiet_moment(sc, sc.at(hour))
    _, client, _ = zendesk(sc, now, max_page=15)
    got = reference_reader(client, sc, now)
    want = sc.expected(now, "zendesk")
    assert got == want
    assert sum(row["tickets_solved"] or 0 for row in want.values()) > 10
    assert any(row["csat"] is not None for row in want.values())


def test_the_hand_placed_edge_cases_reach_the_right_agents(zendesk: Any) -> None:
    now = quiet_moment(SCENARIO, SCENARIO.at(16))
    _, client, _ = zendesk(at=now)
    latest = {t["id"]: t for page in export_all(client, SCENARIO.day_start()) for t in page["tickets"]}
    assert latest[90004]["status"] == "open"  # reopened, not yet solved again
    assert latest[90005]["assignee_id"] == 1004  # moved to the new assignee after the solve
    assert latest[90010]["status"] == "deleted"
    assert latest[90011]["satisfaction_rating"]["score"] == "offered"  # neutral does not exist here
    assert latest[90006]["satisfaction_rating"] == {"id": 790006, "score": "good", "comment": "Tack så mycket!"}
    assert 90001 not in latest  # solved a second before midnight: unchanged since


# -- auth ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("auth", [None, ("lead@example.com/token", "wrong"), ("lead@example.com", ZendeskFake.TOKEN),
                                  ("someone@example.com/token", ZendeskFake.TOKEN)],
                         ids=["none", "wrong token", "no /token suffix", "wrong email"])
def test_requests_without_the_right_email_and_token_get_zendesks_401(zendesk: Any, auth: Any) -> None:
    fake, _, _ = zendesk()
    reply = httpx.get(fake.base_url + "/api/v2/users.json", auth=auth)
    assert reply.status_code == 401
    assert reply.json() == {"error": "Couldn't authenticate you"}
    assert reply.headers["X-Rate-Limit"] == "700"


def test_an_agent_token_reads_users_but_gets_403_on_the_export_and_ratings(zendesk: Any) -> None:
    fake, _, clock = zendesk()
    agent = httpx.Client(base_url=fake.base_url, auth=(f"{fake.AGENT_EMAIL}/token", fake.AGENT_TOKEN))
    assert agent.get("/api/v2/users", params={"role": "agent"}).status_code == 200
    for path in (EXPORT, RATINGS):
        reply = agent.get(path, params={"start_time": int(clock() - 3600)})
        assert reply.status_code == 403
        assert reply.json()["error"] == "Forbidden"


def test_the_admin_knob_off_makes_the_main_token_an_agent(zendesk: Any) -> None:
    _, client, clock = zendesk(admin=False)
    assert client.get(EXPORT, params={"start_time": int(clock() - 3600)}).status_code == 403
    assert client.get("/api/v2/groups").status_code == 200


def test_unknown_paths_get_zendesks_404_body(zendesk: Any) -> None:
    _, client, _ = zendesk()
    reply = client.get("/api/v2/tickets/ticket_metrics_typo.json")
    assert (reply.status_code, reply.json()["error"]) == (404, "InvalidEndpoint")


# -- the incremental export ---------------------------------------------------------------------------

def test_export_pages_return_every_changed_ticket_exactly_once(zendesk: Any) -> None:
    _, client, clock = zendesk(max_page=25)
    pages = export_all(client, SCENARIO.day_start())
    ids = [t["id"] for page in pages for t in page["tickets"]]
    assert len(pages) >= 3
    assert len(ids) == len(set(ids))
    assert set(ids) == {t.id for t in SCENARIO.tickets(clock() - 60).values() if t.updated_at >= SCENARIO.day_start()}
    assert [p["end_of_stream"] for p in pages] == [False] * (len(pages) - 1) + [True]
    assert all(len(p["tickets"]) == len(p["metric_sets"]) <= 25 for p in pages)
    stamps = [t["generated_timestamp"] for page in pages for t in page["tickets"]]
    assert stamps == sorted(stamps) and isinstance(stamps[0], int)


def test_the_cursor_is_zendesks_timestamp_and_id_and_after_url_follows_it(zendesk: Any) -> None:
    _, client, _ = zendesk(max_page=10)
    first = client.get(EXPORT, params={"start_time": int(SCENARIO.day_start())}).json()
    last = first["tickets"][-1]
    assert base64.b64decode(first["after_cursor"]).decode() == f"{last['generated_timestamp']}.0||{last['id']}|"
    following = client.get(first["after_url"]).json()
    assert following["tickets"][0]["generated_timestamp"] >= last["generated_timestamp"]
    assert "metric_sets" not in first  # only with include=metric_sets


def test_the_last_minute_is_never_exported_and_a_changed_ticket_reappears_in_full(zendesk: Any) -> None:
    step = next(s for s in SCENARIO.steps if s.kind == "solve" and s.at > SCENARIO.at(12))
    _, client, clock = zendesk(at=step.at + 30)
    pages = export_all(client, SCENARIO.day_start())
    seen = {t["id"]: t for page in pages for t in page["tickets"]}
    assert max(t["generated_timestamp"] for t in seen.values()) < clock() - 60
    assert seen[step.ticket]["status"] != "solved"
    clock.advance(120)
    again = client.get(EXPORT, params={"cursor": pages[-1]["after_cursor"], "include": "metric_sets"}).json()
    mine = next(t for t in again["tickets"] if t["id"] == step.ticket)
    metric = next(m for m in again["metric_sets"] if m["ticket_id"] == step.ticket)
    assert (mine["status"], mine["assignee_id"], mine["generated_timestamp"]) == ("solved", int(step.agent or 0), int(step.at))
    assert metric["solved_at"] is not None and mine["subject"]


def test_an_empty_export_from_a_start_time_has_no_cursor_and_from_a_cursor_keeps_it(zendesk: Any) -> None:
    _, client, clock = zendesk(at=SCENARIO.at(23, 30))
    empty = client.get(EXPORT, params={"start_time": int(clock() - 600)}).json()
    assert (empty["tickets"], empty["after_cursor"], empty["end_of_stream"]) == ([], None, True)
    cursor = export_all(client, SCENARIO.day_start())[-1]["after_cursor"]
    again = client.get(EXPORT, params={"cursor": cursor}).json()
    assert (again["tickets"], again["after_cursor"], again["end_of_stream"]) == ([], cursor, True)


def test_exclude_deleted_drops_the_deleted_ticket(zendesk: Any) -> None:
    _, client, _ = zendesk()
    kept = {t["id"] for p in export_all(client, SCENARIO.day_start(), exclude_deleted="true") for t in p["tickets"]}
    everything = {t["id"] for p in export_all(client, SCENARIO.day_start()) for t in p["tickets"]}
    assert everything - kept == {90010}


@pytest.mark.parametrize("status", [422, 400])
def test_a_start_time_under_a_minute_old_is_refused_with_the_configured_status(zendesk: Any, status: int) -> None:
    _, client, clock = zendesk(too_recent_status=status)
    for start in (clock() - 59, clock() + 3600):
        reply = client.get(EXPORT, params={"start_time": int(start)})
        assert reply.status_code == status
        assert reply.json()["error"] == "InvalidValue" and "Too recent" in reply.json()["description"]
    assert client.get(EXPORT, params={"start_time": int(clock() - 61)}).status_code == 200


def test_a_malformed_or_expired_cursor_gets_a_422(zendesk: Any) -> None:
    fake, client, _ = zendesk()
    good = client.get(EXPORT, params={"start_time": int(SCENARIO.day_start()), "per_page": 5}).json()["after_cursor"]
    assert client.get(EXPORT, params={"cursor": "bm90IGEgY3Vyc29y"}).status_code == 422
    assert client.get(EXPORT, params={"cursor": good}).status_code == 200
    fake.cursors_expired = True
    reply = client.get(EXPORT, params={"cursor": good})
    assert reply.status_code == 422 and reply.json()["error"] == "InvalidCursor"


def test_a_cursor_from_another_run_of_the_fake_still_works(zendesk: Any) -> None:
    _, first, _ = zendesk()
    cursor = first.get(EXPORT, params={"start_time": int(SCENARIO.day_start()), "per_page": 30}).json()["after_cursor"]
    _, second, _ = zendesk()
    assert second.get(EXPORT, params={"cursor": cursor}).status_code == 200


def test_the_export_has_its_own_ten_a_minute_bucket_with_retry_after(zendesk: Any) -> None:
    fake, client, clock = zendesk(at=SCENARIO.at(16, 0, 15))
    codes = [client.get(EXPORT, params={"start_time": int(SCENARIO.day_start())}).status_code for _ in range(11)]
    assert codes == [200] * 10 + [429]
    refused = client.get(EXPORT, params={"start_time": int(SCENARIO.day_start())})
    assert refused.headers["Retry-After"] == refused.headers["ratelimit-reset"] == "45"
    assert refused.json()["error"] == "APIRateLimitExceeded"
    assert client.get("/api/v2/groups").status_code == 200  # the account bucket is separate
    clock.advance(45)
    assert client.get(EXPORT, params={"start_time": int(SCENARIO.day_start())}).status_code == 200
    assert len(fake.calls(EXPORT)) == 13


def test_another_integration_can_spend_the_incremental_bucket(zendesk: Any) -> None:
    fake, client, _ = zendesk()
    fake.use_incremental_budget(10)
    assert client.get(EXPORT, params={"start_time": int(SCENARIO.day_start())}).status_code == 429


def test_the_plain_knob_gives_a_text_429_without_retry_after(zendesk: Any) -> None:
    fake, client, _ = zendesk(rate_limit_plain=True, incremental_limit=1)
    client.get(EXPORT, params={"start_time": int(SCENARIO.day_start())})
    refused = client.get(EXPORT, params={"start_time": int(SCENARIO.day_start())})
    assert refused.status_code == 429 and "Retry-After" not in refused.headers
    assert refused.headers["content-type"].startswith("text/plain")


def test_every_answer_counts_down_the_account_bucket_until_429(zendesk: Any) -> None:
    _, client, _ = zendesk(account_limit=3)
    replies = [client.get("/api/v2/groups") for _ in range(4)]
    assert [r.headers["X-Rate-Limit-Remaining"] for r in replies[:3]] == ["2", "1", "0"]
    assert [r.headers["ratelimit-remaining"] for r in replies[:3]] == ["2", "1", "0"]
    assert replies[3].status_code == 429 and replies[3].headers["Retry-After"]


# -- satisfaction ratings -----------------------------------------------------------------------------

def test_ratings_page_by_cursor_and_received_leaves_out_the_neutral_offer(zendesk: Any) -> None:
    _, client, clock = zendesk(max_page=4)
    start, end = int(SCENARIO.day_start()), int(clock() - 60)
    received = list_all(client, RATINGS, "satisfaction_ratings", score="received", start_time=start, end_time=end)
    everything = list_all(client, RATINGS, "satisfaction_ratings", start_time=start, end_time=end)
    assert len(received) >= 12 and len({r["id"] for r in received}) == len(received)
    assert {r["score"] for r in received} == {"good", "bad"}
    assert {r["ticket_id"] for r in everything} - {r["ticket_id"] for r in received} == \
        {t.id for t in SCENARIO.tickets(clock()).values() if t.rating == "neutral" and t.rating_at and t.rating_at >= start}
    assert all(start <= parse_iso(r["created_at"]) <= end for r in everything)
    good = list_all(client, RATINGS, "satisfaction_ratings", score="good", start_time=start, end_time=end)
    assert good == [r for r in received if r["score"] == "good"]


def test_ratings_honour_the_time_window_and_refuse_an_end_time_under_a_minute_old(zendesk: Any) -> None:
    _, client, clock = zendesk()
    yesterday = client.get(RATINGS, params={"score": "received", "start_time": int(SCENARIO.day_start() - 86400),
                                            "end_time": int(SCENARIO.day_start() - 1)}).json()
    assert [r["ticket_id"] for r in yesterday["satisfaction_ratings"]] == [90007]
    assert client.get(RATINGS, params={"end_time": int(clock() - 30)}).status_code == 422
    assert client.get(RATINGS, params={"score": "excellent"}).status_code == 400


def test_a_late_rating_carries_the_agent_and_group_at_rating_time(zendesk: Any) -> None:
    _, client, _ = zendesk()
    rows = list_all(client, RATINGS, "satisfaction_ratings", score="good_with_comment")
    late = next(r for r in rows if r["ticket_id"] == 90006)
    assert (late["assignee_id"], late["group_id"], late["comment"]) == (1004, 3000, "Tack så mycket!")


def test_lists_without_page_size_use_offset_pagination(zendesk: Any) -> None:
    _, client, _ = zendesk(max_page=3)
    first = client.get("/api/v2/users.json", params={"role[]": ["agent", "admin"]}).json()
    assert first["count"] == 9 and len(first["users"]) == 3 and first["previous_page"] is None
    second = client.get(first["next_page"]).json()
    assert [u["id"] for u in second["users"]] == [1004, 1005, 1006]


def test_a_bad_page_after_gets_the_invalid_pagination_error(zendesk: Any) -> None:
    _, client, _ = zendesk()
    reply = client.get("/api/v2/users", params={"page[size]": 10, "page[after]": "%%%"})
    assert reply.status_code == 400 and reply.json()["errors"][0]["code"] == "InvalidPaginationParameter"


# -- users, groups, memberships -----------------------------------------------------------------------

def test_the_role_filter_leaves_out_end_users_and_shows_the_deactivated_agent_inactive(zendesk: Any) -> None:
    _, client, _ = zendesk(max_page=3)
    staff = list_all(client, "/api/v2/users", "users", **{"role[]": ["agent", "admin"]})
    everyone = list_all(client, "/api/v2/users", "users")
    assert {u["role"] for u in staff} == {"agent", "admin"} and len(staff) == 9
    assert {u["id"] for u in everyone} - {u["id"] for u in staff} == {5000}
    gone = next(u for u in staff if u["id"] == 1900)
    assert (gone["active"], gone["suspended"]) == (False, False)
    by_id = {u["id"]: u for u in staff}
    assert by_id[1001]["photo"] is None and by_id[1001]["role"] == "admin"
    assert by_id[1002]["photo"]["content_url"] == "https://avatars.example/1002.png"
    assert by_id[1002]["default_group_id"] == 3001 and by_id[1002]["name"] == "Björn O'Brien"


@pytest.mark.parametrize("mode, shown", [("suspended", (True, True)), ("absent", None)])
def test_the_deactivated_knob_suspends_or_hides_the_agent(zendesk: Any, mode: str, shown: Any) -> None:
    _, client, _ = zendesk(deactivated=mode)
    staff = {u["id"]: u for u in list_all(client, "/api/v2/users", "users", role="agent")}
    assert (None if 1900 not in staff else (staff[1900]["active"], staff[1900]["suspended"])) == shown
    members = list_all(client, "/api/v2/group_memberships", "group_memberships")
    assert (1900 in {m["user_id"] for m in members}) == (shown is not None)


def test_groups_and_memberships_match_the_scenarios_teams(zendesk: Any) -> None:
    _, client, _ = zendesk(max_page=2)
    groups = list_all(client, "/api/v2/groups", "groups")
    members = list_all(client, "/api/v2/group_memberships", "group_memberships")
    assert {(g["id"], g["name"]) for g in groups} == {(int(t.id), t.name) for t in SCENARIO.teams}
    assert {(m["user_id"], m["group_id"]) for m in members} == \
        {(int(p.id), int(p.team)) for p in SCENARIO.people if p.role != "end-user"}


# -- search count and users/me -------------------------------------------------------------------------

def local_midnight_iso(sc: Scenario) -> str:
    return datetime.fromtimestamp(sc.day_start(), sc.zone).isoformat()


def test_search_count_gives_an_agents_solves_since_local_midnight_to_an_agent_token(zendesk: Any) -> None:
    fake, _, clock = zendesk()
    agent = httpx.Client(base_url=fake.base_url, auth=(f"{fake.AGENT_EMAIL}/token", fake.AGENT_TOKEN))
    want = SCENARIO.expected(clock(), "zendesk")
    for person in ("1002", "1003"):
        query = f"type:ticket status>=solved solved>={local_midnight_iso(SCENARIO)} assignee:{person}"
        reply = agent.get("/api/v2/search/count.json", params={"query": query})
        assert reply.json() == {"count": int(want[person]["tickets_solved"] or 0)}
    assert agent.get("/api/v2/search/count", params={"query": "type:ticket priority:high"}).status_code == 400


def test_search_count_lags_behind_by_the_index_lag(zendesk: Any) -> None:
    solve = next(s for s in SCENARIO.steps if s.kind == "solve" and s.at > SCENARIO.at(13))
    query = f"type:ticket status>=solved solved>={local_midnight_iso(SCENARIO)} assignee:{solve.agent}"
    counts = []
    for lag in (0, 180):
        _, client, _ = zendesk(at=solve.at + 60, index_lag=lag)
        counts.append(client.get("/api/v2/search/count", params={"query": query}).json()["count"])
    assert counts[0] == counts[1] + 1


def test_a_date_only_search_value_is_a_whole_utc_day(zendesk: Any) -> None:
    _, client, clock = zendesk()
    day = SCENARIO.day.isoformat()
    on_day = client.get("/api/v2/search/count", params={"query": f"type:ticket solved:{day}"}).json()["count"]
    tickets = SCENARIO.tickets(clock()).values()
    start = parse_iso(day + "T00:00:00Z")
    assert on_day == sum(1 for t in tickets if t.status != "deleted" and t.solved_at and start <= t.solved_at < start + 86400)


def test_users_me_names_the_caller_and_is_anonymous_without_credentials(zendesk: Any) -> None:
    fake, client, _ = zendesk(admin=False)
    assert client.get("/api/v2/users/me.json").json()["user"]["role"] == "agent"
    anonymous = httpx.get(fake.base_url + "/api/v2/users/me.json")
    assert anonymous.status_code == 200 and anonymous.json()["user"]["id"] is None
    assert httpx.get(fake.base_url + "/api/v2/users/me.json", auth=(f"{fake.EMAIL}/token", "nope")).status_code == 401
