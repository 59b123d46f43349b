"""``ziggy flow plan`` and ``ziggy flow import --plan``: apply what was reviewed, or nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ziggy_migrate.testing import ZiggyEmulator

from ..samples import TaggedDev, edit_flow_node, export_to, flow_named, write_requests
from .conftest import Cli


@pytest.fixture
def bundle(profiles: TaggedDev, dev_emulator: ZiggyEmulator, tmp_path: Path) -> Path:
    """The tag1 flows of dev (a flow, its subflow, a connection, two secrets)."""
    return export_to(dev_emulator, tmp_path / "bundle.json", tags=["tag1"])


def _plan(cli: Cli, bundle: Path, out: Path, *args: str) -> dict[str, object]:
    result = cli("flow", "plan", "-s", "prod", "-fp", str(bundle), "--out", str(out), *args)
    assert result.exit_code == 0, result.stdout + result.stderr
    document: dict[str, object] = result.json
    return document


def test_plan_saves_the_decisions_and_import_applies_them(
    cli: Cli, bundle: Path, prod: ZiggyEmulator, tmp_path: Path
) -> None:
    out = tmp_path / "plan.json"
    document = _plan(cli, bundle, out, "--overwrite", "--no-prompt")
    assert document["status"] == 200
    assert document["statusText"] == "OK"
    data = document["data"]
    assert isinstance(data, dict)
    assert data["planPath"] == str(out)
    assert data["summary"] == {"CREATE": 5}  # 2 flows, 1 connection, 2 secrets
    assert data["warnings"]  # the subflow flag cannot travel: said, not hidden
    flows = {item["name"]: item for item in data["items"] if item["kind"] == "flow"}
    assert set(flows) == {"Format address", "Sync orders"}
    assert set(flows["Sync orders"]) >= {"action", "match", "targetUuid", "fingerprint"}
    assert json.loads(out.read_text())["mode"] == "overwrite"
    assert write_requests(prod) == 0  # planning only reads

    applied = cli(
        "flow", "import", "-s", "prod", "-fp", str(bundle), "--plan", str(out), "--no-prompt"
    )
    assert applied.exit_code == 0, applied.stdout
    assert applied.json["status"] == 201
    assert applied.json["data"]["mode"] == "overwrite"
    assert {flow["name"] for flow in prod.snapshot()["flows"]} == {"Format address", "Sync orders"}


def test_a_stale_plan_is_refused_naming_the_items(
    cli: Cli, bundle: Path, prod: ZiggyEmulator, tmp_path: Path
) -> None:
    args = ("flow", "import", "-s", "prod", "-fp", str(bundle), "--overwrite", "--no-prompt")
    assert cli(*args).exit_code == 0  # prod now has the items, matched by name from here on
    out = tmp_path / "plan.json"
    planned = _plan(cli, bundle, out, "--overwrite", "--no-prompt")["data"]
    assert isinstance(planned, dict)
    assert planned["summary"] == {"OVERWRITE": 5}

    edit_flow_node(prod, "Sync orders", 2, data={"code": "return 'hotfix';"})
    before = prod.snapshot()
    prod.reset_requests()
    refused = cli(
        "flow", "import", "-s", "prod", "-fp", str(bundle), "--plan", str(out), "--no-prompt"
    )
    assert refused.exit_code == 1, refused.stdout
    assert refused.json["status"] == 409
    assert refused.json["statusText"] == "Conflict"
    assert "'Sync orders'" in refused.said
    assert "'Format address'" not in refused.message  # only what changed is named
    assert "nothing was written" in refused.said
    assert prod.snapshot() == before  # not even a backup
    assert write_requests(prod) == 0
    assert flow_named(prod, "Sync orders")["nodes"][2]["data"]["code"] == "return 'hotfix';"


def test_the_plan_fixes_the_mode(
    cli: Cli, bundle: Path, prod: ZiggyEmulator, tmp_path: Path
) -> None:
    out = tmp_path / "plan.json"
    _plan(cli, bundle, out, "--skip", "--no-prompt")
    prod.reset_requests()
    base = ("flow", "import", "-s", "prod", "-fp", str(bundle), "--plan", str(out), "--no-prompt")
    contradicted = cli(*base, "--overwrite")
    assert contradicted.exit_code == 1  # the library's own check: a plan that does not apply
    assert contradicted.json["status"] == 409
    assert "mode skip, not overwrite" in contradicted.said
    assert prod.request_count() == 0
    agreed = cli(*base, "--skip", "--dry-run")
    assert agreed.exit_code == 0, agreed.stdout
    assert agreed.json["data"]["mode"] == "skip"


@pytest.mark.parametrize("content", [None, "{}", '{"planFormatVersion": 1, "items": 3}', "[1"])
def test_a_missing_or_broken_plan_file_is_bad_input(
    cli: Cli, bundle: Path, prod: ZiggyEmulator, tmp_path: Path, content: str | None
) -> None:
    plan = tmp_path / "plan.json"
    if content is not None:
        plan.write_text(content)
    result = cli(
        "flow", "import", "-s", "prod", "-fp", str(bundle), "--plan", str(plan), "--no-prompt"
    )
    assert result.exit_code == 2, result.stdout
    assert result.json["status"] == 400
    assert str(plan) in result.said
    assert "\n" not in result.said
    assert prod.request_count() == 0


def test_a_plan_made_for_another_bundle_is_refused(
    cli: Cli, bundle: Path, dev_emulator: ZiggyEmulator, prod: ZiggyEmulator, tmp_path: Path
) -> None:
    out = tmp_path / "plan.json"
    _plan(cli, bundle, out, "--skip", "--no-prompt")
    other = export_to(dev_emulator, tmp_path / "other.json", tags=["tag2"])
    result = cli(
        "flow", "import", "-s", "prod", "-fp", str(other), "--plan", str(out), "--no-prompt"
    )
    assert result.exit_code == 1
    assert result.json["status"] == 409
    assert "another bundle" in result.said
    assert prod.snapshot()["flows"] == []


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--skip"], "--server"),
        (["-s", "prod"], "exactly one import mode"),
        (["-s", "prod", "--skip", "--duplicate"], "--skip and --duplicate"),
        (["-s", "nowhere", "--skip"], "nowhere"),
    ],
)
def test_plan_usage_errors(
    cli: Cli, bundle: Path, prod: ZiggyEmulator, tmp_path: Path, args: list[str], needle: str
) -> None:
    out = tmp_path / "plan.json"
    result = cli("flow", "plan", "-fp", str(bundle), "--out", str(out), "--no-prompt", *args)
    assert result.exit_code == 2
    assert needle in result.said
    assert prod.request_count() == 0
    assert not out.exists()


def test_plan_and_import_part_of_a_bundle(
    cli: Cli, profiles: TaggedDev, dev_emulator: ZiggyEmulator, prod: ZiggyEmulator, tmp_path: Path
) -> None:
    everything = export_to(dev_emulator, tmp_path / "all.json")
    out = tmp_path / "plan.json"
    args = ("flow", "plan", "-s", "prod", "-fp", str(everything), "--out", str(out))
    planned = cli(*args, "--skip", "--tags", "tag2", "--no-prompt")
    assert planned.exit_code == 0, planned.stdout
    assert f"--tags tag2 --plan {out}" in planned.stderr  # how to apply it, spelled out
    data = planned.json["data"]
    assert {(item["kind"], item["name"]) for item in data["items"]} == {
        ("flow", "Invoices"),
        ("connection", "CRM"),
        ("secret", "CRM_TOKEN"),
    }
    applied = cli(
        "flow",
        "import",
        "-s",
        "prod",
        "-fp",
        str(everything),
        "-t",
        "tag2",
        "--plan",
        str(out),
        "--no-prompt",
    )
    assert applied.exit_code == 0, applied.stdout
    assert [flow["name"] for flow in prod.snapshot()["flows"]] == ["Invoices"]


def test_import_help_documents_the_plan_rules(cli: Cli) -> None:
    text = " ".join(cli("flow", "import", "--help").stdout.split())
    assert "--plan" in text
    assert "status 409, exit 1" in text
    assert "A mode flag that contradicts it" in text
