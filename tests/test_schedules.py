"""Schedules travel with their flows: bundle format 2, export, import, and every part of
the engine that knows the kinds (plan, diff, subset, rollback, saved plans).

Bundles are exported from an emulator seeded with schedules, as a user would make them;
imports go over HTTP into a second emulator, and the assertions read its tables.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import attrs
import pytest

from ziggy_migrate import (
    CURRENT_SCHEMA_VERSION,
    Action,
    Bundle,
    BundleError,
    Flow,
    ItemKind,
    MatchMethod,
    PlanError,
    Provenance,
    Schedule,
    SelectionError,
    SourceServer,
    diff_bundles,
    diff_with_server,
    dump_bundle,
    export_flows,
    import_bundle,
    load_bundle,
    load_bundle_text,
    load_plan,
    plan_import,
    rollback,
    save_bundle,
    save_plan,
    select_flows,
)
from ziggy_migrate._engine.journal import ImportJournal, journal_dir
from ziggy_migrate.testing import FaultPlan, ZiggyEmulator

from .samples import client_for
from .test_bundle import HELPER, ORDERS, REPORT, export_sample, seed_sample
from .test_emulator import Api

GOLDEN = Path(__file__).parent / "golden"
NIGHTLY = "0b6c2a1e-0000-4000-8000-0000000000f1"
MONTH_END = "0b6c2a1e-0000-4000-8000-0000000000f2"
HOURLY = "0b6c2a1e-0000-4000-8000-0000000000f3"
REPORT_DAILY = "0b6c2a1e-0000-4000-8000-0000000000f4"


def seed_schedules(ziggy: ZiggyEmulator) -> None:
    """Schedules on the sample's flows: two on Orders (one paused), one on its subflow,
    one on the report flow that the ``sales`` export leaves out."""
    ziggy.add_schedule(
        "Nightly", uuid=NIGHTLY, flow_uuid=ORDERS, config='{"cron": "0 2 * * *"}', numExecutions=41
    )
    ziggy.add_schedule(
        "Month end",
        uuid=MONTH_END,
        flow_uuid=ORDERS,
        config='{"cron": "0 0 1 * *"}',
        is_paused=True,
        execution_mode="PROD",
    )
    ziggy.add_schedule("Nightly", uuid=HOURLY, flow_uuid=HELPER, config='{"cron": "0 * * * *"}')
    ziggy.add_schedule("Daily", uuid=REPORT_DAILY, flow_uuid=REPORT)


@pytest.fixture(scope="module")
def scheduled() -> Bundle:
    """The ``sales`` flows of the sample server, with their schedules."""
    with ZiggyEmulator() as ziggy:
        seed_sample(ziggy)
        seed_schedules(ziggy)
        return export_sample(ziggy, tags=["sales"])


def _schedules(ziggy: ZiggyEmulator) -> dict[tuple[str, str], dict[str, Any]]:
    """The server's schedules by (flow name, schedule name)."""
    snapshot = ziggy.snapshot()
    flows = {flow["uuid"]: flow["name"] for flow in snapshot["flows"]}
    return {(flows[row["flowUuid"]], row["name"]): row for row in snapshot["schedules"]}


def _flow_uuid(ziggy: ZiggyEmulator, name: str) -> str:
    [uuid] = [str(flow["uuid"]) for flow in ziggy.snapshot()["flows"] if flow["name"] == name]
    return uuid


# -- the bundle format ---------------------------------------------------------------------


def test_golden_v2_loads_and_redumps_byte_identically() -> None:
    raw = (GOLDEN / "bundle-v2.json").read_bytes()
    loaded = load_bundle(GOLDEN / "bundle-v2.json")
    assert dump_bundle(loaded).encode("utf-8") == raw
    assert loaded.schema_version == 2 == CURRENT_SCHEMA_VERSION
    assert [(s.name, s.flow_uuid) for s in loaded.schedules] == [
        ("Month end", ORDERS),
        ("Nightly", ORDERS),
        ("Nightly", HELPER),
    ]
    assert b"numExecutions" not in raw and b"tenantId" not in raw


def test_golden_v2_equals_a_fresh_export_but_for_provenance(scheduled: Bundle) -> None:
    golden = load_bundle(GOLDEN / "bundle-v2.json")
    assert attrs.evolve(golden, provenance=scheduled.provenance) == scheduled


def test_golden_v1_is_golden_v2_without_schedules() -> None:
    """Format 1 had no schedules: its upgrade is the same bundle with none."""
    v1 = load_bundle(GOLDEN / "bundle-v1.json")
    v2 = load_bundle(GOLDEN / "bundle-v2.json")
    assert v1.schema_version == 2
    assert v1 == attrs.evolve(v2, schedules=())


def test_a_version_1_document_with_schedules_is_refused(scheduled: Bundle) -> None:
    document = json.loads(dump_bundle(scheduled))
    document["schemaVersion"] = 1
    with pytest.raises(BundleError) as caught:
        load_bundle_text(json.dumps(document))
    assert caught.value.location == "$.schedules"
    assert "version 1" in str(caught.value)


def test_a_version_1_bundle_folder_loads_upgraded(tmp_path: Path) -> None:
    """A folder written by format 1 has no ``schedules/`` folder."""
    v1 = load_bundle(GOLDEN / "bundle-v1.json")
    folder = save_bundle(v1, tmp_path / "flows", layout="dir")
    index = folder / "index.json"
    index.write_text(index.read_text("utf-8").replace('"schemaVersion": 2', '"schemaVersion": 1'))
    (folder / "schedules").rmdir()
    assert load_bundle(folder) == v1


def test_a_bundle_folder_holds_one_file_per_schedule(scheduled: Bundle, tmp_path: Path) -> None:
    folder = save_bundle(scheduled, tmp_path / "flows", layout="dir")
    files = sorted(path.name for path in (folder / "schedules").iterdir())
    # the two "Nightly" share a slug and a UUID prefix: both files add a digest of the UUID
    digest = {uuid: hashlib.sha256(uuid.encode()).hexdigest()[:16] for uuid in (NIGHTLY, HOURLY)}
    assert files == sorted(
        [
            "month-end--0b6c2a1e.json",
            f"nightly--0b6c2a1e-{digest[HOURLY]}.json",
            f"nightly--0b6c2a1e-{digest[NIGHTLY]}.json",
        ]
    )
    nightly = folder / "schedules" / f"nightly--0b6c2a1e-{digest[NIGHTLY]}.json"
    assert json.loads(nightly.read_text())["uuid"] == NIGHTLY
    assert dump_bundle(load_bundle(folder)) == dump_bundle(scheduled)


@pytest.mark.parametrize(
    ("edit", "location", "fragment"),
    [
        (lambda d: d["schedules"].append(dict(d["schedules"][0])), "$.schedules[3].uuid", "uuid"),
        (
            lambda d: d["schedules"].append({**d["schedules"][0], "uuid": "other"}),
            "$.schedules[3].name",
            "of flow",
        ),
        (
            lambda d: d["schedules"][0].update(flowUuid="not-a-flow-of-the-bundle"),
            "$.schedules[0].flowUuid",
            "not in the bundle",
        ),
        (lambda d: d["schedules"][0].update(numExecutions=3), "$.schedules[0]", "numExecutions"),
        (lambda d: d["schedules"][0].update(isPaused="yes"), "$.schedules[0].isPaused", "bool"),
        (lambda d: d.pop("schedules"), "$", "schedules"),
    ],
    ids=["same uuid", "same name on one flow", "unknown flow", "run counter", "paused", "none"],
)
def test_broken_schedules_are_refused(
    scheduled: Bundle, edit: Any, location: str, fragment: str
) -> None:
    document = json.loads(dump_bundle(scheduled))
    edit(document)
    with pytest.raises(BundleError) as caught:
        load_bundle_text(json.dumps(document))
    assert caught.value.location == location
    assert fragment in str(caught.value)


def test_two_flows_may_each_have_a_schedule_of_the_same_name(scheduled: Bundle) -> None:
    names = [s.name for s in scheduled.schedules]
    assert names.count("Nightly") == 2
    assert load_bundle_text(dump_bundle(scheduled)) == scheduled


# -- export and subsets --------------------------------------------------------------------


def test_export_carries_the_schedules_of_every_exported_flow(scheduled: Bundle) -> None:
    by_uuid = {s.uuid: s for s in scheduled.schedules}
    assert set(by_uuid) == {NIGHTLY, MONTH_END, HOURLY}  # not the report flow's
    assert by_uuid[MONTH_END] == Schedule(
        uuid=MONTH_END,
        name="Month end",
        config='{"cron": "0 0 1 * *"}',
        is_paused=True,
        execution_mode="PROD",
        flow_uuid=ORDERS,
    )
    assert scheduled.counts["schedules"] == 3


def test_a_subset_keeps_the_schedules_of_its_flows(scheduled: Bundle) -> None:
    helper_only = select_flows(scheduled, flow_ids=[HELPER])
    assert [s.uuid for s in helper_only.schedules] == [HOURLY]
    assert [s.uuid for s in select_flows(scheduled, tags=["sales"]).schedules] == [
        s.uuid for s in scheduled.schedules
    ]


def test_two_schedules_of_one_flow_with_one_name_are_not_exported(
    emulator: ZiggyEmulator,
) -> None:
    flow = emulator.add_flow("Orders")
    emulator.add_schedule("Nightly", flow_uuid=flow["uuid"])
    emulator.add_schedule("Nightly", flow_uuid=flow["uuid"])
    with client_for(emulator) as client, pytest.raises(SelectionError, match="schedules of flow"):
        export_flows(client)


# -- import ---------------------------------------------------------------------------------


def test_created_schedules_are_paused_and_listed_to_switch_on(
    scheduled: Bundle, prod: ZiggyEmulator
) -> None:
    with client_for(prod) as client:
        report = import_bundle(client, scheduled, mode="overwrite", backup=False)
    assert report.ok
    rows = _schedules(prod)
    assert set(rows) == {
        ("Orders", "Nightly"),
        ("Orders", "Month end"),
        ("Helper — Café ☕ 東京", "Nightly"),
    }
    assert all(row["isPaused"] for row in rows.values())
    # wired to prod's own flows, with the source's trigger and mode, a fresh counter
    assert rows[("Orders", "Nightly")]["flowUuid"] == _flow_uuid(prod, "Orders")
    assert rows[("Orders", "Month end")]["executionMode"] == "PROD"
    assert rows[("Orders", "Nightly")]["config"] == '{"cron": "0 2 * * *"}'
    assert rows[("Orders", "Nightly")]["numExecutions"] == 0
    data = report.to_dict()["data"]
    processed = data["schedulesProcessed"]
    assert {(i["name"], i["result"], i["matchMethod"]) for i in processed} == {
        ("Nightly", "CREATE", "unmatched"),
        ("Month end", "CREATE", "unmatched"),
    } and len(processed) == 3
    # Month end was paused on the source already: nothing to switch on
    assert sorted((s["name"], s["flowName"]) for s in data["schedulesPaused"]) == [
        ("Nightly", "Helper — Café ☕ 東京"),
        ("Nightly", "Orders"),
    ]
    nightly = next(s for s in data["schedulesPaused"] if s["flowName"] == "Orders")
    assert nightly["uuid"] == rows[("Orders", "Nightly")]["uuid"]
    assert nightly["flowUuid"] == _flow_uuid(prod, "Orders")
    assert nightly["sourceUuid"] == NIGHTLY
    # the notebook table marks the two rows, and only them
    assert report._repr_html_().count("created paused: switch it on") == 2


def test_keep_schedule_state_copies_the_sources_pause(
    scheduled: Bundle, prod: ZiggyEmulator
) -> None:
    with client_for(prod) as client:
        report = import_bundle(
            client, scheduled, mode="overwrite", backup=False, keep_schedule_state=True
        )
    rows = _schedules(prod)
    assert rows[("Orders", "Nightly")]["isPaused"] is False
    assert rows[("Orders", "Month end")]["isPaused"] is True
    assert report.schedules_paused == ()


def test_an_overwritten_schedule_keeps_the_targets_pause(
    scheduled: Bundle, prod: ZiggyEmulator
) -> None:
    orders = prod.add_flow("Orders")["uuid"]
    # prod runs Month end (paused on dev) and has paused Nightly (running on dev)
    month_end = prod.add_schedule("Month end", flow_uuid=orders, config="old", is_paused=False)
    nightly = prod.add_schedule("Nightly", flow_uuid=orders, config="old", is_paused=True)
    for keep in (False, True):
        with client_for(prod) as client:
            report = import_bundle(
                client, scheduled, mode="overwrite", backup=False, keep_schedule_state=keep
            )
        rows = _schedules(prod)
        assert rows[("Orders", "Month end")]["isPaused"] is False
        assert rows[("Orders", "Nightly")]["isPaused"] is True
        assert rows[("Orders", "Month end")]["config"] == '{"cron": "0 0 1 * *"}'
        assert rows[("Orders", "Month end")]["executionMode"] == "PROD"
        overwritten = {
            i.uuid for i in report.of_kind(ItemKind.SCHEDULE) if i.result is Action.OVERWRITE
        }
        assert {month_end["uuid"], nightly["uuid"]} <= overwritten
        assert all(s.flow_name != "Orders" for s in report.schedules_paused)
    assert len(prod.snapshot()["schedules"]) == 3  # nothing created twice


def test_skip_leaves_a_matched_schedule_alone(scheduled: Bundle, prod: ZiggyEmulator) -> None:
    orders = prod.add_flow("Orders")["uuid"]
    kept = prod.add_schedule("Nightly", flow_uuid=orders, config="prod's own")
    with client_for(prod) as client:
        report = import_bundle(client, scheduled, mode="skip", backup=False)
    [nightly] = [i for i in report.of_kind(ItemKind.SCHEDULE) if i.uuid == kept["uuid"]]
    assert (nightly.result, nightly.match_method) == (Action.LEAVE, MatchMethod.NAME)
    assert _schedules(prod)[("Orders", "Nightly")]["config"] == "prod's own"


def test_a_schedule_name_matches_only_within_its_flow(
    scheduled: Bundle, prod: ZiggyEmulator
) -> None:
    """Prod's "Nightly" of another flow is not dev's Orders "Nightly"."""
    other = prod.add_flow("Billing")["uuid"]
    theirs = prod.add_schedule("Nightly", flow_uuid=other, config="billing")
    with client_for(prod) as client:
        import_bundle(client, scheduled, mode="overwrite", backup=False)
    rows = _schedules(prod)
    assert rows[("Billing", "Nightly")] == theirs
    assert rows[("Orders", "Nightly")]["uuid"] != theirs["uuid"]


def test_a_schedule_whose_flow_failed_is_not_imported(
    scheduled: Bundle, prod: ZiggyEmulator
) -> None:
    prod.add_flow("Orders")
    prod.add_flow("Orders")  # two of that name: the flow is not guessed at
    with client_for(prod) as client:
        report = import_bundle(client, scheduled, mode="overwrite", backup=False)
    failed = {i.name: i.error for i in report.of_kind(ItemKind.SCHEDULE) if i.error}
    assert set(failed) == {"Nightly", "Month end"}
    assert all("triggers flow 'Orders'" in (error or "") for error in failed.values())
    assert [row["name"] for row in prod.snapshot()["schedules"]] == ["Nightly"]  # the helper's
    assert report.to_dict()["status"] == 207


def test_a_dry_run_lists_what_would_be_paused_and_writes_nothing(
    scheduled: Bundle, prod: ZiggyEmulator
) -> None:
    with client_for(prod) as client:
        report = import_bundle(client, scheduled, mode="overwrite", dry_run=True)
    assert prod.snapshot()["schedules"] == []
    assert sorted(s.name for s in report.schedules_paused) == ["Nightly", "Nightly"]
    assert all(s.uuid is None for s in report.schedules_paused)
    assert {i.result for i in report.of_kind(ItemKind.SCHEDULE)} == {Action.CREATE}


def test_importing_twice_creates_no_schedule_twice(
    scheduled: Bundle, prod: ZiggyEmulator, tmp_path: Path
) -> None:
    for state in ("first", "second"):  # without bindings too: by flow and name
        with client_for(prod) as client:
            report = import_bundle(
                client, scheduled, mode="overwrite", backup=False, state_dir=tmp_path / state
            )
        assert report.ok
    assert len(prod.snapshot()["schedules"]) == 3
    methods = {i.match_method for i in report.of_kind(ItemKind.SCHEDULE)}
    assert methods == {MatchMethod.NAME}


def test_a_round_trip_matches_schedules_by_uuid(
    scheduled: Bundle, prod: ZiggyEmulator, tmp_path: Path
) -> None:
    with client_for(prod) as client:
        import_bundle(client, scheduled, mode="overwrite", backup=False)
        back = export_flows(client, tags=["sales"]).bundle
        report = import_bundle(client, back, mode="overwrite", backup=False)
    assert {i.match_method for i in report.of_kind(ItemKind.SCHEDULE)} == {MatchMethod.UUID}
    assert len(back.schedules) == 3
    assert len(prod.snapshot()["schedules"]) == 3


# -- plans, diffs, rollbacks -----------------------------------------------------------------


def test_a_saved_plan_covers_schedules_and_notices_their_change(
    scheduled: Bundle, prod: ZiggyEmulator, tmp_path: Path
) -> None:
    orders = prod.add_flow("Orders")["uuid"]
    nightly = prod.add_schedule("Nightly", flow_uuid=orders, config="old")
    with client_for(prod) as client:
        plan = plan_import(client, scheduled, mode="overwrite")
        path = save_plan(plan, tmp_path / "plan.json")
        loaded = load_plan(path)
        assert loaded == plan
        [planned] = [i for i in loaded.of_kind(ItemKind.SCHEDULE) if i.target_uuid]
        assert (planned.name, planned.action) == ("Nightly", Action.OVERWRITE)
        prod.add_schedule("Nightly", uuid=nightly["uuid"], flow_uuid=orders, config="changed")
        with pytest.raises(PlanError, match="schedule 'Nightly'"):
            import_bundle(client, scheduled, plan=loaded, backup=False)
    assert _schedules(prod)[("Orders", "Nightly")]["config"] == "changed"


def test_diff_pairs_schedules_by_flow_and_name(scheduled: Bundle, prod: ZiggyEmulator) -> None:
    with client_for(prod) as client:
        import_bundle(client, scheduled, mode="overwrite", backup=False)
        on_prod = export_flows(client, tags=["sales"]).bundle
        # UUIDs differ, names match: only the pause differs (created paused on prod)
        changes = [
            c for c in diff_bundles(on_prod, scheduled).changes if c.kind is ItemKind.SCHEDULE
        ]
        assert [(c.name, c.change.value, c.fields) for c in changes] == [
            ("Nightly", "changed", ("isPaused",)),
            ("Nightly", "changed", ("isPaused",)),
        ]
        assert {c.old_uuid for c in changes}.isdisjoint({c.new_uuid for c in changes})
        edited = attrs.evolve(
            scheduled,
            schedules=tuple(
                attrs.evolve(s, config="{}") if s.uuid == MONTH_END else s
                for s in scheduled.schedules
            ),
        )
        server_diff = diff_with_server(client, edited)
    changed = {(c.name, c.fields) for c in server_diff.changes if c.kind is ItemKind.SCHEDULE}
    assert ("Month end", ("config",)) in changed


def test_rollback_restores_an_overwritten_schedule(
    scheduled: Bundle, prod: ZiggyEmulator, tmp_path: Path
) -> None:
    orders = prod.add_flow("Orders")["uuid"]
    before = prod.add_schedule("Nightly", flow_uuid=orders, config="before", is_paused=True)
    with client_for(prod) as client:
        report = import_bundle(
            client, scheduled, mode="overwrite", backup=False, rollback_dir=tmp_path
        )
        assert report.rollback_path is not None
        saved = load_bundle(report.rollback_path)
        assert [s.uuid for s in saved.schedules] == [before["uuid"]]
        assert _schedules(prod)[("Orders", "Nightly")]["config"] == '{"cron": "0 2 * * *"}'
        restored = rollback(client, report.rollback_path, backup=False)
    assert restored.ok
    row = _schedules(prod)[("Orders", "Nightly")]
    assert (row["uuid"], row["config"], row["isPaused"]) == (before["uuid"], "before", True)


def test_a_schedule_moved_to_another_flow_is_moved_back_by_rollback(
    prod: ZiggyEmulator, tmp_path: Path
) -> None:
    """The rollback bundle holds the schedule without its old flow, which stays on the
    server: it declares that reference, loads, and puts the schedule back."""
    billing = prod.add_flow("Billing")["uuid"]
    kept = prod.add_schedule("Nightly", flow_uuid=billing, config="before")
    new_flow = "33333333-3333-4333-8333-333333333333"
    bundle = Bundle(
        provenance=Provenance(
            source=SourceServer(url="http://dev.invalid:3000"),
            tool_version="test",
            exported_at="2026-01-01T00:00:00Z",
        ),
        flows=(Flow(uuid=new_flow, name="Orders"),),
        schedules=(
            Schedule(uuid=kept["uuid"], name="Nightly", config="after", flow_uuid=new_flow),
        ),
    )
    with client_for(prod) as client:
        report = import_bundle(
            client, bundle, mode="overwrite", backup=False, rollback_dir=tmp_path
        )
        assert _schedules(prod)[("Orders", "Nightly")]["uuid"] == kept["uuid"]
        assert report.rollback_path is not None
        saved = load_bundle(report.rollback_path)
        assert saved.flows == ()
        assert [(s.uuid, s.flow_uuid, s.config) for s in saved.schedules] == [
            (kept["uuid"], billing, "before")
        ]
        assert [(r.item_uuid, r.kind, r.reference) for r in saved.unresolved_references] == [
            (kept["uuid"], ItemKind.FLOW, billing)
        ]
        assert rollback(client, report.rollback_path, backup=False).ok
    row = _schedules(prod)[("Billing", "Nightly")]
    assert (row["uuid"], row["config"]) == (kept["uuid"], "before")


# -- the emulator's /api/schedule and the client's endpoints ---------------------------------


def test_the_client_speaks_the_schedule_endpoints(emulator: ZiggyEmulator) -> None:
    flow = emulator.add_flow("Orders")["uuid"]
    other = emulator.add_flow("Billing")["uuid"]
    with client_for(emulator) as client:
        created = client.create_schedule(
            Schedule(uuid="", name="Nightly", config="c", is_paused=True, flow_uuid=flow)
        )
        assert created.uuid and created.flow_uuid == flow and created.execution_mode == "DEV"
        assert client.list_schedules() == [created]
        assert client.get_schedule(created.uuid) == created
        moved = attrs.evolve(created, name="Hourly", config="d", is_paused=False, flow_uuid=other)
        client.update_schedule(created.uuid, moved, with_pause=False)
        assert client.get_schedule(created.uuid) == attrs.evolve(moved, is_paused=True)
        client.update_schedule(created.uuid, moved)
        assert client.get_schedule(created.uuid) == moved
        client.delete_schedule(created.uuid)
        client.delete_schedule(created.uuid)  # already gone: fine
        assert client.list_schedules() == []
    posted = [r for r in emulator.requests if r.method == "POST" and r.path == "/api/schedule"]
    assert [r.status for r in posted] == [201]


def test_schedule_rows_have_the_contracts_columns(emulator: ZiggyEmulator) -> None:
    flow = emulator.add_flow("Orders")["uuid"]
    with client_for(emulator) as client:
        created = client.create_schedule(Schedule(uuid="", name="N", config="c", flow_uuid=flow))
    [row] = emulator.snapshot()["schedules"]
    assert set(row) == {
        "tenantId", "uuid", "name", "config", "isPaused", "executionMode", "numExecutions",
        "flowUuid", "createdAt", "updatedAt", "isDeleted",
    }  # fmt: skip
    assert (row["uuid"], row["tenantId"], row["numExecutions"]) == (created.uuid, "##solo##", 0)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": "N", "config": "c"}, "isPaused must be a boolean value"),
        ({"name": "N", "isPaused": False}, "config must be a string"),
        ({"name": "N", "config": "c", "isPaused": False, "numExecutions": 3}, "numExecutions"),
        ({"name": "N", "config": "c", "isPaused": False, "flowUuid": "nope"}, "nope"),
    ],
    ids=["no pause", "no config", "the counter", "unknown flow"],
)
def test_the_emulator_validates_schedules(
    emulator: ZiggyEmulator, body: dict[str, Any], message: str
) -> None:
    answer = Api(emulator).call("POST", "/api/schedule", json=body)
    assert answer.status_code == 400
    assert message in json.dumps(answer.json()["message"])
    assert emulator.snapshot()["schedules"] == []


def test_a_flows_schedules_come_with_it_and_go_with_it(emulator: ZiggyEmulator) -> None:
    flow = emulator.add_flow("Orders")["uuid"]
    kept = emulator.add_flow("Billing")["uuid"]
    emulator.add_schedule("Nightly", flow_uuid=flow)
    emulator.add_schedule("Nightly", flow_uuid=kept)
    api = Api(emulator)
    body = api.call("GET", f"/api/flow/{flow}").json()
    assert [(s["name"], s["flowUuid"]) for s in body["schedules"]] == [("Nightly", flow)]
    assert api.call("DELETE", f"/api/flow/{flow}").status_code == 200
    assert [row["flowUuid"] for row in emulator.snapshot()["schedules"]] == [kept]


# -- reliability: no schedule made twice ------------------------------------------------------


def test_a_lost_answer_to_a_schedule_create_does_not_make_it_twice(prod: ZiggyEmulator) -> None:
    flow = "55555555-5555-4555-8555-555555555555"
    schedules = tuple(
        Schedule(uuid=f"{flow[:-2]}{index:02d}", name=f"Every {index}", flow_uuid=flow)
        for index in range(12)
    )
    bundle = Bundle(
        provenance=Provenance(
            source=SourceServer(url="http://dev.invalid:3000"),
            tool_version="test",
            exported_at="2026-01-01T00:00:00Z",
        ),
        flows=(Flow(uuid=flow, name="Orders"),),
        schedules=schedules,
    )
    # creates of schedules are applied and then their answer is lost, half the time
    prod.faults = FaultPlan(
        drop_after_rate=0.5,
        methods=frozenset({"POST"}),
        exempt_paths=("/api/auth", "/api/flow", "/api/system"),
        seed=7,
    )
    with client_for(prod) as client:
        report = import_bundle(client, bundle, mode="overwrite", backup=False)
    assert report.ok
    assert any(r.fault == "drop_after" and r.path == "/api/schedule" for r in prod.requests)
    names = sorted(row["name"] for row in prod.snapshot()["schedules"])
    assert names == sorted(s.name for s in schedules)


def test_an_interrupted_import_is_completed_not_copied_again(
    prod: ZiggyEmulator, tmp_path: Path
) -> None:
    """A duplicate-mode import killed after creating the flow's copy and its schedule:
    the rerun completes that schedule (the journal names it) instead of a second copy."""
    source_flow = "66666666-6666-4666-8666-666666666666"
    bundle = Bundle(
        provenance=Provenance(
            source=SourceServer(url="http://dev.invalid:3000"),
            tool_version="test",
            exported_at="2026-01-01T00:00:00Z",
        ),
        flows=(Flow(uuid=source_flow, name="Orders"),),
        schedules=(Schedule(uuid="s-1", name="Nightly", config="new", flow_uuid=source_flow),),
    )
    prod.add_flow("Orders")  # the original, which duplicate mode leaves alone
    copy = prod.add_flow("Orders (imported)")["uuid"]  # made by the killed run
    prod.add_schedule("Nightly", flow_uuid=copy, config="", is_paused=True)  # ...and this
    with client_for(prod) as client:
        ImportJournal(client.base_url, journal_dir(tmp_path)).record(
            {ItemKind.FLOW: ["Orders (imported)"], ItemKind.SCHEDULE: ["Nightly"]}
        )
        report = import_bundle(client, bundle, mode="duplicate", backup=False, state_dir=tmp_path)
    assert report.ok
    [schedule] = report.of_kind(ItemKind.SCHEDULE)
    assert schedule.result is Action.CREATE
    rows = _schedules(prod)
    assert list(rows) == [("Orders (imported)", "Nightly")]
    assert rows[("Orders (imported)", "Nightly")]["config"] == "new"


def test_a_schedule_made_twice_meanwhile_on_its_flow_is_a_failure_but_not_one_elsewhere(
    prod: ZiggyEmulator, tmp_path: Path
) -> None:
    """While an import runs, someone else (another machine: no shared lock) creates a
    "Nightly" on the target flow the import creates its "Nightly" for, and a "Nightly" on
    an unrelated flow. Only the first is a twin: schedule names are unique per flow."""
    source_flow = "77777777-7777-4777-8777-777777777777"
    bundle = Bundle(
        provenance=Provenance(
            source=SourceServer(url="http://dev.invalid:3000"),
            tool_version="test",
            exported_at="2026-01-01T00:00:00Z",
        ),
        flows=(Flow(uuid=source_flow, name="Orders"),),
        schedules=(
            Schedule(uuid="s-1", name="Nightly", flow_uuid=source_flow),
            Schedule(uuid="s-2", name="Hourly", flow_uuid=source_flow),
        ),
    )
    orders = prod.add_flow("Orders")["uuid"]  # matched by name: the schedules go there
    unrelated = prod.add_flow("Unrelated")["uuid"]
    made: list[str] = []

    def someone_else_meanwhile(done: int, total: int, what: str) -> None:
        if not made:
            with client_for(prod) as other:
                for flow_uuid in (orders, unrelated):
                    twin = Schedule(uuid="", name="Nightly", flow_uuid=flow_uuid)
                    made.append(other.create_schedule(twin).uuid)

    with client_for(prod) as client:
        report = import_bundle(
            client,
            bundle,
            mode="overwrite",
            backup=False,
            state_dir=tmp_path,
            progress=someone_else_meanwhile,  # first called when the flow is written
        )
    by_name = {item.name: item for item in report.of_kind(ItemKind.SCHEDULE)}
    nightly, hourly = by_name["Nightly"], by_name["Hourly"]
    assert nightly.error is not None and "created twice" in nightly.error
    assert made[0] in nightly.error and made[1] not in nightly.error
    assert hourly.error is None and hourly.is_processed
    assert [item.name for item in report.failed] == ["Nightly"]
