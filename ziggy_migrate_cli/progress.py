"""The progress bar on stderr: one bar per phase, counts, rate and time left.

The library calls ``progress(done, total, what)`` from its worker threads, ``what`` being
``"<kind> <name>"`` (``flow Sync orders``). Each kind is a phase of the work (an import
writes secrets, then connections, ..., then flows), and each phase gets its own bar with
its name ellipsised to fit the terminal. A bar for "connecting" is shown until the first
item is done, so a slow or failing server is never silence.

While a request waits to be tried again, a line above the bars says so: ``retrying GET
/api/flow (attempt 2 of 5)``, from the client's ``on_retry`` hook. The library also logs
each retry as a warning; while the bars are drawn those lines are held back, since the
line above the bars says the same (without a display, they are what stderr shows).

The display is rich's, transient (gone when the work ends) and as wide as the terminal.
It is only drawn when stderr is a terminal that can move its cursor (not ``TERM=dumb``)
and ``--quiet`` was not given; otherwise :attr:`ProgressDisplay.callback` is None and the
library is handed no callback at all.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from types import TracebackType
from typing import Any

from rich.console import RenderableType
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Column
from rich.text import Text

from ziggy_migrate import ProgressCallback, RetryEvent

from . import output

__all__ = ["RETRY_LOGGER", "ProgressDisplay"]

RETRY_LOGGER = "ziggy_migrate.http"
"""Where the transport logs ``retrying <what>: <why>, attempt <n> of <m>`` as a warning."""

_PLURALS = {"flow": "flows", "connection": "connections", "secret": "secrets"}


class _RateColumn(ProgressColumn):
    """Items per second, once there is a rate to show."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.1f}/s", style="progress.data.speed")


class _Progress(Progress):
    """rich's progress bars with one line of status above them (a retry), when there is."""

    status = ""

    def get_renderables(self) -> Iterable[RenderableType]:
        if self.status:
            yield Text(self.status, style="yellow", no_wrap=True, overflow="ellipsis")
        yield self.make_tasks_table(self.tasks)


class ProgressDisplay:
    """A context manager: draws while the block runs, clears itself at the end.

    ``phase_totals`` gives the number of items of each kind when the caller knows it
    (an import knows its bundle); otherwise a phase's total is what the library says is
    left.
    """

    def __init__(
        self,
        *,
        enabled: bool,
        label: str = "connecting",
        phase_totals: Mapping[str, int] | None = None,
    ) -> None:
        self.enabled = enabled
        self._label = label
        self._phase_totals = dict(phase_totals or {})
        self._lock = threading.Lock()
        self._progress: _Progress | None = None
        self._task: TaskID | None = None
        self._phase: str | None = None
        self._phase_start = 0
        self._description = label
        self._quiet_retries = _RetryLinesHeldBack()

    @classmethod
    def for_terminal(cls, *, quiet: bool, **options: Any) -> ProgressDisplay:
        enabled = not quiet and output.stderr_is_terminal() and not output.dumb_terminal()
        return cls(enabled=enabled, **options)

    @property
    def callback(self) -> ProgressCallback | None:
        """What to hand the library: ``None`` when nothing would be drawn."""
        return self if self.enabled else None

    def __enter__(self) -> ProgressDisplay:
        if not self.enabled:
            return self
        self._progress = _Progress(
            TextColumn(
                "{task.description}",
                table_column=Column(ratio=1, no_wrap=True, overflow="ellipsis", min_width=10),
            ),
            BarColumn(bar_width=24),
            MofNCompleteColumn(),
            _RateColumn(),
            TimeRemainingColumn(),
            console=output.stderr_console(),
            transient=True,
            expand=True,
            redirect_stdout=False,  # stdout is the answer's alone
            refresh_per_second=8,
        )
        self._progress.start()
        self._task = self._progress.add_task(self._label, total=None)
        logging.getLogger(RETRY_LOGGER).addFilter(self._quiet_retries)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        logging.getLogger(RETRY_LOGGER).removeFilter(self._quiet_retries)
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def __call__(self, done: int, total: int, what: str) -> None:
        with self._lock:
            progress, task = self._progress, self._task
            if progress is None or task is None:
                return
            kind, _, name = what.partition(" ")
            if kind != self._phase:
                if self._phase is None:  # the "connecting" bar gives way to the first phase
                    progress.update(task, visible=False)
                else:  # an earlier phase stays, full, until the display is cleared
                    finished = progress.tasks[-1].completed
                    progress.update(task, total=finished, completed=finished)
                self._phase, self._phase_start = kind, done - 1
                task = self._task = progress.add_task(kind, total=None)
            progress.status = ""  # an item is done: no longer waiting for a retry
            phase_total = self._phase_totals.get(kind, total - self._phase_start)
            self._description = f"{_PLURALS.get(kind, kind + 's')}: {name}"
            progress.update(
                task,
                completed=done - self._phase_start,
                total=max(phase_total, done - self._phase_start),
                description=self._description,
            )

    def retrying(self, line: str) -> None:
        """Show ``line`` above the bars until the next item is done."""
        with self._lock:
            if self._progress is not None:
                self._progress.status = line
                self._progress.refresh()  # now: the wait may be shorter than a redraw

    def on_retry(self, event: RetryEvent) -> None:
        """The client's retry hook: ``retrying GET /api/flow (attempt 2 of 5)``."""
        self.retrying(
            f"retrying {event.method} {event.path} (attempt {event.attempt} of {event.attempts})"
        )


class _RetryLinesHeldBack(logging.Filter):
    """Drops the library's ``retrying ...`` warnings while the display shows them."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("retrying ")
