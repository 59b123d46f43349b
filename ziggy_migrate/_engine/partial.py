"""What an import raises when it stops after it has written: always with its report.

Once an import has written to the target, losing its report would leave the operator
guessing what happened (which items are new, which were overwritten, where the rollback
bundle is). So whatever stops it from then on — a server that fails a later request, a
local file that cannot be written, a bug, Ctrl-C — reaches the caller as one of these two,
carrying the :class:`ImportReport` of what was done: items done, items not done (with the
reason in ``error``), ``rollback_path``. The original exception is the ``__cause__``.

An interrupt stays a :class:`KeyboardInterrupt` (:class:`ImportInterrupted`), so that
code catching ``ZiggyError`` or ``Exception`` never swallows a Ctrl-C by accident.
"""

from __future__ import annotations

from .._vocabulary.errors import ZiggyError
from .report import ImportReport

__all__ = ["INTERRUPTED_NOTE", "ImportIncompleteError", "ImportInterrupted"]

INTERRUPTED_NOTE = "run the same command again to complete it"
"""What to do after an interrupted import: the journal lets a re-run finish the work."""


class ImportIncompleteError(ZiggyError):
    """The import wrote to the target, then failed; ``report`` is what it did.

    ``cause`` is the failure (also the ``__cause__``): a :class:`ZiggyError` for a server
    or file problem, anything else for a bug.
    """

    def __init__(self, message: str, *, report: ImportReport, cause: BaseException) -> None:
        super().__init__(message)
        self.report = report
        self.cause = cause


class ImportInterrupted(KeyboardInterrupt):
    """The import was interrupted (Ctrl-C) after it had started writing.

    ``report`` is what it did up to there: items not yet written are reported with
    ``is_processed`` false and say so in ``error``. Running the same import again
    completes it (the journal tells the re-run which items this one was creating).
    """

    def __init__(self, report: ImportReport) -> None:
        super().__init__(f"the import into {report.target_url} was interrupted; {INTERRUPTED_NOTE}")
        self.report = report
