"""Reading an answer off its socket in as few system calls as it arrived in.

http.client reads each answer through a buffer of 8 KiB. An answer of a few tens of KiB
(a flow) that has arrived whole still takes a read per 8 KiB past the first, and each
read gives up the GIL and takes it back, which with many requests in flight is a thread
switch. The pools a transport uses make connections whose answers read through a buffer
of :data:`READ_BUFFER_BYTES` instead, so a flow that has arrived is read in one call.

Nothing else changes: http.client still parses the answer, its length and its chunks,
and makes a new buffer for each answer, as it always does.
"""

from __future__ import annotations

import http.client
import threading
from typing import Any

__all__ = ["READ_BUFFER_BYTES", "read_in_large_pieces"]

READ_BUFFER_BYTES = 64 * 1024
"""How much one read of an answer may take off its socket: a flow's whole answer, most
often (at most one such buffer per request in flight)."""


class _LargeReadsResponse(http.client.HTTPResponse):
    """An answer read through a buffer of :data:`READ_BUFFER_BYTES`."""

    def __init__(self, sock: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(sock, *args, **kwargs)
        self.fp.close()  # the 8 KiB one, nothing read through it yet; the socket stays
        self.fp = sock.makefile("rb", READ_BUFFER_BYTES)


_MADE: dict[type, type] = {}
_MADE_LOCK = threading.Lock()


def read_in_large_pieces(pool: Any) -> None:
    """Make ``pool`` (a urllib3 connection pool, before it connects) make connections that
    read their answers through the larger buffer; whatever its connection class is
    (plain, TLS, SOCKS), the class keeps all it does."""
    cls = pool.ConnectionCls
    if issubclass(cls.response_class, _LargeReadsResponse):
        return
    with _MADE_LOCK:
        made = _MADE.get(cls)
        if made is None:
            made = type(
                f"{cls.__name__}LargeReads", (cls,), {"response_class": _LargeReadsResponse}
            )
            _MADE[cls] = made
    pool.ConnectionCls = made
