"""A planted password must appear nowhere: not on stdout, stderr, in config or bundles."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ziggy_migrate.testing import ZiggyEmulator
from ziggy_migrate_cli.credentials import SERVICE_NAME

from ..samples import seed_tagged_dev
from .conftest import Cli, CliResult, MemoryKeyring, run_subprocess, subprocess_env

PLANTED = "Planted-Pa55w0rd-7f3e9c"


@pytest.fixture
def guarded() -> Iterator[ZiggyEmulator]:
    with ZiggyEmulator(password=PLANTED, name="guarded") as ziggy:
        seed_tagged_dev(ziggy)
        yield ziggy


def _files_under(*roots: Path) -> list[Path]:
    return [path for root in roots for path in root.rglob("*") if path.is_file()]


def test_the_password_never_leaks(
    cli: Cli,
    guarded: ZiggyEmulator,
    memory_keyring: MemoryKeyring,
    config_dir: Path,
    tmp_path: Path,
) -> None:
    bundles = tmp_path / "bundles"
    bundles.mkdir()
    add = [
        "auth",
        "add",
        "dev",
        "--url",
        guarded.url,
        "--port",
        str(guarded.port),
        "--username",
        "admin",
        "--password-stdin",
    ]
    runs: list[CliResult] = [
        cli(*add, input=PLANTED + "\n"),
        cli("auth", "--list"),
        cli("auth", "-l", "--json"),
        cli("flow", "list", "-s", "dev", "--json", "-v"),
        cli(
            "flow",
            "export",
            "-s",
            "dev",
            "--no-prompt",
            "-v",
            "-t",
            "tag1",
            "tag2",
            "-fp",
            str(bundles / "b.json"),
        ),
        cli(
            "flow",
            "import",
            "-s",
            "dev",
            "--no-prompt",
            "-v",
            "--overwrite",
            "-fp",
            str(bundles / "b.json"),
        ),
        cli("flow", "import", "-s", "dev", "--no-prompt", "--skip", "--bogus"),
        cli("auth", "rename", "dev", "main"),
    ]
    assert [run.exit_code for run in runs] == [0, 0, 0, 0, 0, 0, 2, 0]
    assert memory_keyring.store == {(SERVICE_NAME, "main"): PLANTED}  # where it belongs

    env = subprocess_env(config_dir, ZIGGY_PASSWORD_MAIN=PLANTED)
    runs.append(run_subprocess(["flow", "list", "--json", "-v"], env))
    runs.append(
        run_subprocess(
            [
                "auth",
                "add",
                "other",
                "--url",
                guarded.url,
                "--port",
                str(guarded.port),
                "--username",
                "admin",
                "--password-stdin",
            ],
            env,
            input=PLANTED,
        )
    )
    assert runs[-2].exit_code == 0, runs[-2].stderr
    assert runs[-1].exit_code == 0, runs[-1].stderr  # saved without password (no keyring)

    for run in runs:
        assert PLANTED not in run.stdout
        assert PLANTED not in run.stderr
    files = _files_under(config_dir, bundles)
    assert len(files) >= 2
    for path in files:
        assert PLANTED not in path.read_text(), path
