"""``bulk_mode()``: an explicit, process-wide opt-in for big exports, imports and loads.

The flow graphs of a large export or import are millions of small containers that all
live on and hold no cycles; Python's cyclic collector walks them again and again as the
heap grows and finds nothing. ``bulk_mode()`` pauses the collector for a ``with`` block
and, when the outermost block ends, moves what was made to the oldest generation so the
next young collection does not walk it all once more. Reference counting frees
everything as usual meanwhile.

The collector is process-wide, so no library call does this by itself: it is for the
application that owns its process (the ``ziggy`` command line enters it in ``main()``).
Blocks nest and are safe across threads; the collector's own state is restored at the
end (it stays off if the application had turned it off), and objects the application
keeps frozen stay frozen. What it saves is measured in ``benchmarks/README.md``.
"""

from __future__ import annotations

import gc
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["bulk_mode"]


class _PauseState:
    """How many pauses are open, and whether the collector was on before the first."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.depth = 0
        self.enable_after = False


_state = _PauseState()

# CPython 3.12 starts with a few hundred of its own immortal objects (static types'
# ``__mro__`` and ``__bases__`` tuples) in the permanent generation, so a nonzero freeze
# count alone does not mean that the application froze anything: what is frozen when this
# module is imported counts as the interpreter's own.
_FROZEN_BY_INTERPRETER = gc.get_freeze_count() if sys.version_info[:2] == (3, 12) else 0


@contextmanager
def bulk_mode() -> Iterator[None]:
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


def _promote_to_oldest_generation() -> None:
    """Move every tracked object to the oldest generation, without examining any."""
    if gc.get_freeze_count() <= _FROZEN_BY_INTERPRETER:
        gc.freeze()
        gc.unfreeze()
