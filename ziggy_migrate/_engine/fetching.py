"""Working through many items concurrently, on as many threads as there may be requests.

A client's concurrency limit adapts (``_client/concurrency.py``): it may allow 64 requests
in flight, then 40. Threads beyond the limit would each wait for a slot before every
request and be woken by every answer, a thread switch per request, and with the client
busy that is CPU the requests wait for (``benchmarks/README.md`` has the figures). So the
work runs on its own threads, as many as the limit allows when each takes its next item:
when the limit has fallen, a thread that ends an item ends too; when it has risen, one is
started. While items are left and the limit is what keeps more threads from taking them,
the run tells the client so (``held_back``), for the limit to widen as it would for a
thread waiting for a slot. Each item is taken in order, and after the first failure (or
a Ctrl-C) none is started: a server that went away costs the calls on the wire, not one
timeout per item.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Generic, Protocol, TypeVar

__all__ = ["Concurrency", "each_in_parallel", "fetched_in_order"]

K = TypeVar("K")
T = TypeVar("T")


class Concurrency(Protocol):
    """How many requests may be in flight: a :class:`ZiggyClient` is one."""

    @property
    def concurrency(self) -> int:
        """How many now."""

    @property
    def max_workers(self) -> int:
        """The most there can ever be."""

    def held_back(self, holding: bool) -> None:
        """There is (or no longer is) more to send than ``concurrency`` threads."""


def each_in_parallel(work: Callable[[K], object], keys: Sequence[K], limit: Concurrency) -> None:
    """``work(key)`` for every key, as many at a time as ``limit`` (the client) may have
    requests in flight; the first failure is raised once the calls already running have
    ended.

    For work that keeps what it makes itself, so that nothing waits in memory for the
    caller to take it."""
    if limit.max_workers <= 1 or len(keys) <= 1:
        for key in keys:
            work(key)
        return
    run = _Run(work, keys, limit, ahead=None)
    run.wait()


def fetched_in_order(
    fetch: Callable[[K], T], keys: Sequence[K], limit: Concurrency, *, ahead: int
) -> Iterator[T]:
    """``fetch(key)`` of every key, in their order, as many at a time as ``limit`` (the
    client) may have requests in flight, and never more than ``ahead`` answers fetched
    and not yet taken: when the caller takes them slower than they come, every answer,
    graph and all, would otherwise wait in memory at once. A failure is raised where its
    answer would be."""
    if limit.max_workers <= 1 or len(keys) <= 1:
        for key in keys:
            yield fetch(key)
        return
    run = _Run(fetch, keys, limit, ahead=max(1, ahead))
    yield from run.results()


class _Run(Generic[K, T]):
    """One call of :func:`each_in_parallel` or :func:`fetched_in_order`."""

    def __init__(
        self,
        work: Callable[[K], T],
        keys: Sequence[K],
        limit: Concurrency,
        *,
        ahead: int | None,
    ) -> None:
        self._work = work
        self._keys = keys
        self._limit = limit
        self._ahead = ahead  # None: nothing is kept for the caller
        lock = threading.Lock()
        self._room = threading.Condition(lock)  # workers wait for the caller to take
        self._ready = threading.Condition(lock)  # the caller waits for an answer
        self._next = 0  # the next key to take
        self._taken = 0  # answers the caller took
        self._stopped = False
        self._failure: BaseException | None = None
        self._results: dict[int, T] = {}
        self._errors: dict[int, BaseException] = {}
        self._held_back = False
        self._threads = self._wanted()
        self._start(self._threads)

    # -- the caller's side ----------------------------------------------------------------

    def wait(self) -> None:
        """Until every key is done, or the run stopped and what ran has ended."""
        try:
            with self._ready:
                while self._threads:
                    self._ready.wait()
        finally:
            self._stop()
        if self._failure is not None:
            raise self._failure

    def results(self) -> Iterator[T]:
        try:
            for index in range(len(self._keys)):
                with self._ready:
                    while index not in self._results and index not in self._errors:
                        if self._stopped and index >= self._next:
                            assert self._failure is not None
                            raise self._failure  # never started: the run had stopped
                        self._ready.wait()
                    error = self._errors.pop(index, None)
                    if error is not None:
                        raise error
                    result = self._results.pop(index)
                    self._taken += 1
                    self._room.notify()
                yield result
        finally:
            self._stop()

    def _stop(self) -> None:
        """Start nothing more, and wait for the calls on the wire (each ends within its
        timeout), so that nothing runs on after the call that started it."""
        with self._ready:
            self._stopped = True
            self._room.notify_all()
            try:
                while self._threads:
                    self._ready.wait()
            finally:
                self._hold_back(False)

    # -- the workers ----------------------------------------------------------------------

    def _wanted(self) -> int:
        return max(1, min(self._limit.max_workers, self._limit.concurrency, len(self._keys)))

    def _start(self, count: int) -> None:
        """Start ``count`` workers, already counted in ``_threads`` (under the lock, by
        whoever decided to start them, so that two deciding at once start none twice).
        Where the system has no more threads to give, the run goes on with those it has,
        and a run that has none raises."""
        for started in range(count):
            try:
                threading.Thread(target=self._serve, name="ziggy-migrate-worker").start()
            except RuntimeError:
                with self._ready:
                    self._threads -= count - started
                    self._ready.notify()
                    if self._threads == 0:
                        raise
                return

    def _serve(self) -> None:
        while True:
            taken = self._take()
            if taken is None:
                return
            index, more = taken
            self._start(more)
            try:
                result = self._work(self._keys[index])
            except BaseException as exc:
                with self._ready:
                    if self._failure is None:
                        self._failure = exc
                    self._stopped = True
                    self._errors[index] = exc
                    self._threads -= 1
                    self._room.notify_all()
                    self._ready.notify()
                return
            if self._ahead is not None:
                with self._ready:
                    self._results[index] = result
                    self._ready.notify()

    def _take(self) -> tuple[int, int] | None:
        """The next key's index for this worker and how many workers it is to start (the
        limit rose); or None, this worker no longer counted, when it is to end (no key
        left, the run stopped, or the limit fell below the workers there are)."""
        with self._room:
            while True:
                wanted = self._wanted()
                if self._stopped or self._next >= len(self._keys) or self._threads > wanted:
                    self._threads -= 1
                    self._ready.notify()
                    return None
                if self._ahead is None or self._next < self._taken + self._ahead:
                    break
                self._hold_back(False)  # the caller holds the run back now, not the limit
                self._room.wait()
            index = self._next
            self._next += 1
            more = max(0, min(wanted - self._threads, len(self._keys) - self._next))
            self._threads += more
            self._hold_back(
                self._next < len(self._keys)
                and self._threads >= wanted
                and self._limit.concurrency < self._limit.max_workers
            )
            return index, more

    def _hold_back(self, holding: bool) -> None:
        """Tell the client when the run starts or stops being held back (under the lock)."""
        if holding != self._held_back:
            self._held_back = holding
            self._limit.held_back(holding)
