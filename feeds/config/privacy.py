"""The ``[privacy]`` section: who the wall names and ranks, and how long history keeps people.

``mode`` decides what the wall shows about people: ``named`` (every agent, ranked, by name: the
default), ``top`` (only the best ``top_n``, never more than a third of the group; the rest counted as
"and N more" and in team totals), ``anonymous`` (everyone ranked, under an alias or initials) and
``teams`` (team totals only). ``[privacy.people]`` holds the admin's choices per person; a person's
own choice on the team page combines with it, the more private of the two winning (see
``docs/privacy.md``). Each feature that shows an individual's data can be switched off on its own.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from feeds.config.validate import Reader, empty_mapping

Mode = Literal["named", "top", "anonymous", "teams"]
MODES: tuple[Mode, ...] = ("named", "top", "anonymous", "teams")
PersonRanking = Literal["ranked", "celebrate_only", "hidden"]
ALIAS_MAX = 40  # what a row on the wall has room for (the team page's aliases too: feeds/privacy/choices.py)
# The features that show one person's data, each a switch of its own (all on by default).
FEATURES = ("near_you", "individual_challenges", "individual_history", "thanks", "individual_celebrations")


def check_alias(value: str) -> str | None:
    if len(value) > ALIAS_MAX:
        return f"an alias is at most {ALIAS_MAX} characters (got {len(value)})"
    if any(unicodedata.category(ch).startswith("C") for ch in value):
        return "an alias cannot hold control characters"
    return None


@dataclass(frozen=True)
class PersonPrivacy:
    """The admin's choice for one agent (by id): ``ranking = "hidden"`` or an alias."""

    ranking: PersonRanking = "ranked"
    alias: str = field(default="", metadata={"check": check_alias})


@dataclass(frozen=True)
class PrivacyConfig:
    """What the wall may show about individuals, and how long what it stores keeps them."""

    mode: Mode = "named"
    top_n: int = field(default=5, metadata={"min": 1, "max": 100})  # in "top"; at most a third of the group
    min_group: int = field(default=5, metadata={"min": 1, "max": 1000})
    keep_days: int = field(default=90, metadata={"min": 1, "max": 3650})
    near_you: bool = True  # the "near" scene: each person and the colleague just above
    individual_challenges: bool = True  # each person's progress, record race and duel on the wall
    individual_history: bool = True  # "most improved" and personal bests on the history scene
    thanks: bool = True  # kudos toasts and the thank-yous on the wins scene
    individual_celebrations: bool = True  # a banner naming the person who completed a challenge (off: their team)
    people: Mapping[str, PersonPrivacy] = field(default_factory=empty_mapping)

    def check(self, reader: Reader, key: str) -> None:
        if self.mode == "named":
            return
        for agent, person in self.people.items():
            if person.alias and person.ranking == "hidden":
                reader.problem(f"{key}.people.{agent}.alias", "a hidden person is named nowhere: "
                               "an alias would never be shown (drop it, or choose celebrate_only)")

    def feature(self, name: str) -> bool:
        return bool(getattr(self, name))

    def cap(self, group: int) -> int:
        """How many ``top`` may name in a group of ``group`` people: ``top_n``, never above a third."""
        return min(self.top_n, group // 3)


def top_n_warning(privacy: PrivacyConfig, group: int | None) -> str | None:
    """For ``chalkwall check``: the sentence when ``top_n`` will be cut to a third of the group."""
    if privacy.mode != "top":
        return None
    if group is None:
        return (f"privacy.top_n = {privacy.top_n}: the wall names at most a third of the group, so it needs "
                f"{privacy.top_n * 3} or more people to name {privacy.top_n}") if privacy.top_n > 1 else None
    if privacy.cap(group) < privacy.top_n:
        return (f"privacy.top_n = {privacy.top_n} is more than a third of the {group} people on the last board: "
                f"the wall names {privacy.cap(group)}")
    return None
