"""chalkwall's configuration: where it is found, and its typed, validated shape.

The file is looked for at ``--config PATH``, then ``$CHALKWALL_CONFIG``, then ``./config.toml``,
then ``/etc/chalkwall/config.toml``, and last the bundled default (the demo feed). A path given
explicitly must exist: falling back silently would show the demo floor on a real team's wall.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from feeds.config.game import (CHALLENGE_KINDS, PERIOD_KINDS, WEEKDAYS, ChallengeConfig,  # noqa: F401
                               LevelsConfig, PeriodsConfig, PointsConfig, ScheduleConfig, ShiftConfig,
                               local_zone_name)
from feeds.config.feed import (COMMON_FEED_KEYS, AgentFields, AuthConfig, CsvConfig, FeedConfig,  # noqa: F401
                               MappingConfig, TeamFields, connector_types)
from feeds.config.fair import (GROUP_FIELDS, ROLE_MODEL, TARGET_PERCENT, UNRANKED_ROLES, WATCHER,  # noqa: F401
                               GateConfig, RolesConfig, Yardstick,
                               check_gate, pick_target, yardstick)
from feeds.config.metricnames import check_metric_names
from feeds.config.privacy import PrivacyConfig
from feeds.config.hub import HubConfig
from feeds.config.web import WebConfig
from feeds.config.validate import _INVALID, ConfigError, Problem, Reader, closest, did_you_mean, empty_mapping, read_toml, salvage

ENV_VAR = "CHALKWALL_CONFIG"
SYSTEM_PATH = Path("/etc/chalkwall/config.toml")
BUNDLED_LABEL = "<bundled config.toml>"
SCORE = "score"


@dataclass(frozen=True)
class MetricConfig:
    """How one metric is named, ordered and counted."""

    label: str = ""
    lower_is_better: bool = False
    unit: str = ""
    decimals: int = field(default=0, metadata={"min": 0, "max": 3})
    min_samples: int = field(default=0, metadata={"min": 0})
    samples: str = ""
    samples_label: str = "ratings"  # what the samples are called on the wall: "needs 5 ratings"
    per_hour: bool = False  # ranked (and scored) per hour available, when the feed gives hours_available

    def check(self, reader: Reader, key: str) -> None:
        if self.min_samples and not self.samples:
            reader.problem(f"{key}.samples", "missing (required with min_samples): the metric counting the samples")
        if self.per_hour and self.lower_is_better:
            reader.problem(f"{key}.per_hour", "a lower-is-better metric (a time, an average) has no rate per hour")
        if self.per_hour and self.min_samples:
            reader.problem(f"{key}.per_hour", "an average over samples (min_samples) has no rate per hour")


TARGET_METRIC = MetricConfig(label="% of target", unit="%")


@dataclass(frozen=True)
class BoardConfig:
    """How agents and teams are ranked."""

    rank_by: str = "tickets_solved"
    score: Mapping[str, float] = field(default_factory=empty_mapping)
    metrics: Mapping[str, MetricConfig] = field(default_factory=empty_mapping)
    team_aggregate: Literal["sum", "average"] = "sum"
    # Fair ranking (docs/fair-ranking.md), all off by default:
    target: str = ""  # rank_by = "target_percent": the agent target challenge whose level table is the yardstick
    gate: GateConfig | None = None  # quality first: the ranking value counts only while quality holds
    group_by: Literal["", "queue", "channel", "team", "level"] = ""  # = ("", *GROUP_FIELDS): a board per group
    # Resolved by Config from [[challenges]] and [levels] (not a key of its own).
    yardstick: Yardstick | None = field(default=None, init=False, compare=False, repr=False)

    def metric(self, name: str) -> MetricConfig:
        if name == TARGET_PERCENT:
            return TARGET_METRIC
        return self.metrics.get(name) or MetricConfig()

    @property
    def ranked_metrics(self) -> tuple[str, ...]:
        """The feed's metrics the ranking value is made of."""
        if self.rank_by == SCORE:
            return tuple(self.score)
        if self.rank_by == TARGET_PERCENT:
            return (self.yardstick.metric,) if self.yardstick is not None else ()
        return (self.rank_by,)

    def check(self, reader: Reader, key: str) -> None:
        if not self.rank_by:
            reader.problem(f"{key}.rank_by", "must name a metric, or be \"score\"")
        if self.rank_by == SCORE and not self.score:
            reader.problem(f"{key}.score", 'missing (required when rank_by = "score"): metric = weight')
        for name, weight in self.score.items():
            if weight <= 0:
                reader.problem(f"{key}.score.{name}",
                               f"weight must be above 0 (got {weight}); mark the metric lower_is_better instead")
        built_in = (SCORE, TARGET_PERCENT)
        near = closest(self.rank_by, built_in) if self.rank_by not in built_in else None
        if near and self.rank_by not in self.metrics:
            reader.problem(f"{key}.rank_by", f'"{self.rank_by}" looks like a misspelt "{near}"'
                           + did_you_mean(self.rank_by, built_in))
        if self.target and self.rank_by != TARGET_PERCENT:
            reader.problem(f"{key}.target", 'applies only with rank_by = "target_percent"')
        if self.gate is not None:
            check_gate(self.gate, f"{key}.gate", reader, self.metric(self.gate.metric).samples)


SCENES = ("leaderboard", "teams", "wins", "challenges", "record", "near", "history", "role_models")


def check_size(value: str) -> str | None:
    if not value:
        return None
    w, _, h = value.lower().partition("x")
    if not (w.isdigit() and h.isdigit() and 320 <= int(w) <= 7680 and 240 <= int(h) <= 7680):
        return f'must look like "1920x1080" (width x height, 320 to 7680), not "{value}"'
    return None


@dataclass(frozen=True)
class SceneConfig:
    """One entry of the display's playlist."""

    name: Literal["leaderboard", "teams", "wins", "challenges", "record", "near", "history", "role_models"]  # = SCENES
    seconds: float = field(default=20.0, metadata={"min": 3, "max": 3600})


def _default_scenes() -> tuple[SceneConfig, ...]:
    return (SceneConfig("leaderboard", 30), SceneConfig("teams", 12), SceneConfig("wins", 12),
            SceneConfig("challenges", 12), SceneConfig("record", 10), SceneConfig("near", 12),
            SceneConfig("history", 12))


@dataclass(frozen=True)
class DisplayConfig:
    """What the wall shows and how."""

    title: str = "Leaderboard"
    period: str = "Today"  # what the numbers cover, shown in the header beside the date
    theme: str = "dark"
    animation: Literal["full", "reduced", "calm", "none"] = "full"
    secondary: str = ""
    teams: tuple[str, ...] = ()
    scenes: tuple[SceneConfig, ...] = field(default_factory=_default_scenes)
    size: str = field(default="", metadata={"check": check_size})
    celebration_seconds: float = field(default=6.0, metadata={"min": 2, "max": 60})
    max_fps: int = field(default=60, metadata={"min": 10, "max": 120})
    viewing_distance: float = field(default=0.0, metadata={"min": 0, "max": 100})  # metres; 0: the 1/36 floor only
    screen_inches: float = field(default=55.0, metadata={"min": 10, "max": 300})  # the diagonal, for viewing_distance

    def check(self, reader: Reader, key: str) -> None:
        if not self.scenes:
            reader.problem(f"{key}.scenes", "must list at least one scene")

    @property
    def resolution(self) -> tuple[int, int] | None:
        if not self.size:
            return None
        w, _, h = self.size.lower().partition("x")
        return int(w), int(h)


@dataclass(frozen=True)
class LogConfig:
    """Log output: plain lines for people, or one JSON object per line for journald and tools."""

    format: Literal["plain", "json"] = "plain"
    level: Literal["debug", "info", "warning", "error"] = "info"


@dataclass(frozen=True)
class StateConfig:
    """Where chalkwall keeps what must survive a restart (default: $STATE_DIRECTORY, else
    ~/.local/state/chalkwall)."""

    dir: str = ""


@dataclass(frozen=True)
class Config:
    """The whole config file."""

    feed: FeedConfig = field(default_factory=FeedConfig)
    board: BoardConfig = field(default_factory=BoardConfig)
    display: DisplayConfig = field(default_factory=DisplayConfig)
    periods: PeriodsConfig = field(default_factory=PeriodsConfig)
    points: PointsConfig = field(default_factory=PointsConfig)
    levels: LevelsConfig = field(default_factory=LevelsConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    challenges: tuple[ChallengeConfig, ...] = ()
    state: StateConfig = field(default_factory=StateConfig)
    log: LogConfig = field(default_factory=LogConfig)
    web: WebConfig = field(default_factory=WebConfig)
    roles: RolesConfig = field(default_factory=RolesConfig)
    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)
    hub: HubConfig | None = None  # only a hub's config has one

    def __post_init__(self) -> None:
        if self.board.rank_by == TARGET_PERCENT:  # the yardstick comes from a challenge and [levels]
            board = dataclasses.replace(self.board)
            object.__setattr__(board, "yardstick", yardstick(board.target, self.challenges, self.levels.agents))
            object.__setattr__(self, "board", board)

    def check(self, reader: Reader, key: str) -> None:
        if self.board.rank_by == TARGET_PERCENT:
            _, problem = pick_target(self.board.target, self.challenges)
            if problem:
                reader.problem("board.target" if self.board.target else "board.rank_by", problem)
        for i, c in enumerate(self.challenges):
            if c.gate is not None:
                check_gate(c.gate, f"challenges[{i}].gate", reader, self.board.metric(c.gate.metric).samples)
        ids = [c.id for c in self.challenges]
        for dup in sorted({i for i in ids if ids.count(i) > 1}):
            reader.problem("challenges", f'the id "{dup}" is used by more than one challenge')
        for i, c in enumerate(self.challenges):
            if isinstance(c.target, Mapping):
                for level in c.target:
                    if level != "default" and level not in self.levels.names:
                        reader.problem(f"challenges[{i}].target.{level}", f'"{level}" is not a level name '
                                       f'({", ".join(self.levels.names)}, or "default")'
                                       + did_you_mean(level, [*self.levels.names, "default"]))
        if any(c.period == "shift" for c in self.challenges) and not self.periods.shifts:
            reader.problem("periods.shifts", 'missing (required: a challenge has period = "shift")')
        repeatable = {c.id: c for c in self.challenges if c.kind in ("target", "personal_best")}
        for i, c in enumerate(self.challenges):
            if c.kind == "streak" and c.of and c.of not in repeatable:
                reader.problem(f"challenges[{i}].of", f'"{c.of}" is not the id of a target or personal_best challenge'
                                                      + did_you_mean(c.of, list(repeatable)))
            elif c.kind == "streak" and c.of and repeatable[c.of].scope != c.scope:
                reader.problem(f"challenges[{i}].scope", f'must be the scope of "{c.of}" ({repeatable[c.of].scope})')
        check_metric_names(self, reader)


@dataclass(frozen=True)
class LoadedConfig:
    """A validated config and where it came from (relative paths in it resolve against ``base_dir``)."""

    config: Config
    label: str
    base_dir: Path
    path: Path | None = None  # the file itself, watched for edits by the running wall


def bundled_config_path() -> Path:
    """The default config: inside the wheel when installed, at the repository top when editable."""
    here = Path(__file__).resolve().parents[1]  # feeds/
    inside = here / "bundled" / "config.toml"
    return inside if inside.exists() else here.parent / "config.toml"


def find_config(cli_path: str | None, cwd: Path | None = None) -> tuple[Path, str]:
    """Where the config is, and the label to name it by; ConfigError when an explicit path is missing."""
    for explicit, origin in ((cli_path, "--config"), (os.environ.get(ENV_VAR), f"${ENV_VAR}")):
        if explicit:
            path = Path(explicit).expanduser()
            if not path.is_file():
                raise ConfigError([Problem(str(path), "", f"no such config file (given by {origin})")])
            return path, str(path)
    local = (cwd or Path.cwd()) / "config.toml"
    if local.is_file():
        return local, str(local)
    if SYSTEM_PATH.is_file():
        return SYSTEM_PATH, str(SYSTEM_PATH)
    return bundled_config_path(), BUNDLED_LABEL


def parse_config(data: dict[str, object], label: str) -> Config:
    reader = Reader(label)
    config = reader.load(Config, data)
    if config is None:  # something did not load: the checks that span the file still run on the rest
        _check_partly(data, reader)
    reader.raise_if_any()
    assert config is not None
    return config


def _check_partly(data: dict[str, object], reader: Reader) -> None:
    """The checks that span the file, on what of it does load, so that one pass reports a metric
    typo in ``[board]`` beside a bad value elsewhere in it or in ``[feed]``."""
    skip: set[str] = set()  # the keys that did not load: nothing under them is checked or trusted
    config = salvage(reader, Config, data, "", skip)
    if skip and config is not _INVALID:  # else salvage ran Config.check, which includes this
        check_metric_names(config, reader, frozenset(skip))


def load_config(cli_path: str | None = None, cwd: Path | None = None) -> LoadedConfig:
    """Find, read and validate the config; ConfigError lists every problem."""
    path, label = find_config(cli_path, cwd)
    return placed(parse_config(read_toml(path, label), label), label, path)


def placed(config: Config, label: str, path: Path) -> LoadedConfig:
    """``config`` as read from ``path``: relative paths in it resolve against that file's folder."""
    base = path.resolve().parent
    feed = config.feed
    if feed.path and not Path(feed.path).expanduser().is_absolute():
        feed = dataclasses.replace(feed, path=str(base / feed.path))
        config = dataclasses.replace(config, feed=feed)
    return LoadedConfig(config, label, base, path)
