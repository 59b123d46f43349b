"""Official ziggy export files through the public API (issue 14, part 1).

The files are what the emulator's own server export answers (``GET
/api/flow/export-tagged``, which the official ``ziggy flow export`` writes out as it is)
and hand-written variants of it: relations nested in the flows, optional kinds missing,
server columns nobody documented, secret values present, a bare array of flows.
"""

from __future__ import annotations

import copy
import json
import os
import stat
from pathlib import Path
from typing import Any

import attrs
import pytest

from ziggy_migrate import (
    BackupFailedError,
    Bundle,
    BundleError,
    ItemKind,
    NotFoundError,
    OfficialExport,
    PlanError,
    Schedule,
    UnresolvedReference,
    download_backup,
    dump_bundle,
    dump_official,
    export_flows,
    import_bundle,
    load_bundle,
    load_bundle_text,
    load_official,
    load_official_text,
    plan_import,
    rollback,
    save_bundle,
    save_official,
)
from ziggy_migrate._bundle.official import (
    BOOKKEEPING,
    COLUMNS,
    NOT_WRITTEN,
    OFFICIAL_EXPORT_TOOL,
)
from ziggy_migrate.testing import ZiggyEmulator

from .samples import PG_PASSWORD_VALUE, DevServer, client_for

Document = dict[str, Any]
KINDS = ("flows", "connections", "secrets", "structures", "variables")
PLANTED = "planted-secret-value-7c1e"
TOKEN = "oauth-token-value-51ab"


def server_export(ziggy: ZiggyEmulator, tags: list[str] | None = None) -> Document:
    """What the official ``ziggy flow export`` writes: the server export, as it is."""
    with client_for(ziggy) as client:
        document: Document = client.server_export_tagged(tags=tags or [])
    return document


def text(document: Any) -> str:
    """The file text as the official CLI writes it: ``JSON.stringify(data, null, 2)``."""
    return json.dumps(document, indent=2, ensure_ascii=False)


def items(bundle: Bundle) -> dict[str, list[Any]]:
    """A bundle's items per kind, in a stable order (what matching and import use)."""
    return {
        kind.plural: sorted(bundle.items(kind), key=lambda item: item.uuid) for kind in ItemKind
    }


@pytest.fixture
def official(dev: tuple[ZiggyEmulator, DevServer]) -> Document:
    """The dev server's export of every flow (no tags, no ids), as the official CLI saves it."""
    return server_export(dev[0])


# ------------------------------------------------------------------ reading the server's file


def test_the_server_export_loads_as_the_same_items_our_export_finds(
    dev: tuple[ZiggyEmulator, DevServer], official: Document, tmp_path: Path
) -> None:
    path = tmp_path / "zexport.json"
    path.write_text(text(official), encoding="utf-8")
    loaded = load_bundle(path)
    with client_for(dev[0]) as client:
        ours = export_flows(client).bundle
    assert items(loaded) == items(ours)
    assert loaded.counts == {
        "secrets": 2,
        "connections": 2,
        "structures": 1,
        "variables": 1,
        "flows": 6,
        "schedules": 0,
    }
    assert loaded.unresolved_references == ()


def test_provenance_says_the_bundle_came_from_an_official_export_file(official: Document) -> None:
    provenance = load_bundle_text(text(official)).provenance
    assert provenance.tool_version.startswith(OFFICIAL_EXPORT_TOOL)
    assert provenance.source.url == ""
    assert provenance.source.name is None
    assert provenance.selection.flow_ids == ()
    stamps = [row["updatedAt"] for kind in KINDS for row in official[kind]]
    assert provenance.exported_at == max(stamps)  # the file's own latest change


def test_a_converted_bundle_says_so_in_its_repr_and_is_no_rollback_bundle(
    official: Document, tmp_path: Path
) -> None:
    bundle = load_bundle_text(text(official))
    assert repr(bundle).startswith(f"<Bundle v2 from {OFFICIAL_EXPORT_TOOL}")
    path = tmp_path / "zexport.json"
    path.write_text(text(official), "utf-8")
    with ZiggyEmulator() as target, client_for(target) as client:
        with pytest.raises(PlanError, match="names no server it was saved from"):
            rollback(client, path)
        assert target.request_count("PUT") == 0


def test_the_same_file_converts_to_the_same_bundle_text(official: Document) -> None:
    first = dump_bundle(load_bundle_text(text(official)))
    assert dump_bundle(load_bundle_text(text(official).encode("utf-8"))) == first


def test_load_official_returns_the_bundle_with_typed_warnings(official: Document) -> None:
    loaded = load_official_text(text(official))
    assert isinstance(loaded, OfficialExport)
    assert loaded.warnings == ()
    assert loaded.schedules == ()
    assert loaded.bundle == load_bundle_text(text(official))
    assert "OfficialExport" in repr(loaded)


def test_load_official_refuses_one_of_our_bundles(official: Document, tmp_path: Path) -> None:
    path = save_bundle(load_bundle_text(text(official)), tmp_path / "ours.json")
    with pytest.raises(BundleError, match="load_bundle"):
        load_official(path)
    with pytest.raises(TypeError, match="load_official_text"):
        load_official(text(official).encode())  # type: ignore[arg-type]


# ------------------------------------------------------------------ hand-written variants


def nest_relations(document: Document) -> Document:
    """Each flow carries its relations, as ``GET /api/flow/{uuid}`` answers; none at the top."""
    by_uuid = {kind: {row["uuid"]: row for row in document[kind]} for kind in KINDS[1:]}
    flows = []
    for flow in document["flows"]:
        blob = json.dumps(flow["nodes"])
        nested = dict(flow)
        for kind in ("connections", "structures", "variables"):
            nested[kind] = [row for uuid, row in by_uuid[kind].items() if uuid in blob]
        nested["secrets"] = [
            row
            for row in document["secrets"]
            if f"secrets.{row['name']}" in blob
            or any(f"secrets.{row['name']}" in json.dumps(c) for c in nested["connections"])
        ]
        flows.append(nested)
    return {"flows": flows}


def test_relations_nested_in_flows_load_like_top_level_ones(official: Document) -> None:
    nested = nest_relations(copy.deepcopy(official))
    assert all(kind not in nested for kind in KINDS[1:])
    assert sum(len(flow["connections"]) for flow in nested["flows"]) > 2  # shared, repeated
    assert items(load_bundle_text(text(nested))) == items(load_bundle_text(text(official)))


def test_a_bare_array_of_flows_with_nested_relations_loads(official: Document) -> None:
    flows = nest_relations(copy.deepcopy(official))["flows"]
    assert items(load_bundle_text(text(flows))) == items(load_bundle_text(text(official)))


def test_unknown_and_bookkeeping_columns_are_ignored(official: Document) -> None:
    noisy = copy.deepcopy(official)
    for kind in KINDS:
        for row in noisy[kind]:
            row.update(
                tenantId="tenant-42",
                createdAt=None,
                isLocked=True,
                queueUuid="0000",
                columnFromTheFuture={"any": ["thing"]},
            )
    noisy["exportedBy"] = "someone"  # an unknown top-level key too
    assert items(load_bundle_text(text(noisy))) == items(load_bundle_text(text(official)))


def test_null_in_optional_columns_reads_as_empty(official: Document) -> None:
    sparse = copy.deepcopy(official)
    for row in sparse["flows"]:
        row.update(tags=None, viewport=None, edges=None, isCommander=None)
    for row in sparse["connections"]:
        row.update(description=None, prodValue=None)
    loaded = load_bundle_text(text(sparse))
    assert all(flow.tags == () and flow.viewport == {} for flow in loaded.flows)
    assert all(connection.prod_value == "" for connection in loaded.connections)


def test_missing_optional_kinds_load_and_dangling_references_are_declared(
    official: Document, dev: tuple[ZiggyEmulator, DevServer]
) -> None:
    servers = dev[1]
    trimmed = {"flows": official["flows"], "connections": official["connections"]}
    loaded = load_official_text(text(trimmed))
    assert loaded.bundle.structures == () and loaded.bundle.variables == ()
    assert set(loaded.bundle.unresolved_references) >= {
        UnresolvedReference(servers.orders, ItemKind.STRUCTURE, servers.structure),
        UnresolvedReference(servers.invoices, ItemKind.VARIABLE, servers.variable),
        UnresolvedReference(servers.pg, ItemKind.SECRET, "PG_PASSWORD"),
    }
    assert any(
        f"structure {servers.structure}" in warning and "Orders" in warning
        for warning in loaded.warnings
    )
    # ...and the bundle saves and loads back like any other
    assert load_bundle_text(dump_bundle(loaded.bundle)) == loaded.bundle


def test_flows_only_file_loads(official: Document) -> None:
    only = {"flows": [flow for flow in official["flows"] if not flow["nodes"]]}
    assert [flow.name for flow in load_bundle_text(text(only)).flows] == ["Newsletter"]


def test_an_empty_export_object_loads_as_an_empty_bundle() -> None:
    assert load_bundle_text('{"flows": [], "connections": [], "secrets": []}').counts["flows"] == 0


def test_secret_values_are_dropped_and_warned_about(
    official: Document, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    leaky = copy.deepcopy(official)
    leaky["secrets"][0]["devValue"] = PLANTED
    leaky["secrets"][1]["prodValue"] = PG_PASSWORD_VALUE
    leaky["connections"][0]["devOAuthToken"] = {"accessToken": TOKEN}
    loaded = load_official_text(text(leaky))
    assert any("values of 2 secret(s)" in warning for warning in loaded.warnings)
    assert any("OAuth tokens of 1 connection(s)" in warning for warning in loaded.warnings)
    everything = dump_bundle(loaded.bundle) + dump_official(loaded.bundle) + repr(loaded)
    for value in (PLANTED, PG_PASSWORD_VALUE, TOKEN):
        assert value not in everything
        assert value not in " ".join(loaded.warnings)
    # load_bundle has no result to carry them: it logs them as warnings
    path = tmp_path / "leaky.json"
    path.write_text(text(leaky), encoding="utf-8")
    with caplog.at_level("WARNING", logger="ziggy_migrate"):
        load_bundle(path)
    logged = [record for record in caplog.records if record.levelname == "WARNING"]
    assert any("values of 2 secret(s)" in record.getMessage() for record in logged)
    assert PLANTED not in caplog.text


def with_schedules(official: Document) -> Document:
    """The file with a top-level schedule of Orders (a server row, bookkeeping and all)
    and one nested in Invoices without a ``flowUuid``."""
    orders = next(flow for flow in official["flows"] if flow["name"] == "Orders")
    document = copy.deepcopy(official)
    document["schedules"] = [
        {
            "tenantId": "##solo##",
            "uuid": "s-1",
            "name": "nightly",
            "config": "0 2 * * *",
            "isPaused": False,
            "executionMode": "PROD",
            "numExecutions": 41,
            "flowUuid": orders["uuid"],
            "createdAt": "2020-01-01T00:00:00Z",
            "updatedAt": "2020-01-01T00:00:00Z",
            "isDeleted": False,
        }
    ]
    nested_flow = next(flow for flow in document["flows"] if flow["name"] == "Invoices")
    nested_flow["schedules"] = [
        {"uuid": "s-2", "name": "hourly", "config": "0 * * * *", "isPaused": None}
    ]
    return document


def test_schedules_come_into_the_bundle(official: Document) -> None:
    document = with_schedules(official)
    orders = next(flow for flow in document["flows"] if flow["name"] == "Orders")
    invoices = next(flow for flow in document["flows"] if flow["name"] == "Invoices")
    loaded = load_official_text(text(document))
    assert loaded.bundle.schedules == (
        Schedule(  # nested: its flow's, and null read as the empty value
            uuid="s-2", name="hourly", config="0 * * * *", flow_uuid=invoices["uuid"]
        ),
        Schedule(  # the server's counter and bookkeeping are not carried
            uuid="s-1",
            name="nightly",
            config="0 2 * * *",
            execution_mode="PROD",
            flow_uuid=orders["uuid"],
        ),
    )
    assert [(row["uuid"], row["flowUuid"]) for row in loaded.schedules] == [
        ("s-1", orders["uuid"]),
        ("s-2", invoices["uuid"]),  # the rows as the file holds them, with their flow
    ]
    assert "flowUuid" not in invoices["schedules"][0]  # the document is not changed
    assert loaded.warnings == ()
    assert loaded.bundle.unresolved_references == ()
    without = load_bundle_text(text(official))
    assert attrs.evolve(loaded.bundle, schedules=()) == without


def test_a_schedule_of_a_flow_the_file_lacks_is_an_unresolved_reference(
    official: Document,
) -> None:
    document = copy.deepcopy(official)
    document["schedules"] = [{"uuid": "s-9", "name": "nightly", "flowUuid": "gone-flow"}]
    loaded = load_official_text(text(document))
    assert loaded.bundle.unresolved_references == (
        UnresolvedReference(item_uuid="s-9", kind=ItemKind.FLOW, reference="gone-flow"),
    )
    assert len(loaded.warnings) == 1 and "gone-flow" in loaded.warnings[0]


@pytest.mark.parametrize(
    ("schedules", "location", "fragment"),
    [
        (["nightly"], "$.schedules[0]", "a schedule row is a JSON object"),
        ([{"name": "nightly", "flowUuid": "f"}], "$.schedules[0].uuid", "needs a uuid"),
        ([{"uuid": "s-1", "name": "nightly"}], "$.schedules[0]", "flowUuid"),
    ],
    ids=["not an object", "no uuid", "no flow"],
)
def test_a_broken_schedule_row_names_its_official_path(
    official: Document, schedules: list[Any], location: str, fragment: str
) -> None:
    document = copy.deepcopy(official)
    document["schedules"] = schedules
    with pytest.raises(BundleError) as caught:
        load_official_text(text(document))
    assert caught.value.location == location
    assert fragment in str(caught.value)


def test_an_official_file_brings_its_schedules_paused(
    dev: tuple[ZiggyEmulator, DevServer], official: Document
) -> None:
    loaded = load_bundle_text(text(with_schedules(official)))
    with ZiggyEmulator(name="prod") as prod, client_for(prod) as client:
        report = import_bundle(client, loaded, mode="overwrite", backup=False)
        assert report.ok
        state = prod.snapshot()
    flows = {row["uuid"]: row["name"] for row in state["flows"]}
    assert sorted(
        (flows[row["flowUuid"]], row["name"], row["isPaused"]) for row in state["schedules"]
    ) == [
        ("Invoices", "hourly", True),
        ("Orders", "nightly", True),  # it runs on the source: created paused, and listed
    ]
    assert [(s.name, s.flow_name) for s in report.schedules_paused] == [
        ("hourly", "Invoices"),
        ("nightly", "Orders"),
    ]


def test_private_variables_are_said_to_travel_as_shared(official: Document) -> None:
    private = copy.deepcopy(official)
    private["variables"][0]["privateFlowUUID"] = private["flows"][0]["uuid"]
    warnings = load_official_text(text(private)).warnings
    assert any("private to a flow" in warning for warning in warnings)


# ------------------------------------------------------------------ strict where it matters


def _break(document: Document, where: str) -> Any:
    """A copy of ``document`` broken in one way; returns the broken document."""
    doc = copy.deepcopy(document)
    flow0 = doc["flows"][0]
    if where == "row not an object":
        doc["flows"][1] = "Orders"
    elif where == "uuid missing":
        del flow0["uuid"]
    elif where == "uuid empty":
        doc["connections"][1]["uuid"] = ""
    elif where == "name missing":
        del flow0["name"]
    elif where == "nodes an object":
        flow0["nodes"] = {"1": {"id": "1"}}
    elif where == "tags a string":
        flow0["tags"] = "sales"
    elif where == "connections not a list":
        doc["connections"] = {"uuid": "x"}
    elif where == "nested not a list":
        flow0["connections"] = "pg"
    elif where == "nested row disagrees":
        flow0["connections"] = [dict(doc["connections"][0], name="Renamed")]
    elif where == "duplicate flow":
        doc["flows"].append(copy.deepcopy(flow0))
    elif where == "duplicate secret name":
        doc["secrets"].append(dict(doc["secrets"][0], uuid="another-uuid"))
    elif where == "secret name not an identifier":
        doc["secrets"][0]["name"] = "not an identifier"
    elif where == "connection without type":
        doc["connections"][0]["type"] = None
    return doc


BROKEN = [
    ("row not an object", "$.flows[1]", "JSON object, not a string"),
    ("uuid missing", "$.flows[0].uuid", "needs a uuid"),
    ("uuid empty", "$.connections[1].uuid", "needs a uuid"),
    ("name missing", "$.flows[0]", "'name' is a required property"),
    ("nodes an object", "$.flows[0].nodes", "is not of type 'array'"),
    ("tags a string", "$.flows[0].tags", "is not of type 'array'"),
    ("connections not a list", "$.connections", "must be a list of rows"),
    ("nested not a list", "$.flows[0].connections", "must be a list of rows"),
    ("nested row disagrees", "$.flows[0].connections[0].name", "differs from the row at"),
    ("duplicate flow", "$.flows[6].uuid", "duplicate uuid"),
    ("duplicate secret name", "$.secrets[2].name", "duplicate name"),
    ("secret name not an identifier", "$.secrets[0].name", "does not match"),
    ("connection without type", "$.connections[0].type", "None is not of type 'string'"),
]


@pytest.mark.parametrize(
    ("where", "location", "fragment"), BROKEN, ids=[case[0] for case in BROKEN]
)
def test_what_matters_is_checked_naming_the_official_path(
    official: Document, where: str, location: str, fragment: str, tmp_path: Path
) -> None:
    broken = _break(official, where)
    with pytest.raises(BundleError) as caught:
        load_bundle_text(text(broken))
    error = caught.value
    assert error.location == location
    assert fragment in error.reason
    assert "\n" not in str(error)
    path = tmp_path / "zexport.json"
    path.write_text(text(broken), encoding="utf-8")
    with pytest.raises(BundleError) as in_file:
        load_bundle(path)
    assert str(in_file.value) == f"{path}: {location}: {error.reason}"


def test_a_bare_array_names_its_own_paths(official: Document) -> None:
    flows = copy.deepcopy(official["flows"])
    flows[2]["nodes"] = "none"
    with pytest.raises(BundleError) as caught:
        load_bundle_text(text(flows))
    assert caught.value.location == "$[2].nodes"
    assert "also at" not in caught.value.reason
    flows[2]["nodes"] = []
    flows.append(copy.deepcopy(flows[0]))
    with pytest.raises(BundleError, match=r"also at \$\[0\]") as duplicate:
        load_bundle_text(text(flows))
    assert duplicate.value.location == f"$[{len(flows) - 1}].uuid"


def test_a_flow_graph_too_deep_names_the_official_row(official: Document) -> None:
    deep: Any = "leaf"
    for _ in range(200):
        deep = {"child": deep}
    flows = copy.deepcopy(official["flows"])
    flows[1]["nodes"] = [{"id": "x", "data": deep}]
    with pytest.raises(BundleError) as caught:
        load_bundle_text(text(flows))
    assert caught.value.location == "$[1]"
    assert "nests more than" in caught.value.reason


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("[]", "not an array"),
        ('{"connections": []}', "schemaVersion"),
        ('"flows"', "not a string"),
    ],
)
def test_what_is_neither_a_bundle_nor_an_official_file_is_refused(raw: str, fragment: str) -> None:
    with pytest.raises(BundleError, match=fragment):
        load_bundle_text(raw)
    with pytest.raises(BundleError, match="not an official ziggy export file"):
        load_official_text(raw)


# ------------------------------------------------------------------ writing the official shape


def test_official_to_bundle_to_official_keeps_every_contract_column(
    official: Document, tmp_path: Path
) -> None:
    """Exactly what survives: every column of the server's rows, each portable value as
    it was and the server's bookkeeping re-created with the documented neutral values;
    never a credential; not the columns nobody documented."""
    noisy = copy.deepcopy(official)
    noisy["flows"][0]["columnFromTheFuture"] = 1
    noisy["secrets"][0]["devValue"] = PLANTED
    noisy["connections"][0]["prodOAuthToken"] = TOKEN
    bundle_path = save_bundle(load_bundle_text(text(noisy)), tmp_path / "bundle.json")
    back = json.loads(dump_official(load_bundle(bundle_path)))
    exported_at = load_bundle(bundle_path).provenance.exported_at
    assert list(back) == list(KINDS)
    for plural in KINDS:
        kind = next(kind for kind in ItemKind if kind.plural == plural)
        written = {row["uuid"]: row for row in back[plural]}
        assert sorted(written) == sorted(row["uuid"] for row in official[plural])
        for original in noisy[plural]:
            row = written[original["uuid"]]
            assert list(row) == list(COLUMNS[kind])
            credentials = {"devValue", "prodValue"} if plural == "secrets" else set(NOT_WRITTEN)
            lost = set(original) - set(row)
            assert lost <= credentials | {"columnFromTheFuture"}, f"{plural}: lost {lost}"
            for column in set(original) & set(row):
                if column in ("createdAt", "updatedAt"):
                    assert row[column] == exported_at
                elif column in BOOKKEEPING:
                    assert row[column] == BOOKKEEPING[column]
                else:
                    assert row[column] == original[column], f"{plural}.{column}"
    assert exported_at == max(row["updatedAt"] for kind in KINDS for row in official[kind])
    dumped = json.dumps(back)
    for absent in ("columnFromTheFuture", PLANTED, TOKEN, "OAuthToken", 'devValue": null'):
        assert absent not in dumped
    assert all("devValue" not in row for row in back["secrets"])


def test_bundle_to_official_to_bundle_is_the_same_bundle(
    production_bundle: Bundle, tmp_path: Path
) -> None:
    path = save_official(production_bundle, tmp_path / "zexport.json")
    again = load_bundle(path)
    assert items(again) == items(production_bundle)
    # the unresolved references have no place in the official file and are found again
    assert set(again.unresolved_references) == set(production_bundle.unresolved_references)


def test_dump_official_is_the_server_export_shape(
    dev: tuple[ZiggyEmulator, DevServer], official: Document
) -> None:
    """Our official file has the server export's rows, less the OAuth token columns."""
    with client_for(dev[0]) as client:
        ours = json.loads(dump_official(export_flows(client).bundle))
    assert list(ours) == list(official)
    for plural in KINDS:
        assert [set(row) for row in ours[plural]] == [
            set(row) - NOT_WRITTEN for row in official[plural]
        ]
        assert [row["uuid"] for row in ours[plural]] == [row["uuid"] for row in official[plural]]
    assert dump_official(load_bundle_text(text(official))).endswith("}\n")


def test_save_official_is_atomic(production_bundle: Bundle, tmp_path: Path) -> None:
    target = tmp_path / "zexport.json"
    target.write_text("old", encoding="utf-8")
    broken = attrs.evolve(
        production_bundle,
        flows=(attrs.evolve(production_bundle.flows[0], nodes=[{"x": float("nan")}]),),
    )
    with pytest.raises(BundleError, match="cannot be written"):
        save_official(broken, target)
    assert target.read_text(encoding="utf-8") == "old"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["zexport.json"]


# ------------------------------------------------------------------ downstream: the same


def test_an_official_file_imports_like_our_own_bundle(
    dev: tuple[ZiggyEmulator, DevServer], official: Document
) -> None:
    loaded = load_bundle_text(text(nest_relations(copy.deepcopy(official))))
    with ZiggyEmulator(name="prod") as prod, client_for(prod) as client:
        plan = plan_import(client, loaded, mode="overwrite")
        assert {item.action.value for item in plan.items} == {"CREATE"}
        report = import_bundle(client, loaded, mode="overwrite", backup=False)
        assert report.ok
        state = prod.snapshot()
        orders = next(flow for flow in state["flows"] if flow["name"] == "Orders")
        pg = next(row for row in state["connections"] if row["name"] == "Orders DB")
        assert orders["nodes"][0]["data"]["connectionUuid"] == pg["uuid"]  # rewired
        assert sorted(report.secrets_needing_values) == ["HUBSPOT_KEY", "PG_PASSWORD"]
        again = import_bundle(client, loaded, mode="overwrite", backup=False)
        # the first import recorded what each item became: the binding file finds them
        assert {item.match_method.value for item in again.items} == {"binding"}
        assert len(prod.snapshot()["flows"]) == len(official["flows"])


# ------------------------------------------------------------------ system backup


def test_download_backup_saves_the_transfer_file_owner_only(
    dev: tuple[ZiggyEmulator, DevServer], tmp_path: Path
) -> None:
    ziggy = dev[0]
    target = tmp_path / "dev.dump"
    target.write_bytes(b"an older backup")
    os.chmod(target, 0o644)
    with client_for(ziggy) as client:
        saved = download_backup(client, target)
    assert saved == target
    assert target.read_bytes() == ziggy.transfer_file
    assert target.read_bytes().startswith(b"PGDMP")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    calls = [(r.method, r.path) for r in ziggy.requests if r.path.startswith("/api/system")]
    assert calls == [("POST", "/api/system/transfer-db"), ("GET", "/api/system/download-transfer")]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["dev.dump"]


def test_an_empty_transfer_file_writes_nothing(
    dev: tuple[ZiggyEmulator, DevServer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "dev.dump"
    with client_for(dev[0]) as client:
        monkeypatch.setattr(client, "download_transfer_file", lambda: b"")
        with pytest.raises(BackupFailedError, match="empty"):
            download_backup(client, target)
    assert list(tmp_path.iterdir()) == []


def test_downloading_before_a_transfer_file_is_made_is_not_found() -> None:
    with ZiggyEmulator() as ziggy, client_for(ziggy) as client, pytest.raises(NotFoundError):
        client.download_transfer_file()
