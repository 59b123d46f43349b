"""cProfile across threads, for ``run.py --profile DIR``.

``cProfile`` only sees the thread that enabled it, and export/import do their work in
``ThreadPoolExecutor`` workers. :func:`profiled` profiles the calling thread and every
thread started while it is active (``threading.setprofile`` installs a profiler in each
new thread before it runs), then merges them into one ``.pstats`` file.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

__all__ = ["profiled", "top_functions"]


@contextmanager
def profiled(path: Path | None) -> Iterator[None]:
    """Profile the block (all its threads) into ``path``; do nothing when it is None."""
    if path is None:
        yield
        return
    workers: list[cProfile.Profile] = []
    lock = threading.Lock()

    def start_in_thread(frame: FrameType, event: str, arg: Any) -> None:
        profile = cProfile.Profile()
        with lock:
            workers.append(profile)
        sys.setprofile(None)
        profile.enable()

    main = cProfile.Profile()
    threading.setprofile(start_in_thread)
    main.enable()
    try:
        yield
    finally:
        main.disable()
        threading.setprofile(None)
        stats = pstats.Stats(main)
        with lock:
            for profile in workers:
                stats.add(profile)
        path.parent.mkdir(parents=True, exist_ok=True)
        stats.dump_stats(str(path))


def top_functions(path: Path, count: int = 25, sort: str = "tottime") -> str:
    """The ``count`` most expensive functions of a saved profile, as pstats prints them."""
    out = io.StringIO()
    pstats.Stats(str(path), stream=out).sort_stats(sort).print_stats(count)
    return out.getvalue()
