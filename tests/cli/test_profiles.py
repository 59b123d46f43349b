"""The profile store: owner-only, atomic, secret-free, and clear about a broken file."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from ziggy_migrate_cli import profiles
from ziggy_migrate_cli.profiles import (
    Profile,
    ProfileError,
    ProfileStore,
    validate_name,
    validate_url,
)

DEV = Profile(name="dev", url="http://localhost", port=3000, username="admin")
PROD = Profile(name="prod", url="https://ziggy.example.com", port=443, username="ops")


def test_config_dir_honours_the_environment(config_dir: Path) -> None:
    assert profiles.config_dir() == config_dir


def test_first_profile_becomes_the_default_and_survives_a_reload(config_dir: Path) -> None:
    store = ProfileStore()
    store.add(DEV)
    store.add(PROD)
    again = ProfileStore()
    assert [p.name for p in again] == ["dev", "prod"]
    assert again.default_name == "dev"
    assert again.resolve(None) == DEV
    assert again.get("prod") == PROD


def test_file_and_directory_are_owner_only_and_hold_no_secret(config_dir: Path) -> None:
    ProfileStore().add(DEV)
    path = config_dir / "profiles.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(config_dir.stat().st_mode) == 0o700
    data = json.loads(path.read_text())
    assert data["profiles"]["dev"] == {"url": "http://localhost", "port": 3000, "username": "admin"}
    assert "password" not in path.read_text().lower()
    assert [p.name for p in config_dir.iterdir()] == ["profiles.json"]  # no temp file left


def test_rename_and_remove_keep_the_default_consistent(config_dir: Path) -> None:
    store = ProfileStore()
    store.add(DEV)
    store.add(PROD)
    store.rename("dev", "local")
    assert ProfileStore().default_name == "local"
    store.remove("local")
    reloaded = ProfileStore()
    assert reloaded.default_name is None
    with pytest.raises(ProfileError, match="ziggy auth use"):
        reloaded.resolve(None)


def test_rename_refuses_to_clobber_another_profile(config_dir: Path) -> None:
    store = ProfileStore()
    store.add(DEV)
    store.add(PROD)
    with pytest.raises(ProfileError, match="already exists"):
        store.rename("dev", "prod")


def test_unknown_profile_names_the_known_ones(config_dir: Path) -> None:
    store = ProfileStore()
    store.add(DEV)
    with pytest.raises(ProfileError, match=r"'nope' \(known: dev\)"):
        store.get("nope")


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ("{not json", "not JSON"),
        ("[]", "no 'profiles' object"),
        ('{"profiles": {"dev": {"url": 1}}}', "'url' and 'username'"),
        ('{"profiles": {}, "default": "ghost"}', "'ghost' is not a profile"),
        ('{"version": 99, "profiles": {}}', "format version 99"),
    ],
)
def test_a_corrupt_file_gives_one_line_naming_the_file_and_the_fix(
    config_dir: Path, content: str, why: str
) -> None:
    config_dir.mkdir(parents=True)
    (config_dir / "profiles.json").write_text(content)
    with pytest.raises(ProfileError) as caught:
        ProfileStore()
    message = str(caught.value)
    assert str(config_dir / "profiles.json") in message
    assert why in message
    assert "delete it" in message
    assert "\n" not in message


@pytest.mark.parametrize("name", ["dev", "prod2", "Staging"])
def test_good_names(name: str) -> None:
    assert validate_name(name) == name


@pytest.mark.parametrize("name", ["", "2prod", "my-server", "dev prod", "été"])
def test_bad_names(name: str) -> None:
    with pytest.raises(ProfileError, match="letters and digits"):
        validate_name(name)


def test_urls_are_scheme_and_host_only() -> None:
    assert validate_url("https://ziggy.example.com/") == "https://ziggy.example.com"
    for bad in ("localhost", "http://localhost:3000", "ftp://x", "http://host/api"):
        with pytest.raises(ProfileError, match="without port"):
            validate_url(bad)
