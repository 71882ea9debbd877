"""The Zendesk connector against the fake Zendesk (real HTTP on 127.0.0.1, the fake's clock):
the numbers equal the scenario's at several moments of the day and on a DST day, over many
pages; every failure the issue lists keeps the last good numbers and says why; the budget holds;
``check`` and ``check --online`` say what is wrong; no secret ever shows."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from datetime import date, datetime, timezone
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from fakes.base import Fault
from fakes.scenario import Scenario, dst_scenario, make_scenario
from fakes.zendesk import ZendeskFake
from feeds.config.schema import AuthConfig, FeedConfig
from feeds.connectors.base import Context
from feeds.connectors.zendesk import EXPORT, RATINGS, ZendeskConnector, ZendeskOptions
from feeds.model import FeedError, Snapshot
from helpers import FakeClock, config_problems, events_named, write_config

SC = make_scenario()
PLAIN_429 = "Number of allowed API requests per minute exceeded"


def quiet_moment(sc: Scenario, after: float) -> float:
    """The first whole minute from ``after`` with no step in the two minutes before it, so that the
    export's one-minute lag and the ratings' end_time margin hide nothing ``expected`` counts."""
    t = after - after % 60
    while any(t - 150 <= s.at < t for s in sc.steps):
        t += 60
    return t


class Rig:
    """One fake Zendesk on its clock, and connectors made against it (sleeping advances the clock)."""

    def __init__(self, tmp_path: Path, sc: Scenario, at: float, **knobs: Any) -> None:
        self.tmp, self.sc = tmp_path, sc
        self.clock = FakeClock(at)
        self.fake = ZendeskFake(sc, self.clock, **knobs).start()
        self.sleeps: list[float] = []
        (tmp_path / "zd.token").write_text(ZendeskFake.TOKEN + "\n")

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.clock.advance(seconds)

    def connector(self, state: Path | None = None, *, email: str = ZendeskFake.EMAIL, token: str | None = None,
                  share: float = 0.25, timeout: float = 10.0) -> ZendeskConnector:
        if token is not None:
            (self.tmp / "other.token").write_text(token)
        auth = AuthConfig(email=email, token_file="other.token" if token is not None else "zd.token")
        feed = FeedConfig(type="zendesk", interval=60.0, timeout=timeout, auth=auth,
                          options=ZendeskOptions(base_url=self.fake.base_url, rate_share=share))
        return ZendeskConnector(feed, Context(self.tmp, self.clock, self.sc.tz, state), sleep=self.sleep)

    def at(self, when: float) -> None:
        self.clock.now = when

    def exports(self) -> list[Any]:
        return self.fake.calls(EXPORT)


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Any]:
    made: list[Rig] = []

    def make(sc: Scenario = SC, at: float | None = None, **knobs: Any) -> Rig:
        r = Rig(tmp_path, sc, at if at is not None else quiet_moment(sc, sc.at(16)), **knobs)
        made.append(r)
        return r

    yield make
    for r in made:
        r.fake.stop()


def shown(snapshot: Snapshot | None) -> dict[str, dict[str, float]]:
    assert snapshot is not None
    return {a.id: dict(a.metrics) for a in snapshot.agents}


def expected(sc: Scenario, now: float) -> dict[str, dict[str, float]]:
    """``Scenario.expected`` as a snapshot carries it (a null metric is left out of the agent)."""
    return {aid: {k: v for k, v in row.items() if v is not None} for aid, row in sc.expected(now, "zendesk").items()}


def settle(c: ZendeskConnector, r: Rig, polls: int = 30) -> Snapshot | None:
    """Poll once a minute until a backfill has caught up."""
    snap = c.poll()
    for _ in range(polls):
        if not c.catching_up:
            return snap
        r.clock.advance(60)
        snap = c.poll()
    raise AssertionError("still catching up")


# --- the numbers ----------------------------------------------------------------------------------

def test_the_numbers_equal_the_scenarios_in_the_morning_mid_afternoon_and_at_the_end_of_the_day(rig: Any) -> None:
    r = rig(at=quiet_moment(SC, SC.at(8, 30)))
    c = r.connector()
    for moment in (SC.at(8, 30), SC.at(10, 40), SC.at(15, 10), SC.at(23, 50)):
        r.at(quiet_moment(SC, moment))
        assert shown(settle(c, r)) == expected(SC, r.clock.now)
    assert {a for a in shown(c.poll())} == {p.id for p in SC.roster()}


@pytest.mark.parametrize("sc, hours", [(dst_scenario(), 25),
                                       (make_scenario(5, day=date(2026, 3, 29), agents=6, tickets=60), 23)])
def test_a_dst_day_of_23_or_25_hours_counts_from_local_midnight(rig: Any, sc: Scenario, hours: int) -> None:
    assert sc.day_end() - sc.day_start() == hours * 3600
    r = rig(sc, at=quiet_moment(sc, sc.at(18)))
    assert shown(settle(r.connector(), r)) == expected(sc, r.clock.now)


def test_a_backfill_over_many_pages_is_partial_and_catching_up_then_complete(rig: Any, tmp_path: Path) -> None:
    r = rig(max_page=10)
    c = r.connector(tmp_path / "state")
    first = c.poll()
    assert c.catching_up and any("catching up" in w for w in first.warnings)
    assert sum(m.get("tickets_solved", 0) for m in shown(first).values()) < \
        sum(m.get("tickets_solved", 0) for m in expected(SC, r.clock.now).values())
    snap = settle(c, r)
    assert shown(snap) == expected(SC, r.clock.now)
    assert len(r.exports()) >= 12 and not any("catching up" in w for w in snap.warnings)
    assert all(req.arg("per_page") == "1000" and req.arg("include") == "metric_sets" for req in r.exports())


def test_the_export_asks_from_local_midnight_then_only_from_the_saved_cursor(rig: Any, tmp_path: Path) -> None:
    r = rig()
    c = r.connector(tmp_path / "state")
    c.poll()
    first = r.exports()[0]
    assert first.arg("start_time") == str(int(SC.day_start())) and first.arg("cursor") is None
    r.clock.advance(60)
    c.poll()
    assert r.exports()[-1].arg("cursor") and r.exports()[-1].arg("start_time") is None


def test_reassignment_reopen_a_late_rating_and_a_deactivated_agent_follow_the_rules(rig: Any) -> None:
    a, b, c_ = (p.id for p in SC.people[1:4])
    r = rig(at=quiet_moment(SC, SC.at(10, 15)))
    assert r.clock.now < SC.at(11)
    c = r.connector()
    assert shown(settle(c, r)) == expected(SC, r.clock.now)
    assert c.tally.tickets["90005"][0] == a and "90004" in c.tally.tickets
    late = [k for k, (agent, at, good) in c.tally.ratings.items() if agent == c_ and at == SC.at(10)]
    assert len(late) == 1  # yesterday's ticket, rated today: the rating counts today
    r.at(quiet_moment(SC, SC.at(11, 5)))  # 90005 reassigned from a to c, 90004 reopened
    after = shown(settle(c, r))
    assert after == expected(SC, r.clock.now)
    assert c.tally.tickets["90005"][0] == c_ and "90004" not in c.tally.tickets
    r.clock.advance(60)
    c.poll()  # the ratings overlap reads the late rating again: it still counts once
    assert [k for k, (agent, at, good) in c.tally.ratings.items() if agent == c_ and at == SC.at(10)] == late
    assert "1900" not in after and "5000" not in after  # a deactivated agent's and an end user's solves
    assert b in after


@pytest.mark.parametrize("how", ["inactive", "suspended", "absent"])
def test_a_deactivated_or_suspended_agent_is_never_on_the_board(rig: Any, how: str) -> None:
    r = rig(deactivated=how)
    assert "1900" not in shown(r.connector().poll())


def test_an_agent_deactivated_during_the_day_leaves_at_the_next_hourly_roster_refresh(rig: Any) -> None:
    r = rig(at=quiet_moment(SC, SC.at(12)))
    c = r.connector()
    leaver = SC.roster()[2].id
    assert leaver in shown(c.poll())
    r.fake.scenario = replace(SC, people=tuple(replace(p, active=False) if p.id == leaver else p for p in SC.people))
    r.clock.advance(30 * 60)
    assert leaver in shown(c.poll())  # the roster is read hourly, not every poll
    r.clock.advance(31 * 60)
    assert leaver not in shown(c.poll())
    assert len(r.fake.calls("/api/v2/users")) == 2


def test_local_midnight_starts_a_new_day_and_yesterdays_last_second_solve_does_not_count(rig: Any) -> None:
    r = rig(at=quiet_moment(SC, SC.day_start() - 600))
    c = r.connector()
    c.poll()
    r.at(quiet_moment(SC, SC.day_start() + 300))
    snap = shown(c.poll())
    assert snap == expected(SC, r.clock.now)
    assert sum(m["tickets_solved"] for m in snap.values()) == 1  # 90002 at 00:00:01, not 90001 at 23:59:59


def test_a_cold_start_in_the_first_minute_after_midnight_asks_for_nothing_yet(rig: Any) -> None:
    r = rig(at=SC.day_start() + 30)
    c = r.connector()
    snap = c.poll()
    assert r.exports() == [] and not c.errors
    assert shown(snap)[SC.roster()[0].id] == {"tickets_solved": 0.0, "csat_count": 0.0}


# --- failures -------------------------------------------------------------------------------------

@pytest.mark.parametrize("status", [400, 422])
def test_a_too_recent_start_time_is_nothing_yet_not_an_error_whether_400_or_422(rig: Any, status: int) -> None:
    r = rig(at=SC.day_start() + 70, too_recent_status=status, lag=120.0)  # Zendesk holds back two minutes here
    c = r.connector()
    snap = c.poll()
    assert r.exports()[0].arg("start_time") == str(int(SC.day_start()))
    assert not c.errors and shown(snap)[SC.roster()[0].id]["tickets_solved"] == 0


@pytest.mark.parametrize("body, error", [('{"error": "InvalidValue", "description": "Too recent end_time"}', False),
                                         ('{"error": "InvalidValue", "description": "score is not valid"}', True)])
def test_a_too_recent_ratings_end_time_waits_for_the_next_poll_but_another_refusal_is_an_error(
        rig: Any, body: str, error: bool) -> None:
    r = rig()
    r.fake.inject(Fault(422, body=body), path=RATINGS)
    c = r.connector()
    snap = c.poll()
    assert ("ratings" in c.errors) == error
    assert error == any("HTTP 422 (score is not valid)" in w for w in snap.warnings)


def test_an_expired_cursor_starts_again_from_midnight_and_the_numbers_stay(rig: Any, logs: io.StringIO) -> None:
    r = rig(at=quiet_moment(SC, SC.at(12)))
    c = r.connector()
    good = shown(c.poll())
    r.fake.cursors_expired = True
    r.clock.advance(60)
    assert shown(c.poll()) == good
    assert [q.arg("start_time") for q in r.exports()[-2:]] == [None, str(int(SC.day_start()))]
    assert len(events_named(logs, "cursor_rejected")) == 1
    r.fake.cursors_expired = False
    r.at(quiet_moment(SC, SC.at(15)))
    assert shown(settle(c, r)) == expected(SC, r.clock.now)


@pytest.mark.parametrize("headers, waited", [({"Retry-After": "7"}, 7.0), ({"ratelimit-reset": "13"}, 13.0)])
def test_429_waits_as_long_as_zendesk_says_in_retry_after_or_ratelimit_reset(rig: Any, headers: dict[str, str],
                                                                            waited: float) -> None:
    r = rig()
    start = r.clock.now
    r.fake.inject(Fault(429, headers, '{"error": "APIRateLimitExceeded"}'), path=EXPORT)
    c = r.connector()
    assert shown(c.poll()) == expected(SC, start)
    assert waited in r.sleeps and not c.errors


def test_429_without_any_wait_header_and_a_plain_text_body_backs_off_and_retries(rig: Any) -> None:
    r = rig()
    r.fake.inject(Fault(429, {"Content-Type": "text/plain"}, PLAIN_429), path=RATINGS)
    c = r.connector()
    c.poll()
    assert not c.errors and 1.0 <= r.sleeps[0] <= 2.0


def test_another_integration_spending_the_incremental_bucket_costs_a_wait_not_the_numbers(rig: Any) -> None:
    r = rig()
    start = r.clock.now
    r.clock.advance(30)  # the other integration spent this minute's 10: Zendesk says wait 30 s, within the poll
    r.fake.use_incremental_budget(10)
    c = r.connector()
    snap = c.poll()
    assert not c.errors and r.sleeps == [30.0]
    assert shown(snap) == expected(SC, start)
    r.at(quiet_moment(SC, SC.at(17)))  # at the top of a minute the wait is past the poll's deadline: next poll
    r.fake.use_incremental_budget(10)
    snap = c.poll()
    assert any("rate-limiting the ticket export (HTTP 429)" in w for w in snap.warnings)
    r.clock.advance(60)
    assert shown(c.poll()) == expected(SC, r.clock.now - 60)


def test_503_and_timeouts_keep_the_last_good_numbers_marked_stale_never_a_zero(rig: Any) -> None:
    r = rig(at=quiet_moment(SC, SC.at(11)))
    c = r.connector(timeout=0.5)
    good = shown(c.poll())
    r.fake.inject(Fault(503, {"Retry-After": "1"}, "busy"), path=EXPORT, times=4)
    r.fake.inject(Fault(delay=0.8), path=RATINGS)
    r.at(quiet_moment(SC, SC.at(15)))
    snap = c.poll()
    assert shown(snap) == good
    assert any("tickets_solved, first_reply_seconds kept from" in w for w in snap.warnings)
    assert any("ratings" in w and "within 0.5 s" in w for w in snap.warnings)
    r.at(quiet_moment(SC, SC.at(15, 30)))
    c.poll()  # two export calls a minute (25 % of 10): the rest of the day's pages come a minute later
    r.at(quiet_moment(SC, SC.at(15, 32)))
    assert shown(c.poll()) == expected(SC, r.clock.now)


@pytest.mark.parametrize("fault, said", [(Fault(truncate=True), "network error"),
                                         (Fault(200, body='{"tickets": [{"id": 1, "sta'), "truncated or invalid JSON")])
def test_a_truncated_answer_keeps_the_last_good_numbers_and_says_so(rig: Any, fault: Fault, said: str) -> None:
    r = rig(at=quiet_moment(SC, SC.at(11)))
    c = r.connector()
    good = shown(c.poll())
    r.fake.inject(fault, path=EXPORT)
    r.at(quiet_moment(SC, SC.at(15)))
    snap = c.poll()
    assert {a: m["tickets_solved"] for a, m in shown(snap).items()} == {a: m["tickets_solved"] for a, m in good.items()}
    assert any(w.startswith("Zendesk tickets: ") and said in w for w in snap.warnings)


def test_a_ticket_export_answer_without_metric_sets_fails_loudly_naming_the_field(rig: Any) -> None:
    r = rig()
    doc = {"tickets": [{"id": 1, "status": "solved", "assignee_id": 1002}], "end_of_stream": True, "after_cursor": "x"}
    r.fake.inject(Fault(200, body=json.dumps(doc)), path=EXPORT)
    snap = r.connector().poll()
    assert any("no metric_sets" in w and "tickets_solved" in w for w in snap.warnings)
    assert "tickets_solved" in snap.empty_metrics


def test_a_per_ticket_metric_set_and_a_first_reply_in_whole_minutes_are_read_too(rig: Any) -> None:
    r = rig(at=SC.at(6, 30))  # before the day's first ticket
    agent = SC.roster()[1].id
    solved = time_iso(SC.at(6))
    doc = {"tickets": [{"id": 1, "status": "solved", "assignee_id": int(agent),
                        "metric_set": {"ticket_id": 1, "solved_at": solved, "reply_time_in_seconds": {"calendar": None},
                                       "reply_time_in_minutes": {"calendar": 16, "business": 16}}}],
           "end_of_stream": True, "after_cursor": "MTc5NTUwMDAwMC4wfHwxfA=="}
    r.fake.inject(Fault(200, body=json.dumps(doc)), path=EXPORT)
    row = shown(r.connector().poll())[agent]
    assert row["tickets_solved"] == 1 and row["first_reply_seconds"] == 960.0


def time_iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_401_is_one_clear_error_naming_the_secret_to_fix_and_never_showing_it(rig: Any, logs: io.StringIO) -> None:
    r = rig()
    with pytest.raises(FeedError) as caught:
        r.connector(token="zd-wrong-token-4242").poll()
    message = str(caught.value)
    assert "HTTP 401" in message and "feed.auth.email and the API token in feed.auth.token_file" in message
    assert "zd-wrong-token-4242" not in message + logs.getvalue()


def test_403_for_a_non_admin_names_the_admin_role_and_is_not_asked_again(rig: Any, logs: io.StringIO) -> None:
    r = rig(admin=False)
    c = r.connector()
    snap = c.poll()
    assert any("incremental ticket export is for admins only" in w for w in snap.warnings)
    assert any("ratings" in w and "admin" in w for w in snap.warnings)
    assert {"tickets_solved", "csat"} <= snap.empty_metrics
    r.clock.advance(60)
    c.poll()
    assert len(r.exports()) == 1 and len(r.fake.calls(RATINGS)) == 1
    assert ZendeskFake.TOKEN not in logs.getvalue() + " ".join(snap.warnings)


# --- budget, state ------------------------------------------------------------------------------

def test_the_incremental_bucket_is_never_asked_for_more_than_chalkwalls_share(rig: Any) -> None:
    r = rig(max_page=5)
    c = r.connector()
    for _ in range(12):
        c.poll()
        r.clock.advance(60)
    times = [q.at for q in r.exports()]
    assert len(times) > 20
    assert max(sum(1 for t in times if s <= t < s + 60) for s in times) <= 5  # a burst: 2.5 stored + 2.5 refilled
    assert len(times) <= 0.25 * 10 * (times[-1] - times[0]) / 60 + 3.5


def test_a_restart_resumes_from_the_saved_cursor_and_two_accounts_keep_apart(rig: Any, tmp_path: Path) -> None:
    r = rig(max_page=20)
    state = tmp_path / "state"
    first = r.connector(state)
    first.poll()
    first.close()
    asked = len(r.exports())
    last = r.exports()[-1]
    again = r.connector(state)
    snap = settle(again, r)
    assert r.exports()[asked].arg("cursor") and r.exports()[asked].arg("cursor") != last.arg("cursor")
    assert shown(snap) == expected(SC, r.clock.now)
    other = FeedConfig(type="zendesk", interval=60.0, auth=AuthConfig(email="x@example.com", token_file="zd.token"),
                       options=ZendeskOptions(subdomain="other", base_url=r.fake.base_url))
    second = ZendeskConnector(other, Context(tmp_path, r.clock, SC.tz, state))
    assert second.store.account == "zendesk:other" and second.state == {}
    second.close()


# --- config and check --online ------------------------------------------------------------------

@pytest.mark.parametrize("body, problem", [
    ('[feed.auth]\nemail = "a@b.c"\ntoken_env = "T"', 'feed.subdomain: missing (required for feed type "zendesk" unless '
                                                      'base_url is given)'),
    ('subdomain = "acme.zendesk.com"\n[feed.auth]\nemail = "a@b.c"\ntoken_env = "T"', 'did you mean "acme"'),
    ('base_url = "http://zendesk.example.com"\n[feed.auth]\nemail = "a@b.c"\ntoken_env = "T"', "must be https://"),
    ('subdomain = "acme"\n[feed.auth]\ntype = "basic"\nemail = "a@b.c"\ntoken_env = "T"', "remove [feed.auth] type"),
    ('subdomain = "acme"\n[feed.auth]\ntoken_env = "T"', 'feed.auth.email: missing (required for feed type "zendesk")'),
    ('subdomain = "acme"\n[feed.auth]\nemail = "a@b.c"', "exactly one of token_env or token_file (the API token)"),
    ('subdomian = "acme"\n[feed.auth]\nemail = "a@b.c"\ntoken_env = "T"', 'did you mean "subdomain"'),
])
def test_check_rejects_a_broken_zendesk_config(tmp_path: Path, body: str, problem: str) -> None:
    found = config_problems(tmp_path, f'[feed]\ntype = "zendesk"\n{body}\n')
    assert any(problem in p for p in found), found


def test_the_default_interval_is_a_minute_and_the_api_host_comes_from_the_subdomain(tmp_path: Path) -> None:
    from feeds.config.schema import load_config

    (tmp_path / "t").write_text("tok")
    loaded = load_config(str(write_config(tmp_path, '[feed]\ntype = "zendesk"\nsubdomain = "acme"\n'
                                                    '[feed.auth]\nemail = "a@b.c"\ntoken_file = "t"\n')))
    assert loaded.config.feed.interval == 60.0
    c = ZendeskConnector(loaded.config.feed, Context(tmp_path))
    assert c.api.base_url == "https://acme.zendesk.com" and c.store.account == "zendesk:acme"
    c.close()


def online(tmp_path: Path, fake: ZendeskFake) -> tuple[int, str, str]:
    from display.cli import main

    (tmp_path / "zd.token").write_text(ZendeskFake.TOKEN)
    path = write_config(tmp_path, f'[feed]\ntype = "zendesk"\nbase_url = "{fake.base_url}"\n[feed.auth]\n'
                                  f'email = "{ZendeskFake.EMAIL}"\ntoken_file = "zd.token"\n'
                                  f'[state]\ndir = "{tmp_path / "state"}"\n')
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["check", "--online", "--config", str(path)])
    return code, out.getvalue(), err.getvalue()


def test_check_online_reads_every_part_then_names_a_missing_permission_and_the_metrics_it_costs(tmp_path: Path) -> None:
    import time

    fake = ZendeskFake(SC, time.time).start()
    try:
        code, out, err = online(tmp_path, fake)
        assert code == 0, err
        assert "zendesk roster: OK (8 active agents in 2 teams)" in out
        assert "zendesk tickets: OK" in out and "zendesk ratings: OK" in out and ZendeskFake.TOKEN not in out + err
        fake.inject(Fault(403, body='{"error": "Forbidden"}'), path=RATINGS)
        code, out, err = online(tmp_path, fake)
        assert code == 1 and "zendesk tickets: OK" in out
        assert "zendesk ratings: FAILED" in err and "admin" in err and "the board will have no csat, csat_count" in err
    finally:
        fake.stop()
