"""The chalkwall command end to end, as a real subprocess: exit codes, JSON output, clean errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from feeds.connectors.registry import CONNECTORS
from helpers import FeedServer, Reply, agent, doc, write_config

TYPES = ", ".join(f'"{name}"' for name in CONNECTORS)  # every registered feed type, in registry order


def chalkwall(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k != "CHALKWALL_CONFIG"}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "display.cli", *args], capture_output=True, text=True,
                          env=full_env, cwd=cwd, timeout=60)


def test_feed_prints_the_ranked_board_from_an_http_feed(server: FeedServer, tmp_path: Path) -> None:
    server.json("/feed", doc(agent("ada", 3, team="day"), agent("bo", 8, team="day"),
                             {"id": "bad", "metrics": {"tickets_solved": "x"}},
                             events=[{"id": "e1", "type": "kudos", "to": "ada", "text": "Tack!"}]))
    config = write_config(tmp_path, f'[feed]\ntype = "http"\nurl = "{server.url}/feed"\n')
    result = chalkwall("feed", "--config", str(config))
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert [(a["rank"], a["id"], a["value"]) for a in out["agents"]] == [(1, "bo", 8), (2, "ada", 3), (None, "bad", None)]
    assert [(t["id"], t["value"]) for t in out["teams"]] == [("day", 11)]
    assert [e["id"] for e in out["new_events"]] == ["e1"]
    assert out["warnings"] == ['agents[2] (id "bad") has no name; shown by its id',
                               'agents[2] (id "bad") metric "tickets_solved" ignored: expected a number, got text "x"']
    assert out["rank_by"] == "tickets_solved" and out["feed"] == "http"


def test_feed_failure_is_one_clear_line_and_exit_1(server: FeedServer, tmp_path: Path) -> None:
    server.routes["/feed"] = Reply(500, b"boom")
    config = write_config(tmp_path, f'[feed]\ntype = "http"\nurl = "{server.url}/feed"\n')
    result = chalkwall("feed", "--config", str(config))
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == "chalkwall: feed failed: server answered HTTP 500 Internal Server Error\n"


def test_the_demo_is_the_default_without_any_config(tmp_path: Path) -> None:
    result = chalkwall("feed", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["feed"] == "demo" and len(out["agents"]) >= 12 and out["rank_by"] == "score"


def test_check_lists_every_problem_without_a_traceback(tmp_path: Path) -> None:
    config = write_config(tmp_path, '[feed]\ntype = "htp"\n[bord]\n')
    result = chalkwall("check", "--config", str(config))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f'{config}: bord: unknown key (did you mean "board"?)',
        f'{config}: feed.type: must be one of {TYPES}, not string "htp" (did you mean "http"?)',
        "chalkwall: 2 problem(s) in the config",
    ]
    assert "Traceback" not in result.stderr
    ok = chalkwall("check", "--config", str(write_config(tmp_path, "")))
    assert ok.returncode == 0 and ok.stdout.endswith("OK (feed: demo, every 15 s; ranked by tickets_solved; theme: Dark)\n")


def test_check_reports_a_theme_typo_a_missing_url_and_metric_typos_in_one_pass(tmp_path: Path) -> None:
    config = write_config(tmp_path, '[feed]\ntype = "http"\n[board]\nrank_by = "score"\n'
                                    'score = { tickets_solved = 3, cstat = 1 }\n[board.metrics.csat]\nlabel = "CSAT"\n'
                                    '[display]\ntheme = "drak"\n')
    result = chalkwall("check", "--config", str(config))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f'{config}: feed.url: missing (required for feed type "http")',
        f'{config}: board.score.cstat: "cstat" is not a metric [board.metrics] declares (did you mean "csat"?); '
        "if the feed does send it, declare [board.metrics.cstat]",
        f'{config}: display.theme: no built-in theme "drak" (did you mean "dark"?); built-in: colour-blind, dark, high-contrast, light',
        "chalkwall: 3 problem(s) in the config",
    ]


def test_check_online_polls_the_feed_once_and_names_each_metric_its_data_lacks(server: FeedServer,
                                                                              tmp_path: Path) -> None:
    server.json("/feed", doc(agent("ada", 3, csat=4.5), agent("bo", 8)))
    config = write_config(tmp_path, f'[feed]\ntype = "http"\nurl = "{server.url}/feed"\n[board]\n'
                                    'rank_by = "tickets_slved"\n[display]\nsecondary = "csat"\n')
    assert chalkwall("check", "--config", str(config)).returncode == 0  # nothing to compare the name with offline
    result = chalkwall("check", "--online", "--config", str(config))
    assert result.returncode == 2 and len(server.requests) == 1
    assert result.stderr.splitlines() == [
        f"{config}: board.rank_by: no agent has metric 'tickets_slved' — did you mean 'tickets_solved'?",
        "chalkwall: 1 problem(s) with the feed's data",
    ]
    config.write_text(config.read_text().replace("tickets_slved", "tickets_solved"))
    ok = chalkwall("check", "--online", "--config", str(config))
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.splitlines()[-1] == "feed: OK (2 agents; every metric the config names is in the data)"
    server.routes["/feed"] = Reply(500, b"boom")
    failed = chalkwall("check", "--online", "--config", str(config))
    assert failed.returncode == 1 and failed.stderr == "chalkwall: feed failed: server answered HTTP 500 Internal Server Error\n"


def test_a_missing_secret_and_a_missing_config_are_clean_errors(tmp_path: Path) -> None:
    config = write_config(tmp_path, '[feed]\ntype = "http"\nurl = "http://127.0.0.1:9/"\n'
                                    '[feed.auth]\ntype = "bearer"\ntoken_file = "missing-token"\n')
    result = chalkwall("feed", "--config", str(config))
    assert result.returncode == 1
    assert result.stderr.startswith("chalkwall: feed failed: cannot read secret file ")
    result = chalkwall("feed", env={"CHALKWALL_CONFIG": str(tmp_path / "nope.toml")})
    assert result.returncode == 2 and "no such config file (given by $CHALKWALL_CONFIG)" in result.stderr


def test_json_logs_never_show_the_secret(server: FeedServer, tmp_path: Path) -> None:
    server.routes["/feed"] = Reply(401, b"")
    (tmp_path / "token").write_text("tok-3f9a7c1e\n")
    config = write_config(tmp_path, f'[feed]\ntype = "http"\nurl = "{server.url}/feed?key=tok-3f9a7c1e"\n'
                                    '[feed.auth]\ntype = "bearer"\ntoken_file = "token"\n')
    result = chalkwall("--help")
    assert result.returncode == 0
    result = chalkwall("feed", "--config", str(config), "--log-format", "json", "--log-level", "debug")
    assert result.returncode == 1
    assert "tok-3f9a7c1e" not in result.stderr
    assert server.requests[0].headers["authorization"] == "Bearer tok-3f9a7c1e"
