"""Shared fixtures for the test suite."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from ziggy_migrate import Bundle, export_flows
from ziggy_migrate.testing import ZiggyEmulator

from .samples import DevServer, client_for, seed_dev


@pytest.fixture
def emulator() -> Iterator[ZiggyEmulator]:
    """A running Ziggy emulator (user ``admin``/``admin``), stopped after the test."""
    with ZiggyEmulator() as ziggy:
        yield ziggy


@pytest.fixture(autouse=True)
def _loggers_as_they_were() -> Iterator[None]:
    """An in-process CLI run configures the package loggers; undo it after each test, so
    a later test's log capture does not depend on which tests ran before it."""
    loggers = [logging.getLogger(name) for name in ("ziggy_migrate", "ziggy_migrate_cli")]
    saved = [(logger.level, list(logger.handlers), logger.propagate) for logger in loggers]
    yield
    for logger, (level, handlers, propagate) in zip(loggers, saved, strict=True):
        logger.setLevel(level)
        logger.handlers[:] = handlers
        logger.propagate = propagate


@pytest.fixture(autouse=True)
def _private_state_dir(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rollback bundles and other state go to a temporary folder, never the user's."""
    monkeypatch.setenv("ZIGGY_STATE_DIR", str(tmp_path_factory.mktemp("state")))


@pytest.fixture
def dev() -> Iterator[tuple[ZiggyEmulator, DevServer]]:
    """A "dev" emulator seeded with the realistic sample of ``samples.seed_dev``."""
    with ZiggyEmulator(name="dev") as ziggy:
        yield ziggy, seed_dev(ziggy)


@pytest.fixture
def prod() -> Iterator[ZiggyEmulator]:
    """An empty "prod" emulator."""
    with ZiggyEmulator(name="prod") as ziggy:
        yield ziggy


@pytest.fixture
def production_bundle(dev: tuple[ZiggyEmulator, DevServer]) -> Bundle:
    """The export of dev's ``production``-tagged flows."""
    with client_for(dev[0]) as client:
        return export_flows(client, tags=["production"]).bundle
