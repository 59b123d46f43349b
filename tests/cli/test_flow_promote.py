"""``ziggy flow promote``: export from one server, import into another, keep the bundle."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ziggy_migrate import load_bundle
from ziggy_migrate.testing import ZiggyEmulator
from ziggy_migrate_cli.credentials import SERVICE_NAME

from ..samples import TaggedDev, write_requests
from .conftest import Cli, MemoryKeyring


def _flow_names(ziggy: ZiggyEmulator) -> list[str]:
    return sorted(flow["name"] for flow in ziggy.snapshot()["flows"])


def test_promote_exports_imports_and_keeps_the_bundle(
    cli: Cli, profiles: TaggedDev, prod: ZiggyEmulator, tmp_path: Path
) -> None:
    result = cli(
        "flow",
        "promote",
        "--from",
        "dev",
        "--to",
        "prod",
        "--tags",
        "tag1",
        "--overwrite",
        "--no-prompt",
        "--bundle-dir",
        str(tmp_path / "kept"),
    )
    assert result.exit_code == 0, result.stdout + result.stderr
    document = result.json
    assert document["status"] == 201
    assert document["statusText"] == "Created"
    data = document["data"]
    assert set(data) == {"bundlePath", "export", "import"}
    kept = Path(data["bundlePath"])
    assert kept.parent == tmp_path / "kept"
    assert data["export"]["filePath"] == str(kept)
    assert data["export"]["counts"]["flows"] == 2
    assert sorted(flow.name for flow in load_bundle(kept).flows) == [
        "Format address",
        "Sync orders",
    ]
    assert data["import"]["mode"] == "overwrite"
    assert {item["name"] for item in data["import"]["flowsProcessed"]} == {
        "Format address",
        "Sync orders",
    }
    assert _flow_names(prod) == ["Format address", "Sync orders"]
    assert len(prod.snapshot()["backups"]) == 1
    assert str(kept) in result.stderr


def test_the_bundle_is_kept_in_the_state_folder_by_default(
    cli: Cli, profiles: TaggedDev, prod: ZiggyEmulator
) -> None:
    result = cli(
        "flow",
        "promote",
        "--from",
        "dev",
        "--to",
        "prod",
        "-f",
        profiles.invoices,
        "--skip",
        "--no-prompt",
        "--no-backup",
        "--dry-run",
    )
    assert result.exit_code == 0, result.stdout
    assert result.json["status"] == 200  # a dry run
    kept = Path(result.json["data"]["bundlePath"])
    assert kept.parent == Path(os.environ["ZIGGY_STATE_DIR"]) / "promotions"
    assert [flow.name for flow in load_bundle(kept).flows] == ["Invoices"]
    assert _flow_names(prod) == []
    assert write_requests(prod) == 0


def test_the_confirmation_names_both_servers(
    cli: Cli, profiles: TaggedDev, dev_emulator: ZiggyEmulator, prod: ZiggyEmulator
) -> None:
    args = ("flow", "promote", "--from", "dev", "--to", "prod", "-t", "tag1", "--duplicate")
    declined = cli(*args, "--no-backup", input="\n", terminal=True)
    assert declined.exit_code == 1
    question = (
        f"Promote flows tagged 'tag1' from dev ({dev_emulator.base_url}) to prod ({prod.base_url}) "
        "with --duplicate and no backup? [y/N]"
    )
    assert question in declined.stderr
    assert dev_emulator.request_count() == prod.request_count() == 0
    refused = cli(*args)  # no terminal to ask on
    assert refused.exit_code == 2
    assert "--no-prompt" in refused.said


def test_failed_items_give_exit_1(
    cli: Cli, profiles: TaggedDev, dev_emulator: ZiggyEmulator, prod: ZiggyEmulator
) -> None:
    odd = dev_emulator.add_connection("Legacy", type="Gopher", dev_value="{ host: 'x' }")
    dev_emulator.add_flow(
        "Old", tags=["old"], nodes=[{"id": "a", "data": {"connectionUuid": odd["uuid"]}}]
    )
    selection = ("--from", "dev", "--to", "prod", "-t", "old")
    result = cli("flow", "promote", *selection, "--skip", "--no-prompt")
    assert result.exit_code == 1, result.stdout
    assert result.json["status"] == 207
    assert result.json["statusText"] == "Multi-Status"
    assert any("error" in item for item in result.json["data"]["import"]["flowsProcessed"])


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--to", "prod", "--skip"], "--from"),
        (["--from", "dev", "--skip"], "--to"),
        (["--from", "dev", "--to", "prod"], "exactly one import mode"),
        (["--from", "dev", "--to", "dev", "--skip"], "two servers"),
        (["--from", "dev", "--to", "staging", "--skip"], "staging"),
    ],
)
def test_promote_usage_errors(
    cli: Cli,
    profiles: TaggedDev,
    dev_emulator: ZiggyEmulator,
    prod: ZiggyEmulator,
    args: list[str],
    needle: str,
) -> None:
    result = cli("flow", "promote", *args, "--no-prompt")
    assert result.exit_code == 2
    assert needle in result.said
    assert dev_emulator.request_count() == prod.request_count() == 0


def test_a_missing_target_password_stops_before_the_export(
    cli: Cli,
    profiles: TaggedDev,
    dev_emulator: ZiggyEmulator,
    prod: ZiggyEmulator,
    memory_keyring: MemoryKeyring,
    tmp_path: Path,
) -> None:
    del memory_keyring.store[(SERVICE_NAME, "prod")]
    args = ("--from", "dev", "--to", "prod", "--skip", "--bundle-dir", str(tmp_path / "kept"))
    result = cli("flow", "promote", *args, "--no-prompt")
    assert result.exit_code == 3
    assert "ZIGGY_PASSWORD_PROD" in result.said
    assert dev_emulator.request_count() == prod.request_count() == 0
    assert not (tmp_path / "kept").exists()
