"""Rate budgets: chalkwall's share of a vendor account's request limit.

A vendor's limit is per account and shared with the customer's other integrations, so chalkwall
takes a share of it (``rate_share``, 25 % by default). Each :class:`Bucket` lets at most
``share × limit`` through in any 60 seconds; a request names the buckets it counts
against (Zendesk's incremental exports count against the account's limit *and* their own 10 a
minute) and its cost (Freshdesk charges 3 credits for a ticket list with stats). The limit learnt
from a response's headers replaces the documented default. A vendor that counts in shorter
windows (Intercom: a minute's limit spread over 10-second windows) gives its bucket a ``window``:
the bucket then lets through only that window's share in any such window.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping


class Bucket:
    """At most ``share × limit`` of cost in any minute (or the vendor's shorter ``window``): a
    sliding window over what was spent (a token bucket that starts full would let twice that
    through in the first minute)."""

    def __init__(self, per_minute: float, share: float, clock: Callable[[], float] = time.time,
                 window: float = 60.0) -> None:
        self.share = share
        self.window = window  # seconds the vendor counts over (60: a plain per-minute limit)
        self.clock = clock
        self.per_minute = per_minute
        self.last = 0.0  # what the latest request was charged (see correct)
        self._log: deque[list[float]] = deque()  # [time, cost], oldest first

    @property
    def capacity(self) -> float:
        return max(1.0, self.per_minute * self.share * self.window / 60.0)

    def _spent(self) -> float:
        horizon = self.clock() - self.window
        while self._log and self._log[0][0] <= horizon:
            self._log.popleft()
        return sum(cost for _, cost in self._log)

    @property
    def tokens(self) -> float:
        """What may still be spent now."""
        return self.capacity - self._spent()

    @tokens.setter
    def tokens(self, value: float) -> None:
        """Others spent from the same account (the vendor's remaining-count says so): count it."""
        taken = self.tokens - value
        if taken > 0:
            self._log.append([self.clock(), taken])

    def learn(self, per_minute: float | None) -> None:
        """The vendor said what the limit is (a header): use it from now on."""
        if per_minute and per_minute > 0:
            self.per_minute = per_minute

    def wait(self, cost: float = 1.0) -> float:
        """Seconds until ``cost`` may be spent (0 when it may be now)."""
        need = min(cost, self.capacity) - self.tokens
        if need <= 0:
            return 0.0
        now = self.clock()
        for at, spent in self._log:
            need -= spent
            if need <= 0:
                return max(0.0, at + self.window - now)
        return self.window

    def spend(self, cost: float = 1.0) -> None:
        self._spent()
        self._log.append([self.clock(), cost])
        self.last = cost

    def correct(self, actual: float) -> None:
        """The vendor said what the latest request really cost (Freshdesk's
        X-RateLimit-Used-CurrentRequest): count that instead."""
        if self._log:
            self._log[-1][1] = max(0.0, self._log[-1][1] + actual - self.last)
        self.last = actual


class Budget:
    """The named buckets of one vendor account."""

    def __init__(self, limits: dict[str, float], share: float = 0.25, clock: Callable[[], float] = time.time,
                 windows: dict[str, float] | None = None) -> None:
        self.buckets = {name: Bucket(limit, share, clock, (windows or {}).get(name, 60.0))
                        for name, limit in limits.items()}

    def wait(self, names: Iterable[str], cost: float = 1.0, each: Mapping[str, float] | None = None) -> float:
        """Seconds until every named bucket has the request's cost; ``each`` gives a bucket its own
        (Freshdesk: 3 credits of the account's, 1 call of the Tickets-List sub-limit's)."""
        return max((self.buckets[n].wait((each or {}).get(n, cost)) for n in names), default=0.0)

    def spend(self, names: Iterable[str], cost: float = 1.0, each: Mapping[str, float] | None = None) -> None:
        for n in names:
            self.buckets[n].spend((each or {}).get(n, cost))

    def correct(self, name: str, actual: float | None) -> None:
        if name in self.buckets and actual is not None and actual >= 0:
            self.buckets[name].correct(actual)

    def learn(self, name: str, per_minute: float | None) -> None:
        if name in self.buckets:
            self.buckets[name].learn(per_minute)
