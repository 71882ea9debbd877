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
from typing import Any, Literal
from urllib.parse import urlsplit

import jmespath
import jmespath.exceptions
import jmespath.functions

from feeds.config.game import (CHALLENGE_KINDS, PERIOD_KINDS, WEEKDAYS, ChallengeConfig,  # noqa: F401
                               LevelsConfig, PeriodsConfig, PointsConfig, ScheduleConfig, ShiftConfig,
                               local_zone_name)
from feeds.config.metricnames import check_metric_names
from feeds.config.validate import _INVALID, ConfigError, Problem, Reader, did_you_mean, empty_mapping, read_toml, salvage

ENV_VAR = "CHALKWALL_CONFIG"
SYSTEM_PATH = Path("/etc/chalkwall/config.toml")
BUNDLED_LABEL = "<bundled config.toml>"
SCORE = "score"


def _jmespath(expr: str) -> str | None:
    if not expr:
        return None
    try:
        jmespath.compile(expr)
    except jmespath.exceptions.IncompleteExpressionError:
        return f'not a valid JMESPath expression: "{expr}" ends too early'
    except jmespath.exceptions.ParseError as exc:  # includes LexerError
        token = f' "{exc.token_value}"' if getattr(exc, "token_value", None) else ""
        return f'not a valid JMESPath expression: "{expr}" has unexpected{token} at column {exc.lex_position + 1}'
    except jmespath.exceptions.JMESPathError as exc:
        return f"not a valid JMESPath expression: {str(exc).splitlines()[0]}"
    return _functions(expr, jmespath.compile(expr).parsed)


FUNCTIONS = jmespath.functions.Functions().FUNCTION_TABLE


def _functions(expr: str, node: dict[str, object]) -> str | None:
    """The first call in a parsed expression to a function JMESPath does not have, or with the
    wrong number of arguments: JMESPath itself finds these only when a document is searched."""
    children = node.get("children") or []
    assert isinstance(children, list)
    if node.get("type") == "function_expression":
        name = str(node.get("value"))
        if name not in FUNCTIONS:
            return (f'unknown JMESPath function "{name}()" in "{expr}"'
                    + did_you_mean(name, FUNCTIONS) + " (see jmespath.org for the built-in functions)")
        signature = FUNCTIONS[name]["signature"]
        variadic = any(arg.get("variadic") for arg in signature)
        if len(children) < len(signature) or (len(children) > len(signature) and not variadic):
            wanted = f"at least {len(signature)}" if variadic else str(len(signature))
            return f'"{name}()" takes {wanted} argument(s), not {len(children)}, in "{expr}"'
    for child in children:
        found = _functions(expr, child) if isinstance(child, dict) else None
        if found:
            return found
    return None


def _url(value: str) -> str | None:
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return f'must be an http:// or https:// address, not "{value}"'
    if parts.username or parts.password:
        return "must not contain a user name or password: put them in [feed.auth] (token_env or token_file)"
    return None


def _headers(headers: Mapping[str, str]) -> str | None:
    secret = [n for n in headers if n.lower() in ("authorization", "cookie", "x-api-key", "proxy-authorization")]
    if secret:
        return (f'"{secret[0]}" is a secret and does not belong in config.toml: '
                "use [feed.auth] token_env or token_file")
    return None


JMES = {"check": _jmespath}


@dataclass(frozen=True)
class AuthConfig:
    """How to authenticate to the feed. The secret itself lives in an env var or a file."""

    type: Literal["none", "bearer", "basic"] = "none"
    username: str = ""
    token_env: str = ""
    token_file: str = ""
    email: str = ""  # the Zendesk user the API token belongs to
    client_id: str = ""  # OAuth client credentials (Help Scout, Genesys): the secret is the token

    def check(self, reader: Reader, key: str) -> None:
        if self.type == "none":
            return
        if bool(self.token_env) == bool(self.token_file):
            reader.problem(key, f'auth type "{self.type}" needs exactly one of token_env or token_file')
        if self.type == "basic" and not self.username:
            reader.problem(f"{key}.username", 'missing (required for auth type "basic")')


@dataclass(frozen=True)
class AgentFields:
    """JMESPath expressions, relative to one agent record, for each canonical agent field."""

    id: str = field(default="id", metadata=JMES)
    name: str = field(default="name", metadata=JMES)
    team: str = field(default="team", metadata=JMES)
    level: str = field(default="level", metadata=JMES)
    avatar: str = field(default="avatar", metadata=JMES)


@dataclass(frozen=True)
class TeamFields:
    """JMESPath expressions, relative to one team record, for each canonical team field."""

    id: str = field(default="id", metadata=JMES)
    name: str = field(default="name", metadata=JMES)
    color: str = field(default="color", metadata=JMES)


@dataclass(frozen=True)
class MappingConfig:
    """Turns a non-canonical JSON document into the canonical feed by configuration alone."""

    agents: str = field(default="", metadata=JMES)
    teams: str = field(default="", metadata=JMES)
    events: str = field(default="", metadata=JMES)
    generated_at: str = field(default="", metadata=JMES)
    agent: AgentFields = field(default_factory=AgentFields)
    team: TeamFields = field(default_factory=TeamFields)
    metrics: Mapping[str, str] = field(default_factory=empty_mapping, metadata={"each": _jmespath})

    def check(self, reader: Reader, key: str) -> None:
        if not self.agents:
            reader.problem(f"{key}.agents", "missing (required): a JMESPath expression for the list of agents")
        if not self.metrics:
            reader.problem(f"{key}.metrics", "missing (required): at least one metric = expression")


def _encoding(value: str) -> str | None:
    import codecs

    if value == "auto":
        return None
    try:
        codecs.lookup(value)
    except LookupError:
        return f'unknown encoding "{value}" (e.g. "auto", "utf-8", "cp1252", "latin-1", "utf-16")'
    return None


@dataclass(frozen=True)
class CsvConfig:
    """CSV dialect; "auto" sniffs comma, semicolon or tab, and tells UTF-8 from Windows-1252."""

    delimiter: Literal["auto", ",", ";", "\t", "|"] = "auto"
    encoding: str = field(default="auto", metadata={"check": _encoding})


def connector_types() -> Mapping[str, Any]:
    """The registry of ``[feed] type``s (read here, when a config is parsed: the connectors import
    this module for their config types, so it cannot import them at its own import)."""
    from feeds.connectors.registry import CONNECTORS

    return CONNECTORS


def _feed_type(value: str) -> str | None:
    types_ = connector_types()
    if value in types_:
        return None
    options = ", ".join(f'"{name}"' for name in types_)
    return f'must be one of {options}, not string "{value}"' + did_you_mean(value, types_)


def _options_class(value: str) -> type[Any] | None:
    spec = connector_types().get(value)
    return spec.options if spec is not None else None


# The [feed] keys every type takes; the rest apply only to the types whose registry entry names them.
COMMON_FEED_KEYS = frozenset({"type", "interval", "timeout", "stale_after", "max_bytes", "avatars", "options"})


@dataclass(frozen=True)
class FeedConfig:
    """Where the metrics come from and how often they are polled. ``type`` picks a connector from
    the registry (feeds/connectors/registry.py); its own keys are read into ``options``."""

    type: str = field(default="demo", metadata={"check": _feed_type})
    url: str = field(default="", metadata={"check": _url})
    path: str = ""
    interval: float = field(default=0.0, metadata={"min": 0.5, "max": 86400})  # 0: the connector's default
    timeout: float = field(default=10.0, metadata={"min": 0.5, "max": 300})
    stale_after: float = field(default=0.0, metadata={"min": 0})
    max_bytes: int = field(default=8 * 1024 * 1024, metadata={"min": 1024})
    verify_tls: bool = True
    ca_file: str = ""
    headers: Mapping[str, str] = field(default_factory=empty_mapping, metadata={"check": _headers})
    auth: AuthConfig = field(default_factory=AuthConfig)
    mapping: MappingConfig | None = None
    csv: CsvConfig = field(default_factory=CsvConfig)
    seed: int = 7
    avatars: bool = True  # fetch the pictures at agents' avatar URLs (feeds/live/avatars.py)
    options: Any = field(default=None, metadata={"options_of": ("type", _options_class)})

    def __post_init__(self) -> None:
        if not self.interval:  # not given: the connector's own sensible minimum
            spec = connector_types().get(self.type)
            object.__setattr__(self, "interval", spec.interval if spec is not None else 15.0)

    @property
    def stale_seconds(self) -> float:
        """Seconds without a good poll before the board is marked stale (default 3 polls, ≥ 10 s)."""
        return self.stale_after or max(3 * self.interval, 10.0)

    def check(self, reader: Reader, key: str) -> None:
        def need(name: str, why: str) -> None:
            reader.problem(f"{key}.{name}", f"missing (required {why})")

        spec = connector_types().get(self.type)
        if spec is None:
            return
        defaults = FeedConfig(type=self.type)
        for f in dataclasses.fields(self):
            if f.name in COMMON_FEED_KEYS or f.name in spec.keys:
                continue
            if getattr(self, f.name) != getattr(defaults, f.name):
                users = [n for n, t in connector_types().items() if f.name in t.keys]
                where = ", ".join(f'"{n}"' for n in users)
                reader.problem(f"{key}.{f.name}", f'does not apply to feed type "{self.type}"'
                               + (f" (only to {where})" if users else ""))
        if self.type == "http" and not self.url:
            need("url", 'for feed type "http"')
        if self.type == "file" and not self.path:
            need("path", 'for feed type "file"')
        if self.type == "csv" and bool(self.url) == bool(self.path):
            reader.problem(key, 'feed type "csv" needs exactly one of url or path')
        check_auth = getattr(self.options, "check_auth", None)
        if spec.native and self.auth.type != "none":
            reader.problem(f"{key}.auth.type", f'feed type "{self.type}" picks its own scheme: remove [feed.auth] type')
        if spec.auth:
            if "secret" in spec.auth and bool(self.auth.token_env) == bool(self.auth.token_file):
                reader.problem(f"{key}.auth", f'feed type "{self.type}" needs exactly one of token_env or token_file '
                                              f"(the {spec.extra.get('secret', 'secret')})")
            for name in ("email", "client_id"):
                if name in spec.auth and not getattr(self.auth, name):
                    need(f"auth.{name}", f'for feed type "{self.type}"')
        for name in ("email", "client_id"):
            if getattr(self.auth, name) and name not in spec.auth:
                reader.problem(f"{key}.auth.{name}", f'does not apply to feed type "{self.type}"')
        if check_auth is not None:
            check_auth(self, reader, key)


@dataclass(frozen=True)
class MetricConfig:
    """How one metric is named, ordered and counted."""

    label: str = ""
    lower_is_better: bool = False
    unit: str = ""
    decimals: int = field(default=0, metadata={"min": 0, "max": 3})
    min_samples: int = field(default=0, metadata={"min": 0})
    samples: str = ""

    def check(self, reader: Reader, key: str) -> None:
        if self.min_samples and not self.samples:
            reader.problem(f"{key}.samples", "missing (required with min_samples): the metric counting the samples")


@dataclass(frozen=True)
class BoardConfig:
    """How agents and teams are ranked."""

    rank_by: str = "tickets_solved"
    score: Mapping[str, float] = field(default_factory=empty_mapping)
    metrics: Mapping[str, MetricConfig] = field(default_factory=empty_mapping)
    team_aggregate: Literal["sum", "average"] = "sum"

    def metric(self, name: str) -> MetricConfig:
        return self.metrics.get(name) or MetricConfig()

    def check(self, reader: Reader, key: str) -> None:
        if not self.rank_by:
            reader.problem(f"{key}.rank_by", "must name a metric, or be \"score\"")
        if self.rank_by == SCORE and not self.score:
            reader.problem(f"{key}.score", 'missing (required when rank_by = "score"): metric = weight')
        for name, weight in self.score.items():
            if weight <= 0:
                reader.problem(f"{key}.score.{name}",
                               f"weight must be above 0 (got {weight}); mark the metric lower_is_better instead")
        hint = did_you_mean(self.rank_by, [SCORE]) if self.rank_by != SCORE else ""
        if hint and self.rank_by not in self.metrics:
            reader.problem(f"{key}.rank_by", f'"{self.rank_by}" looks like a misspelt "score"{hint}')


SCENES = ("leaderboard", "teams", "wins", "challenges", "record", "near", "history")


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

    name: Literal["leaderboard", "teams", "wins", "challenges", "record", "near", "history"]  # = SCENES
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
    animation: Literal["full", "reduced", "none"] = "full"
    secondary: str = ""
    teams: tuple[str, ...] = ()
    scenes: tuple[SceneConfig, ...] = field(default_factory=_default_scenes)
    size: str = field(default="", metadata={"check": check_size})
    celebration_seconds: float = field(default=6.0, metadata={"min": 2, "max": 60})
    max_fps: int = field(default=60, metadata={"min": 10, "max": 120})

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

    def check(self, reader: Reader, key: str) -> None:
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
