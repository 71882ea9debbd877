"""Fair ranking (issue 13 §2, §3) on real boards built from parsed feed documents: ties share a
rank, % of own target, rate per hour available, a minimum sample, the quality gate, a board per
group, and role models kept out of ranks and races but in their own lane."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from feeds.board.build import QUALITY_FIRST, Board, build_board, limit_to_group, limit_to_teams
from feeds.config.schema import Config, load_config
from feeds.connectors.parse import normalise
from feeds.game.engine import Engine
from feeds.game.history import History
from feeds.game.ledger import Ledger
from feeds.model import Snapshot
from helpers import config_problems, write_config

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)


def config(tmp_path: Path, text: str) -> Config:
    return load_config(str(write_config(tmp_path, text))).config


def floor(*agents: dict[str, Any]) -> Snapshot:
    return normalise({"version": 1, "teams": [{"id": "day", "name": "Day"}, {"id": "night", "name": "Night"}],
                      "agents": list(agents)})


def person(agent_id: str, solved: float | None = None, team: str = "day", **fields: Any) -> dict[str, Any]:
    metrics = fields.pop("metrics", {})
    if solved is not None:
        metrics["tickets_solved"] = solved
    return {"id": agent_id, "name": agent_id.capitalize(), "team": team, "metrics": metrics, **fields}


def ranks(board: Board) -> list[tuple[str, int | None]]:
    return [(a.agent.id, a.rank) for a in board.agents]


def notes(board: Board) -> dict[str, str | None]:
    return {a.agent.id: a.note for a in board.agents}


def test_ties_share_a_rank_and_the_next_rank_skips(tmp_path: Path) -> None:
    cfg = config(tmp_path, "")
    board = build_board(floor(person("ann", 9), person("bob", 7), person("cat", 7), person("dan", 3)), cfg.board)
    assert ranks(board) == [("ann", 1), ("bob", 2), ("cat", 2), ("dan", 4)]
    night = limit_to_teams(build_board(floor(person("ann", 9, "night"), person("bob", 7), person("cat", 7, "night"),
                                             person("dan", 7, "night")), cfg.board), ["night"])
    assert ranks(night) == [("ann", 1), ("cat", 2), ("dan", 2)]  # a team's own wall: 1, 2, 2 among themselves


TARGETS = """
[board]
rank_by = "target_percent"
target = "daily"

[[challenges]]
id = "daily"
title = "Solve {target} today"
kind = "target"
metric = "tickets_solved"
target = { rookie = 10, pro = 20, expert = 40 }

[[challenges]]
id = "quick"
title = "Another target"
kind = "target"
metric = "tickets_solved"
target = 99
"""


def test_target_percent_ranks_each_agent_against_their_own_levels_target(tmp_path: Path) -> None:
    cfg = config(tmp_path, TARGETS + '\n[levels]\nagents = { dan = "expert" }\n')
    board = build_board(floor(person("ann", 9, level="rookie"), person("bob", 18, level="pro"),
                              person("cat", 30, level="expert"), person("dan", 30, level="pro"),
                              person("eve", 5)), cfg.board)
    # The rookie's 9 of 10 beats the expert's 30 of 40; dan is an expert by [levels], so 75 % too.
    assert [(a.agent.id, a.rank, a.value) for a in board.agents] == [
        ("ann", 1, 90.0), ("bob", 1, 90.0), ("cat", 3, 75.0), ("dan", 3, 75.0), ("eve", None, None)]
    assert notes(board)["eve"] == "no target for level"  # a level without a target, and no "default"
    assert board.rank_by == "target_percent" and cfg.board.metric("target_percent").unit == "%"


def test_target_percent_needs_a_target_challenge_and_names_the_one_to_pick(tmp_path: Path) -> None:
    assert config_problems(tmp_path, '[board]\nrank_by = "target_percent"\n') == [
        'config.toml: board.rank_by: rank_by = "target_percent" needs an agent [[challenges]] entry of kind = '
        '"target" (its target, by level, is what each agent is measured against)']
    problems = config_problems(tmp_path, TARGETS.replace('target = "daily"', 'target = "dialy"'))
    assert problems == ['config.toml: board.target: "dialy" is not the id of an agent "target" challenge '
                        '(did you mean "daily"?)']
    assert "several target challenges" in config_problems(tmp_path, TARGETS.replace('target = "daily"\n', ""))[0]
    assert config_problems(tmp_path, '[board]\nrank_by = "target_precent"\n') == [
        'config.toml: board.rank_by: "target_precent" looks like a misspelt "target_percent" '
        '(did you mean "target_percent"?)']


PER_HOUR = """
[board.metrics.tickets_solved]
label = "Solved"
per_hour = true
"""


def test_a_part_timer_is_ranked_by_rate_per_hour_available_not_last_by_design(tmp_path: Path) -> None:
    cfg = config(tmp_path, PER_HOUR)
    snapshot = floor(person("ann", 32, hours_available=8), person("pia", 18, hours_available=4),
                     person("bob", 20, hours_available=8), person("new", 6))
    board = build_board(snapshot, cfg.board)
    assert [(a.agent.id, a.rank, a.value) for a in board.agents] == [
        ("pia", 1, 4.5), ("ann", 2, 4.0), ("bob", 3, 2.5), ("new", None, None)]
    assert notes(board)["new"] == "no hours given"
    plain = build_board(snapshot, config(tmp_path, "").board)
    assert ranks(plain)[-1] == ("new", 4) and ranks(plain)[2] == ("pia", 3)  # by volume she would trail


def test_per_hour_is_refused_for_averages_and_times(tmp_path: Path) -> None:
    problems = config_problems(tmp_path, '[board.metrics.aht]\nlower_is_better = true\nper_hour = true\n')
    assert problems == ["config.toml: board.metrics.aht.per_hour: a lower-is-better metric (a time, an average) "
                        "has no rate per hour"]


MIN_SAMPLE = """
[board]
rank_by = "csat"

[board.metrics.csat]
min_samples = 5
samples = "csat_count"
"""


def test_an_average_over_too_few_ratings_is_shown_unranked_with_what_it_needs(tmp_path: Path) -> None:
    cfg = config(tmp_path, MIN_SAMPLE)
    board = build_board(floor(person("ann", metrics={"csat": 5.0, "csat_count": 1}),
                              person("bob", metrics={"csat": 4.6, "csat_count": 12}),
                              person("cat", metrics={"csat": 4.6, "csat_count": 5})), cfg.board)
    assert ranks(board) == [("bob", 1), ("cat", 1), ("ann", None)]  # one 5-star rating does not top the board
    assert notes(board) == {"bob": None, "cat": None, "ann": "needs 5 ratings"}
    reviews = config(tmp_path, MIN_SAMPLE + 'samples_label = "reviews"\n')
    assert notes(build_board(floor(person("ann", metrics={"csat": 5.0, "csat_count": 1})), reviews.board)) == {
        "ann": "needs 5 reviews"}


GATE = """
[board]
rank_by = "tickets_solved"
gate = { metric = "csat", min = 80, sample = 5 }

[board.metrics.csat]
samples = "csat_count"
"""


def test_the_quality_gate_opens_at_the_threshold_and_shuts_below_it(tmp_path: Path) -> None:
    cfg = config(tmp_path, GATE)
    board = build_board(floor(person("fast", 40, metrics={"csat": 79.4, "csat_count": 20}),
                              person("good", 30, metrics={"csat": 80.0, "csat_count": 20}),
                              person("near", 26, metrics={"csat": 79.6, "csat_count": 20}),
                              person("few", 25, metrics={"csat": 10.0, "csat_count": 4}),
                              person("none", 20)), cfg.board)
    # Closing fast at 79.4 (shown "79") does not count; 80.0 does, and so does 79.6, which the wall
    # shows as "80"; 4 ratings are too few to judge; no ratings yet: open.
    assert ranks(board) == [("good", 1), ("near", 2), ("few", 3), ("none", 4), ("fast", None)]
    assert notes(board)["fast"] == QUALITY_FIRST and board.find("fast").value == 40  # type: ignore[union-attr]
    assert [t.value for t in board.teams if t.team.id == "day"] == [101.0]  # the gated 40 is not in the team's total
    off = build_board(floor(person("fast", 40, metrics={"csat": 79.4, "csat_count": 20})), config(tmp_path, "").board)
    assert ranks(off) == [("fast", 1)] and notes(off) == {"fast": None}


def test_a_gate_that_waits_for_samples_needs_their_counter(tmp_path: Path) -> None:
    assert config_problems(tmp_path, '[board]\ngate = { metric = "csat", min = 80, sample = 5 }\n') == [
        'config.toml: board.gate.sample: needs [board.metrics.csat] samples = "…" (the metric counting csat '
        "samples), or sample = 0"]


def test_a_gated_race_is_not_won_by_closing_fast_and_badly(tmp_path: Path) -> None:
    cfg = config(tmp_path, GATE + """
[[challenges]]
id = "first-to-20"
title = "First to {target}"
kind = "race"
metric = "tickets_solved"
points = 50
target = 20
gate = { metric = "csat", min = 80, sample = 5 }
""")
    engine = Engine(Ledger(tmp_path / "s"), cfg, History(tmp_path / "s"))
    engine.process(floor(person("fast", 30, metrics={"csat": 60, "csat_count": 9}),
                         person("good", 21, metrics={"csat": 90, "csat_count": 9})), NOW)
    assert [(e.data["agent"], e.data["challenge"]) for e in engine.completed] == [("good", "First to 20")]
    assert engine.game is not None
    assert {p.subject: (p.done, p.gated) for p in engine.game.progress} == {"fast": (False, True), "good": (True, False)}
    assert config_problems(tmp_path, GATE + """
[[challenges]]
id = "chalk"
title = "Beat {best}"
kind = "record"
scope = "team"
metric = "tickets_solved"
gate = { metric = "csat", min = 80 }
""") == ['config.toml: challenges[0].gate: a quality gate is for an agent\'s "target", "race" or "personal_best"']


def test_group_by_ranks_each_channel_on_its_own(tmp_path: Path) -> None:
    cfg = config(tmp_path, '[board]\ngroup_by = "channel"\n')
    board = build_board(floor(person("ann", 30, channel="Phone"), person("bob", 12, channel="chat"),
                              person("cat", 20, channel="phone"), person("dan", 12, channel="chat"),
                              person("eve", 50)), cfg.board)
    assert board.groups() == ("chat", "phone", "other")
    assert ranks(board) == [("bob", 1), ("dan", 1), ("ann", 1), ("cat", 2), ("eve", 1)]
    phone = limit_to_group(board, "phone")
    assert ranks(phone) == [("ann", 1), ("cat", 2)] and phone.find("ann") is not None and phone.find("bob") is None
    mixed = limit_to_teams(board, ["day"])  # a team's wall still ranks chat and phone apart
    assert ranks(mixed) == ranks(board)
    assert config_problems(tmp_path, '[board]\ngroup_by = "chanel"\n')[0].startswith(
        'config.toml: board.group_by: must be one of "", "queue", "channel", "team", "level"')


ROLES = """
[roles]
role_models = ["boss"]

[[challenges]]
id = "first-to-20"
title = "First to {target}"
kind = "race"
metric = "tickets_solved"
points = 50
target = 20
"""


def test_role_models_are_thanked_in_their_lane_never_ranked_nor_in_races(tmp_path: Path) -> None:
    from feeds.live.roles import RoleModels

    cfg = config(tmp_path, ROLES)
    roles = RoleModels(cfg.roles.role_models)
    snapshot = roles(floor(person("boss", 40), person("cto", 35, role="Role_Model"), person("ann", 21),
                           person("bob", 19)))
    board = build_board(snapshot, cfg.board)
    assert ranks(board) == [("ann", 1), ("bob", 2)]  # the boss's 40 and the CTO's 35 are not ahead of anyone
    assert [r.agent.id for r in board.role_models] == ["boss", "cto"] and all(r.rank is None for r in board.role_models)
    assert board.find("boss") is not None and board.who("boss")[0] == "Boss"  # thanks to them still name them
    assert [t.value for t in board.teams if t.team.id == "day"] == [40.0]  # nor in their team's total
    engine = Engine(Ledger(tmp_path / "s"), cfg, History(tmp_path / "s"))
    engine.process(snapshot, NOW)
    assert [(e.data["agent"], e.data["challenge"]) for e in engine.completed] == [("ann", "First to 20")]
    assert engine.game is not None and {p.subject for p in engine.game.progress} == {"ann", "bob"}
    assert board.to_dict()["role_models"][0]["role"] == "role_model"


def test_the_team_pages_role_models_come_from_the_state_file(tmp_path: Path) -> None:
    from feeds.live.roles import RoleModels
    from feeds.web.people import People  # the test writes as the team page does; feeds.live reads plain SQL

    people = People(tmp_path)
    people.invite("cto", "The CTO", "role_model")
    people.invite("ann", "Ann", "agent")
    roles = RoleModels((), tmp_path)
    assert roles.ids() == {"cto"}
    people.invite("ann", role="role_model")  # another connection writes: read again
    assert roles.ids() == {"cto", "ann"}
    people.close()
    roles.close()
    assert RoleModels((), tmp_path / "nowhere").ids() == frozenset()  # no team page yet: nobody, no error


def test_a_watcher_on_the_feed_is_in_no_ranking_race_lane_nor_total(tmp_path: Path) -> None:
    from feeds.live.roles import RoleModels
    from feeds.web.people import People

    cfg = config(tmp_path, ROLES.replace('role_models = ["boss"]', 'role_models = []'))
    people = People(tmp_path / "s")
    people.invite("lead", "Lead", "watcher")  # the floor's leader on the feed, a watcher on the team page
    roles = RoleModels((), tmp_path / "s")
    raw = floor(person("lead", 40), person("cto", 35, role="role_model"), person("ann", 21), person("bob", 19))
    snapshot = roles(raw)
    board = build_board(snapshot, cfg.board)
    assert ranks(board) == [("ann", 1), ("bob", 2)]
    assert [r.agent.id for r in board.role_models] == ["cto"]  # a watcher is not in the role models' lane
    assert board.find("lead") is None and "lead" not in str(board.to_dict())
    assert [(t.value, t.members) for t in board.teams if t.team.id == "day"] == [(40.0, 2)]  # as role models: no total
    assert ranks(limit_to_teams(board, ["day"])) == [("ann", 1), ("bob", 2)]
    engine = Engine(Ledger(tmp_path / "g"), cfg, History(tmp_path / "g"))
    engine.process(snapshot, NOW)
    assert [e.data["agent"] for e in engine.completed] == ["ann"]  # the leader's 40 is no race entry
    assert engine.game is not None and {p.subject for p in engine.game.progress} == {"ann", "bob"}
    people.invite("lead", role="agent")  # an agent again: back on the board
    assert ranks(build_board(roles(raw), cfg.board))[0] == ("lead", 1)
    people.close()
    roles.close()


def test_the_demo_floors_leader_marked_watcher_on_the_team_page_leaves_the_ranking(tmp_path: Path) -> None:
    from feeds.connectors.demo import DemoFeed
    from feeds.live.roles import RoleModels
    from feeds.web.people import People
    from helpers import ROOT, FakeClock

    board_config = load_config(str(ROOT / "config.toml")).config.board
    clock = FakeClock()
    feed = DemoFeed(3, clock)
    clock.advance(600)
    snapshot = feed.poll()
    roles = RoleModels((), tmp_path)
    before = build_board(roles(snapshot), board_config)
    leader = before.agents[0]
    assert leader.rank == 1
    people = People(tmp_path)
    people.invite(leader.agent.id, leader.agent.name, "watcher")
    after = build_board(roles(snapshot), board_config)
    assert leader.agent.id not in {a.agent.id for a in after.agents} | {r.agent.id for r in after.role_models}
    assert (after.agents[0].agent.id, after.agents[0].rank) == (before.agents[1].agent.id, 1)  # the runner-up leads
    assert next(t for t in after.teams if t.team.id == leader.agent.team).members == \
        next(t for t in before.teams if t.team.id == leader.agent.team).members - 1
    people.close()
    roles.close()


def test_the_feeds_fair_fields_parse_from_json_csv_and_a_mapping_and_bad_ones_only_drop_themselves() -> None:
    from feeds.config.schema import CsvConfig, MappingConfig
    from feeds.connectors.formats import csv_decoder, json_decoder
    from feeds.connectors.mapping import Mapper

    snap = floor(person("ann", 3, hours_available="6,5", role="Role_Model", queue=" Billing ", channel="Chat"),
                 person("bob", 2, hours_available=-1, role=7), person("cat", 1, hours_available="lots"),
                 person("dan", 1, hours_available=float("nan")))
    ann, bob, cat, dan = snap.agents
    assert (ann.hours_available, ann.role, ann.queue, ann.channel) == (6.5, "role_model", "billing", "chat")
    assert (bob.hours_available, bob.role, cat.hours_available, dan.hours_available) == (None, None, None, None)
    assert [w for w in snap.warnings if "hours_available" in w or "role" in w] == [
        'agents[1] (id "bob") hours_available ignored: -1 is not between 0 and 744',
        'agents[1] (id "bob") role ignored: expected text, got a number',
        'agents[2] (id "cat") hours_available ignored: expected a number, got text "lots"',
        'agents[3] (id "dan") hours_available ignored: nan is not a finite number']
    assert ann.to_dict()["hours_available"] == 6.5 and ann.to_dict()["role"] == "role_model"
    csv = csv_decoder(CsvConfig(), 1 << 20)(b"id;name;hours_available;channel;tickets_solved\nann;Ann;4;Phone;12\n")
    assert (csv.agents[0].hours_available, csv.agents[0].channel, dict(csv.agents[0].metrics)) == (4.0, "phone",
                                                                                                   {"tickets_solved": 12.0})
    mapped = json_decoder(1 << 20, Mapper(MappingConfig(agents="people", metrics={"tickets_solved": "done"})))(
        b'{"people": [{"id": "p1", "name": "Pia", "hours_available": 4, "channel": "email", "done": 9}]}')
    assert (mapped.agents[0].hours_available, mapped.agents[0].channel) == (4.0, "email")



SCORED = '[board]\nrank_by = "score"\n{gate}[board.score]\ntickets_solved = 3\ncsat = 1\n[board.metrics.csat]\nsamples = "csat_count"\n'


def test_a_gate_on_the_score_keeps_a_fast_low_quality_score_on_show_but_out_of_the_ranking(tmp_path: Path) -> None:
    snapshot = floor(person("fast", 40, metrics={"csat": 70.0, "csat_count": 20}),
                     person("good", 30, metrics={"csat": 95.0, "csat_count": 20}),
                     person("new", 20, metrics={"csat": 50.0, "csat_count": 2}))
    ungated = build_board(snapshot, config(tmp_path, SCORED.format(gate="")).board)
    board = build_board(snapshot, config(tmp_path, SCORED.format(gate='gate = { metric = "csat", min = 80, sample = 5 }\n')).board)
    assert ranks(ungated)[0] == ("fast", 1)  # on volume the fast closer's score leads
    assert ranks(board) == [("good", 1), ("new", 2), ("fast", None)]  # two ratings are too few to shut the gate
    fast, was = board.find("fast"), ungated.find("fast")
    assert fast is not None and was is not None and fast.note == QUALITY_FIRST and fast.value == was.value
    day, day_was = (next(t for t in b.teams if t.team.id == "day") for b in (board, ungated))
    assert day.members == 3 and day.value is not None and day_was.value is not None and day.value < day_was.value


def test_a_role_given_on_the_team_page_shows_at_the_next_poll_of_an_unchanged_feed(tmp_path: Path) -> None:
    from feeds.live.coordinator import FeedCoordinator
    from feeds.live.roles import RoleModels
    from feeds.web.people import People

    cfg = config(tmp_path, ROLES.replace('role_models = ["boss"]', 'role_models = []'))
    raw = floor(person("lead", 40), person("ann", 21), person("bob", 19))

    class Quiet:  # a source whose document never changes after the first poll
        polls = 0

        def poll(self) -> Snapshot | None:
            self.polls += 1
            return raw if self.polls == 1 else None

    people = People(tmp_path / "s")
    coordinator = FeedCoordinator(Quiet(), cfg.feed, cfg.board, roles=RoleModels((), tmp_path / "s"))  # type: ignore[arg-type]

    def ranked() -> list[str]:
        board = coordinator.state().board
        assert board is not None
        return [r.agent.id for r in board.agents]

    assert coordinator.poll_once() and ranked() == ["lead", "ann", "bob"]
    people.invite("lead", "Lead", "watcher")
    coordinator.poll_once()
    assert ranked() == ["ann", "bob"]
    people.invite("lead", role="agent")  # and back: marked afresh from the source's own document
    coordinator.poll_once()
    assert ranked() == ["lead", "ann", "bob"]
    people.close()
