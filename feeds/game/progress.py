"""Where each agent or team stands on a target, race or personal-best challenge, poll after poll.

:func:`progress_of` works out every subject's :class:`Progress`, reusing the object of a subject
whose value, target and gate are as at the last poll. :func:`progress_since` does the same for
only the agents that changed since the last poll (:class:`feeds.game.incremental.Changes`), with a
:class:`Book` of what the last poll found (who is done, whose gate is shut). It answers None when
it cannot prove the result equal to ``progress_of``'s — a subject gaining a target (its place in
the order would change) — and the caller then computes everything.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields

from feeds.board.scoring import gate_open
from feeds.config.schema import BoardConfig, ChallengeConfig
from feeds.game.incremental import Changes
from feeds.model import plain_number

Reached = Callable[[float, float], bool]


@dataclass(frozen=True, slots=True)
class Progress:
    """Where one agent or team stands on one target or race challenge."""

    challenge: str
    title: str
    kind: str
    scope: str
    subject: str
    value: float
    target: float
    done: bool
    won: bool = False  # a race: this subject reached the target first, so the race is decided
    gated: bool = False  # quality first: the agent's quality is under the challenge's gate, so it does not count

    @property
    def fraction(self) -> float:
        return min(1.0, self.value / self.target) if self.target > 0 else 0.0


def _maker(cls: type) -> Callable[..., Progress]:
    """A constructor of ``cls`` (a frozen, slotted dataclass without ``__post_init__``) taking
    every field positionally, that sets the slots through their descriptors: the generated
    ``__init__`` goes through ``object.__setattr__`` for each field, about 3 µs for Progress,
    for hundreds of changed agents a poll. The object made is the same in every respect."""
    names = [f.name for f in fields(cls)]
    scope: dict[str, object] = {"_new_object": object.__new__, "_cls": cls}
    scope |= {f"_set_{n}": getattr(cls, n).__set__ for n in names}
    body = "".join(f"    _set_{n}(p, {n})\n" for n in names)
    exec(f"def make({', '.join(names)}):\n    p = _new_object(_cls)\n{body}    return p\n", scope)  # noqa: S102
    return scope["make"]  # type: ignore[return-value]


_progress = _maker(Progress)


class _Blank(dict):  # type: ignore[type-arg]
    """str.format_map that leaves an unknown {placeholder} as it is instead of failing."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


@dataclass(slots=True)
class Book:
    """What one challenge's last poll found, for :func:`progress_since`: the period and personal
    targets it was for, whose gate is shut, who is done, every subject's progress (in order)."""

    period: str
    own: Mapping[str, float]
    shut: set[str]
    done: set[str]
    won: tuple[Progress, Progress] | None = None  # a race's winner: (its progress, marked won)
    made: dict[str, Progress] = field(default_factory=dict)
    by_level: dict[str | None, float | None] = field(default_factory=dict)  # target_for, once per level


def _new(challenge: ChallengeConfig, titles: dict[float, str], subject: str, value: float, target: float,
         gated: bool, reached: Reached) -> Progress:
    title = titles.get(target)
    if title is None:
        title = titles[target] = challenge.title.format_map(_Blank({"target": plain_number(target)}))
    return _progress(challenge.id, title, challenge.kind, challenge.scope, subject, value, target,
                     reached(value, target) and not gated, False, gated)


def progress_of(challenge: ChallengeConfig, current: Mapping[str, float], own: Mapping[str, float],
                levels: Mapping[str, str | None], shut: frozenset[str], reached: Reached,
                last: Mapping[str, Progress], titles: dict[float, str]) -> dict[str, Progress]:
    """Every subject's progress, in the order of ``current``; ``last`` is the last poll's."""
    made: dict[str, Progress] = {}
    personal = challenge.kind == "personal_best"
    by_level: dict[str | None, float | None] = {}  # target_for, once per level rather than per subject
    for subject, value in current.items():
        if personal:
            target = own.get(subject, challenge.floor or None)
        else:
            level = levels.get(subject)
            target = by_level[level] if level in by_level else by_level.setdefault(level, challenge.target_for(level))
        if target is None:
            continue
        gated = subject in shut
        p = last.get(subject)
        if p is None or p.value != value or p.target != target or p.gated != gated:
            p = _new(challenge, titles, subject, value, target, gated, reached)
        made[subject] = p
    return made


def progress_since(book: Book, challenge: ChallengeConfig, current: Mapping[str, float],
                   own: Mapping[str, float], levels: Mapping[str, str], changes: Changes, board: BoardConfig,
                   reached: Reached, titles: dict[float, str]) -> list[str] | None:
    """``book.made`` brought up to date for the agents in ``changes`` (``levels``: the config's,
    which override the feed's); the changed subjects that are done, in order. None (and the book
    not to be used) when a subject gains a target, so the order could change."""
    personal, gate, made, shut, by_level = challenge.kind == "personal_best", challenge.gate, book.made, book.shut, \
        book.by_level
    floor = challenge.floor or None
    todo: list[tuple[str, float, float | None]] = []
    for subject, agent in changes.agents.items():
        if gate is not None:
            if gate_open(agent, gate, board):
                shut.discard(subject)
            else:
                shut.add(subject)
        value = current.get(subject)
        if value is None:
            continue  # no value (the measurer proved that it had none at the last poll either)
        if personal:
            target = own.get(subject, floor)
        else:
            level = levels[subject] if subject in levels else agent.level
            target = by_level[level] if level in by_level else by_level.setdefault(level, challenge.target_for(level))
        if target is not None and subject not in made:
            return None
        todo.append((subject, value, target))
    done, finished = [], book.done
    cid, kind, scope = challenge.id, challenge.kind, challenge.scope
    for subject, value, target in todo:
        if target is None:
            made.pop(subject, None)
            finished.discard(subject)
            continue
        gated = subject in shut
        p = made[subject]
        if p.value != value or p.target != target or p.gated != gated:
            # _new, inline: this is once per changed agent and challenge
            title = titles.get(target)
            if title is None:
                title = titles[target] = challenge.title.format_map(_Blank({"target": plain_number(target)}))
            p = made[subject] = _progress(cid, title, kind, scope, subject, value, target,
                                          reached(value, target) and not gated, False, gated)
        if p.done:
            finished.add(subject)
            done.append(subject)
        else:
            finished.discard(subject)
    return done
