"""Metric names: every one the config uses is checked against what the config defines when it is
loaded, and against what the feed sends on every poll; an unknown JMESPath function is caught early."""

from __future__ import annotations

import io
from pathlib import Path
from types import MappingProxyType

import pytest

from feeds.config.schema import BoardConfig, Config, CsvConfig, DisplayConfig, load_config
from feeds.config.metricnames import MissingMetric, metric_refs, missing_metrics
from feeds.model import Agent, Snapshot
from helpers import ROOT, agent, config_problems, doc, events_named, write_config


CHALLENGE = '[[challenges]]\nid = "race"\ntitle = "First to {target}"\nkind = "race"\ntarget = 40\n'


def test_a_misspelt_metric_anywhere_in_a_demo_config_is_a_problem_with_a_did_you_mean(tmp_path: Path) -> None:
    found = config_problems(tmp_path, """
[board]
rank_by = "tickets_slved"
score = { cstat = 1 }
[board.metrics.csat]
min_samples = 5
samples = "csat_cont"
[display]
secondary = "qualty"
""" + CHALLENGE + 'metric = "aht_secs"\n')
    assert found == [
        'config.toml: board.rank_by: "tickets_slved" is not a metric the demo feed sends (did you mean "tickets_solved"?)',
        'config.toml: board.score.cstat: "cstat" is not a metric the demo feed sends (did you mean "csat"?)',
        'config.toml: board.metrics.csat.samples: "csat_cont" is not a metric the demo feed sends '
        '(did you mean "csat_count"?)',
        'config.toml: display.secondary: "qualty" is not a metric the demo feed sends (did you mean "quality"?)',
        'config.toml: challenges[0].metric: "aht_secs" is not a metric the demo feed sends '
        '(did you mean "aht_seconds"?)',
    ]


def test_with_a_mapping_only_its_metrics_exist(tmp_path: Path) -> None:
    found = config_problems(tmp_path, """
[feed]
type = "http"
url = "http://127.0.0.1:9/x"
[feed.mapping]
agents = "users"
metrics = { tickets_solved = "stats.solved", csat = "stats.csat" }
[board]
rank_by = "handle_time"
[board.metrics.tickets_slved]
label = "Solved"
""")
    assert found == [
        'config.toml: board.rank_by: "handle_time" is not a metric feed.mapping.metrics defines '
        "(those are: tickets_solved, csat)",
        'config.toml: board.metrics.tickets_slved: "tickets_slved" is not a metric feed.mapping.metrics defines '
        '(did you mean "tickets_solved"?)',
    ]


def test_a_canonical_feed_may_send_undeclared_metrics_but_not_near_misses_of_declared_ones(tmp_path: Path) -> None:
    base = '[feed]\ntype = "http"\nurl = "http://127.0.0.1:9/x"\n[board.metrics.csat]\nlabel = "CSAT"\n'
    ok = load_config(str(write_config(tmp_path, base + '[board]\nrank_by = "score"\nscore = { tickets_closed = 1, csat = 1 }\n')))
    assert list(ok.config.board.score) == ["tickets_closed", "csat"]
    assert config_problems(tmp_path, base + '[board]\nrank_by = "score"\nscore = { tickets_closed = 1, cstat = 1 }\n') == [
        'config.toml: board.score.cstat: "cstat" is not a metric [board.metrics] declares (did you mean "csat"?); '
        "if the feed does send it, declare [board.metrics.cstat]"]


def test_metric_typos_are_reported_beside_other_problems_in_the_same_sections(tmp_path: Path) -> None:
    found = config_problems(tmp_path, """
[board]
rank_by = "tickets_slved"
team_aggregate = "mean"
[display]
secondary = "cstat"
animation = "fulll"
""")
    assert found == [
        'config.toml: board.team_aggregate: must be one of "sum", "average", not string "mean"',
        'config.toml: display.animation: must be one of "full", "reduced", "calm", "none", not string "fulll" '
        '(did you mean "full"?)',
        'config.toml: board.rank_by: "tickets_slved" is not a metric the demo feed sends (did you mean "tickets_solved"?)',
        'config.toml: display.secondary: "cstat" is not a metric the demo feed sends (did you mean "csat"?)',
    ]


def test_a_broken_mapping_still_lets_the_rest_of_the_feed_and_the_metric_names_be_checked(tmp_path: Path) -> None:
    found = config_problems(tmp_path, """
[feed]
type = "http"
[feed.mapping]
agents = "data.users"
metrics = { tickets_solved = "to_numbr(stats.solved)" }
[board]
rank_by = "tickets_slved"
[[challenges]]
id = "r"
title = "Race"
kind = "race"
metric = "tickets_solved"
target = "forty"
""")
    assert found == [
        'config.toml: feed.mapping.metrics.tickets_solved: unknown JMESPath function "to_numbr()" in '
        '"to_numbr(stats.solved)" (did you mean "to_number"?) (see jmespath.org for the built-in functions)',
        "config.toml: challenges[0].target: must be a number, not string \"forty\"",
        'config.toml: feed.url: missing (required for feed type "http")',
        'config.toml: board.rank_by: "tickets_slved" is not a metric feed.mapping.metrics defines '
        '(did you mean "tickets_solved"?)',
    ]


def test_an_unknown_jmespath_function_or_a_wrong_argument_count_is_found_when_loading(tmp_path: Path) -> None:
    found = config_problems(tmp_path, """
[feed]
type = "http"
url = "http://127.0.0.1:9/x"
[feed.mapping]
agents = "data.users"
agent = { name = "join(' ', [first, last])", team = "to_strng(group)" }
metrics = { solved = "to_numbr(stats.solved)", csat = "max()", all = "merge(a, b, c)" }
[board]
rank_by = "solved"
""")
    assert found == [
        'config.toml: feed.mapping.agent.team: unknown JMESPath function "to_strng()" in "to_strng(group)" '
        '(did you mean "to_string"?) (see jmespath.org for the built-in functions)',
        'config.toml: feed.mapping.metrics.solved: unknown JMESPath function "to_numbr()" in '
        '"to_numbr(stats.solved)" (did you mean "to_number"?) (see jmespath.org for the built-in functions)',
        'config.toml: feed.mapping.metrics.csat: "max()" takes 1 argument(s), not 0, in "max()"',
    ]


def test_the_bundled_config_names_only_metrics_the_demo_feed_sends() -> None:
    from feeds.connectors.demo import METRICS, DemoFeed

    loaded = load_config(str(ROOT / "config.toml"))
    assert {r.name for r in metric_refs(loaded.config)} <= set(METRICS)
    snapshot = DemoFeed(seed=7).poll()
    assert snapshot is not None and {m for a in snapshot.agents for m in a.metrics} == set(METRICS)


def agents(*metrics: dict[str, float]) -> Snapshot:
    return Snapshot(tuple(Agent(f"a{i}", f"A {i}", metrics=MappingProxyType(m)) for i, m in enumerate(metrics)))


def test_the_data_check_names_each_metric_no_agent_has_with_the_closest_one_they_do(tmp_path: Path) -> None:
    config = load_config(str(write_config(tmp_path, """
[feed]
type = "http"
url = "http://127.0.0.1:9/x"
[board]
rank_by = "tickets_slved"
[display]
secondary = "csat"
""" + CHALLENGE + 'metric = "tickets_slved"\n'))).config
    refs = metric_refs(config)
    snapshot = agents({"tickets_solved": 3}, {"tickets_solved": 5, "csat": 4.5})
    assert [str(m) for m in missing_metrics(snapshot, refs, config.board)] == [
        "board.rank_by (and 1 more): no agent has metric 'tickets_slved' — did you mean 'tickets_solved'? "
        "(last good board kept)"]
    assert [str(m) for m in missing_metrics(agents({"tickets_slved": 1}), refs, config.board)] == [
        "display.secondary: no agent has metric 'csat'"]  # the rest of the board stands: nothing held
    assert missing_metrics(agents({"tickets_slved": 1}, {"csat": 4.0}), refs, config.board) == ()
    assert missing_metrics(Snapshot(()), refs, config.board) == ()  # an empty floor proves nothing


def test_a_metric_the_feed_names_without_a_value_yet_is_no_data_not_a_missing_metric(tmp_path: Path) -> None:
    from feeds.connectors.formats import csv_decoder
    from feeds.connectors.parse import normalise

    board = BoardConfig(metrics=MappingProxyType({}))
    refs = metric_refs(Config(board=board, display=DisplayConfig(secondary="csat")))
    morning = normalise(doc(agent("ada", 0, csat=None), agent("bo", 0, csat=None)))  # no rating yet today
    assert morning.empty_metrics == {"csat"} and missing_metrics(morning, refs, board) == ()
    sheet = csv_decoder(CsvConfig(), 1 << 20)(b"id,name,tickets_solved,csat\nada,Ada,3,\nbo,Bo,5,\n")  # empty cells
    assert missing_metrics(sheet, refs, board) == ()
    renamed = normalise(doc(agent("ada", 0, cast=None)))
    assert [m.name for m in missing_metrics(renamed, refs, board)] == ["csat"]


def test_a_score_is_held_only_when_none_of_its_metrics_is_there() -> None:
    board = BoardConfig(rank_by="score", score=MappingProxyType({"solved": 1.0, "cstat": 1.0}))
    refs = metric_refs(Config(board=board))
    partly = missing_metrics(agents({"solved": 2, "csat": 4.0}), refs, board)
    assert [(m.name, m.suggestion, m.held) for m in partly] == [("cstat", "csat", False)]
    wholly = missing_metrics(agents({"csat": 4.0}), refs, board)
    assert [(m.name, m.held) for m in wholly] == [("solved", True), ("cstat", True)]



class Floor:
    """A file feed on disk, polled by a coordinator that checks the config's metric names."""

    def __init__(self, tmp_path: Path, config: str) -> None:
        from feeds.connectors.registry import make_adapter
        from feeds.live.coordinator import FeedCoordinator

        self.path = tmp_path / "feed.json"
        self.stamp = 0
        loaded = load_config(str(write_config(tmp_path, '[feed]\ntype = "file"\npath = "feed.json"\n' + config)))
        self.write(doc(agent("ada", 5), agent("bo", 7)))
        self.coordinator = FeedCoordinator(make_adapter(loaded.config.feed, loaded.base_dir), loaded.config.feed,
                                           loaded.config.board, metrics=metric_refs(loaded.config))

    def write(self, content: dict) -> None:  # type: ignore[type-arg]
        import json
        import os

        self.path.write_text(json.dumps(content))
        self.stamp += 1
        os.utime(self.path, ns=(self.stamp, self.stamp))

    def poll(self, content: dict | None = None):  # type: ignore[no-untyped-def,type-arg]
        if content is not None:
            self.write(content)
        self.coordinator.poll_once()
        return self.coordinator.state()


def test_a_feed_that_stops_sending_the_ranking_metric_keeps_the_last_good_board_and_says_so_once(
        tmp_path: Path, logs: io.StringIO) -> None:
    floor = Floor(tmp_path, '[display]\nsecondary = "csat"\n')
    good = floor.poll(doc(agent("ada", 5, csat=4.0), agent("bo", 7, csat=4.5)))
    assert good.problems == () and [a.value for a in good.board.agents] == [7, 5]
    for n in (6, 8, 9):  # the helpdesk renamed the field: a new document each poll, the same problem
        state = floor.poll(doc(agent("ada", tickets_closed=n, csat=4.0), agent("bo", tickets_closed=7, csat=4.5)))
        assert state.board is good.board and state.generation == good.generation  # not a board of blanks
        assert [str(p) for p in state.problems] == [
            "board.rank_by: no agent has metric 'tickets_solved' — did you mean 'tickets_closed'? (last good board kept)"]
    assert [r["message"] for r in events_named(logs, "metric_missing")] == [
        "the feed's data does not fit the config: board.rank_by: no agent has metric 'tickets_solved' — "
        "did you mean 'tickets_closed'? (last good board kept)"]
    fixed = floor.poll(doc(agent("ada", 9, csat=4.0), agent("bo", 8, csat=4.5)))
    assert fixed.problems == () and [a.value for a in fixed.board.agents] == [9, 8]
    assert len(events_named(logs, "metric_found")) == 1


def test_a_missing_secondary_metric_is_reported_while_the_board_keeps_updating(tmp_path: Path) -> None:
    floor = Floor(tmp_path, '[display]\nsecondary = "csat"\n')
    state = floor.poll(doc(agent("ada", 5, cast=4.0), agent("bo", 7)))
    assert [str(p) for p in state.problems] == ["display.secondary: no agent has metric 'csat' — did you mean 'cast'?"]
    later = floor.poll(doc(agent("ada", 9, cast=4.0), agent("bo", 7)))
    assert later.generation == state.generation + 1 and [a.agent.id for a in later.board.agents] == ["ada", "bo"]


def test_with_no_board_to_keep_the_board_there_is_shows_beside_the_problem(tmp_path: Path) -> None:
    floor = Floor(tmp_path, '[board]\nrank_by = "handled"\n')
    state = floor.poll()
    assert state.board is not None and [str(p) for p in state.problems] == [
        "board.rank_by: no agent has metric 'handled'"]  # said plainly, not "last good board kept"


def test_the_wall_shows_the_feeds_data_problems_as_a_notice(tmp_path: Path) -> None:
    import pygame

    from display.clock import FakeClock
    from display.shot import init_offscreen, make_stage
    from display.wall import Wall
    from feeds.board.build import build_board
    from feeds.live.coordinator import FeedState
    from feeds.connectors.parse import normalise

    init_offscreen()
    loaded = load_config(str(write_config(tmp_path, "")))
    wall = Wall(make_stage(loaded, (1280, 720), FakeClock()))
    board = build_board(normalise(doc(agent("ada", 5), agent("bo", 7))), loaded.config.board)
    screen = pygame.Surface((1280, 720))
    wall.update(FeedState(board, 1.0, None, 0, False, 1))
    wall.frame(screen)
    clean = screen.copy()
    problems = (MissingMetric(("board.rank_by",), "tickets_solved", "solved", held=True),
                MissingMetric(("display.secondary",), "csat", None))
    wall.update(FeedState(board, 1.0, None, 0, False, 1, None, problems))
    assert wall.frame(screen) == [screen.get_rect()]  # the same board, redrawn for the notice
    assert wall.notices() == ["Feed data does not fit the config", "No agent has metric 'tickets_solved'",
                              "Did you mean 'solved'?", "Config key: board.rank_by", "Showing the last good board",
                              "1 more: see chalkwall status"]
    bottom = pygame.Rect(0, 600, 1280, 120)
    assert pygame.image.tobytes(screen.subsurface(bottom), "RGB") != pygame.image.tobytes(clean.subsurface(bottom), "RGB")
    wall.update(FeedState(board, 1.0, None, 0, False, 1))
    wall.frame(screen)
    assert wall.notices() == [] and pygame.image.tobytes(screen, "RGB") == pygame.image.tobytes(clean, "RGB")


def test_the_running_wall_names_a_metric_the_feed_stopped_sending_on_screen_in_the_log_and_in_status(
        tmp_path: Path) -> None:
    import json
    import os
    import subprocess
    import sys

    from helpers import WallProcess

    feed = tmp_path / "feed.json"
    feed.write_text(json.dumps(doc(agent("åsa", 9), agent("олег", 7))))
    config = write_config(tmp_path, '[feed]\ntype = "file"\npath = "feed.json"\ninterval = 0.5\n')
    wall = WallProcess(config, tmp_path / "state")
    try:
        good = wall.wait_status(lambda s: (s.get("board") or {}).get("leader") == "Åsa")
        feed.write_text(json.dumps(doc(agent("åsa", None, tickets_closed=9), agent("олег", None, tickets_closed=12))))
        problem = ("board.rank_by: no agent has metric 'tickets_solved' — did you mean 'tickets_closed'? "
                   "(last good board kept)")
        held = wall.wait_status(lambda s: s.get("data_problems") == [problem])
        assert "Feed data does not fit the config" in held["notices"]
        assert "No agent has metric 'tickets_solved'" in held["notices"]
        assert held["board"] == good["board"]  # the last good board, not one of blanks
        described = subprocess.run([sys.executable, "-m", "display.cli", "status", "--config", str(config)],
                                   capture_output=True, text=True, timeout=60,
                                   env={**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")})
        assert f"data:    {problem}" in described.stdout.splitlines()
        feed.write_text(json.dumps(doc(agent("åsa", 9), agent("олег", 12))))
        fixed = wall.wait_status(lambda s: s.get("data_problems") == [] and s["board"]["leader"] == "Олег")
        assert "Feed data does not fit the config" not in fixed["notices"]
        assert [r["detail"] for r in wall.events("metric_missing")] == [problem]
        assert [r["detail"] for r in wall.events("metric_found")] == [problem]
    finally:
        code = wall.stop()
    assert code == 0 and "Traceback" not in "".join(wall.lines)
