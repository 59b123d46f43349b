"""``ziggy flow promote``: export from one server and import into another, in one step.

The bundle in between is kept (its path is in the answer), so there is always a record of
exactly what was promoted, to diff against or apply again later.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ziggy_migrate import promote

from ._argv import split_values
from .options import (
    BindingsOption,
    CaBundleOption,
    ConcurrencyOption,
    ConnectionSettings,
    DryRunOption,
    DuplicateOption,
    FlowIdsOption,
    InsecureOption,
    KeepScheduleStateOption,
    NoBackupOption,
    NoPromptOption,
    OverwriteOption,
    QuietOption,
    RetriesOption,
    SkipOption,
    TagsOption,
    TimeoutOption,
    VerboseOption,
    chosen_mode,
)
from .output import (
    Cancelled,
    CliError,
    Progress,
    configure_logging,
    confirm,
    describe_selection,
    emit_json,
    info,
    summarise_import,
)
from .profiles import ProfileStore

__all__ = ["promote_command"]


def promote_command(
    *,
    from_server: Annotated[
        str,
        typer.Option(
            "--from",
            metavar="NAME",
            help="Server profile to export from (e.g. dev).",
            show_default=False,
        ),
    ],
    to_server: Annotated[
        str,
        typer.Option(
            "--to",
            metavar="NAME",
            help="Server profile to import into (e.g. prod).",
            show_default=False,
        ),
    ],
    flow_ids: FlowIdsOption = None,
    tags: TagsOption = None,
    skip: SkipOption = False,
    duplicate: DuplicateOption = False,
    overwrite: OverwriteOption = False,
    no_prompt: NoPromptOption = False,
    no_backup: NoBackupOption = False,
    dry_run: DryRunOption = False,
    strict_secrets: Annotated[
        bool,
        typer.Option(
            "--strict-secrets",
            help="Refuse to export connections that hold inline credentials.",
        ),
    ] = False,
    bundle_dir: Annotated[
        Path | None,
        typer.Option(
            "--bundle-dir",
            metavar="DIR",
            file_okay=False,
            help="Where to keep the bundle (default: the 'promotions' folder beside the "
            "rollback bundles, see ZIGGY_STATE_DIR).",
            show_default=False,
        ),
    ] = None,
    bindings: BindingsOption = None,
    keep_schedule_state: KeepScheduleStateOption = False,
    concurrency: ConcurrencyOption = 8,
    timeout: TimeoutOption = None,
    retries: RetriesOption = None,
    insecure: InsecureOption = False,
    ca_bundle: CaBundleOption = None,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Promote flows from one server to another: export (by UUID and/or tag, or all), then
    import with one mode: --skip, --duplicate or --overwrite.

    The bundle is kept and its path reported. Passwords come from the environment or the
    keyring (or a prompt on a terminal); the connection options apply to both servers.
    """
    configure_logging(verbose)
    mode = chosen_mode(skip=skip, duplicate=duplicate, overwrite=overwrite)
    if mode is None:
        raise CliError("Choose exactly one import mode: --skip, --duplicate or --overwrite.")
    if from_server == to_server:
        raise CliError(f"--from and --to are both {from_server!r}: promote between two servers.")
    store = ProfileStore()
    origin, destination = store.get(from_server), store.get(to_server)
    ids, tag_list = split_values(flow_ids), split_values(tags)
    if not no_prompt and not dry_run:
        backup_note = " and no backup" if no_backup else ""
        question = (
            f"Promote {describe_selection(ids, tag_list)} from {origin.name} "
            f"({origin.address}) to {destination.name} ({destination.address}) with "
            f"--{mode.value}{backup_note}?"
        )
        if not confirm(question):
            raise Cancelled("Cancelled at the prompt: nothing was exported or imported.")
    settings = ConnectionSettings(concurrency, timeout, insecure, ca_bundle, retries)
    progress = Progress.for_terminal(quiet=quiet)
    allow_prompt = not no_prompt  # passwords are found here; the first request comes later
    with (
        settings.connect(origin, password_stdin=False, allow_prompt=allow_prompt) as source,
        settings.connect(destination, password_stdin=False, allow_prompt=allow_prompt) as target,
    ):
        try:
            result = promote(
                source,
                target,
                mode=mode,
                flow_ids=ids or None,
                tags=tag_list or None,
                backup=not no_backup,
                dry_run=dry_run,
                strict_secrets=strict_secrets,
                bundle_dir=bundle_dir,
                progress=progress.callback,
                bindings=bindings,
                keep_schedule_state=keep_schedule_state,
            )
        finally:
            progress.close()
    info(f"Exported from {origin.name} into {result.bundle_path} (kept).")
    summarise_import(result.report, server=destination.name)
    document = result.report.to_dict()
    emit_json(
        {
            "status": document["status"],
            "statusText": document["statusText"],
            "data": {
                "bundlePath": str(result.bundle_path),
                "export": result.export.to_dict(),
                "import": document["data"],
            },
        }
    )
    if not result.report.ok:
        raise typer.Exit(1)
