"""The CLI as a person meets it: in a terminal (a real pseudo-terminal, 80 x 24), and as a
script meets it: through pipes, where the JSON contract must not change."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from ziggy_migrate.testing import FaultPlan, ZiggyEmulator

from ..samples import export_to
from .conftest import add_profile, run_subprocess, subprocess_env
from .terminal import run_in_terminal

LONG_NAME = "Nightly synchronisation of the orders warehouse with the customer relationship {:03d}"
BAR = "━"


@pytest.fixture
def many_flows(
    tmp_path: Path, config_dir: Path
) -> Iterator[tuple[Path, dict[str, str], ZiggyEmulator]]:
    """A bundle of 150 flows with 85-character names, profiles for dev and a slow prod
    (20 ms per request), and the environment of a real run."""
    with ZiggyEmulator(name="dev") as dev:
        dev.add_secret("WAREHOUSE_KEY")
        for number in range(150):
            dev.add_flow(
                LONG_NAME.format(number),
                nodes=[{"id": "a", "type": "js", "data": {"code": "secrets.WAREHOUSE_KEY"}}],
            )
        bundle = export_to(dev, tmp_path / "many.json")
    prod = ZiggyEmulator(name="prod", latency=0.02).__enter__()
    add_profile("prod", prod, None)
    env = subprocess_env(config_dir, ZIGGY_PASSWORD="admin", ZIGGY_STATE_DIR=str(tmp_path))
    yield bundle, env, prod
    prod.__exit__(None, None, None)


def test_an_import_on_a_terminal_shows_a_bar_then_an_account_for_people(
    many_flows: tuple[Path, dict[str, str], ZiggyEmulator],
) -> None:
    bundle, env, _ = many_flows
    # pinned at 8 in flight, so that the flows take long enough for the bar to show them
    # (adapting, the client would finish them within one redraw)
    command = ["flow", "import", "-s", "prod", "-fp", str(bundle), "--overwrite", "--no-prompt"]
    run = run_in_terminal([*command, "--concurrency", "8"], env)
    assert run.exit_code == 0, run.text
    # the bar was drawn, one per phase, its flow names cut to fit the terminal
    assert BAR in run.text
    assert "secrets: WAREHOUSE_KEY" in run.text
    assert re.search(r"flows: Nightly synchronisation[^\r\n]*…", run.text)
    assert re.search(r"\d+/150", run.text)
    assert all(len(line) <= run.columns for line in run.drawn_lines), max(run.drawn_lines, key=len)
    # ... and is gone: the screen ends with the account, summary line last, no JSON
    assert not any(BAR in line for line in run.visible)
    assert not any(line.lstrip().startswith("{") for line in run.visible)
    assert run.visible[-1] == "Imported into prod: 151 items: 151 created."
    assert any("1 secret has no value on prod: WAREHOUSE_KEY" in line for line in run.visible)
    assert any(line.split()[:2] == ["flows", "150"] for line in run.visible)  # the table


def test_a_dry_run_on_a_terminal_says_nothing_was_written(
    many_flows: tuple[Path, dict[str, str], ZiggyEmulator],
) -> None:
    bundle, env, prod = many_flows
    run = run_in_terminal(
        ["flow", "import", "-s", "prod", "-fp", str(bundle), "--skip", "--dry-run"], env
    )
    assert run.exit_code == 0, run.text
    assert run.visible[-1] == "Dry run on prod, nothing written: 151 items: 151 to create."
    assert prod.snapshot()["flows"] == []


def test_a_wide_terminal_gets_a_wide_bar(
    many_flows: tuple[Path, dict[str, str], ZiggyEmulator],
) -> None:
    bundle, env, _ = many_flows
    run = run_in_terminal(
        ["flow", "import", "-s", "prod", "-fp", str(bundle), "--skip", "--no-prompt"],
        env,
        columns=160,
    )
    assert run.exit_code == 0, run.text
    bars = [line for line in run.drawn_lines if BAR in line and line.startswith("flows:")]
    assert bars
    assert max(len(line) for line in bars) > 100  # as wide as the terminal ...
    assert all(len(line) <= 160 for line in run.drawn_lines)  # ... and never wider
    assert LONG_NAME.format(0)[:70] in run.text  # room for more of the name


def test_quiet_draws_no_bar(many_flows: tuple[Path, dict[str, str], ZiggyEmulator]) -> None:
    bundle, env, _ = many_flows
    run = run_in_terminal(
        ["flow", "import", "-s", "prod", "-fp", str(bundle), "--skip", "--no-prompt", "-q"], env
    )
    assert run.exit_code == 0, run.text
    assert BAR not in run.text


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_retry_is_shown_while_it_waits_and_the_error_is_for_people(
    config_dir: Path, tmp_path: Path
) -> None:
    from ziggy_migrate_cli.profiles import Profile, ProfileStore  # noqa: PLC0415

    ProfileStore().add(Profile("down", "http://127.0.0.1", _closed_port(), "admin"))
    env = subprocess_env(config_dir, ZIGGY_PASSWORD="admin")
    args = ["flow", "export", "-s", "down", "--no-prompt", "--retries", "2"]
    run = run_in_terminal([*args, "-fp", str(tmp_path / "b.json")], env)
    assert run.exit_code == 3
    assert "retrying POST /api/auth/login (attempt 2 of 3)" in run.text
    assert "(attempt 3 of 3)" in run.text
    assert not any(BAR in line for line in run.visible)
    screen = "\n".join(run.visible)
    assert screen.startswith("error: Cannot reach http://127.0.0.1:")
    assert "\nhint: " in screen  # the hint comes last
    assert "{" not in screen  # no JSON block for a person


def test_a_server_that_fails_now_and_then_shows_the_retries_of_reads(
    config_dir: Path, tmp_path: Path
) -> None:
    faults = FaultPlan(error_rate=0.3, methods=frozenset({"GET"}), seed=5)
    with ZiggyEmulator(name="dev", faults=faults) as dev:
        for number in range(20):
            dev.add_flow(f"Flow {number}")
        add_profile("dev", dev, None)
        env = subprocess_env(config_dir, ZIGGY_PASSWORD="admin")
        run = run_in_terminal(
            ["flow", "export", "-s", "dev", "--no-prompt", "-fp", str(tmp_path / "b.json")], env
        )
    assert run.exit_code == 0, run.text
    assert re.search(r"retrying GET /api/\S+ \(attempt 2 of 5\)", run.text)
    assert "Exported 20 flows from dev into" in " ".join(run.visible[-2:])
    assert not any(line.startswith("retrying") for line in run.visible)  # gone too


def test_through_pipes_the_json_contract_is_unchanged(
    many_flows: tuple[Path, dict[str, str], ZiggyEmulator],
) -> None:
    bundle, env, _ = many_flows
    result = run_subprocess(
        ["flow", "import", "-s", "prod", "-fp", str(bundle), "--overwrite", "--no-prompt"], env
    )
    assert result.exit_code == 0, result.stderr
    (line,) = result.stdout.splitlines()  # one document, on one line
    document = json.loads(line)
    assert set(document) == {"status", "statusText", "data"}
    assert (document["status"], document["statusText"]) == (201, "Created")
    assert set(document["data"]) >= {
        "flowsProcessed",
        "connectionsProcessed",
        "secretsProcessed",
        "structuresProcessed",
        "variablesProcessed",
        "secretsNeedingValues",
        "backup",
        "mode",
        "dryRun",
        "warnings",
        "retries",
        "rollbackPath",
    }
    assert len(document["data"]["flowsProcessed"]) == 150
    assert "\x1b" not in result.stdout + result.stderr  # no colour, no cursor moves
    assert BAR not in result.stderr  # no bar without a terminal
    assert result.stderr.splitlines()[-1] == "Imported into prod: 151 items: 151 created."


def test_errors_are_for_people_in_every_format(config_dir: Path, tmp_path: Path) -> None:
    env = subprocess_env(config_dir)
    args = ["flow", "export", "-s", "nowhere", "--no-prompt", "-fp", str(tmp_path / "b.json")]
    piped = run_subprocess(args, env)
    assert piped.exit_code == 2
    assert piped.json["data"]["message"].startswith("No server profile named 'nowhere'")
    assert piped.json["data"]["hint"]
    error, hint = piped.stderr.splitlines()[-2:]
    assert error == f"error: {piped.json['data']['message']}"
    assert hint == f"hint: {piped.json['data']['hint']}"
    human = run_subprocess([*args, "--format", "human"], env)
    assert human.exit_code == 2
    assert human.stdout == ""  # for people the two lines are the whole answer
    assert human.stderr.splitlines()[-2:] == [error, hint]
    by_env = run_subprocess(args, {**env, "ZIGGY_FORMAT": "human"})
    assert by_env.stdout == ""
    in_terminal = run_in_terminal(args, env)
    assert in_terminal.exit_code == 2
    screen = "\n".join(in_terminal.visible)
    assert "error: No server profile named 'nowhere'" in screen
    assert "\nhint: " in screen
    assert "{" not in screen


def test_human_format_through_a_pipe_has_no_colour(
    many_flows: tuple[Path, dict[str, str], ZiggyEmulator],
) -> None:
    bundle, env, _ = many_flows
    result = run_subprocess(
        [
            "flow",
            "import",
            "-s",
            "prod",
            "-fp",
            str(bundle),
            "--skip",
            "--dry-run",
            "--format",
            "human",
        ],
        {**env, "NO_COLOR": "1"},
    )
    assert result.exit_code == 0, result.stderr
    assert "\x1b" not in result.stdout
    assert result.stdout.splitlines()[-1] == (
        "Dry run on prod, nothing written: 151 items: 151 to create."
    )


def test_bash_completes_commands_and_options(tmp_path: Path, config_dir: Path) -> None:
    import shutil  # noqa: PLC0415
    import subprocess  # noqa: PLC0415
    import sys  # noqa: PLC0415

    bash = shutil.which("bash")
    assert bash is not None
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "ziggy").write_text(
        f'#!/bin/sh\nexec "{sys.executable}" -m ziggy_migrate_cli "$@"\n'
    )
    (bin_dir / "ziggy").chmod(0o755)
    script = tmp_path / "complete.sh"
    script.write_text(
        'eval "$(ziggy --show-completion bash)"\n'
        "complete -p ziggy\n"
        'COMP_WORDS=(ziggy fl); COMP_CWORD=1; _ziggy_completion ziggy; echo "1:${COMPREPLY[*]}"\n'
        "COMP_WORDS=(ziggy flow im); COMP_CWORD=2; _ziggy_completion ziggy; "
        'echo "2:${COMPREPLY[*]}"\n'
        "COMP_WORDS=(ziggy flow import --ove); COMP_CWORD=3; _ziggy_completion ziggy; "
        'echo "3:${COMPREPLY[*]}"\n'
    )
    completed = subprocess.run(
        [bash, "--norc", "--noprofile", str(script)],
        capture_output=True,
        text=True,
        env={**(env := subprocess_env(config_dir)), "PATH": f"{bin_dir}:{env['PATH']}"},
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert "complete -o default -F _ziggy_completion ziggy" in lines
    assert "1:flow" in lines
    assert "2:import" in lines
    assert "3:--overwrite" in lines


def test_the_demo_on_a_terminal_shows_its_steps_not_json(config_dir: Path) -> None:
    run = run_in_terminal(["demo"], subprocess_env(config_dir), rows=60)
    assert run.exit_code == 0
    assert '"status"' not in run.text  # the JSON documents are for pipes
    assert "1. export from dev" in run.text
    assert "6. import that bundle into prod, --skip" in run.text
    assert "the server it is being imported into" not in run.text  # done on purpose
    piped = run_subprocess(["demo"], subprocess_env(config_dir))
    assert piped.exit_code == 0
    assert [json.loads(line)["status"] for line in piped.stdout.splitlines()]
