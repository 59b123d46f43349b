"""``ziggy system backup``: the server's database transfer file, like the official command."""

from __future__ import annotations

import socket
import stat
from pathlib import Path

from ziggy_migrate.testing import ZiggyEmulator
from ziggy_migrate_cli.profiles import Profile, ProfileStore

from ..samples import TaggedDev
from .conftest import Cli, MemoryKeyring


def _system_requests(ziggy: ZiggyEmulator) -> list[tuple[str, str]]:
    return [(r.method, r.path) for r in ziggy.requests if r.path.startswith("/api/system")]


def test_backup_downloads_the_transfer_file(
    cli: Cli, profiles: TaggedDev, dev_emulator: ZiggyEmulator, tmp_path: Path
) -> None:
    target = tmp_path / "dev.dump"
    result = cli("system", "backup", "--server", "dev", "--file-path", str(target), "--no-prompt")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert result.json == {
        "status": 200,
        "statusText": "OK",
        "data": {
            "message": "Backup successful",
            "filePath": str(target),
            "bytes": target.stat().st_size,
        },
    }
    assert target.read_bytes() == dev_emulator.transfer_file
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert _system_requests(dev_emulator) == [
        ("POST", "/api/system/transfer-db"),
        ("GET", "/api/system/download-transfer"),
    ]
    assert "keep it private" in result.stderr
    assert "pg-dev-value" not in result.stdout + result.stderr  # the dump holds it; we don't


def test_backup_replaces_an_existing_file_and_takes_the_default_server(
    cli: Cli, profiles: TaggedDev, tmp_path: Path
) -> None:
    target = tmp_path / "dev.dump"
    target.write_bytes(b"old")
    result = cli("system", "backup", "-fp", str(target), "--no-prompt")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert target.read_bytes().startswith(b"PGDMP")


def test_backup_asks_first_and_refuses_without_a_terminal(
    cli: Cli, profiles: TaggedDev, dev_emulator: ZiggyEmulator, tmp_path: Path
) -> None:
    target = tmp_path / "dev.dump"
    dev_emulator.reset_requests()
    refused = cli("system", "backup", "-s", "dev", "-fp", str(target))
    assert refused.exit_code == 2
    assert "--no-prompt" in refused.hint
    declined = cli("system", "backup", "-s", "dev", "-fp", str(target), input="n\n", terminal=True)
    assert declined.exit_code == 1
    assert "nothing was downloaded" in declined.message
    assert dev_emulator.requests == []
    assert not target.exists()
    accepted = cli("system", "backup", "-s", "dev", "-fp", str(target), input="y\n", terminal=True)
    assert accepted.exit_code == 0, accepted.stdout + accepted.stderr
    assert target.is_file()


def test_a_path_that_cannot_be_written_is_exit_2_before_any_request(
    cli: Cli, profiles: TaggedDev, dev_emulator: ZiggyEmulator, tmp_path: Path
) -> None:
    dev_emulator.reset_requests()
    missing = cli("system", "backup", "-s", "dev", "-fp", str(tmp_path / "no" / "x.dump"),
                  "--no-prompt")  # fmt: skip
    assert missing.exit_code == 2
    assert "does not exist" in missing.message
    folder = cli("system", "backup", "-s", "dev", "-fp", str(tmp_path), "--no-prompt")
    assert folder.exit_code == 2
    assert "is a folder" in folder.message
    assert dev_emulator.requests == []


def test_a_wrong_password_is_exit_3_and_writes_nothing(
    cli: Cli, profiles: TaggedDev, memory_keyring: MemoryKeyring, tmp_path: Path
) -> None:
    memory_keyring.set_password("ziggy-migrate", "dev", "wrong")
    target = tmp_path / "dev.dump"
    result = cli("system", "backup", "-s", "dev", "-fp", str(target), "--no-prompt")
    assert result.exit_code == 3
    assert result.json["status"] == 401
    assert list(tmp_path.iterdir()) == [tmp_path / "config"]


def test_an_unreachable_server_is_exit_3(
    cli: Cli, memory_keyring: MemoryKeyring, tmp_path: Path
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    ProfileStore().add(Profile("gone", "http://127.0.0.1", port, "admin"))
    memory_keyring.set_password("ziggy-migrate", "gone", "admin")
    result = cli("system", "backup", "-s", "gone", "-fp", str(tmp_path / "x.dump"), "--no-prompt")
    assert result.exit_code == 3
    assert not (tmp_path / "x.dump").exists()


def test_system_alone_shows_help_and_exits_2(cli: Cli) -> None:
    result = cli("system")
    assert result.exit_code == 2
    assert "backup" in result.stderr
