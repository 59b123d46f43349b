"""The README's "Coming from the official ziggy CLI" commands work as written.

The machine is set up as the official CLI leaves it: its profile file in
``~/.ziggy/zinstances.json`` with its key in the keyring, and an official export file
``zexport.json`` (the dev_emulator server's export) in the working folder. Then every command of
the section's shell block runs, in order, exactly as the README spells it.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from ziggy_migrate import load_bundle
from ziggy_migrate.testing import ZiggyEmulator

from ..samples import client_for, seed_tagged_dev
from .conftest import Cli, MemoryKeyring
from .test_auth_import import OfficialCli

README = Path(__file__).resolve().parents[2] / "README.md"


def section_commands() -> list[str]:
    text = README.read_text("utf-8")
    section = text.split("## Coming from the official ziggy CLI", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert block is not None, "the section has no shell block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_the_section_shows_the_import_and_auth_import() -> None:
    commands = section_commands()
    assert any(line.startswith("ziggy auth import") for line in commands)
    assert any(line.startswith("ziggy flow import") and "zexport.json" in line for line in commands)


def test_the_commands_work_as_written(
    cli: Cli,
    dev_emulator: ZiggyEmulator,
    prod: ZiggyEmulator,
    memory_keyring: MemoryKeyring,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seed_tagged_dev(dev_emulator)
    home = tmp_path / "home"
    official = OfficialCli(home, memory_keyring)
    official.auth(
        "dev",
        dev_emulator.url,
        dev_emulator.port,
        dev_emulator.username,
        dev_emulator.password,
        used=True,
    )
    official.auth("prod", prod.url, prod.port, prod.username, prod.password)
    work = tmp_path / "work"
    work.mkdir()
    with client_for(dev_emulator) as client:
        exported = client.server_export_tagged()
    (work / "zexport.json").write_text(json.dumps(exported, indent=2), encoding="utf-8")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)

    for line in section_commands():
        words = shlex.split(line, comments=True)
        assert words[0] == "ziggy"
        result = cli(*words[1:])
        assert result.exit_code == 0, f"{line}\n{result.stdout}{result.stderr}"

    assert sorted(flow["name"] for flow in prod.snapshot()["flows"]) == sorted(
        flow["name"] for flow in exported["flows"]
    )
    assert load_bundle(work / "flows").counts == load_bundle(work / "zexport.json").counts
    assert (work / "prod.dump").read_bytes() == prod.transfer_file
