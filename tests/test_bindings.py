"""Renames do not duplicate: the binding file between the UUID and the name rule.

The scenario users meet: a bundle from dev is imported into prod (prod gives every item
its own UUID), then items are renamed on dev, and the next export is imported again.
Without a record of what became of what, neither UUID nor name finds prod's copies and
everything renamed is created a second time. All of it runs over HTTP between two
emulators; renames are made through the API, as the editor would.
"""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ziggy_migrate import (
    Action,
    Bundle,
    BundleError,
    ImportIncompleteError,
    ItemKind,
    MatchMethod,
    export_flows,
    import_bundle,
    plan_import,
    promote,
    rollback,
    save_plan,
)
from ziggy_migrate._engine import bindings as bindings_module
from ziggy_migrate.testing import ZiggyEmulator

from .samples import DevServer, client_for
from .test_interrupted_runs import plain_bundle
from .test_untrusted_bundles import finishes, release

KINDS = (
    ItemKind.FLOW,
    ItemKind.CONNECTION,
    ItemKind.SECRET,
    ItemKind.STRUCTURE,
    ItemKind.VARIABLE,
    ItemKind.SCHEDULE,
)


@pytest.fixture
def dev_with_schedule(dev: tuple[ZiggyEmulator, DevServer]) -> tuple[ZiggyEmulator, DevServer]:
    ziggy, ids = dev
    ziggy.add_schedule("Nightly", flow_uuid=ids.orders, config='{"cron": "0 2 * * *"}')
    return ziggy, ids


def _export(ziggy: ZiggyEmulator) -> Bundle:
    with client_for(ziggy, "dev") as client:
        return export_flows(client, tags=["production"]).bundle


def _import(prod: ZiggyEmulator, bundle: Bundle, mode: str = "overwrite", **options: Any) -> Any:
    options.setdefault("backup", False)
    with client_for(prod, "prod") as client:
        return import_bundle(client, bundle, mode=mode, **options)  # type: ignore[arg-type]


def _counts(ziggy: ZiggyEmulator) -> dict[str, int]:
    snapshot = ziggy.snapshot()
    return {kind.plural: len(snapshot[kind.plural]) for kind in KINDS}


def _names(ziggy: ZiggyEmulator, kind: ItemKind) -> list[str]:
    return sorted(row["name"] for row in ziggy.snapshot()[kind.plural])


def _rename_everything_on_dev(ziggy: ZiggyEmulator, ids: DevServer) -> None:
    """Rename one item of every kind, the way the editor would (the API); the secret's
    users are rewritten to its new name, as they must be."""
    with client_for(ziggy, "dev") as client:
        orders = client.get_flow(ids.orders).flow
        client.update_flow(ids.orders, attrs.evolve(orders, name="Orders v2"))
        pg = client.get_connection(ids.pg)
        client.update_connection(
            ids.pg,
            attrs.evolve(
                pg,
                name="Orders database",
                dev_value=pg.dev_value.replace("secrets.PG_PASSWORD", "secrets.DB_PASSWORD"),
                prod_value=pg.prod_value.replace("secrets.PG_PASSWORD", "secrets.DB_PASSWORD"),
            ),
        )
        [secret] = [s.secret for s in client.list_secrets() if s.secret.name == "PG_PASSWORD"]
        client.update_secret(secret.uuid, attrs.evolve(secret, name="DB_PASSWORD"))
        structure = client.get_structure(ids.structure)
        client.update_structure(ids.structure, attrs.evolve(structure, name="OrderRow"))
        variable = client.get_variable(ids.variable)
        client.update_variable(ids.variable, attrs.evolve(variable, name="AWS_REGION"))
        [schedule] = client.list_schedules()
        client.update_schedule(schedule.uuid, attrs.evolve(schedule, name="Every night"))


# -- the scenario ----------------------------------------------------------------------------


def test_items_renamed_on_dev_overwrite_their_copies_and_are_never_duplicated(
    dev_with_schedule: tuple[ZiggyEmulator, DevServer], prod: ZiggyEmulator
) -> None:
    dev, ids = dev_with_schedule
    first = _import(prod, _export(dev))
    assert first.ok
    counts = _counts(prod)
    assert counts == {
        "flows": 4,
        "connections": 2,
        "secrets": 2,
        "structures": 1,
        "variables": 1,
        "schedules": 1,
    }
    uuids = {item.source_uuid: item.uuid for item in first.items}

    _rename_everything_on_dev(dev, ids)
    renamed = _export(dev)
    for _ in range(2):  # import twice into prod: each time the same copies, renamed
        report = _import(prod, renamed)
        assert report.ok
        assert _counts(prod) == counts
        assert {item.source_uuid: item.uuid for item in report.items} == uuids
        assert {item.match_method for item in report.items} == {MatchMethod.BINDING}
        assert {item.result for item in report.items} == {Action.OVERWRITE}
    assert "Orders v2" in _names(prod, ItemKind.FLOW) and "Orders" not in _names(
        prod, ItemKind.FLOW
    )
    assert "Orders database" in _names(prod, ItemKind.CONNECTION)
    assert _names(prod, ItemKind.SECRET) == ["DB_PASSWORD", "HUBSPOT_KEY"]
    assert _names(prod, ItemKind.STRUCTURE) == ["OrderRow"]
    assert _names(prod, ItemKind.VARIABLE) == ["AWS_REGION"]
    assert _names(prod, ItemKind.SCHEDULE) == ["Every night"]
    # and the renamed secret's users point at its new name on prod
    pg = next(c for c in prod.snapshot()["connections"] if c["name"] == "Orders database")
    assert "secrets.DB_PASSWORD" in pg["devValue"]
    processed = report.to_dict()["data"]["flowsProcessed"]
    assert {item["matchMethod"] for item in processed} == {"binding"}


def test_skip_leaves_a_renamed_items_copy_alone_instead_of_creating_it(
    dev_with_schedule: tuple[ZiggyEmulator, DevServer], prod: ZiggyEmulator
) -> None:
    dev, ids = dev_with_schedule
    _import(prod, _export(dev), mode="skip")
    counts = _counts(prod)
    _rename_everything_on_dev(dev, ids)
    report = _import(prod, _export(dev), mode="skip")
    assert _counts(prod) == counts
    assert {(i.result, i.match_method) for i in report.items} == {
        (Action.LEAVE, MatchMethod.BINDING)
    }
    assert "Orders" in _names(prod, ItemKind.FLOW)  # left as it was


def test_deleted_on_prod_and_imported_again(
    dev_with_schedule: tuple[ZiggyEmulator, DevServer], prod: ZiggyEmulator
) -> None:
    dev, ids = dev_with_schedule
    bundle = _export(dev)
    first = _import(prod, bundle)
    [orders] = [i for i in first.of_kind(ItemKind.FLOW) if i.source_uuid == ids.orders]
    assert orders.uuid is not None
    with client_for(prod) as client:
        client.delete_flow(orders.uuid)  # its schedule goes with it

    again = _import(prod, bundle)
    assert again.ok
    [recreated] = [i for i in again.of_kind(ItemKind.FLOW) if i.source_uuid == ids.orders]
    assert (recreated.result, recreated.match_method) == (Action.CREATE, MatchMethod.UNMATCHED)
    assert recreated.stale_binding == orders.uuid
    [schedule] = again.of_kind(ItemKind.SCHEDULE)
    assert schedule.result is Action.CREATE and schedule.stale_binding is not None
    data = again.to_dict()["data"]
    gone = {(item["name"], item["staleBinding"]) for item in data["bindingsGone"]}
    assert ("Orders", orders.uuid) in gone and len(gone) == 2
    assert any("no longer on the target" in warning for warning in data["warnings"])
    assert _names(prod, ItemKind.FLOW).count("Orders") == 1

    third = _import(prod, bundle)  # the binding file now names the new copy
    [bound] = [i for i in third.of_kind(ItemKind.FLOW) if i.source_uuid == ids.orders]
    assert (bound.uuid, bound.match_method) == (recreated.uuid, MatchMethod.BINDING)
    assert third.to_dict()["data"]["bindingsGone"] == []


def test_a_gone_binding_falls_through_to_the_name_rule(
    dev: tuple[ZiggyEmulator, DevServer], prod: ZiggyEmulator
) -> None:
    source, ids = dev
    bundle = _export(source)
    first = _import(prod, bundle)
    [orders] = [i for i in first.of_kind(ItemKind.FLOW) if i.source_uuid == ids.orders]
    assert orders.uuid is not None
    with client_for(prod) as client:
        client.delete_flow(orders.uuid)
    replacement = prod.add_flow("Orders")  # someone made it again by hand
    again = _import(prod, bundle)
    [matched] = [i for i in again.of_kind(ItemKind.FLOW) if i.source_uuid == ids.orders]
    assert (matched.uuid, matched.match_method) == (replacement["uuid"], MatchMethod.NAME)
    assert matched.stale_binding == orders.uuid
    # the table a notebook shows says so on the item's row
    assert f"bound item {orders.uuid} gone" in again._repr_html_()
    assert again.bindings_path is not None
    with client_for(prod) as client:
        plan = plan_import(client, bundle, mode="overwrite", bindings=Path(again.bindings_path))
    # the import bound the replacement: nothing gone any more
    assert not any("no longer on the target" in warning for warning in plan.warnings)
    assert "gone" not in plan._repr_html_()


def test_two_source_items_bound_to_one_target_item_are_refused(
    dev: tuple[ZiggyEmulator, DevServer], prod: ZiggyEmulator, tmp_path: Path
) -> None:
    """A binding file merged by hand: not guessed at, like a name several items share."""
    source, ids = dev
    bundle = _export(source)
    path = tmp_path / "bindings" / "prod.json"
    first = _import(prod, bundle, bindings=path)
    [invoices] = [i for i in first.of_kind(ItemKind.FLOW) if i.source_uuid == ids.invoices]
    document = json.loads(path.read_text("utf-8"))
    document["flows"][ids.orders] = invoices.uuid  # Orders and Invoices -> one prod flow
    path.write_text(json.dumps(document), encoding="utf-8")
    before = prod.snapshot()["flows"]

    report = _import(prod, bundle, bindings=path)
    refused = {i.source_uuid: i for i in report.of_kind(ItemKind.FLOW) if i.error}
    assert set(refused) == {ids.orders, ids.invoices}
    for item in refused.values():
        assert item.match_method is MatchMethod.BINDING
        assert item.is_processed is False
        assert "binding file binds 2 source flows" in (item.error or "")
        assert ids.orders in (item.error or "") and ids.invoices in (item.error or "")
    assert report.to_dict()["status"] == 207
    with client_for(prod) as client:
        plan = plan_import(client, bundle, mode="overwrite", bindings=path)
    shown = plan._repr_html_()
    assert "the binding file binds 2 source flows" in shown and "correct it" in shown
    after = {row["uuid"]: row for row in prod.snapshot()["flows"]}
    assert after[invoices.uuid] == next(r for r in before if r["uuid"] == invoices.uuid)
    assert len(after) == len(before)  # nothing created in their place either


def test_a_binding_to_an_item_another_bundle_item_has_the_uuid_of_is_refused(
    prod: ZiggyEmulator, tmp_path: Path
) -> None:
    taken = prod.add_flow("Taken")
    with client_for(prod) as client:
        bundle = export_flows(client).bundle  # prod's own flow, matched by UUID
    other = "44444444-4444-4444-8444-444444444444"
    bundle = attrs.evolve(
        bundle, flows=(*bundle.flows, attrs.evolve(bundle.flows[0], uuid=other, name="Other"))
    )
    path = tmp_path / "b.json"
    path.write_text(json.dumps({"bindingFormatVersion": 1, "flows": {other: taken["uuid"]}}))
    report = _import(prod, bundle, bindings=path)
    by_source = {i.source_uuid: i for i in report.items}
    assert by_source[taken["uuid"]].match_method is MatchMethod.UUID
    assert by_source[taken["uuid"]].error is None
    assert by_source[other].result is Action.AMBIGUOUS
    assert by_source[other].match_method is MatchMethod.BINDING
    assert taken["uuid"] in (by_source[other].error or "")
    assert _names(prod, ItemKind.FLOW) == ["Taken"]


# -- the binding file --------------------------------------------------------------------------


def test_the_binding_file_is_small_canonical_json_one_target_per_source(
    dev: tuple[ZiggyEmulator, DevServer], prod: ZiggyEmulator, tmp_path: Path
) -> None:
    source, ids = dev
    bundle = _export(source)
    path = tmp_path / "bindings" / "prod.json"
    report = _import(prod, bundle, bindings=path)
    assert report.bindings_path == str(path)
    assert report.to_dict()["data"]["bindingsPath"] == str(path)
    text = path.read_text("utf-8")
    document = json.loads(text)
    assert text == json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert set(document) == {"bindingFormatVersion", *(kind.plural for kind in ItemKind)}
    assert document["bindingFormatVersion"] == 1
    for kind in KINDS:
        expected = {i.source_uuid: i.uuid for i in report.of_kind(kind)}
        assert document[kind.plural] == expected
    assert document["flows"][ids.orders] != ids.orders

    written = path.stat().st_mtime_ns
    again = _import(prod, bundle, bindings=path)  # nothing new: the file is not rewritten
    assert again.bindings_path == str(path)
    assert path.read_text("utf-8") == text
    assert path.stat().st_mtime_ns == written


def test_by_default_bindings_live_in_the_state_folder_per_server(
    dev: tuple[ZiggyEmulator, DevServer], prod: ZiggyEmulator, tmp_path: Path
) -> None:
    source, _ = dev
    bundle = _export(source)
    report = _import(prod, bundle, state_dir=tmp_path)
    expected = tmp_path / "bindings" / f"127.0.0.1-{prod.port}.json"
    assert report.bindings_path == str(expected)
    assert json.loads(expected.read_text("utf-8"))["flows"]
    with ZiggyEmulator(name="other") as other:  # another server: its own file
        elsewhere = _import(other, bundle, state_dir=tmp_path)
        assert {i.match_method for i in elsewhere.items} == {MatchMethod.UNMATCHED}
        assert elsewhere.bindings_path == str(
            tmp_path / "bindings" / f"127.0.0.1-{other.port}.json"
        )


def test_a_dry_run_and_a_plan_read_bindings_but_write_none(
    dev: tuple[ZiggyEmulator, DevServer], prod: ZiggyEmulator, tmp_path: Path
) -> None:
    source, ids = dev
    bundle = _export(source)
    path = tmp_path / "prod.json"
    dry = _import(prod, bundle, bindings=path, dry_run=True)
    assert not path.exists() and dry.bindings_path is None
    _import(prod, bundle, bindings=path)
    with client_for(source) as client:
        orders = client.get_flow(ids.orders).flow
        client.update_flow(ids.orders, attrs.evolve(orders, name="Orders v2"))
    renamed = _export(source)
    text = path.read_text("utf-8")
    with client_for(prod, "prod") as client:
        plan = plan_import(client, renamed, mode="overwrite", bindings=path)
        [planned] = [i for i in plan.of_kind(ItemKind.FLOW) if i.source_uuid == ids.orders]
        assert (planned.match, planned.action) == (MatchMethod.BINDING, Action.OVERWRITE)
        # without the binding file, the renamed flow would be new
        unbound = plan_import(client, renamed, mode="overwrite", bindings=tmp_path / "none.json")
        [fresh] = [i for i in unbound.of_kind(ItemKind.FLOW) if i.source_uuid == ids.orders]
        assert fresh.action is Action.CREATE
        saved = save_plan(plan, tmp_path / "plan.json")
        assert saved.exists()
        report = import_bundle(client, renamed, plan=plan, bindings=path, backup=False)
    assert report.ok
    assert path.read_text("utf-8") == text  # the same bindings, so the same file
    assert "Orders v2" in _names(prod, ItemKind.FLOW)


def test_a_binding_file_that_cannot_be_written_is_a_warning_not_a_lost_report(
    dev: tuple[ZiggyEmulator, DevServer],
    prod: ZiggyEmulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def full_disk(*args: Any, **kwargs: Any) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(bindings_module, "write_atomically", full_disk)
    source, _ = dev
    report = _import(prod, _export(source), bindings=tmp_path / "prod.json")
    assert report.ok and report.bindings_path is None
    assert any("could not be written" in w and "No space" in w for w in report.warnings)
    assert len(prod.snapshot()["flows"]) == 4


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b'{"bindingFormatVersion": 1, "flows": {"a": "b"}, "flows": {}}', "twice"),
        (b'{"bindingFormatVersion": 1, "flows": {"a": "b", "a": "c"}}', "twice"),
        (b'{"bindingFormatVersion": 1, "flows": {"a": "b"},', "not valid JSON"),
        (b'{"bindingFormatVersion": 2}', "format 1"),
        (b'{"flows": {}}', "format 1"),
        (b'{"bindingFormatVersion": 1, "widgets": {}}', "unknown key 'widgets'"),
        (b'{"bindingFormatVersion": 1, "flows": ["a"]}', "source UUIDs to target UUIDs"),
        (b'{"bindingFormatVersion": 1, "flows": {"a": 3}}', "source UUIDs to target UUIDs"),
        (b'{"bindingFormatVersion": 1, "flows": {"a": NaN}}', "NaN"),
        (b"[]", "JSON object"),
        (b"\xff\xfe", "UTF-8"),
    ],
    ids=[
        "duplicate kind",
        "duplicate source",
        "broken JSON",
        "newer format",
        "no format",
        "unknown kind",
        "not a map",
        "not a uuid",
        "NaN",
        "not an object",
        "not UTF-8",
    ],
)
def test_a_broken_binding_file_is_refused_before_anything_is_written(
    dev: tuple[ZiggyEmulator, DevServer],
    prod: ZiggyEmulator,
    tmp_path: Path,
    content: bytes,
    fragment: str,
) -> None:
    source, _ = dev
    bundle = _export(source)
    path = tmp_path / "prod.json"
    path.write_bytes(content)
    with client_for(prod) as client, pytest.raises(BundleError) as caught:
        import_bundle(client, bundle, mode="overwrite", bindings=path)
    message = str(caught.value)
    assert message.startswith(str(path))
    assert fragment in message and "binding file" in message
    assert "\n" not in message
    assert prod.request_count("PUT") == prod.request_count("DELETE") == 0
    assert prod.request_count("POST") <= 1  # the login at most
    assert path.read_bytes() == content  # and left as it was


def test_a_rollback_neither_reads_nor_writes_bindings(
    dev: tuple[ZiggyEmulator, DevServer], prod: ZiggyEmulator, tmp_path: Path
) -> None:
    source, _ = dev
    bundle = _export(source)
    _import(prod, bundle, state_dir=tmp_path)
    report = _import(prod, bundle, state_dir=tmp_path, rollback_dir=tmp_path / "rb")
    binding_file = Path(report.bindings_path)
    text = binding_file.read_text("utf-8")
    binding_file.write_text("not even JSON")  # a rollback must not care
    with client_for(prod) as client:
        restored = rollback(client, report.rollback_path, backup=False, state_dir=tmp_path)
    assert restored.ok and restored.bindings_path is None
    assert {i.match_method for i in restored.items} == {MatchMethod.UUID}
    assert binding_file.read_text("utf-8") == "not even JSON"
    assert text


def test_promote_records_bindings_where_it_is_told(
    dev: tuple[ZiggyEmulator, DevServer], prod: ZiggyEmulator, tmp_path: Path
) -> None:
    source, ids = dev
    path = tmp_path / "prod.json"
    with client_for(source, "dev") as src, client_for(prod, "prod") as dst:
        first = promote(
            src,
            dst,
            tags=["production"],
            mode="overwrite",
            backup=False,
            bundle_dir=tmp_path,
            bindings=path,
        )
        orders = src.get_flow(ids.orders).flow
        src.update_flow(ids.orders, attrs.evolve(orders, name="Orders v2"))
        second = promote(
            src,
            dst,
            tags=["production"],
            mode="overwrite",
            backup=False,
            bundle_dir=tmp_path,
            bindings=path,
        )
    assert first.report.bindings_path == str(path) == second.report.bindings_path
    assert {i.match_method for i in second.report.items} == {MatchMethod.BINDING}
    assert len(prod.snapshot()["flows"]) == 4


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
def test_a_binding_file_that_is_a_fifo_is_refused_before_it_is_read(
    dev: tuple[ZiggyEmulator, DevServer], prod: ZiggyEmulator, tmp_path: Path
) -> None:
    """A bundle folder from a pull request may hold anything at bindings/SERVER.json."""
    source, _ = dev
    bundle = _export(source)
    path = tmp_path / "prod.json"
    os.mkfifo(path)

    def run() -> None:
        with client_for(prod) as client:
            import_bundle(client, bundle, mode="overwrite", bindings=path)

    error = finishes(run, unblock=release(path))
    assert isinstance(error, BundleError), repr(error)
    assert str(error) == f"{path}: binding file is a FIFO (named pipe), not a regular file"
    assert prod.snapshot()["flows"] == []


def test_an_import_that_stops_records_the_bindings_of_what_it_wrote(
    prod: ZiggyEmulator, tmp_path: Path
) -> None:
    """The written items are on the target whatever stopped the run, so the binding file
    knows them: renamed on the source before the run is repeated, they are still found."""
    bundle = plain_bundle(3)
    path = tmp_path / "prod.json"

    def stop_after_the_connection(done: int, total: int, what: str) -> None:
        if what.startswith("connection"):
            raise RuntimeError("the machine is going down")

    with client_for(prod) as client, pytest.raises(ImportIncompleteError) as stopped:
        import_bundle(
            client,
            bundle,
            mode="overwrite",
            backup=False,
            bindings=path,
            progress=stop_after_the_connection,
        )
    report = stopped.value.report
    written = {item.kind: item for item in report.items if item.is_processed}
    assert set(written) == {ItemKind.SECRET, ItemKind.CONNECTION}
    assert report.bindings_path == str(path)
    recorded = json.loads(path.read_text("utf-8"))
    assert recorded["connections"] == {
        written[ItemKind.CONNECTION].source_uuid: written[ItemKind.CONNECTION].uuid
    }
    assert recorded["flows"] == {}  # none was written

    renamed = attrs.evolve(
        bundle, connections=(attrs.evolve(bundle.connections[0], name="Warehouse v2"),)
    )
    with client_for(prod) as client:
        again = import_bundle(client, renamed, mode="overwrite", backup=False, bindings=path)
    assert again.ok
    [connection] = again.of_kind(ItemKind.CONNECTION)
    assert (connection.match_method, connection.uuid) == (
        MatchMethod.BINDING,
        written[ItemKind.CONNECTION].uuid,
    )
    assert [row["name"] for row in prod.snapshot()["connections"]] == ["Warehouse v2"]


def _plain_updated(
    start: dict[ItemKind, dict[str, str]], bound: list[tuple[ItemKind, str, str]]
) -> dict[ItemKind, dict[str, str]]:
    """What ``Bindings.updated`` does, written the obvious way (one scan per binding)."""
    merged = {kind: dict(start.get(kind, {})) for kind in ItemKind}
    for kind, source, target in bound:
        entries = merged[kind]
        for other in [key for key, value in entries.items() if value == target]:
            del entries[other]
        entries[source] = target
    return {kind: entries for kind, entries in merged.items() if entries}


_few = st.sampled_from(["a", "b", "c", "d", "e"])
_kinds = st.sampled_from([ItemKind.FLOW, ItemKind.SECRET])


@settings(max_examples=300, deadline=None)
@given(
    start=st.dictionaries(_kinds, st.dictionaries(_few, _few, max_size=5), max_size=2),
    bound=st.lists(st.tuples(_kinds, _few, _few), max_size=12),
)
def test_recording_bindings_keeps_one_source_per_target_as_the_plain_rule_does(
    start: dict[ItemKind, dict[str, str]], bound: list[tuple[ItemKind, str, str]]
) -> None:
    """A hand-edited file may bind several sources to one target; recording a binding
    drops every other source's binding to that target, in the order they come."""
    updated = bindings_module.Bindings(start).updated(bound)
    expected = _plain_updated(start, bound)
    assert {kind: list(entries.items()) for kind, entries in updated.by_kind.items()} == {
        kind: list(entries.items()) for kind, entries in expected.items()
    }
