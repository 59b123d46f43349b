"""Pausing Python's cyclic garbage collector while a bulk operation builds its data.

An export, an import or a bundle load creates millions of small dicts and lists (the flow
graphs) and keeps nearly all of them. Each time enough new containers pile up, the
collector walks them looking for cycles, and as the heap grows it walks the old ones again:
measured on 1,000 flows, that walking was a third of the client's CPU, and half of the time
``json.loads`` takes for a 100 MB bundle. None of it finds garbage (these graphs hold no
cycles). Reference counting still frees everything as usual while the collector rests.

The pause is process-wide, since the collector is; it nests and is safe across threads,
and the collector's state is restored when the outermost pause ends (it stays off if the
application had turned it off itself).

When the pause ends, what was made during it is moved to the oldest generation instead
of being left young. Left young, the first allocation after the pause would start a
collection of the youngest generation, now holding everything the operation made: for
an export of 1,000 flows a 60-100 ms walk on the caller's clock, then another when the
survivors pass through the middle generation, all to find the same nothing. Moved, the
objects wait for the next full collection, as long-lived data does anyway. Cyclic garbage
made meanwhile (by the operation or by another thread) is freed by that full collection
rather than a young one. The move is ``gc.freeze()`` then ``gc.unfreeze()``, which the
``gc`` module documents as putting every tracked object back into the oldest generation;
it is skipped when the application keeps objects frozen itself (a server that freezes
before forking its workers), so those stay frozen.
"""

from __future__ import annotations

import functools
import gc
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

__all__ = ["collector_paused", "pauses_collector"]

P = ParamSpec("P")
R = TypeVar("R")


class _PauseState:
    """How many pauses are open, and whether the collector was on before the first."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.depth = 0
        self.enable_after = False


_state = _PauseState()


@contextmanager
def collector_paused() -> Iterator[None]:
    """Keep the cyclic collector off for the duration of the ``with`` block."""
    with _state.lock:
        if _state.depth == 0:
            _state.enable_after = gc.isenabled()
            gc.disable()
        _state.depth += 1
    try:
        yield
    finally:
        with _state.lock:
            _state.depth -= 1
            if _state.depth == 0 and _state.enable_after:
                _promote_to_oldest_generation()
                gc.enable()


def pauses_collector(function: Callable[P, R]) -> Callable[P, R]:
    """Decorate a bulk entry point (export, import, load) so it runs with the pause."""

    @functools.wraps(function)
    def paused(*args: P.args, **kwargs: P.kwargs) -> R:
        with collector_paused():
            return function(*args, **kwargs)

    return paused


def _promote_to_oldest_generation() -> None:
    """Move every tracked object to the oldest generation, without examining any."""
    if gc.get_freeze_count() == 0:
        gc.freeze()
        gc.unfreeze()
