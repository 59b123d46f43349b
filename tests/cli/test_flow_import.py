"""``ziggy flow import`` (and ``ziggy import``): modes, safety rails and exit codes."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from ziggy_migrate import ZiggyClient, export_flows
from ziggy_migrate.testing import ZiggyEmulator

from ..samples import TaggedDev, export_to
from .conftest import Cli


@pytest.fixture
def bundle(profiles: TaggedDev, dev_emulator: ZiggyEmulator, tmp_path: Path) -> Path:
    """The tag1 flows of dev (a flow, its subflow, a connection, two secrets)."""
    path = tmp_path / "bundle.json"
    with ZiggyClient(dev_emulator.url, dev_emulator.port, "admin", "admin") as client:
        export_flows(client, tags=["tag1"], path=path)
    return path


def _flow_names(ziggy: ZiggyEmulator) -> list[str]:
    return sorted(flow["name"] for flow in ziggy.snapshot()["flows"])


@pytest.mark.parametrize(
    "spelling",
    [
        "flow import --server prod --file-path {bundle} --overwrite --no-prompt",
        "import --server prod --file-path {bundle} --overwrite --no-prompt",
        "flow import -s prod -fp {bundle} --skip --no-prompt",
        "flow import -s prod -fp {bundle} --duplicate --no-prompt --no-backup",
    ],
)
def test_import_writes_and_reports(
    cli: Cli, bundle: Path, prod: ZiggyEmulator, spelling: str
) -> None:
    result = cli(*shlex.split(spelling.format(bundle=bundle)))
    assert result.exit_code == 0, result.stdout + result.stderr
    document = result.json
    assert document["status"] == 201
    assert document["statusText"] == "Created"
    names = sorted(item["name"] for item in document["data"]["flowsProcessed"])
    assert names == ["Format address", "Sync orders"]
    assert all(item["isProcessed"] for item in document["data"]["flowsProcessed"])
    assert _flow_names(prod) == ["Format address", "Sync orders"]
    expected_backups = 0 if "--no-backup" in spelling else 1
    assert len(prod.snapshot()["backups"]) == expected_backups


def test_second_overwrite_matches_by_binding_and_says_so(
    cli: Cli, bundle: Path, prod: ZiggyEmulator
) -> None:
    args = ("import", "-s", "prod", "-fp", str(bundle), "--overwrite", "--no-prompt")
    first = cli(*args).json["data"]["flowsProcessed"]
    assert {item["matchMethod"] for item in first} == {"unmatched"}
    # the first import recorded what each flow became (a bundle file: in the state folder)
    second = cli(*args).json["data"]["flowsProcessed"]
    assert {item["matchMethod"] for item in second} == {"binding"}
    assert {item["result"] for item in second} == {"OVERWRITE"}


def test_import_needs_server_even_with_a_default(
    cli: Cli, bundle: Path, dev_emulator: ZiggyEmulator, prod: ZiggyEmulator
) -> None:
    dev_emulator.reset_requests()
    result = cli("flow", "import", "--file-path", str(bundle), "--skip", "--no-prompt")
    assert result.exit_code == 2
    assert result.json["status"] == 400
    assert "--server" in result.said
    assert "none was named" in result.said
    assert dev_emulator.request_count() == 0
    assert prod.request_count() == 0


@pytest.mark.parametrize(
    ("modes", "needle"),
    [([], "exactly one import mode"), (["--skip", "--overwrite"], "--skip and --overwrite")],
)
def test_exactly_one_mode(
    cli: Cli, bundle: Path, prod: ZiggyEmulator, modes: list[str], needle: str
) -> None:
    result = cli("import", "-s", "prod", "-fp", str(bundle), *modes, "--no-prompt")
    assert result.exit_code == 2
    assert needle in result.said
    assert prod.request_count() == 0


@pytest.mark.parametrize(
    "content",
    ["{not json", '{"schemaVersion": 1}', "[]", '{"schemaVersion": 999, "flows": []}'],
)
def test_a_bad_bundle_is_refused_before_the_server_is_contacted(
    cli: Cli, profiles: TaggedDev, prod: ZiggyEmulator, tmp_path: Path, content: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    result = cli("import", "-s", "prod", "-fp", str(path), "--skip", "--no-prompt")
    assert result.exit_code == 2, result.stdout
    assert result.json["status"] == 400
    assert "\n" not in result.said
    assert prod.request_count() == 0


def test_a_missing_bundle_file_is_bad_input(
    cli: Cli, profiles: TaggedDev, prod: ZiggyEmulator, tmp_path: Path
) -> None:
    result = cli(
        "import", "-s", "prod", "-fp", str(tmp_path / "nope.json"), "--skip", "--no-prompt"
    )
    assert result.exit_code == 2
    assert prod.request_count() == 0


def test_dry_run_writes_nothing(cli: Cli, bundle: Path, prod: ZiggyEmulator) -> None:
    before = prod.snapshot()
    result = cli("import", "-s", "prod", "-fp", str(bundle), "--overwrite", "--dry-run")
    assert result.exit_code == 0, result.stdout  # a dry run needs no confirmation
    assert result.json["status"] == 200
    assert result.json["data"]["dryRun"] is True
    assert prod.snapshot() == before


def test_without_a_terminal_import_refuses_to_prompt(
    cli: Cli, bundle: Path, prod: ZiggyEmulator
) -> None:
    result = cli("import", "-s", "prod", "-fp", str(bundle), "--overwrite")
    assert result.exit_code == 2
    assert "--no-prompt" in result.said
    assert prod.request_count() == 0


def test_the_confirmation_names_count_server_and_mode(
    cli: Cli, bundle: Path, prod: ZiggyEmulator
) -> None:
    args = ("import", "-s", "prod", "-fp", str(bundle), "--overwrite")
    declined = cli(*args, input="\n", terminal=True)  # the default answer is no
    question = f"Import 2 flows into prod ({prod.base_url}) with --overwrite? [y/N]"
    assert question in declined.stderr
    assert declined.exit_code == 1
    assert _flow_names(prod) == []
    accepted = cli(*args, input="y\n", terminal=True)
    assert accepted.exit_code == 0
    assert accepted.json["status"] == 201


def test_a_failed_backup_writes_nothing(cli: Cli, bundle: Path, prod: ZiggyEmulator) -> None:
    prod.backup_status = "failed"
    result = cli("import", "-s", "prod", "-fp", str(bundle), "--overwrite", "--no-prompt")
    assert result.exit_code == 1
    assert result.json["status"] == 500
    assert "--no-backup" in result.said
    assert _flow_names(prod) == []


def test_failed_items_give_exit_1_and_a_207_report(
    cli: Cli, profiles: TaggedDev, dev_emulator: ZiggyEmulator, prod: ZiggyEmulator, tmp_path: Path
) -> None:
    # An old connection type the target's API refuses to create.
    odd = dev_emulator.add_connection("Legacy", type="Gopher", dev_value="{ host: 'x' }")
    dev_emulator.add_flow(
        "Old", tags=["old"], nodes=[{"id": "a", "data": {"connectionUuid": odd["uuid"]}}]
    )
    path = tmp_path / "old.json"
    assert cli("export", "-s", "dev", "-t", "old", "-fp", str(path), "--no-prompt").exit_code == 0
    result = cli("import", "-s", "prod", "-fp", str(path), "--skip", "--no-prompt")
    assert result.exit_code == 1, result.stdout
    document = result.json
    assert document["status"] == 207
    failed = [
        item
        for key in ("flowsProcessed", "connectionsProcessed")
        for item in document["data"][key]
        if "error" in item
    ]
    assert failed


def test_bundle_from_export_round_trips_through_the_cli(
    cli: Cli, profiles: TaggedDev, prod: ZiggyEmulator, tmp_path: Path
) -> None:
    out = tmp_path / "out.json"
    exported = cli(
        "flow",
        "export",
        "--server",
        "dev",
        "--no-prompt",
        "--tags",
        "tag1",
        "tag2",
        "--file-path",
        str(out),
    )
    assert exported.exit_code == 0
    assert json.loads(out.read_text())["flows"]
    imported = cli(
        "flow", "import", "--server", "prod", "--file-path", str(out), "--skip", "--no-prompt"
    )
    assert imported.exit_code == 0
    assert _flow_names(prod) == ["Format address", "Invoices", "Sync orders"]


def test_import_part_of_a_bundle_with_what_it_needs(
    cli: Cli, profiles: TaggedDev, dev_emulator: ZiggyEmulator, prod: ZiggyEmulator, tmp_path: Path
) -> None:
    everything = export_to(dev_emulator, tmp_path / "all.json")
    result = cli(
        "flow",
        "import",
        "-s",
        "prod",
        "-fp",
        str(everything),
        "--skip",
        "--no-prompt",
        "--flow-ids",
        profiles.orders,
        "--tags",
        "sandbox",
    )
    assert result.exit_code == 0, result.stdout
    data = result.json["data"]
    assert _flow_names(prod) == ["Format address", "Sandbox", "Sync orders"]  # + the subflow
    assert [item["name"] for item in data["connectionsProcessed"]] == ["Orders DB"]
    assert sorted(item["name"] for item in data["secretsProcessed"]) == [
        "CRM_TOKEN",
        "PG_PASSWORD",
    ]


@pytest.mark.parametrize(
    ("selection", "needle"),
    [(["-f", "no-such-uuid"], "no-such-uuid"), (["-t", "nowhere"], "nowhere")],
)
def test_a_selection_the_bundle_cannot_meet_is_refused_before_any_request(
    cli: Cli, bundle: Path, prod: ZiggyEmulator, selection: list[str], needle: str
) -> None:
    args = ("import", "-s", "prod", "-fp", str(bundle), "--skip", "--no-prompt", *selection)
    result = cli(*args)
    assert result.exit_code == 2
    assert needle in result.said
    assert prod.request_count() == 0
