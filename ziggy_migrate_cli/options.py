"""Option definitions shared by several commands, declared once.

Each alias is an ``Annotated`` type, so a command states ``server: ServerOption = None``
and every command spells, documents and shortens the option the same way. The options
that shape the HTTP client are gathered into :class:`ConnectionSettings`, which builds
the :class:`~ziggy_migrate.ZiggyClient`; the three import modes are read by
:func:`chosen_mode`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, TypedDict

import typer

from ziggy_migrate import (
    Bundle,
    ImportMode,
    RetryCallback,
    RetryPolicy,
    ZiggyClient,
    load_bundle,
    select_flows,
)

from . import credentials
from ._argv import split_values
from .output import CliError, OutputFormat
from .profiles import Profile, ProfileStore

__all__ = [
    "EXIT_CODES_HELP",
    "BindingsOption",
    "BundlePathOption",
    "CaBundleOption",
    "ConcurrencyOption",
    "ConnectionSettings",
    "DryRunOption",
    "DuplicateOption",
    "FlowIdsOption",
    "FormatOption",
    "InsecureOption",
    "JsonOption",
    "KeepScheduleStateOption",
    "LockTimeoutOption",
    "NoBackupOption",
    "NoPromptOption",
    "OverwriteOption",
    "PasswordStdinOption",
    "QuietOption",
    "RetriesOption",
    "ServerOption",
    "SkipOption",
    "TagsOption",
    "TargetServerOption",
    "TimeoutOption",
    "VerboseOption",
    "bindings_file",
    "chosen_mode",
    "read_selected_bundle",
    "required_mode",
    "target_profile",
]

CONNECTION_PANEL = "Connection"

EXIT_CODES_HELP = (
    "Output: --format human prints an account for people, --format json one JSON document "
    "{status, statusText, data} (errors included); the default, auto, is human on a "
    "terminal and JSON otherwise (ZIGGY_FORMAT sets it too). Prompts, progress, warnings "
    "and errors (error: and hint: lines) go to stderr.\n\n"
    "Exit codes: 0 success; 1 some items failed (or the prompt was declined, a saved plan "
    "no longer holds, another import into the server is running, an export selected no "
    "flow, or diff --exit-code found differences); 2 bad usage or bad input file; "
    "3 authentication or connection failure; 130 interrupted (an import still prints "
    "what it wrote)."
)

FormatOption = Annotated[
    OutputFormat | None,
    typer.Option(
        "--format",
        case_sensitive=False,
        metavar="auto|human|json",
        help="human: an account for people; json: the document for scripts; auto (the "
        "default, or $ZIGGY_FORMAT): human on a terminal, JSON otherwise.",
        show_default=False,
    ),
]

ServerOption = Annotated[
    str | None,
    typer.Option(
        "--server",
        "-s",
        metavar="NAME",
        help="Server profile to use (see 'ziggy auth --list'); if left out, $ZIGGY_SERVER, "
        "else the default profile.",
        envvar="ZIGGY_SERVER",
        show_envvar=False,
        show_default=False,
    ),
]
TargetServerOption = Annotated[
    str | None,
    typer.Option(
        "--server",
        "-s",
        metavar="NAME",
        help="Server profile to write to (required, even when a default is set).",
        show_default=False,
    ),
]
BundlePathOption = Annotated[
    Path,
    typer.Option(
        "--file-path",
        "-fp",
        metavar="PATH",
        help="The bundle: a file, or a folder written with 'ziggy flow export --layout dir'.",
        show_default=False,
    ),
]
FlowIdsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--flow-ids",
        "-f",
        metavar="UUID...",
        help="Flow UUIDs, space- or comma-separated, or the flag repeated.",
        show_default=False,
    ),
]
TagsOption = Annotated[
    list[str] | None,
    typer.Option(
        "--tags",
        "-t",
        metavar="TAG...",
        help="Flow tags (a flow with any of them is selected), space- or comma-separated.",
        show_default=False,
    ),
]
NoPromptOption = Annotated[
    bool,
    typer.Option(
        "--no-prompt",
        help="Never ask: no confirmation and no password prompt (for scripts and CI; "
        "ZIGGY_NO_PROMPT=1 does the same).",
        envvar="ZIGGY_NO_PROMPT",
        show_envvar=False,
    ),
]
PasswordStdinOption = Annotated[
    bool,
    typer.Option(
        "--password-stdin",
        help="Read the password from stdin instead of the environment or keyring.",
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print JSON for scripts instead of a table (--format json).")
]
ConcurrencyOption = Annotated[
    int | None,
    typer.Option(
        "--concurrency",
        min=1,
        max=64,
        metavar="N",
        help="Send N requests at once (default: adapt to the server, from 8 up to 64).",
        show_default=False,
        rich_help_panel=CONNECTION_PANEL,
    ),
]
TimeoutOption = Annotated[
    float | None,
    typer.Option(
        "--timeout",
        min=0.1,
        metavar="SECONDS",
        help="Give up on a request after this many seconds (default: 10 to connect, 60 to read).",
        show_default=False,
        rich_help_panel=CONNECTION_PANEL,
    ),
]
InsecureOption = Annotated[
    bool,
    typer.Option(
        "--insecure",
        help="Do not check the server's TLS certificate (unsafe; prefer --ca-bundle).",
        rich_help_panel=CONNECTION_PANEL,
    ),
]
CaBundleOption = Annotated[
    Path | None,
    typer.Option(
        "--ca-bundle",
        exists=True,
        dir_okay=False,
        metavar="PATH",
        help="Check the server's TLS certificate against this CA bundle (PEM).",
        show_default=False,
        rich_help_panel=CONNECTION_PANEL,
    ),
]
RetriesOption = Annotated[
    int | None,
    typer.Option(
        "--retries",
        min=0,
        max=20,
        metavar="N",
        help="Try a failed safe request (GET/PUT/DELETE) again up to N times "
        f"(default: {RetryPolicy().attempts - 1}); 0 never retries.",
        show_default=False,
        rich_help_panel=CONNECTION_PANEL,
    ),
]
SkipOption = Annotated[
    bool, typer.Option("--skip", help="Leave items that already exist untouched.")
]
DuplicateOption = Annotated[
    bool, typer.Option("--duplicate", help="Import existing items as renamed copies.")
]
OverwriteOption = Annotated[
    bool, typer.Option("--overwrite", help="Replace existing items with the bundle's.")
]
NoBackupOption = Annotated[
    bool,
    typer.Option("--no-backup", help="Skip the server's database backup before writing."),
]
DryRunOption = Annotated[
    bool,
    typer.Option("--dry-run", help="Show what would happen; write nothing (no prompt)."),
]
BindingsOption = Annotated[
    Path | None,
    typer.Option(
        "--bindings",
        metavar="PATH",
        dir_okay=False,
        help="The binding file of the target server: which target item each source item "
        "became, so that items renamed on the source are found (default: "
        "bindings/SERVER.json inside a bundle folder, else in the state folder).",
        show_default=False,
    ),
]
KeepScheduleStateOption = Annotated[
    bool,
    typer.Option(
        "--keep-schedule-state",
        help="Create schedules paused or running as on the source (default: created "
        "paused, and listed in data.schedulesPaused to switch on).",
    ),
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar on stderr.")]
VerboseOption = Annotated[
    bool,
    typer.Option("--verbose", "-v", help="Log every request to stderr (secrets are redacted)."),
]


def target_profile(server: str | None, command: str) -> Profile:
    """The profile named by a --server that writes: never the default, so never by accident."""
    if server is None:
        raise CliError(
            f"'ziggy flow {command}' writes to a server and none was named.",
            hint="Pass --server NAME: a command that writes never falls back to the default "
            "server or $ZIGGY_SERVER.",
        )
    return ProfileStore().get(server)


def read_selected_bundle(path: Path, flow_ids: list[str] | None, tags: list[str] | None) -> Bundle:
    """Load (and check) a bundle file or folder, keeping only the selected flows.

    Both happen before any server is contacted, so a broken bundle or a selection the
    bundle cannot satisfy costs no request.
    """
    return select_flows(
        load_bundle(path), flow_ids=split_values(flow_ids) or None, tags=split_values(tags) or None
    )


def bindings_file(bundle: Path, server: str, given: Path | None) -> Path | None:
    """``--bindings``, else ``bindings/SERVER.json`` inside a bundle folder (committed with
    it), else None: the library's default, in the state folder."""
    if given is not None:
        return given
    return bundle / "bindings" / f"{server}.json" if bundle.is_dir() else None


def required_mode(*, skip: bool, duplicate: bool, overwrite: bool) -> ImportMode:
    """The one mode flag given; none is a usage error."""
    mode = chosen_mode(skip=skip, duplicate=duplicate, overwrite=overwrite)
    if mode is None:
        raise CliError(
            "No import mode was given.",
            hint="Choose exactly one import mode: --skip, --duplicate or --overwrite.",
        )
    return mode


def chosen_mode(*, skip: bool, duplicate: bool, overwrite: bool) -> ImportMode | None:
    """The one mode flag given (None when there is none); two or more is a usage error."""
    modes = [
        mode
        for mode, chosen in (
            (ImportMode.SKIP, skip),
            (ImportMode.DUPLICATE, duplicate),
            (ImportMode.OVERWRITE, overwrite),
        )
        if chosen
    ]
    if len(modes) > 1:
        raise CliError(
            f"Two import modes were given: {' and '.join('--' + m.value for m in modes)}.",
            hint="Choose exactly one import mode: --skip, --duplicate or --overwrite.",
        )
    return modes[0] if modes else None


@dataclass(frozen=True)
class ConnectionSettings:
    """The client options of one command line, ready to build a client from."""

    concurrency: int | None = None  # None: adapt to the server
    timeout: float | None = None
    insecure: bool = False
    ca_bundle: Path | None = None
    retries: int | None = None

    def connect(
        self,
        profile: Profile,
        *,
        password_stdin: bool,
        allow_prompt: bool,
        on_retry: RetryCallback | None = None,
    ) -> ZiggyClient:
        """A client for ``profile``, its password found in the documented order."""
        stdin_password = credentials.read_password_stdin() if password_stdin else None
        password = credentials.resolve_password(
            profile.name, profile.username, stdin_password=stdin_password, allow_prompt=allow_prompt
        )
        return self.client(profile, password, on_retry=on_retry)

    def client(
        self, profile: Profile, password: str, *, on_retry: RetryCallback | None = None
    ) -> ZiggyClient:
        """A client for ``profile`` (the library itself warns when TLS checks are off);
        ``on_retry`` hears of each retry (the progress display shows it)."""
        verify: bool | str = True
        if self.ca_bundle is not None:
            verify = str(self.ca_bundle)
        if self.insecure:
            # One warning from the library is enough; urllib3 would add one per request.
            warnings.filterwarnings("ignore", message="Unverified HTTPS request")
            verify = False
        timeout: _Timeout = {} if self.timeout is None else {"timeout": self.timeout}
        return ZiggyClient(
            profile.url,
            profile.port,
            profile.username,
            password,
            verify=verify,
            retry=self.retry_policy,
            max_workers=self.concurrency,
            name=profile.name,
            on_retry=on_retry,
            **timeout,
        )

    @property
    def retry_policy(self) -> RetryPolicy | None:
        """The policy --retries asks for (None: the library's default)."""
        return None if self.retries is None else RetryPolicy(attempts=self.retries + 1)


class _Timeout(TypedDict, total=False):
    """--timeout when given; left out, the client keeps its own default."""

    timeout: float


LockTimeoutOption = Annotated[
    float,
    typer.Option(
        "--lock-timeout",
        min=0,
        metavar="SECONDS",
        help="While another import into the same server runs on this machine, wait up to "
        "this long for it, then give up writing nothing (exit 1); 0 does not wait.",
    ),
]
