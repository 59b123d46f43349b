"""Shared fixtures for the test suite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ziggy_migrate.testing import ZiggyEmulator


@pytest.fixture
def emulator() -> Iterator[ZiggyEmulator]:
    """A running Ziggy emulator (user ``admin``/``admin``), stopped after the test."""
    with ZiggyEmulator() as ziggy:
        yield ziggy
