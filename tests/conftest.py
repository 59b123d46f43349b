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


@pytest.fixture(autouse=True)
def _private_state_dir(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rollback bundles and other state go to a temporary folder, never the user's."""
    monkeypatch.setenv("ZIGGY_STATE_DIR", str(tmp_path_factory.mktemp("state")))
