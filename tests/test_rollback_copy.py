"""The rollback copy of an overwrite: each flow the target answered, encoded once, kept
as text, never as its graph, and still exactly what was overwritten.

The target's flows hold what a canonical file must write exactly (floats of every size,
integers past 64 bits, text of every kind) and references to items the import does not
overwrite; the rollback file must hold each flow as ``get_flow`` read it, be the
canonical text of what it holds, declare the references it cannot hold, and restore the
target's flows field for field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ziggy_migrate import (
    Bundle,
    Flow,
    ImportMode,
    NotFoundError,
    Provenance,
    SourceServer,
    dump_bundle,
    import_bundle,
    load_bundle,
    rollback,
)
from ziggy_migrate.testing import Answer, ZiggyEmulator

from .samples import client_for

TRICKY = {
    "floats": [0.8, 1e-05, -3.25e-07, 1e22, 250.5, -0.0, 5e-324],
    "big": 123456789012345678901234567890,
    "text": 'Café ☕ \u2028 \x1f "quoted" \\ back',
    "uuid-like": "a745ba6d-eaee-419b-ba6c-ac4ae82d0e11",
}


def _graph(index: int, connection_uuid: str) -> list[dict[str, Any]]:
    """Every third flow holds the tricky values (the others' text is made the fast way)."""
    tricky = TRICKY if index % 3 == 0 else {"n": index, "zoom": 0.8}
    return [
        {"id": "start", "type": "apiTrigger", "data": {"path": f"/in/{index}"}},
        {
            "id": "query",
            "type": "sql",
            "position": {"x": 120.25 * index, "y": 17.5},
            "data": {"connectionUuid": connection_uuid, "tricky": tricky},
        },
        {"id": "code", "type": "javascript", "data": {"code": "return secrets.KEPT_KEY;"}},
    ]


def _overwriting(names: list[str]) -> Bundle:
    return Bundle(
        provenance=Provenance(
            source=SourceServer(url="http://dev.invalid:3000", name="dev"),
            tool_version="test",
            exported_at="2026-01-01T00:00:00Z",
        ),
        flows=tuple(
            Flow(uuid=f"source-{index}", name=name, nodes=[{"id": "new"}])
            for index, name in enumerate(names)
        ),
    )


def test_the_rollback_copy_is_each_flow_as_the_target_answered_it(tmp_path: Path) -> None:
    with ZiggyEmulator(name="prod") as prod, client_for(prod) as client:
        kept = prod.add_connection("Kept DB")  # not in the bundle: a dangling reference
        prod.add_secret("KEPT_KEY")
        for index in range(12):
            prod.add_flow(
                f"Flow {index:02d}",
                nodes=_graph(index, kept["uuid"]),
                edges=[{"id": "e", "source": "start", "target": "query"}],
                viewport={"x": 0.5, "y": -1.25, "zoom": 0.75},
                tags=["prod"],
            )
        before = {flow.uuid: client.get_flow(flow.uuid).flow for flow in client.list_flows()}
        bundle = _overwriting([f"Flow {index:02d}" for index in range(0, 12, 2)])
        report = import_bundle(
            client, bundle, mode=ImportMode.OVERWRITE, backup=False, rollback_dir=tmp_path
        )
        assert report.ok
        assert report.rollback_path is not None
        path = Path(report.rollback_path)
        assert list(tmp_path.iterdir()) == [path]  # the spool it was written from is gone
        saved = load_bundle(path)
        overwritten = {uuid: flow for uuid, flow in before.items() if int(flow.name[-2:]) % 2 == 0}
        assert {flow.uuid: flow for flow in saved.flows} == overwritten
        assert path.read_text("utf-8") == dump_bundle(saved)
        references = {(ref.kind.value, ref.reference) for ref in saved.unresolved_references}
        assert references == {("connection", kept["uuid"]), ("secret", "KEPT_KEY")}

        restored = rollback(client, path, backup=False)
        assert restored.ok
        after = {flow.uuid: client.get_flow(flow.uuid).flow for flow in client.list_flows()}
    assert after == before


def test_a_flow_the_copy_cannot_read_stops_the_import_before_any_write(
    tmp_path: Path,
) -> None:
    """Nothing is written before the rollback copy is whole; the copy stops fetching at
    the first failure (the requests already on the wire end, no other starts)."""
    flows = 200
    workers = 4
    with ZiggyEmulator(name="prod", latency=0.01) as prod:
        rows = [prod.add_flow(f"Flow {index:03d}") for index in range(flows)]
        before = prod.snapshot()
        prod.override("GET", f"/api/flow/{rows[5]['uuid']}", Answer.json({}, status=404))
        with client_for(prod, max_workers=workers) as client:
            client.login()
            prod.reset_requests()
            with pytest.raises(NotFoundError):
                import_bundle(
                    client,
                    _overwriting([row["name"] for row in rows]),
                    mode=ImportMode.OVERWRITE,
                    backup=False,
                    rollback_dir=tmp_path,
                )
        fetched = [r for r in prod.requests if r.method == "GET" and r.path.count("/") == 3]
        written = [r for r in prod.requests if r.method != "GET"]
        assert prod.snapshot() == before
    assert written == []
    assert list(tmp_path.iterdir()) == []  # neither a rollback file nor its spool
    assert len(fetched) <= 6 + 2 * workers  # up to the failure, and what was on the wire
