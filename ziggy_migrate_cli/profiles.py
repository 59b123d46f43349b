"""The profile store: named Ziggy servers, kept in one JSON file without any secret.

A profile is what ``ziggy auth`` asks for: a friendly name, the server's URL (no port),
its port and the user name. Passwords are never written here; they live in the OS
keyring (see ``credentials.py``). The file sits in the platform's user config directory
(``ZIGGY_CONFIG_DIR`` overrides it, which tests always do) and looks like::

    {"version": 1, "default": "dev",
     "profiles": {"dev": {"url": "http://localhost", "port": 3000, "username": "admin"}}}

It is created owner-only (0700 directory, 0600 file) and replaced atomically (write a
temporary file, then rename), so an interrupted write never leaves half a file behind.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

from .output import CliError

__all__ = [
    "CONFIG_DIR_ENV",
    "Profile",
    "ProfileError",
    "ProfileStore",
    "config_dir",
    "validate_name",
]

CONFIG_DIR_ENV = "ZIGGY_CONFIG_DIR"
APP_NAME = "ziggy-migrate"
FILE_NAME = "profiles.json"
FORMAT_VERSION = 1
_NAME_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9]*")


class ProfileError(CliError):
    """A profile is missing, badly named, or the profile file cannot be used."""


@dataclass(frozen=True)
class Profile:
    """One named server. ``url`` is scheme and host only; the port is kept apart."""

    name: str
    url: str
    port: int
    username: str

    @property
    def address(self) -> str:
        """``url:port``, for messages and confirmations."""
        return f"{self.url}:{self.port}"


def config_dir() -> Path:
    """Where the profile file lives: ``$ZIGGY_CONFIG_DIR`` or the platform's config dir."""
    override = os.environ.get(CONFIG_DIR_ENV)
    if override:
        return Path(override)
    return Path(platformdirs.user_config_dir(APP_NAME))


def validate_name(name: str) -> str:
    """Return ``name`` if it is letters and digits, not starting with a digit."""
    if not _NAME_PATTERN.fullmatch(name):
        raise ProfileError(
            f"Invalid profile name {name!r}: use letters and digits only, starting with a "
            "letter (for example 'dev' or 'prod2')."
        )
    return name


def validate_url(url: str) -> str:
    """Return the URL without a trailing slash, refusing one that carries a port or path."""
    url = url.strip().rstrip("/")
    match = re.fullmatch(r"(https?)://([^/:\s]+)", url)
    if not match:
        raise ProfileError(
            f"Invalid server URL {url!r}: give the scheme and host without port or path "
            "(for example 'http://localhost' or 'https://ziggy.example.com'); the port is "
            "asked for separately."
        )
    return url


def validate_port(port: int) -> int:
    if not 0 < port < 65536:
        raise ProfileError(f"Invalid port {port}: use a number from 1 to 65535.")
    return port


class ProfileStore:
    """Read and change the profile file. Every change is saved at once, atomically."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory if directory is not None else config_dir()
        self.path = self.directory / FILE_NAME
        self._profiles: dict[str, Profile] = {}
        self._default: str | None = None
        self._load()

    # -- reading ------------------------------------------------------------------------

    def __iter__(self) -> Iterator[Profile]:
        return iter(sorted(self._profiles.values(), key=lambda p: p.name.lower()))

    def __len__(self) -> int:
        return len(self._profiles)

    def __contains__(self, name: object) -> bool:
        return name in self._profiles

    @property
    def default_name(self) -> str | None:
        return self._default

    def get(self, name: str) -> Profile:
        """The profile called ``name``, or an error listing the known names."""
        try:
            return self._profiles[name]
        except KeyError:
            known = ", ".join(sorted(self._profiles)) or "none yet"
            raise ProfileError(
                f"No server profile named {name!r} (known: {known}). "
                "Add one with 'ziggy auth' or 'ziggy auth add'."
            ) from None

    def resolve(self, name: str | None) -> Profile:
        """``name``'s profile, or the default one when ``name`` is None."""
        if name is not None:
            return self.get(name)
        if self._default is None:
            raise ProfileError(
                "No --server given and no default server profile set: pass --server NAME "
                "or choose a default with 'ziggy auth use NAME'."
            )
        return self.get(self._default)

    # -- changing -------------------------------------------------------------------------

    def add(self, profile: Profile, *, make_default: bool = False) -> None:
        """Add or replace a profile; the first profile ever added becomes the default."""
        validate_name(profile.name)
        self._profiles[profile.name] = profile
        if make_default or self._default is None:
            self._default = profile.name
        self._save()

    def add_all(self, profiles: list[Profile], *, make_default: str | None = None) -> None:
        """Add or replace several profiles in one save (all or none are written).

        ``make_default`` names one of them to become the default; without it, the first
        becomes the default only when there is none yet.
        """
        for profile in profiles:
            validate_name(profile.name)
        if make_default is not None and make_default not in {p.name for p in profiles}:
            raise ValueError(f"{make_default!r} is not among the profiles added")
        before = (dict(self._profiles), self._default)
        self._profiles.update({profile.name: profile for profile in profiles})
        if make_default is not None:
            self._default = make_default
        elif self._default is None and profiles:
            self._default = profiles[0].name
        try:
            self._save()
        except BaseException:
            self._profiles, self._default = before
            raise

    def remove(self, name: str) -> Profile:
        profile = self.get(name)
        del self._profiles[name]
        if self._default == name:
            self._default = None
        self._save()
        return profile

    def rename(self, old: str, new: str) -> Profile:
        profile = self.get(old)
        validate_name(new)
        if new in self._profiles and new != old:
            raise ProfileError(
                f"A profile named {new!r} already exists; remove it first with "
                f"'ziggy auth remove {new}'."
            )
        renamed = Profile(name=new, url=profile.url, port=profile.port, username=profile.username)
        del self._profiles[old]
        self._profiles[new] = renamed
        if self._default == old:
            self._default = new
        self._save()
        return renamed

    def set_default(self, name: str) -> Profile:
        profile = self.get(name)
        self._default = name
        self._save()
        return profile

    # -- the file -------------------------------------------------------------------------

    def _corrupt(self, why: str) -> ProfileError:
        return ProfileError(
            f"The profile file {self.path} is unreadable ({why}); fix it by hand or delete "
            "it and add the servers again with 'ziggy auth'."
        )

    def _load(self) -> None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        except OSError as exc:
            raise self._corrupt(exc.strerror or type(exc).__name__) from None
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise self._corrupt(f"not JSON: {exc}") from None
        if not isinstance(data, dict) or not isinstance(data.get("profiles"), dict):
            raise self._corrupt("no 'profiles' object")
        version = data.get("version", FORMAT_VERSION)
        if version != FORMAT_VERSION:
            raise self._corrupt(f"format version {version!r}, this tool reads {FORMAT_VERSION}")
        for name, entry in data["profiles"].items():
            self._profiles[name] = self._parse_profile(name, entry)
        default = data.get("default")
        if default is not None and default not in self._profiles:
            raise self._corrupt(f"the default {default!r} is not a profile")
        self._default = default

    def _parse_profile(self, name: Any, entry: Any) -> Profile:
        if not isinstance(entry, dict):
            raise self._corrupt(f"profile {name!r} is not an object")
        url, port, username = entry.get("url"), entry.get("port"), entry.get("username")
        if not isinstance(name, str) or not _NAME_PATTERN.fullmatch(name):
            raise self._corrupt(f"bad profile name {name!r}")
        if not isinstance(url, str) or not isinstance(username, str):
            raise self._corrupt(f"profile {name!r} needs 'url' and 'username' strings")
        if isinstance(port, bool) or not isinstance(port, int):
            raise self._corrupt(f"profile {name!r} needs an integer 'port'")
        return Profile(name=name, url=url, port=port, username=username)

    def _document(self) -> dict[str, Any]:
        return {
            "version": FORMAT_VERSION,
            "default": self._default,
            "profiles": {
                p.name: {"url": p.url, "port": p.port, "username": p.username} for p in self
            },
        }

    def _save(self) -> None:
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        text = json.dumps(self._document(), indent=2) + "\n"
        fd, temp_name = tempfile.mkstemp(prefix=".profiles-", suffix=".tmp", dir=self.directory)
        temp = Path(temp_name)
        try:
            # mkstemp already creates the file 0600; chmod keeps it so under odd umasks.
            if hasattr(os, "fchmod"):  # not on Windows, where the ACLs decide
                os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, self.path)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
