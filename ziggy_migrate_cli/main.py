"""The entry point of ``ziggy`` / ``ziggy-migrate``, and the only place errors are caught.

``main()`` rewrites argv so that one flag may take several values (``_argv.py``), runs
the Typer app in non-standalone mode (so usage errors come back as exceptions instead of
exiting), and turns every failure into the same answer: ``error: ...`` and ``hint: ...``
on stderr in every format, in JSON format also one document on stdout,
``{"status": ..., "statusText": ..., "data": {"message": "...", "hint": "..."}}``, and an
exit code:

====  ============================================================================
0     success
1     the command ran but did not fully succeed: some items failed, the server
      failed, a saved plan no longer holds (PlanError, status 409: nothing was
      written), another import into the server is running here (TargetBusyError,
      status 409: nothing was written), an export selected no flow, ``diff
      --exit-code`` found differences, or
      the confirmation prompt was declined
2     bad usage (unknown flag, missing or conflicting options) or a bad input file
3     authentication or connection failure (wrong password, none found, server
      unreachable or timing out)
130   interrupted (Ctrl-C); an import, promote or rollback still prints its
      report, status 499
====  ============================================================================

:data:`ERROR_TABLE` is that mapping, in one place, first match wins; each rule's hint is
the one thing to do about that kind of failure. An import that fails after it began
writing (:class:`ImportIncompleteError`) is reported by the rule of its cause, and its
document is the import's report with ``data.message`` added.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable, Sequence
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
    ImportIncompleteError,
    ImportReport,
    InvalidArgumentError,
    NotFoundError,
    NotZiggyServerError,
    PlanError,
    PlanFileError,
    RateLimitedError,
    RequestTimeoutError,
    SelectionError,
    ServerError,
    ServerResponseError,
    ServerUnreachableError,
    TargetBusyError,
    ZiggyError,
    __version__,
    bulk_mode,
)

from . import about, auth, bundle, demo, flow, system
from . import human as human_output
from ._argv import ArgvError, expand_multi_value_options, format_in
from .options import EXIT_CODES_HELP
from .output import (
    CliError,
    emit_json,
    error_lines,
    help_to_stderr,
    human,
    info,
    reset,
    status_document,
    use_format,
)

__all__ = ["ERROR_TABLE", "ErrorRule", "app", "main"]


Hint = str | Callable[[BaseException], str]


@dataclass(frozen=True)
class ErrorRule:
    """How one kind of failure is reported.

    ``status`` None means "the HTTP status the server answered" (``response_code``),
    falling back to ``fallback_status``. ``hint`` is the ``hint:`` line, or makes it from
    the error.
    """

    kind: type[BaseException]
    status: int | None
    exit_code: int
    hint: Hint = ""
    fallback_status: int = 500


def _bundle_hint(exc: BaseException) -> str:
    if "cannot write" in str(exc) or "cannot replace" in str(exc):
        return "Choose a path you can write to (a folder needs --layout dir)."
    if "exists and is not a bundle folder" in str(exc):
        return (
            "Give a new or empty folder, or one an earlier 'ziggy flow export --layout dir' "
            "wrote (it holds index.json)."
        )
    if "not a bundle folder" in str(exc):
        return "Give a bundle file, or a folder 'ziggy flow export --layout dir' wrote."
    return "Check the bundle file (one written by 'ziggy flow export')."


def _usage_hint(exc: BaseException) -> str:
    context = getattr(exc, "ctx", None)
    path = context.command_path if context is not None else "ziggy"
    return f"See '{path} --help'."


ERROR_TABLE: tuple[ErrorRule, ...] = (
    ErrorRule(ArgvError, 400, 2, "See the command's --help."),
    ErrorRule(typer.TyperException, 400, 2, _usage_hint),  # Typer's own usage errors
    ErrorRule(BundleError, 400, 2, _bundle_hint),
    ErrorRule(SelectionError, 400, 2, "'ziggy flow list --server NAME' shows a server's flows."),
    ErrorRule(
        ExposedCredentialError,
        400,
        2,
        "Move the credentials into secrets, or export without --strict-secrets.",
    ),
    ErrorRule(
        AuthenticationError,
        401,
        3,
        "Check the profile's user name and password ('ziggy auth add NAME ...' updates them).",
    ),
    ErrorRule(RequestTimeoutError, 504, 3, "Try again later, or allow more time with --timeout."),
    ErrorRule(
        NotZiggyServerError,
        502,
        3,
        "Check the profile's URL and port ('ziggy auth list'): something else answers there.",
    ),
    ErrorRule(
        ServerUnreachableError,
        502,
        3,
        "Check that the server runs, then 'ziggy auth status -s NAME' tries again.",
    ),
    ErrorRule(PlanFileError, 400, 2, "Make the plan again with 'ziggy flow plan'."),
    ErrorRule(
        PlanError,
        409,
        1,
        "Make a new plan with 'ziggy flow plan' and review it, or import without --plan.",
    ),
    ErrorRule(
        TargetBusyError,
        409,
        1,
        "Wait for the other import to end, or give it longer with --lock-timeout.",
    ),
    ErrorRule(
        BackupFailedError,
        500,
        1,
        "Fix the server's backup, or pass --no-backup if you accept the risk.",
    ),
    ErrorRule(NotFoundError, 404, 1, "The item may have been removed meanwhile; try again."),
    ErrorRule(RateLimitedError, 429, 1, "Try again later, or lower --concurrency."),
    ErrorRule(
        BadRequestError, None, 1, "Run again with --verbose to see what the server said.", 400
    ),
    ErrorRule(ServerError, None, 1, "Check the server's logs, then try again.", 502),
    ErrorRule(ServerResponseError, None, 1, "Run again with --verbose to see the answer."),
    ErrorRule(InvalidArgumentError, 400, 2, "See the command's --help for the valid values."),
    ErrorRule(ZiggyError, 500, 1, "Run again with --verbose for details."),
    ErrorRule(typer.Abort, 499, 1, "Nothing more was done; run the command again to go on."),
    ErrorRule(OSError, 400, 2, "Check the path and its permissions."),
)
"""Library and CLI failures -> JSON status, exit code and a hint; first match wins."""

EXAMPLES_HELP = """Examples:

\b
  ziggy auth add dev --url http://localhost:3000 --username admin --password-stdin
  ziggy flow export --server dev --tags production --file-path flows.json
  ziggy flow import --server prod --file-path flows.json --overwrite --dry-run
  ziggy flow import --server prod --file-path flows.json --overwrite
  ziggy demo
"""

app = typer.Typer(
    name="ziggy",
    help="Move Ziggy flows between servers: export them into a bundle file, import it.",
    epilog=EXAMPLES_HELP + "\n" + EXIT_CODES_HELP,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(auth.app, name="auth")
app.add_typer(flow.app, name="flow")
app.add_typer(bundle.app, name="bundle")
app.add_typer(system.app, name="system")
app.command("demo", epilog=demo.STDOUT_HELP)(demo.demo_command)
app.command("version", epilog=EXIT_CODES_HELP)(about.version_command)
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
        raise CliError(
            "Missing command after 'ziggy'.",
            hint="Try 'ziggy flow export --help', or 'ziggy demo' to see it work.",
        )


def _status(exc: BaseException, rule: ErrorRule) -> int:
    if rule.status is not None:
        return rule.status
    code = getattr(exc, "response_code", None)
    if isinstance(code, int) and code >= 400:
        return code
    return rule.fallback_status


def _message(exc: BaseException) -> str:
    if isinstance(exc, typer.TyperException):
        text = exc.format_message()
    elif isinstance(exc, OSError) and exc.strerror:
        text = f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    else:
        text = str(exc)
    text = " ".join(text.split())  # always one line
    return text or type(exc).__name__


def report_failure(exc: BaseException) -> int:
    """Tell people (stderr) and programs (the JSON document) about ``exc``; return the
    exit code.

    A failure that carries an import's report (an import that stopped after it began
    writing) still delivers that report: its JSON with the message in ``data.message``,
    or in the human format its table, before the error lines.
    """
    report = getattr(exc, "report", None)
    message: str | None = None
    if isinstance(exc, ImportIncompleteError):
        message = _message(exc)
        exc = exc.cause  # status, exit code and hint are the cause's
    rule = next((r for r in ERROR_TABLE if isinstance(exc, r.kind)), None)
    if isinstance(exc, CliError):
        status, exit_code, hint = exc.status, exc.exit_code, exc.hint
    elif rule is not None:
        status, exit_code = _status(exc, rule), rule.exit_code
        hint = rule.hint(exc) if callable(rule.hint) else rule.hint
    else:  # a bug: the traceback goes to stderr for the report, stdout stays JSON
        traceback.print_exception(exc, file=sys.stderr)
        status, exit_code, hint = 500, 1, "This is a bug in ziggy-migrate; please report it."
        exc = Exception(f"Unexpected {type(exc).__name__}: {exc}")
    if isinstance(exc, typer.TyperException):
        context = getattr(exc, "ctx", None)
        if context is not None:
            info(context.get_usage())
    if message is None:
        message = _message(exc)
    if isinstance(report, ImportReport):
        if human():
            human_output.show_import(report, report.target_url, verb="Stopped importing into")
        else:
            data = {**report.to_dict()["data"], "message": message, "hint": hint}
            emit_json(status_document(status, data))
        error_lines(message, hint)
        return exit_code
    error_lines(message, hint)
    if not human():
        emit_json(status_document(status, {"message": message, "hint": hint}))
    return exit_code


def _prog_name() -> str:
    name = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else ""
    return name if name in ("ziggy", "ziggy-migrate") else "ziggy"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI on ``argv`` (default ``sys.argv[1:]``) and return the exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    reset()
    try:
        use_format(format_in(args))  # for an error found before the command runs
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
