"""``ziggy flow``: export, import, plan, diff, promote, roll back and list flows.

Each command is parse -> library call -> print: the selection, closure, matching and
writing all happen in ``ziggy_migrate``. Every command answers on stdout with the human
account (``human.py``) or one JSON document (``{"status", "statusText", "data"}``, the
library result's ``to_dict()``; errors are printed by ``main()``), as ``--format`` says;
prompts, progress and warnings go to stderr.

This module holds the group and the commands that move one bundle in or out of one
server (export, import, rollback, list); ``review`` holds ``plan`` and ``diff`` (reading
only), ``promote`` the server-to-server command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import attrs
import typer

from ziggy_migrate import (
    DEFAULT_LOCK_TIMEOUT,
    ImportReport,
    Layout,
    export_flows,
    import_bundle,
    load_bundle,
    load_plan,
    preview_selection,
    rollback,
    save_official,
)

from . import human, promote, review
from ._argv import split_values
from .bundle import FileFormat, FileFormatOption, schedules_left_out
from .options import (
    EXIT_CODES_HELP,
    BindingsOption,
    BundlePathOption,
    CaBundleOption,
    ConcurrencyOption,
    ConnectionSettings,
    DryRunOption,
    DuplicateOption,
    FlowIdsOption,
    FormatOption,
    InsecureOption,
    JsonOption,
    KeepScheduleStateOption,
    LockTimeoutOption,
    NoBackupOption,
    NoPromptOption,
    OverwriteOption,
    PasswordStdinOption,
    QuietOption,
    RetriesOption,
    ServerOption,
    SkipOption,
    TagsOption,
    TargetServerOption,
    TimeoutOption,
    VerboseOption,
    bindings_file,
    chosen_mode,
    read_selected_bundle,
    target_profile,
)
from .output import (
    Cancelled,
    CliError,
    OutputFormat,
    answer,
    confirm,
    count,
    describe_selection,
    emit_json,
    help_to_stderr,
    info,
    start,
    status_document,
)
from .profiles import ProfileStore
from .session import connected, interrupts_reported

__all__ = [
    "app",
    "export_command",
    "import_command",
    "list_command",
    "rollback_command",
]

app = typer.Typer(
    name="flow",
    help="Export, import, plan, diff, promote, roll back and list flows.",
    rich_markup_mode=None,
)

IMPORT_EPILOG = (
    "A saved plan (--plan, written by 'ziggy flow plan') fixes the mode and what happens to "
    "each item. A mode flag that contradicts it, or any target item changed since the plan "
    "was made, and the import is refused before anything is written, naming what differs "
    "(status 409, exit 1). Give the plan the same bundle and the same "
    "--flow-ids/--tags it was made with.\n\n" + EXIT_CODES_HELP
)


@app.callback(invoke_without_command=True)
def flow(ctx: typer.Context) -> None:
    """Export, import, plan, diff, promote, roll back and list flows."""
    if ctx.invoked_subcommand is None:
        help_to_stderr(ctx)
        raise CliError(
            "Missing command after 'ziggy flow'.",
            hint="Use 'ziggy flow export', 'import', 'plan', 'diff', 'promote', 'rollback' "
            "or 'list' (each has --help).",
        )


FilePathExport = Annotated[
    Path,
    typer.Option(
        "--file-path",
        "--save-path",
        "-fp",
        metavar="PATH",
        help="Where to write the bundle: a JSON file, or a folder with --layout dir (or the "
        "official export file with --file-format official).",
        show_default=False,
    ),
]
FilePathRollback = Annotated[
    Path,
    typer.Option(
        "--file-path",
        "-fp",
        metavar="PATH",
        help="The rollback bundle an import wrote (its report's data.rollbackPath).",
        show_default=False,
    ),
]


@app.command("export", epilog=EXIT_CODES_HELP)
def export_command(
    *,
    file_path: FilePathExport,
    server: ServerOption = None,
    flow_ids: FlowIdsOption = None,
    tags: TagsOption = None,
    layout: Annotated[
        Layout,
        typer.Option(
            "--layout",
            case_sensitive=False,
            help="file: one JSON file; dir: a folder with an index and one file per item "
            "(flow, connection, secret, structure, variable, schedule), for git diffs.",
        ),
    ] = Layout.FILE,
    file_format: FileFormatOption = FileFormat.BUNDLE,
    no_prompt: NoPromptOption = False,
    strict_secrets: Annotated[
        bool,
        typer.Option(
            "--strict-secrets",
            help="Refuse to export connections that hold inline credentials.",
        ),
    ] = False,
    password_stdin: PasswordStdinOption = False,
    concurrency: ConcurrencyOption = None,
    timeout: TimeoutOption = None,
    retries: RetriesOption = None,
    insecure: InsecureOption = False,
    ca_bundle: CaBundleOption = None,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
    output_format: FormatOption = None,
) -> None:
    """Export flows (by UUID and/or tag, or all) with everything they use into a bundle.

    Secrets travel by name only, never with their values. --file-format official writes
    the official ziggy CLI's export file instead, for a team still on the official CLI.
    """
    start(output_format, verbose)
    official = file_format is FileFormat.OFFICIAL
    if official and layout is Layout.DIR:
        raise CliError("--layout dir goes with --file-format bundle: an official file is one file.")
    ids, tag_list = split_values(flow_ids), split_values(tags)
    profile = ProfileStore().resolve(server)
    if not no_prompt and not confirm(
        f"Export {describe_selection(ids, tag_list)} from {profile.name} ({profile.address}) "
        f"into {file_path}?"
    ):
        raise Cancelled("Cancelled at the prompt: nothing was exported.")
    settings = ConnectionSettings(concurrency, timeout, insecure, ca_bundle, retries)
    with connected(
        settings, profile, password_stdin=password_stdin, allow_prompt=not no_prompt, quiet=quiet
    ) as session:
        result = export_flows(
            session.client,
            flow_ids=ids or None,
            tags=tag_list or None,
            strict_secrets=strict_secrets,
            path=None if official else file_path,
            layout=layout,
            progress=session.progress,
        )
    left_out: tuple[str, ...] = ()
    if official:
        left_out = schedules_left_out(result.bundle)
        result = attrs.evolve(
            result,
            path=save_official(result.bundle, file_path),
            warnings=(*result.warnings, *left_out),
        )
    answer(
        status_document(200, {**result.to_dict(), "fileFormat": file_format.value}),
        lambda: human.show_export(result, profile.name),
        summary=human.export_summary(result, profile.name),
        warnings=left_out,
    )
    if not result.counts["flows"]:  # a mistyped tag must not pass for an export in a script
        raise typer.Exit(1)


@app.command("import", epilog=IMPORT_EPILOG)
def import_command(
    *,
    file_path: BundlePathOption,
    server: TargetServerOption = None,
    skip: SkipOption = False,
    duplicate: DuplicateOption = False,
    overwrite: OverwriteOption = False,
    plan: Annotated[
        Path | None,
        typer.Option(
            "--plan",
            metavar="PLAN",
            help="Apply exactly this saved plan ('ziggy flow plan --out PLAN'); refused if "
            "the target changed since.",
            show_default=False,
        ),
    ] = None,
    flow_ids: FlowIdsOption = None,
    tags: TagsOption = None,
    bindings: BindingsOption = None,
    keep_schedule_state: KeepScheduleStateOption = False,
    no_prompt: NoPromptOption = False,
    no_backup: NoBackupOption = False,
    dry_run: DryRunOption = False,
    lock_timeout: LockTimeoutOption = DEFAULT_LOCK_TIMEOUT,
    password_stdin: PasswordStdinOption = False,
    concurrency: ConcurrencyOption = None,
    timeout: TimeoutOption = None,
    retries: RetriesOption = None,
    insecure: InsecureOption = False,
    ca_bundle: CaBundleOption = None,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
    output_format: FormatOption = None,
) -> None:
    """Import a bundle into a server, choosing one mode: --skip, --duplicate or --overwrite
    (or --plan PLAN, which carries its mode).

    --flow-ids/--tags import only those flows of the bundle, with what they need. The
    bundle is checked before the server is contacted; a backup of the server's database
    is made first unless --no-backup is given. Schedules the import creates are created
    paused unless --keep-schedule-state is given. What each item became is recorded in
    the binding file (--bindings; for a bundle folder, bindings/SERVER.json inside it).
    """
    start(output_format, verbose)
    profile = target_profile(server, "import")
    mode = chosen_mode(skip=skip, duplicate=duplicate, overwrite=overwrite)
    saved_plan = load_plan(plan) if plan is not None else None
    if saved_plan is not None:
        how = f"the plan {plan} (--{saved_plan.mode.value})"
    elif mode is not None:
        how = f"--{mode.value}"
    else:
        raise CliError(
            "No import mode was given.",
            hint="Choose exactly one import mode: --skip, --duplicate or --overwrite, or "
            "apply a saved plan with --plan.",
        )
    bundle = read_selected_bundle(file_path, flow_ids, tags)
    if not no_prompt and not dry_run:
        question = (
            f"Import {count(len(bundle.flows), 'flow')} into {profile.name} ({profile.address}) "
            f"with {how}{' and no backup' if no_backup else ''}?"
        )
        if not confirm(question):
            raise Cancelled("Cancelled at the prompt: nothing was imported.")
    settings = ConnectionSettings(concurrency, timeout, insecure, ca_bundle, retries)
    with (
        connected(
            settings,
            profile,
            password_stdin=password_stdin,
            allow_prompt=not no_prompt,
            quiet=quiet,
            bundle=bundle,
        ) as session,
        interrupts_reported(),
    ):
        # The library refuses a mode that contradicts the plan, before any request.
        report = import_bundle(
            session.client,
            bundle,
            mode=mode,
            plan=saved_plan,
            backup=not no_backup,
            dry_run=dry_run,
            progress=session.progress,
            lock_timeout=lock_timeout,
            bindings=bindings_file(file_path, profile.name, bindings),
            keep_schedule_state=keep_schedule_state,
        )
    _answer_import(report, profile.name)


def _answer_import(report: ImportReport, server: str, verb: str = "Imported into") -> None:
    """The answer of an import, a dry run or a rollback; exit 1 when an item failed."""
    answer(
        report.to_dict(),
        lambda: human.show_import(report, server, verb=verb),
        summary="\n".join(
            filter(
                None, (human.rollback_note(report), human.import_summary(report, server, verb=verb))
            )
        ),
        warnings=human.import_warnings(report, server),
    )
    if not report.ok:
        raise typer.Exit(1)


app.command("plan", epilog=review.PLAN_EPILOG)(review.plan_command)
app.command("diff", epilog=review.DIFF_EPILOG)(review.diff_command)
app.command("promote", epilog=EXIT_CODES_HELP)(promote.promote_command)


@app.command("rollback", epilog=EXIT_CODES_HELP)
def rollback_command(
    *,
    file_path: FilePathRollback,
    server: TargetServerOption = None,
    no_prompt: NoPromptOption = False,
    no_backup: NoBackupOption = False,
    dry_run: DryRunOption = False,
    lock_timeout: LockTimeoutOption = DEFAULT_LOCK_TIMEOUT,
    password_stdin: PasswordStdinOption = False,
    concurrency: ConcurrencyOption = None,
    timeout: TimeoutOption = None,
    retries: RetriesOption = None,
    insecure: InsecureOption = False,
    ca_bundle: CaBundleOption = None,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
    output_format: FormatOption = None,
) -> None:
    """Put back what an import overwrote, from the rollback bundle it saved.

    Every item in the file is written back over its copy on the server (matched by
    UUID). Items the import created are not removed. Prints the same report as import.
    """
    start(output_format, verbose)
    profile = target_profile(server, "rollback")
    bundle = load_bundle(file_path)
    if not no_prompt and not dry_run:
        saved = bundle.provenance
        backup_note = " with no backup" if no_backup else ""
        question = (
            f"Restore {count(sum(bundle.counts.values()), 'item')} "
            f"({count(len(bundle.flows), 'flow')}) "
            f"saved from {saved.source.name or saved.source.url} at {saved.exported_at} "
            f"into {profile.name} ({profile.address}), overwriting them{backup_note}?"
        )
        if not confirm(question):
            raise Cancelled("Cancelled at the prompt: nothing was restored.")
    settings = ConnectionSettings(concurrency, timeout, insecure, ca_bundle, retries)
    with (
        connected(
            settings,
            profile,
            password_stdin=password_stdin,
            allow_prompt=not no_prompt,
            quiet=quiet,
            bundle=bundle,
        ) as session,
        interrupts_reported(),
    ):
        report = rollback(
            session.client,
            bundle,
            backup=not no_backup,
            dry_run=dry_run,
            progress=session.progress,
            lock_timeout=lock_timeout,
        )
    _answer_import(report, profile.name, verb="Restored on")


@app.command("list", epilog=EXIT_CODES_HELP)
def list_command(
    *,
    server: ServerOption = None,
    flow_ids: FlowIdsOption = None,
    tags: TagsOption = None,
    as_json: JsonOption = False,
    no_prompt: NoPromptOption = False,
    password_stdin: PasswordStdinOption = False,
    timeout: TimeoutOption = None,
    retries: RetriesOption = None,
    insecure: InsecureOption = False,
    ca_bundle: CaBundleOption = None,
    verbose: VerboseOption = False,
    output_format: FormatOption = None,
) -> None:
    """List a server's flows: a table, or JSON with --json (or --format json).

    --flow-ids/--tags select as 'ziggy flow export' does (either matches), so this shows
    what an export would start from.
    """
    start(output_format, verbose)
    ids, tag_list = split_values(flow_ids), split_values(tags)
    profile = ProfileStore().resolve(server)
    settings = ConnectionSettings(
        timeout=timeout, insecure=insecure, ca_bundle=ca_bundle, retries=retries
    )
    with connected(
        settings, profile, password_stdin=password_stdin, allow_prompt=not no_prompt
    ) as session:
        summaries = preview_selection(session.client, flow_ids=ids, tags=tag_list)
    summaries.sort(key=lambda s: (s.name.lower(), s.uuid))
    if as_json or output_format is OutputFormat.JSON:
        emit_json(status_document(200, [summary.to_dict() for summary in summaries]))
        return
    human.show_flows(summaries)  # a table even when piped: that is what list always printed
    info(f"{count(len(summaries), 'flow')} on {profile.name}.")
