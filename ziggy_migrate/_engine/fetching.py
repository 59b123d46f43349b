"""Fetching many items concurrently without holding every answer at once."""

from __future__ import annotations

import collections
import itertools
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

__all__ = ["fetched_in_order"]

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
