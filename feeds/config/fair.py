"""Fair-ranking configuration (docs/fair-ranking.md): the quality gate, role models, groups and
the level-fitted yardstick that ``rank_by = "target_percent"`` measures everyone against.

Everything here is off by default: a config without these keys ranks exactly as before.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from feeds.config.validate import Reader, did_you_mean, empty_mapping

if TYPE_CHECKING:  # feeds.config.schema imports this module
    from feeds.config.game import ChallengeConfig

TARGET_PERCENT = "target_percent"  # rank_by: each agent's value as a % of their own level's target
GROUP_FIELDS = ("queue", "channel", "team", "level")  # what [board] group_by may name
ROLE_MODEL = "role_model"  # the role (feed, team page or [roles]) of someone thanked, never ranked
WATCHER = "watcher"  # the role (feed or team page) of someone who sees the wall: never ranked nor shown
UNRANKED_ROLES = frozenset({ROLE_MODEL, WATCHER})  # out of the ranking, races and team totals


@dataclass(frozen=True)
class GateConfig:
    """Quality first: volume counts only while ``metric`` is at or above ``min`` (at or below, for
    a lower-is-better metric), judged once there are ``sample`` samples of it (the metric's
    ``samples`` counter); with fewer the gate stays open, so one unlucky rating shuts no one out.
    Written ``gate = { metric = "csat", min = 80, sample = 5 }``."""

    metric: str
    min: float
    sample: int = field(default=0, metadata={"min": 0})


@dataclass(frozen=True)
class RolesConfig:
    """``role_models``: agent ids of managers and colleagues outside support who take tickets.
    They are thanked in their own lane, never ranked against agents nor counted in their races
    (with the team page's people of role "role model" and the feed's ``role = "role_model"``)."""

    role_models: tuple[str, ...] = ()


@dataclass(frozen=True)
class Yardstick:
    """The target each agent's value is a percentage of: a target challenge's table by level
    (``target = { rookie = 10, pro = 20 }``), levels from ``[levels] agents`` before the feed's."""

    challenge: str
    metric: str
    targets: Mapping[str, float] = field(default_factory=empty_mapping)
    levels: Mapping[str, str] = field(default_factory=empty_mapping)

    def target(self, agent_id: str, level: str | None) -> float | None:
        level = self.levels.get(agent_id, level)
        value = self.targets.get(level or "", self.targets.get("default"))
        return value if value and value > 0 else None


def target_challenges(challenges: Sequence[ChallengeConfig]) -> list[ChallengeConfig]:
    """The challenges a yardstick can come from: agents' "target" challenges."""
    return [c for c in challenges if c.kind == "target" and c.scope == "agent" and c.target]


def pick_target(wanted: str, challenges: Sequence[ChallengeConfig]) -> tuple[ChallengeConfig | None, str]:
    """The challenge ``[board] target`` names (or the only one there is, when it names none), and
    a problem when there is no such challenge ("" when there is)."""
    usable = target_challenges(challenges)
    if wanted:
        found = next((c for c in usable if c.id == wanted), None)
        if found is None:
            return None, (f'"{wanted}" is not the id of an agent "target" challenge'
                          + did_you_mean(wanted, [c.id for c in usable]))
        return found, ""
    if len(usable) == 1:
        return usable[0], ""
    if not usable:
        return None, ('rank_by = "target_percent" needs an agent [[challenges]] entry of kind = "target" '
                      "(its target, by level, is what each agent is measured against)")
    return None, ("several target challenges: name the one to measure against, e.g. target = "
                  f'"{usable[0].id}"')


def yardstick(target: str, challenges: Sequence[ChallengeConfig], levels: Mapping[str, str]) -> Yardstick | None:
    found, _ = pick_target(target, challenges)
    if found is None:
        return None
    table = found.target if isinstance(found.target, Mapping) else {"default": float(found.target)}
    return Yardstick(found.id, found.metric, table, levels)


def check_gate(gate: GateConfig | None, key: str, reader: Reader, sample_metric: str) -> None:
    """A gate that waits for samples needs a metric counting them."""
    if gate is not None and gate.sample and not sample_metric:
        reader.problem(f"{key}.sample", f'needs [board.metrics.{gate.metric}] samples = "…" (the metric counting '
                                        f'{gate.metric} samples), or sample = 0')
