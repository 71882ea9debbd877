"""The native Freshdesk connector against the fake Freshdesk API (real HTTP on 127.0.0.1, the fake's
injected clock): the numbers equal the scenario's canonical ones at any moment of the day and on a
DST day, through pages, errors, restarts and the rate budget, and no secret ever shows."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from fakes.base import Fault, iso
from fakes.freshdesk import FreshdeskFake
from fakes.scenario import Scenario, dst_scenario, make_scenario
from feeds.config.schema import AuthConfig, FeedConfig
from feeds.connectors.base import Context
from feeds.connectors.freshdesk import FreshdeskConnector, FreshdeskOptions, list_limit
from feeds.connectors.kit.budget import Budget
from feeds.model import FeedError
from helpers import ROOT, FakeClock, WallProcess, config_problems, records, write_config

DAY = make_scenario()
KEY_ENV = "CHALKWALL_TEST_FRESHDESK_KEY"
A, B, C = "1002", "1003", "1004"  # the scenario's hand-placed edge cases' agents (working[1..3])


@pytest.fixture(autouse=True)
def api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, FreshdeskFake.API_KEY)


@contextmanager
def serving(scenario: Scenario, clock: Any, **knobs: Any) -> Iterator[FreshdeskFake]:
    fake = FreshdeskFake(scenario, clock, **{"plan": "enterprise", **knobs})
    with fake.running():
        yield fake


def connector(fake: FreshdeskFake, clock: FakeClock, scenario: Scenario = DAY, state: Path | None = None,
              sleeps: list[float] | None = None, **options: Any) -> FreshdeskConnector:
    def sleep(seconds: float) -> None:
        if sleeps is not None:
            sleeps.append(seconds)
        clock.advance(seconds)

    feed = FeedConfig(type="freshdesk", interval=60.0, timeout=options.pop("timeout", 5.0),
                      auth=AuthConfig(token_env=KEY_ENV), options=FreshdeskOptions(base_url=fake.base_url, **options))
    return FreshdeskConnector(feed, Context(Path("."), clock, scenario.tz, state), sleep=sleep)


def numbers(snapshot: Any) -> dict[str, dict[str, float | None]]:
    """Per agent, every canonical metric (an absent one as None, as the scenario writes it)."""
    names = ("tickets_solved", "csat", "csat_count", "first_reply_seconds")
    return {a.id: {m: a.metrics.get(m) for m in names} for a in snapshot.agents}


def expected(scenario: Scenario, now: float) -> dict[str, dict[str, float | None]]:
    return {aid: {k: (float(v) if v is not None else None) for k, v in row.items()}
            for aid, row in scenario.expected(now, "freshdesk").items()}


def ticket_calls(fake: FreshdeskFake, deleted: bool = False) -> list[Any]:
    return [r for r in fake.calls("/api/v2/tickets") if r.path == "/api/v2/tickets"
            and (r.arg("filter") == "deleted") == deleted]


# --- the numbers ----------------------------------------------------------------------------------

@pytest.mark.parametrize("hour, minute", [(9, 30), (15, 0), (23, 59)])
def test_a_cold_start_shows_the_scenarios_numbers_at_that_moment(hour: int, minute: int) -> None:
    clock = FakeClock(DAY.at(hour, minute))
    with serving(DAY, clock) as fake:
        snap = connector(fake, clock).poll()
    assert numbers(snap) == expected(DAY, clock.now)
    assert not snap.warnings


def test_polling_through_the_day_keeps_equal_to_the_scenario_and_moves_reassigned_and_reopened_tickets() -> None:
    clock = FakeClock(DAY.at(8))
    seen: dict[str, list[float | None]] = {}
    with serving(DAY, clock) as fake:
        c = connector(fake, clock)
        while clock.now < DAY.at(23, 30):
            snap = c.poll()
            assert numbers(snap) == expected(DAY, clock.now), f"at {datetime.fromtimestamp(clock.now)}"
            seen.setdefault("90005", []).append(float(c.tally.tickets["90005"][0]) if "90005" in c.tally.tickets else None)
            clock.advance(1800)
    owners = [o for o in seen["90005"] if o is not None]
    assert owners[0] == float(A) and owners[-1] == float(C)  # solved by A, reassigned to C after the solve
    assert "90004" not in c.tally.tickets and "90010" not in c.tally.tickets  # reopened; solved then deleted


def test_the_edge_cases_read_as_the_rules_say() -> None:
    clock = FakeClock(DAY.at(16))
    with serving(DAY, clock) as fake:
        c = connector(fake, clock)
        got = numbers(c.poll())
    assert "1900" not in got and "5000" not in got  # a deactivated agent and an end user: never shown
    assert "90001" not in c.tally.tickets and "90002" in c.tally.tickets  # a second before and after midnight
    assert c.tally.tickets["90003"][1] == DAY.at(10) + 1800  # reopened and solved again: its latest solve
    assert [v[2] for k, v in c.tally.ratings.items() if k.startswith("90011:")] == [False]  # 100: rated, neutral
    assert [v[0] for k, v in c.tally.ratings.items() if k.startswith("90006:")] == [C]  # yesterday's ticket, rated today
    assert not any(k.startswith("90007:") for k in c.tally.ratings)  # rated yesterday


def test_a_dst_day_of_25_hours_counts_from_local_midnight_to_local_midnight() -> None:
    day = dst_scenario()
    assert day.day_end() - day.day_start() == 25 * 3600
    for hour, minute in ((2, 30), (14, 0), (23, 59)):
        clock = FakeClock(day.at(hour, minute))
        with serving(day, clock) as fake:
            assert numbers(connector(fake, clock, day).poll()) == expected(day, clock.now)


def test_three_or_more_pages_are_read_by_keyset_and_every_ticket_counts_once() -> None:
    clock = FakeClock(DAY.at(23, 59))
    with serving(DAY, clock, max_page=10) as fake:
        snap = connector(fake, clock).poll()
        calls = ticket_calls(fake)
    assert numbers(snap) == expected(DAY, clock.now)
    assert len(calls) >= 3
    assert all(c.arg("order_by") == "updated_at" and c.arg("order_type") == "asc" and c.arg("include") == "stats"
               for c in calls)
    assert calls[0].arg("updated_since") == iso(DAY.day_start())
    assert len({c.arg("updated_since") for c in calls}) >= 3  # each page starts the next query


def test_a_whole_page_updated_in_one_second_pages_on_instead_of_asking_again() -> None:
    from dataclasses import replace

    same = DAY.at(12)
    steps = tuple(replace(s, at=same) if s.ticket < 10_030 and s.kind == "solve" else s for s in DAY.steps)
    day = replace(DAY, steps=tuple(sorted(steps, key=lambda s: (s.at, s.ticket))))
    clock = FakeClock(day.at(23, 59))
    with serving(day, clock, max_page=5) as fake:
        assert numbers(connector(fake, clock, day).poll()) == expected(day, clock.now)
        assert any(c.arg("page") == "2" for c in ticket_calls(fake))


# --- failures -------------------------------------------------------------------------------------

@pytest.mark.parametrize("headers, waited", [({"Retry-After": "7"}, 7.0), ({}, None)])
def test_429_waits_as_retry_after_says_or_backs_off_without_it(headers: dict[str, str], waited: float | None) -> None:
    clock = FakeClock(DAY.at(15))
    sleeps: list[float] = []
    with serving(DAY, clock) as fake:
        fake.inject(Fault(429, headers, body='{"message": "You have exceeded the limit of requests per minute"}'),
                    path="/api/v2/tickets", times=1)
        snap = connector(fake, clock, sleeps=sleeps).poll()
    assert numbers(snap) == expected(DAY, clock.now) and not snap.warnings
    assert sleeps[0] == waited if waited is not None else 1.0 <= sleeps[0] <= 2.0


def test_a_429_that_asks_past_the_polls_deadline_keeps_the_last_good_numbers() -> None:
    clock = FakeClock(DAY.at(15))
    with serving(DAY, clock) as fake:
        c = connector(fake, clock)
        before = numbers(c.poll())
        clock.advance(60)
        fake.inject(Fault(429, {"Retry-After": "3600"}), path="/api/v2/surveys", times=1)
        snap = c.poll()
    assert {a: r["csat"] for a, r in numbers(snap).items()} == {a: r["csat"] for a, r in before.items()}
    assert any("rate-limiting satisfaction ratings (HTTP 429)" in w and "csat, csat_count kept from" in w
               for w in snap.warnings)


@pytest.mark.parametrize("fault, times", [(Fault(503, body="down"), 8), (Fault(truncate=True), 2), (Fault(delay=1.0), 2)],
                         ids=["503", "truncated-json", "timeout"])
def test_a_failed_ticket_read_keeps_the_last_good_numbers_marked_stale_never_zero(fault: Fault, times: int) -> None:
    clock = FakeClock(DAY.at(11))
    with serving(DAY, clock) as fake:
        c = connector(fake, clock, timeout=0.5)
        before = numbers(c.poll())
        clock.advance(4 * 3600)
        fake.inject(fault, path="/api/v2/tickets", times=times)  # the list and the deleted list, each retry
        snap = c.poll()
        assert {a: r["tickets_solved"] for a, r in numbers(snap).items()} == \
            {a: r["tickets_solved"] for a, r in before.items()}
        assert any(w.startswith("Freshdesk tickets: ") and "tickets_solved, first_reply_seconds kept from" in w
                   for w in snap.warnings)
        clock.advance(60)
        assert numbers(c.poll()) == expected(DAY, clock.now)


def test_a_rejected_watermark_reads_again_from_local_midnight_and_the_numbers_stay() -> None:
    clock = FakeClock(DAY.at(14))
    body = json.dumps({"description": "Validation failed", "errors": [
        {"field": "updated_since", "message": "It should be in the 'valid date' format", "code": "invalid_value"}]})
    with serving(DAY, clock) as fake:
        c = connector(fake, clock)
        c.poll()
        clock.advance(120)
        fake.inject(Fault(400, body=body), path="/api/v2/tickets", times=1)
        asked = len(ticket_calls(fake))
        snap = c.poll()
        again = ticket_calls(fake)[asked:]
    assert again[0].arg("updated_since") > iso(DAY.day_start())  # the saved watermark, refused
    assert again[1].arg("updated_since") == iso(DAY.day_start())  # so: from local midnight again
    assert numbers(snap) == expected(DAY, clock.now) and not snap.warnings


def test_a_rejected_ratings_watermark_reads_todays_ratings_again_from_local_midnight() -> None:
    clock = FakeClock(DAY.at(14))
    body = json.dumps({"description": "Validation failed", "errors": [
        {"field": "created_since", "message": "It should be in the 'valid date' format", "code": "invalid_value"}]})
    with serving(DAY, clock) as fake:
        c = connector(fake, clock)
        c.poll()
        clock.advance(120)
        fake.inject(Fault(400, body=body), path="/api/v2/surveys", times=1)
        asked = len(fake.calls("/api/v2/surveys"))
        snap = c.poll()
        again = fake.calls("/api/v2/surveys")[asked:]
    assert again[0].arg("created_since") > iso(DAY.day_start()) and again[1].arg("created_since") == iso(DAY.day_start())
    assert numbers(snap) == expected(DAY, clock.now) and not snap.warnings


def test_an_answer_of_the_wrong_shape_keeps_the_last_good_numbers_and_says_what_was_wrong() -> None:
    clock = FakeClock(DAY.at(12))
    with serving(DAY, clock) as fake:
        c = connector(fake, clock)
        before = numbers(c.poll())
        clock.advance(60)
        fake.inject(Fault(200, body='{"tickets": "not a list"}'), path="/api/v2/tickets", times=1)
        fake.inject(Fault(200, body='["not a rating", {"id": 5}]'), path="/api/v2/surveys", times=1)
        snap = c.poll()
    assert numbers(snap) == before
    assert any("Freshdesk tickets: Freshdesk's answer to ticket list is not a list of records" in w for w in snap.warnings)


def test_401_names_the_secret_to_fix_and_no_log_or_error_holds_the_key(logs: Any) -> None:
    clock = FakeClock(DAY.at(15))
    with serving(DAY, clock) as fake:
        fake.revoke_key()
        with pytest.raises(FeedError) as caught:
            connector(fake, clock).poll()
    assert f"check the Freshdesk API key in feed.auth.token_env ({KEY_ENV})" in str(caught.value)
    assert FreshdeskFake.API_KEY not in str(caught.value) and FreshdeskFake.API_KEY not in logs.getvalue()
    assert any(r["event"] == "connector_problem" for r in records(logs))


def test_403_on_surveys_names_the_plan_and_is_not_asked_again() -> None:
    clock = FakeClock(DAY.at(15))
    with serving(DAY, clock, surveys=False) as fake:
        c = connector(fake, clock)
        snap = c.poll()
        clock.advance(60)
        c.poll()
        asked = len(fake.calls("/api/v2/surveys"))
    assert any("does not allow satisfaction ratings (HTTP 403): it needs a Freshdesk plan with customer "
               "satisfaction surveys" in w for w in snap.warnings)
    assert {"csat", "csat_count"} <= snap.empty_metrics and asked == 1
    assert {a: r["tickets_solved"] for a, r in numbers(snap).items()} == \
        {a: r["tickets_solved"] for a, r in expected(DAY, clock.now).items()}


def test_a_key_without_global_ticket_access_is_said_loudly() -> None:
    clock = FakeClock(DAY.at(15))
    with serving(DAY, clock, ticket_scope=3) as fake:
        snap = connector(fake, clock).poll()
    assert any("Restricted ticket access, so only some tickets are counted" in w for w in snap.warnings)


def test_a_deactivated_agent_listed_or_absent_never_reaches_the_board() -> None:
    clock = FakeClock(DAY.at(15))
    for knob in ("flag", "absent"):
        with serving(DAY, clock, deactivated=knob) as fake:
            assert numbers(connector(fake, clock).poll()) == expected(DAY, clock.now)


def test_a_deleted_ticket_still_listed_with_the_flag_does_not_count() -> None:
    clock = FakeClock(DAY.at(15))
    with serving(DAY, clock, deleted="flag", auto_close_after=3600.0, link_style="docs", max_page=30) as fake:
        assert numbers(connector(fake, clock).poll()) == expected(DAY, clock.now)


def test_an_unknown_rating_value_is_left_out_with_a_warning_naming_the_field() -> None:
    clock = FakeClock(DAY.at(15))
    with serving(DAY, clock) as fake:
        conn = connector(fake, clock)
        assert conn._rating({"id": 1, "ticket_id": 7, "agent_id": int(A), "created_at": iso(clock.now),
                             "ratings": {"default_question": 50}}, set()) is not None
        assert "7:1" not in conn.tally.ratings
        assert any("ratings.default_question" in w for w in conn.notes.values())


# --- state and budget -----------------------------------------------------------------------------

def test_a_restart_resumes_from_the_saved_watermark_with_the_same_numbers(tmp_path: Path) -> None:
    clock = FakeClock(DAY.at(13))
    with serving(DAY, clock) as fake:
        first = connector(fake, clock, state=tmp_path)
        before = numbers(first.poll())
        first.close()
        asked = len(ticket_calls(fake))
        again = connector(fake, clock, state=tmp_path)
        assert numbers(again.poll()) == before
        since = ticket_calls(fake)[asked].arg("updated_since")
    assert since is not None and since > iso(DAY.day_start())
    with sqlite3.connect(tmp_path / "chalkwall.sqlite3") as db:
        accounts = [r[0] for r in db.execute("SELECT account FROM connector_state")]
    assert accounts == [f"freshdesk:127.0.0.1:{fake.httpd.server_address[1]}"]


def test_a_growth_backfill_stays_inside_its_share_of_the_tickets_list_limit_and_resumes_after_a_crash(
        tmp_path: Path) -> None:
    clock = FakeClock(DAY.at(21))
    with serving(DAY, clock, plan="growth", max_page=10) as fake:
        first = connector(fake, clock, state=tmp_path)
        snap = first.poll()
        assert any("catching up" in w for w in snap.warnings)
        partial = sum(r["tickets_solved"] or 0 for r in numbers(snap).values())
        asked = len(ticket_calls(fake))
        del first  # as kill -9 would: no close, only what the checkpoints saved
        again = connector(fake, clock, state=tmp_path)
        for _ in range(20):
            clock.advance(60)
            snap = again.poll()
        resumed = ticket_calls(fake)[asked].arg("updated_since")
        lists = sorted(r.at for r in fake.calls("/api/v2/tickets") if r.path == "/api/v2/tickets")
    assert 0 < partial < sum(r["tickets_solved"] or 0 for r in expected(DAY, clock.now).values())
    assert resumed is not None and resumed > iso(DAY.day_start())  # from the saved keyset, not from midnight
    assert numbers(snap) == expected(DAY, clock.now) and not snap.warnings
    # 25 % of Growth's 20 a minute is 5; a full bucket may add one minute's burst, never more
    assert max(sum(1 for t in lists if s <= t < s + 60) for s in lists) <= 10
    assert len(lists) >= 14


def test_the_rate_headers_teach_the_limits_and_the_real_charge_even_as_decimals() -> None:
    clock = FakeClock(DAY.at(15))
    with serving(DAY, clock, decimal_headers=True) as fake:
        c = connector(fake, clock)
        c.poll()
    account, listing = c.api.budget.buckets["account"], c.api.budget.buckets["tickets_list"]
    assert (account.per_minute, listing.per_minute) == (700.0, 200.0)
    budget = Budget({"account": 200.0, "tickets_list": 20.0}, 0.25, clock)
    budget.spend(("account", "tickets_list"), 3.0, {"tickets_list": 1.0})
    c.learn(httpx.Headers({"X-RateLimit-Used-CurrentRequest": "1.0"}), budget)
    assert budget.buckets["account"].tokens == 49.0 and budget.buckets["tickets_list"].tokens == 4.0
    c.learn(httpx.Headers({"X-RateLimit-Total": "3000", "X-RateLimit-Remaining": "10"}), budget)
    assert budget.buckets["account"].per_minute == 50.0 and budget.buckets["account"].tokens <= 10.0
    assert [list_limit(x) for x in (50, 200, 400, 700, 900)] == [20, 20, 100, 200, 200]


# --- the config and chalkwall check ---------------------------------------------------------------

@pytest.mark.parametrize("text, problem", [
    ('[feed]\ntype = "freshdesk"\n[feed.auth]\ntoken_env = "K"\n', "feed.subdomain: missing (required"),
    ('[feed]\ntype = "freshdesk"\nsubdomian = "acme"\n[feed.auth]\ntoken_env = "K"\n', 'did you mean "subdomain"'),
    ('[feed]\ntype = "freshdesk"\nsubdomain = "acme.freshdesk.com"\n[feed.auth]\ntoken_env = "K"\n',
     '(just "acme" for acme.freshdesk.com)'),
    ('[feed]\ntype = "freshdesk"\nbase_url = "http://fd.example.com"\n[feed.auth]\ntoken_env = "K"\n',
     "feed.base_url: must be https://"),
    ('[feed]\ntype = "freshdesk"\nsubdomain = "acme"\n[feed.auth]\ntype = "basic"\ntoken_env = "K"\nusername = "u"\n',
     "feed.auth.type: feed type \"freshdesk\" picks its own scheme"),
    ('[feed]\ntype = "freshdesk"\nsubdomain = "acme"\n', "needs exactly one of token_env or token_file (the Freshdesk API key)"),
    ('[feed]\ntype = "freshdsk"\n', 'did you mean "freshdesk"'),
])
def test_chalkwall_check_refuses_a_bad_freshdesk_config(tmp_path: Path, text: str, problem: str) -> None:
    assert any(problem in p for p in config_problems(tmp_path, text))


def _config(tmp_path: Path, fake: FreshdeskFake, zone: str = DAY.tz) -> Path:
    return write_config(tmp_path, f'[feed]\ntype = "freshdesk"\nbase_url = "{fake.base_url}"\n[feed.auth]\n'
                                  f'token_env = "{KEY_ENV}"\n[periods]\ntimezone = "{zone}"\n'
                                  f'[state]\ndir = "{tmp_path / "state"}"\n')


def test_check_online_reports_every_part_ok_then_names_the_missing_permission_and_metrics(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from display.cli import main

    clock = FakeClock(DAY.at(15))
    with serving(DAY, clock) as fake:
        assert main(["check", "--online", "--config", str(_config(tmp_path, fake))]) == 0
    out = capsys.readouterr().out
    for part in ("roster", "tickets", "ratings", "deleted"):
        assert f"freshdesk {part}: OK" in out
    with serving(DAY, clock, forbidden=("/api/v2/surveys",)) as fake:
        assert main(["check", "--online", "--config", str(_config(tmp_path, fake))]) == 1
    err = capsys.readouterr().err
    assert "freshdesk ratings: FAILED" in err and "an agent whose role may view satisfaction survey results" in err
    assert "the board will have no csat, csat_count" in err and FreshdeskFake.API_KEY not in err


# --- end to end -----------------------------------------------------------------------------------

def _zone_at_22() -> str:
    """A zone where it is 22:xx now: every scenario step is over and midnight is an hour away."""
    hour = datetime.now(timezone.utc).hour
    offset = (22 - hour + 12) % 24 - 12  # -12 .. +11
    return "UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"


@pytest.mark.slow
def test_chalkwall_run_and_feed_publish_the_scenarios_numbers_from_a_real_clock(tmp_path: Path) -> None:
    import subprocess
    import sys
    import time
    from zoneinfo import ZoneInfo

    zone = _zone_at_22()
    day = make_scenario(day=datetime.now(ZoneInfo(zone)).date(), tz=zone)
    with serving(day, time.time) as fake:
        config = _config(tmp_path, fake, zone)
        wall = WallProcess(config, tmp_path / "xdg", runtime=tmp_path / "run")
        try:
            db = tmp_path / "state" / "chalkwall.sqlite3"
            deadline = time.monotonic() + 60
            snapshot = None
            while time.monotonic() < deadline and snapshot is None:
                time.sleep(0.3)
                try:
                    with sqlite3.connect(db) as con:
                        row = con.execute("SELECT snapshot FROM connector_state").fetchone()
                    snapshot = json.loads(row[0]) if row and row[0] else None
                except sqlite3.Error:
                    pass
            assert snapshot is not None, "".join(wall.lines[-30:])
            status = json.dumps(wall.wait_status(lambda found: bool(found)))
        finally:
            assert wall.stop() == 0
        got = {a["id"]: {m: a["metrics"].get(m) for m in ("tickets_solved", "csat", "csat_count", "first_reply_seconds")}
               for a in snapshot["agents"]}
        assert got == expected(day, time.time())
        env = {**__import__("os").environ, KEY_ENV: FreshdeskFake.API_KEY}
        feed = subprocess.run([sys.executable, "-m", "display.cli", "feed", "--config", str(config)], env=env,
                              capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert feed.returncode == 0, feed.stderr
    assert FreshdeskFake.API_KEY not in feed.stdout + feed.stderr + "".join(wall.lines) + status
    board = json.loads(feed.stdout)
    assert board["feed"] == "freshdesk"


def test_the_zone_helper_picks_an_evening_zone() -> None:
    from zoneinfo import ZoneInfo

    assert datetime.now(ZoneInfo(_zone_at_22())).hour == 22
