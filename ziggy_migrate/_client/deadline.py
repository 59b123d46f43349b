"""A total deadline for every attempt: connecting, sending and reading the whole answer.

requests' read timeout bounds each pause between bytes, not the exchange: a server that
sends one byte a second never reaches it, and neither does one that trickles its
headers. So each attempt takes a :class:`Watch` from its transport's :class:`Deadlines`
and names it for its thread (:meth:`Deadlines.watching`); the connection the attempt runs
on attaches itself when it sends the request (urllib3's connection class with one method
added, set on the pools the adapter hands out: :func:`watch_connections`). When the
deadline passes before the attempt is over, a helper thread shuts the connection's socket
down, so whatever read was waiting returns at once, and the watch says it ``expired``: the
transport reports a timeout instead of the broken connection it sees.

The helper thread runs only while attempts are in flight: it ends after a few idle
seconds and starts again with the next attempt, so a client that is never closed leaves
nothing running. Registering an attempt costs a lock and a set insertion; the thread
wakes about once per deadline, not once per request.
"""

from __future__ import annotations

import contextlib
import math
import socket
import sys
import threading
import time
from collections.abc import Iterator
from typing import Any

from urllib3.connection import HTTPConnection

__all__ = ["WAKES_BLOCKED_IO", "Deadlines", "Watch", "watch_connections"]

WAKES_BLOCKED_IO = sys.platform.startswith("linux")
"""Whether shutting a socket down wakes, at once, a send or read blocked on it in another
thread. Linux does, and the deadline's tests show it; Windows is known not to for every
kind of pending I/O, and other systems are not tested here. Where it does, the
connection sends and reads on a blocking socket and the deadline alone bounds them: a
socket with a timeout polls before every send and read, a second system call that gives
up the GIL a second time (with many requests in flight, a thread switch each)."""

_IDLE_SECONDS = 5.0
_RECHECK_SECONDS = 0.05  # a connection still connecting has no socket to cut yet
_current = threading.local()


class Watch:
    """One attempt's deadline, and the connection to cut when it passes."""

    __slots__ = ("_connection", "_lock", "deadline", "expired", "finished")

    def __init__(self, deadline: float, lock: threading.Condition) -> None:
        self.deadline = deadline
        self.expired = False
        self.finished = False
        self._connection: Any = None
        self._lock = lock

    def attach(self, connection: Any) -> None:
        with self._lock:
            if not self.finished:
                self._connection = connection

    def _cut_locked(self) -> bool:
        """Expire; True once there is nothing more to do, False to try again shortly."""
        if self.finished:
            return True
        self.expired = True
        sock = getattr(self._connection, "sock", None)
        if sock is None:
            return False
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
        return True


class Deadlines:
    """The watches of one transport, and the thread that enforces them."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._active: set[Watch] = set()
        self._running = False
        self._closed = False
        self._wake_at = math.inf

    @contextlib.contextmanager
    def watching(self, seconds: float) -> Iterator[Watch]:
        """A watch over what this thread sends and reads in the block."""
        watch = Watch(time.monotonic() + seconds, self._lock)
        with self._lock:
            self._active.add(watch)
            if not self._running and not self._closed:
                self._running = True
                threading.Thread(
                    target=self._run, name="ziggy-migrate-deadlines", daemon=True
                ).start()
            elif watch.deadline < self._wake_at:
                self._lock.notify()
        _current.watch = watch
        try:
            yield watch
        finally:
            _current.watch = None
            with self._lock:
                watch.finished = True
                watch._connection = None
                self._active.discard(watch)

    def close(self) -> None:
        """Stop the thread (a watch still open is no longer enforced)."""
        with self._lock:
            self._closed = True
            self._active.clear()
            self._lock.notify()

    def _run(self) -> None:
        with self._lock:
            while True:
                now = time.monotonic()
                if not self._active:
                    if self._closed:
                        self._running = False
                        return
                    self._wake_at = now + _IDLE_SECONDS
                    self._lock.wait(_IDLE_SECONDS)
                    if not self._active:
                        self._running = False
                        return
                    continue
                for watch in [w for w in self._active if w.deadline <= now]:
                    if watch._cut_locked():
                        self._active.discard(watch)
                    else:
                        watch.deadline = now + _RECHECK_SECONDS
                self._wake_at = min((w.deadline for w in self._active), default=now)
                self._lock.wait(max(0.0, self._wake_at - now))


class _AttachOnRequest(HTTPConnection):
    """Attaches the connection to the watch of the thread sending on it. Where the watch
    bounds a blocked send (:data:`WAKES_BLOCKED_IO`), a connection already made sends on
    a blocking socket: urllib3 has just set its timeout to the connect timeout, which it
    gives the socket before sending, and sets the read timeout after."""

    def request(self, *args: Any, **kwargs: Any) -> None:
        watch = getattr(_current, "watch", None)
        if watch is not None:
            watch.attach(self)
            if WAKES_BLOCKED_IO and self.sock is not None:
                self.timeout = None
        super().request(*args, **kwargs)


_WATCHED: dict[type, type] = {}
_WATCHED_LOCK = threading.Lock()


def watch_connections(pool: Any) -> None:
    """Make ``pool`` (a urllib3 connection pool, before it connects) make connections that
    attach themselves to the sending thread's watch; whatever its connection class is
    (plain, TLS, SOCKS), the class keeps all it does."""
    cls = pool.ConnectionCls
    if issubclass(cls, _AttachOnRequest):
        return
    with _WATCHED_LOCK:
        watched = _WATCHED.get(cls)
        if watched is None:
            watched = type(f"Watched{cls.__name__}", (_AttachOnRequest, cls), {})
            _WATCHED[cls] = watched
    pool.ConnectionCls = watched
