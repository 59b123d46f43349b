"""``ziggy flow plan`` and ``ziggy flow diff``: look before you write (both only read).

``plan`` decides, per bundle item, what an import into one server would do and saves
that decision as a plan file, to review (in a pull request, a ticket) and then apply
with ``ziggy flow import --plan``. ``diff`` shows what differs, item by item and field by
field, between a bundle and a server or between two bundles.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer

from ziggy_migrate import (
    diff_bundles,
    diff_with_server,
    load_bundle,
    plan_import,
    save_plan,
)

from . import human
from ._argv import split_values
from .options import (
    EXIT_CODES_HELP,
    BindingsOption,
    BundlePathOption,
    CaBundleOption,
    ConnectionSettings,
    DuplicateOption,
    FlowIdsOption,
    FormatOption,
    InsecureOption,
    NoPromptOption,
    OverwriteOption,
    PasswordStdinOption,
    RetriesOption,
    SkipOption,
    TagsOption,
    TimeoutOption,
    VerboseOption,
    bindings_file,
    read_selected_bundle,
    required_mode,
    target_profile,
)
from .output import CliError, answer, start, status_document
from .profiles import ProfileStore
from .session import connected

__all__ = ["DIFF_EPILOG", "PLAN_EPILOG", "diff_command", "plan_command"]

PLAN_EPILOG = (
    "data: {planPath, summary, items, warnings}; summary counts the items per action "
    "(CREATE, LEAVE, RENAME, OVERWRITE, AMBIGUOUS).\n\n" + EXIT_CODES_HELP
)
DIFF_EPILOG = (
    "data: {summary, changes}; each change is {kind, name, change: added|removed|changed, "
    "fields, oldUuid, newUuid}. The base (old side) is the server, or the --against bundle; "
    "UUIDs are not compared, and references are compared by the name of what they point "
    "at.\n\n" + EXIT_CODES_HELP
)


def plan_command(
    *,
    file_path: BundlePathOption,
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            metavar="PLAN",
            dir_okay=False,
            help="Where to write the plan (JSON), for 'ziggy flow import --plan PLAN'.",
            show_default=False,
        ),
    ],
    server: Annotated[
        str | None,
        typer.Option(
            "--server",
            "-s",
            metavar="NAME",
            help="Server profile the plan is for (required, even when a default is set).",
            show_default=False,
        ),
    ] = None,
    skip: SkipOption = False,
    duplicate: DuplicateOption = False,
    overwrite: OverwriteOption = False,
    flow_ids: FlowIdsOption = None,
    tags: TagsOption = None,
    bindings: BindingsOption = None,
    no_prompt: NoPromptOption = False,
    password_stdin: PasswordStdinOption = False,
    timeout: TimeoutOption = None,
    retries: RetriesOption = None,
    insecure: InsecureOption = False,
    ca_bundle: CaBundleOption = None,
    verbose: VerboseOption = False,
    output_format: FormatOption = None,
) -> None:
    """Save what importing a bundle would do, item by item, without writing to the server.

    Per item the plan holds the action, the match, the target's UUID and a fingerprint
    of the target item as it is now; 'ziggy flow import --plan PLAN' applies exactly that,
    or refuses if the target changed in between.
    """
    start(output_format, verbose)
    profile = target_profile(server, "plan")
    mode = required_mode(skip=skip, duplicate=duplicate, overwrite=overwrite)
    bundle = read_selected_bundle(file_path, flow_ids, tags)
    settings = ConnectionSettings(
        timeout=timeout, insecure=insecure, ca_bundle=ca_bundle, retries=retries
    )
    with connected(
        settings, profile, password_stdin=password_stdin, allow_prompt=not no_prompt
    ) as session:
        plan = plan_import(
            session.client,
            bundle,
            mode=mode,
            bindings=bindings_file(file_path, profile.name, bindings),
        )
    path = save_plan(plan, out)
    selection = "".join(
        f" {flag} {' '.join(shlex.quote(value) for value in values)}"
        for flag, values in (("--flow-ids", split_values(flow_ids)), ("--tags", split_values(tags)))
        if values
    )
    apply_with = (
        f"ziggy flow import --server {profile.name} --file-path "
        f"{shlex.quote(str(file_path))}{selection} --plan {shlex.quote(str(path))}"
    )
    answer(
        status_document(200, plan.summary_dict(path)),
        lambda: human.show_plan(plan, profile.name, path, apply_with),
        summary=f"{human.plan_summary(plan, profile.name, path)} Apply it with: {apply_with}",
        warnings=plan.warnings,
    )


def diff_command(
    *,
    file_path: Annotated[
        Path,
        typer.Option(
            "--file-path",
            "-fp",
            metavar="PATH",
            help="The bundle to compare (the new side): a file or a bundle folder.",
            show_default=False,
        ),
    ],
    server: Annotated[
        str | None,
        typer.Option(
            "--server",
            "-s",
            metavar="NAME",
            help="Compare with this server (the base); its flows matching the bundle's.",
            show_default=False,
        ),
    ] = None,
    against: Annotated[
        Path | None,
        typer.Option(
            "--against",
            metavar="PATH",
            help="Compare with this bundle instead (the base, e.g. the version in git).",
            show_default=False,
        ),
    ] = None,
    exit_code: Annotated[
        bool,
        typer.Option("--exit-code", help="Exit 1 when there are differences (like git diff)."),
    ] = False,
    no_prompt: NoPromptOption = False,
    password_stdin: PasswordStdinOption = False,
    timeout: TimeoutOption = None,
    retries: RetriesOption = None,
    insecure: InsecureOption = False,
    ca_bundle: CaBundleOption = None,
    verbose: VerboseOption = False,
    output_format: FormatOption = None,
) -> None:
    """Show what differs between a bundle and a server (--server) or another bundle
    (--against): items added, removed or changed, with the changed fields.
    """
    start(output_format, verbose)
    if (server is None) == (against is None):
        raise CliError(
            "Give the base to compare with: " + ("not both." if server else "none was given."),
            hint="Compare with exactly one of --server NAME or --against PATH.",
        )
    new = load_bundle(file_path)
    if against is not None:
        diff = diff_bundles(load_bundle(against), new)
        base = str(against)
    else:
        profile = ProfileStore().resolve(server)  # given: exactly one of the two is
        settings = ConnectionSettings(
            timeout=timeout, insecure=insecure, ca_bundle=ca_bundle, retries=retries
        )
        with connected(
            settings, profile, password_stdin=password_stdin, allow_prompt=not no_prompt
        ) as session:
            diff = diff_with_server(session.client, new)
        base = profile.name
    answer(
        status_document(200, diff.to_dict()),
        lambda: human.show_diff(diff, str(file_path), base),
        summary=human.diff_summary(diff, str(file_path), base),
    )
    if exit_code and diff.has_differences:
        raise typer.Exit(1)
