"""Fetching many items concurrently without holding every answer at once."""

from __future__ import annotations

import collections
import itertools
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

__all__ = ["each_in_parallel", "fetched_in_order"]

K = TypeVar("K")
T = TypeVar("T")


def fetched_in_order(
    pool: ThreadPoolExecutor, fetch: Callable[[str], T], keys: Sequence[str], *, ahead: int
) -> Iterator[T]:
    """``pool.map(fetch, keys)``, but never more than ``ahead`` answers fetched and not yet
    taken: ``map`` asks for all at once, and when the caller takes them slower than they
    come, every answer, graph and all, would be waiting in memory at the same time."""
    pending: collections.deque[Future[T]] = collections.deque()
    remaining = iter(keys)
    for key in itertools.islice(remaining, ahead):
        pending.append(pool.submit(fetch, key))
    try:
        while pending:
            result = pending.popleft().result()
            for key in itertools.islice(remaining, 1):
                pending.append(pool.submit(fetch, key))
            yield result
    finally:
        for future in pending:
            future.cancel()


def each_in_parallel(workers: int, work: Callable[[K], None], keys: Sequence[K]) -> None:
    """``work(key)`` for every key, ``workers`` at a time. The first failure (or a
    Ctrl-C) is raised once the calls already running have ended, and none starts after
    it: a server that went away costs the calls on the wire, not one timeout per key.

    For work that keeps nothing in flight of its own (each call stores what it made and
    returns None), so that, unlike :func:`fetched_in_order`, nothing waits in memory for
    the caller to take it, and no answer needs a second thread woken to take it."""
    if workers <= 1 or len(keys) <= 1:
        for key in keys:
            work(key)
        return
    stopped = threading.Event()

    def guarded(key: K) -> None:
        if stopped.is_set():
            return
        try:
            work(key)
        except BaseException:
            stopped.set()
            raise

    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        for future in [pool.submit(guarded, key) for key in keys]:
            future.result()
    finally:
        stopped.set()
        pool.shutdown(wait=True, cancel_futures=True)
