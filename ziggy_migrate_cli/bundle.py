"""``ziggy bundle``: convert between official ziggy export files and bundles.

``convert`` reads an official export file (what the official ``ziggy flow export``
writes) and writes the bundle it holds, a file or a ``--layout dir`` folder, so that a
team can move its git history of official exports to the bundle format once; with
``--file-format official`` it goes the other way, from a bundle to an official export
file for a team still on the official CLI. It reads and writes files only: no server.
The answer is one JSON document on stdout; warnings go to stderr too.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from ziggy_migrate import (
    Bundle,
    Layout,
    load_bundle,
    load_official,
    save_bundle,
    save_official,
)

from .options import EXIT_CODES_HELP, BundlePathOption, VerboseOption
from .output import (
    CliError,
    configure_logging,
    count,
    emit_json,
    help_to_stderr,
    info,
    status_document,
    warn,
)

__all__ = [
    "FileFormat",
    "FileFormatOption",
    "app",
    "convert_command",
    "counts_text",
    "schedules_left_out",
]

app = typer.Typer(name="bundle", help="Convert official ziggy export files to bundles and back.")


class FileFormat(str, enum.Enum):
    """What a command writes: a bundle, or an official ziggy export file."""

    BUNDLE = "bundle"
    OFFICIAL = "official"


FileFormatOption = Annotated[
    FileFormat,
    typer.Option(
        "--file-format",
        case_sensitive=False,
        help="bundle: the bundle format; official: the official ziggy CLI's export file "
        "(what the server's export answers), for a team still on the official CLI.",
    ),
]


@app.callback(invoke_without_command=True)
def bundle(ctx: typer.Context) -> None:
    """Convert official ziggy export files to bundles and back."""
    if ctx.invoked_subcommand is None:
        help_to_stderr(ctx)
        raise CliError("Missing command: use 'ziggy bundle convert'.")


def counts_text(bundle: Bundle) -> str:
    """``2 flows, 1 connections``: a bundle's non-zero counts, for messages."""
    return (
        ", ".join(f"{count} {kind}" for kind, count in bundle.counts.items() if count) or "nothing"
    )


@app.command("convert", epilog=EXIT_CODES_HELP)
def convert_command(
    *,
    file_path: BundlePathOption,
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            metavar="OUT",
            help="Where to write: a JSON file, or a folder with --layout dir.",
            show_default=False,
        ),
    ],
    layout: Annotated[
        Layout,
        typer.Option(
            "--layout",
            case_sensitive=False,
            help="file: one JSON file; dir: a folder with one file per item.",
        ),
    ] = Layout.FILE,
    file_format: FileFormatOption = FileFormat.BUNDLE,
    verbose: VerboseOption = False,
) -> None:
    """Convert an official ziggy export file (--file-path) into a bundle (--out).

    Secret values and OAuth tokens the file carries are dropped and said so; its
    schedules come into the bundle. With --file-format official, the input is a bundle
    (file or folder) and the output an official export file, which carries no schedules
    (said so when the bundle has some).
    """
    configure_logging(verbose)
    warnings: tuple[str, ...] = ()
    if file_format is FileFormat.OFFICIAL:
        if layout is Layout.DIR:
            raise CliError(
                "--layout dir goes with --file-format bundle: an official file is one file."
            )
        converted = load_bundle(file_path)  # an official file's own warnings are logged
        saved = save_official(converted, out)
        warnings = schedules_left_out(converted)
        for warning in warnings:
            warn(warning)
    else:
        loaded = load_official(file_path)
        converted, warnings = loaded.bundle, loaded.warnings
        for warning in warnings:
            warn(warning)
        saved = save_bundle(converted, out, layout=layout)
    info(f"Converted {counts_text(converted)} from {file_path} into {saved} ({file_format.value}).")
    emit_json(
        status_document(
            200,
            {
                "message": "Conversion successful",
                "filePath": str(saved),
                "fileFormat": file_format.value,
                "counts": converted.counts,
                "warnings": list(warnings),
            },
        )
    )


def schedules_left_out(bundle: Bundle) -> tuple[str, ...]:
    """The warning that an official export file written from ``bundle`` lacks its
    schedules (the server's own import takes none), or nothing."""
    if not bundle.schedules:
        return ()
    return (
        f"the bundle holds {count(len(bundle.schedules), 'schedule')}; an official export "
        "file carries none (the server's own import does not take schedules), so they are "
        "left out: import the bundle with ziggy-migrate to move them",
    )
