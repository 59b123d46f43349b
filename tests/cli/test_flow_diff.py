"""``ziggy flow diff``: a bundle against a server or another bundle, field by field."""

from __future__ import annotations

from pathlib import Path

import pytest

from ziggy_migrate.testing import ZiggyEmulator

from ..samples import TaggedDev, edit_flow_node, export_to, write_requests
from .conftest import Cli


def test_one_edit_on_the_server_is_one_changed_field(
    cli: Cli, profiles: TaggedDev, dev_emulator: ZiggyEmulator, prod: ZiggyEmulator, tmp_path: Path
) -> None:
    bundle = export_to(dev_emulator, tmp_path / "invoices.json", tags=["tag2"])
    imported = cli("flow", "import", "-s", "prod", "-fp", str(bundle), "--skip", "--no-prompt")
    assert imported.exit_code == 0, imported.stdout
    args = ("flow", "diff", "--server", "prod", "--file-path", str(bundle))

    same = cli(*args, "--exit-code")
    assert same.exit_code == 0, same.stdout + same.stderr
    assert same.json["data"] == {
        "summary": {"added": 0, "removed": 0, "changed": 0, "unchanged": 3},
        "changes": [],
    }

    edit_flow_node(prod, "Invoices", 0, type="hubspot-v2")
    prod.reset_requests()
    changed = cli(*args)
    assert changed.exit_code == 0  # differences are not a failure without --exit-code
    document = changed.json
    assert document["status"] == 200
    assert document["statusText"] == "OK"
    (change,) = document["data"]["changes"]
    assert change["kind"] == "flow"
    assert change["name"] == "Invoices"
    assert change["change"] == "changed"
    assert change["fields"] == ["nodes[0].type"]
    assert change["oldUuid"] != change["newUuid"]  # prod's copy (the base) vs the bundle's
    assert document["data"]["summary"]["unchanged"] == 2
    assert "1 changed" in changed.stderr

    flagged = cli(*args, "--exit-code")
    assert flagged.exit_code == 1
    assert flagged.json == document
    assert write_requests(prod) == 0  # diffing only reads


def test_against_names_the_base(cli: Cli, profiles: TaggedDev, tmp_path: Path) -> None:
    old = tmp_path / "old.json"
    new = tmp_path / "new.json"
    for path, tags in ((old, ["tag1"]), (new, ["tag1", "tag2"])):
        result = cli("export", "-s", "dev", "-t", *tags, "-fp", str(path), "--no-prompt")
        assert result.exit_code == 0

    forward = cli("flow", "diff", "-fp", str(new), "--against", str(old), "--exit-code")
    assert forward.exit_code == 1
    changes = forward.json["data"]["changes"]
    assert {(c["kind"], c["name"], c["change"]) for c in changes} == {
        ("flow", "Invoices", "added"),
        ("connection", "CRM", "added"),
    }  # CRM_TOKEN was already in old: Sync orders uses it too
    backward = cli("flow", "diff", "-fp", str(old), "--against", str(new))
    assert backward.exit_code == 0
    assert {c["change"] for c in backward.json["data"]["changes"]} == {"removed"}
    itself = cli("flow", "diff", "-fp", str(new), "--against", str(new), "--exit-code")
    assert itself.exit_code == 0
    assert itself.json["data"]["changes"] == []


@pytest.mark.parametrize(
    "extra",
    [[], ["--server", "prod", "--against", "{bundle}"]],
    ids=["neither", "both"],
)
def test_exactly_one_base(
    cli: Cli,
    profiles: TaggedDev,
    dev_emulator: ZiggyEmulator,
    prod: ZiggyEmulator,
    tmp_path: Path,
    extra: list[str],
) -> None:
    bundle = export_to(dev_emulator, tmp_path / "b.json", tags=["tag1"])
    dev_emulator.reset_requests()
    args = [arg.format(bundle=bundle) for arg in extra]
    result = cli("flow", "diff", "-fp", str(bundle), *args)
    assert result.exit_code == 2
    assert "exactly one of --server NAME or --against PATH" in result.said
    assert dev_emulator.request_count() == prod.request_count() == 0
