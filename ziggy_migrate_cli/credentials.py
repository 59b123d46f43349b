"""Where a profile's password comes from, in one place and one documented order.

Resolution order (first hit wins), the same for every command:

1. ``--password-stdin`` where a command offers it (the caller passes what it read);
2. the environment variable ``ZIGGY_PASSWORD_<NAME>`` (profile name upper-cased);
3. the environment variable ``ZIGGY_PASSWORD``;
4. the OS keyring (service ``ziggy-migrate``, user name = profile name);
5. a hidden prompt, only when a terminal is attached and prompting is allowed;
6. otherwise a one-line error naming the fallbacks above.

The keyring is an optional convenience, never a reason to crash: a machine without a
backend (``NoKeyringError``, the *fail* backend) or with the *null* backend (which
silently drops what it is given) reads as "no password stored" and falls through; saving
there is reported with the fallbacks to use instead. A password is never printed,
logged, or written anywhere but the keyring.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import keyring
import keyring.backends.fail
import keyring.backends.null
import keyring.errors
import typer

from . import output
from .output import CliError

__all__ = [
    "PASSWORD_ENV",
    "SERVICE_NAME",
    "CredentialError",
    "KeyringUnavailableError",
    "delete_password",
    "env_var_for",
    "read_keyring_entry",
    "read_password_stdin",
    "resolve_password",
    "save_password",
    "saving_passwords",
]

logger = logging.getLogger("ziggy_migrate_cli.credentials")

SERVICE_NAME = "ziggy-migrate"
PASSWORD_ENV = "ZIGGY_PASSWORD"  # noqa: S105 - the name of a variable, not a password


class CredentialError(CliError):
    """No password could be found for a profile (an authentication failure: exit 3)."""

    status = 401
    exit_code = 3


class KeyringUnavailableError(CredentialError):
    """The password could not be stored because no usable keyring backend exists."""


def env_var_for(profile_name: str) -> str:
    """``ZIGGY_PASSWORD_<NAME>``: the per-profile environment variable."""
    return f"{PASSWORD_ENV}_{profile_name.upper()}"


def fallbacks(profile_name: str) -> str:
    """The ways to give a password without a keyring, for error messages."""
    return (
        f"set {env_var_for(profile_name)} or {PASSWORD_ENV} in the environment, "
        "or pass --password-stdin"
    )


def read_password_stdin() -> str:
    """Read a password piped on stdin; only the line ending is removed."""
    password = sys.stdin.read()
    if password.endswith("\n"):
        password = password[:-1]
    if password.endswith("\r"):
        password = password[:-1]
    if not password:
        raise CredentialError("--password-stdin was given but stdin held no password.")
    return password


def resolve_password(
    profile_name: str,
    username: str,
    *,
    stdin_password: str | None = None,
    allow_prompt: bool = True,
) -> str:
    """Find ``profile_name``'s password in the order documented above."""
    if stdin_password:
        return stdin_password
    for variable in (env_var_for(profile_name), PASSWORD_ENV):
        value = os.environ.get(variable)
        if value:
            logger.debug("password for profile %s taken from $%s", profile_name, variable)
            return value
    stored = _read_keyring(profile_name)
    if stored:
        logger.debug("password for profile %s taken from the keyring", profile_name)
        return stored
    if allow_prompt and output.stdin_is_terminal():
        return prompt_password(profile_name, username)
    raise CredentialError(
        f"No password for server profile {profile_name!r}: none in the keyring; "
        f"{fallbacks(profile_name)} (or run in a terminal to be asked)."
    )


def prompt_password(profile_name: str, username: str) -> str:
    """Ask for a password on the terminal without echoing it."""
    password: str = typer.prompt(
        f"Password for {username} on {profile_name}", hide_input=True, err=True
    )
    if not password:
        raise CredentialError("An empty password was entered.")
    return password


def keyring_backend_name() -> str:
    """The active keyring backend's class, for messages (never its contents)."""
    try:
        backend = keyring.get_keyring()
    except Exception:  # a broken keyring configuration must not crash the CLI
        return "unknown"
    return f"{type(backend).__module__}.{type(backend).__name__}"


def _usable_backend() -> bool:
    try:
        backend = keyring.get_keyring()
    except Exception:  # a broken keyring configuration reads as "no keyring"
        return False
    return not isinstance(backend, (keyring.backends.fail.Keyring, keyring.backends.null.Keyring))


def _read_keyring(profile_name: str) -> str | None:
    return read_keyring_entry(SERVICE_NAME, profile_name)


def keyring_is_usable() -> bool:
    """Whether a keyring backend that keeps what it is given is active."""
    return _usable_backend()


def read_keyring_entry(service: str, account: str) -> str | None:
    """One keyring entry (another tool's too, such as the official CLI's key), or None
    when there is no usable backend, no such entry, or the backend failed."""
    if not _usable_backend():
        return None
    try:
        value = keyring.get_password(service, account)
    except Exception as exc:  # any backend failure means "not stored here": fall through
        logger.debug("keyring read failed (%s); trying the next source", type(exc).__name__)
        return None
    return value or None


def save_password(profile_name: str, password: str) -> None:
    """Store the password in the keyring, and prove it by reading it back.

    The read-back catches backends that accept a password and keep nothing (the null
    backend, an empty chainer), so a "saved" message is never a lie.
    """
    problem = ""
    if not _usable_backend():
        problem = f"no keyring backend is available ({keyring_backend_name()})"
    else:
        try:
            keyring.set_password(SERVICE_NAME, profile_name, password)
            if keyring.get_password(SERVICE_NAME, profile_name) != password:
                problem = f"the keyring ({keyring_backend_name()}) did not keep the password"
        except Exception as exc:  # reported below with the fallbacks, never a crash
            detail = str(exc) if password not in str(exc) else "details withheld"
            problem = f"the keyring refused it ({type(exc).__name__}: {detail})"
    if problem:
        raise KeyringUnavailableError(
            f"Could not store the password of {profile_name!r}: {problem}; "
            f"{fallbacks(profile_name)}."
        )


@contextmanager
def saving_passwords(passwords: Mapping[str, str]) -> Iterator[None]:
    """Store several profiles' passwords as one change, for the block that follows.

    Each is stored (and read back) in turn; if one cannot be, or the ``with`` block then
    fails (the profile file could not be written, say), the entries stored so far are
    put back as they were, so a failed import leaves the keyring as it found it.
    """
    previous: dict[str, str | None] = {}
    try:
        for name, password in passwords.items():
            previous[name] = _read_keyring(name)
            save_password(name, password)
        yield
    except BaseException:
        for name, old in previous.items():
            if old is None:
                delete_password(name)
            else:
                try:
                    keyring.set_password(SERVICE_NAME, name, old)
                except Exception as exc:  # report the first failure, not this one
                    logger.debug("keyring restore failed (%s)", type(exc).__name__)
        raise


def delete_password(profile_name: str) -> bool:
    """Remove the stored password, if any; True when one was removed."""
    if not _usable_backend():
        return False
    try:
        keyring.delete_password(SERVICE_NAME, profile_name)
    except keyring.errors.PasswordDeleteError:
        return False
    except Exception as exc:  # a keyring failure must not block removing a profile
        logger.debug("keyring delete failed (%s)", type(exc).__name__)
        return False
    return True


def move_password(old_name: str, new_name: str) -> bool:
    """Keep a renamed profile's stored password; True when one was moved."""
    stored = _read_keyring(old_name)
    if stored is None:
        return False
    save_password(new_name, stored)
    delete_password(old_name)
    return True
