"""``ziggy auth import``: the official ziggy CLI's server profiles, copied into ours.

The profile file and its key are made here the way the official CLI makes them: one
random 32-byte key, base64 in the keyring (service ``ziggy-cli``, account
``aes-encryption-key``), and every secret field AES-256-CBC with PKCS#7 padding and a
fresh 16-byte IV, written as ``base64(iv):base64(ciphertext)``.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import keyring
import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from ziggy_migrate.testing import ZiggyEmulator
from ziggy_migrate_cli.credentials import SERVICE_NAME
from ziggy_migrate_cli.official_profiles import KEY_ACCOUNT, KEY_SERVICE
from ziggy_migrate_cli.profiles import Profile, ProfileStore

from .conftest import Cli, MemoryKeyring, fail_backend


def encrypt(text: str, key: bytes) -> str:
    """What the official CLI stores for ``text``: ``base64(iv):base64(ciphertext)``."""
    iv = os.urandom(16)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(text.encode("utf-8")) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    data = encryptor.update(padded) + encryptor.finalize()
    return f"{base64.b64encode(iv).decode()}:{base64.b64encode(data).decode()}"


class OfficialCli:
    """The official CLI's state on this machine: its key in the keyring, its profile file."""

    def __init__(self, home: Path, keyring: MemoryKeyring) -> None:
        self.key = os.urandom(32)
        self.path = home / ".ziggy" / "zinstances.json"
        self.keyring = keyring
        self.servers: dict[str, dict[str, Any]] = {}
        keyring.set_password(KEY_SERVICE, KEY_ACCOUNT, base64.b64encode(self.key).decode())

    def auth(
        self,
        name: str,
        url: str,
        port: Any,
        username: str,
        password: str,
        *,
        used: bool = False,
    ) -> None:
        """What ``ziggy auth`` of the official CLI stores for one server."""
        self.servers[name] = {
            "apiUrl": url,
            "port": port,
            "authToken": encrypt("a-session-token", self.key),
            "userName": encrypt(username, self.key),
            "password": encrypt(password, self.key) if password else "",
            "isUsed": used,
        }
        self.save()

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(self.servers, indent=2), encoding="utf-8")


@pytest.fixture
def official(tmp_path: Path, memory_keyring: MemoryKeyring) -> OfficialCli:
    return OfficialCli(tmp_path / "home", memory_keyring)


@pytest.fixture
def two_servers(
    official: OfficialCli, dev_emulator: ZiggyEmulator, prod: ZiggyEmulator
) -> OfficialCli:
    official.auth("emudev", dev_emulator.url, dev_emulator.port, "admin", "admin", used=True)
    official.auth("emuprod", prod.url, str(prod.port), "admin", "admin")
    return official


def _ours(keyring: MemoryKeyring) -> dict[str, str]:
    return {account: value for (service, account), value in keyring.store.items()
            if service == SERVICE_NAME}  # fmt: skip


def test_import_copies_profiles_and_passwords(
    cli: Cli,
    two_servers: OfficialCli,
    memory_keyring: MemoryKeyring,
    dev_emulator: ZiggyEmulator,
    prod: ZiggyEmulator,
) -> None:
    result = cli("auth", "import", "--from", str(two_servers.path))
    assert result.exit_code == 0, result.stdout + result.stderr
    data = result.json["data"]
    assert data["message"] == "Import successful"
    assert data["filePath"] == str(two_servers.path)
    assert data["imported"] == [
        {"name": name, "url": ziggy.url, "port": ziggy.port, "username": "admin",
         "passwordStored": True}
        for name, ziggy in (("emudev", dev_emulator), ("emuprod", prod))
    ]  # fmt: skip
    assert data["skipped"] == []
    assert data["default"] == "emudev"  # the official CLI's current server
    store = ProfileStore()
    assert store.get("emudev") == Profile("emudev", dev_emulator.url, dev_emulator.port, "admin")
    assert store.default_name == "emudev"
    assert _ours(memory_keyring) == {"emudev": "admin", "emuprod": "admin"}
    assert "Imported 'emudev'" in result.stderr
    assert "a-session-token" not in result.stdout + result.stderr
    # the imported password works
    listed = cli("flow", "list", "--server", "emudev", "--json", "--no-prompt")
    assert listed.exit_code == 0, listed.stdout + listed.stderr


def test_the_default_path_is_the_official_one(
    cli: Cli, two_servers: OfficialCli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    result = cli("auth", "import")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert sorted(p.name for p in ProfileStore()) == ["emudev", "emuprod"]


def test_passwords_never_show(
    cli: Cli, official: OfficialCli, dev_emulator: ZiggyEmulator, memory_keyring: MemoryKeyring
) -> None:
    secret = "S3cret-official-password"
    official.auth("vault", dev_emulator.url, dev_emulator.port, "ops", secret)
    result = cli("auth", "import", "--from", str(official.path))
    assert result.exit_code == 0, result.stdout + result.stderr
    assert secret not in result.stdout + result.stderr
    assert secret not in ProfileStore().path.read_text()
    assert _ours(memory_keyring) == {"vault": secret}


def test_existing_profiles_are_kept_unless_overwrite(
    cli: Cli, two_servers: OfficialCli, memory_keyring: MemoryKeyring, dev_emulator: ZiggyEmulator
) -> None:
    mine = Profile("emudev", "https://mine.example.com", 443, "me")
    ProfileStore().add(mine)
    memory_keyring.set_password(SERVICE_NAME, "emudev", "my-own")
    kept = cli("auth", "import", "--from", str(two_servers.path))
    assert kept.exit_code == 0, kept.stdout + kept.stderr
    assert [row["name"] for row in kept.json["data"]["imported"]] == ["emuprod"]
    assert kept.json["data"]["skipped"] == [
        {"name": "emudev", "reason": "a profile of that name exists; --overwrite replaces it"}
    ]
    assert "warning: skipped 'emudev'" in kept.stderr
    assert ProfileStore().get("emudev") == mine
    assert ProfileStore().default_name == "emudev"  # ours was set: not changed
    assert _ours(memory_keyring)["emudev"] == "my-own"
    replaced = cli("auth", "import", "--from", str(two_servers.path), "--overwrite")
    assert replaced.exit_code == 0, replaced.stdout + replaced.stderr
    assert ProfileStore().get("emudev").url == dev_emulator.url
    assert _ours(memory_keyring)["emudev"] == "admin"


def test_a_profile_ours_cannot_hold_is_skipped_and_said_so(
    cli: Cli, official: OfficialCli, dev_emulator: ZiggyEmulator
) -> None:
    official.auth("emu-dev", dev_emulator.url, dev_emulator.port, "admin", "admin")
    official.auth(
        "withport", f"{dev_emulator.url}:{dev_emulator.port}", dev_emulator.port, "admin", "admin"
    )
    official.auth("nopassword", dev_emulator.url, dev_emulator.port, "admin", "")
    result = cli("auth", "import", "--from", str(official.path))
    assert result.exit_code == 0, result.stdout + result.stderr
    data = result.json["data"]
    assert [(row["name"], row["passwordStored"]) for row in data["imported"]] == [
        ("nopassword", False)
    ]
    reasons = {row["name"]: row["reason"] for row in data["skipped"]}
    assert "letters and digits" in reasons["emu-dev"]
    assert "without port" in reasons["withport"]
    assert "no password kept by the official CLI" in result.stderr


@pytest.mark.parametrize(
    ("damage", "code", "fragment"),
    [
        ("no key", 3, "key is not in the keyring"),
        ("wrong key", 3, "does not decrypt"),
        ("key not base64", 3, "not a base64 32-byte key"),
        ("key too short", 3, "not a base64 32-byte key"),
        ("no keyring", 3, "No keyring"),
        ("not JSON", 2, "is not JSON"),
        ("not an object", 2, "no object of servers"),
        ("server not an object", 2, "is not an object"),
        ("no userName", 2, "no encrypted userName"),
        ("value not iv:data", 2, "not an encrypted value"),
        ("iv too short", 2, "not an encrypted value"),
        ("no file", 2, "No official ziggy profile file"),
    ],
)
def test_a_bad_key_or_file_is_one_line_and_writes_nothing(
    cli: Cli,
    two_servers: OfficialCli,
    memory_keyring: MemoryKeyring,
    damage: str,
    code: int,
    fragment: str,
) -> None:
    path = two_servers.path
    servers = two_servers.servers
    if damage == "no key":
        del memory_keyring.store[(KEY_SERVICE, KEY_ACCOUNT)]
    elif damage == "wrong key":
        memory_keyring.set_password(
            KEY_SERVICE, KEY_ACCOUNT, base64.b64encode(os.urandom(32)).decode()
        )
    elif damage == "key not base64":
        memory_keyring.set_password(KEY_SERVICE, KEY_ACCOUNT, "not base64 at all!")
    elif damage == "key too short":
        memory_keyring.set_password(KEY_SERVICE, KEY_ACCOUNT, base64.b64encode(b"k" * 16).decode())
    elif damage == "no keyring":
        keyring.set_keyring(fail_backend())
    elif damage == "not JSON":
        path.write_text("{not json", encoding="utf-8")
    elif damage == "not an object":
        path.write_text("[]", encoding="utf-8")
    elif damage == "server not an object":
        path.write_text(json.dumps({**servers, "broken": "x"}), encoding="utf-8")
    elif damage == "no userName":
        servers["emuprod"].pop("userName")
        two_servers.save()
    elif damage == "value not iv:data":
        servers["emuprod"]["password"] = "plain-text"
        two_servers.save()
    elif damage == "iv too short":
        value = servers["emuprod"]["password"].split(":")[1]
        servers["emuprod"]["password"] = f"{base64.b64encode(b'short').decode()}:{value}"
        two_servers.save()
    elif damage == "no file":
        path.unlink()
    before = dict(memory_keyring.store)
    result = cli("auth", "import", "--from", str(path))
    assert result.exit_code == code, result.stdout + result.stderr
    assert fragment in result.message
    assert len(result.stdout.splitlines()) == 1
    assert not ProfileStore().path.exists()
    if damage != "no keyring":
        assert memory_keyring.store == before


def test_the_key_may_come_on_stdin(
    cli: Cli, two_servers: OfficialCli, memory_keyring: MemoryKeyring
) -> None:
    del memory_keyring.store[(KEY_SERVICE, KEY_ACCOUNT)]
    key = base64.b64encode(two_servers.key).decode()
    result = cli("auth", "import", "--from", str(two_servers.path), "--key-stdin", input=key + "\n")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert key not in result.stdout + result.stderr
    assert _ours(memory_keyring) == {"emudev": "admin", "emuprod": "admin"}
    empty = cli("auth", "import", "--from", str(two_servers.path), "--key-stdin", input="")
    assert empty.exit_code == 3


def test_without_a_keyring_to_keep_passwords_nothing_is_written(
    cli: Cli, two_servers: OfficialCli
) -> None:
    keyring.set_keyring(fail_backend())
    key = base64.b64encode(two_servers.key).decode()
    result = cli("auth", "import", "--from", str(two_servers.path), "--key-stdin", input=key)
    assert result.exit_code == 3
    assert "ZIGGY_PASSWORD" in result.message  # the fallbacks are named
    assert not ProfileStore().path.exists()


def test_a_failed_profile_write_puts_the_keyring_back(
    cli: Cli,
    two_servers: OfficialCli,
    memory_keyring: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A full disk cannot be made here, so the profile file's write is made to fail."""
    memory_keyring.set_password(SERVICE_NAME, "emudev", "older")
    ProfileStore().add(Profile("emudev", "http://old.example.com", 80, "old"))
    before = dict(memory_keyring.store)
    saved = ProfileStore().path.read_text()

    def disk_full(self: ProfileStore) -> None:
        raise OSError(28, "No space left on device", str(self.path))

    monkeypatch.setattr(ProfileStore, "_save", disk_full)
    result = cli("auth", "import", "--from", str(two_servers.path), "--overwrite")
    assert result.exit_code == 2
    assert "No space left on device" in result.message
    assert memory_keyring.store == before
    assert ProfileStore().path.read_text() == saved


def test_an_empty_official_file_imports_nothing_without_asking_for_the_key(
    cli: Cli, official: OfficialCli, memory_keyring: MemoryKeyring
) -> None:
    del memory_keyring.store[(KEY_SERVICE, KEY_ACCOUNT)]
    official.save()
    result = cli("auth", "import", "--from", str(official.path))
    assert result.exit_code == 0, result.stdout + result.stderr
    assert result.json["data"]["message"] == "Nothing imported"
