"""``bulk_mode()`` pauses the cyclic collector and gives it back; library calls leave it be."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from ziggy_migrate import bulk_mode, export_flows, import_bundle, load_bundle
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
    with bulk_mode():
        assert not gc.isenabled()
        with bulk_mode():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_collector_the_application_turned_off_stays_off() -> None:
    gc.disable()
    with bulk_mode():
        assert not gc.isenabled()
    assert not gc.isenabled()


def test_the_collector_comes_back_when_the_operation_fails() -> None:
    with pytest.raises(RuntimeError), bulk_mode():
        raise RuntimeError("boom")
    assert gc.isenabled()


@contextmanager
def _collections() -> Iterator[list[int]]:
    """The generations the collector examines inside the block."""
    examined: list[int] = []

    def note(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            examined.append(info["generation"])

    gc.callbacks.append(note)
    try:
        yield examined
    finally:
        gc.callbacks.remove(note)


def _graph(nodes: int) -> list[dict[str, Any]]:
    return [{"id": str(i), "data": {"tags": [i, [i]]}} for i in range(nodes)]


def test_what_a_pause_made_joins_the_oldest_generation_without_a_collection() -> None:
    gc.collect()
    with _collections() as examined:
        with bulk_mode():
            kept = _graph(20_000)  # far past the youngest generation's threshold of 700
        assert gc.get_count() == (0, 0, 0)
        _graph(100)
    assert examined == []
    assert any(item is kept for item in gc.get_objects(generation=2))


def test_without_the_move_the_first_allocation_after_a_pause_walks_it_all() -> None:
    """What the move saves: the collection the paused allocations would trigger."""
    gc.collect()
    with _collections() as examined:
        gc.disable()
        kept = _graph(20_000)
        gc.enable()
        _graph(1)
    assert examined[:1] == [0]
    assert kept


def test_cycles_made_during_a_pause_are_still_freed_by_a_full_collection() -> None:
    class Node:
        partner: object = None

    with bulk_mode():
        first, second = Node(), Node()
        first.partner, second.partner = second, first
        alive = weakref.ref(first)
        del first, second
    assert alive() is not None  # a cycle: reference counting alone cannot free it
    gc.collect()
    assert alive() is None


def test_objects_the_application_froze_stay_frozen() -> None:
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        assert frozen > 0
        with bulk_mode():
            _graph(1_000)
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()


def test_library_calls_leave_the_collector_alone(
    dev: tuple[ZiggyEmulator, DevServer], prod: ZiggyEmulator, tmp_path: Path
) -> None:
    """No process-wide state: export, load and import run with the collector as it was."""
    seen: list[bool] = []

    def progress(done: int, total: int, what: str) -> None:  # called from worker threads
        seen.append(gc.isenabled())

    frozen = gc.get_freeze_count()
    with client_for(dev[0]) as source:
        export_flows(source, path=tmp_path / "b.json", progress=progress)
    bundle = load_bundle(tmp_path / "b.json")
    with client_for(prod) as target:
        import_bundle(target, bundle, mode="overwrite", backup=False, progress=progress)
    assert seen
    assert all(seen)
    assert gc.get_freeze_count() == frozen


def test_in_bulk_mode_the_same_calls_run_paused_and_restore_the_collector(
    dev: tuple[ZiggyEmulator, DevServer], prod: ZiggyEmulator, tmp_path: Path
) -> None:
    seen: list[bool] = []

    def progress(done: int, total: int, what: str) -> None:
        seen.append(gc.isenabled())

    with bulk_mode():
        with client_for(dev[0]) as source:
            export_flows(source, path=tmp_path / "b.json", progress=progress)
        bundle = load_bundle(tmp_path / "b.json")
        with client_for(prod) as target:
            import_bundle(target, bundle, mode="overwrite", backup=False, progress=progress)
    assert gc.isenabled()
    assert seen
    assert not any(seen)
