"""When an import takes the server for gone: only failures that found no server count,
only in a row, and the verdict stays."""

from __future__ import annotations

import pytest

from ziggy_migrate import (
    BadRequestError,
    NotZiggyServerError,
    RequestTimeoutError,
    ServerError,
    ServerUnreachableError,
)
from ziggy_migrate._engine.server_watch import ServerWatch


def test_failures_in_a_row_that_found_no_server_make_it_gone() -> None:
    watch = ServerWatch(limit=3)
    watch.failed(RequestTimeoutError("timed out"))
    watch.failed(ServerUnreachableError("refused"))
    assert watch.gone is None
    watch.raise_if_gone()  # nothing to raise yet
    last = ServerError("gateway", response_code=503)
    watch.failed(last)
    assert watch.gone is last
    with pytest.raises(ServerUnreachableError, match="3 items in a row found no server"):
        watch.raise_if_gone()
    watch.answered()  # an answer after the verdict does not undo it
    assert watch.gone is last


@pytest.mark.parametrize(
    "about_the_item",
    [
        BadRequestError("refused", response_code=400),
        ServerError("the item broke the server", response_code=500),
    ],
)
def test_an_answer_about_the_item_starts_the_count_again(about_the_item: Exception) -> None:
    watch = ServerWatch(limit=3)
    watch.failed(RequestTimeoutError("timed out"))
    watch.failed(NotZiggyServerError("a proxy page"))
    watch.failed(about_the_item)  # type: ignore[arg-type]
    watch.failed(RequestTimeoutError("timed out"))
    watch.failed(RequestTimeoutError("timed out"))
    assert watch.gone is None
    watch.answered()
    watch.failed(RequestTimeoutError("timed out"))
    watch.failed(RequestTimeoutError("timed out"))
    assert watch.gone is None
