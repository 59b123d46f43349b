"""Bulk operations pause the cyclic garbage collector and always give it back."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from ziggy_migrate import export_flows, import_bundle, load_bundle
from ziggy_migrate._gc import collector_paused
from ziggy_migrate.testing import ZiggyEmulator

from .samples import DevServer, client_for


@pytest.fixture(autouse=True)
def _collector_on() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.enable()
    yield
    if not was_enabled:
        gc.disable()


def test_pauses_nest_and_the_last_one_out_turns_the_collector_back_on() -> None:
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_collector_the_application_turned_off_stays_off() -> None:
    gc.disable()
    with collector_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_the_collector_comes_back_when_the_operation_fails() -> None:
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_export_load_and_import_run_paused_and_restore_the_collector(
    dev: tuple[ZiggyEmulator, DevServer], prod: ZiggyEmulator, tmp_path: Path
) -> None:
    seen: list[bool] = []

    def progress(done: int, total: int, what: str) -> None:  # called from worker threads
        seen.append(gc.isenabled())

    with client_for(dev[0]) as source:
        export_flows(source, path=tmp_path / "b.json", progress=progress)
    assert gc.isenabled()
    bundle = load_bundle(tmp_path / "b.json")
    assert gc.isenabled()
    with client_for(prod) as target:
        import_bundle(target, bundle, mode="overwrite", backup=False, progress=progress)
    assert gc.isenabled()
    assert seen
    assert not any(seen)
