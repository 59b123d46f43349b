"""Fixtures for the CLI tests: an isolated config dir, an in-memory keyring, emulators.

Every test runs with ``ZIGGY_CONFIG_DIR`` in its own temporary directory, no
``ZIGGY_PASSWORD*`` variables, and the in-memory :class:`MemoryKeyring`, so no test ever
reads or writes the real user config or the real keyring. ``cli`` runs ``main()`` in
process under Typer's ``CliRunner`` isolation (separate stdout and stderr);
``run_subprocess`` runs ``python -m ziggy_migrate_cli`` for real.

The emulators: ``dev_emulator`` is seeded by ``seeded`` (``samples.seed_tagged_dev``);
``prod`` is the suite's empty one (``tests/conftest.py``). Helpers that read or change an
emulator live in ``tests/samples.py``, the suite's one helpers module.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keyring
import keyring.backend
import keyring.backends.fail
import keyring.backends.null
import keyring.errors
import pytest
from typer.testing import CliRunner

import ziggy_migrate
from ziggy_migrate.testing import ZiggyEmulator
from ziggy_migrate_cli import output
from ziggy_migrate_cli.credentials import SERVICE_NAME
from ziggy_migrate_cli.main import main
from ziggy_migrate_cli.profiles import Profile, ProfileStore

from ..samples import TaggedDev, seed_tagged_dev

SRC_DIR = Path(ziggy_migrate.__file__).resolve().parents[1]  # where the tested package is
PASSWORD = "admin"


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A keyring that keeps passwords in a dict, for tests."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        try:
            del self.store[(service, username)]
        except KeyError:
            raise keyring.errors.PasswordDeleteError("not found") from None


@dataclass
class CliResult:
    """What one CLI run printed and returned."""

    exit_code: int
    stdout: str
    stderr: str

    @property
    def json(self) -> Any:
        """The one JSON document on stdout (fails the test if there is not exactly one)."""
        text = self.stdout.strip()
        assert text, f"nothing on stdout; stderr: {self.stderr}"
        assert len(text.splitlines()) == 1, f"more than one line on stdout: {self.stdout!r}"
        return json.loads(text)

    @property
    def message(self) -> str:
        """The error document's message (what happened)."""
        message: str = self.json["data"]["message"]
        return message

    @property
    def hint(self) -> str:
        """The error document's hint (the one thing to do)."""
        hint: str = self.json["data"]["hint"]
        return hint

    @property
    def said(self) -> str:
        """Message and hint together: everything the error tells."""
        return f"{self.message} {self.hint}"


class Cli:
    """Runs ``main(argv)`` under ``CliRunner`` isolation."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self._monkeypatch = monkeypatch
        self._runner = CliRunner()

    def __call__(
        self,
        *args: str,
        input: str | None = None,
        env: Mapping[str, str | None] | None = None,
        terminal: bool = False,
    ) -> CliResult:
        with self._monkeypatch.context() as patch:
            patch.setattr(output, "stdin_is_terminal", lambda: terminal)
            with self._runner.isolation(input=input, env=env) as (out, err, _):
                try:
                    code = main(list(args))
                except SystemExit as exc:  # pragma: no cover - main() must not exit
                    pytest.fail(f"main() raised SystemExit({exc.code})")
                sys.stdout.flush()
                sys.stderr.flush()
                stdout = out.getvalue().decode()
                stderr = err.getvalue().decode()
        if terminal and input:
            # CliRunner echoes typed answers on stdout, as a terminal would show them.
            answers = {line.strip() for line in input.splitlines()}
            stdout = "".join(
                line
                for line in stdout.splitlines(keepends=True)
                if line.strip() and line.strip() not in answers
            )
        return CliResult(code, stdout, stderr)


_OUTSIDE_SETTINGS = ("PYTHON_KEYRING_BACKEND", "ZIGGY_SERVER", "ZIGGY_FORMAT", "ZIGGY_NO_PROMPT")


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[MemoryKeyring]:
    """A private config dir, no password variables, and an in-memory keyring."""
    monkeypatch.setenv("ZIGGY_CONFIG_DIR", str(tmp_path / "config"))
    for name in list(os.environ):
        if name.startswith("ZIGGY_PASSWORD") or name in _OUTSIDE_SETTINGS:
            monkeypatch.delenv(name)
    memory = MemoryKeyring()
    keyring.set_keyring(memory)
    yield memory
    keyring.set_keyring(fail_backend())


@pytest.fixture
def memory_keyring(isolated: MemoryKeyring) -> MemoryKeyring:
    return isolated


def fail_backend() -> keyring.backend.KeyringBackend:
    """keyring's "no backend" backend: every call raises ``NoKeyringError``."""
    backend: keyring.backend.KeyringBackend = keyring.backends.fail.Keyring()  # type: ignore[no-untyped-call]
    return backend


def null_backend() -> keyring.backend.KeyringBackend:
    """keyring's null backend: accepts passwords and silently keeps none."""
    backend: keyring.backend.KeyringBackend = keyring.backends.null.Keyring()  # type: ignore[no-untyped-call]
    return backend


@pytest.fixture
def no_keyring() -> None:
    """No keyring backend at all, as on a bare CI machine."""
    keyring.set_keyring(fail_backend())


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    return tmp_path / "config"


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> Cli:
    return Cli(monkeypatch)


@pytest.fixture
def dev_emulator() -> Iterator[ZiggyEmulator]:
    with ZiggyEmulator(name="dev") as ziggy:
        yield ziggy


@pytest.fixture
def seeded(dev_emulator: ZiggyEmulator) -> TaggedDev:
    return seed_tagged_dev(dev_emulator)


def add_profile(
    name: str, ziggy: ZiggyEmulator, memory: MemoryKeyring | None, *, default: bool = False
) -> Profile:
    """Store a profile for ``ziggy`` and, when a keyring is given, its password."""
    profile = Profile(name=name, url=ziggy.url, port=ziggy.port, username=ziggy.username)
    ProfileStore().add(profile, make_default=default)
    if memory is not None:
        memory.set_password(SERVICE_NAME, name, ziggy.password)
    return profile


@pytest.fixture
def profiles(
    dev_emulator: ZiggyEmulator,
    prod: ZiggyEmulator,
    seeded: TaggedDev,
    memory_keyring: MemoryKeyring,
) -> TaggedDev:
    """Profiles "dev" (the default) and "prod" with their passwords in the keyring."""
    add_profile("dev", dev_emulator, memory_keyring, default=True)
    add_profile("prod", prod, memory_keyring)
    return seeded


def subprocess_env(config_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a real ``ziggy`` run: this checkout's src, no real keyring."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("ZIGGY_PASSWORD") and key != "PYTHON_KEYRING_BACKEND"
    }
    env["PYTHONPATH"] = os.pathsep.join(
        [str(SRC_DIR), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    env["ZIGGY_CONFIG_DIR"] = str(config_dir)
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    env.update(extra)
    return env


def run_subprocess(
    args: Sequence[str],
    env: Mapping[str, str],
    *,
    input: str | None = None,
    timeout: float = 60,
) -> CliResult:
    """Run ``python -m ziggy_migrate_cli ARGS`` with stdin from ``input`` (never a tty)."""
    completed = subprocess.run(
        [sys.executable, "-m", "ziggy_migrate_cli", *args],
        input=input if input is not None else "",
        capture_output=True,
        text=True,
        env=dict(env),
        timeout=timeout,
        check=False,
    )
    return CliResult(completed.returncode, completed.stdout, completed.stderr)
