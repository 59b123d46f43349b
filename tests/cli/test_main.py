"""``main()``: the one error table, the help epilog, version and unexpected errors."""

from __future__ import annotations

import json

import pytest

import ziggy_migrate_cli.main as main_module
from ziggy_migrate import (
    AuthenticationError,
    BundleError,
    PlanError,
    RequestTimeoutError,
    ServerError,
    ServerUnreachableError,
    ZiggyError,
)
from ziggy_migrate_cli import output
from ziggy_migrate_cli.progress import ProgressDisplay

from .conftest import Cli


@pytest.mark.parametrize(
    ("error", "status", "exit_code"),
    [
        (BundleError("broken", location="$.flows[0]"), 400, 2),
        (AuthenticationError("refused", response_code=401), 401, 3),
        (ServerUnreachableError("refused"), 502, 3),
        (RequestTimeoutError("slow"), 504, 3),
        (ServerError("boom", response_code=503), 503, 1),
        (ServerError("odd", response_code=200), 502, 1),
        (PlanError("stale"), 409, 1),
        (ZiggyError("other"), 500, 1),
        (FileNotFoundError(2, "No such file or directory", "x.json"), 400, 2),
    ],
)
def test_the_error_table(
    capsys: pytest.CaptureFixture[str], error: Exception, status: int, exit_code: int
) -> None:
    assert main_module.report_failure(error) == exit_code
    document = json.loads(capsys.readouterr().out)
    assert document["status"] == status
    assert "\n" not in document["data"]["message"]


def test_an_unexpected_error_is_still_one_json_document(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(argv: list[str]) -> list[str]:
        raise KeyError("surprise")

    monkeypatch.setattr(main_module, "expand_multi_value_options", explode)
    result = cli("flow", "list")
    assert result.exit_code == 1
    assert result.json["status"] == 500
    assert "bug" in result.said
    assert "Traceback" in result.stderr


def test_help_documents_the_exit_codes(cli: Cli) -> None:
    commands = ("export", "import", "plan", "diff", "promote", "rollback")
    for args in (["--help"], ["import", "-h"], *(["flow", name, "--help"] for name in commands)):
        result = cli(*args)
        assert result.exit_code == 0
        text = " ".join(result.stdout.split())
        assert "Exit codes: 0 success; 1 some items failed" in text
        assert "3 authentication or connection failure" in text


def test_version(cli: Cli) -> None:
    from ziggy_migrate import __version__  # noqa: PLC0415

    result = cli("--version")
    assert result.exit_code == 0
    assert result.stdout.strip() == f"ziggy-migrate {__version__}"


def test_no_command_is_a_usage_error_with_help_on_stderr(cli: Cli) -> None:
    result = cli()
    assert result.exit_code == 2
    assert "Missing command" in result.said
    assert "Usage" in result.stderr


def test_progress_is_off_without_a_terminal_or_with_quiet(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(output, "stderr_is_terminal", lambda: False)
    assert ProgressDisplay.for_terminal(quiet=False).callback is None
    monkeypatch.setattr(output, "stderr_is_terminal", lambda: True)
    assert ProgressDisplay.for_terminal(quiet=True).callback is None
    monkeypatch.setenv("TERM", "dumb")
    assert ProgressDisplay.for_terminal(quiet=False).callback is None
    monkeypatch.setenv("TERM", "xterm")
    assert ProgressDisplay.for_terminal(quiet=False).callback is not None
