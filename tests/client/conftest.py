"""The client tests' fixture: a client of the test's emulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ziggy_migrate import ZiggyClient
from ziggy_migrate.testing import ZiggyEmulator

from . import connect


@pytest.fixture
def client(emulator: ZiggyEmulator) -> Iterator[ZiggyClient]:
    with connect(emulator) as ziggy_client:
        yield ziggy_client
