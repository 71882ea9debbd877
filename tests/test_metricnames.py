"""Metric names: every one the config uses is checked against what the config defines when it is
loaded, and against what the feed sends on every poll; an unknown JMESPath function is caught early."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

from feeds.config import BoardConfig, Config, load_config
from feeds.metricnames import metric_refs, missing_metrics
from feeds.model import Agent, Snapshot
from helpers import ROOT, config_problems, write_config

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
        'config.toml: display.animation: must be one of "full", "reduced", "none", not string "fulll" '
        '(did you mean "full"?)',
        'config.toml: board.rank_by: "tickets_slved" is not a metric the demo feed sends (did you mean "tickets_solved"?)',
        'config.toml: display.secondary: "cstat" is not a metric the demo feed sends (did you mean "csat"?)',
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
""")
    assert found == [
        'config.toml: feed.mapping.agent.team: unknown JMESPath function "to_strng()" in "to_strng(group)" '
        '(did you mean "to_string"?) (see jmespath.org for the built-in functions)',
        'config.toml: feed.mapping.metrics.solved: unknown JMESPath function "to_numbr()" in '
        '"to_numbr(stats.solved)" (did you mean "to_number"?) (see jmespath.org for the built-in functions)',
        'config.toml: feed.mapping.metrics.csat: "max()" takes 1 argument(s), not 0, in "max()"',
    ]


def test_the_bundled_config_names_only_metrics_the_demo_feed_sends() -> None:
    from feeds.adapters.demo import METRICS, DemoFeed

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


def test_a_score_is_held_only_when_none_of_its_metrics_is_there() -> None:
    board = BoardConfig(rank_by="score", score=MappingProxyType({"solved": 1.0, "cstat": 1.0}))
    refs = metric_refs(Config(board=board))
    partly = missing_metrics(agents({"solved": 2, "csat": 4.0}), refs, board)
    assert [(m.name, m.suggestion, m.held) for m in partly] == [("cstat", "csat", False)]
    wholly = missing_metrics(agents({"csat": 4.0}), refs, board)
    assert [(m.name, m.held) for m in wholly] == [("solved", True), ("cstat", True)]

