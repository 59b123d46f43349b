"""The one way a command talks to servers: connect, show progress, clean up.

Every command that reaches a server does the same three things: find each profile's
password (before the first request, so a prompt never interrupts a progress display),
open a client, and show progress on stderr while the library works; whatever happens,
the progress display is cleared and the clients are closed. :func:`connected` does all
of it, so a command is ``with connected(...) as session: library_call(session.client,
progress=session.progress)``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from ziggy_migrate import (
    Bundle,
    ImportInterrupted,
    ImportReport,
    ItemKind,
    ProgressCallback,
    ZiggyClient,
)

from .options import ConnectionSettings
from .output import CliError
from .profiles import Profile
from .progress import ProgressDisplay

__all__ = ["InterruptedImport", "Session", "connected", "interrupts_reported"]


@dataclass(frozen=True)
class Session:
    """The open clients, in the order their profiles were given, and the progress callback
    to hand the library (None when nothing is shown)."""

    clients: tuple[ZiggyClient, ...]
    progress: ProgressCallback | None

    @property
    def client(self) -> ZiggyClient:
        """The first (for most commands, the only) client."""
        return self.clients[0]


@contextmanager
def connected(
    settings: ConnectionSettings,
    *profiles: Profile,
    password_stdin: bool = False,
    allow_prompt: bool = True,
    quiet: bool = True,
    bundle: Bundle | None = None,
) -> Iterator[Session]:
    """Clients for ``profiles`` and, unless ``quiet`` or stderr is no terminal, a progress
    display; both are closed when the block ends, however it ends.

    ``password_stdin`` reads one password from stdin, so it serves one profile only.
    ``bundle``, for an import, gives each phase of the progress display its total.
    """
    if password_stdin and len(profiles) != 1:
        raise ValueError("--password-stdin can carry the password of one server only")
    with ExitStack() as stack:
        progress = ProgressDisplay.for_terminal(
            quiet=quiet,
            label=f"connecting to {', '.join(profile.name for profile in profiles)}",
            phase_totals=None
            if bundle is None
            else {kind.value: len(bundle.items(kind)) for kind in ItemKind},
        )
        clients = tuple(
            stack.enter_context(
                settings.connect(
                    profile,
                    password_stdin=password_stdin,
                    allow_prompt=allow_prompt,
                    on_retry=progress.on_retry,
                )
            )
            for profile in profiles
        )
        stack.enter_context(progress)
        yield Session(clients, progress.callback)


class InterruptedImport(CliError):
    """Ctrl-C during an import or a rollback: ``main()`` prints ``report`` (what was
    written up to there; None when nothing was) with status 499, and exits 130."""

    status = 499
    exit_code = 130
    default_hint = "Run the same command again to complete it."

    def __init__(self, report: ImportReport | None) -> None:
        done = "nothing was written" if report is None else "the report lists what was written"
        super().__init__(f"Interrupted: {done}; run the same command again to complete it.")
        self.report = report


@contextlib.contextmanager
def interrupts_reported() -> Iterator[None]:
    """Ctrl-C during an import or a rollback becomes :class:`InterruptedImport`, which
    ``main()`` reports with what was written so far. (A failure after the writes began,
    ``ImportIncompleteError``, carries its report to ``main()`` as it is.)"""
    try:
        yield
    except ImportInterrupted as stopped:
        raise InterruptedImport(stopped.report) from None
    except KeyboardInterrupt:
        raise InterruptedImport(None) from None
