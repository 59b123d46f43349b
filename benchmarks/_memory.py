"""Peak memory of one block of the benchmark's own process (Linux only).

``/proc/self/status`` says how much memory the process holds now (``VmRSS``) and at its
peak (``VmHWM``); writing ``5`` to ``/proc/self/clear_refs`` resets the peak to now. So
the peak a block needed is ``VmHWM`` after it minus ``VmRSS`` before it, once the
garbage of earlier runs is collected and given back to the system (``malloc_trim``).
Memory freed but kept by the allocator would be reused without showing: the figure can
only err low by what the trim could not give back (the notes show the process's size
before each run: what it keeps between runs). Elsewhere it is NaN.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import gc
import math
from pathlib import Path

__all__ = ["PeakMemory"]

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _status_bytes(field: str) -> float:
    try:
        for line in _STATUS.read_text("ascii").splitlines():
            if line.startswith(field + ":"):
                return float(int(line.split()[1]) * 1024)
    except OSError:
        pass
    return math.nan


def _trim() -> None:
    gc.collect()
    name = ctypes.util.find_library("c")
    if name is None:
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(name).malloc_trim(0)


class PeakMemory:
    """``with PeakMemory() as peak:`` ... ``peak.extra``: bytes above the start (or NaN)."""

    def __init__(self) -> None:
        self.extra = math.nan
        self.before = math.nan

    def __enter__(self) -> PeakMemory:
        _trim()
        self.before = _status_bytes("VmRSS")
        try:
            _CLEAR_REFS.write_text("5", "ascii")
        except OSError:
            self.before = math.nan
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.extra = _status_bytes("VmHWM") - self.before
