"""The fake Intercom API itself: auth, version and scope checks, search paging and its query language,
the injected clock, rate limiting and every knob, and a small reference reader that recomputes the
scenario's expected numbers from nothing but what the fake serves."""

from __future__ import annotations

import base64
import json
import statistics
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest

from fakes.base import Fault
from fakes.intercom import IntercomFake
from fakes.scenario import Scenario, Step, dst_scenario, make_scenario
from helpers import FakeClock

SCENARIO = make_scenario()
HEADERS = {"Authorization": f"Bearer {IntercomFake.TOKEN}", "Intercom-Version": IntercomFake.VERSION, "Accept": "application/json"}
Make = Callable[..., tuple[IntercomFake, httpx.Client, FakeClock]]


@pytest.fixture
def make() -> Iterator[Make]:
    made: list[tuple[IntercomFake, httpx.Client]] = []

    def build(scenario: Scenario = SCENARIO, now: float | None = None, **knobs: Any) -> tuple[IntercomFake, httpx.Client, FakeClock]:
        clock = FakeClock(scenario.at(16) if now is None else now)
        fake = IntercomFake(scenario, clock, **knobs).start()
        client = httpx.Client(base_url=fake.base_url, headers=HEADERS, timeout=5, verify=False)  # plain http: skip loading CA certs
        made.append((fake, client))
        return fake, client, clock

    yield build
    for fake, client in made:
        client.close()
        fake.stop()


def search(client: httpx.Client, query: dict[str, Any], per_page: int = 150, **headers: str) -> list[dict[str, Any]]:
    """Every page of one search, in the order served."""
    pages, after = [], None
    while True:
        paging: dict[str, Any] = {"per_page": per_page} | ({"starting_after": after} if after else {})
        reply = client.post("/conversations/search", json={"query": query, "pagination": paging}, headers=headers)
        assert reply.status_code == 200, reply.text
        pages.append(reply.json())
        nxt = reply.json()["pages"].get("next")
        if not nxt:
            return pages
        after = nxt["starting_after"]


def found(client: httpx.Client, query: dict[str, Any], **headers: str) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for page in search(client, query, **headers) for c in page["conversations"]}


def since(field: str, at: float) -> dict[str, Any]:
    return {"field": field, "operator": ">", "value": int(at)}


def reference_board(client: httpx.Client, scenario: Scenario) -> dict[str, dict[str, float | None]]:
    """What a correct connector shows, read from the fake alone (documented fields only)."""
    roster = [a["id"] for a in client.get("/admins").json()["admins"]]
    start = scenario.day_start()
    closed = found(client, {"operator": "AND", "value": [since("statistics.last_close_at", start),
                                                          {"field": "state", "operator": "=", "value": "closed"}]})
    rated = found(client, since("conversation_rating.replied_at", start))
    board: dict[str, dict[str, float | None]] = {}
    for admin in roster:
        mine = [c for c in closed.values() if c["statistics"]["last_closed_by_id"] == admin]
        frts = [c["statistics"]["first_admin_reply_at"] - c["created_at"] for c in mine
                if c["statistics"]["first_admin_reply_at"] is not None]
        scores = [c["conversation_rating"]["rating"] for c in rated.values()
                  if (c["conversation_rating"]["teammate"] or {}).get("id") == admin
                  and c["conversation_rating"]["updated_at"] >= start]
        board[admin] = {"tickets_solved": float(len(mine)),
                        "csat": 100 * sum(s >= 4 for s in scores) / len(scores) if scores else None,
                        "csat_count": float(len(scores)),
                        "first_reply_seconds": statistics.median(frts) if frts else None}
    return board


def error_code(reply: httpx.Response) -> str:
    body = reply.json()
    assert body["type"] == "error.list" and body["request_id"]
    return str(body["errors"][0]["code"])


# --- what a connector must be able to recompute ---------------------------------------------------

@pytest.mark.parametrize("scenario,hour", [(SCENARIO, 16), (SCENARIO, 23), (dst_scenario(), 23)])
def test_the_reference_reader_recomputes_the_scenarios_expected_numbers(make: Make, scenario: Scenario, hour: int) -> None:
    now = scenario.at(hour, 30)
    _, client, _ = make(scenario, now, max_page=25)
    expected = scenario.expected(now, "intercom")
    assert reference_board(client, scenario) == expected
    assert sum(row["tickets_solved"] or 0 for row in expected.values()) > 20  # the comparison has teeth


def test_a_reader_that_trusts_last_close_at_alone_counts_a_reopened_conversation_wrongly(make: Make) -> None:
    _, client, _ = make()
    reopened = found(client, since("statistics.last_close_at", SCENARIO.day_start()))["90004"]
    assert reopened["state"] == "open" and reopened["open"] is True
    assert reopened["statistics"]["last_close_at"] is not None and reopened["statistics"]["count_reopens"] == 1


def test_a_conversation_reclosed_by_another_admin_counts_once_for_the_second(make: Make) -> None:
    base = make_scenario(agents=3, tickets=0, calls=0)
    a, b = base.roster()[0].id, base.roster()[1].id
    t0, team = base.at(9), base.teams[0].id
    steps = (Step(t0, 1, "create", team=team), Step(t0 + 60, 1, "assign", a, team), Step(t0 + 120, 1, "reply", a),
             Step(t0 + 600, 1, "solve", a), Step(t0 + 900, 1, "reopen"), Step(t0 + 960, 1, "assign", b, team),
             Step(t0 + 1500, 1, "solve", b))
    scenario = replace(base, steps=steps)
    _, client, _ = make(scenario, base.at(12))
    stats = client.get("/conversations/1").json()["statistics"]
    assert (stats["last_closed_by_id"], stats["count_reopens"], stats["first_close_at"]) == (b, 1, int(t0 + 600))
    board = reference_board(client, scenario)
    assert board == scenario.expected(base.at(12), "intercom")
    assert (board[a]["tickets_solved"], board[b]["tickets_solved"]) == (0.0, 1.0)


def test_a_reassigned_conversation_stays_with_the_admin_who_closed_it(make: Make) -> None:
    _, client, _ = make()
    conv = client.get("/conversations/90005").json()
    assert conv["statistics"]["last_closed_by_id"] == "1002" and conv["admin_assignee_id"] == 1004
    assert isinstance(conv["team_assignee_id"], int) and isinstance(conv["statistics"]["last_closed_by_id"], str)
    _, stringly, _ = make(team_ids_as_strings=True)
    assert stringly.get("/conversations/90005").json()["team_assignee_id"] == "3000"
    assert "90005" in found(stringly, {"field": "team_assignee_id", "operator": "=", "value": 3000})


def test_the_statistics_of_every_conversation_agree_with_its_history(make: Make) -> None:
    _, client, _ = make()
    served = found(client, since("created_at", 0))
    for conv in served.values():
        stats = conv["statistics"]
        if stats["first_admin_reply_at"] is not None:  # no office hours: nothing is subtracted
            assert stats["time_to_admin_reply"] == stats["first_admin_reply_at"] - conv["created_at"]
        if stats["last_close_at"] is not None:
            assert stats["first_close_at"] <= stats["last_close_at"] < SCENARIO.at(16)
    resolved = served["90003"]["statistics"]
    assert resolved["count_reopens"] == 1 and resolved["first_close_at"] == SCENARIO.at(9, 15)
    assert resolved["last_close_at"] == SCENARIO.at(10, 30) and served["90003"]["state"] == "closed"


def test_a_late_rating_was_requested_at_yesterdays_close_and_given_today(make: Make) -> None:
    _, client, _ = make()
    rating = client.get("/conversations/90006").json()["conversation_rating"]
    assert rating["created_at"] < SCENARIO.day_start() <= rating["updated_at"]
    assert rating["rating"] in (4, 5) and rating["remark"] == "Tack så mycket!"
    assert rating["teammate"] == {"type": "admin", "id": "1004"}


def test_the_given_rating_time_knob_puts_the_rating_time_in_created_at(make: Make) -> None:
    _, client, _ = make(rating_created_at="given")
    rating = client.get("/conversations/90006").json()["conversation_rating"]
    assert rating["created_at"] == rating["updated_at"] >= SCENARIO.day_start()


def test_a_rating_has_its_updated_at_only_from_version_2_14(make: Make) -> None:
    _, client, _ = make()
    assert "updated_at" in client.get("/conversations/90011").json()["conversation_rating"]
    old = client.get("/conversations/90011", headers={"Intercom-Version": "2.13"}).json()["conversation_rating"]
    assert "updated_at" not in old and old["rating"] == 3


def test_a_rating_bumps_updated_at_unless_the_knob_says_it_does_not(make: Make) -> None:
    _, client, _ = make()
    _, quiet, _ = make(rating_bumps_updated_at=False)
    bumped, not_bumped = client.get("/conversations/90006").json(), quiet.get("/conversations/90006").json()
    assert bumped["updated_at"] == bumped["conversation_rating"]["updated_at"]
    assert not_bumped["updated_at"] < SCENARIO.day_start()


# --- auth, versions, scopes, plans ----------------------------------------------------------------

@pytest.mark.parametrize("auth", [None, "Bearer wrong", f"Basic {IntercomFake.TOKEN}"])
def test_a_missing_or_wrong_token_is_refused_without_rate_limit_headers(make: Make, auth: str | None) -> None:
    fake, _, _ = make()
    headers = {k: v for k, v in HEADERS.items() if k != "Authorization"} | ({"Authorization": auth} if auth else {})
    reply = httpx.get(f"{fake.base_url}/admins", headers=headers, verify=False)
    assert reply.status_code == 401 and error_code(reply) == "unauthorized"
    assert "X-RateLimit-Limit" not in reply.headers


def test_a_token_past_its_validity_is_refused(make: Make) -> None:
    _, client, clock = make(token_valid_until=SCENARIO.at(16, 5))
    assert client.get("/admins").status_code == 200
    clock.advance(300)
    assert client.get("/admins").status_code == 401


@pytest.mark.parametrize("version", [None, "2.99", "latest"])
def test_a_missing_or_unknown_intercom_version_is_a_400(make: Make, version: str | None) -> None:
    fake, _, _ = make()
    headers = {k: v for k, v in HEADERS.items() if k != "Intercom-Version"} | ({"Intercom-Version": version} if version else {})
    reply = httpx.get(f"{fake.base_url}/admins", headers=headers, verify=False)
    assert reply.status_code == 400 and error_code(reply) == "intercom_version_invalid"


def test_without_require_version_a_missing_header_gets_the_default_version(make: Make) -> None:
    fake, _, _ = make(require_version=False, default_version="2.13")
    headers = {k: v for k, v in HEADERS.items() if k != "Intercom-Version"}
    rating = httpx.get(f"{fake.base_url}/conversations/90011", headers=headers, verify=False).json()["conversation_rating"]
    assert "updated_at" not in rating


def test_a_missing_scope_or_a_restricted_plan_is_a_403_that_says_which(make: Make) -> None:
    _, client, _ = make(scopes=frozenset({"read_admins"}))
    reply = client.post("/conversations/search", json={"query": since("updated_at", 0)})
    assert reply.status_code == 403 and error_code(reply) == "forbidden" and "read_conversations" in reply.text
    assert client.get("/admins").status_code == 200
    _, poor, _ = make(plan_restricted=True)
    assert error_code(poor.get("/teams")) == "api_plan_restricted"


def test_an_accept_header_without_json_is_refused(make: Make) -> None:
    _, client, _ = make()
    assert client.get("/admins", headers={"Accept": "text/html"}).status_code == 406


def test_every_host_gets_the_same_routes(make: Make) -> None:
    fake, client, _ = make(region="EU")
    reply = client.get("/me", headers={"Host": "api.eu.intercom.io"})
    assert reply.json()["app"]["region"] == "EU" and fake.calls("/me")[0].headers["host"] == "api.eu.intercom.io"


# --- admins and teams -----------------------------------------------------------------------------

def test_admins_are_the_active_teammates_only_with_avatars_on_request(make: Make) -> None:
    _, client, _ = make()
    admins = client.get("/admins").json()
    assert admins["type"] == "admin.list"
    assert [a["id"] for a in admins["admins"]] == [p.id for p in SCENARIO.roster()]  # no 1900, no customer
    assert all("avatar" not in a and a["team_ids"] and all(type(t) is int for t in a["team_ids"]) for a in admins["admins"])
    shown = {a["id"]: a["avatar"] for a in client.get("/admins", params={"display_avatar": "true"}).json()["admins"]}
    assert shown["1002"] == {"type": "avatar", "image_url": "https://avatars.example/1002.png"}
    assert shown["1001"]["image_url"] is None
    _, bare, _ = make(avatar="string")
    assert bare.get("/admins", params={"display_avatar": "true"}).json()["admins"][1]["avatar"] == "https://avatars.example/1002.png"


def test_teams_list_their_active_admins_as_ints(make: Make) -> None:
    _, client, _ = make()
    teams = client.get("/teams").json()
    assert teams["type"] == "team.list"
    members = {t["id"]: t["admin_ids"] for t in teams["teams"]}
    assert members == {t.id: [int(p.id) for p in SCENARIO.roster() if p.team == t.id] for t in SCENARIO.teams}
    assert client.get("/teams/3000").json()["name"] == "Första linjen"
    assert error_code(client.get("/teams/999")) == "team_not_found"


# --- search: paging, order, the clock, the query language -----------------------------------------

def test_search_pages_give_every_match_exactly_once_across_three_or_more_pages(make: Make) -> None:
    _, client, _ = make(max_page=10)
    pages = search(client, since("created_at", 0))
    ids = [c["id"] for p in pages for c in p["conversations"]]
    assert len(pages) >= 3 and len(ids) == len(set(ids)) == pages[0]["total_count"]
    assert [p["pages"]["page"] for p in pages] == list(range(1, len(pages) + 1))
    assert pages[0]["pages"]["total_pages"] == len(pages) and pages[0]["pages"]["per_page"] == 10
    assert set(ids) == {str(t.id) for t in SCENARIO.tickets(SCENARIO.at(16)).values() if t.status != "deleted"}
    assert base64.b64decode(pages[0]["pages"]["next"]["starting_after"]).startswith(b"[")


def test_search_results_come_in_no_useful_order_and_the_seed_changes_it(make: Make) -> None:
    _, a, _ = make(seed=1)
    _, b, _ = make(seed=2)
    order_a = [c["id"] for p in search(a, since("created_at", 0)) for c in p["conversations"]]
    order_b = [c["id"] for p in search(b, since("created_at", 0)) for c in p["conversations"]]
    assert order_a != sorted(order_a) and order_a != order_b and sorted(order_a) == sorted(order_b)


def test_nothing_at_or_after_the_clock_is_visible(make: Make) -> None:
    _, client, clock = make(now=SCENARIO.at(12))
    before = found(client, since("created_at", 0))
    assert all(c["created_at"] < clock.now and c["updated_at"] < clock.now for c in before.values())
    clock.advance(3 * 3600)
    after = found(client, since("created_at", 0))
    assert set(before) < set(after)


def test_index_lag_hides_recent_changes_from_search_but_not_from_the_conversation(make: Make) -> None:
    now = SCENARIO.at(16)
    recent = max((t for t in SCENARIO.tickets(now).values()
                  if t.solved_at and t.status == "solved" and t.solved_at - t.created_at > 600), key=lambda t: t.solved_at or 0)
    _, client, _ = make(now=(recent.solved_at or 0) + 60, index_lag=300)
    hit = found(client, {"field": "id", "operator": "=", "value": str(recent.id)})
    assert hit[str(recent.id)]["state"] == "open"
    assert client.get(f"/conversations/{recent.id}").json()["state"] == "closed"


def test_the_operators_select_what_they_say(make: Make) -> None:
    _, client, _ = make()
    start = int(SCENARIO.day_start())
    exact = found(client, {"field": "statistics.last_close_at", "operator": ">", "value": start + 1})
    assert "90002" in exact  # closed at midnight + 1: > includes its bound, as documented
    strict = found(make(inclusive_range=False)[1], {"field": "statistics.last_close_at", "operator": ">", "value": start + 1})
    assert "90002" not in strict
    by_ids = found(client, {"field": "statistics.last_closed_by_id", "operator": "IN", "value": ["1900", 5000]})
    assert set(by_ids) == {"90008", "90009"}
    not_closed = found(client, {"operator": "AND", "value": [{"field": "state", "operator": "!=", "value": "closed"},
                                                             {"field": "statistics.last_close_at", "operator": "!=", "value": None}]})
    assert "90004" in not_closed and all(c["state"] == "open" for c in not_closed.values())
    unrated = found(client, {"field": "conversation_rating.score", "operator": "=", "value": None})
    rated = found(client, {"field": "conversation_rating.score", "operator": "NIN", "value": [1, 2, 3, 4, 5]})
    assert set(unrated) == set(rated) and "90011" not in unrated
    body = found(client, {"field": "source.body", "operator": "~", "value": "90011"})
    assert list(body) == ["90011"]


@pytest.mark.parametrize("query,code", [
    ({"operator": "AND", "value": [since("updated_at", 0)] * 16}, "parameter_invalid"),
    ({"operator": "AND", "value": [{"operator": "OR", "value": [{"operator": "AND", "value": [since("updated_at", 0)]}]}]},
     "parameter_invalid"),
    ({"operator": "XOR", "value": [since("updated_at", 0)]}, "invalid_operator"),
    ({"field": "updated_at", "operator": ">=", "value": 0}, "invalid_operator"),
    ({"field": "state", "operator": ">", "value": "a"}, "invalid_operator"),
    ({"field": "statistics.solved_at", "operator": ">", "value": 0}, "invalid_field"),
    ({"field": "created_at", "operator": ">", "value": "foorbar"}, "type_mismatch"),
])
def test_queries_beyond_the_documented_language_are_a_400(make: Make, query: dict[str, Any], code: str) -> None:
    _, client, _ = make()
    reply = client.post("/conversations/search", json={"query": query})
    assert reply.status_code == 400 and error_code(reply) == code


def test_two_levels_of_nesting_and_fifteen_filters_are_allowed(make: Make) -> None:
    _, client, _ = make()
    query = {"operator": "AND", "value": [{"operator": "OR", "value": [since("updated_at", 0)] * 15}]}
    assert client.post("/conversations/search", json={"query": query}).status_code == 200


@pytest.mark.parametrize("paging", [{"per_page": 151}, {"per_page": 0}, {"per_page": "20"}, {"starting_after": "not a cursor"}])
def test_bad_paging_is_a_400(make: Make, paging: dict[str, Any]) -> None:
    _, client, _ = make()
    reply = client.post("/conversations/search", json={"query": since("updated_at", 0), "pagination": paging})
    assert reply.status_code == 400 and error_code(reply) == "parameter_invalid"


def test_a_search_without_a_query_or_json_is_a_400(make: Make) -> None:
    _, client, _ = make()
    assert error_code(client.post("/conversations/search", json={})) == "parameter_not_found"
    assert error_code(client.post("/conversations/search", content=b"{nope")) == "parameter_invalid"


def test_a_cursor_older_than_its_ttl_is_refused(make: Make) -> None:
    _, client, clock = make(max_page=10, cursor_ttl=60)
    first = client.post("/conversations/search", json={"query": since("updated_at", 0)}).json()
    after = first["pages"]["next"]["starting_after"]
    body = {"query": since("updated_at", 0), "pagination": {"starting_after": after}}
    assert client.post("/conversations/search", json=body).status_code == 200
    clock.advance(61)
    assert client.post("/conversations/search", json=body).status_code == 400


@pytest.mark.parametrize("version", ["2.16", "Unstable"])
def test_deleted_conversations_leave_search_and_are_listed_from_version_2_16(make: Make, version: str) -> None:
    _, client, _ = make()
    assert "90010" not in found(client, since("created_at", 0))
    assert error_code(client.get("/conversations/90010")) == "not_found"
    assert error_code(client.get("/conversations/deleted")) == "intercom_version_invalid"
    assert error_code(client.get("/conversations/deleted", headers={"Intercom-Version": "2.15"})) == "intercom_version_invalid"
    gone = client.get("/conversations/deleted", headers={"Intercom-Version": version}).json()
    assert gone["type"] == "conversations.list" and [c["id"] for c in gone["conversations"]] == ["90010"]
    assert gone["conversations"][0]["deleted_at"] == int(SCENARIO.at(11))


def test_an_unknown_path_or_method_is_intercoms_404(make: Make) -> None:
    _, client, _ = make()
    assert error_code(client.get("/conversations/search")) == "not_found"
    assert error_code(client.get("/nope")) == "not_found"


# --- rate limiting and faults ---------------------------------------------------------------------

def test_the_rate_limit_is_a_ten_second_window_of_a_sixth_of_the_minute(make: Make) -> None:
    fake, client, clock = make(rate_limit=60)
    seen = [client.get("/admins") for _ in range(11)]
    assert [r.headers["X-RateLimit-Remaining"] for r in seen[:10]] == [str(n) for n in range(9, -1, -1)]
    assert all(r.headers["X-RateLimit-Limit"] == "10" for r in seen)
    last = seen[10]
    assert last.status_code == 429 and error_code(last) == "rate_limit_exceeded" and "Retry-After" not in last.headers
    assert "Exceeded rate limit of 10 in 10_seconds" in last.text
    reset = int(last.headers["X-RateLimit-Reset"])
    assert 0 < reset - clock.now <= 10
    clock.now = reset
    assert client.get("/admins").status_code == 200
    fake.consume(10)
    assert client.get("/admins").status_code == 429


def test_injected_faults_answer_instead_of_the_fake(make: Make) -> None:
    fake, client, _ = make()
    fake.inject(Fault(503, body=json.dumps({"type": "error.list", "errors": [{"code": "service_unavailable"}]})),
                path="/conversations/search", times=1)
    assert client.post("/conversations/search", json={"query": since("updated_at", 0)}).status_code == 503
    assert client.post("/conversations/search", json={"query": since("updated_at", 0)}).status_code == 200
    assert len(fake.calls("/conversations/search", "POST")) == 2
