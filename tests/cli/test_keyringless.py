"""No keyring at all (a bare CI machine): the environment variables carry the password."""

from __future__ import annotations

from pathlib import Path

import pytest

from ziggy_migrate.testing import ZiggyEmulator

from ..samples import TaggedDev, seed_tagged_dev
from .conftest import Cli, add_profile, run_subprocess, subprocess_env


@pytest.fixture
def keyringless_dev(dev_emulator: ZiggyEmulator, no_keyring: None) -> ZiggyEmulator:
    seed_tagged_dev(dev_emulator)
    add_profile("dev", dev_emulator, None, default=True)
    return dev_emulator


@pytest.mark.parametrize("variable", ["ZIGGY_PASSWORD_DEV", "ZIGGY_PASSWORD"])
def test_password_from_the_environment(
    cli: Cli,
    keyringless_dev: ZiggyEmulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
) -> None:
    monkeypatch.setenv(variable, "admin")
    result = cli(
        "flow", "export", "-s", "dev", "--no-prompt", "-t", "tag1", "-fp", str(tmp_path / "b.json")
    )
    assert result.exit_code == 0, result.stdout
    assert result.json["status"] == 200


def test_the_profile_variable_wins_over_the_generic_one(
    cli: Cli, keyringless_dev: ZiggyEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZIGGY_PASSWORD", "wrong")
    monkeypatch.setenv("ZIGGY_PASSWORD_DEV", "admin")
    assert cli("flow", "list", "--json").exit_code == 0


def test_password_stdin_on_a_flow_command(cli: Cli, keyringless_dev: ZiggyEmulator) -> None:
    result = cli("flow", "list", "--json", "--password-stdin", input="admin\n")
    assert result.exit_code == 0, result.stdout
    assert len(result.json["data"]) == 4


def test_without_any_password_the_error_names_the_fallbacks(
    cli: Cli, keyringless_dev: ZiggyEmulator, tmp_path: Path
) -> None:
    result = cli("export", "-s", "dev", "--no-prompt", "-t", "tag1", "-fp", str(tmp_path / "b"))
    assert result.exit_code == 3
    assert result.json["status"] == 401
    for fallback in ("ZIGGY_PASSWORD_DEV", "ZIGGY_PASSWORD ", "--password-stdin"):
        assert fallback in result.said
    assert keyringless_dev.request_count() == 0


def test_a_real_process_with_the_fail_backend(
    seeded: TaggedDev, dev_emulator: ZiggyEmulator, config_dir: Path, tmp_path: Path
) -> None:
    env = subprocess_env(config_dir)  # PYTHON_KEYRING_BACKEND=keyring.backends.fail.Keyring
    args = [
        "auth",
        "add",
        "dev",
        "--url",
        dev_emulator.url,
        "--port",
        str(dev_emulator.port),
        "--username",
        "admin",
        "--password-stdin",
    ]
    added = run_subprocess(args, env, input="admin\n")
    assert added.exit_code == 0, added.stdout + added.stderr
    assert "no keyring backend" in added.stderr
    missing = run_subprocess(["flow", "list", "--json"], env)
    assert missing.exit_code == 3
    assert "ZIGGY_PASSWORD_DEV" in missing.said
    out = tmp_path / "out.json"
    exported = run_subprocess(
        ["flow", "export", "--no-prompt", "--tags", "tag1", "tag2", "--file-path", str(out)],
        {**env, "ZIGGY_PASSWORD_DEV": "admin"},
    )
    assert exported.exit_code == 0, exported.stdout + exported.stderr
    assert exported.json["data"]["counts"]["flows"] == 3
