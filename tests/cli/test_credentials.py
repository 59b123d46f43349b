"""Password resolution order and keyring failures that never crash."""

from __future__ import annotations

import io

import keyring
import keyring.backend
import pytest

from ziggy_migrate_cli import credentials, output
from ziggy_migrate_cli.credentials import (
    SERVICE_NAME,
    CredentialError,
    KeyringUnavailableError,
    resolve_password,
)

from .conftest import MemoryKeyring, fail_backend, null_backend


class BrokenKeyring(keyring.backend.KeyringBackend):
    """A backend whose every call fails, like a locked or unreachable Secret Service."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]

    def get_password(self, service: str, username: str) -> str | None:
        raise RuntimeError("the Secret Service is not answering")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise RuntimeError("the Secret Service is not answering")

    def delete_password(self, service: str, username: str) -> None:
        raise RuntimeError("the Secret Service is not answering")


def test_stdin_wins_over_everything(
    memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZIGGY_PASSWORD_DEV", "from-env-dev")
    memory_keyring.set_password(SERVICE_NAME, "dev", "from-keyring")
    assert resolve_password("dev", "admin", stdin_password="from-stdin") == "from-stdin"


def test_profile_variable_then_generic_variable_then_keyring(
    memory_keyring: MemoryKeyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    memory_keyring.set_password(SERVICE_NAME, "dev", "from-keyring")
    assert resolve_password("dev", "admin") == "from-keyring"
    monkeypatch.setenv("ZIGGY_PASSWORD", "from-env")
    assert resolve_password("dev", "admin") == "from-env"
    monkeypatch.setenv("ZIGGY_PASSWORD_DEV", "from-env-dev")
    assert resolve_password("dev", "admin") == "from-env-dev"
    assert resolve_password("prod", "admin") == "from-env"  # upper-cased per profile


def test_prompt_only_with_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(output, "stdin_is_terminal", lambda: True)
    monkeypatch.setattr(credentials, "prompt_password", lambda name, user: "typed")
    assert resolve_password("dev", "admin") == "typed"
    with pytest.raises(CredentialError):
        resolve_password("dev", "admin", allow_prompt=False)


def test_without_any_source_the_error_names_every_fallback() -> None:
    with pytest.raises(CredentialError) as caught:
        resolve_password("dev", "admin")
    message = str(caught.value)
    for fallback in ("ZIGGY_PASSWORD_DEV", "ZIGGY_PASSWORD ", "--password-stdin"):
        assert fallback in message
    assert caught.value.exit_code == 3


@pytest.mark.parametrize(
    "backend",
    [fail_backend(), null_backend(), BrokenKeyring()],
    ids=["fail", "null", "broken"],
)
def test_unusable_keyrings_fall_through_when_reading(
    backend: keyring.backend.KeyringBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    keyring.set_keyring(backend)
    with pytest.raises(CredentialError):
        resolve_password("dev", "admin")
    monkeypatch.setenv("ZIGGY_PASSWORD", "env")
    assert resolve_password("dev", "admin") == "env"


@pytest.mark.parametrize(
    ("backend", "why"),
    [
        (fail_backend(), "no keyring backend"),
        (null_backend(), "no keyring backend"),
        (BrokenKeyring(), "refused it"),
    ],
    ids=["fail", "null", "broken"],
)
def test_saving_without_a_usable_keyring_names_the_fallbacks(
    backend: keyring.backend.KeyringBackend, why: str
) -> None:
    keyring.set_keyring(backend)
    with pytest.raises(KeyringUnavailableError) as caught:
        credentials.save_password("dev", "hunter2")
    message = str(caught.value)
    assert why in message
    for fallback in ("ZIGGY_PASSWORD_DEV", "ZIGGY_PASSWORD ", "--password-stdin"):
        assert fallback in message
    assert "hunter2" not in message
    assert credentials.delete_password("dev") is False  # and removal never crashes


class ForgetfulKeyring(MemoryKeyring):
    """Accepts passwords and keeps none (like the null backend, under another name)."""

    def set_password(self, service: str, username: str, password: str) -> None:
        return None


def test_a_save_is_read_back_before_it_is_trusted() -> None:
    keyring.set_keyring(ForgetfulKeyring())
    with pytest.raises(KeyringUnavailableError, match="did not keep the password"):
        credentials.save_password("dev", "hunter2")


def test_save_move_and_delete(memory_keyring: MemoryKeyring) -> None:
    credentials.save_password("dev", "pw")
    assert credentials.move_password("dev", "local") is True
    assert memory_keyring.store == {(SERVICE_NAME, "local"): "pw"}
    assert credentials.delete_password("local") is True
    assert credentials.delete_password("local") is False


def test_password_stdin_strips_only_the_line_ending(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(" pass word \r\n"))
    assert credentials.read_password_stdin() == " pass word "
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    with pytest.raises(CredentialError, match="held no password"):
        credentials.read_password_stdin()
