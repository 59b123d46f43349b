"""``--keep-schedule-state`` and ``--bindings`` on ``flow import``, ``plan`` and
``promote``, and the binding file a bundle folder keeps for each target server."""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import pytest

from ziggy_migrate.testing import ZiggyEmulator

from ..samples import TaggedDev, client_for, flow_named
from .conftest import Cli

IMPORT = ("flow", "import", "-s", "prod", "--overwrite", "--no-prompt", "--no-backup")


@pytest.fixture
def scheduled(profiles: TaggedDev, dev_emulator: ZiggyEmulator) -> TaggedDev:
    """dev's "Sync orders" runs every night; a second trigger is paused."""
    dev_emulator.add_schedule("Nightly", flow_uuid=profiles.orders, config='{"cron": "0 2 * * *"}')
    dev_emulator.add_schedule("Weekly", flow_uuid=profiles.orders, is_paused=True)
    return profiles


def _export(cli: Cli, path: Path, *extra: str) -> None:
    result = cli(
        "flow", "export", "-s", "dev", "-t", "tag1", "-fp", str(path), "--no-prompt", *extra
    )
    assert result.exit_code == 0, result.stdout + result.stderr


def _rename_on_dev(dev: ZiggyEmulator, uuid: str, name: str) -> None:
    with client_for(dev) as client:
        flow = client.get_flow(uuid).flow
        client.update_flow(uuid, attrs.evolve(flow, name=name))


def test_schedules_arrive_paused_and_the_answer_lists_them(
    cli: Cli, scheduled: TaggedDev, prod: ZiggyEmulator, tmp_path: Path
) -> None:
    bundle = tmp_path / "bundle.json"
    _export(cli, bundle)
    result = cli(*IMPORT, "-fp", str(bundle))
    assert result.exit_code == 0, result.stderr
    data = result.json["data"]
    assert sorted(i["name"] for i in data["schedulesProcessed"]) == ["Nightly", "Weekly"]
    assert [(s["name"], s["flowName"]) for s in data["schedulesPaused"]] == [
        ("Nightly", "Sync orders")
    ]
    assert {row["isPaused"] for row in prod.snapshot()["schedules"]} == {True}
    assert "schedule 'Nightly' of flow 'Sync orders' is paused on prod" in result.stderr
    assert "'Weekly'" not in result.stderr


def test_keep_schedule_state_copies_the_pause(
    cli: Cli, scheduled: TaggedDev, prod: ZiggyEmulator, tmp_path: Path
) -> None:
    bundle = tmp_path / "bundle.json"
    _export(cli, bundle)
    result = cli(*IMPORT, "-fp", str(bundle), "--keep-schedule-state")
    assert result.exit_code == 0, result.stderr
    assert result.json["data"]["schedulesPaused"] == []
    paused = {row["name"]: row["isPaused"] for row in prod.snapshot()["schedules"]}
    assert paused == {"Nightly": False, "Weekly": True}


def test_a_bundle_folder_keeps_its_bindings_and_a_rename_is_not_duplicated(
    cli: Cli, scheduled: TaggedDev, dev_emulator: ZiggyEmulator, prod: ZiggyEmulator, tmp_path: Path
) -> None:
    folder = tmp_path / "flows"
    _export(cli, folder, "--layout", "dir")
    first = cli(*IMPORT, "-fp", str(folder))
    assert first.exit_code == 0, first.stderr
    binding_file = folder / "bindings" / "prod.json"
    assert first.json["data"]["bindingsPath"] == str(binding_file)
    prod_copy = flow_named(prod, "Sync orders")["uuid"]
    assert json.loads(binding_file.read_text("utf-8"))["flows"][scheduled.orders] == prod_copy

    _rename_on_dev(dev_emulator, scheduled.orders, "Sync all orders")
    _export(cli, folder, "--layout", "dir")  # re-exported over the folder: bindings kept
    assert binding_file.is_file()
    for _ in range(2):
        again = cli(*IMPORT, "-fp", str(folder))
        assert again.exit_code == 0, again.stderr
        flows = {i["name"]: i for i in again.json["data"]["flowsProcessed"]}
        assert flows["Sync all orders"]["matchMethod"] == "binding"
        assert flows["Sync all orders"]["uuid"] == prod_copy
    assert sorted(f["name"] for f in prod.snapshot()["flows"]) == [
        "Format address",
        "Sync all orders",
    ]
    assert len(prod.snapshot()["schedules"]) == 2


def test_bindings_can_live_anywhere(
    cli: Cli, scheduled: TaggedDev, dev_emulator: ZiggyEmulator, prod: ZiggyEmulator, tmp_path: Path
) -> None:
    bundle = tmp_path / "bundle.json"
    binding_file = tmp_path / "elsewhere" / "prod-bindings.json"
    _export(cli, bundle)
    first = cli(*IMPORT, "-fp", str(bundle), "--bindings", str(binding_file))
    assert first.json["data"]["bindingsPath"] == str(binding_file)
    _rename_on_dev(dev_emulator, scheduled.orders, "Sync all orders")
    _export(cli, bundle)
    again = cli(*IMPORT, "-fp", str(bundle), "--bindings", str(binding_file))
    methods = {i["name"]: i["matchMethod"] for i in again.json["data"]["flowsProcessed"]}
    assert methods["Sync all orders"] == "binding"
    assert len(prod.snapshot()["flows"]) == 2


def test_a_plan_of_a_bundle_folder_uses_its_bindings(
    cli: Cli, scheduled: TaggedDev, dev_emulator: ZiggyEmulator, prod: ZiggyEmulator, tmp_path: Path
) -> None:
    folder = tmp_path / "flows"
    _export(cli, folder, "--layout", "dir")
    assert cli(*IMPORT, "-fp", str(folder)).exit_code == 0
    _rename_on_dev(dev_emulator, scheduled.orders, "Sync all orders")
    _export(cli, folder, "--layout", "dir")
    plan_path = tmp_path / "plan.json"
    planned = cli(
        "flow", "plan", "-s", "prod", "-fp", str(folder), "--overwrite", "--out", str(plan_path)
    )
    assert planned.exit_code == 0, planned.stderr
    items = {i["name"]: i for i in planned.json["data"]["items"] if i["kind"] == "flow"}
    assert (items["Sync all orders"]["match"], items["Sync all orders"]["action"]) == (
        "binding",
        "OVERWRITE",
    )
    applied = cli(
        "flow", "import", "-s", "prod", "-fp", str(folder), "--plan", str(plan_path),
        "--no-prompt", "--no-backup",
    )  # fmt: skip
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    assert len(prod.snapshot()["flows"]) == 2


def test_promote_takes_both_flags(
    cli: Cli, scheduled: TaggedDev, dev_emulator: ZiggyEmulator, prod: ZiggyEmulator, tmp_path: Path
) -> None:
    binding_file = tmp_path / "prod.json"
    args = (
        "flow", "promote", "--from", "dev", "--to", "prod", "-t", "tag1", "--overwrite",
        "--no-prompt", "--no-backup", "--bundle-dir", str(tmp_path), "--bindings",
        str(binding_file), "--keep-schedule-state",
    )  # fmt: skip
    first = cli(*args)
    assert first.exit_code == 0, first.stdout + first.stderr
    assert first.json["data"]["import"]["bindingsPath"] == str(binding_file)
    assert {row["name"]: row["isPaused"] for row in prod.snapshot()["schedules"]} == {
        "Nightly": False,
        "Weekly": True,
    }
    _rename_on_dev(dev_emulator, scheduled.orders, "Sync all orders")
    second = cli(*args)
    flows = {i["name"]: i["matchMethod"] for i in second.json["data"]["import"]["flowsProcessed"]}
    assert flows["Sync all orders"] == "binding"
    assert len(prod.snapshot()["flows"]) == 2


def test_a_broken_binding_file_is_bad_input(
    cli: Cli, scheduled: TaggedDev, prod: ZiggyEmulator, tmp_path: Path
) -> None:
    bundle = tmp_path / "bundle.json"
    _export(cli, bundle)
    binding_file = tmp_path / "prod.json"
    binding_file.write_text('{"bindingFormatVersion": 1, "flows": {}, "flows": {}}')
    result = cli(*IMPORT, "-fp", str(bundle), "--bindings", str(binding_file))
    assert result.exit_code == 2
    assert result.json["status"] == 400
    assert str(binding_file) in result.message and "twice" in result.message
    assert "Traceback" not in result.stderr
    assert prod.snapshot()["flows"] == []


def test_the_human_account_lists_paused_schedules_stale_bindings_and_binding_matches(
    cli: Cli, scheduled: TaggedDev, dev_emulator: ZiggyEmulator, prod: ZiggyEmulator, tmp_path: Path
) -> None:
    bundle = tmp_path / "bundle.json"
    binding_file = tmp_path / "prod-bindings.json"
    _export(cli, bundle)
    first = cli(*IMPORT, "-fp", str(bundle), "--bindings", str(binding_file), "--format", "human")
    assert first.exit_code == 0, first.stdout + first.stderr
    assert "Needs attention (1):" in first.stdout
    assert "schedule 'Nightly'" in first.stdout and "created paused" in first.stdout
    assert "flow 'Sync orders' is ready" in first.stdout
    assert "'Weekly'" not in first.stdout  # paused on the source too: nothing to switch on

    # the subflow's copy is deleted on prod; the flow is renamed on dev
    subflow_copy = flow_named(prod, "Format address")["uuid"]
    with client_for(prod) as client:
        client.delete_flow(subflow_copy)
    _rename_on_dev(dev_emulator, scheduled.orders, "Sync all orders")
    _export(cli, bundle)
    again = cli(*IMPORT, "-fp", str(bundle), "--bindings", str(binding_file), "--format", "human")
    assert again.exit_code == 0, again.stdout + again.stderr
    shown = " ".join(again.stdout.split())  # the account wraps long lines
    assert f"flow 'Format address': the binding file bound it to {subflow_copy}" in shown
    assert "which is gone from the target" in shown
    # the renamed flow, its connections, secrets and schedules: bound by the first import
    assert "matched through the binding file" in shown and str(binding_file) in shown
    assert "created paused" not in shown  # the schedules were overwritten, not created
