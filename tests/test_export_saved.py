"""export_flows with a path: each fetched graph is let go of once the flow is encoded,
the files are byte for byte what the in-memory export saves to, and ``result.bundle``
is read back from the kept texts only when it is asked for."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs
import pytest

import ziggy_migrate._bundle.bundle as bundle_module
import ziggy_migrate._bundle.directory as directory_module
import ziggy_migrate._engine.export as export_module
from ziggy_migrate import (
    Bundle,
    FetchedFlow,
    Flow,
    ZiggyClient,
    dump_bundle,
    export_flows,
    load_bundle,
    save_bundle,
)
from ziggy_migrate.testing import ZiggyEmulator

from .samples import DevServer, client_for

_GONE = "0badc0de-0000-4000-8000-000000000000"
_SELECTED = {"Orders", "Invoices", "Enrich order", "Score order", "Bröken ✓"}
"""The production flows, and the subflows Orders calls: one wave, then another."""


@pytest.fixture
def source(dev: tuple[ZiggyEmulator, DevServer]) -> ZiggyEmulator:
    """The dev sample plus what an export must also carry through: a flow with references
    missing on the server, text that is not ASCII, a viewport with floats, schedules of
    selected flows (one of a subflow) and of a flow left out."""
    ziggy, seeded = dev
    ziggy.add_flow(
        "Bröken ✓",
        tags=["production"],
        nodes=[
            {
                "id": "1",
                "type": "sql",
                "data": {"connectionUuid": _GONE, "code": "secrets.NOPE // ünïcode ✓"},
            }
        ],
        viewport={"x": 1.5, "y": -0.25, "zoom": 0.75},
    )
    ziggy.add_schedule("nightly", flow_uuid=seeded.orders)
    ziggy.add_schedule("hourly", flow_uuid=seeded.sub_b, config='{"cron": "0 * * * *"}')
    ziggy.add_schedule("weekly", flow_uuid=seeded.marketing)
    return ziggy


def _files(path: Path) -> dict[str, bytes]:
    if path.is_file():
        return {"": path.read_bytes()}
    return {str(p.relative_to(path)): p.read_bytes() for p in path.rglob("*") if p.is_file()}


@pytest.mark.parametrize("layout", ["file", "dir"])
def test_a_saved_export_is_byte_for_byte_what_the_in_memory_export_saves_to(
    source: ZiggyEmulator, tmp_path: Path, layout: str
) -> None:
    saved_path = tmp_path / "saved"
    with client_for(source) as client:
        in_memory = export_flows(client, tags=["production"]).bundle
        saved = export_flows(client, tags=["production"], path=saved_path, layout=layout)  # type: ignore[arg-type]
    # the scenario holds what it should: two waves of subflows, unresolved references,
    # schedules of selected flows only
    assert {flow.name for flow in in_memory.flows} == _SELECTED
    assert {(r.kind.value, r.reference) for r in in_memory.unresolved_references} == {
        ("connection", _GONE),
        ("secret", "NOPE"),
    }
    assert sorted(schedule.name for schedule in in_memory.schedules) == ["hourly", "nightly"]
    # the two exports differ only in when they were made
    loaded = load_bundle(saved_path)
    expected = attrs.evolve(in_memory, provenance=loaded.provenance)
    save_bundle(expected, tmp_path / "expected", layout=layout)  # type: ignore[arg-type]
    assert _files(saved_path) == _files(tmp_path / "expected")
    if layout == "file":
        assert saved_path.read_text("utf-8") == dump_bundle(expected)
    assert saved.counts == in_memory.counts
    assert saved.unresolved_references == in_memory.unresolved_references
    assert saved.to_dict()["flowCount"] == len(_SELECTED)
    assert saved.bundle == expected == loaded
    assert type(saved.bundle) is Bundle


def _spy_on_fetches(
    client: ZiggyClient, monkeypatch: pytest.MonkeyPatch
) -> list[weakref.ref[Flow]]:
    """Weak references to every flow the client fetches (real requests, answered by the
    emulator): a reference still alive is a graph someone holds."""
    fetched: list[weakref.ref[Flow]] = []
    get_flow = client.get_flow

    def spying(uuid: str) -> FetchedFlow:
        answer = get_flow(uuid)
        fetched.append(weakref.ref(answer.flow))
        return answer

    monkeypatch.setattr(client, "get_flow", spying)
    return fetched


def _alive(fetched: list[weakref.ref[Flow]]) -> list[str]:
    gc.collect()
    return sorted(flow.name for ref in fetched if (flow := ref()) is not None)


@pytest.mark.parametrize(
    ("layout", "module", "writer"),
    [("file", bundle_module, "write_atomically"), ("dir", directory_module, "stage_file")],
)
def test_no_fetched_graph_is_held_while_the_bundle_is_written_or_after(
    source: ZiggyEmulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    layout: str,
    module: Any,
    writer: str,
) -> None:
    """Once a flow is walked, checked and encoded, its graph is no longer held: not while
    the file (or each file of the folder) is written, not in the result."""
    alive_while_writing: list[list[str]] = []
    write: Callable[..., Any] = getattr(module, writer)

    def watching(*args: Any, **kwargs: Any) -> Any:
        alive_while_writing.append(_alive(fetched))
        return write(*args, **kwargs)

    monkeypatch.setattr(module, writer, watching)
    with client_for(source) as client:
        fetched = _spy_on_fetches(client, monkeypatch)
        result = export_flows(client, tags=["production"], path=tmp_path / "b", layout=layout)  # type: ignore[arg-type]
        assert len(fetched) == len(_SELECTED)
        assert alive_while_writing  # the writer ran, and saw...
        assert all(alive == [] for alive in alive_while_writing)  # ...no graph held
        assert _alive(fetched) == []
        assert {flow.name for flow in result.bundle.flows} == _SELECTED


def test_without_a_path_the_result_holds_the_fetched_flows_themselves(
    source: ZiggyEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The spy above does see graphs held: without a path the bundle is the fetched flows."""
    with client_for(source) as client:
        fetched = _spy_on_fetches(client, monkeypatch)
        result = export_flows(client, tags=["production"])
        assert _alive(fetched) == sorted(_SELECTED)
        assert result.counts["flows"] == len(_SELECTED)


def test_the_saved_bundle_is_read_back_only_when_asked_for_and_once(
    source: ZiggyEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    decoded: list[str] = []

    def counting(text: str) -> Flow:
        flow = bundle_module.decode_flow(text)
        decoded.append(flow.name)
        return flow

    monkeypatch.setattr(export_module, "decode_flow", counting)
    with client_for(source) as client:
        result = export_flows(client, tags=["production"], path=tmp_path / "b.json")
    assert result.counts["flows"] == len(_SELECTED)
    assert result.to_dict()["flowCount"] == len(_SELECTED)
    assert "Bröken ✓" in repr(result)
    assert len(result.unresolved_references) == 2
    moved = attrs.evolve(result, path=tmp_path / "elsewhere.json")
    assert decoded == []
    assert sorted(flow.name for flow in result.bundle.flows) == sorted(_SELECTED)
    assert sorted(decoded) == sorted(_SELECTED)
    assert result.bundle is result.bundle
    assert moved.bundle == result.bundle
    assert len(decoded) == len(_SELECTED)  # kept, and shared by the evolved copy


def test_saved_exports_are_equal_only_when_their_flows_are(
    source: ZiggyEmulator, tmp_path: Path
) -> None:
    """The kept bundle holds the flows without their graphs: its equality must still see
    the graphs (in the texts), or two different exports would pass for the same."""
    with client_for(source) as client:
        first = export_flows(client, tags=["production"], path=tmp_path / "a.json")
        again = export_flows(client, tags=["production"], path=tmp_path / "b.json")
        (flow,) = [f for f in source.snapshot()["flows"] if f["name"] == "Bröken ✓"]
        current = client.get_flow(flow["uuid"]).flow
        note = {"id": "2", "type": "note", "data": {"text": "changed"}}  # refers to nothing
        client.update_flow(current.uuid, attrs.evolve(current, nodes=[*current.nodes, note]))
        changed = export_flows(client, tags=["production"], path=tmp_path / "c.json")
    same_time = first._bundle.provenance  # exports a second apart differ only in the time

    def kept(result: Any) -> Any:
        return attrs.evolve(result._bundle, provenance=same_time)

    assert kept(again) == kept(first)
    assert kept(changed).flows == kept(first).flows  # the stubs are the same
    assert kept(changed) != kept(first)
    assert changed.bundle != first.bundle
