"""Turning a helpdesk's own JSON into the canonical feed, by configuration alone (JMESPath).

``[feed.mapping]`` names an expression for the list of agents and, relative to each agent record,
one per canonical field and per metric. Example for an export shaped
``{"data": {"users": [{"uid": 7, "full_name": "…", "stats": {"solved": "12"}}]}}``::

    [feed.mapping]
    agents = "data.users"
    agent = { id = "uid", name = "full_name" }
    metrics = { tickets_solved = "to_number(stats.solved)" }

The result goes through the same normaliser as a canonical document, so a bad record is dropped
with a warning there, never here; an expression that fails on one record (``abs`` of a text) spoils
only that value.
"""

from __future__ import annotations

from typing import Any

import jmespath
from jmespath.parser import ParsedResult

from feeds.config.schema import AgentFields, MappingConfig, TeamFields
from feeds.model import FEED_VERSION, FeedError
from feeds.connectors.parse import Unusable


def _compile(expr: str) -> ParsedResult | None:
    return jmespath.compile(expr) if expr else None


class Mapper:
    """A compiled mapping; ``apply`` gives a canonical document (as plain data)."""

    def __init__(self, config: MappingConfig) -> None:
        self._agents = jmespath.compile(config.agents)
        self._teams = _compile(config.teams)
        self._events = _compile(config.events)
        self._generated_at = _compile(config.generated_at)
        self._agent = {name: jmespath.compile(getattr(config.agent, name))
                       for name in AgentFields.__dataclass_fields__}
        self._team = {name: jmespath.compile(getattr(config.team, name))
                      for name in TeamFields.__dataclass_fields__}
        self._metrics = {name: jmespath.compile(expr) for name, expr in config.metrics.items()}

    def apply(self, doc: Any) -> dict[str, Any]:
        try:
            return self._apply(doc)
        except jmespath.exceptions.JMESPathError as exc:
            raise FeedError(f"feed.mapping failed on this document: {exc}", "mapping") from None

    def _apply(self, doc: Any) -> dict[str, Any]:
        agents = self._agents.search(doc)
        if not isinstance(agents, list):
            raise FeedError(f"feed.mapping.agents gave {type(agents).__name__}, not a list "
                            "(is the expression right for this document?)", "mapping")
        out: dict[str, Any] = {"version": FEED_VERSION, "agents": [self._agent_record(a) for a in agents]}
        if self._generated_at is not None:
            out["generated_at"] = self._generated_at.search(doc)
        if self._teams is not None:
            teams = self._teams.search(doc)
            out["teams"] = [self._record(self._team, t) for t in teams] if isinstance(teams, list) else teams
        if self._events is not None:
            out["events"] = self._events.search(doc)
        return out

    def _record(self, fields: dict[str, ParsedResult], record: Any) -> Any:
        if not isinstance(record, dict):
            return record  # the normaliser names and drops it
        return {name: _search(expr, record, f"feed.mapping.{name}") for name, expr in fields.items()}

    def _agent_record(self, record: Any) -> Any:
        out = self._record(self._agent, record)
        if isinstance(out, dict):
            out["metrics"] = {name: _search(expr, record, f"feed.mapping.metrics.{name}")
                              for name, expr in self._metrics.items()}
        return out


def _search(expr: ParsedResult, record: Any, key: str) -> Any:
    """One expression on one record; what fails on this record alone (a function given text where
    it wants a number) spoils that value, named by the normaliser, not the whole document."""
    try:
        return expr.search(record)
    except jmespath.exceptions.JMESPathError as exc:
        return Unusable(f"{key} failed on this record: {str(exc).splitlines()[0][:160]}")
