"""``ziggy flow rollback``: put back what an import overwrote, from its rollback bundle."""

from __future__ import annotations

from pathlib import Path

import pytest

from ziggy_migrate.testing import ZiggyEmulator

from ..samples import TaggedDev, edit_flow_node, export_to, flow_named, write_requests
from .conftest import Cli

HOTFIX = {"code": "return 'prod hotfix';"}


@pytest.fixture
def rollback_file(
    cli: Cli, profiles: TaggedDev, dev_emulator: ZiggyEmulator, prod: ZiggyEmulator, tmp_path: Path
) -> Path:
    """Import into prod, edit a flow there, overwrite it by importing again: the last
    import's rollback bundle holds the edited flow."""
    bundle = export_to(dev_emulator, tmp_path / "bundle.json", tags=["tag1"])
    args = ("import", "-s", "prod", "-fp", str(bundle), "--overwrite", "--no-prompt")
    assert cli(*args).exit_code == 0
    edit_flow_node(prod, "Sync orders", 2, data=HOTFIX)
    again = cli(*args)
    assert again.exit_code == 0, again.stdout
    assert flow_named(prod, "Sync orders")["nodes"][2]["data"] != HOTFIX
    path = Path(again.json["data"]["rollbackPath"])
    assert path.is_file()
    assert "ziggy flow rollback" in again.stderr
    return path


def test_rollback_restores_the_overwritten_flow(
    cli: Cli, rollback_file: Path, prod: ZiggyEmulator
) -> None:
    args = ("--server", "prod", "--file-path", str(rollback_file))
    result = cli("flow", "rollback", *args, "--no-prompt")
    assert result.exit_code == 0, result.stdout + result.stderr
    document = result.json
    assert document["status"] == 201
    assert document["data"]["mode"] == "overwrite"
    flows = document["data"]["flowsProcessed"]
    assert {(item["name"], item["result"], item["matchMethod"]) for item in flows} == {
        ("Format address", "OVERWRITE", "uuid"),
        ("Sync orders", "OVERWRITE", "uuid"),
    }
    assert flow_named(prod, "Sync orders")["nodes"][2]["data"] == HOTFIX
    assert "Restored on prod" in result.stderr


def test_rollback_asks_and_dry_run_writes_nothing(
    cli: Cli, rollback_file: Path, prod: ZiggyEmulator
) -> None:
    args = ("flow", "rollback", "-s", "prod", "-fp", str(rollback_file))
    before = prod.snapshot()
    prod.reset_requests()
    declined = cli(*args, "--no-backup", input="n\n", terminal=True)
    assert declined.exit_code == 1
    assert f"into prod ({prod.base_url}), overwriting them with no backup? [y/N]" in (
        declined.stderr
    )
    assert "Restore 5 items (2 flows) saved from prod" in declined.stderr
    assert prod.request_count() == 0
    dry = cli(*args, "--dry-run")
    assert dry.exit_code == 0, dry.stdout
    assert dry.json["status"] == 200
    assert dry.json["data"]["dryRun"] is True
    assert prod.snapshot() == before
    assert write_requests(prod) == 0


def test_rollback_needs_server_and_a_rollback_bundle(
    cli: Cli, profiles: TaggedDev, prod: ZiggyEmulator, tmp_path: Path
) -> None:
    no_server = cli("flow", "rollback", "-fp", str(tmp_path / "r.json"), "--no-prompt")
    assert no_server.exit_code == 2
    assert "--server" in no_server.said
    missing = cli("flow", "rollback", "-s", "prod", "-fp", str(tmp_path / "r.json"), "--no-prompt")
    assert missing.exit_code == 2
    assert "r.json" in missing.said
    assert prod.request_count() == 0
