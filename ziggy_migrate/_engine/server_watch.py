"""Giving up on a server that stopped answering, rather than waiting out every item.

Each request already retries what is worth retrying (the transport's ``RetryPolicy``),
so an item that fails because no server answered has been tried as hard as it will be.
When that happens to several items in a row, the server is gone (stopped, unplugged, a
gateway with nothing behind it): sending the rest would only make each of them wait its
own timeout, minutes or hours at scale, for the same answer. The import stops instead,
and its report says what was written and what was not sent, so that running it again
once the server is back completes it.
"""

from __future__ import annotations

import threading

from .._vocabulary.errors import ServerError, ServerUnreachableError, ZiggyError

__all__ = ["GIVE_UP_AFTER", "ServerWatch", "found_no_server"]

GIVE_UP_AFTER = 3
"""Items in a row that found no server before an import stops sending."""

_GATEWAY_STATUSES = frozenset({502, 503, 504})
"""Answers that come from in front of a server that is not there."""


def found_no_server(error: ZiggyError) -> bool:
    """Whether ``error`` says no server answered, rather than something about the item."""
    if isinstance(error, ServerUnreachableError):
        return True
    return isinstance(error, ServerError) and error.response_code in _GATEWAY_STATUSES


class ServerWatch:
    """Counts the items in a row whose requests found no server; shared by the workers.

    An item the server answered, even with an error about the item, starts the count
    again. After ``limit`` in a row, :attr:`gone` holds the last of those errors for good.
    """

    def __init__(self, limit: int = GIVE_UP_AFTER) -> None:
        self._limit = limit
        self._in_a_row = 0
        self._gone: ZiggyError | None = None
        self._lock = threading.Lock()

    @property
    def gone(self) -> ZiggyError | None:
        return self._gone

    def answered(self) -> None:
        with self._lock:
            if self._gone is None:
                self._in_a_row = 0

    def failed(self, error: ZiggyError) -> None:
        if not found_no_server(error):
            self.answered()
            return
        with self._lock:
            self._in_a_row += 1
            if self._in_a_row >= self._limit and self._gone is None:
                self._gone = error

    def raise_if_gone(self) -> None:
        """Raise :class:`ServerUnreachableError` once the server is taken for gone."""
        gone = self._gone
        if gone is not None:
            last = " ".join(str(gone).split()).rstrip(".")
            raise ServerUnreachableError(
                f"{self._limit} items in a row found no server to answer them (the last: "
                f"{last}), so the items after them were not sent"
            )
