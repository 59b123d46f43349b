"""The entry point of ``ziggy`` / ``ziggy-migrate``, and the only place errors are caught.

``main()`` rewrites argv so that one flag may take several values (``_argv.py``), runs
the Typer app in non-standalone mode (so usage errors come back as exceptions instead of
exiting), and turns every failure into the same answer: one JSON document on stdout,
``{"status": ..., "statusText": ..., "data": {"message": "..."}}``, and an exit code:

====  ============================================================================
0     success
1     the command ran but did not fully succeed: some items failed, the server
      failed, a saved plan no longer holds (PlanError, status 409: nothing was
      written), ``diff --exit-code`` found differences, or the confirmation prompt
      was declined
2     bad usage (unknown flag, missing or conflicting options) or a bad input file
3     authentication or connection failure (wrong password, none found, server
      unreachable or timing out)
====  ============================================================================

:data:`ERROR_TABLE` is that mapping, in one place, first match wins.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
import typer.main

from ziggy_migrate import (
    AuthenticationError,
    BackupFailedError,
    BadRequestError,
    BundleError,
    ExposedCredentialError,
    NotFoundError,
    PlanError,
    PlanFileError,
    RateLimitedError,
    RequestTimeoutError,
    SelectionError,
    ServerError,
    ServerResponseError,
    ServerUnreachableError,
    ZiggyError,
    __version__,
    bulk_mode,
)

from . import auth, bundle, demo, flow, system
from ._argv import ArgvError, expand_multi_value_options
from .options import EXIT_CODES_HELP
from .output import CliError, emit_json, help_to_stderr, info, status_document

__all__ = ["ERROR_TABLE", "ErrorRule", "app", "main"]


@dataclass(frozen=True)
class ErrorRule:
    """How one kind of failure is reported.

    ``status`` None means "the HTTP status the server answered" (``response_code``),
    falling back to ``fallback_status``.
    """

    kind: type[BaseException]
    status: int | None
    exit_code: int
    hint: str = ""
    fallback_status: int = 500


ERROR_TABLE: tuple[ErrorRule, ...] = (
    ErrorRule(ArgvError, 400, 2),
    ErrorRule(typer.TyperException, 400, 2),  # Typer's own usage errors
    ErrorRule(BundleError, 400, 2, "Check the bundle file (written by 'ziggy flow export')."),
    ErrorRule(
        SelectionError,
        400,
        2,
        "See a server's flows with 'ziggy flow list', a bundle's in its flows.",
    ),
    ErrorRule(ExposedCredentialError, 400, 2),
    ErrorRule(
        AuthenticationError,
        401,
        3,
        "Check the profile's user name and password ('ziggy auth add NAME ...' updates them).",
    ),
    ErrorRule(RequestTimeoutError, 504, 3, "Try again later or allow more time with --timeout."),
    ErrorRule(
        ServerUnreachableError,
        502,
        3,
        "Check the profile's URL and port ('ziggy auth --list') and that the server runs.",
    ),
    ErrorRule(PlanFileError, 400, 2, "Make the plan again with 'ziggy flow plan'."),
    ErrorRule(PlanError, 409, 1),
    ErrorRule(
        BackupFailedError,
        500,
        1,
        "Nothing was written; fix the server's backup or use --no-backup.",
    ),
    ErrorRule(NotFoundError, 404, 1),
    ErrorRule(RateLimitedError, 429, 1, "Try again later or lower --concurrency."),
    ErrorRule(BadRequestError, None, 1, fallback_status=400),
    ErrorRule(ServerError, None, 1, fallback_status=502),
    ErrorRule(ServerResponseError, None, 1),
    ErrorRule(ZiggyError, 500, 1),
    ErrorRule(typer.Abort, 400, 1, "Aborted at a prompt; nothing more was done."),
    ErrorRule(OSError, 400, 2),
)
"""Library and CLI failures -> JSON status, exit code and a hint; first match wins."""

app = typer.Typer(
    name="ziggy",
    help="Move Ziggy flows between servers: export them into a bundle file, import it.",
    epilog=EXIT_CODES_HELP,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(auth.app, name="auth")
app.add_typer(flow.app, name="flow")
app.add_typer(bundle.app, name="bundle")
app.add_typer(system.app, name="system")
app.command("demo", epilog=demo.STDOUT_HELP)(demo.demo_command)
app.command(
    "export", help="Same as 'ziggy flow export' (the docs' shortcut).", epilog=EXIT_CODES_HELP
)(flow.export_command)
app.command(
    "import", help="Same as 'ziggy flow import' (the docs' shortcut).", epilog=EXIT_CODES_HELP
)(flow.import_command)


@app.callback(invoke_without_command=True)
def root(
    ctx: typer.Context,
    version: Annotated[
        bool, typer.Option("--version", is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Move Ziggy flows between servers: export them into a bundle file, import it."""
    if version:
        typer.echo(f"ziggy-migrate {__version__}")
        raise typer.Exit(0)
    if ctx.invoked_subcommand is None:
        help_to_stderr(ctx)
        raise CliError("Missing command: try 'ziggy flow export --help' or 'ziggy demo'.")


def _status(exc: BaseException, rule: ErrorRule) -> int:
    if rule.status is not None:
        return rule.status
    code = getattr(exc, "response_code", None)
    if isinstance(code, int) and code >= 400:
        return code
    return rule.fallback_status


def _message(exc: BaseException, hint: str) -> str:
    if isinstance(exc, typer.TyperException):
        text = exc.format_message()
    elif isinstance(exc, OSError) and exc.strerror:
        text = f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    else:
        text = str(exc)
    text = " ".join(text.split())  # always one line
    if not text:
        return hint or type(exc).__name__
    return f"{text} {hint}" if hint else text


def report_failure(exc: BaseException) -> int:
    """Print the JSON error document for ``exc`` and return the exit code."""
    rule = next((r for r in ERROR_TABLE if isinstance(exc, r.kind)), None)
    if isinstance(exc, CliError):
        status, exit_code, hint = exc.status, exc.exit_code, ""
    elif rule is not None:
        status, exit_code, hint = _status(exc, rule), rule.exit_code, rule.hint
    else:  # a bug: the traceback goes to stderr for the report, stdout stays JSON
        traceback.print_exception(exc, file=sys.stderr)
        status, exit_code, hint = 500, 1, "This is a bug in ziggy-migrate; please report it."
        exc = Exception(f"Unexpected {type(exc).__name__}: {exc}")
    if isinstance(exc, typer.TyperException):
        context = getattr(exc, "ctx", None)
        if context is not None:
            info(f"{context.get_usage()}\nTry '{context.command_path} --help' for help.")
    emit_json(status_document(status, {"message": _message(exc, hint)}))
    return exit_code


def _prog_name() -> str:
    name = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    return name if name in ("ziggy", "ziggy-migrate") else "ziggy"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI on ``argv`` (default ``sys.argv[1:]``) and return the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        args = expand_multi_value_options(args)
        command = typer.main.get_command(app)
        # The process is the CLI's own: it may pause the collector for bulk work.
        with bulk_mode():
            result = command.main(args=args, prog_name=_prog_name(), standalone_mode=False)
    except Exception as exc:
        return report_failure(exc)
    if isinstance(result, int) and not isinstance(result, bool):
        if result == 130:
            info("Interrupted.")
        return result
    return 0
