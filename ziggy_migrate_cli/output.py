"""Where the CLI's words go, and in which form: for people or for programs.

**Formats.** ``--format auto|human|json`` (or ``ZIGGY_FORMAT``) chooses what a flow
command prints on stdout: ``json`` is the one document ``{"status", "statusText",
"data"}`` scripts read; ``human`` is a short account (tables, the items that need
attention, grouped warnings, a summary line last); ``auto``, the default, is human when
stdout is a terminal and JSON otherwise, so pipes and scripts get exactly the JSON they
always had. JSON is printed on one line when stdout is not a terminal (so several
documents form JSON Lines) and indented when a person is looking.

**Streams.** stdout carries only the answer; prompts, progress, warnings, log lines and
errors go to stderr. Every failure writes ``error: ...`` and ``hint: ...`` there, in every
format (``main.report_failure``).

**Warnings** from the library arrive as log records. They are never shown twice: in JSON
mode each distinct one is printed once as it comes; in human mode they are held and shown
grouped with the result (:func:`take_warnings`), or before the error if the command fails.

Colour follows rich's rules (``NO_COLOR``, ``TERM=dumb``: none). The terminal checks are
small functions of their own so that tests can pretend a terminal is there.
"""

from __future__ import annotations

import contextlib
import enum
import json
import logging
import os
import re
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TextIO

import typer
from rich import box
from rich.console import Console
from rich.table import Table

__all__ = [
    "FORMAT_ENV",
    "Cancelled",
    "CliError",
    "OutputFormat",
    "answer",
    "configure_logging",
    "confirm",
    "count",
    "describe_selection",
    "emit_json",
    "error_lines",
    "group_warnings",
    "help_to_stderr",
    "human",
    "info",
    "print_table",
    "reset",
    "start",
    "status_document",
    "stderr_console",
    "stderr_is_terminal",
    "stdin_is_terminal",
    "stdout_console",
    "stdout_is_terminal",
    "take_warnings",
    "use_format",
    "warn",
]

FORMAT_ENV = "ZIGGY_FORMAT"

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
    499: "Cancelled",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


class OutputFormat(str, enum.Enum):
    """What stdout carries: ``human`` text, the ``json`` document, or ``auto`` (human on
    a terminal, JSON otherwise)."""

    AUTO = "auto"
    HUMAN = "human"
    JSON = "json"


class CliError(Exception):
    """A problem the CLI itself detects, rendered by ``main()`` like a library error.

    ``status`` is the HTTP-style status of the JSON error document, ``exit_code`` the
    process exit code (2: bad usage or input, 3: authentication or connection) and
    ``hint`` the one thing to do about it (shown on its own ``hint:`` line).
    """

    status: int = 400
    exit_code: int = 2
    default_hint: str = "See the command's --help for its options."

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint if hint is not None else self.default_hint


class Cancelled(CliError):
    """The user answered no at the confirmation prompt (nothing was done)."""

    status = 499
    exit_code = 1
    default_hint = "Run the command again and answer y, or pass --no-prompt."


# -- the chosen format ------------------------------------------------------------------

_chosen: OutputFormat | None = None


def reset() -> None:
    """Forget the format and the held warnings of an earlier run (``main()`` calls it)."""
    global _chosen  # noqa: PLW0603 - one CLI run, one format
    _chosen = None
    _WARNINGS.clear()


def use_format(value: OutputFormat | str | None) -> None:
    """Use ``value`` for this run (None: ``$ZIGGY_FORMAT``, else ``auto``)."""
    global _chosen  # noqa: PLW0603 - one CLI run, one format
    _chosen = None if value is None else OutputFormat(value)


def chosen_format() -> OutputFormat:
    """The format given, else ``$ZIGGY_FORMAT``, else ``auto`` (a bad value is an error)."""
    if _chosen is not None:
        return _chosen
    value = os.environ.get(FORMAT_ENV, "").strip().lower()
    if not value:
        return OutputFormat.AUTO
    try:
        return OutputFormat(value)
    except ValueError:
        raise CliError(
            f"{FORMAT_ENV}={value!r} is not a format.",
            hint=f"Set {FORMAT_ENV} to auto, human or json, or unset it.",
        ) from None


def start(output_format: OutputFormat | None, verbose: bool) -> None:
    """What every command does first: take its --format (checking $ZIGGY_FORMAT) and
    route the library's log lines."""
    use_format(output_format)
    chosen_format()
    configure_logging(verbose)


def answer(
    document: Any,
    show: Callable[[], None],
    *,
    summary: str = "",
    warnings: Iterable[str] = (),
) -> None:
    """Print a command's answer: ``show()`` the human account, or the JSON ``document``
    with its ``warnings`` (grouped, each once) and ``summary`` line on stderr."""
    if human():
        show()
        return
    for line in group_warnings(warnings):
        warn(line)
    if summary:
        info(summary)
    emit_json(document)


def human() -> bool:
    """Whether stdout gets the human account (else the JSON document)."""
    try:
        chosen = chosen_format()
    except CliError:
        chosen = OutputFormat.AUTO  # the error itself is reported by the command
    if chosen is OutputFormat.AUTO:
        return stdout_is_terminal()
    return chosen is OutputFormat.HUMAN


# -- terminals and consoles -------------------------------------------------------------


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


def dumb_terminal() -> bool:
    """``TERM=dumb``: no colour, no cursor movement (so no live progress bar)."""
    return os.environ.get("TERM", "").lower() in ("dumb", "unknown")


def _console(stream: TextIO, terminal: bool) -> Console:
    # Whatever sys.stdout/stderr is now (test runners swap them); rich itself honours
    # NO_COLOR and TERM=dumb. Off a terminal, lines are never wrapped for a width.
    return Console(
        file=stream,
        force_terminal=False if not terminal else None,
        width=None if terminal else 100_000,
        highlight=False,
        soft_wrap=not terminal,
    )


def stdout_console() -> Console:
    return _console(sys.stdout, stdout_is_terminal())


def stderr_console() -> Console:
    return _console(sys.stderr, stderr_is_terminal())


# -- documents and text -----------------------------------------------------------------


def status_document(status: int, data: Any) -> dict[str, Any]:
    """The ``{"status", "statusText", "data"}`` shape every flow command prints."""
    return {"status": status, "statusText": STATUS_TEXT.get(status, "Error"), "data": data}


def emit_json(document: Any) -> None:
    """Print one JSON document on stdout (indented for people, one line for programs)."""
    indent = 2 if stdout_is_terminal() else None
    sys.stdout.write(json.dumps(document, indent=indent, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def print_table(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    title: str | None = None,
    plain: bool = False,
) -> None:
    """Print a table on stdout: the one table printer of the CLI.

    ``plain`` is for tables that are data (``flow list``, ``auth list``): aligned
    columns without borders or trailing blanks, never wrapped off a terminal, so
    ``grep`` and ``awk`` keep working. Otherwise a light table for people, as wide as
    the terminal, long cells ellipsised.
    """
    console = stdout_console()
    table = Table(
        *headers,
        title=title,
        title_justify="left",
        box=None if plain else box.SIMPLE_HEAD,
        show_edge=not plain,
        pad_edge=not plain,
        padding=(0, 2) if plain else (0, 1),
        collapse_padding=plain,
        header_style="" if plain else "bold",
        title_style="bold",
    )
    for column in table.columns:
        column.overflow = "ellipsis" if console.is_terminal else "ignore"
        column.no_wrap = not plain or not console.is_terminal
    for row in rows:
        table.add_row(*row)
    with console.capture() as captured:
        console.print(table)
    text = "\n".join(line.rstrip() for line in captured.get().splitlines())
    sys.stdout.write(text.strip("\n") + "\n" if not plain else text.lstrip("\n") + "\n")
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
    """One ``warning:`` line on stderr, unless the same warning was already shown."""
    if _WARNINGS.first_time(message):
        typer.echo(f"warning: {message}", err=True)


def error_lines(message: str, hint: str) -> None:
    """``error: ...`` then ``hint: ...`` on stderr: how every failure ends."""
    flush_held_warnings()
    console = stderr_console()
    console.print(f"[bold red]error:[/] {_escape(message)}")
    if hint:
        console.print(f"[bold]hint:[/] {_escape(hint)}")


def _escape(text: str) -> str:
    from rich.markup import escape  # noqa: PLC0415 - rich's markup, only for this

    return escape(text)


def count(number: int, noun: str, plural: str | None = None) -> str:
    """``1 flow``, ``3 flows``, ``2 secrets``: a number with its noun, in the right form."""
    if number == 1:
        return f"1 {noun}"
    return f"{number} {plural or _plural(noun)}"


def _plural(noun: str) -> str:
    if noun.endswith(("s", "x", "sh", "ch")):
        return noun + "es"
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + "s"


def names(items: Sequence[str], limit: int = 5) -> str:
    """``A, B, C and 7 more``: a few names of a long list, for one line."""
    shown = ", ".join(items[:limit])
    rest = len(items) - limit
    return f"{shown} and {rest} more" if rest > 0 else shown


def describe_selection(flow_ids: Sequence[str], tags: Sequence[str]) -> str:
    """``2 flows by UUID and flows tagged 'a'``: a selection in words, for prompts."""
    parts = []
    if flow_ids:
        parts.append(f"{count(len(flow_ids), 'flow')} by UUID")
    if tags:
        parts.append("flows tagged " + ", ".join(repr(tag) for tag in tags))
    return " and ".join(parts) if parts else "all flows"


def confirm(question: str) -> bool:
    """Ask a yes/no question on the terminal (default no); refuse when there is none.

    Without a terminal the question could never be answered, so instead of waiting for
    input that will not come, this stops at once and names the flag that skips it.
    """
    if not stdin_is_terminal():
        raise CliError(
            "Refusing to ask for confirmation without a terminal.",
            hint="Pass --no-prompt (or set ZIGGY_NO_PROMPT=1) to run without asking.",
        )
    return typer.confirm(question, default=False, err=True)


# -- warnings: shown once, grouped for people ---------------------------------------------

_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"|\b[0-9a-f]{8}-[0-9a-f-]{27}\b")


def group_warnings(messages: Iterable[str], *, limit: int = 3) -> list[str]:
    """Distinct warnings, those that differ only in the names they quote folded into one
    line: ``connection 'A' holds ... (and 7 more like it: 'B', 'C', ...)``."""
    groups: dict[str, list[str]] = {}
    for message in dict.fromkeys(messages):
        groups.setdefault(_QUOTED.sub("…", message), []).append(message)
    lines = []
    for members in groups.values():
        if len(members) == 1:
            lines.append(members[0])
            continue
        quoted = [found for m in members[1:] for found in _QUOTED.findall(m)[:1]]
        more = f": {names(quoted, limit)}" if quoted else ""
        lines.append(f"{members[0]} (and {len(members) - 1} more like it{more}; see --format json)")
    return lines


class _WarningBook:
    """The warnings shown (never twice) and, in human mode, those held for the result."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._shown: set[str] = set()
        self._held: list[str] = []

    def clear(self) -> None:
        with self._lock:
            self._shown.clear()
            self._held.clear()

    def first_time(self, message: str) -> bool:
        with self._lock:
            if message in self._shown:
                return False
            self._shown.add(message)
            return True

    def hold(self, message: str) -> None:
        with self._lock:
            if message not in self._held:
                self._held.append(message)

    def take(self) -> list[str]:
        with self._lock:
            held, self._held = self._held, []
            self._shown.update(held)
            return held


_WARNINGS = _WarningBook()


def take_warnings() -> list[str]:
    """The library's warnings held back in human mode, to show with the result."""
    return _WARNINGS.take()


def flush_held_warnings() -> None:
    """Print the held warnings (the command stops before showing its result)."""
    for line in group_warnings(take_warnings()):
        typer.echo(f"warning: {line}", err=True)


def configure_logging(verbose: bool) -> None:
    """Send the library's log lines to stderr: DEBUG with --verbose, else warnings only.

    The library reports its warnings (inline credentials, plain HTTP, unmatched tags...)
    by logging them, so the default level shows them as ``warning: ...`` lines, each
    once; in human mode they are held and shown with the result. It redacts passwords,
    tokens and secret values before logging, so DEBUG output is safe to paste into an
    issue.
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
    """Writes to whatever ``sys.stderr`` is now (test runners swap it between runs);
    a warning is written once, or held for the result in human mode."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if record.levelno == logging.WARNING:
                message = record.getMessage()
                if human():
                    _WARNINGS.hold(message)
                    return
                if not _WARNINGS.first_time(message):
                    return
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:  # logging must never break a command
            self.handleError(record)


class _LowerLevelFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        record.level = record.levelname.lower()
        return super().format(record)
