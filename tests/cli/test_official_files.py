"""Official ziggy export files through the CLI: import, plan, diff, ``bundle convert`` and
``flow export --file-format official`` (issue 14, part 1).

The official file is what the dev_emulator emulator's server export answers, written as the
official ``ziggy flow export`` writes it.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from ziggy_migrate import CURRENT_SCHEMA_VERSION, ItemKind, load_bundle
from ziggy_migrate.testing import ZiggyEmulator

from ..samples import TaggedDev, client_for, export_to, flow_named, write_requests
from .conftest import Cli

PLANTED = "planted-dev-value-0a9f"


def official_file(ziggy: ZiggyEmulator, path: Path, **changes: Any) -> Path:
    """The server's export of every flow, saved as the official CLI saves it."""
    with client_for(ziggy) as client:
        document = client.server_export_tagged()
    for key, value in changes.items():
        document[key] = value
    path.write_text(json.dumps(document, indent=2), encoding="utf-8")
    return path


def items(path: Path) -> dict[str, list[Any]]:
    bundle = load_bundle(path)
    return {kind.plural: sorted(bundle.items(kind), key=lambda i: i.uuid) for kind in ItemKind}


@pytest.fixture
def zexport(profiles: TaggedDev, dev_emulator: ZiggyEmulator, tmp_path: Path) -> Path:
    return official_file(dev_emulator, tmp_path / "zexport.json")


# ------------------------------------------------------------------ accepted where bundles are


def test_flow_import_takes_an_official_export_file(
    cli: Cli, zexport: Path, prod: ZiggyEmulator
) -> None:
    result = cli(
        "flow", "import", "--server", "prod", "--overwrite", "--no-prompt", "--file-path",
        str(zexport),
    )  # fmt: skip
    assert result.exit_code == 0, result.stdout + result.stderr
    data = result.json["data"]
    assert {item["result"] for item in data["flowsProcessed"]} == {"CREATE"}
    assert sorted(flow["name"] for flow in prod.snapshot()["flows"]) == [
        "Format address",
        "Invoices",
        "Sandbox",
        "Sync orders",
    ]
    orders = flow_named(prod, "Sync orders")
    pg = next(row for row in prod.snapshot()["connections"] if row["name"] == "Orders DB")
    assert orders["nodes"][0]["data"]["connectionUuid"] == pg["uuid"]  # rewired as always


def test_flow_plan_and_diff_take_an_official_export_file(
    cli: Cli, zexport: Path, dev_emulator: ZiggyEmulator, tmp_path: Path
) -> None:
    plan = tmp_path / "plan.json"
    planned = cli(
        "flow", "plan", "-s", "prod", "--file-path", str(zexport), "--skip", "--out", str(plan)
    )
    assert planned.exit_code == 0, planned.stdout + planned.stderr
    assert plan.is_file()
    # the same file converts to the same bundle, so the saved plan applies to it
    applied = cli("flow", "import", "-s", "prod", "-fp", str(zexport), "--plan", str(plan),
                  "--no-prompt")  # fmt: skip
    assert applied.exit_code == 0, applied.stdout + applied.stderr
    assert {item["result"] for item in applied.json["data"]["flowsProcessed"]} == {"CREATE"}
    ours = export_to(dev_emulator, tmp_path / "ours.json")
    same = cli("flow", "diff", "--file-path", str(zexport), "--against", str(ours), "--exit-code")
    assert same.exit_code == 0, same.stdout + same.stderr
    assert same.json["data"]["summary"]["changed"] == 0
    against_dev = cli("flow", "diff", "--server", "dev", "--file-path", str(zexport), "--exit-code")
    assert against_dev.exit_code == 0, against_dev.stdout + against_dev.stderr


def test_warnings_about_the_file_go_to_stderr(
    cli: Cli, profiles: TaggedDev, dev_emulator: ZiggyEmulator, tmp_path: Path
) -> None:
    with client_for(dev_emulator) as client:
        document = client.server_export_tagged()
    document["secrets"][0]["devValue"] = PLANTED
    path = tmp_path / "leaky.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    result = cli("flow", "import", "-s", "prod", "-fp", str(path), "--skip", "--dry-run")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "warning: official export file: the file carries values of 1 secret(s)" in result.stderr
    assert PLANTED not in result.stdout + result.stderr


def test_a_broken_official_file_is_one_line_and_exit_2(
    cli: Cli, profiles: TaggedDev, dev_emulator: ZiggyEmulator, prod: ZiggyEmulator, tmp_path: Path
) -> None:
    with client_for(dev_emulator) as client:
        document = client.server_export_tagged()
    del document["flows"][1]["uuid"]
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    prod.reset_requests()
    result = cli("flow", "import", "-s", "prod", "--skip", "--no-prompt", "-fp", str(path))
    assert result.exit_code == 2
    assert result.json["status"] == 400
    assert f"{path}: $.flows[1].uuid: a flow row needs a uuid" in result.message
    assert write_requests(prod) == 0 and not prod.requests


# ------------------------------------------------------------------ ziggy bundle convert


@pytest.mark.parametrize("layout", ["file", "dir"])
def test_convert_writes_the_bundle_of_an_official_file(
    cli: Cli, zexport: Path, tmp_path: Path, layout: str
) -> None:
    out = tmp_path / ("converted" if layout == "dir" else "converted.json")
    result = cli(
        "bundle", "convert", "--file-path", str(zexport), "--out", str(out), "--layout", layout
    )
    assert result.exit_code == 0, result.stdout + result.stderr
    data = result.json["data"]
    assert data["message"] == "Conversion successful"
    assert data["filePath"] == str(out)
    assert data["fileFormat"] == "bundle"
    assert data["counts"]["flows"] == 4
    assert (out / "index.json").is_file() if layout == "dir" else out.is_file()
    assert items(out) == items(zexport)
    assert (
        json.loads((out / "index.json" if layout == "dir" else out).read_text())["schemaVersion"]
        == CURRENT_SCHEMA_VERSION
    )


def test_convert_reports_what_the_file_carried_without_repeating_it(
    cli: Cli, profiles: TaggedDev, dev_emulator: ZiggyEmulator, tmp_path: Path
) -> None:
    with client_for(dev_emulator) as client:
        document = client.server_export_tagged()
    document["secrets"][0]["prodValue"] = PLANTED
    document["schedules"] = [{"uuid": "s1", "name": "nightly", "flowUuid": profiles.orders}]
    source = tmp_path / "zexport.json"
    source.write_text(json.dumps(document), encoding="utf-8")
    out = tmp_path / "bundle.json"
    result = cli("bundle", "convert", "-fp", str(source), "-o", str(out))
    assert result.exit_code == 0, result.stdout + result.stderr
    warnings = result.json["data"]["warnings"]
    assert any("values of 1 secret(s)" in warning for warning in warnings)
    assert not any("schedule" in warning for warning in warnings)  # it is in the bundle
    assert result.json["data"]["counts"]["schedules"] == 1
    assert [(s.name, s.flow_uuid) for s in load_bundle(out).schedules] == [
        ("nightly", profiles.orders)
    ]
    assert "warning: the file carries values" in result.stderr
    assert PLANTED not in out.read_text() + result.stdout + result.stderr


def test_an_official_file_written_from_a_bundle_with_schedules_says_it_lacks_them(
    cli: Cli, profiles: TaggedDev, dev_emulator: ZiggyEmulator, tmp_path: Path
) -> None:
    dev_emulator.add_schedule("Nightly", flow_uuid=profiles.orders)
    bundle = export_to(dev_emulator, tmp_path / "bundle.json", tags=["tag1"])
    assert len(load_bundle(bundle).schedules) == 1
    back = tmp_path / "back.json"
    converted = cli(
        "bundle", "convert", "-fp", str(bundle), "-o", str(back), "--file-format", "official"
    )
    exported = cli(
        "flow", "export", "-s", "dev", "--no-prompt", "--tags", "tag1", "--file-format",
        "official", "--file-path", str(tmp_path / "zexport.json"),
    )  # fmt: skip
    for result, path in ((converted, back), (exported, tmp_path / "zexport.json")):
        assert result.exit_code == 0, result.stdout + result.stderr
        (warning,) = [w for w in result.json["data"]["warnings"] if "schedule" in w]
        assert "1 schedule" in warning and "left out" in warning
        assert "warning: the bundle holds 1 schedule" in result.stderr
        assert "schedules" not in json.loads(path.read_text())


def test_convert_goes_back_to_the_official_shape(
    cli: Cli, zexport: Path, dev_emulator: ZiggyEmulator, tmp_path: Path
) -> None:
    folder = tmp_path / "flows"
    assert cli("bundle", "convert", "-fp", str(zexport), "-o", str(folder), "--layout", "dir")
    back = tmp_path / "back.json"
    result = cli(
        "bundle", "convert", "-fp", str(folder), "-o", str(back), "--file-format", "official"
    )
    assert result.exit_code == 0, result.stdout + result.stderr
    assert result.json["data"]["fileFormat"] == "official"
    written = json.loads(back.read_text())
    original = json.loads(zexport.read_text())
    assert list(written) == list(original)
    assert [row["uuid"] for row in written["flows"]] == [row["uuid"] for row in original["flows"]]
    assert items(back) == items(zexport)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--layout", "dir", "--file-format", "official"], "--layout dir goes with"),
        (["--file-format", "yaml"], "yaml"),
    ],
)
def test_convert_usage_errors_are_exit_2(
    cli: Cli, zexport: Path, tmp_path: Path, args: list[str], fragment: str
) -> None:
    out = tmp_path / "out"
    result = cli("bundle", "convert", "-fp", str(zexport), "-o", str(out), *args)
    assert result.exit_code == 2
    assert fragment in result.message
    assert not out.exists()


def test_convert_refuses_one_of_our_bundles_and_a_missing_file(
    cli: Cli, profiles: TaggedDev, dev_emulator: ZiggyEmulator, tmp_path: Path
) -> None:
    ours = export_to(dev_emulator, tmp_path / "ours.json")
    out = tmp_path / "out.json"
    result = cli("bundle", "convert", "-fp", str(ours), "-o", str(out))
    assert result.exit_code == 2
    assert "ziggy-migrate bundle, not an official ziggy export file" in result.message
    missing = cli("bundle", "convert", "-fp", str(tmp_path / "nope.json"), "-o", str(out))
    assert missing.exit_code == 2
    assert not out.exists()


def test_bundle_alone_shows_help_and_exits_2(cli: Cli) -> None:
    result = cli("bundle")
    assert result.exit_code == 2
    assert "convert" in result.stderr


# ------------------------------------------------------------------ flow export --file-format


def test_export_in_the_official_shape(
    cli: Cli, profiles: TaggedDev, dev_emulator: ZiggyEmulator, tmp_path: Path
) -> None:
    out = tmp_path / "zexport.json"
    result = cli(
        "flow", "export", "-s", "dev", "--no-prompt", "--tags", "tag1", "--file-format",
        "official", "--file-path", str(out),
    )  # fmt: skip
    assert result.exit_code == 0, result.stdout + result.stderr
    data = result.json["data"]
    assert data["message"] == "Export successful"  # the official CLI's keys...
    assert data["filePath"] == str(out)
    assert data["flowCount"] == 2
    assert data["counts"]["flows"] == 2  # ...beside ours
    assert data["fileFormat"] == "official"
    document = json.loads(out.read_text())
    assert list(document) == ["flows", "connections", "secrets", "structures", "variables"]
    assert all(row["tenantId"] == "##solo##" for row in document["flows"])
    assert sorted(row["name"] for row in document["flows"]) == ["Format address", "Sync orders"]
    assert "pg-dev-value" not in out.read_text()
    as_bundle = export_to(dev_emulator, tmp_path / "bundle.json", tags=["tag1"])
    assert items(out) == items(as_bundle)


def test_an_official_export_imports_back_with_the_official_keys(
    cli: Cli, profiles: TaggedDev, prod: ZiggyEmulator, tmp_path: Path
) -> None:
    out = tmp_path / "zexport.json"
    exported = cli(
        "flow", "export", "-s", "dev", "--no-prompt", "--file-format", "official", "-fp", str(out)
    )
    assert exported.exit_code == 0, exported.stdout + exported.stderr
    imported = cli("flow", "import", "-s", "prod", "--skip", "--no-prompt", "-fp", str(out))
    assert imported.exit_code == 0, imported.stdout + imported.stderr
    assert len(prod.snapshot()["flows"]) == exported.json["data"]["flowCount"] == 4


def test_export_official_with_layout_dir_is_refused_before_any_request(
    cli: Cli, profiles: TaggedDev, dev_emulator: ZiggyEmulator, tmp_path: Path
) -> None:
    dev_emulator.reset_requests()
    result = cli(
        "flow", "export", "-s", "dev", "--no-prompt", "--file-format", "official", "--layout",
        "dir", "-fp", str(tmp_path / "out"),
    )  # fmt: skip
    assert result.exit_code == 2
    assert "--layout dir goes with --file-format bundle" in result.message
    assert dev_emulator.requests == []


def test_a_bundle_export_answers_the_official_keys_too(
    cli: Cli, profiles: TaggedDev, tmp_path: Path
) -> None:
    out = tmp_path / "bundle.json"
    result = cli("flow", "export", "-s", "dev", "--no-prompt", "-t", "tag2", "-fp", str(out))
    assert result.exit_code == 0, result.stdout + result.stderr
    data = result.json["data"]
    assert data["message"] == "Export successful"
    assert data["flowCount"] == 1
    assert data["fileFormat"] == "bundle"
    assert copy.deepcopy(data["counts"])["flows"] == 1
