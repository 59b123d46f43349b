"""``ziggy flow``: export flows to a bundle file, import a bundle, list a server's flows.

Each command is parse -> library call -> print: the selection, closure, matching and
writing all happen in ``ziggy_migrate``. Export and import print exactly one JSON
document on stdout (``{"status", "statusText", "data"}``, errors included, the latter
printed by ``main()``); prompts, progress and warnings go to stderr.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer

from ziggy_migrate import (
    FlowSummary,
    ImportMode,
    ZiggyClient,
    export_flows,
    import_bundle,
    load_bundle,
)

from . import credentials
from ._argv import split_values
from .options import (
    EXIT_CODES_HELP,
    CaBundleOption,
    ConcurrencyOption,
    ConnectionSettings,
    FlowIdsOption,
    InsecureOption,
    JsonOption,
    NoPromptOption,
    PasswordStdinOption,
    QuietOption,
    ServerOption,
    TagsOption,
    TimeoutOption,
    VerboseOption,
)
from .output import (
    CliError,
    Progress,
    configure_logging,
    confirm,
    emit_json,
    help_to_stderr,
    info,
    status_document,
    warn,
)
from .profiles import Profile, ProfileStore

__all__ = ["app", "export_command", "import_command", "list_command"]

app = typer.Typer(name="flow", help="Export, import and list flows.")


class Cancelled(CliError):
    """The user answered no at the confirmation prompt (nothing was done)."""

    exit_code = 1


@app.callback(invoke_without_command=True)
def flow(ctx: typer.Context) -> None:
    """Export, import and list flows."""
    if ctx.invoked_subcommand is None:
        help_to_stderr(ctx)
        raise CliError("Missing command: use 'ziggy flow export', 'import' or 'list'.")


def _open_client(
    profile: Profile,
    settings: ConnectionSettings,
    *,
    password_stdin: bool,
    allow_prompt: bool,
) -> ZiggyClient:
    stdin_password = credentials.read_password_stdin() if password_stdin else None
    password = credentials.resolve_password(
        profile.name, profile.username, stdin_password=stdin_password, allow_prompt=allow_prompt
    )
    return settings.client(profile, password)


def _describe_selection(flow_ids: list[str], tags: list[str]) -> str:
    parts = []
    if flow_ids:
        parts.append(f"{len(flow_ids)} flow(s) by UUID")
    if tags:
        parts.append("flows tagged " + ", ".join(repr(tag) for tag in tags))
    return " and ".join(parts) if parts else "all flows"


FilePathExport = Annotated[
    Path,
    typer.Option(
        "--file-path",
        "--save-path",
        "-fp",
        metavar="PATH",
        dir_okay=False,
        help="Where to write the bundle (JSON).",
        show_default=False,
    ),
]
FilePathImport = Annotated[
    Path,
    typer.Option(
        "--file-path",
        "-fp",
        metavar="PATH",
        dir_okay=False,
        help="The bundle to import (written by 'ziggy flow export').",
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
    what = _describe_selection(ids, tag_list)
    if not no_prompt and not confirm(
        f"Export {what} from {profile.name} ({profile.address}) into {file_path}?"
    ):
        raise Cancelled("Cancelled at the prompt: nothing was exported.")
    settings = ConnectionSettings(concurrency, timeout, insecure, ca_bundle)
    progress = Progress.for_terminal(quiet=quiet)
    with _open_client(
        profile, settings, password_stdin=password_stdin, allow_prompt=not no_prompt
    ) as client:
        try:
            result = export_flows(
                client,
                flow_ids=ids or None,
                tags=tag_list or None,
                strict_secrets=strict_secrets,
                path=file_path,
                progress=progress.callback,
            )
        finally:
            progress.close()
    counts = ", ".join(f"{count} {kind}" for kind, count in result.counts.items() if count)
    info(f"Exported {counts} from {profile.name} into {result.path}.")
    emit_json(status_document(200, result.to_dict()))


@app.command("import", epilog=EXIT_CODES_HELP)
def import_command(
    *,
    file_path: FilePathImport,
    server: Annotated[
        str | None,
        typer.Option(
            "--server",
            "-s",
            metavar="NAME",
            help="Server profile to import into (required, even when a default is set).",
            show_default=False,
        ),
    ] = None,
    skip: Annotated[
        bool, typer.Option("--skip", help="Leave flows that already exist untouched.")
    ] = False,
    duplicate: Annotated[
        bool,
        typer.Option("--duplicate", help="Import existing flows as renamed copies."),
    ] = False,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace existing flows with the bundle's.")
    ] = False,
    no_prompt: NoPromptOption = False,
    no_backup: Annotated[
        bool,
        typer.Option("--no-backup", help="Skip the server's database backup before writing."),
    ] = False,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Show what would happen; write nothing (no prompt)."),
    ] = False,
    password_stdin: PasswordStdinOption = False,
    concurrency: ConcurrencyOption = 8,
    timeout: TimeoutOption = None,
    insecure: InsecureOption = False,
    ca_bundle: CaBundleOption = None,
    quiet: QuietOption = False,
    verbose: VerboseOption = False,
) -> None:
    """Import a bundle into a server, choosing one mode: --skip, --duplicate or --overwrite.

    The bundle is checked before the server is contacted; a backup of the server's
    database is made first unless --no-backup is given.
    """
    configure_logging(verbose)
    if server is None:
        raise CliError(
            "'ziggy flow import' needs --server NAME, even when a default server is set, "
            "so that a bundle is never loaded into the wrong server."
        )
    modes = [
        mode
        for mode, chosen in (
            (ImportMode.SKIP, skip),
            (ImportMode.DUPLICATE, duplicate),
            (ImportMode.OVERWRITE, overwrite),
        )
        if chosen
    ]
    if len(modes) != 1:
        raise CliError(
            "Choose exactly one import mode: --skip, --duplicate or --overwrite"
            + (f" (got {' and '.join('--' + m.value for m in modes)})." if modes else ".")
        )
    mode = modes[0]
    profile = ProfileStore().get(server)
    bundle = load_bundle(file_path)
    if not no_prompt and not dry_run:
        backup_note = " and no backup" if no_backup else ""
        question = (
            f"Import {len(bundle.flows)} flow(s) into {profile.name} ({profile.address}) "
            f"with --{mode.value}{backup_note}?"
        )
        if not confirm(question):
            raise Cancelled("Cancelled at the prompt: nothing was imported.")
    settings = ConnectionSettings(concurrency, timeout, insecure, ca_bundle)
    progress = Progress.for_terminal(quiet=quiet)
    with _open_client(
        profile, settings, password_stdin=password_stdin, allow_prompt=not no_prompt
    ) as client:
        try:
            report = import_bundle(
                client,
                bundle,
                mode=mode,
                backup=not no_backup,
                dry_run=dry_run,
                progress=progress.callback,
            )
        finally:
            progress.close()
    for name in report.secrets_needing_values:
        warn(f"secret {name!r} has no value on {profile.name}: set it in Ziggy.")
    outcomes = Counter(item.result.value.lower() for item in report.items)
    info(
        ("Dry run, nothing written: " if dry_run else f"Imported into {profile.name}: ")
        + (", ".join(f"{n} {result}" for result, n in sorted(outcomes.items())) or "nothing")
        + "."
    )
    emit_json(report.to_dict())
    if not report.ok:
        info(f"{len(report.failed)} item(s) failed; see 'error' in the report.")
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
    insecure: InsecureOption = False,
    ca_bundle: CaBundleOption = None,
    verbose: VerboseOption = False,
) -> None:
    """List a server's flows: a table for people, --json for scripts."""
    configure_logging(verbose)
    ids, tag_list = split_values(flow_ids), split_values(tags)
    profile = ProfileStore().resolve(server)
    settings = ConnectionSettings(timeout=timeout, insecure=insecure, ca_bundle=ca_bundle)
    with _open_client(
        profile, settings, password_stdin=password_stdin, allow_prompt=not no_prompt
    ) as client:
        if ids:
            found = {
                summary.uuid: summary
                for flow_id in ids
                for summary in client.list_flows(flow_id=flow_id, tags=tag_list)
            }
            summaries = list(found.values())
        else:
            summaries = client.list_flows(tags=tag_list)
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
