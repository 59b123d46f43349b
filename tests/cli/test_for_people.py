"""What makes the CLI fit for people: formats, errors with hints, plain words, ``version``,
``auth status``, the environment variables, clean ``--help``."""

from __future__ import annotations

import json
import platform
from pathlib import Path

import pytest

from ziggy_migrate import __version__
from ziggy_migrate.testing import ZiggyEmulator

from ..samples import TaggedDev
from .conftest import Cli, MemoryKeyring, add_profile


def test_format_human_gives_an_account_and_json_the_document(
    cli: Cli, profiles: TaggedDev, tmp_path: Path
) -> None:
    args = ("flow", "export", "-s", "dev", "--no-prompt", "-t", "tag1", "-fp", str(tmp_path / "b"))
    human = cli(*args, "--format", "human")
    assert human.exit_code == 0, human.stderr
    lines = human.stdout.splitlines()
    assert lines[-1] == f"Exported 2 flows (and 3 items they use) from dev into {tmp_path / 'b'}."
    assert any(line.split() == ["flows", "2"] for line in lines)
    assert "{" not in human.stdout
    as_json = cli(*args, "--format", "json")
    assert as_json.json["data"]["flowCount"] == 2
    by_env = cli(*args, env={"ZIGGY_FORMAT": "human"})
    assert by_env.stdout.splitlines()[-1] == lines[-1]


def test_a_bad_ziggy_format_is_a_usage_error(cli: Cli, profiles: TaggedDev) -> None:
    result = cli("flow", "list", env={"ZIGGY_FORMAT": "yaml"})
    assert result.exit_code == 2
    assert "ZIGGY_FORMAT='yaml'" in result.message
    assert "auto, human or json" in result.hint


def test_an_export_that_selects_nothing_says_so_and_exits_1(
    cli: Cli, profiles: TaggedDev, tmp_path: Path
) -> None:
    out = tmp_path / "empty.json"
    result = cli("flow", "export", "-s", "dev", "--no-prompt", "-t", "tga1", "-fp", str(out))
    assert result.exit_code == 1
    assert result.json["data"]["flowCount"] == 0
    assert "no flow has the tag 'tga1'" in result.json["data"]["warnings"]
    assert "warning: no flow has the tag 'tga1'" in result.stderr
    assert f"Nothing exported from dev: no flow matched the selection, so the bundle {out}" in (
        result.stderr
    )
    assert "Exported  from" not in result.stderr


def test_each_warning_is_shown_once_and_secrets_are_grouped(
    cli: Cli, profiles: TaggedDev, tmp_path: Path
) -> None:
    bundle = tmp_path / "b.json"
    assert cli("flow", "export", "-s", "dev", "--no-prompt", "-fp", str(bundle)).exit_code == 0
    imported = cli("flow", "import", "-s", "prod", "--skip", "--no-prompt", "-fp", str(bundle))
    assert imported.exit_code == 0, imported.stderr
    warnings = [line for line in imported.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == len(set(warnings))
    secrets = [line for line in warnings if "no value on prod" in line]
    assert secrets == [
        "warning: 2 secrets have no value on prod: CRM_TOKEN, PG_PASSWORD; set them in Ziggy "
        "before the flows that use them run"
    ]
    assert imported.stderr.splitlines()[-1] == "Imported into prod: 8 items: 8 created."
    human = cli(
        "flow", "import", "-s", "prod", "--skip", "--no-prompt", "-fp", str(bundle),
        "--format", "human",
    )  # fmt: skip
    shown = human.stdout.splitlines()
    assert sum("no value on prod" in line for line in shown) == 1
    assert shown[-1] == "Imported into prod: 8 items: 8 left as they were."


def test_a_declined_prompt_is_cancelled_not_a_bad_request(
    cli: Cli, profiles: TaggedDev, tmp_path: Path
) -> None:
    result = cli(
        "flow", "export", "-s", "dev", "-fp", str(tmp_path / "b"), input="n\n", terminal=True
    )
    assert result.exit_code == 1
    document = json.loads(result.stdout.splitlines()[-1])
    assert (document["status"], document["statusText"]) == (499, "Cancelled")
    assert "error: Cancelled at the prompt: nothing was exported." in result.stderr


def test_ziggy_server_names_the_server_of_commands_that_read(
    cli: Cli, dev_emulator: ZiggyEmulator, prod: ZiggyEmulator, memory_keyring: MemoryKeyring
) -> None:
    add_profile("dev", dev_emulator, memory_keyring, default=True)
    add_profile("prod", prod, memory_keyring)
    prod.add_flow("Only on prod")
    listed = cli("flow", "list", "--json", env={"ZIGGY_SERVER": "prod"})
    assert [row["name"] for row in listed.json["data"]] == ["Only on prod"]
    flag_wins = cli("flow", "list", "--json", "-s", "dev", env={"ZIGGY_SERVER": "prod"})
    assert flag_wins.json["data"] == []
    writing = cli("flow", "import", "-fp", "x.json", "--skip", env={"ZIGGY_SERVER": "prod"})
    assert writing.exit_code == 2  # a command that writes needs --server itself
    assert "none was named" in writing.message


def test_ziggy_no_prompt_stands_for_no_prompt(
    cli: Cli, profiles: TaggedDev, tmp_path: Path
) -> None:
    args = ("flow", "export", "-s", "dev", "-t", "tag1", "-fp", str(tmp_path / "b.json"))
    refused = cli(*args)
    assert refused.exit_code == 2
    assert "ZIGGY_NO_PROMPT=1" in refused.hint
    assert cli(*args, env={"ZIGGY_NO_PROMPT": "1"}).exit_code == 0


def test_version_names_python_and_the_dependencies(cli: Cli) -> None:
    document = cli("version", "--format", "json").json
    assert document["data"]["ziggyMigrate"] == __version__
    assert document["data"]["python"].startswith(platform.python_version())
    assert {"requests", "typer", "rich", "keyring"} <= set(document["data"]["dependencies"])
    human = cli("version", "--format", "human")
    assert human.stdout.splitlines()[1].split() == ["ziggy-migrate", __version__]


def test_auth_status_logs_in_and_names_user_and_server_version(
    cli: Cli, profiles: TaggedDev
) -> None:
    result = cli("auth", "status", "--format", "json")  # the default server
    assert result.exit_code == 0, result.stderr
    data = result.json["data"]
    assert (data["server"], data["username"]) == ("dev", "admin")
    assert data["serverVersion"].count(".") == 2
    human = cli("auth", "status", "-s", "prod", "--format", "human")
    assert "prod: logged in to" in human.stderr
    assert "as admin; the server runs Ziggy " in human.stderr


def test_auth_status_with_a_wrong_password_is_exit_3(
    cli: Cli, profiles: TaggedDev, memory_keyring: MemoryKeyring
) -> None:
    memory_keyring.store[("ziggy-migrate", "dev")] = "wrong"
    result = cli("auth", "status", "-s", "dev")
    assert result.exit_code == 3
    assert result.json["status"] == 401
    assert "error: " in result.stderr
    assert "hint: " in result.stderr


@pytest.mark.parametrize(
    "command",
    [
        ["--help"],
        ["flow", "import", "--help"],
        ["flow", "export", "--help"],
        ["auth", "add", "--help"],
        ["auth", "status", "--help"],
    ],
)
def test_help_has_no_type_metavars_on_flags(cli: Cli, command: list[str]) -> None:
    flags = [line for line in cli(*command).stdout.splitlines() if line.lstrip().startswith("-")]
    assert flags
    for line in flags:
        for metavar in ("<bool>", "<str>", "<int", "<float", "<path", "BOOLEAN", "TEXT"):
            assert metavar not in line, line


def test_help_keeps_the_examples_whole(cli: Cli) -> None:
    text = cli("--help").stdout
    assert (
        "    ziggy auth add dev --url http://localhost:3000 --username admin --password-stdin"
        in text.splitlines()
    )
