"""Rate budgets: chalkwall's share of a vendor account's request limit.

A vendor's limit is per account and shared with the customer's other integrations, so chalkwall
takes a share of it (``rate_share``, 25 % by default). Each :class:`Bucket` is a token bucket
refilled continuously at ``share × limit`` per minute; a request names the buckets it counts
against (Zendesk's incremental exports count against the account's limit *and* their own 10 a
minute) and its cost (Freshdesk charges 3 credits for a ticket list with stats). The limit learnt
from a response's headers replaces the documented default.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping


class Bucket:
    def __init__(self, per_minute: float, share: float, clock: Callable[[], float] = time.time) -> None:
        self.share = share
        self.clock = clock
        self.per_minute = per_minute
        self.tokens = self.capacity
        self.last = 0.0  # what the latest request was charged (see correct)
        self._at = clock()

    @property
    def capacity(self) -> float:
        return max(1.0, self.per_minute * self.share)

    def learn(self, per_minute: float | None) -> None:
        """The vendor said what the limit is (a header): use it from now on."""
        if per_minute and per_minute > 0 and per_minute != self.per_minute:
            self._refill()
            self.per_minute = per_minute
            self.tokens = min(self.tokens, self.capacity)

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self._at) * self.capacity / 60.0)
        self._at = now

    def wait(self, cost: float = 1.0) -> float:
        """Seconds until ``cost`` tokens are there (0 when they are now)."""
        self._refill()
        missing = min(cost, self.capacity) - self.tokens
        return 0.0 if missing <= 0 else missing * 60.0 / self.capacity

    def spend(self, cost: float = 1.0) -> None:
        self._refill()
        self.tokens -= cost
        self.last = cost

    def correct(self, actual: float) -> None:
        """The vendor said what the latest request really cost (Freshdesk's
        X-RateLimit-Used-CurrentRequest): give back, or take, the difference."""
        self._refill()
        self.tokens = min(self.capacity, self.tokens + self.last - actual)
        self.last = actual


class Budget:
    """The named buckets of one vendor account."""

    def __init__(self, limits: dict[str, float], share: float = 0.25, clock: Callable[[], float] = time.time) -> None:
        self.buckets = {name: Bucket(limit, share, clock) for name, limit in limits.items()}

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
