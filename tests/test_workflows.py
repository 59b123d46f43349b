"""Git and promotion workflows: saved plans, diff, bundle folders, subsets, promote."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ziggy_migrate import (
    Bundle,
    BundleError,
    ImportMode,
    ItemKind,
    LayoutName,
    PlanError,
    PlanFileError,
    SelectionError,
    diff_bundles,
    diff_with_server,
    dump_bundle,
    export_flows,
    import_bundle,
    load_bundle,
    load_bundle_text,
    load_plan,
    plan_import,
    promote,
    rollback,
    save_bundle,
    save_plan,
    select_flows,
)
from ziggy_migrate.testing import ZiggyEmulator

from .samples import DevServer, client_for
from .test_reliability import comparable

# -- saved plans --------------------------------------------------------------------------------


def test_a_saved_plan_applies_exactly_when_the_target_is_unchanged(
    production_bundle: Bundle, prod: ZiggyEmulator, tmp_path: Path
) -> None:
    prod.add_flow("Orders")
    bundle = production_bundle
    with client_for(prod) as client:
        plan = plan_import(client, bundle, mode="overwrite")
        path = save_plan(plan, tmp_path / "plan.json")
        loaded = load_plan(path)
        assert loaded == plan
        report = import_bundle(client, bundle, plan=loaded, backup=False)
    assert report.ok
    assert [(i.name, i.result) for i in report.items] == [
        (p.target_name, p.action) for p in plan.items
    ]


def test_a_stale_plan_is_refused_naming_the_items_and_writes_nothing(
    production_bundle: Bundle, prod: ZiggyEmulator, tmp_path: Path
) -> None:
    orders = prod.add_flow("Orders")
    bundle = production_bundle
    with client_for(prod) as client:
        save_plan(plan_import(client, bundle, mode="overwrite"), tmp_path / "plan.json")
        # someone edits the target's flow after the plan was reviewed
        prod.add_flow("Orders", uuid=orders["uuid"], tags=["edited"])
        prod.reset_requests()
        with pytest.raises(PlanError, match="flow 'Orders'") as refused:
            import_bundle(client, bundle, plan=load_plan(tmp_path / "plan.json"))
    assert "Invoices" not in str(refused.value)
    assert {r.method for r in prod.requests} == {"GET"}


def test_a_plan_for_another_bundle_or_server_is_refused(
    dev: tuple[ZiggyEmulator, DevServer], prod: ZiggyEmulator
) -> None:
    source, _ = dev
    with client_for(source) as src:
        bundle = export_flows(src, tags=["production"]).bundle
        other = export_flows(src, tags=["marketing"]).bundle
    with client_for(prod) as client:
        plan = plan_import(client, bundle, mode="skip")
        with pytest.raises(PlanError, match="another bundle"):
            import_bundle(client, other, plan=plan)
        with pytest.raises(PlanError, match="mode skip"):
            import_bundle(client, bundle, plan=plan, mode="overwrite")
    with client_for(source) as wrong_server, pytest.raises(PlanError, match="made for"):
        import_bundle(wrong_server, bundle, plan=plan)


def test_a_broken_plan_file_is_a_plan_error(tmp_path: Path) -> None:
    (tmp_path / "plan.json").write_text("{not json", "utf-8")
    with pytest.raises(PlanError, match="not a readable plan"):
        load_plan(tmp_path / "plan.json")
    (tmp_path / "plan.json").write_text('{"planFormatVersion": 99}', "utf-8")
    with pytest.raises(PlanError, match="format 1"):
        load_plan(tmp_path / "plan.json")
    with pytest.raises(PlanError, match="no plan file"):
        load_plan(tmp_path / "missing.json")


# -- diff -----------------------------------------------------------------------------------------


def test_one_edit_on_the_server_shows_as_exactly_one_changed_field(
    dev: tuple[ZiggyEmulator, DevServer],
) -> None:
    source, ids = dev
    with client_for(source) as client:
        bundle = export_flows(client, tags=["production"]).bundle
        assert not diff_with_server(client, bundle).has_differences
        orders = next(f for f in source.snapshot()["flows"] if f["uuid"] == ids.orders)
        nodes = orders["nodes"]
        nodes[0]["data"]["query"] = "select 2"
        source.add_flow(
            "Orders", uuid=ids.orders, tags=orders["tags"], nodes=nodes, edges=orders["edges"]
        )
        diff = diff_with_server(client, bundle)
    assert [(c.kind, c.name, c.change.value) for c in diff.changes] == [
        (ItemKind.FLOW, "Orders", "changed")
    ]
    assert diff.changes[0].fields == ("nodes[0].data.query",)
    assert diff.to_dict()["summary"]["changed"] == 1


def test_diff_ignores_uuids_that_differ_only_between_instances(
    production_bundle: Bundle, prod: ZiggyEmulator
) -> None:
    bundle = production_bundle
    with client_for(prod) as client:
        report = import_bundle(client, bundle, mode="overwrite", backup=False)
        copied = export_flows(client).bundle
        against_server = diff_with_server(client, bundle)
    assert {f.uuid for f in copied.flows}.isdisjoint({f.uuid for f in bundle.flows})
    # The API cannot set isSubflow (the import warns); every other field, references
    # included, is the same once instance UUIDs are set aside.
    assert any("Enrich order, Score order" in w for w in report.warnings)
    for diff in (against_server, diff_bundles(bundle, copied)):
        assert {(c.name, c.fields) for c in diff.changes} == {
            ("Enrich order", ("isSubflow",)),
            ("Score order", ("isSubflow",)),
        }


def test_bundle_to_bundle_diff_lists_added_removed_changed(
    dev: tuple[ZiggyEmulator, DevServer],
) -> None:
    source, ids = dev
    with client_for(source) as client:
        before = export_flows(client, tags=["production"]).bundle
        [pg] = [c for c in source.snapshot()["connections"] if c["uuid"] == ids.pg]
        source.add_connection(
            "Orders DB",
            uuid=ids.pg,
            type="Postgres",
            dev_value=pg["devValue"].replace("db.dev", "db2.dev"),
            prod_value=pg["prodValue"],
        )
        after = export_flows(client, tags=["production", "marketing"]).bundle
    diff = diff_bundles(before, after)
    got = {(c.kind.value, c.name, c.change.value): c.fields for c in diff.changes}
    assert got == {
        ("flow", "Newsletter", "added"): (),
        ("connection", "Orders DB", "changed"): ("devValue",),
    }
    reverse = diff_bundles(after, before)
    assert ("flow", "Newsletter", "removed") in {
        (c.kind.value, c.name, c.change.value) for c in reverse.changes
    }
    assert "Newsletter" in repr(diff)


# -- bundle folders -------------------------------------------------------------------------------


def test_folder_layout_round_trips_and_names_files_readably(
    dev: tuple[ZiggyEmulator, DevServer], tmp_path: Path
) -> None:
    source, ids = dev
    with client_for(source) as client:
        bundle = export_flows(client, tags=["production"]).bundle
    folder = save_bundle(bundle, tmp_path / "bundle", layout="dir")
    files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*.json"))
    assert "index.json" in files
    assert f"flows/orders--{ids.orders[:8]}.json" in files
    assert f"connections/orders-db--{ids.pg[:8]}.json" in files
    assert len(files) == 1 + sum(bundle.counts.values())
    assert load_bundle(folder) == bundle
    # saving again over it replaces the folder: nothing of a dropped item lingers
    smaller = select_flows(bundle, flow_ids=[ids.invoices])
    save_bundle(smaller, folder, layout="dir")
    assert not (folder / "flows" / f"orders--{ids.orders[:8]}.json").exists()
    assert load_bundle(folder) == smaller


def test_folder_errors_name_the_file(dev: tuple[ZiggyEmulator, DevServer], tmp_path: Path) -> None:
    source, ids = dev
    with client_for(source) as client:
        bundle = export_flows(client, flow_ids=[ids.untagged]).bundle
    folder = save_bundle(bundle, tmp_path / "bundle", layout="dir")
    path = folder / "connections" / f"orders-db--{ids.pg[:8]}.json"
    data = json.loads(path.read_text("utf-8"))
    data["type"] = 5
    path.write_text(json.dumps(data), "utf-8")
    with pytest.raises(BundleError, match=f"connections/orders-db--{ids.pg[:8]}.json"):
        load_bundle(folder)
    with pytest.raises(BundleError, match="not a bundle folder"):
        save_bundle(bundle, tmp_path, layout="dir")


@pytest.mark.parametrize("layout", ["file", "dir"])
def test_export_import_export_round_trip(
    dev: tuple[ZiggyEmulator, DevServer], tmp_path: Path, layout: LayoutName
) -> None:
    source, _ = dev
    with client_for(source) as client:
        first = save_bundle(export_flows(client).bundle, tmp_path / "one", layout=layout)
        # back into the same server: everything matches by UUID, nothing changes
        import_bundle(client, load_bundle(first), mode="overwrite", backup=False)
        second = save_bundle(export_flows(client).bundle, tmp_path / "two", layout=layout)
    assert _texts(first, "exportedAt") == _texts(second, "exportedAt")
    # into an empty server: the same files but for the instance's UUIDs
    with ZiggyEmulator() as empty, client_for(empty) as client:
        import_bundle(client, load_bundle(first), mode="overwrite", backup=False)
        third = save_bundle(export_flows(client).bundle, tmp_path / "three", layout=layout)
        assert comparable(empty.snapshot())["flows"] == comparable(source.snapshot())["flows"]
    changes = diff_bundles(load_bundle(first), load_bundle(third)).changes
    # all the same but for the subflow flag, which the API cannot set (the import warns)
    assert {(c.name, c.fields) for c in changes} == {
        ("Enrich order", ("isSubflow",)),
        ("Score order", ("isSubflow",)),
    }
    if layout == "dir":

        def stems(folder: Path) -> list[str]:
            return sorted(p.name.rsplit("--", 1)[0] for p in folder.rglob("*--*.json"))

        assert stems(first) == stems(third)


def _texts(path: Path, volatile: str) -> dict[str, list[str]]:
    files = sorted(path.rglob("*.json")) if path.is_dir() else [path]
    return {
        str(f.relative_to(path)) if path.is_dir() else "bundle": [
            line for line in f.read_text("utf-8").splitlines() if volatile not in line
        ]
        for f in files
    }


# -- subsets and promotion ------------------------------------------------------------------------


def test_subset_takes_flows_with_exactly_what_they_need(
    dev: tuple[ZiggyEmulator, DevServer],
) -> None:
    source, ids = dev
    with client_for(source) as client:
        everything = export_flows(client).bundle
    part = select_flows(everything, flow_ids=[ids.untagged])
    assert [f.name for f in part.flows] == ["Scratch"]
    assert [c.name for c in part.connections] == ["Orders DB"]
    assert [s.name for s in part.secrets] == ["PG_PASSWORD"]
    tagged = select_flows(everything, tags=["sales"])
    assert sorted(f.name for f in tagged.flows) == ["Enrich order", "Orders", "Score order"]
    assert sorted(s.name for s in tagged.secrets) == ["HUBSPOT_KEY", "PG_PASSWORD"]
    assert load_bundle_text(dump_bundle(tagged)) == tagged
    with pytest.raises(SelectionError, match="no flow with UUID nope"):
        select_flows(everything, flow_ids=["nope"])
    with pytest.raises(SelectionError, match="tags"):
        select_flows(everything, tags=["nothing-has-this"])


def test_subset_import_writes_only_the_selected_part(
    dev: tuple[ZiggyEmulator, DevServer], prod: ZiggyEmulator
) -> None:
    source, ids = dev
    with client_for(source) as src:
        everything = export_flows(src).bundle
    with client_for(prod) as client:
        plan = plan_import(client, everything, mode="skip", tags=["marketing"])
        report = import_bundle(client, everything, mode="skip", flow_ids=[ids.untagged])
    assert [p.name for p in plan.items] == ["Newsletter"]
    state = prod.snapshot()
    assert [f["name"] for f in state["flows"]] == ["Scratch"]
    assert [c["name"] for c in state["connections"]] == ["Orders DB"]
    assert len(report.items) == 3


def test_promote_exports_imports_and_keeps_the_bundle(
    dev: tuple[ZiggyEmulator, DevServer], prod: ZiggyEmulator, tmp_path: Path
) -> None:
    source, _ = dev
    with client_for(source, "dev") as src, client_for(prod, "prod") as dst:
        result = promote(src, dst, tags=["production"], mode="overwrite", bundle_dir=tmp_path)
        dry = promote(src, dst, tags=["production"], mode="overwrite", dry_run=True)
    assert result.report.ok
    assert result.bundle_path.parent == tmp_path
    assert result.bundle_path.name.startswith("promote-dev-to-prod-")
    assert load_bundle(result.bundle_path) == result.export.bundle
    assert sorted(f["name"] for f in prod.snapshot()["flows"]) == [
        "Enrich order",
        "Invoices",
        "Orders",
        "Score order",
    ]
    assert dry.report.dry_run
    # the real promote recorded its bindings, which the dry run then matches by
    assert {i.match_method.value for i in dry.report.items} == {"binding"}
    assert dry.bundle_path.exists()


# -- what saved plans and rollbacks remember ------------------------------------------------------


def test_a_loaded_plan_keeps_its_types_mode_and_selection(
    dev: tuple[ZiggyEmulator, DevServer], prod: ZiggyEmulator, tmp_path: Path
) -> None:
    source, ids = dev
    with client_for(source) as src:
        everything = export_flows(src).bundle
    with client_for(prod) as client:
        plan = plan_import(client, everything, mode="skip", flow_ids=[ids.untagged])
        loaded = load_plan(save_plan(plan, tmp_path / "plan.json"))
        assert loaded.mode is ImportMode.SKIP
        assert {item.kind for item in loaded.items} <= set(ItemKind)
        assert loaded.flow_ids == (ids.untagged,)
        with pytest.raises(PlanError, match="another selection"):
            import_bundle(client, everything, plan=loaded, tags=["sales"])
        # the same mode named again, and no selection repeated: the plan's own is used
        report = import_bundle(client, everything, plan=loaded, mode="skip", backup=False)
    assert [i.name for i in report.of_kind(ItemKind.FLOW)] == ["Scratch"]
    assert report.ok


def test_a_missing_plan_file_is_a_plan_file_error(tmp_path: Path) -> None:
    with pytest.raises(PlanFileError):
        load_plan(tmp_path / "nope.json")


def test_rollback_refuses_a_bundle_saved_from_another_server(
    production_bundle: Bundle, prod: ZiggyEmulator, tmp_path: Path
) -> None:
    prod.add_flow("Orders")
    with client_for(prod) as client:
        report = import_bundle(
            client, production_bundle, mode="overwrite", backup=False, rollback_dir=tmp_path
        )
    assert report.rollback_path is not None
    with ZiggyEmulator() as elsewhere, client_for(elsewhere) as other:
        with pytest.raises(PlanError, match="saved from"):
            rollback(other, report.rollback_path)
        assert {r.method for r in elsewhere.requests} <= {"POST"}  # the login only
        assert elsewhere.request_count("POST") <= 1


def test_export_can_write_a_bundle_folder(
    dev: tuple[ZiggyEmulator, DevServer], tmp_path: Path
) -> None:
    source, _ = dev
    with client_for(source) as client:
        result = export_flows(client, tags=["production"], path=tmp_path / "b", layout="dir")
    assert (tmp_path / "b" / "index.json").is_file()
    assert load_bundle(tmp_path / "b") == result.bundle


def test_errors_in_a_bundle_file_name_the_file_and_the_place(tmp_path: Path) -> None:
    path = tmp_path / "flows.json"
    path.write_text('{"schemaVersion": 1,\n "flows": NaN}', "utf-8")
    with pytest.raises(BundleError) as caught:
        load_bundle(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert "line 2, column 11" in str(caught.value)
    path.write_bytes(b'{"schemaVersion": 1, "x": "\xff"}')
    with pytest.raises(BundleError, match="invalid byte at offset 27"):
        load_bundle(path)
