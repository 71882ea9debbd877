"""The native Help Scout connector against the fake Help Scout API served for real on 127.0.0.1,
on the fake's injected clock (a sleep advances it, so nothing really waits): the board equals the
scenario's expected numbers through the day and on a 25-hour DST day, with the roster read over
three pages; and every failure the issue lists that applies to Help Scout leaves the last good
numbers on screen with a clear warning, never a zero and never a secret."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from fakes.base import Fault
from fakes.helpscout import HelpScoutFake
from fakes.scenario import Scenario, dst_scenario, make_scenario
from feeds.config.schema import AuthConfig, FeedConfig
from feeds.connectors.base import Context
from feeds.connectors.helpscout import HelpScoutConnector, HelpScoutOptions
from feeds.connectors.kit.day import utc_iso
from feeds.connectors.kit.native import PollContext
from feeds.model import FeedError
from helpers import FakeClock, events_named, write_config

SCENARIO = make_scenario()
SECRET_ENV = "CHALKWALL_TEST_HELPSCOUT_SECRET"


@pytest.fixture
def secret(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(SECRET_ENV, HelpScoutFake.CLIENT_SECRET)
    return HelpScoutFake.CLIENT_SECRET


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(SCENARIO.at(9, 30))


def serve(scenario: Scenario, clock: Any, **knobs: Any) -> Iterator[HelpScoutFake]:
    fake = HelpScoutFake(scenario, clock, **knobs)
    with fake.running():
        yield fake


@pytest.fixture
def fake(clock: FakeClock) -> Iterator[HelpScoutFake]:
    yield from serve(SCENARIO, clock, max_page=3)  # 8 users: 3 pages


def connector(fake: HelpScoutFake, clock: FakeClock, state: Path | None = None, *, sleeps: list[float] | None = None,
              client_id: str = HelpScoutFake.CLIENT_ID, tz: str = SCENARIO.tz, **feed: Any) -> HelpScoutConnector:
    def sleep(seconds: float) -> None:
        (sleeps if sleeps is not None else []).append(seconds)
        clock.advance(seconds)

    config = FeedConfig(type="helpscout", options=HelpScoutOptions(base_url=fake.base_url),
                        auth=AuthConfig(client_id=client_id, token_env=SECRET_ENV), **feed)
    return HelpScoutConnector(config, Context(Path("."), clock, tz, state), sleep=sleep)


def board(snapshot: Any) -> dict[str, dict[str, float]]:
    return {a.id: dict(a.metrics) for a in snapshot.agents}


def test_the_board_equals_the_scenario_in_the_morning_the_afternoon_and_at_the_end_of_the_day(
        fake: HelpScoutFake, clock: FakeClock, secret: str) -> None:
    c = connector(fake, clock)
    for hour, minute in ((9, 30), (16, 0), (23, 59)):
        clock.now = SCENARIO.at(hour, minute)
        snap = c.poll()
        assert board(snap) == SCENARIO.expected(clock.now, "helpscout"), f"at {hour}:{minute:02d}"
        assert snap.warnings == ()
    report = fake.calls("/v2/reports/company")[-1]
    assert (report.arg("start"), report.arg("end")) == (utc_iso(SCENARIO.day_start()), utc_iso(clock.now))
    pages = [r.arg("page") for r in fake.calls("/v2/users")]
    assert pages == [None, "2", "3"] * 3  # three pages each time, by the next links; hours apart: read each time


def test_the_25_hour_dst_day_starts_at_local_midnight_and_counts_the_whole_day(clock: FakeClock, secret: str) -> None:
    day = dst_scenario()
    clock.now = day.at(23, 30)
    for fake in serve(day, clock):
        c = connector(fake, clock)
        assert board(c.poll()) == day.expected(clock.now, "helpscout")
        assert fake.calls("/v2/reports/company")[0].arg("start") == "2026-10-24T22:00:00Z"  # CEST midnight
        assert day.day_end() - day.day_start() == 25 * 3600


def test_agents_are_the_listed_users_named_first_last_in_their_team_with_their_photo(
        fake: HelpScoutFake, clock: FakeClock, secret: str) -> None:
    snap = connector(fake, clock).poll()
    people = {p.id: p for p in SCENARIO.roster()}
    assert {a.id for a in snap.agents} == set(people)
    for a in snap.agents:
        assert (a.name, a.team, a.avatar) == (f"{people[a.id].first} {people[a.id].last}", people[a.id].team,
                                              people[a.id].avatar)
    assert {t.id: t.name for t in snap.teams} == {t.id: t.name for t in SCENARIO.teams}


def test_a_user_in_several_teams_is_shown_in_the_team_with_the_lowest_id(
        fake: HelpScoutFake, clock: FakeClock, secret: str) -> None:
    both = [{"id": 1001, "firstName": "Åsa", "lastName": "Ödegård", "type": "user"},
            {"id": 1002, "firstName": "Björn", "lastName": "O'Brien", "type": "user"}]  # 1002 is also in 3001
    page = {"_embedded": {"users": both}, "_links": {"self": {"href": "x"}},
            "page": {"size": 50, "totalElements": 2, "totalPages": 1, "number": 1}}
    fake.inject(Fault(200, body=json.dumps(page)), path="/v2/teams/3000/members", times=1)
    teams = {a.id: a.team for a in connector(fake, clock).poll().agents}
    assert (teams["1001"], teams["1002"], teams["1004"]) == ("3000", "3000", "3001")


def test_a_roster_help_scout_refuses_is_one_clear_error_naming_the_role_needed(
        fake: HelpScoutFake, clock: FakeClock, secret: str) -> None:
    fake.inject(Fault(403, body='{"message": "Access denied"}'), path="/v2/teams", times=1)
    with pytest.raises(FeedError) as caught:
        connector(fake, clock).poll()
    assert "does not allow team list (HTTP 403): it needs the app's user to be an Account Owner or Administrator" \
        in str(caught.value)


def test_a_deleted_user_in_the_report_is_not_shown_and_asks_for_the_roster_once_not_every_poll(
        fake: HelpScoutFake, clock: FakeClock, secret: str) -> None:
    c = connector(fake, clock)
    for _ in range(20):  # 20 minutes
        snap = c.poll()
        clock.advance(60)
    report = fake_report(fake, json.loads(fake_token(fake)), clock.now)
    assert "1900" in {row["user"] for row in report["users"]}  # the deleted user's work stays in reports
    assert "1900" not in board(snap)
    first_pages = [r for r in fake.calls("/v2/users") if r.arg("page") in (None, "1")]
    assert len(first_pages) == 2  # the first read, and one look 5 minutes later for the unknown id


def fake_token(fake: HelpScoutFake) -> str:
    import httpx

    return httpx.post(fake.base_url + "/v2/oauth2/token", data={
        "grant_type": "client_credentials", "client_id": fake.client_id, "client_secret": fake.client_secret}).text


def fake_report(fake: HelpScoutFake, token: dict[str, Any], now: float) -> dict[str, Any]:
    import httpx

    return httpx.get(fake.base_url + "/v2/reports/company", headers={"Authorization": f"Bearer {token['access_token']}"},
                     params={"start": utc_iso(SCENARIO.day_start()), "end": utc_iso(now)}).json()


def test_a_reassigned_conversation_stays_with_its_closer_and_a_reopened_one_leaves_until_closed_again(
        fake: HelpScoutFake, clock: FakeClock, secret: str) -> None:
    c = connector(fake, clock)
    a, b = "1002", "1003"  # the scenario's hand-placed cases: a closes 90005, b closes 90003/90004/90010
    clock.now = SCENARIO.at(10, 59)
    before = board(c.poll())
    clock.now = SCENARIO.at(11, 1)  # at 11:00 90004 reopens, 90010 is deleted, 90005 moves to another agent
    after = board(c.poll())
    assert after == SCENARIO.expected(clock.now, "helpscout")
    assert after[a]["tickets_solved"] == before[a]["tickets_solved"]
    assert after[b]["tickets_solved"] == before[b]["tickets_solved"] - 2


def test_a_late_rating_on_yesterdays_conversation_counts_today_and_yesterdays_rating_does_not(
        fake: HelpScoutFake, clock: FakeClock, secret: str) -> None:
    c = connector(fake, clock)
    agent = "1004"  # today: Not Good 09:06, Not Good 09:31, Great 09:56, and at 10:00 Great for a conversation
    clock.now = SCENARIO.at(9, 59)  # closed yesterday; yesterday they were also rated Not Good once
    assert board(c.poll())[agent]["csat"] == SCENARIO.expected(clock.now, "helpscout")[agent]["csat"] == -33.33
    clock.now = SCENARIO.at(10, 1)
    now = board(c.poll())[agent]
    assert now == SCENARIO.expected(clock.now, "helpscout")[agent]
    assert now["csat"] == 0.0  # 2 Great − 2 Not Good of 4; with yesterday's rating it would be −20


def test_429_waits_as_help_scout_asks_in_its_own_header_or_retry_after_or_backs_off_without_one(
        fake: HelpScoutFake, clock: FakeClock, secret: str) -> None:
    sleeps: list[float] = []
    c = connector(fake, clock, sleeps=sleeps)
    fake.inject(Fault(429, {"X-RateLimit-Retry-After": "7"}, '{"message": "API rate limit exceeded"}'),
                path="/v2/reports", times=1)
    assert board(c.poll()) == SCENARIO.expected(clock.now, "helpscout") and sleeps == [7.0]
    fake.inject(Fault(429, {"Retry-After": "4"}), path="/v2/reports", times=1)
    clock.advance(60)
    assert board(c.poll()) == SCENARIO.expected(clock.now, "helpscout") and sleeps[1:] == [4.0]
    fake.inject(Fault(429, body='{"message": "API rate limit exceeded"}'), path="/v2/reports", times=1)
    clock.advance(60)
    assert board(c.poll()) == SCENARIO.expected(clock.now, "helpscout")
    assert 1.0 <= sleeps[2] <= 2.0 and len(sleeps) == 3  # the first equal-jitter step


def test_a_429_asking_for_longer_than_the_poll_may_wait_keeps_the_last_good_numbers(
        fake: HelpScoutFake, clock: FakeClock, secret: str) -> None:
    sleeps: list[float] = []
    c = connector(fake, clock, sleeps=sleeps)
    good = board(c.poll())
    clock.advance(3600 - 60)  # 10:29: more has been closed since, but the report is refused
    fake.inject(Fault(429, {"X-RateLimit-Retry-After": "55"}), path="/v2/reports", times=1)
    snap = c.poll()
    assert board(snap) == good != SCENARIO.expected(clock.now, "helpscout")
    assert sleeps == []
    assert any(w.startswith("Help Scout tickets: Help Scout is rate-limiting company report (HTTP 429); asked to "
                            "wait 55 s; tickets_solved kept from") for w in snap.warnings), snap.warnings
    assert any(w.startswith("Help Scout happiness: ") and "csat kept from" in w for w in snap.warnings)
    assert len(fake.calls("/v2/reports")) == 2  # one refused request serves both metrics' warnings


@pytest.mark.parametrize("fault, tries, said", [
    (Fault(503, body="<html>down</html>"), 4, "not answering company report (HTTP 503)"),  # the first and 3 retries
    (Fault(delay=0.8), 1, "did not answer company report within 0.5 s"),
    (Fault(truncate=True), 1, "network error talking to Help Scout (company report)"),
    (Fault(200, body='{"filterTags": [], "users": [{"user": "10'), 1, "truncated or invalid JSON answer to company"),
    (Fault(400, body='{"message": "Bad request", "_embedded": {"errors": [{"path": "end"}]}}'), 1, "HTTP 400"),
])
def test_a_failed_report_keeps_the_last_good_numbers_marked_stale_and_the_next_poll_catches_up(
        fake: HelpScoutFake, clock: FakeClock, secret: str, fault: Fault, tries: int, said: str) -> None:
    c = connector(fake, clock, timeout=0.5)
    good = board(c.poll())
    clock.advance(1800)
    fake.inject(fault, path="/v2/reports", times=tries)
    snap = c.poll()
    assert board(snap) == good
    assert any(said in w and "tickets_solved kept from" in w for w in snap.warnings), snap.warnings
    clock.advance(60)
    snap = c.poll()  # no cursor to lose: the next report covers midnight to now again
    assert board(snap) == SCENARIO.expected(clock.now, "helpscout") and snap.warnings == ()


def test_a_single_503_is_retried_within_the_poll(fake: HelpScoutFake, clock: FakeClock, secret: str) -> None:
    c = connector(fake, clock)
    fake.inject(Fault(503), path="/v2/reports", times=1)
    snap = c.poll()
    assert board(snap) == SCENARIO.expected(clock.now, "helpscout") and snap.warnings == ()


def test_metrics_are_null_until_the_first_good_report_never_a_made_up_zero(
        fake: HelpScoutFake, clock: FakeClock, secret: str) -> None:
    fake.inject(Fault(503), path="/v2/reports", times=10)
    snap = connector(fake, clock).poll()
    assert all(m == {} for m in board(snap).values()) and len(snap.agents) == len(SCENARIO.roster())
    assert {"tickets_solved", "csat"} <= snap.empty_metrics
    assert any("no good reading today" in w for w in snap.warnings)


def test_a_report_without_closed_per_user_fails_loudly_naming_the_field_and_still_shows_csat(
        fake: HelpScoutFake, clock: FakeClock, secret: str) -> None:
    c = connector(fake, clock)
    body = {"filterTags": [], "current": {}, "deltas": {},
            "users": [{"user": "1002", "name": "Björn O'Brien", "replies": 3, "customersHelped": 2,
                       "happinessScore": 66.66666666666666, "handleTime": 0.0}]}
    fake.inject(Fault(200, body=json.dumps(body)), path="/v2/reports", times=1)
    snap = c.poll()
    assert "tickets_solved" in snap.empty_metrics
    assert any("users[].closed" in w and "tickets_solved cannot be read" in w for w in snap.warnings), snap.warnings
    assert board(snap)["1002"] == {"csat": 66.67} and board(snap)["1003"] == {"csat": 0.0}


def test_an_expired_token_is_asked_for_again_once_and_the_poll_goes_on(
        fake: HelpScoutFake, clock: FakeClock, secret: str) -> None:
    c = connector(fake, clock)
    c.poll()
    fake.expire_tokens()
    clock.advance(60)
    snap = c.poll()
    assert snap.warnings == () and board(snap) == SCENARIO.expected(clock.now, "helpscout")
    assert len(fake.calls("/v2/oauth2/token")) == 2


def test_a_wrong_secret_is_one_clear_error_naming_the_config_key_and_showing_no_secret(
        fake: HelpScoutFake, clock: FakeClock, monkeypatch: pytest.MonkeyPatch, logs: Any) -> None:
    monkeypatch.setenv(SECRET_ENV, "not-the-app-secret-4711")
    c = connector(fake, clock)
    with pytest.raises(FeedError) as caught:
        c.poll()
    message = str(caught.value)
    assert "refused the client credentials (HTTP 401)" in message
    assert f"feed.auth.client_id and the app secret in feed.auth.token_env ({SECRET_ENV})" in message
    assert "not-the-app-secret-4711" not in message + logs.getvalue()
    assert len(fake.calls("/v2/oauth2/token")) == 1  # no retry loop on a refused sign-in


def test_a_token_refused_twice_names_the_secret_to_fix(fake: HelpScoutFake, clock: FakeClock, secret: str) -> None:
    c = connector(fake, clock)
    c.poll()
    fake.inject(Fault(401, body='{"message": "Unauthorized"}'), path="/v2/reports", times=2)
    clock.advance(60)
    snap = c.poll()
    assert any("refused the credentials for company report (HTTP 401): check the app secret in feed.auth.token_env"
               in w for w in snap.warnings), snap.warnings


def test_the_standard_plan_says_it_has_no_reports_api_once_and_is_not_asked_again(
        clock: FakeClock, secret: str, logs: Any) -> None:
    for fake in serve(SCENARIO, clock, plan="standard"):
        c = connector(fake, clock)
        snap = c.poll()
        assert any("does not allow company report (HTTP 403)" in w and "this plan has no reports API" in w
                   for w in snap.warnings), snap.warnings
        assert len(snap.agents) == len(SCENARIO.roster()) and {"tickets_solved", "csat"} <= snap.empty_metrics
        for _ in range(3):
            clock.advance(60)
            c.poll()
        assert len(fake.calls("/v2/reports")) == 1
        assert len([e for e in events_named(logs, "connector_problem") if e["fetch"] == "tickets"]) == 1


def test_a_user_without_the_reports_permission_is_told_which_permission(clock: FakeClock, secret: str) -> None:
    for fake in serve(SCENARIO, clock, reports_permission=False):
        snap = connector(fake, clock).poll()
        assert any('needs the "Reports: View reports" permission' in w for w in snap.warnings), snap.warnings


def test_chalkwall_takes_a_quarter_of_the_limit_help_scout_reports_and_never_bursts_past_it(
        clock: FakeClock, secret: str) -> None:
    for fake in serve(SCENARIO, clock, rate_limit=20):  # chalkwall's share: 5 a minute
        c = connector(fake, clock, interval=5.0)
        start = clock.now
        polls, warnings = 0, []
        while clock.now < start + 300:
            warnings += c.poll().warnings
            polls += 1
            clock.advance(5)
        at = [r.at for r in fake.calls("/v2/") if r.path != "/v2/oauth2/token"]
        assert c.api.budget.buckets["account"].capacity == 5.0  # learnt from X-RateLimit-Limit-Minute
        assert max(sum(1 for t in at if s <= t < s + 60) for s in at) <= 10  # bucket + one minute's refill
        assert len(at) <= 1 + 5 + 5 * 5 and polls >= 50  # the first, before the limit was learnt; 5; 5 a minute  # far fewer requests than polls: the budget held them back
        assert not [w for w in warnings if "HTTP 429" in w]  # Help Scout never had to refuse one
        assert any("share of the rate limit is spent" in w and "kept from" in w for w in warnings)


def test_the_state_survives_a_restart_and_a_second_account_in_the_same_file_starts_afresh(
        fake: HelpScoutFake, clock: FakeClock, secret: str, tmp_path: Path) -> None:
    first = connector(fake, clock, tmp_path)
    good = board(first.poll())
    first.close()
    clock.advance(120)
    fake.inject(Fault(503), path="/v2/reports", times=4)
    again = connector(fake, clock, tmp_path)
    snap = again.poll()
    assert board(snap) == good  # the last good numbers, from the state file, while the report fails
    assert len([r for r in fake.calls("/v2/users") if r.arg("page") in (None, "1")]) == 1  # roster kept too
    again.close()
    row = sqlite3.connect(tmp_path / "chalkwall.sqlite3").execute(
        "SELECT account, snapshot FROM connector_state").fetchall()
    assert [r[0] for r in row] == [f"helpscout:{HelpScoutFake.CLIENT_ID}@{fake.base_url.split('//')[1]}"]
    other = connector(fake, clock, tmp_path, client_id="another-app")
    assert other.state == {}  # a second Help Scout account does not read the first one's state
    other.close()


def test_local_midnight_starts_the_new_day_and_the_first_second_is_asked_for_without_error(
        fake: HelpScoutFake, clock: FakeClock, secret: str) -> None:
    c = connector(fake, clock)
    clock.now = SCENARIO.at(23, 59)
    c.poll()
    clock.now = SCENARIO.day_end()  # exactly 00:00:00: the report's end must still be after its start
    snap = c.poll()
    assert snap.warnings == ()
    assert all(m == {"tickets_solved": 0.0, "csat": 0.0} for m in board(snap).values())
    last = fake.calls("/v2/reports/company")[-1]
    assert (last.arg("start"), last.arg("end")) == (utc_iso(SCENARIO.day_end()), utc_iso(SCENARIO.day_end() + 1))


def test_nothing_secret_reaches_the_log_the_warnings_or_the_state(
        fake: HelpScoutFake, clock: FakeClock, secret: str, logs: Any, tmp_path: Path) -> None:
    c = connector(fake, clock, tmp_path)
    c.poll()
    fake.inject(Fault(401), path="/v2/reports", times=2)
    fake.inject(Fault(429, {"X-RateLimit-Retry-After": "500"}), path="/v2/users", times=1)
    clock.advance(4000)  # the roster is due again, and is refused too: nothing read, so the poll fails
    with pytest.raises(FeedError) as caught:
        c.poll()
    snap = c.snapshot(PollContext(clock.now, *c.day.window(clock.now), clock.now))
    c.close()
    tokens = list(fake.tokens)
    assert tokens and len(snap.warnings) == 3  # the roster, and both metrics
    stored = (tmp_path / "chalkwall.sqlite3").read_bytes().decode("latin-1")
    for text in (logs.getvalue(), " ".join(snap.warnings), str(caught.value), stored):
        assert secret not in text and not any(t in text for t in tokens)


# --- the command line: chalkwall check --online and chalkwall feed, against a fake on the real clock ---

def today_scenario() -> Scenario:
    return make_scenario(day=datetime.now(ZoneInfo(SCENARIO.tz)).date())


def real_config(tmp_path: Path, fake: HelpScoutFake) -> Path:
    return write_config(tmp_path, f'[feed]\ntype = "helpscout"\nbase_url = "{fake.base_url}"\n'
                                  f'[feed.auth]\nclient_id = "{HelpScoutFake.CLIENT_ID}"\ntoken_env = "{SECRET_ENV}"\n'
                                  f'[periods]\ntimezone = "{SCENARIO.tz}"\n[state]\ndir = "{tmp_path / "state"}"\n')


def test_check_online_signs_in_reads_each_part_once_and_says_what_the_board_gets(
        tmp_path: Path, secret: str, capsys: pytest.CaptureFixture[str]) -> None:
    from display.cli import main

    for fake in serve(today_scenario(), time.time):
        assert main(["check", "--online", "--config", str(real_config(tmp_path, fake))]) == 0
        out = capsys.readouterr().out
        assert "helpscout roster: OK (8 active agents in 2 teams)" in out
        assert "helpscout tickets: OK" in out and "-> tickets_solved" in out and "-> csat" in out
        assert len(fake.calls("/v2/reports")) == 1  # one cheap call serves both parts
        assert not (tmp_path / "state" / "chalkwall.sqlite3").exists()  # check writes no state, not even a file


def test_check_online_on_a_standard_plan_exits_1_naming_the_plan_and_the_missing_metrics(
        tmp_path: Path, secret: str, capsys: pytest.CaptureFixture[str]) -> None:
    from display.cli import main

    for fake in serve(today_scenario(), time.time, plan="standard"):
        assert main(["check", "--online", "--config", str(real_config(tmp_path, fake))]) == 1
        err = capsys.readouterr().err
        assert "helpscout tickets: FAILED: Help Scout does not allow company report (HTTP 403)" in err
        assert "this plan has no reports API" in err
        assert "the board will have no tickets_solved" in err and "the board will have no csat" in err
        assert "2 of 3 part(s) of the helpscout feed cannot be read" in err


def test_chalkwall_feed_prints_the_board_keeps_the_connectors_state_and_no_secret(
        tmp_path: Path, secret: str, capsys: pytest.CaptureFixture[str]) -> None:
    from display.cli import main

    day = today_scenario()
    for fake in serve(day, time.time):
        assert main(["feed", "--config", str(real_config(tmp_path, fake))]) == 0
        out = capsys.readouterr().out
        printed = json.loads(out)
        assert {a["id"] for a in printed["agents"]} == {p.id for p in day.roster()}
        assert secret not in out and not any(t in out for t in fake.tokens)
        (saved,) = sqlite3.connect(tmp_path / "state" / "chalkwall.sqlite3").execute(
            "SELECT snapshot FROM connector_state").fetchone()
        doc = json.loads(saved)
        at = datetime.fromisoformat(doc["generated_at"].replace("Z", "+00:00")).timestamp()
        assert {a["id"]: a["metrics"] for a in doc["agents"]} == day.expected(at, "helpscout")


@pytest.mark.slow
def test_chalkwall_run_end_to_end_publishes_the_fakes_numbers(tmp_path: Path, secret: str) -> None:
    from helpers import WallProcess

    day = today_scenario()
    for fake in serve(day, time.time):
        config = write_config(tmp_path, f'[feed]\ntype = "helpscout"\nbase_url = "{fake.base_url}"\n'
                                        f'[feed.auth]\nclient_id = "{HelpScoutFake.CLIENT_ID}"\n'
                                        f'token_env = "{SECRET_ENV}"\n[periods]\ntimezone = "{day.tz}"\n')
        wall = WallProcess(config, tmp_path / "state")
        try:
            status = wall.wait_status(lambda s: (s.get("board") or {}).get("agents") == len(day.roster()), timeout=30)
            (saved,) = sqlite3.connect(tmp_path / "state" / "chalkwall" / "chalkwall.sqlite3").execute(
                "SELECT snapshot FROM connector_state").fetchone()
        finally:
            code = wall.stop()
        doc = json.loads(saved)
        at = datetime.fromisoformat(doc["generated_at"].replace("Z", "+00:00")).timestamp()
        assert {a["id"]: a["metrics"] for a in doc["agents"]} == day.expected(at, "helpscout")
        assert code == 0 and "Traceback" not in "".join(wall.lines)
        assert secret not in "".join(wall.lines) + json.dumps(status)
        assert not any(t in "".join(wall.lines) for t in fake.tokens)
