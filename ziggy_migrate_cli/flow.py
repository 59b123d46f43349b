"""``ziggy flow``: export, import, plan, diff, promote, roll back and list flows.

Each command is parse -> library call -> print: the selection, closure, matching and
writing all happen in ``ziggy_migrate``. Every command but ``list`` prints exactly one
JSON document on stdout (``{"status", "statusText", "data"}``, errors included, the latter
printed by ``main()``); prompts, progress and warnings go to stderr.

This module holds the group and the commands that move one bundle in or out of one
server (export, import, rollback, list); ``review`` holds ``plan`` and ``diff`` (reading
only), ``promote`` the server-to-server command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from ziggy_migrate import (
    FlowSummary,
    ImportPlan,
    Layout,
    export_flows,
    import_bundle,
    load_bundle,
    load_plan,
    preview_selection,
    rollback,
)

from . import promote, review
from ._argv import split_values
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
    InsecureOption,
    JsonOption,
    KeepScheduleStateOption,
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
    Progress,
    configure_logging,
    confirm,
    describe_selection,
    emit_json,
    help_to_stderr,
    info,
    status_document,
    summarise_import,
)
from .profiles import ProfileStore

__all__ = [
    "app",
    "export_command",
    "import_command",
    "list_command",
    "rollback_command",
]

app = typer.Typer(
    name="flow", help="Export, import, plan, diff, promote, roll back and list flows."
)

IMPORT_EPILOG = (
    "A saved plan (--plan, written by 'ziggy flow plan') fixes the mode and what happens to "
    "each item: a mode flag that contradicts it is a usage error (exit 2), and when any "
    "target item changed since the plan was made the import is refused, naming the items, "
    "with nothing written (status 409, exit 1). Give the plan the same bundle and the same "
    "--flow-ids/--tags it was made with.\n\n" + EXIT_CODES_HELP
)


@app.callback(invoke_without_command=True)
def flow(ctx: typer.Context) -> None:
    """Export, import, plan, diff, promote, roll back and list flows."""
    if ctx.invoked_subcommand is None:
        help_to_stderr(ctx)
        raise CliError(
            "Missing command: use 'ziggy flow export', 'import', 'plan', 'diff', 'promote', "
            "'rollback' or 'list'."
        )


FilePathExport = Annotated[
    Path,
    typer.Option(
        "--file-path",
        "--save-path",
        "-fp",
        metavar="PATH",
        help="Where to write the bundle: a JSON file, or a folder with --layout dir.",
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
    no_prompt: NoPromptOption = False,
    strict_secrets: Annotated[
        bool,
        typer.Option(
            "--strict-secrets",
            help="Refuse to export connections that hold inline credentials.",
        ),
    ] = False,
    password_stdin: PasswordStdinOption = False,
    concurrency: ConcurrencyOption = 8,
    timeout: TimeoutOption = None,
    retries: RetriesOption = None,
    insecure: InsecureOption = False,
    ca_bundle: CaBundleOption = None,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Export flows (by UUID and/or tag, or all) with everything they use into a bundle.

    Secrets travel by name only, never with their values.
    """
    configure_logging(verbose)
    ids, tag_list = split_values(flow_ids), split_values(tags)
    profile = ProfileStore().resolve(server)
    what = describe_selection(ids, tag_list)
    if not no_prompt and not confirm(
        f"Export {what} from {profile.name} ({profile.address}) into {file_path}?"
    ):
        raise Cancelled("Cancelled at the prompt: nothing was exported.")
    settings = ConnectionSettings(concurrency, timeout, insecure, ca_bundle, retries)
    progress = Progress.for_terminal(quiet=quiet)
    client = settings.connect(profile, password_stdin=password_stdin, allow_prompt=not no_prompt)
    with client:
        try:
            result = export_flows(
                client,
                flow_ids=ids or None,
                tags=tag_list or None,
                strict_secrets=strict_secrets,
                path=file_path,
                layout=layout,
                progress=progress.callback,
            )
        finally:
            progress.close()
    counts = ", ".join(f"{count} {kind}" for kind, count in result.counts.items() if count)
    info(f"Exported {counts} from {profile.name} into {result.path}.")
    emit_json(status_document(200, result.to_dict()))


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
    password_stdin: PasswordStdinOption = False,
    concurrency: ConcurrencyOption = 8,
    timeout: TimeoutOption = None,
    retries: RetriesOption = None,
    insecure: InsecureOption = False,
    ca_bundle: CaBundleOption = None,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Import a bundle into a server, choosing one mode: --skip, --duplicate or --overwrite
    (or --plan PLAN, which carries its mode).

    --flow-ids/--tags import only those flows of the bundle, with what they need. The
    bundle is checked before the server is contacted; a backup of the server's database
    is made first unless --no-backup is given. Schedules the import creates are created
    paused unless --keep-schedule-state is given. What each item became is recorded in
    the binding file (--bindings; for a bundle folder, bindings/SERVER.json inside it).
    """
    configure_logging(verbose)
    profile = target_profile(server, "import")
    mode = chosen_mode(skip=skip, duplicate=duplicate, overwrite=overwrite)
    saved_plan: ImportPlan | None = None
    if plan is not None:
        saved_plan = load_plan(plan)
        planned = saved_plan.mode
        if mode is not None and mode is not planned:
            raise CliError(
                f"The plan {plan} was made with --{planned.value}, not --{mode.value}: "
                "leave the mode out, or make a new plan."
            )
        mode = None  # the plan carries it
        how = f"the plan {plan} (--{planned.value})"
    elif mode is None:
        raise CliError(
            "Choose exactly one import mode: --skip, --duplicate or --overwrite (or apply a "
            "saved plan with --plan)."
        )
    else:
        how = f"--{mode.value}"
    bundle = read_selected_bundle(file_path, flow_ids, tags)
    if not no_prompt and not dry_run:
        backup_note = " and no backup" if no_backup else ""
        question = (
            f"Import {len(bundle.flows)} flow(s) into {profile.name} ({profile.address}) "
            f"with {how}{backup_note}?"
        )
        if not confirm(question):
            raise Cancelled("Cancelled at the prompt: nothing was imported.")
    settings = ConnectionSettings(concurrency, timeout, insecure, ca_bundle, retries)
    progress = Progress.for_terminal(quiet=quiet)
    client = settings.connect(profile, password_stdin=password_stdin, allow_prompt=not no_prompt)
    with client:
        try:
            report = import_bundle(
                client,
                bundle,
                mode=mode,
                plan=saved_plan,
                backup=not no_backup,
                dry_run=dry_run,
                progress=progress.callback,
                bindings=bindings_file(file_path, profile.name, bindings),
                keep_schedule_state=keep_schedule_state,
            )
        finally:
            progress.close()
    summarise_import(report, server=profile.name)
    emit_json(report.to_dict())
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
    password_stdin: PasswordStdinOption = False,
    concurrency: ConcurrencyOption = 8,
    timeout: TimeoutOption = None,
    retries: RetriesOption = None,
    insecure: InsecureOption = False,
    ca_bundle: CaBundleOption = None,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Put back what an import overwrote, from the rollback bundle it saved.

    Every item in the file is written back over its copy on the server (matched by
    UUID). Items the import created are not removed. Prints the same report as import.
    """
    configure_logging(verbose)
    profile = target_profile(server, "rollback")
    bundle = load_bundle(file_path)
    if not no_prompt and not dry_run:
        saved = bundle.provenance
        backup_note = " with no backup" if no_backup else ""
        question = (
            f"Restore {sum(bundle.counts.values())} item(s) ({len(bundle.flows)} flow(s)) "
            f"saved from {saved.source.name or saved.source.url} at {saved.exported_at} "
            f"into {profile.name} ({profile.address}), overwriting them{backup_note}?"
        )
        if not confirm(question):
            raise Cancelled("Cancelled at the prompt: nothing was restored.")
    settings = ConnectionSettings(concurrency, timeout, insecure, ca_bundle, retries)
    progress = Progress.for_terminal(quiet=quiet)
    client = settings.connect(profile, password_stdin=password_stdin, allow_prompt=not no_prompt)
    with client:
        try:
            report = rollback(
                client, bundle, backup=not no_backup, dry_run=dry_run, progress=progress.callback
            )
        finally:
            progress.close()
    summarise_import(report, server=profile.name, verb="Restored on")
    emit_json(report.to_dict())
    if not report.ok:
        raise typer.Exit(1)


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
) -> None:
    """List a server's flows: a table for people, --json for scripts.

    --flow-ids/--tags select as 'ziggy flow export' does (either matches), so this shows
    what an export would start from.
    """
    configure_logging(verbose)
    ids, tag_list = split_values(flow_ids), split_values(tags)
    profile = ProfileStore().resolve(server)
    settings = ConnectionSettings(
        timeout=timeout, insecure=insecure, ca_bundle=ca_bundle, retries=retries
    )
    client = settings.connect(profile, password_stdin=password_stdin, allow_prompt=not no_prompt)
    with client:
        summaries = preview_selection(client, flow_ids=ids, tags=tag_list)
    summaries.sort(key=lambda s: (s.name.lower(), s.uuid))
    if as_json:
        emit_json(status_document(200, [_summary_dict(s) for s in summaries]))
        return
    _print_table(summaries)


def _summary_dict(summary: FlowSummary) -> dict[str, Any]:
    """A flow summary in the server's own camelCase shape."""
    return {
        "uuid": summary.uuid,
        "name": summary.name,
        "listenerType": summary.listener_type,
        "isSubflow": summary.is_subflow,
        "tags": list(summary.tags),
        "updatedAt": summary.updated_at,
    }


def _print_table(summaries: list[FlowSummary]) -> None:
    headers = ("UUID", "NAME", "LISTENER", "SUBFLOW", "TAGS")
    table = [
        (s.uuid, s.name, s.listener_type, "yes" if s.is_subflow else "", ", ".join(s.tags))
        for s in summaries
    ]
    widths = [max(len(r[i]) for r in [headers, *table]) for i in range(len(headers))]
    for line in [headers, *table]:
        typer.echo("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip())
    typer.echo(f"{len(summaries)} flow(s)", err=True)
