"""Where the CLI's words go: data on stdout, everything meant for people on stderr.

Scripts read stdout, so it carries only documents (the JSON answer of a flow command, the
table of ``flow list`` / ``auth --list``); prompts, progress, warnings and log lines go to
stderr. JSON is printed on one line when stdout is not a terminal (so several documents
form JSON Lines) and indented when a person is looking.

The terminal checks are small functions of their own so that tests can pretend a
terminal is there; nothing else in the CLI looks at ``isatty``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import threading
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO

import typer

if TYPE_CHECKING:
    from ziggy_migrate import ImportReport

__all__ = [
    "Cancelled",
    "CliError",
    "Progress",
    "configure_logging",
    "confirm",
    "describe_selection",
    "emit_json",
    "help_to_stderr",
    "info",
    "status_document",
    "stderr_is_terminal",
    "stdin_is_terminal",
    "summarise_import",
    "warn",
]

STATUS_TEXT: dict[int, str] = {
    200: "OK",
    201: "Created",
    207: "Multi-Status",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    409: "Conflict",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class CliError(Exception):
    """A problem the CLI itself detects, rendered by ``main()`` like a library error.

    ``status`` is the HTTP-style status of the JSON error document and ``exit_code`` the
    process exit code (2: bad usage or input, 3: authentication or connection).
    """

    status: int = 400
    exit_code: int = 2


class Cancelled(CliError):
    """The user answered no at the confirmation prompt (nothing was done)."""

    exit_code = 1


def stdin_is_terminal() -> bool:
    return _isatty(sys.stdin)


def stderr_is_terminal() -> bool:
    return _isatty(sys.stderr)


def stdout_is_terminal() -> bool:
    return _isatty(sys.stdout)


def _isatty(stream: TextIO | None) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (ValueError, OSError):  # a closed or detached stream
        return False


def status_document(status: int, data: Any) -> dict[str, Any]:
    """The ``{"status", "statusText", "data"}`` shape every flow command prints."""
    return {"status": status, "statusText": STATUS_TEXT.get(status, "Error"), "data": data}


def emit_json(document: Any) -> None:
    """Print one JSON document on stdout (indented for people, one line for programs)."""
    indent = 2 if stdout_is_terminal() else None
    sys.stdout.write(json.dumps(document, indent=indent, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def help_to_stderr(ctx: typer.Context) -> None:
    """Show a command's help on stderr (Typer's rich help would print on stdout)."""
    with contextlib.redirect_stdout(sys.stderr):
        text = ctx.get_help()
    if text:
        typer.echo(text, err=True)


def info(message: str) -> None:
    typer.echo(message, err=True)


def warn(message: str) -> None:
    typer.echo(f"warning: {message}", err=True)


def describe_selection(flow_ids: Sequence[str], tags: Sequence[str]) -> str:
    """``2 flow(s) by UUID and flows tagged 'a'``: a selection in words, for prompts."""
    parts = []
    if flow_ids:
        parts.append(f"{len(flow_ids)} flow(s) by UUID")
    if tags:
        parts.append("flows tagged " + ", ".join(repr(tag) for tag in tags))
    return " and ".join(parts) if parts else "all flows"


def summarise_import(report: ImportReport, *, server: str, verb: str = "Imported into") -> None:
    """Tell people on stderr what an import (or a rollback) did on ``server``.

    The secrets left without a value are warned about one by one: a flow using them fails
    at run time until someone sets them; so are the schedules created paused that run on
    the source.
    """
    for name in report.secrets_needing_values:
        warn(f"secret {name!r} has no value on {server}: set it in Ziggy.")
    for schedule in report.schedules_paused:
        warn(
            f"schedule {schedule.name!r} of flow {schedule.flow_name!r} is paused on {server}: "
            "switch it on when the flow is ready there."
        )
    outcomes = Counter(item.result.value.lower() for item in report.items)
    info(
        ("Dry run, nothing written: " if report.dry_run else f"{verb} {server}: ")
        + (", ".join(f"{n} {result}" for result, n in sorted(outcomes.items())) or "nothing")
        + "."
    )
    if report.rollback_path:
        info(
            f"The overwritten items were saved in {report.rollback_path} "
            "('ziggy flow rollback' puts them back)."
        )
    if not report.ok:
        info(f"{len(report.failed)} item(s) failed; see 'error' in the report.")


def confirm(question: str) -> bool:
    """Ask a yes/no question on the terminal (default no); refuse when there is none.

    Without a terminal the question could never be answered, so instead of waiting for
    input that will not come, this stops at once and names the flag that skips it.
    """
    if not stdin_is_terminal():
        raise CliError(
            "Refusing to ask for confirmation without a terminal: pass --no-prompt to "
            "run without asking."
        )
    return typer.confirm(question, default=False, err=True)


def configure_logging(verbose: bool) -> None:
    """Send the library's log lines to stderr: DEBUG with --verbose, else warnings only.

    The library reports its warnings (inline credentials, plain HTTP, unmatched tags...)
    by logging them, so the default level shows them as ``warning: ...`` lines. It
    redacts passwords, tokens and secret values before logging, so DEBUG output is safe
    to paste into an issue.
    """
    level = logging.DEBUG if verbose else logging.WARNING
    pattern = "%(levelname)s %(name)s: %(message)s" if verbose else "%(level)s: %(message)s"
    for name in ("ziggy_migrate", "ziggy_migrate_cli"):  # the library's and the CLI's own
        logger = logging.getLogger(name)
        logger.setLevel(level)
        handler = next((h for h in logger.handlers if isinstance(h, _StderrHandler)), None)
        if handler is None:
            handler = _StderrHandler()
            logger.addHandler(handler)
        handler.setLevel(level)
        handler.setFormatter(_LowerLevelFormatter(pattern))


class _StderrHandler(logging.Handler):
    """Writes to whatever ``sys.stderr`` is now (test runners swap it between runs)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:  # logging must never break a command
            self.handleError(record)


class _LowerLevelFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        record.level = record.levelname.lower()
        return super().format(record)


class Progress:
    """A one-line progress display on stderr, fed from the library's worker threads.

    It draws only when enabled (stderr is a terminal and ``--quiet`` was not given); a
    lock keeps lines from two threads from interleaving.
    """

    def __init__(self, *, enabled: bool, stream: TextIO | None = None) -> None:
        self.enabled = enabled
        self._stream = stream
        self._lock = threading.Lock()
        self._drawn = False
        self.last: tuple[int, int, str] | None = None

    @classmethod
    def for_terminal(cls, *, quiet: bool) -> Progress:
        return cls(enabled=not quiet and stderr_is_terminal())

    def __call__(self, done: int, total: int, what: str) -> None:
        with self._lock:
            self.last = (done, total, what)
            if not self.enabled:
                return
            stream = self._stream or sys.stderr
            width = len(str(total))
            line = f"\r[{done:>{width}}/{total}] {what}"[:120]
            stream.write(f"{line}\x1b[K")
            stream.flush()
            self._drawn = True

    @property
    def callback(self) -> Progress | None:
        """What to hand the library: ``None`` when nothing would be drawn."""
        return self if self.enabled else None

    def close(self) -> None:
        """End the progress line so later messages start on a fresh one."""
        with self._lock:
            if self._drawn:
                stream = self._stream or sys.stderr
                stream.write("\n")
                stream.flush()
                self._drawn = False
