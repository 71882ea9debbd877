"""``[privacy]`` in the config, ``chalkwall check``'s top_n warning, the privacy report from the
running config, and each person's choice reaching the wall within one poll."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from display.shot import build_wall
from feeds.config.schema import load_config
from feeds.privacy.choices import Choices
from feeds.privacy.view import Privacy
from helpers import ROOT, base_config, config_problems, write_config


def chalkwall(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "CHALKWALL_CONFIG"}
    return subprocess.run([sys.executable, "-m", "display.cli", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=60)


def test_a_bad_privacy_section_names_the_file_the_key_and_a_did_you_mean(tmp_path: Path) -> None:
    problems = config_problems(tmp_path, '[privacy]\nmode = "top"\ntop_m = 3\nkeep_days = 0\n'
                                         '[privacy.people]\na17 = { ranking = "hiden" }\n'
                                         'b2 = { alias = "bell\\u0007" }\n')
    text = "\n".join(problems)
    assert 'privacy.top_m' in text and 'did you mean "top_n"' in text
    assert "privacy.keep_days" in text
    assert "privacy.people.a17.ranking" in text and '"hidden"' in text
    assert "privacy.people.b2.alias" in text and "control characters" in text
    assert all(p.startswith("config.toml") for p in problems)


def test_a_bad_mode_says_which_there_are(tmp_path: Path) -> None:
    text = "\n".join(config_problems(tmp_path, '[privacy]\nmode = "anon"\n'))
    assert "privacy.mode" in text and "anonymous" in text


def test_check_warns_when_top_n_is_more_than_a_third(tmp_path: Path) -> None:
    path = write_config(tmp_path, f'[feed]\ntype = "demo"\n[privacy]\nmode = "top"\ntop_n = 8\n'
                                  f'[state]\ndir = "{tmp_path / "state"}"\n')
    result = chalkwall("check", "--config", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "warning: privacy.top_n = 8" in result.stdout and "24 or more people" in result.stdout


def report(tmp_path: Path, extra: str, fmt: str = "md", base: bool = True) -> str:
    text = base_config() + "\n" if base else ""
    path = write_config(tmp_path, text + extra)
    out = tmp_path / f"report.{fmt}"
    result = chalkwall("privacy", "report", "--format", fmt, "--out", str(out), "--config", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return out.read_text(encoding="utf-8")


def test_the_report_follows_the_running_config(tmp_path: Path) -> None:
    named = report(tmp_path, "")
    assert "Privacy mode: **named**" in named and "ranked from first to last" in named
    assert "`near` — each person with the colleague just above them and the gap between: on screen 12 s" in named
    assert "**90 days**" in named
    top = report(tmp_path, '[privacy]\nmode = "top"\ntop_n = 3\nkeep_days = 30\nthanks = false\n'
                           '[privacy.people]\na1 = { ranking = "hidden" }\na2 = { alias = "Owl" }\n')
    assert "Privacy mode: **top**" in top and "Only the best 3 are named" in top
    assert "`near` — each person with the colleague just above them and the gap between: **off**" in top
    assert "**30 days**" in top and "**90 days**" not in top
    assert "Thank-you messages (kudos) on the wall: **off** (`thanks`)" in top
    assert "1 hidden, 0 celebrated but not ranked, 1 with an alias" in top
    assert "a1" not in top.replace("a1 ", "")  # counts, never who chose what
    teams = report(tmp_path, '[privacy]\nmode = "teams"\n')
    assert "Only team totals are shown" in teams and "someone on Night shift" in teams


def test_the_report_says_what_the_profile_makes_of_each_feature_and_what_the_journal_holds(tmp_path: Path) -> None:
    teams = report(tmp_path, '[privacy]\nmode = "teams"\n[display]\nscenes = [{ name = "teams", seconds = 10 }]\n', base=False)
    for name in ("near_you", "individual_challenges", "individual_history"):  # on in the config, not on the wall
        assert f"**off** under the `teams` profile (switched on, but this profile shows no person) (`{name}`)" in teams
    assert "naming only each person's team" in teams and "with who thanked whom: **on** (`thanks`)" not in teams
    assert "no member's value under this profile" in teams and "its members' values" not in teams
    top = report(tmp_path, '[privacy]\nmode = "top"\ntop_n = 4\n')
    assert "**on**, for the 4 people named only (`individual_challenges`)" in top
    assert "**off** under the `top` profile (it would show the bottom of the ranking) (`near_you`)" in top
    named = report(tmp_path, "")
    assert "**on** (`individual_history`)" in named and "A new leader is announced." in named
    assert "No team's total gives away one person's value" in named  # the rule holds in named too
    grouped = report(tmp_path, '[board]\nrank_by = "tickets_solved"\ngroup_by = "channel"\n'
                               '[privacy]\nmode = "top"\ntop_n = 3\n', base=False)
    assert "the best 3 of each channel are named" in grouped
    quiet = report(tmp_path, '[privacy]\nindividual_celebrations = false\n')
    assert "`individual_celebrations` is off" in quiet and "No \"new leader\" is announced." in quiet
    assert "never who thanked whom" in teams and "**on**, with who thanked whom (`thanks`)" in named
    for text in (teams, top):  # the engine logs awards by agent id outside named (tests/test_privacy_logs.py)
        assert "the person's agent id only (never a name" in text and "name as the feed gives it" not in text
    assert "name as the feed gives it, or only their agent id for anyone with a privacy choice" in named
    screen = report(tmp_path, '[feed]\ntype = "hub"\nbroker = "mqtt://127.0.0.1:1883"\nsite = "hq"\nscreen = "w"\n',
                    base=False)
    assert "no awards (the hub records and logs them)" in screen


def test_a_hubs_report_says_the_boards_travel_to_the_screens(tmp_path: Path) -> None:
    single = report(tmp_path, "")
    assert "chalkwall sends none of it anywhere" in single
    hub = report(tmp_path, '[hub]\nbroker = "mqtt://127.0.0.1:1883"\nsite = "hq"\n')
    assert "chalkwall sends none of it anywhere" not in hub
    assert "the people's own privacy choices from the team page" in hub
    assert "through the MQTT broker `mqtt://127.0.0.1:1883`" in hub and "site `hq`" in hub and "applies its own `[privacy]`" in hub
    screen = report(tmp_path, '[feed]\ntype = "hub"\nbroker = "mqtt://127.0.0.1:1883"\nsite = "hq"\nscreen = "wall-1"\n',
                    base=False)
    assert "this screen stores no values" in screen and "sends those choices to this screen over the broker" in screen


def test_the_report_knows_every_scene_and_says_how_ranking_is_made_fair(tmp_path: Path) -> None:
    from feeds.config.schema import SCENES
    from feeds.privacy.report import SCENES as DESCRIBED

    assert set(SCENES) <= set(DESCRIBED)  # a new scene cannot reach the wall undescribed
    result = chalkwall("privacy", "report", "--config", str(ROOT / "config.toml"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "`role_models` — managers and staff outside support" in result.stdout
    fair = report(tmp_path, '[board]\nrank_by = "tickets_solved"\ngroup_by = "channel"\n[board.gate]\nmetric = "csat"\n'
                            'min = 4\nsample = 5\n[board.metrics.csat]\nsamples = "csat_count"\n', base=False)
    assert "Quality first: a person's volume counts only while csat is at least 4 over 5" in fair
    assert "Each channel has a board of its own" in fair
    teams = report(tmp_path, '[privacy]\nmode = "teams"\n[display]\nscenes = [{ name = "role_models", seconds = 10 }, '
                             '{ name = "teams", seconds = 10 }]\n', base=False)
    assert "`role_models` — managers and staff outside support" in teams and "**off** under this profile" in teams


def test_the_html_report_is_printable_and_escaped(tmp_path: Path) -> None:
    page = report(tmp_path, '[display]\ntitle = "Floor <3 & co"\n[privacy]\nmode = "anonymous"\n', fmt="html",
                  base=False)
    assert "Floor &lt;3 &amp; co" in page and "<3 &" not in page
    assert page.startswith("<!doctype html>") and "@page { size: A4" in page and "@media print" in page
    assert "<strong>anonymous</strong>" in page and "<code>near</code>" in page
    assert "**" not in page


def test_a_report_to_an_unwritable_place_is_one_line(tmp_path: Path) -> None:
    result = chalkwall("privacy", "report", "--out", str(tmp_path / "no" / "such" / "dir" / "r.md"), cwd=tmp_path)
    assert result.returncode == 1 and result.stderr.startswith("chalkwall: cannot write")
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("mode", ["named", "top"])
def test_a_choice_made_on_the_team_page_reaches_the_wall_at_the_next_poll(tmp_path: Path, mode: str) -> None:
    path = write_config(tmp_path, f'[feed]\ntype = "demo"\n[privacy]\nmode = "{mode}"\n')
    preview = build_wall(load_config(str(path)), (640, 360), state=tmp_path / "state")
    wall = preview.wall
    assert wall.view is not None and "kwame" in wall.view.index  # the demo's leader
    page = Choices(tmp_path / "state")  # the team page's own connection
    page.set("kwame", "hidden")
    preview.coordinator.poll_once()
    wall.update(preview.coordinator.state(), [])
    assert "kwame" not in wall.view.index and wall.view.find("kwame") is None
    assert wall.view.who("kwame")[0] == "Someone"
    page.set("kwame", "ranked", "Night owl")
    preview.clock.advance(1)
    wall.update(preview.coordinator.state(), [])  # no new poll: the changed choice alone, a second later
    row = wall.view.find("kwame")
    assert row is not None and row.agent.name == "Night owl" and row.agent.avatar is None


def test_the_admins_choice_and_the_persons_combine_the_more_private_winning(tmp_path: Path) -> None:
    from feeds.config.privacy import PersonPrivacy, PrivacyConfig

    cfg = PrivacyConfig(people={"a": PersonPrivacy("celebrate_only", "Admin's"), "b": PersonPrivacy(alias="B")})
    store = Choices(tmp_path)
    store.set("a", "ranked", "Mine")
    store.set("b", "hidden")
    privacy = Privacy(cfg, store)
    choices = privacy._current()
    assert choices["a"].ranking == "celebrate_only" and choices["a"].alias == "Mine"
    assert choices["b"].ranking == "hidden"


def test_a_new_profile_applies_to_the_board_on_screen_at_once(tmp_path: Path) -> None:
    from display.wall import Wall
    from feeds.config.privacy import PrivacyConfig

    path = write_config(tmp_path, '[feed]\ntype = "demo"\n')
    preview = build_wall(load_config(str(path)), (640, 360), state=tmp_path / "state")
    assert preview.wall.view is not None and len(preview.wall.view.agents) == 15
    for mode, listed in (("teams", 0), ("top", 5), ("named", 15)):  # as a hot reload rebuilds the wall
        fresh = Wall(preview.wall.stage, privacy=Privacy(PrivacyConfig(mode=mode)))
        fresh.adopt(preview.wall)
        assert fresh.view is not None and len(fresh.view.agents) == listed, mode
        preview.wall = fresh


def test_someone_on_a_team_gets_a_plain_disc_not_letters_that_read_as_initials() -> None:
    from display.widgets import initials

    assert initials("Someone on Night shift") == "" and initials("Someone") == ""
    assert initials("Åsa Ödegård") == "ÅÖ"


def test_status_says_what_the_profile_lets_on_the_wall_counts_only() -> None:
    from display.health import describe

    text = describe({"updated": 100.0, "privacy": {"mode": "top", "listed": 5, "unlisted": 10}}, now=101.0)
    assert "privacy: top — 5 named on the wall, 10 counted in team totals only" in text
