"""The official ziggy CLI's server profiles (``~/.ziggy/zinstances.json``), read.

The official ``ziggy auth`` keeps an object keyed by each server's friendly name::

    {"emudev": {"apiUrl": "http://localhost", "port": 3000, "authToken": ENC or "",
                "userName": ENC, "password": ENC, "isUsed": true}}

(other keys may appear and are ignored). Each ENC is ``base64(iv) + ":" +
base64(ciphertext)``: AES-256-CBC with PKCS#7 padding and a random 16-byte IV, under one
32-byte key that the official CLI keeps in the OS keyring as service ``ziggy-cli``,
account ``aes-encryption-key``, base64-encoded.

:func:`read_official_profiles` reads and decrypts the whole file before anything is
written anywhere: a broken file is :class:`OfficialProfilesError` (bad input, exit 2), a
missing or wrong key :class:`OfficialKeyError` (a credential problem, exit 3). The
decrypted passwords are only ever handed to the keyring; ``authToken`` (a session of that
server) is never decrypted at all. Messages never hold a secret.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from . import credentials
from .credentials import CredentialError
from .output import CliError

__all__ = [
    "DEFAULT_PATH",
    "KEY_ACCOUNT",
    "KEY_SERVICE",
    "OfficialKeyError",
    "OfficialProfile",
    "OfficialProfilesError",
    "decrypt",
    "read_official_profiles",
]

KEY_SERVICE = "ziggy-cli"
KEY_ACCOUNT = "aes-encryption-key"
DEFAULT_PATH = Path("~/.ziggy/zinstances.json")
_IV_BYTES = 16
_KEY_BYTES = 32


class OfficialProfilesError(CliError):
    """The official profile file is missing, unreadable or not in the official shape."""


class OfficialKeyError(CredentialError):
    """The official CLI's key is not in the keyring, not a key, or not the file's key."""


@dataclass(frozen=True)
class OfficialProfile:
    """One server of the official CLI, decrypted. ``password`` is "" when none was kept."""

    name: str
    url: Any
    port: Any
    username: str
    password: str = field(repr=False)
    is_used: bool = False


def read_official_profiles(path: Path, *, key_text: str | None = None) -> list[OfficialProfile]:
    """Every server in the official profile file at ``path``, decrypted, in file order.

    ``key_text`` is the official key (base64) when given on stdin; otherwise it is read
    from the keyring. Nothing is asked for when the file holds no server.
    """
    entries = _entries(path)
    if not entries:
        return []
    key = _key(key_text)
    profiles = []
    for name, entry in entries.items():
        username = _decrypt_field(entry, "userName", name, key, path)
        password = (
            _decrypt_field(entry, "password", name, key, path) if entry.get("password") else ""
        )
        profiles.append(
            OfficialProfile(
                name=name,
                url=entry.get("apiUrl"),
                port=entry.get("port"),
                username=username,
                password=password,
                is_used=entry.get("isUsed") is True,
            )
        )
    return profiles


def decrypt(value: str, key: bytes) -> str:
    """The text an official ``iv:ciphertext`` value holds.

    Raises ``ValueError`` when the value is not in that shape (a broken file) and
    :class:`OfficialKeyError` when it does not decrypt under ``key`` (bad padding or
    not UTF-8 text: the wrong key).
    """
    iv_text, separator, data_text = value.partition(":")
    if not separator:
        raise ValueError("not iv:ciphertext")
    try:
        iv = base64.b64decode(iv_text, validate=True)
        data = base64.b64decode(data_text, validate=True)
    except binascii.Error:
        raise ValueError("not base64") from None
    if len(iv) != _IV_BYTES or not data or len(data) % _IV_BYTES:
        raise ValueError("not an AES-CBC value (a 16-byte IV and whole blocks)")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    padded = decryptor.update(data) + decryptor.finalize()
    unpadder = padding.PKCS7(algorithms.AES.block_size).unpadder()
    try:
        plain = unpadder.update(padded) + unpadder.finalize()
        return plain.decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        raise _wrong_key() from None


def _entries(path: Path) -> dict[str, dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise OfficialProfilesError(
            f"No official ziggy profile file at {path} (the official 'ziggy auth' writes "
            f"{DEFAULT_PATH}); give its path with --from."
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise OfficialProfilesError(f"Cannot read {path}: {reason}.") from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise OfficialProfilesError(f"{path} is not JSON ({exc}); nothing was imported.") from None
    if not isinstance(data, dict):
        raise OfficialProfilesError(
            f"{path} is not an official profile file: it holds no object of servers."
        )
    for name, entry in data.items():
        if not isinstance(entry, dict):
            raise OfficialProfilesError(f"{path}: server {name!r} is not an object.")
        if not isinstance(entry.get("userName"), str) or not entry["userName"]:
            raise OfficialProfilesError(f"{path}: server {name!r} has no encrypted userName.")
        if not isinstance(entry.get("password", ""), str):
            raise OfficialProfilesError(f"{path}: server {name!r} has a password that is not text.")
    return data


def _key(key_text: str | None) -> bytes:
    where = "given on stdin" if key_text is not None else "in the keyring"
    if key_text is None:
        if not credentials.keyring_is_usable():
            raise OfficialKeyError(
                f"No keyring to read the official ziggy CLI's key from "
                f"({credentials.keyring_backend_name()}); pipe the key with --key-stdin."
            )
        key_text = credentials.read_keyring_entry(KEY_SERVICE, KEY_ACCOUNT)
        if key_text is None:
            raise OfficialKeyError(
                f"The official ziggy CLI's key is not in the keyring (service {KEY_SERVICE}, "
                f"account {KEY_ACCOUNT}): run the official 'ziggy auth' on this machine "
                "first, pipe the key with --key-stdin, or add the servers with 'ziggy auth add'."
            )
    try:
        key = base64.b64decode(key_text.strip(), validate=True)
    except binascii.Error:
        key = b""
    if len(key) != _KEY_BYTES:
        raise OfficialKeyError(
            f"The official ziggy CLI's key {where} is not a base64 32-byte key; nothing was "
            "imported."
        )
    return key


def _decrypt_field(
    entry: dict[str, Any], field_name: str, server: str, key: bytes, path: Path
) -> str:
    try:
        return decrypt(str(entry[field_name]), key)
    except ValueError as exc:
        raise OfficialProfilesError(
            f"{path}: the {field_name} of server {server!r} is not an encrypted value ({exc}); "
            "nothing was imported."
        ) from None


def _wrong_key() -> OfficialKeyError:
    return OfficialKeyError(
        "The official ziggy CLI's key does not decrypt its profile file (another key, or "
        "another machine's file); nothing was imported."
    )
