"""``ziggy system``: server housekeeping; ``backup`` downloads the database.

``backup`` does what the official ``ziggy system backup`` does: it has the server make
its database transfer file and downloads it to ``--file-path`` (one rename, owner-only:
the dump holds every secret of the server), answering the official
``{"message": "Backup successful", "filePath": PATH}`` (with ``bytes`` beside).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ziggy_migrate import BackupFailedError, download_backup

from .options import (
    EXIT_CODES_HELP,
    CaBundleOption,
    ConnectionSettings,
    InsecureOption,
    NoPromptOption,
    PasswordStdinOption,
    RetriesOption,
    ServerOption,
    TimeoutOption,
    VerboseOption,
)
from .output import (
    Cancelled,
    CliError,
    configure_logging,
    confirm,
    emit_json,
    help_to_stderr,
    info,
    status_document,
)
from .profiles import ProfileStore

__all__ = ["app", "backup_command"]

app = typer.Typer(name="system", help="Server housekeeping: download a database backup.")


class BackupError(CliError):
    """The server could not make or send its transfer file (nothing was written)."""

    status = 502
    exit_code = 1


@app.callback(invoke_without_command=True)
def system(ctx: typer.Context) -> None:
    """Server housekeeping: download a database backup."""
    if ctx.invoked_subcommand is None:
        help_to_stderr(ctx)
        raise CliError("Missing command: use 'ziggy system backup'.")


@app.command("backup", epilog=EXIT_CODES_HELP)
def backup_command(
    *,
    file_path: Annotated[
        Path,
        typer.Option(
            "--file-path",
            "-fp",
            metavar="PATH",
            help="Where to save the database transfer file (a PostgreSQL dump).",
            show_default=False,
        ),
    ],
    server: ServerOption = None,
    no_prompt: NoPromptOption = False,
    password_stdin: PasswordStdinOption = False,
    timeout: TimeoutOption = None,
    retries: RetriesOption = None,
    insecure: InsecureOption = False,
    ca_bundle: CaBundleOption = None,
    verbose: VerboseOption = False,
) -> None:
    """Download a backup of the server's database to a local file.

    The server makes a transfer file (POST /api/system/transfer-db), which is downloaded
    (GET /api/system/download-transfer) and written in one rename, owner-only: it holds
    every secret value of the server. An existing file at PATH is replaced.
    """
    configure_logging(verbose)
    profile = ProfileStore().resolve(server)
    _check_target(file_path)
    if not no_prompt and not confirm(
        f"Download a backup of the database of {profile.name} ({profile.address}) into {file_path}?"
    ):
        raise Cancelled("Cancelled at the prompt: nothing was downloaded.")
    settings = ConnectionSettings(
        timeout=timeout, insecure=insecure, ca_bundle=ca_bundle, retries=retries
    )
    client = settings.connect(profile, password_stdin=password_stdin, allow_prompt=not no_prompt)
    with client:
        try:
            saved = download_backup(client, file_path)
        except BackupFailedError as exc:
            raise BackupError(str(exc)) from None
    size = saved.stat().st_size
    info(
        f"Saved the database of {profile.name} ({size} bytes) into {saved}; it holds every "
        "secret of the server: keep it private."
    )
    emit_json(
        status_document(
            200, {"message": "Backup successful", "filePath": str(file_path), "bytes": size}
        )
    )


def _check_target(path: Path) -> None:
    """Refuse a path that cannot be written before any request is sent."""
    if path.is_dir():
        raise CliError(f"{path} is a folder: give the path of the backup file to write.")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise CliError(f"The folder {folder} does not exist: create it or choose another path.")
