"""Config: search order, typed parsing, and every problem reported at once with exact messages."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest

from display.themes import builtin_names
from feeds.config.schema import BUNDLED_LABEL, ENV_VAR, DisplayConfig, find_config, load_config
from feeds.config.validate import ConfigError
from feeds.connectors.registry import CONNECTORS
from helpers import ROOT, config_problems, write_config

TYPES = ", ".join(f'"{name}"' for name in CONNECTORS)  # the registry's, in its order


problems = config_problems


def test_bundled_default_is_the_demo_ranked_by_score() -> None:
    loaded = load_config(str(ROOT / "config.toml"))
    assert loaded.config.feed.type == "demo"
    assert loaded.config.board.rank_by == "score"
    assert loaded.config.board.metric("csat").min_samples == 5
    assert loaded.config.board.metric("aht_seconds").lower_is_better


def test_search_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    empty = tmp_path / "empty"
    empty.mkdir()
    path, label = find_config(None, cwd=empty)
    if not Path("/etc/chalkwall/config.toml").exists():
        assert label == BUNDLED_LABEL and path.name == "config.toml" and path.is_file()
    local = write_config(tmp_path, "")
    assert find_config(None, cwd=tmp_path)[0] == local
    other = tmp_path / "other.toml"
    other.write_text("")
    monkeypatch.setenv(ENV_VAR, str(other))
    assert find_config(None, cwd=tmp_path)[0] == other
    explicit = tmp_path / "explicit.toml"
    explicit.write_text("")
    assert find_config(str(explicit), cwd=tmp_path)[0] == explicit


def test_an_explicit_path_that_is_missing_is_an_error_not_a_silent_demo(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match=r"no such config file \(given by --config\)"):
        find_config(str(tmp_path / "nope.toml"))
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "gone.toml"))
    with pytest.raises(ConfigError, match=r"no such config file \(given by \$CHALKWALL_CONFIG\)"):
        find_config(None)


def test_every_problem_at_once_with_key_paths_and_did_you_mean(tmp_path: Path) -> None:
    found = problems(tmp_path, """
[feed]
type = "htpp"
intervall = 5
timeout = "ten"

[board]
rank_by = "scroe"
team_aggregate = "mean"

[board.metrics.csat]
min_samples = 5
lower_is_beter = true

[bord]
x = 1
""")
    assert found == [
        'config.toml: bord: unknown key (did you mean "board"?)',
        'config.toml: feed.intervall: unknown key (did you mean "interval"?)',
        f'config.toml: feed.type: must be one of {TYPES}, not string "htpp" (did you mean "http"?)',
        'config.toml: feed.timeout: must be a number, not string "ten"',
        'config.toml: board.metrics.csat.lower_is_beter: unknown key (did you mean "lower_is_better"?)',
        "config.toml: board.metrics.csat.samples: missing (required with min_samples): the metric counting the samples",
        'config.toml: board.team_aggregate: must be one of "sum", "average", not string "mean"',
    ]


def test_cross_field_rules(tmp_path: Path) -> None:
    found = problems(tmp_path, """
[feed]
type = "http"
interval = 0.1
[feed.auth]
type = "basic"
[board]
rank_by = "score"
""")
    assert found == [
        "config.toml: feed.interval: must be at least 0.5 (got 0.1)",
        'config.toml: feed.auth: auth type "basic" needs exactly one of token_env or token_file',
        'config.toml: feed.auth.username: missing (required for auth type "basic")',
        'config.toml: board.score: missing (required when rank_by = "score"): metric = weight',
    ]
    assert problems(tmp_path, '[feed]\ntype = "http"\n') == [
        'config.toml: feed.url: missing (required for feed type "http")']
    assert problems(tmp_path, '[feed]\ntype = "csv"\n') == [
        'config.toml: feed: feed type "csv" needs exactly one of url or path']
    assert problems(tmp_path, "[board]\nrank_by = 'score'\nscore = { csat = -1 }\n") == [
        "config.toml: board.score.csat: weight must be above 0 (got -1.0); mark the metric lower_is_better instead"]
    assert problems(tmp_path, "[board]\nrank_by = 'scroe'\n") == [
        'config.toml: board.rank_by: "scroe" looks like a misspelt "score" (did you mean "score"?)']


def test_secrets_are_refused_in_the_file(tmp_path: Path) -> None:
    found = problems(tmp_path, """
[feed]
type = "http"
url = "https://bob:hunter2@example.com/feed"
headers = { Authorization = "Bearer abc" }
""")
    assert found == [
        "config.toml: feed.url: must not contain a user name or password: put them in [feed.auth] (token_env or token_file)",
        'config.toml: feed.headers: "Authorization" is a secret and does not belong in config.toml: '
        "use [feed.auth] token_env or token_file",
    ]
    assert problems(tmp_path, '[feed]\ntype = "http"\nurl = "ftp://x/y"\n') == [
        'config.toml: feed.url: must be an http:// or https:// address, not "ftp://x/y"']


def test_mapping_expressions_are_checked_when_loading(tmp_path: Path) -> None:
    found = problems(tmp_path, """
[feed]
type = "http"
url = "http://127.0.0.1/x"
[feed.mapping]
agents = "data.[["
agent = { id = "uid", nmae = "full_name" }
metrics = { solved = "a b" }
[board]
rank_by = "solved"
""")
    assert found == [
        'config.toml: feed.mapping.agents: not a valid JMESPath expression: "data.[[" ends too early',
        'config.toml: feed.mapping.agent.nmae: unknown key (did you mean "name"?)',
        'config.toml: feed.mapping.metrics.solved: not a valid JMESPath expression: "a b" has unexpected "b" at column 3',
    ]


def test_toml_syntax_errors_name_the_file_and_line(tmp_path: Path) -> None:
    found = problems(tmp_path, "[feed]\ntype = demo\n")
    assert found == ["config.toml: invalid TOML: Invalid value (at line 2, column 8)"]


def test_types_are_frozen_and_relative_paths_resolve_beside_the_config(tmp_path: Path) -> None:
    path = write_config(tmp_path, '[feed]\ntype = "file"\npath = "data/feed.json"\ninterval = 1\n')
    loaded = load_config(str(path))
    assert loaded.config.feed.path == str(tmp_path / "data" / "feed.json")
    assert loaded.config.feed.interval == 1.0 and isinstance(loaded.config.feed.interval, float)
    assert loaded.config.feed.stale_seconds == 10.0
    with pytest.raises(AttributeError):
        loaded.config.feed.interval = 3  # type: ignore[misc]


def test_periods_and_points_are_checked(tmp_path: Path) -> None:
    found = problems(tmp_path, """
[periods]
timezone = "Europe/Stokholm"
shifts = [{ name = "day", start = "07:00", end = "15:00" }, { name = "day", start = "15:00", end = "25:00" }]
[points]
kudos = -1
""")
    assert found == [
        'config.toml: periods.timezone: unknown time zone "Europe/Stokholm" (use a name like "Europe/Stockholm")',
        'config.toml: periods.shifts[1].end: must be a time like "07:00", not "25:00"',
        "config.toml: points.kudos: must be at least 0 (got -1.0)",
    ]
    ok = load_config(str(write_config(tmp_path, '[periods]\ntimezone = "Europe/Stockholm"\n'
                                                 'shifts = [{ name = "night", start = "22:00", end = "06:00" }]\n')))
    assert ok.config.periods.zone == "Europe/Stockholm" and ok.config.periods.shifts[0].name == "night"
    assert ok.config.points.kudos_per_sender_per_day == 3


def test_the_scene_names_agree_with_the_scenes_there_are() -> None:
    import typing

    from display.clock import FakeClock
    from display.scenes import make_scenes
    from display.shot import init_offscreen, make_stage
    from feeds.config.schema import SCENES, SceneConfig

    assert typing.get_args(typing.get_type_hints(SceneConfig)["name"]) == SCENES
    init_offscreen()
    stage = make_stage(load_config(str(ROOT / "config.toml")), (1280, 720), FakeClock())
    assert tuple(make_scenes(stage)) == SCENES  # every name has a scene, every scene a name


def test_the_shipped_config_names_every_theme_animation_and_the_viewing_distance(tmp_path: Path) -> None:
    text = (ROOT / "config.toml").read_text(encoding="utf-8")
    display = text[text.index("\n[display]\n"):text.index("\n[[display.scenes]]\n")]
    for name in builtin_names():
        assert f'"{name}"' in display, name
    for mode in typing.get_args(typing.get_type_hints(DisplayConfig)["animation"]):
        assert f'"{mode}"' in display, mode
    assert "# viewing_distance = " in display and "# screen_inches = " in display
    # Uncommented, as an admin would, they load and check clean.
    edited = display.replace("# viewing_distance", "viewing_distance").replace("# screen_inches", "screen_inches")
    path = write_config(tmp_path, text.replace(display, edited.replace('animation = "full"', 'animation = "calm"')))
    loaded = load_config(str(path)).config
    assert loaded.display.viewing_distance == 6 and loaded.display.animation == "calm"
