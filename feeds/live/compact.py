"""The compact progress of a team's game part (``game/team/<team>``, docs/hub.md): both ends.

A progress entry written out whole is some 170 bytes, most of them its challenge's id, title, kind
and scope, the same for every subject of a challenge. A team's part lists those once, as
``heads`` — ``[challenge, title, kind, scope]``, one per title a challenge has (a title may name a
subject's own target) — and then each entry as ``[head, subject, value, target, flags]``: ``head``
its place in ``heads``, ``flags`` the sum of 1 (done), 2 (won) and 4 (gated). About 25 bytes.

The hub numbers heads once for all parts (:class:`Heads`), so an entry's bytes do not depend on the
part it travels in and the publisher keeps them from poll to poll; every part carries the whole
list. A head nobody has any more stays listed until the list has grown to twice what it was at its
last renumbering; then the hub numbers the heads afresh (and encodes every entry again).
:func:`expand` is the screen's way back: exactly the :class:`Progress` the hub's engine made.
:class:`Expander` is the same for one team's stream of parts: between two polls a few of a team's
thousand entries change, so an entry that came in the last part, under the same heads, gives the
same :class:`Progress` again (a 500-agent part: 1.6 ms a message, a screen's biggest cost, to a
third of that).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Sequence
from itertools import compress, repeat
from feeds.bus.codec import DecodeError
from feeds.bus.topics import ENCODER
from feeds.game.progress import Progress

Head = tuple[str, str, str, str]  # challenge, title, kind, scope
Entry = tuple[int, str, float, float, int]  # head, subject, value, target, flags
DONE, WON, GATED = 1, 2, 4
head_of: Callable[[Progress], Head] = operator.attrgetter("challenge", "title", "kind", "scope")  # type: ignore[assignment]
_FLAGS = tuple((bool(f & DONE), bool(f & WON), bool(f & GATED)) for f in range(8))
_enc = ENCODER.encode


class Heads:
    """The hub's numbering of heads, shared by every team's part."""

    def __init__(self) -> None:
        self.number: dict[Head, int] = {}
        self.base = 0  # how many heads the last renumbering found
        self._encoded: bytes | None = b"[]"

    def stale(self) -> bool:
        """The list has grown enough since the last renumbering to be worth doing again."""
        return len(self.number) > 2 * self.base + 16

    def renumber(self, progress: Iterable[Progress]) -> None:
        """Number afresh the heads of ``progress``, in the order first met (entries must be encoded again)."""
        self.number = {head: n for n, head in enumerate(dict.fromkeys(map(head_of, progress)))}
        self.base, self._encoded = len(self.number), None

    def entry(self, progress: Progress) -> bytes:
        """One entry's JSON, with a leading comma (the publisher joins entries without another pass)."""
        head = head_of(progress)
        n = self.number.get(head)
        if n is None:
            n = self.number[head] = len(self.number)
            self._encoded = None
        return b"," + _enc((n, progress.subject, progress.value, progress.target,
                            progress.done + WON * progress.won + GATED * progress.gated))

    def encoded(self) -> bytes:
        """The JSON of the list, as every part carries it."""
        if self._encoded is None:
            self._encoded = _enc(list(self.number))
        return self._encoded


def expand(heads: Sequence[Head], entries: Sequence[Entry], where: str = "TeamGame") -> tuple[Progress, ...]:
    """The progress entries of a part whose ``heads`` and ``entries`` have their types checked
    already (:func:`feeds.bus.codec.decode`); refuses a head or flags out of range."""
    return tuple(_one(heads, entry, i, where) for i, entry in enumerate(entries))


def _one(heads: Sequence[Head], entry: Entry, i: int, where: str) -> Progress:
    head, subject, value, target, flags = entry
    if not 0 <= head < len(heads):
        raise DecodeError(f"{where}.progress[{i}][0]: no head {head} (the part lists {len(heads)})")
    if not 0 <= flags < len(_FLAGS):
        raise DecodeError(f"{where}.progress[{i}][4]: flags {flags} (expected 0 to {len(_FLAGS) - 1})")
    return Progress(*heads[head], subject, value, target, *_FLAGS[flags])


class Expander:
    """:func:`expand` for the parts of one team, one after another: an entry equal to one of the
    last part's, under equal heads, was checked and built then, and gives that :class:`Progress`
    again. Only the last part's entries are kept (memory stays one part's); a part refused keeps
    what the last good one left."""

    def __init__(self) -> None:
        self._heads: Sequence[Head] = ()
        self._known: dict[Entry, Progress] = {}

    def __call__(self, heads: Sequence[Head], entries: Sequence[Entry], where: str = "TeamGame") -> tuple[Progress, ...]:
        known = self._known if heads == self._heads else {}
        out: list[Progress | None] = list(map(known.get, entries))
        for i in compress(range(len(out)), map(operator.is_, out, repeat(None))):
            out[i] = _one(heads, entries[i], i, where)
        self._heads, self._known = heads, dict(zip(entries, out))  # type: ignore[arg-type]
        return tuple(out)  # type: ignore[arg-type]
