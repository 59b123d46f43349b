"""``main()``: the one error table, the help epilog, version and unexpected errors."""

from __future__ import annotations

import io
import json
import threading

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
from ziggy_migrate_cli.output import Progress

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
    assert "bug" in result.message
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
    assert "Missing command" in result.message
    assert "Usage" in result.stderr


def test_progress_is_thread_safe_and_silent_when_disabled() -> None:
    stream = io.StringIO()
    progress = Progress(enabled=True, stream=stream)

    def work(worker: int) -> None:
        for step in range(50):
            progress(step, 50, f"flow {worker}-{step}")

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    progress.close()
    frames = stream.getvalue().split("\r")[1:]
    assert len(frames) == 200
    assert all(frame.startswith("[") and "/50] flow " in frame for frame in frames)
    silent = Progress(enabled=False, stream=stream)
    assert silent.callback is None
