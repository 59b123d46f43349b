"""Hostile bundle and plan files on the command line: one line, exit 2, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest

from ziggy_migrate.testing import ZiggyEmulator

from ..samples import TaggedDev, export_to
from .conftest import Cli


def test_a_device_as_the_bundle_is_one_line(cli: Cli, profiles: TaggedDev, tmp_path: Path) -> None:
    plan = str(tmp_path / "plan.json")
    result = cli("flow", "plan", "-s", "prod", "-fp", "/dev/zero", "--skip", "--out", plan)
    assert result.exit_code == 2
    assert result.message.startswith("/dev/zero is a character device, not a regular file")


def test_a_bundle_with_a_key_twice_imports_nothing(
    cli: Cli, profiles: TaggedDev, dev_emulator: ZiggyEmulator, prod: ZiggyEmulator, tmp_path: Path
) -> None:
    path = export_to(dev_emulator, tmp_path / "bundle.json")
    text = path.read_text("utf-8")
    path.write_text(text.rstrip().removesuffix("}") + ',\n  "flows": []\n}\n', "utf-8")
    prod.reset_requests()
    result = cli("flow", "import", "-s", "prod", "-fp", str(path), "--skip", "--no-prompt")
    assert result.exit_code == 2
    assert result.message.startswith(f"{path}: $.flows: 'flows' appears twice")
    assert prod.request_count() == 0
    assert prod.snapshot()["flows"] == []


def test_a_plan_with_a_key_twice_is_refused(
    cli: Cli, profiles: TaggedDev, dev_emulator: ZiggyEmulator, prod: ZiggyEmulator, tmp_path: Path
) -> None:
    bundle = export_to(dev_emulator, tmp_path / "bundle.json")
    plan = tmp_path / "plan.json"
    made = cli("flow", "plan", "-s", "prod", "-fp", str(bundle), "--skip", "--out", str(plan))
    assert made.exit_code == 0, made.stdout
    plan.write_text(plan.read_text().replace("{", '{\n  "mode": "overwrite",', 1))
    result = cli(
        "flow", "import", "-s", "prod", "-fp", str(bundle), "--plan", str(plan), "--no-prompt"
    )
    assert result.exit_code == 2
    assert "$.mode: 'mode' appears twice" in result.message
    assert prod.snapshot()["flows"] == []


def test_the_size_limit_is_set_by_the_environment(
    cli: Cli, profiles: TaggedDev, dev_emulator: ZiggyEmulator, tmp_path: Path
) -> None:
    path = export_to(dev_emulator, tmp_path / "bundle.json")
    plan = ("flow", "plan", "-s", "prod", "-fp", str(path), "--skip", "--out", str(tmp_path / "p"))
    small = cli(*plan, env={"ZIGGY_MAX_BUNDLE_SIZE": "1KiB"})
    assert small.exit_code == 2
    assert "larger than the bundle size limit of 1 KiB" in small.message
    enough = cli(*plan, env={"ZIGGY_MAX_BUNDLE_SIZE": "1MiB"})
    assert enough.exit_code == 0, enough.stdout


@pytest.mark.parametrize("command", ["plan", "diff"])
def test_a_link_in_a_bundle_folder_is_named(
    cli: Cli, profiles: TaggedDev, tmp_path: Path, command: str
) -> None:
    folder = tmp_path / "bundle"
    exported = cli(
        "flow", "export", "-s", "dev", "--layout", "dir", "-fp", str(folder), "--no-prompt"
    )
    assert exported.exit_code == 0, exported.stdout
    outside = tmp_path / "elsewhere.json"
    item = sorted((folder / "flows").glob("*.json"))[0]
    outside.write_bytes(item.read_bytes())
    item.unlink()
    item.symlink_to(outside)
    plan = ["-s", "prod", "--skip", "--out", str(tmp_path / "plan.json")]
    args = plan if command == "plan" else ["--against", str(folder)]
    result = cli("flow", command, "-fp", str(folder), *args)
    assert result.exit_code == 2
    assert f"{item} is a symbolic link" in result.message


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero on this system")
def test_a_device_as_the_plan_is_one_line(
    cli: Cli, profiles: TaggedDev, dev_emulator: ZiggyEmulator, tmp_path: Path
) -> None:
    bundle = export_to(dev_emulator, tmp_path / "bundle.json")
    result = cli(
        "flow", "import", "-s", "prod", "-fp", str(bundle), "--plan", "/dev/zero", "--no-prompt"
    )
    assert result.exit_code == 2
    assert result.message.startswith("/dev/zero is a character device, not a regular file")


def test_a_plan_larger_than_a_plan_can_be_is_refused_unread(
    cli: Cli, profiles: TaggedDev, dev_emulator: ZiggyEmulator, tmp_path: Path
) -> None:
    bundle = export_to(dev_emulator, tmp_path / "bundle.json")
    plan = tmp_path / "huge-plan.json"
    with plan.open("wb") as handle:  # sparse: no disk is used for the hole
        handle.truncate((256 << 20) + 1)
    result = cli("flow", "import", "-s", "prod", "-fp", str(bundle), "--plan", str(plan))
    assert result.exit_code == 2
    assert "larger than a plan file can be" in result.message
