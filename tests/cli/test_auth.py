"""``ziggy auth``: every spelling of adding, listing, choosing, renaming and removing."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import keyring
import pytest

from ziggy_migrate.testing import ZiggyEmulator
from ziggy_migrate_cli.credentials import SERVICE_NAME
from ziggy_migrate_cli.profiles import ProfileStore

from .conftest import Cli, MemoryKeyring, add_profile, fail_backend


def _add_args(ziggy: ZiggyEmulator, name: str = "dev") -> list[str]:
    return [
        "auth",
        "add",
        name,
        "--url",
        ziggy.url,
        "--port",
        str(ziggy.port),
        "--username",
        ziggy.username,
        "--password-stdin",
    ]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_auth_add_logs_in_then_stores_profile_and_password(
    cli: Cli, dev_emulator: ZiggyEmulator, memory_keyring: MemoryKeyring
) -> None:
    result = cli(*_add_args(dev_emulator), input="admin\n")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert "Logged in" in result.stderr
    assert dev_emulator.request_count("POST", "/api/auth/login") == 1
    assert memory_keyring.store == {(SERVICE_NAME, "dev"): "admin"}
    store = ProfileStore()
    assert store.default_name == "dev"
    assert store.get("dev").port == dev_emulator.port


def test_auth_add_with_a_wrong_password_saves_nothing(
    cli: Cli, dev_emulator: ZiggyEmulator, memory_keyring: MemoryKeyring
) -> None:
    result = cli(*_add_args(dev_emulator), input="wrong\n")
    assert result.exit_code == 3
    assert result.json["status"] == 401
    assert len(ProfileStore()) == 0
    assert memory_keyring.store == {}


def test_auth_add_to_an_unreachable_server_is_a_connection_failure(cli: Cli) -> None:
    args = [
        "auth",
        "add",
        "gone",
        "--url",
        "http://127.0.0.1",
        "--port",
        str(_free_port()),
        "--username",
        "admin",
        "--password-stdin",
    ]
    result = cli(*args, input="pw\n")
    assert result.exit_code == 3
    assert result.json["status"] == 502
    assert "ziggy auth status" in result.hint


def test_no_verify_login_skips_the_check(cli: Cli, memory_keyring: MemoryKeyring) -> None:
    args = [
        "auth",
        "add",
        "later",
        "--url",
        "http://127.0.0.1",
        "--port",
        str(_free_port()),
        "--username",
        "admin",
        "--password-stdin",
        "--no-verify-login",
    ]
    result = cli(*args, input="pw\n")
    assert result.exit_code == 0, result.stdout
    assert "later" in ProfileStore()


def test_auth_add_without_password_and_terminal_is_refused(
    cli: Cli, dev_emulator: ZiggyEmulator
) -> None:
    args = _add_args(dev_emulator)[:-1]
    result = cli(*args)
    assert result.exit_code == 2
    assert "--password-stdin" in result.said


def test_auth_add_rejects_a_bad_name_and_a_url_with_port(
    cli: Cli, dev_emulator: ZiggyEmulator
) -> None:
    result = cli(*_add_args(dev_emulator, name="2fast"), input="admin\n")
    assert result.exit_code == 2
    assert "letters and digits" in result.said
    args = _add_args(dev_emulator)
    args[args.index("--url") + 1] = f"{dev_emulator.url}:{dev_emulator.port + 1}"
    result = cli(*args, input="admin\n")
    assert result.exit_code == 2
    assert f"port {dev_emulator.port + 1} and --port says {dev_emulator.port}" in result.message
    assert result.hint == "Give the port once: in the URL or with --port."
    assert dev_emulator.request_count() == 0


@pytest.mark.parametrize("with_port_flag", [True, False])
def test_auth_add_takes_the_port_in_the_url(
    cli: Cli, dev_emulator: ZiggyEmulator, with_port_flag: bool
) -> None:
    args = _add_args(dev_emulator)
    args[args.index("--url") + 1] = f"{dev_emulator.url}:{dev_emulator.port}/"
    if not with_port_flag:
        at = args.index("--port")
        del args[at : at + 2]
    result = cli(*args, input="admin\n")
    assert result.exit_code == 0, result.stderr
    profile = ProfileStore().get("dev")
    assert (profile.url, profile.port) == (dev_emulator.url, dev_emulator.port)


def test_auth_add_without_any_port_says_where_to_give_it(
    cli: Cli, dev_emulator: ZiggyEmulator
) -> None:
    args = _add_args(dev_emulator)
    at = args.index("--port")
    del args[at : at + 2]
    result = cli(*args, input="admin\n")
    assert result.exit_code == 2
    assert "No port" in result.message
    assert "--port" in result.hint


def test_interactive_auth_asks_everything_and_re_asks_a_bad_name(
    cli: Cli, dev_emulator: ZiggyEmulator, memory_keyring: MemoryKeyring
) -> None:
    answers = ["9bad", "dev", dev_emulator.url, str(dev_emulator.port), "admin", "admin"]
    result = cli("auth", input="\n".join(answers) + "\n", terminal=True)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "letters and digits" in result.stderr
    assert "Password for admin on dev" in result.stderr
    assert ProfileStore().get("dev").url == dev_emulator.url
    assert memory_keyring.store[(SERVICE_NAME, "dev")] == "admin"


def test_interactive_auth_takes_a_url_with_its_port_without_asking_again(
    cli: Cli, dev_emulator: ZiggyEmulator, memory_keyring: MemoryKeyring
) -> None:
    answers = ["dev", f"{dev_emulator.url}:{dev_emulator.port}", "admin", "admin"]
    result = cli("auth", input="\n".join(answers) + "\n", terminal=True)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert "Port" not in result.stderr  # the URL gave it
    profile = ProfileStore().get("dev")
    assert (profile.url, profile.port) == (dev_emulator.url, dev_emulator.port)


def test_interactive_auth_without_a_terminal_points_at_auth_add(cli: Cli) -> None:
    result = cli("auth")
    assert result.exit_code == 2
    assert "ziggy auth add" in result.said


@pytest.mark.parametrize("flag", ["--list", "-l"])
def test_auth_list_marks_the_default(
    cli: Cli,
    dev_emulator: ZiggyEmulator,
    prod: ZiggyEmulator,
    memory_keyring: MemoryKeyring,
    flag: str,
) -> None:
    add_profile("dev", dev_emulator, memory_keyring)
    add_profile("prod", prod, memory_keyring, default=True)
    result = cli("auth", flag)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["NAME", "URL", "PORT", "USERNAME"]
    assert lines[1].split()[0] == "dev"
    assert lines[2].split()[:2] == ["*", "prod"]


def test_auth_list_json(
    cli: Cli, dev_emulator: ZiggyEmulator, memory_keyring: MemoryKeyring
) -> None:
    add_profile("dev", dev_emulator, memory_keyring)
    for args in (("auth", "--list", "--json"), ("auth", "list", "--json")):
        document = cli(*args).json
        assert document["data"]["default"] == "dev"
        assert document["data"]["profiles"] == [
            {
                "name": "dev",
                "url": dev_emulator.url,
                "port": dev_emulator.port,
                "username": "admin",
                "default": True,
            }
        ]
        assert "password" not in json.dumps(document)


def test_auth_list_when_empty_says_how_to_add(cli: Cli) -> None:
    result = cli("auth", "-l")
    assert result.exit_code == 0
    assert "ziggy auth" in result.stderr


def test_auth_use_sets_the_default(
    cli: Cli, dev_emulator: ZiggyEmulator, prod: ZiggyEmulator, memory_keyring: MemoryKeyring
) -> None:
    add_profile("dev", dev_emulator, memory_keyring)
    add_profile("prod", prod, memory_keyring)
    assert cli("auth", "use", "prod").exit_code == 0
    assert ProfileStore().default_name == "prod"
    result = cli("auth", "use", "ghost")
    assert result.exit_code == 2
    assert "ghost" in result.said


def test_auth_rename_moves_the_keyring_entry(
    cli: Cli, dev_emulator: ZiggyEmulator, memory_keyring: MemoryKeyring
) -> None:
    add_profile("dev", dev_emulator, memory_keyring)
    result = cli("auth", "rename", "dev", "local")
    assert result.exit_code == 0, result.stdout
    assert [p.name for p in ProfileStore()] == ["local"]
    assert memory_keyring.store == {(SERVICE_NAME, "local"): "admin"}


def test_interactive_auth_rename_asks_both_names(
    cli: Cli, dev_emulator: ZiggyEmulator, memory_keyring: MemoryKeyring
) -> None:
    add_profile("dev", dev_emulator, memory_keyring)
    result = cli("auth", "rename", input="ghost\ndev\nlocal\n", terminal=True)
    assert result.exit_code == 0, result.stdout
    assert "'ghost'" in result.stderr  # re-asked after an unknown name
    assert ProfileStore().default_name == "local"
    result = cli("auth", "rename")
    assert result.exit_code == 2
    assert "ziggy auth rename FROM TO" in result.said


@pytest.mark.parametrize("args", [["remove", "-s", "dev"], ["remove", "dev"]])
def test_auth_remove_drops_profile_and_keyring_entry(
    cli: Cli, dev_emulator: ZiggyEmulator, memory_keyring: MemoryKeyring, args: list[str]
) -> None:
    add_profile("dev", dev_emulator, memory_keyring)
    result = cli("auth", *args)
    assert result.exit_code == 0, result.stdout
    assert "keyring entry" in result.stderr
    assert len(ProfileStore()) == 0
    assert memory_keyring.store == {}


def test_auth_remove_needs_a_name_without_a_terminal(cli: Cli) -> None:
    result = cli("auth", "remove")
    assert result.exit_code == 2
    assert "ziggy auth remove NAME" in result.said


def test_keyringless_auth_add_saves_the_profile_and_names_the_fallbacks(
    cli: Cli, dev_emulator: ZiggyEmulator
) -> None:
    keyring.set_keyring(fail_backend())
    result = cli(*_add_args(dev_emulator), input="admin\n")
    assert result.exit_code == 0
    assert "no keyring backend" in result.stderr
    for fallback in ("ZIGGY_PASSWORD_DEV", "ZIGGY_PASSWORD ", "--password-stdin"):
        assert fallback in result.stderr
    assert "saved without its password" in result.stderr
    assert "dev" in ProfileStore()


def test_a_corrupt_profile_file_is_a_one_line_error(cli: Cli, config_dir: Path) -> None:
    config_dir.mkdir(parents=True)
    (config_dir / "profiles.json").write_text("{oops")
    result = cli("auth", "--list")
    assert result.exit_code == 2
    assert str(config_dir / "profiles.json") in result.said
    assert "delete it" in result.said
