"""How many requests a client keeps in flight: a fixed number, or as many as help.

Every attempt the transport sends holds one slot of a :class:`ConcurrencyLimit` from
before it is sent until its answer is read; a thread finding every slot taken waits
for one. Pinned (``max_workers=N``), the limit is ``N``. Adaptive (the default), it
starts modestly and follows the server, as TCP's congestion control and Netflix's
concurrency-limits do (additive increase, multiplicative decrease):

- **Widening.** While the limit is what holds requests back (a thread had to wait, or
  took the last slot) and answers stay fast and healthy, each such answer widens the
  limit by one at first (it doubles every round trip: slow start), and once anything
  narrowed it, by one per window of answers in which it held a request back. A window
  is as many answers as the limit (about one round trip's worth).
- **Narrowing on overload.** An answer 429, 502, 503 or 504, or no answer within the
  timeout, multiplies the limit by 0.7, once per such event: answers to requests sent
  before the last narrowing say nothing about the narrowed limit and are not counted.
- **Narrowing when latency climbs.** By Little's law, requests in flight = throughput x
  round-trip time: once more requests in flight no longer raise the throughput, they
  only lengthen the round trip. So each answer's time is compared with the fastest seen
  for the same kind of request (method and path shape, since a list and a single item
  differ by nature), and a window whose median is over 1.5 times that narrows the limit by
  a tenth; in slow start, only an answer within 1.5 times widens it (a tighter 1.25 was
  tried and slowed exports: ``benchmarks/README.md``). This never takes the limit below
  where it started: that only says more in flight stopped helping, not that the server
  is in trouble.
- **A ceiling** bounds it (64 by default), and so do the callers' thread pools.

Retries, timeouts and what is safe to repeat are the transport's business, unchanged:
this only decides when an attempt may start. The level is logged at DEBUG when it
changes.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable

__all__ = [
    "DEFAULT_MAX_CONCURRENCY",
    "DEFAULT_START_CONCURRENCY",
    "ConcurrencyLimit",
    "Outcome",
    "Ticket",
]

logger = logging.getLogger("ziggy_migrate.http")

DEFAULT_START_CONCURRENCY = 8
"""Where an adaptive limit starts: what a small server is known to take."""
DEFAULT_MAX_CONCURRENCY = 64
"""The ceiling of an adaptive limit."""

_OVERLOAD_FACTOR = 0.7
_LATENCY_FACTOR = 0.9
_LATENCY_TOLERANCE = 1.5
_MIN_WINDOW = 4


class Outcome(enum.Enum):
    """What one attempt said about the server's load."""

    HEALTHY = "healthy"
    """Answered, neither overloaded nor failing (2xx to 4xx but 429)."""
    OVERLOADED = "overloaded"
    """429, 502, 503, 504, or no answer within the timeout."""
    FAILED = "failed"
    """Anything else (a 500, a dropped connection): no sign either way, so no widening."""


_OVERLOAD_STATUS = frozenset({429, 502, 503, 504})


def outcome_of(status: int) -> Outcome:
    """The :class:`Outcome` of an answer with this status."""
    if status in _OVERLOAD_STATUS:
        return Outcome.OVERLOADED
    if status >= 500:
        return Outcome.FAILED
    return Outcome.HEALTHY


class Ticket:
    """One slot held: when it was taken, under which narrowing, for which kind of request."""

    __slots__ = ("epoch", "kind", "saturated", "started")

    def __init__(self, kind: str, epoch: int, saturated: bool, started: float) -> None:
        self.kind = kind
        self.epoch = epoch
        self.saturated = saturated
        self.started = started


class ConcurrencyLimit:
    """Slots for requests in flight; ``fixed`` pins their number, else it adapts.

    ``name`` (the server) is for the log; ``clock`` measures the answers' times.
    """

    def __init__(
        self,
        *,
        fixed: int | None = None,
        start: int = DEFAULT_START_CONCURRENCY,
        ceiling: int = DEFAULT_MAX_CONCURRENCY,
        name: str = "",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.adaptive = fixed is None
        self.ceiling = max(1, fixed if fixed is not None else ceiling)
        self._floor = min(max(1, start), self.ceiling)
        self._limit = float(self.ceiling if fixed is not None else self._floor)
        self._name = name
        self._clock = clock
        self._condition = threading.Condition(threading.Lock())
        self._in_flight = 0
        self._waiting = 0
        self._epoch = 0
        self._slow_start = True
        self._peak = int(self._limit)
        self._fastest: dict[str, float] = {}
        self._ratios: list[float] = []
        self._saturated = 0
        self._unhealthy = False

    @property
    def level(self) -> int:
        """How many requests may be in flight now."""
        return int(self._limit)

    @property
    def peak(self) -> int:
        """The highest level so far."""
        return self._peak

    def acquire(self, kind: str) -> Ticket:
        """Wait for a slot; ``kind`` says what sort of request it is for (method and path
        shape), to compare its answer's time with others of its sort."""
        with self._condition:
            saturated = False
            if self._in_flight >= int(self._limit):
                saturated = True
                self._waiting += 1
                try:
                    while self._in_flight >= int(self._limit):
                        self._condition.wait()
                finally:
                    self._waiting -= 1
            self._in_flight += 1
            saturated = saturated or self._in_flight >= int(self._limit) or self._waiting > 0
            return Ticket(kind, self._epoch, saturated, self._clock())

    def release(self, ticket: Ticket, outcome: Outcome) -> None:
        """Give the slot back, with what the attempt said about the server."""
        elapsed = self._clock() - ticket.started
        with self._condition:
            self._in_flight -= 1
            if self.adaptive:
                before = int(self._limit)
                self._learn(ticket, outcome, elapsed)
                after = int(self._limit)
                if after > before:
                    self._condition.notify(after - before + 1)
                    return
            self._condition.notify()

    # -- adapting (under the lock) -------------------------------------------------------

    def _learn(self, ticket: Ticket, outcome: Outcome, elapsed: float) -> None:
        current = ticket.epoch == self._epoch
        if outcome is Outcome.OVERLOADED:
            if current:  # one narrowing per event: later answers to earlier sends are old news
                self._narrow(self._limit * _OVERLOAD_FACTOR, 1, "the server is overloaded")
            return
        if outcome is Outcome.FAILED:
            self._unhealthy = True
            return
        fastest = self._fastest.get(ticket.kind)
        if fastest is None or elapsed < fastest:
            self._fastest[ticket.kind] = fastest = max(elapsed, 1e-6)
        ratio = elapsed / fastest
        self._ratios.append(ratio)
        if ticket.saturated:
            self._saturated += 1
            if self._slow_start and current and ratio <= _LATENCY_TOLERANCE:
                self._widen(self._limit + 1, "answers stay fast")
        if len(self._ratios) >= max(_MIN_WINDOW, int(self._limit)):
            self._close_window()

    def _close_window(self) -> None:
        ratios = sorted(self._ratios)
        median = ratios[len(ratios) // 2]
        saturated = self._saturated > 0
        unhealthy = self._unhealthy
        self._ratios = []
        self._saturated = 0
        self._unhealthy = False
        if median > _LATENCY_TOLERANCE:
            self._slow_start = False
            self._narrow(
                self._limit * _LATENCY_FACTOR,
                self._floor,
                f"answers take {median:.1f}x the fastest",
            )
        elif saturated and not unhealthy and not self._slow_start:
            self._widen(self._limit + 1, "answers stay fast")

    def _widen(self, limit: float, reason: str) -> None:
        self._set(min(float(self.ceiling), limit), reason)

    def _narrow(self, limit: float, floor: int, reason: str) -> None:
        self._slow_start = False
        self._epoch += 1
        self._set(max(float(min(floor, self._limit)), limit, 1.0), reason)

    def _set(self, limit: float, reason: str) -> None:
        before = int(self._limit)
        self._limit = limit
        after = int(limit)
        if after != before:
            self._peak = max(self._peak, after)
            logger.debug(
                "concurrency with %s: %d -> %d requests in flight (%s)",
                self._name,
                before,
                after,
                reason,
            )
