"""The native Intercom connector against the fake Intercom API (real HTTP on 127.0.0.1, the fake's
injected clock, and a sleep that moves that clock): the day's numbers equal the scenario's at every
hour and on a DST day, across 3+ search pages in shuffled order; every failure the issue lists keeps
the last good numbers and says why; the budget holds; the config checker and ``check --online``
say what is wrong; and the token never shows."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from fakes.base import Fault
from fakes.intercom import IntercomFake
from fakes.scenario import Scenario, Step, dst_scenario, make_scenario
from feeds.config.schema import AuthConfig, FeedConfig
from feeds.connectors.base import Context
from feeds.connectors.intercom import HOSTS, IntercomConnector, IntercomOptions
from feeds.connectors.kit.budget import Budget
from feeds.model import FeedError
from helpers import FakeClock, config_problems, events_named, records, write_config

SCENARIO = make_scenario()
TOKEN_ENV = "CHALKWALL_TEST_INTERCOM_TOKEN"
Make = Callable[..., tuple[IntercomFake, IntercomConnector, FakeClock]]


@pytest.fixture
def make(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Make]:
    """A fake Intercom on ``scenario`` at ``now``, and a connector on it (state in tmp_path)."""
    monkeypatch.setenv(TOKEN_ENV, IntercomFake.TOKEN)
    made: list[tuple[IntercomFake, IntercomConnector]] = []

    def build(scenario: Scenario = SCENARIO, now: float | None = None, *, sleeps: list[float] | None = None,
              state: Path | None = tmp_path, timeout: float = 5.0, share: float = 0.25,
              **knobs: Any) -> tuple[IntercomFake, IntercomConnector, FakeClock]:
        clock = FakeClock(scenario.at(16) if now is None else now)
        fake = IntercomFake(scenario, clock, **knobs).start()
        c = connector(fake, clock, scenario, sleeps=sleeps, state=state, timeout=timeout, share=share)
        made.append((fake, c))
        return fake, c, clock

    yield build
    for fake, c in made:
        c.close()
        fake.stop()


def connector(fake: IntercomFake, clock: FakeClock, scenario: Scenario = SCENARIO, *, sleeps: list[float] | None = None,
              state: Path | None = None, timeout: float = 5.0, share: float = 0.25) -> IntercomConnector:
    def sleep(seconds: float) -> None:
        if sleeps is not None:
            sleeps.append(seconds)
        clock.advance(seconds)

    feed = FeedConfig(type="intercom", interval=30.0, timeout=timeout, auth=AuthConfig(token_env=TOKEN_ENV),
                      options=IntercomOptions(base_url=fake.base_url, rate_share=share))
    return IntercomConnector(feed, Context(Path("."), clock, scenario.tz, state, sleep))


def board(snapshot: Any) -> dict[str, dict[str, float]]:
    return {a.id: dict(a.metrics) for a in snapshot.agents}


def expected(scenario: Scenario, now: float) -> dict[str, dict[str, float]]:
    """The scenario's numbers as a snapshot carries them: a null metric is left out."""
    return {agent: {k: v for k, v in row.items() if v is not None}
            for agent, row in scenario.expected(now, "intercom").items()}


def search_pages(fake: IntercomFake, since: int = 0) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in fake.calls("/conversations/search")[since:]]


# --- the numbers ---------------------------------------------------------------------------------

@pytest.mark.parametrize("scenario", [SCENARIO, dst_scenario()], ids=["november", "dst-25-hour-day"])
def test_the_board_equals_the_scenario_through_the_day_across_pages_in_shuffled_order(make: Make,
                                                                                    scenario: Scenario) -> None:
    fake, c, clock = make(scenario, scenario.at(8, 30), max_page=10, seed=5)
    for hour, minute in ((8, 30), (10, 15), (12, 0), (15, 45), (23, 59)):
        clock.now = scenario.at(hour, minute)
        assert board(c.poll()) == expected(scenario, clock.now), f"at {hour}:{minute:02d}"
    assert sum(row["tickets_solved"] for row in expected(scenario, clock.now).values()) > 20  # it has teeth
    cursors = [b["pagination"].get("starting_after") for b in search_pages(fake)]
    assert sum(1 for cursor in cursors if cursor) >= 3  # 3+ pages, each after the cursor of the one before


def test_a_cold_start_at_the_end_of_the_day_reads_it_all_from_local_midnight(make: Make) -> None:
    now = SCENARIO.at(23, 30)
    fake, c, _ = make(SCENARIO, now, max_page=20)
    assert board(c.poll()) == expected(SCENARIO, now)
    first = search_pages(fake)[0]
    assert first["query"] == {"field": "updated_at", "operator": ">", "value": int(SCENARIO.day_start())}
    assert first["pagination"]["per_page"] == 150


def test_the_watermark_rereads_five_minutes_and_no_more(make: Make) -> None:
    fake, c, clock = make(SCENARIO, SCENARIO.at(12))
    c.poll()
    mark = c.state["changed"]["mark"]
    before = len(fake.calls("/conversations/search"))
    clock.advance(30)
    c.poll()
    again = search_pages(fake, before)[0]["query"]
    assert again == {"field": "updated_at", "operator": ">", "value": int(mark - 300)}


def test_a_conversation_reopened_and_closed_again_by_another_admin_moves_to_them_across_polls(make: Make) -> None:
    base = make_scenario(agents=3, tickets=0, calls=0)
    a, b = base.roster()[1].id, base.roster()[2].id
    t0, team = base.at(9), base.teams[0].id
    steps = (Step(t0, 1, "create", team=team), Step(t0 + 60, 1, "assign", a, team), Step(t0 + 120, 1, "reply", a),
             Step(t0 + 600, 1, "solve", a), Step(t0 + 900, 1, "reopen"), Step(t0 + 960, 1, "assign", b, team),
             Step(t0 + 1500, 1, "solve", b), Step(t0 + 1800, 1, "rate", b, rating="bad"))
    scenario = replace(base, steps=steps)
    _, c, clock = make(scenario, t0 + 700)
    solved = {}
    for at in (t0 + 700, t0 + 1000, t0 + 1600, t0 + 1900):
        clock.now = at
        snap = board(c.poll())
        assert snap == expected(scenario, at)
        solved[at - t0] = (snap[a]["tickets_solved"], snap[b]["tickets_solved"])
    assert solved == {700: (1, 0), 1000: (0, 0), 1600: (0, 1), 1900: (0, 1)}
    assert (snap[b]["csat"], snap[b]["csat_count"]) == (0.0, 1.0)


def test_the_hand_placed_cases_count_as_the_rules_say(make: Make) -> None:
    now = SCENARIO.at(16)
    _, c, _ = make(SCENARIO, now)
    snap = board(c.poll())
    assert "1900" not in snap and "5000" not in snap  # a deactivated agent's and an end user's solves
    assert snap == expected(SCENARIO, now)
    assert c.tally.ratings["90006"][0] == "1004" and c.tally.ratings["90006"][2] is True  # yesterday's, rated today
    assert "90007" not in c.tally.ratings  # rated yesterday
    assert "90005" in c.tally.tickets and c.tally.tickets["90005"][0] == "1002"  # reassigned: stays with the closer
    assert "90004" not in c.tally.tickets  # reopened, still open
    assert "90010" not in c.tally.tickets  # closed, then deleted
    assert c.tally.ratings["90011"][2] is False  # a 3 of 5 is rated, not satisfied


def test_a_deactivated_agent_leaves_at_the_next_roster_refresh(make: Make) -> None:
    fake, c, clock = make(SCENARIO, SCENARIO.at(10))
    assert "1003" in board(c.poll())
    fake.scenario = replace(SCENARIO, people=tuple(replace(p, active=False) if p.id == "1003" else p
                                                   for p in SCENARIO.people))
    clock.advance(3600)
    snap = board(c.poll())
    assert "1003" not in snap and "1002" in snap


def test_the_state_survives_a_restart_and_the_numbers_stay_the_same(make: Make, tmp_path: Path) -> None:
    fake, c, clock = make(SCENARIO, SCENARIO.at(14), max_page=25)
    first = board(c.poll())
    c.close()
    asked = len(fake.calls("/conversations/search"))
    again = connector(fake, clock, state=tmp_path)
    try:
        assert board(again.poll()) == first
        assert search_pages(fake, asked)[0]["query"]["value"] > SCENARIO.day_start()  # from the watermark
    finally:
        again.close()


def test_a_wall_killed_mid_backfill_resumes_from_the_saved_cursor_and_ends_with_a_clean_runs_numbers(
        make: Make, tmp_path: Path) -> None:
    fake, c, clock = make(SCENARIO, SCENARIO.at(16), max_page=10, rate_limit=60)  # the backfill spans polls
    c.poll()
    cursor = c.state["changed"]["after"]
    assert cursor  # mid-pass, and saved with the tally it read (kill -9 now: no close, no last save)
    asked = len(fake.calls("/conversations/search"))
    clock.advance(30)
    again = connector(fake, clock, state=tmp_path)
    try:
        snap = again.poll()
        assert search_pages(fake, asked)[0]["pagination"].get("starting_after") == cursor
        for _ in range(40):
            if not again.catching_up:
                break
            clock.advance(30)
            snap = again.poll()
        assert board(snap) == expected(SCENARIO, clock.now)
    finally:
        again.close()


def test_local_midnight_starts_a_day_of_zeros_and_no_ratings(make: Make) -> None:
    _, c, clock = make(SCENARIO, SCENARIO.at(23, 50))
    assert board(c.poll()) == expected(SCENARIO, clock.now)
    clock.now = SCENARIO.day_end() + 300
    snap = c.poll()
    assert {row["tickets_solved"] for row in board(snap).values()} == {0.0}
    assert all("csat" not in row and row["csat_count"] == 0.0 for row in board(snap).values())


# --- failures ------------------------------------------------------------------------------------

def test_429_waits_for_x_ratelimit_reset_when_there_is_no_retry_after(make: Make) -> None:
    sleeps: list[float] = []
    fake, c, clock = make(sleeps=sleeps)
    fake.inject(Fault(429, {"X-RateLimit-Reset": str(int(clock.now) + 7)}, body='{"type":"error.list"}'),
                path="/conversations/search")
    assert board(c.poll()) == expected(SCENARIO, SCENARIO.at(16))
    assert sleeps == [7.0] and not c.errors


def test_429_prefers_retry_after_and_without_any_header_backs_off_briefly(make: Make) -> None:
    sleeps: list[float] = []
    fake, c, clock = make(sleeps=sleeps)
    fake.inject(Fault(429, {"Retry-After": "3", "X-RateLimit-Reset": str(int(clock.now) + 9)}), path="/admins")
    fake.inject(Fault(429), path="/teams")
    c.poll()
    assert sleeps[0] == 3.0 and 1.0 <= sleeps[1] <= 2.0 and not c.errors


def test_a_429_past_the_polls_deadline_keeps_the_last_numbers_and_says_so(make: Make) -> None:
    fake, c, clock = make(SCENARIO, SCENARIO.at(12))
    good = board(c.poll())
    clock.now = SCENARIO.at(13)
    fake.inject(Fault(429, {"X-RateLimit-Reset": str(int(clock.now) + 500)}), path="/conversations/search", times=1)
    snap = c.poll()
    assert {a: m["tickets_solved"] for a, m in board(snap).items()} == {a: m["tickets_solved"] for a, m in good.items()}
    assert any("rate-limiting conversation search (HTTP 429)" in w and "tickets_solved, first_reply_seconds kept from 12:00" in w
               for w in snap.warnings)


@pytest.mark.parametrize("fault, times, said", [
    (Fault(503, body="upstream down"), 4, "not answering conversation search (HTTP 503)"),  # the try and 3 retries
    (Fault(truncate=True), 1, "conversation search"),
    (Fault(200, body='{"type": "conversation.list", "conversations": [{"id": "1"'), 1, "truncated or invalid JSON"),
    (Fault(delay=0.6), 1, "did not answer conversation search within 0.3 s"),
], ids=["503", "cut-off", "truncated-json", "timeout"])
def test_a_failed_search_keeps_the_last_good_numbers_never_a_zero(make: Make, fault: Fault, times: int, said: str) -> None:
    fake, c, clock = make(SCENARIO, SCENARIO.at(11), timeout=0.3)
    good = board(c.poll())
    clock.now = SCENARIO.at(15)
    fake.inject(fault, path="/conversations/search", times=times)
    snap = c.poll()
    assert {a: m["tickets_solved"] for a, m in board(snap).items()} == {a: m["tickets_solved"] for a, m in good.items()}
    assert any(w.startswith("Intercom conversations: ") and said in w for w in snap.warnings), snap.warnings
    clock.advance(30)
    assert board(c.poll()) == expected(SCENARIO, clock.now)  # and back once it answers


def test_an_expired_cursor_reseeds_from_midnight_while_the_last_numbers_stay(make: Make, logs: io.StringIO) -> None:
    # 60 a minute (10 per 10-s window), of which chalkwall takes 25 %: the cold start spans polls
    fake, c, clock = make(SCENARIO, SCENARIO.at(16), max_page=10, rate_limit=60, cursor_ttl=20)
    first = c.poll()
    assert any("catching up" in w for w in first.warnings)
    assert c.state["changed"].get("after")  # mid-pass: the cursor is kept for the next poll
    partial = board(first)
    clock.advance(60)  # the saved cursor is now older than the fake lets one live
    second = c.poll()
    assert all(board(second)[a]["tickets_solved"] >= partial[a]["tickets_solved"] for a in partial)  # nothing lost
    assert events_named(logs, "connector_reseed")
    seeded = [b for b in search_pages(fake) if b["query"]["field"] == "updated_at" and not b["pagination"].get("starting_after")]
    assert len(seeded) == 2 and all(b["query"]["value"] == int(SCENARIO.day_start()) for b in seeded)
    fake.cursor_ttl = None  # cursors live long enough from now on: the re-read can finish
    snap = second
    for _ in range(40):
        if not c.catching_up:
            break
        clock.advance(30)
        snap = c.poll()
    assert board(snap) == expected(SCENARIO, clock.now)


def test_the_budget_keeps_to_a_quarter_of_each_ten_second_window_and_never_meets_a_429(make: Make) -> None:
    fake, c, clock = make(SCENARIO, SCENARIO.at(16), max_page=10, rate_limit=120)  # 120 a minute, 20 per window
    said: list[str] = []
    for _ in range(12):
        said += c.poll().warnings
        clock.advance(30)
    stamps = [r.at for r in fake.requests]
    per_window: dict[int, int] = {}
    for at in stamps:
        per_window[int(at // 10)] = per_window.get(int(at // 10), 0) + 1
    # a quarter of 20 a window is 5, and as many again may refill within one window
    assert len(stamps) > 30 and max(per_window.values()) <= 10
    assert max(sum(1 for t in stamps if start <= t < start + 60) for start in stamps) <= 30 + 5  # 25 % of 120, + a burst
    assert not any("HTTP 429" in w for w in said)
    assert board(c.poll()) == expected(SCENARIO, clock.now)


def test_a_budget_window_lets_only_its_share_through_at_once() -> None:
    clock = FakeClock(0.0)
    budget = Budget({"account": 600.0}, 0.25, clock, windows={"account": 10.0})  # 150 a minute, 25 per 10 s
    sent = 0
    while budget.wait(["account"]) == 0:
        budget.spend(["account"])
        sent += 1
    assert sent == 25 and budget.wait(["account"]) == pytest.approx(10.0)  # the first of them leaves the window
    minute = Budget({"account": 600.0}, 0.25, clock)  # a plain per-minute bucket: 150 at once
    assert minute.buckets["account"].capacity == 150.0


def test_401_is_one_clear_error_naming_the_secret_and_never_showing_it(make: Make, logs: io.StringIO) -> None:
    fake, c, clock = make(SCENARIO, SCENARIO.at(10), token="another-token-entirely")
    with pytest.raises(FeedError) as caught:
        c.poll()
    message = str(caught.value)
    assert f"Intercom refused the credentials for admin list (HTTP 401): check the Intercom access token in " \
           f"feed.auth.token_env ({TOKEN_ENV})" == message
    assert IntercomFake.TOKEN not in message and IntercomFake.TOKEN not in logs.getvalue()


def test_a_token_revoked_mid_day_keeps_the_numbers_and_names_the_secret(make: Make, logs: io.StringIO) -> None:
    fake, c, clock = make(SCENARIO, SCENARIO.at(10))
    good = board(c.poll())
    fake.token_valid_until = clock.now + 1
    clock.advance(60)
    snap = c.poll()
    assert board(snap) == good
    assert any("HTTP 401" in w and TOKEN_ENV in w for w in snap.warnings)
    assert all(IntercomFake.TOKEN not in w for w in snap.warnings) and IntercomFake.TOKEN not in logs.getvalue()


def test_403_names_the_permission_and_is_not_asked_again(make: Make) -> None:
    fake, c, clock = make(SCENARIO, SCENARIO.at(10), scopes=frozenset({"read_admins"}))
    snap = c.poll()
    assert any('does not allow conversation search (HTTP 403): it needs the "Read conversations" permission' in w
               for w in snap.warnings)
    assert {"tickets_solved", "csat"} <= snap.empty_metrics
    asked = len(fake.calls("/conversations"))
    clock.advance(60)
    c.poll()
    assert len(fake.calls("/conversations")) == asked


def test_a_plan_without_api_access_says_so(make: Make) -> None:
    _, c, _ = make(plan_restricted=True)
    with pytest.raises(FeedError, match="a workspace subscription that allows API access"):
        c.poll()


def test_a_rating_without_updated_at_fails_loudly_naming_the_field(make: Make) -> None:
    fake, c, clock = make(SCENARIO, SCENARIO.at(10))
    good = board(c.poll())
    body = json.dumps({"type": "conversation.list", "total_count": 1, "pages": {"type": "pages", "page": 1},
                       "conversations": [{"id": "777", "state": "open", "updated_at": int(clock.now),
                                          "conversation_rating": {"rating": 5, "created_at": int(clock.now),
                                                                  "teammate": {"type": "admin", "id": "1002"}}}]})
    fake.inject(Fault(200, body=body), path="/conversations/search", times=2)
    clock.advance(60)
    snap = c.poll()
    assert any("conversation_rating has no updated_at" in w and "csat, csat_count kept from" in w for w in snap.warnings)
    assert board(snap)["1002"]["csat_count"] == good["1002"]["csat_count"]


def test_an_unlisted_deleted_conversations_endpoint_is_said_not_silently_skipped(make: Make) -> None:
    fake, c, _ = make(SCENARIO, SCENARIO.at(10))
    fake.inject(Fault(404, body='{"type":"error.list","errors":[{"code":"not_found"}]}'), path="/conversations/deleted")
    snap = c.poll()
    assert any("cannot list deleted conversations" in w and "one deleted today may still count" in w
               for w in snap.warnings)
    assert board(snap) == expected(SCENARIO, SCENARIO.at(10)) and not c.errors  # the rest is read as ever


# --- config, hosts, check --online ----------------------------------------------------------------

def test_the_region_picks_intercoms_regional_host(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TOKEN_ENV, "x")
    for region, host in (("us", "https://api.intercom.io"), ("eu", "https://api.eu.intercom.io"),
                         ("au", "https://api.au.intercom.io")):
        feed = FeedConfig(type="intercom", auth=AuthConfig(token_env=TOKEN_ENV), options=IntercomOptions(region=region))
        c = IntercomConnector(feed, Context(Path(".")))
        assert c.api.base_url == host == HOSTS[region] and c.api.client.headers["Intercom-Version"] == "2.14"
        c.close()
    assert FeedConfig(type="intercom", options=IntercomOptions()).interval == 30.0


def test_two_tokens_keep_two_tallies_apart(monkeypatch: pytest.MonkeyPatch) -> None:
    keys = set()
    for token in ("token-one", "token-two"):
        monkeypatch.setenv(TOKEN_ENV, token)
        feed = FeedConfig(type="intercom", auth=AuthConfig(token_env=TOKEN_ENV), options=IntercomOptions())
        c = IntercomConnector(feed, Context(Path(".")))
        keys.add(c.store.account)
        assert token not in c.store.account
        c.close()
    assert len(keys) == 2


@pytest.mark.parametrize("text, problem", [
    ('[feed]\ntype = "intercom"\n',
     'config.toml: feed.auth: feed type "intercom" needs exactly one of token_env or token_file (the Intercom access token)'),
    ('[feed]\ntype = "intercom"\nbase_url = "http://api.intercom.io"\n[feed.auth]\ntoken_env = "T"\n',
     'config.toml: feed.base_url: must be https:// (plain http:// only on a loopback address such as 127.0.0.1), '
     'not "http://api.intercom.io"'),
    ('[feed]\ntype = "intercom"\nbase_url = "https://api.intercom.io/conversations"\n[feed.auth]\ntoken_env = "T"\n',
     "config.toml: feed.base_url: must hold the scheme, host and port only"),
    ('[feed]\ntype = "intercom"\n[feed.auth]\ntype = "bearer"\ntoken_env = "T"\n',
     'config.toml: feed.auth.type: feed type "intercom" picks its own scheme: remove [feed.auth] type'),
    ('[feed]\ntype = "intercom"\n[feed.auth]\nemail = "a@b.c"\ntoken_env = "T"\n',
     'config.toml: feed.auth.email: does not apply to feed type "intercom"'),
    ('[feed]\ntype = "intercom"\nregion = "ue"\n[feed.auth]\ntoken_env = "T"\n',
     'config.toml: feed.region: must be one of "us", "eu", "au", not string "ue"'),
    ('[feed]\ntype = "intercom"\nregion = "EU"\n[feed.auth]\ntoken_env = "T"\n', 'did you mean "eu"?'),
    ('[feed]\ntype = "intercom"\nsubdomain = "acme"\n[feed.auth]\ntoken_env = "T"\n', "feed.subdomain"),
])
def test_the_config_checker_refuses_what_intercom_cannot_use(tmp_path: Path, text: str, problem: str) -> None:
    found = config_problems(tmp_path, text)
    assert any(problem in p for p in found), found


def chalkwall(*args: str, token: str = IntercomFake.TOKEN) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CHALKWALL_CONFIG"}
    env[TOKEN_ENV] = token
    return subprocess.run([sys.executable, "-m", "display.cli", *args], capture_output=True, text=True, env=env,
                          timeout=60)


def intercom_config(tmp_path: Path, fake: IntercomFake, tz: str = SCENARIO.tz) -> Path:
    return write_config(tmp_path, f'[feed]\ntype = "intercom"\nbase_url = "{fake.base_url}"\navatars = false\n'
                                  f'[feed.auth]\ntoken_env = "{TOKEN_ENV}"\n[periods]\ntimezone = "{tz}"\n'
                                  f'[state]\ndir = "{tmp_path / "state"}"\n')


def test_check_online_says_each_part_works_then_names_the_missing_permission(make: Make, tmp_path: Path) -> None:
    fake, _, _ = make()
    config = intercom_config(tmp_path, fake)
    ok = chalkwall("check", "--online", "--config", str(config))
    assert ok.returncode == 0, ok.stderr
    assert [line.split(" (")[0] for line in ok.stdout.splitlines()[1:]] == [
        "intercom roster: OK", "intercom conversations: OK", "intercom ratings: OK", "feed: OK"]
    assert "-> tickets_solved, first_reply_seconds" in ok.stdout and "-> csat, csat_count" in ok.stdout
    fake.scopes = frozenset({"read_admins"})
    failed = chalkwall("check", "--online", "--config", str(config))
    assert failed.returncode == 1
    assert 'intercom conversations: FAILED: Intercom does not allow conversation search (HTTP 403): it needs the ' \
           '"Read conversations" permission' in failed.stderr
    assert "the board will have no tickets_solved, first_reply_seconds" in failed.stderr
    assert "the board will have no csat, csat_count" in failed.stderr
    assert IntercomFake.TOKEN not in ok.stdout + ok.stderr + failed.stdout + failed.stderr


# --- end to end ----------------------------------------------------------------------------------

@pytest.mark.slow
def test_chalkwall_run_and_feed_show_the_days_numbers_from_the_fake_on_a_real_clock(tmp_path: Path,
                                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlite3
    import time
    from datetime import datetime

    from helpers import WallProcess

    monkeypatch.setenv(TOKEN_ENV, IntercomFake.TOKEN)  # for the wall's own process too
    tz = "Europe/Stockholm"
    today = datetime.now(SCENARIO.zone).date()
    scenario = make_scenario(day=today, tz=tz)
    fake = IntercomFake(scenario, time.time, max_page=40).start()
    try:
        config = intercom_config(tmp_path, fake, tz)
        feed = chalkwall("feed", "--config", str(config))
        assert feed.returncode == 0, feed.stderr
        now = time.time()
        printed = {a["id"]: a for a in json.loads(feed.stdout)["agents"]}
        want = expected(scenario, now)
        assert {a: row.get("value") for a, row in printed.items()} == {a: row["tickets_solved"] for a, row in want.items()}
        assert IntercomFake.TOKEN not in feed.stdout + feed.stderr
        wall = WallProcess(config, tmp_path / "xdg")
        try:
            db = tmp_path / "state" / "chalkwall.sqlite3"
            deadline = time.monotonic() + 30
            saved: dict[str, Any] = {}
            while time.monotonic() < deadline:
                time.sleep(0.3)
                try:
                    with sqlite3.connect(db) as conn:
                        row = conn.execute("SELECT snapshot, saved_at FROM connector_state").fetchone()
                except sqlite3.Error:
                    continue
                if row and row[0] and row[1] > now:
                    saved = json.loads(row[0])
                    break
        finally:
            code = wall.stop()
        assert saved, "".join(wall.lines[-20:])
        shown = {a["id"]: {k: v for k, v in a["metrics"].items() if v is not None} for a in saved["agents"]}
        assert shown == expected(scenario, time.time()) or shown == want
        assert code == 0, "".join(wall.lines[-20:])
        assert all(IntercomFake.TOKEN not in line for line in wall.lines)
    finally:
        fake.stop()
