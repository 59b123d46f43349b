"""Option definitions shared by several commands, declared once.

Each alias is an ``Annotated`` type, so a command states ``server: ServerOption = None``
and every command spells, documents and shortens the option the same way. The options
that shape the HTTP client are gathered into :class:`ConnectionSettings`, which builds
the :class:`~ziggy_migrate.ZiggyClient`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from ziggy_migrate import ZiggyClient

from .profiles import Profile

__all__ = [
    "EXIT_CODES_HELP",
    "CaBundleOption",
    "ConcurrencyOption",
    "ConnectionSettings",
    "FlowIdsOption",
    "InsecureOption",
    "JsonOption",
    "NoPromptOption",
    "PasswordStdinOption",
    "QuietOption",
    "ServerOption",
    "TagsOption",
    "TimeoutOption",
    "VerboseOption",
]

CONNECTION_PANEL = "Connection"

EXIT_CODES_HELP = (
    "Output: flow export and import print one JSON document {status, statusText, data} on "
    "stdout, errors included; prompts, progress and warnings go to stderr.\n\n"
    "Exit codes: 0 success; 1 some items failed (or the prompt was declined); "
    "2 bad usage or bad input file; 3 authentication or connection failure."
)

ServerOption = Annotated[
    str | None,
    typer.Option(
        "--server",
        "-s",
        metavar="NAME",
        help="Server profile to use (see 'ziggy auth --list'); the default profile if left out.",
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
        help="Never ask: no confirmation and no password prompt (for scripts and CI).",
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
    bool, typer.Option("--json", help="Print JSON for scripts instead of a table.")
]
ConcurrencyOption = Annotated[
    int,
    typer.Option(
        "--concurrency",
        min=1,
        max=64,
        metavar="N",
        help="Requests sent at once.",
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
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No progress display on stderr.")]
VerboseOption = Annotated[
    bool,
    typer.Option("--verbose", "-v", help="Log every request to stderr (secrets are redacted)."),
]


@dataclass(frozen=True)
class ConnectionSettings:
    """The client options of one command line, ready to build a client from."""

    concurrency: int = 8
    timeout: float | None = None
    insecure: bool = False
    ca_bundle: Path | None = None

    def client(self, profile: Profile, password: str) -> ZiggyClient:
        """A client for ``profile`` (the library itself warns when TLS checks are off)."""
        verify: bool | str = True
        if self.ca_bundle is not None:
            verify = str(self.ca_bundle)
        if self.insecure:
            # One warning from the library is enough; urllib3 would add one per request.
            warnings.filterwarnings("ignore", message="Unverified HTTPS request")
            verify = False
        if self.timeout is None:
            return ZiggyClient(
                profile.url,
                profile.port,
                profile.username,
                password,
                verify=verify,
                max_workers=self.concurrency,
                name=profile.name,
            )
        return ZiggyClient(
            profile.url,
            profile.port,
            profile.username,
            password,
            timeout=self.timeout,
            verify=verify,
            max_workers=self.concurrency,
            name=profile.name,
        )
