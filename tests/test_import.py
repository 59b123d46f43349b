"""plan_import / import_bundle between two emulators: matching, modes, safety, reports."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ziggy_migrate import (
    PRE_IMPORT_SAVE_NAME,
    BackupFailedError,
    Bundle,
    Connection,
    Flow,
    ImportMode,
    ItemKind,
    Provenance,
    Schedule,
    Secret,
    SourceServer,
    Structure,
    Variable,
    export_flows,
    import_bundle,
    plan_import,
)
from ziggy_migrate._bundle.references import find_references
from ziggy_migrate.testing import FaultPlan, ZiggyEmulator

from .samples import DevServer, client_for

SOURCE_UUID = "11111111-1111-4111-8111-111111111111"
HOST_FLOW_UUID = "22222222-2222-4222-8222-222222222222"  # the flow a schedule triggers
PROVENANCE = Provenance(
    source=SourceServer(url="http://dev.invalid:3000", name="dev"),
    tool_version="test",
    exported_at="2026-01-01T00:00:00Z",
)


# -- the matching x mode matrix, for every kind ------------------------------------------------


def _bundle_item(kind: ItemKind) -> Any:
    """One bundle item of ``kind`` named "Thing" (secrets need an identifier)."""
    if kind is ItemKind.FLOW:
        return Flow(uuid=SOURCE_UUID, name="Thing", tags=("new",), nodes=[{"id": "a", "data": {}}])
    if kind is ItemKind.CONNECTION:
        return Connection(uuid=SOURCE_UUID, name="Thing", type="Postgres", dev_value="{ new: 1 }")
    if kind is ItemKind.SECRET:
        return Secret(uuid=SOURCE_UUID, name="Thing", description="new")
    if kind is ItemKind.STRUCTURE:
        return Structure(uuid=SOURCE_UUID, name="Thing", value="interface New {}")
    if kind is ItemKind.SCHEDULE:
        return Schedule(uuid=SOURCE_UUID, name="Thing", config="new", flow_uuid=HOST_FLOW_UUID)
    return Variable(uuid=SOURCE_UUID, name="Thing", value="new")


def _bundle_of(kind: ItemKind) -> Bundle:
    items: dict[str, Any] = {kind.plural: (_bundle_item(kind),)}
    if kind is ItemKind.SCHEDULE:  # with the flow it triggers, which prod has by name
        items["flows"] = (Flow(uuid=HOST_FLOW_UUID, name="Host"),)
    return Bundle(provenance=PROVENANCE, **items)


def _seed_target(ziggy: ZiggyEmulator, kind: ItemKind, **fields: Any) -> dict[str, Any]:
    """Put an "old" item of ``kind`` on the target."""
    adders: dict[ItemKind, Callable[..., dict[str, Any]]] = {
        ItemKind.FLOW: lambda **kw: ziggy.add_flow(kw.pop("name"), tags=["old"], **kw),
        ItemKind.CONNECTION: lambda **kw: ziggy.add_connection(
            kw.pop("name"), dev_value="{ old: 1 }", **kw
        ),
        ItemKind.SECRET: lambda **kw: ziggy.add_secret(
            kw.pop("name"), description="old", prod_value="kept", **kw
        ),
        ItemKind.STRUCTURE: lambda **kw: ziggy.add_structure(
            kw.pop("name"), value="interface Old {}", **kw
        ),
        ItemKind.VARIABLE: lambda **kw: ziggy.add_variable(kw.pop("name"), value="old", **kw),
        ItemKind.SCHEDULE: lambda **kw: ziggy.add_schedule(
            kw.pop("name"), flow_uuid=ziggy.add_flow("Host")["uuid"], config="old", **kw
        ),
    }
    return adders[kind](**fields)


_CONTENT_KEY = {
    ItemKind.FLOW: "tags",
    ItemKind.CONNECTION: "devValue",
    ItemKind.SECRET: "description",
    ItemKind.STRUCTURE: "value",
    ItemKind.VARIABLE: "value",
    ItemKind.SCHEDULE: "config",
}
_NEW_CONTENT: dict[ItemKind, Any] = {
    ItemKind.FLOW: ["new"],
    ItemKind.CONNECTION: "{ new: 1 }",
    ItemKind.SECRET: "new",
    ItemKind.STRUCTURE: "interface New {}",
    ItemKind.VARIABLE: "new",
    ItemKind.SCHEDULE: "new",
}


@pytest.mark.parametrize("kind", list(ItemKind), ids=lambda k: k.value)
@pytest.mark.parametrize("match", ["uuid", "name", "unmatched"])
@pytest.mark.parametrize("mode", list(ImportMode), ids=lambda m: m.value)
def test_matching_and_mode_matrix(
    prod: ZiggyEmulator, kind: ItemKind, match: str, mode: ImportMode
) -> None:
    other_name = "Renamed_on_target" if kind is ItemKind.SECRET else "Renamed on target"
    if match == "uuid":
        old = _seed_target(prod, kind, name=other_name, uuid=SOURCE_UUID)
    elif match == "name":
        old = _seed_target(prod, kind, name="Thing")
    else:
        old = _seed_target(prod, kind, name=other_name)

    with client_for(prod) as client:
        report = import_bundle(client, _bundle_of(kind), mode=mode, backup=False)

    [item] = report.of_kind(kind)
    if kind is ItemKind.SCHEDULE and mode is ImportMode.DUPLICATE and match == "name":
        # the flow is duplicated, and the copy has no schedule of that name yet: the
        # schedule is created for the copy; the original flow keeps its own
        [host] = report.of_kind(ItemKind.FLOW)
        assert host.result.value == "RENAME"
        match = "unmatched"
    assert item.match_method.value == match
    assert item.is_processed and item.error is None
    rows = {row["uuid"]: row for row in prod.snapshot()[kind.plural]}
    key = _CONTENT_KEY[kind]
    if match == "unmatched":
        expected = "CREATE"
        assert len(rows) == 2
        assert item.uuid in rows and item.uuid != old["uuid"]
        assert rows[item.uuid][key] == _NEW_CONTENT[kind]
        assert rows[old["uuid"]][key] == old[key]
    elif mode is ImportMode.SKIP:
        expected = "LEAVE"
        assert item.uuid == old["uuid"]
        assert list(rows) == [old["uuid"]]
        assert rows[old["uuid"]][key] == old[key]
    elif mode is ImportMode.DUPLICATE:
        expected = "RENAME"
        assert len(rows) == 2
        assert item.uuid != old["uuid"]
        created = rows[item.uuid]
        assert created["name"] == (
            "Thing_imported" if kind is ItemKind.SECRET else "Thing (imported)"
        )
        assert created[key] == _NEW_CONTENT[kind]
        assert rows[old["uuid"]][key] == old[key]
    else:
        expected = "OVERWRITE"
        assert item.uuid == old["uuid"]
        assert list(rows) == [old["uuid"]]
        assert rows[old["uuid"]][key] == _NEW_CONTENT[kind]
        assert rows[old["uuid"]]["name"] == "Thing"
    assert item.result.value == expected
    assert report.to_dict()["data"][f"{kind.plural}Processed"][0]["result"] == expected


# -- safety: named saves, backups, secret values, dry runs -------------------------------------


def test_pre_import_save_is_made_exactly_for_overwritten_flows(
    production_bundle: Bundle, prod: ZiggyEmulator
) -> None:
    kept = prod.add_flow("Orders", nodes=[{"id": "old", "data": {"v": 1}}])
    bundle = production_bundle
    with client_for(prod) as client:
        report = import_bundle(client, bundle, mode="overwrite")
    saves = prod.snapshot()["namedSaves"]
    assert [(s["flowUUID"], s["saveName"]) for s in saves] == [(kept["uuid"], PRE_IMPORT_SAVE_NAME)]
    assert saves[0]["flowHistory"]["nodes"] == [{"id": "old", "data": {"v": 1}}]
    overwritten = [i for i in report.of_kind(ItemKind.FLOW) if i.result.value == "OVERWRITE"]
    assert [i.uuid for i in overwritten] == [kept["uuid"]]


def test_backup_is_made_before_the_first_write(
    production_bundle: Bundle, prod: ZiggyEmulator
) -> None:
    bundle = production_bundle
    with client_for(prod) as client:
        client.login()
        prod.reset_requests()
        report = import_bundle(client, bundle, mode="overwrite")
    writes = [r for r in prod.requests if r.method != "GET"]
    assert writes[0].path == "/api/system/backup-db"
    assert len(prod.snapshot()["backups"]) == 1
    assert report.backup is not None and report.backup.ok
    assert report.to_dict()["data"]["backup"]["localBackupStatus"] == "success"


def test_no_backup_when_turned_off(production_bundle: Bundle, prod: ZiggyEmulator) -> None:
    bundle = production_bundle
    with client_for(prod) as client:
        report = import_bundle(client, bundle, mode="overwrite", backup=False)
    assert prod.request_count("POST", "/api/system/backup-db") == 0
    assert report.backup is None and report.ok


def test_failed_backup_writes_nothing(production_bundle: Bundle, prod: ZiggyEmulator) -> None:
    prod.backup_status = "failed"
    prod.add_flow("Orders")
    before = prod.snapshot()
    bundle = production_bundle
    with client_for(prod) as client, pytest.raises(BackupFailedError, match="nothing was imported"):
        import_bundle(client, bundle, mode="overwrite")
    after = prod.snapshot()
    assert {k: v for k, v in after.items() if k != "backups"} == {
        k: v for k, v in before.items() if k != "backups"
    }
    assert [r.method for r in prod.requests if r.method not in ("GET",)] == ["POST", "POST"]


def test_nothing_to_write_means_no_backup(prod: ZiggyEmulator) -> None:
    prod.add_variable("Thing", value="old")
    with client_for(prod) as client:
        report = import_bundle(client, _bundle_of(ItemKind.VARIABLE), mode="skip")
    assert report.backup is None
    assert prod.request_count("POST", "/api/system/backup-db") == 0


def test_dry_run_writes_nothing_and_shows_the_plan(
    production_bundle: Bundle, prod: ZiggyEmulator
) -> None:
    prod.add_flow("Orders")
    bundle = production_bundle
    with client_for(prod) as client:
        client.login()
        prod.reset_requests()
        report = import_bundle(client, bundle, mode="overwrite", dry_run=True)
        plan = plan_import(client, bundle, mode="overwrite")
    assert {r.method for r in prod.requests} == {"GET"}
    assert report.dry_run and report.to_dict()["status"] == 200
    assert not any(item.is_processed for item in report.items)
    by_name = {i.name: i.result.value for i in report.of_kind(ItemKind.FLOW)}
    assert by_name == {
        "Orders": "OVERWRITE",
        "Invoices": "CREATE",
        "Enrich order": "CREATE",
        "Score order": "CREATE",
    }
    assert [(p.name, p.action.value) for p in plan.items] == [
        (i.name, i.result.value) for i in report.items
    ]
    assert "OVERWRITE" in repr(plan) and "<table " in plan._repr_html_()


def test_overwriting_a_secret_never_touches_its_values(prod: ZiggyEmulator) -> None:
    old = prod.add_secret("Thing", dev_value="dev-kept", prod_value="prod-kept", description="old")
    with client_for(prod) as client:
        report = import_bundle(client, _bundle_of(ItemKind.SECRET), mode="overwrite", backup=False)
    [row] = prod.snapshot()["secrets"]
    assert (row["uuid"], row["description"]) == (old["uuid"], "new")
    assert (row["devValue"], row["prodValue"]) == ("dev-kept", "prod-kept")
    assert report.secrets_needing_values == ()


def test_created_secrets_have_no_value_and_are_listed(
    production_bundle: Bundle, prod: ZiggyEmulator
) -> None:
    prod.add_secret("HUBSPOT_KEY")  # exists, but holds no value
    bundle = production_bundle
    with client_for(prod) as client:
        report = import_bundle(client, bundle, mode="skip", backup=False)
    for row in prod.snapshot()["secrets"]:
        assert row["devValue"] is None and row["prodValue"] is None
    assert report.secrets_needing_values == ("HUBSPOT_KEY", "PG_PASSWORD")
    assert report.to_dict()["data"]["secretsNeedingValues"] == ["HUBSPOT_KEY", "PG_PASSWORD"]


def test_secret_value_check_falls_back_to_the_masked_endpoint(prod: ZiggyEmulator) -> None:
    prod.return_secret_values = False
    prod.add_secret("Thing", prod_value="set")
    prod.add_secret("Other")
    bundle = Bundle(
        provenance=PROVENANCE,
        secrets=(Secret(uuid=SOURCE_UUID, name="Thing"), Secret(uuid="s2", name="Other")),
    )
    with client_for(prod) as client:
        report = import_bundle(client, bundle, mode="skip")
    assert report.secrets_needing_values == ("Other",)
    assert prod.request_count("GET", "/api/secret/get-obfuscated-by-name") == 2


# -- references --------------------------------------------------------------------------------


def test_references_are_rewired_to_the_targets_items(
    dev: tuple[ZiggyEmulator, DevServer], prod: ZiggyEmulator
) -> None:
    source, ids = dev
    target_pg = prod.add_connection("Orders DB", dev_value="{ old: true }")
    with client_for(source) as src:
        bundle = export_flows(src, tags=["production"]).bundle
    with client_for(prod) as client:
        report = import_bundle(client, bundle, mode="overwrite", backup=False)
    assert report.ok
    state = prod.snapshot()
    target_uuids = {kind: {row["uuid"] for row in state[kind.plural]} for kind in ItemKind}
    for flow in state["flows"]:
        refs = find_references(flow["nodes"])
        for kind in (ItemKind.CONNECTION, ItemKind.FLOW, ItemKind.STRUCTURE, ItemKind.VARIABLE):
            assert refs.uuids(kind) <= target_uuids[kind], (flow["name"], kind)
    orders = next(f for f in state["flows"] if f["name"] == "Orders")
    assert find_references(orders["nodes"]).connection_uuids == {target_pg["uuid"]}
    assert ids.pg not in str(state["flows"])
    # the subflow cycle survived: each subflow calls the other by its new UUID
    subs = {f["name"]: f for f in state["flows"]}
    assert find_references(subs["Enrich order"]["nodes"]).flow_uuids == {
        subs["Score order"]["uuid"]
    }
    assert find_references(subs["Score order"]["nodes"]).flow_uuids == {
        subs["Enrich order"]["uuid"]
    }


def test_duplicated_secrets_are_renamed_in_code_and_connection_values(
    dev: tuple[ZiggyEmulator, DevServer], prod: ZiggyEmulator
) -> None:
    source, _ = dev
    prod.add_secret("PG_PASSWORD", prod_value="x")
    with client_for(source) as src:
        bundle = export_flows(src, flow_ids=[_uuid_of(source, "Scratch")]).bundle
    with client_for(prod) as client:
        report = import_bundle(client, bundle, mode="duplicate", backup=False)
    assert report.ok
    state = prod.snapshot()
    assert sorted(s["name"] for s in state["secrets"]) == ["PG_PASSWORD", "PG_PASSWORD_imported"]
    [connection] = state["connections"]
    assert "secrets.PG_PASSWORD_imported" in connection["devValue"]
    assert report.secrets_needing_values == ("PG_PASSWORD_imported",)


def _uuid_of(ziggy: ZiggyEmulator, name: str) -> str:
    return next(str(f["uuid"]) for f in ziggy.snapshot()["flows"] if f["name"] == name)


# -- failures, ambiguity, repeats -----------------------------------------------------------------


def test_ambiguous_name_fails_that_item_and_its_dependants_only(
    production_bundle: Bundle, prod: ZiggyEmulator
) -> None:
    first = prod.add_connection("Orders DB")
    second = prod.add_connection("Orders DB")
    bundle = production_bundle
    with client_for(prod) as client:
        plan = plan_import(client, bundle, mode="overwrite")
        report = import_bundle(client, bundle, mode="overwrite", backup=False)
    [ambiguous] = [p for p in plan.items if p.action.value == "AMBIGUOUS"]
    assert ambiguous.error is not None
    assert first["uuid"] in ambiguous.error and second["uuid"] in ambiguous.error
    by_name = {(i.kind, i.name): i for i in report.items}
    failed = by_name[(ItemKind.CONNECTION, "Orders DB")]
    assert not failed.is_processed and failed.error == ambiguous.error
    # both production flows use that connection, so neither is written; the rest goes on
    for flow in ("Orders", "Invoices"):
        assert not by_name[(ItemKind.FLOW, flow)].is_processed
        assert "Orders DB" in (by_name[(ItemKind.FLOW, flow)].error or "")
    assert by_name[(ItemKind.CONNECTION, "CRM")].is_processed
    assert by_name[(ItemKind.FLOW, "Enrich order")].is_processed
    names = sorted(f["name"] for f in prod.snapshot()["flows"])
    assert names == ["Enrich order", "Score order"]
    assert report.to_dict()["status"] == 207 and not report.ok


def test_content_written_never_points_at_a_removed_shell() -> None:
    """A new flow that fails after its empty shell was made (the subflow it calls could
    not get its "Pre import" save) loses its shell. The content of the flows to be
    overwritten, made during the named saves, is made again without it, so nothing
    written points at the removed flow's UUID."""
    called, caller, note = (f"{digit * 8}-1111-4111-8111-111111111111" for digit in "234")
    bundle = Bundle(
        provenance=PROVENANCE,
        flows=(
            Flow(uuid=called, name="Called", nodes=[{"id": "a", "data": {}}]),
            Flow(uuid=caller, name="Caller", nodes=[{"id": "b", "data": {"flowUuid": called}}]),
            Flow(uuid=note, name="Note", nodes=[{"id": "c", "data": {"code": f"// {caller}"}}]),
        ),
    )
    with ZiggyEmulator() as prod:
        prod.add_flow("Called")  # matched by name: overwritten, so each needs a named save
        kept = prod.add_flow("Note")
        prod.faults = FaultPlan(  # every named save fails, but Note's
            error_rate=1.0,
            methods=frozenset({"POST"}),
            exempt_paths=(
                "/api/auth",
                "/api/flow",
                "/api/system",
                f"/api/ziggy/history-named-save/{kept['uuid']}",
            ),
        )
        with client_for(prod) as client:
            report = import_bundle(client, bundle, mode="overwrite", backup=False)
        flows = {flow["name"]: flow for flow in prod.snapshot()["flows"]}
    outcome = {item.name: item for item in report.items}
    assert not outcome["Called"].is_processed
    assert not outcome["Caller"].is_processed and "Called" in (outcome["Caller"].error or "")
    assert outcome["Note"].is_processed
    assert sorted(flows) == ["Called", "Note"]  # the caller's shell was removed
    assert flows["Note"]["nodes"][0]["data"]["code"] == f"// {caller}"


def test_server_refusing_one_item_does_not_stop_the_others(prod: ZiggyEmulator) -> None:
    bundle = Bundle(
        provenance=PROVENANCE,
        connections=(
            Connection(uuid="c1", name="Good", type="Postgres"),
            Connection(uuid="c2", name="Bad", type="NoSuchType"),
        ),
    )
    with client_for(prod) as client:
        report = import_bundle(client, bundle, mode="overwrite", backup=False)
    outcome = {i.name: i for i in report.items}
    assert outcome["Good"].is_processed
    assert not outcome["Bad"].is_processed and "400" in (outcome["Bad"].error or "")
    assert [c["name"] for c in prod.snapshot()["connections"]] == ["Good"]
    assert report.to_dict()["data"]["connectionsProcessed"][1]["isProcessed"] is False


def test_importing_the_same_bundle_twice_converges(
    production_bundle: Bundle, prod: ZiggyEmulator
) -> None:
    bundle = production_bundle
    with client_for(prod) as client:
        first = import_bundle(client, bundle, mode="overwrite", backup=False)
        state_after_first = prod.snapshot()
        second = import_bundle(client, bundle, mode="overwrite", backup=False)
    assert {i.result.value for i in first.items} == {"CREATE"}
    # the first import recorded its bindings (in the state folder, by default)
    assert {i.match_method.value for i in second.items} == {"binding"}
    assert [i.uuid for i in second.items] == [i.uuid for i in first.items]

    def content(state: dict[str, Any]) -> dict[str, Any]:
        return {
            kind.plural: sorted(
                (
                    {k: v for k, v in row.items() if k not in ("updatedAt", "createdAt")}
                    for row in state[kind.plural]
                ),
                key=lambda row: str(row["uuid"]),
            )
            for kind in ItemKind
        }

    assert content(prod.snapshot()) == content(state_after_first)


def test_same_server_is_flagged(dev: tuple[ZiggyEmulator, DevServer]) -> None:
    source, _ = dev
    with client_for(source) as client:
        bundle = export_flows(client, tags=["marketing"]).bundle
        plan = plan_import(client, bundle, mode="skip")
    assert any("the server it is being imported into" in w for w in plan.warnings)
