"""One import at a time per target server, on this machine.

Two imports into the same server that run at once both plan against a target without
the other's items, and both create them: every new item ends up twice. So an import (or
a rollback) holds a lock for its target server from before it reads the target until it
has written its journal: a second one waits for it, up to a bounded time, and then
refuses with :class:`TargetBusyError`, having written nothing.

The lock is an operating-system lock on a small file in the state folder
(``$ZIGGY_STATE_DIR/locks``, one file per server): ``flock`` on POSIX, ``msvcrt.locking``
on Windows. The system drops it when the process holding it ends, however it ends
(``kill -9`` included), so a lock is never stale. The file holds the holder's process id
and host name, for the message only; it is left in place when the lock is released
(removing a file another process may be waiting on would let two holders in).

Imports from different machines do not share a state folder; what protects them is the
check after the creates (see ``duplicates.py``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from .._vocabulary.errors import TargetBusyError
from .._vocabulary.state_dir import server_slug, state_dir

__all__ = ["DEFAULT_LOCK_TIMEOUT", "lock_dir", "target_lock"]

logger = logging.getLogger("ziggy_migrate.lock")

DEFAULT_LOCK_TIMEOUT = 60.0
"""Seconds an import waits for another import into the same server to finish."""

_POLL = 0.1  # seconds between two tries while waiting


def lock_dir(base: str | os.PathLike[str] | None = None) -> Path:
    """``locks`` in the state folder ``base`` (default: see :func:`state_dir`)."""
    return state_dir("locks", base)


@contextlib.contextmanager
def target_lock(target_url: str, directory: Path, *, timeout: float) -> Iterator[None]:
    """Hold the lock of ``target_url`` for the block; wait up to ``timeout`` seconds for it.

    Raises :class:`TargetBusyError` when another process (or another thread of this one)
    still holds it after ``timeout`` seconds (``0``: do not wait).
    """
    if timeout < 0:
        raise ValueError("lock_timeout must not be negative")
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / f"{server_slug(target_url)}.lock"
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        _acquire(descriptor, path, target_url, timeout)
        try:
            _write_holder(descriptor)
            yield
        finally:
            _unlock(descriptor)
    finally:
        os.close(descriptor)


def _acquire(descriptor: int, path: Path, target_url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    waiting = False
    while not _try_lock(descriptor):
        holder = _read_holder(path)
        if time.monotonic() >= deadline:
            waited = f" for {timeout:g} s" if timeout else ""
            raise TargetBusyError(
                f"another import into {target_url} is running ({holder}); waited{waited} "
                "and wrote nothing. Run this again when it has finished, or wait longer "
                "(lock_timeout, --lock-timeout).",
                holder=holder,
            )
        if not waiting:
            logger.warning(
                "waiting up to %g s for another import into %s to finish (%s)",
                timeout,
                target_url,
                holder,
            )
            waiting = True
        time.sleep(min(_POLL, max(0.0, deadline - time.monotonic())))
    if waiting:
        logger.info("the other import into %s has finished; going on", target_url)


def _write_holder(descriptor: int) -> None:
    """Note who holds the lock (for another process's message); best effort."""
    text = f"process {os.getpid()} on {socket.gethostname()}\n".encode()
    with contextlib.suppress(OSError):
        os.ftruncate(descriptor, 0)
        os.lseek(descriptor, 0, os.SEEK_SET)
        os.write(descriptor, text)


def _read_holder(path: Path) -> str:
    try:
        text = path.read_text("utf-8", errors="replace").strip()
    except OSError:
        text = ""
    return text[:200] or "holder unknown"


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    # A byte far past the holder's note, so that reading the note is never blocked.
    _LOCKED_BYTE = 1 << 30

    def _try_lock(descriptor: int) -> bool:
        os.lseek(descriptor, _LOCKED_BYTE, os.SEEK_SET)
        try:
            msvcrt.locking(descriptor, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(descriptor: int) -> None:
        os.lseek(descriptor, _LOCKED_BYTE, os.SEEK_SET)
        with contextlib.suppress(OSError):
            msvcrt.locking(descriptor, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(descriptor: int) -> bool:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(descriptor: int) -> None:
        fcntl.flock(descriptor, fcntl.LOCK_UN)
