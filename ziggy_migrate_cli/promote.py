"""``ziggy flow promote``: export from one server and import into another, in one step.

The bundle in between is kept (its path is in the answer), so there is always a record of
exactly what was promoted, to diff against or apply again later.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ziggy_migrate import DEFAULT_LOCK_TIMEOUT, promote

from . import human
from ._argv import split_values
from .options import (
    BindingsOption,
    CaBundleOption,
    ConcurrencyOption,
    ConnectionSettings,
    DryRunOption,
    DuplicateOption,
    FlowIdsOption,
    FormatOption,
    InsecureOption,
    KeepScheduleStateOption,
    LockTimeoutOption,
    NoBackupOption,
    NoPromptOption,
    OverwriteOption,
    QuietOption,
    RetriesOption,
    SkipOption,
    TagsOption,
    TimeoutOption,
    VerboseOption,
    required_mode,
)
from .output import Cancelled, CliError, answer, confirm, describe_selection, start
from .profiles import ProfileStore
from .session import connected, interrupts_reported

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
    lock_timeout: LockTimeoutOption = DEFAULT_LOCK_TIMEOUT,
    concurrency: ConcurrencyOption = None,
    timeout: TimeoutOption = None,
    retries: RetriesOption = None,
    insecure: InsecureOption = False,
    ca_bundle: CaBundleOption = None,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
    output_format: FormatOption = None,
) -> None:
    """Promote flows from one server to another: export (by UUID and/or tag, or all), then
    import with one mode: --skip, --duplicate or --overwrite.

    The bundle is kept and its path reported. Passwords come from the environment or the
    keyring (or a prompt on a terminal); the connection options apply to both servers.
    """
    start(output_format, verbose)
    mode = required_mode(skip=skip, duplicate=duplicate, overwrite=overwrite)
    if from_server == to_server:
        raise CliError(
            f"--from and --to are both {from_server!r}.",
            hint="Promote between two servers: name another profile with --to.",
        )
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
    with (
        connected(
            settings, origin, destination, allow_prompt=not no_prompt, quiet=quiet
        ) as session,
        interrupts_reported(),
    ):
        result = promote(
            *session.clients,
            mode=mode,
            flow_ids=ids or None,
            tags=tag_list or None,
            backup=not no_backup,
            dry_run=dry_run,
            strict_secrets=strict_secrets,
            bundle_dir=bundle_dir,
            progress=session.progress,
            bindings=bindings,
            keep_schedule_state=keep_schedule_state,
            lock_timeout=lock_timeout,
        )
    report = result.report
    answer(
        result.to_dict(),
        lambda: human.show_promote(result, origin.name, destination.name),
        summary=human.promote_export_line(result, origin.name)
        + "\n"
        + human.import_summary(report, destination.name),
        warnings=human.import_warnings(report, destination.name),
    )
    if not report.ok:
        raise typer.Exit(1)
