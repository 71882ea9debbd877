"""The ``[feed]`` section: which connector (``type``, from the registry), its common keys, its own
options, and the generic sources' mapping, CSV dialect and credentials."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

import jmespath
import jmespath.exceptions
import jmespath.functions

from feeds.config.validate import Reader, did_you_mean, empty_mapping


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
    hours_available: str = field(default="hours_available", metadata=JMES)
    role: str = field(default="role", metadata=JMES)
    queue: str = field(default="queue", metadata=JMES)
    channel: str = field(default="channel", metadata=JMES)


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
