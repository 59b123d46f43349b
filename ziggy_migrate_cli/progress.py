"""The progress bar on stderr: one bar per phase, counts, rate and time left.

The library calls ``progress(done, total, what)`` from its worker threads, ``what`` being
``"<kind> <name>"`` (``flow Sync orders``). Each kind is a phase of the work (an import
writes secrets, then connections, ..., then flows), and each phase gets its own bar with
its name ellipsised to fit the terminal. A bar for "connecting" is shown until the first
item is done, so a slow or failing server is never silence.

While a request waits to be tried again, a line above the bars says so: ``retrying GET
/api/flow (attempt 2 of 5)``. The transport logs each retry at INFO on ``ziggy_migrate.http``; a
log handler attached for the duration of the display turns those records into that line.

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

from ziggy_migrate import ProgressCallback

from . import output

__all__ = ["RETRY_LOGGER", "ProgressDisplay"]

RETRY_LOGGER = "ziggy_migrate.http"
"""Where the transport logs ``retrying <what> (retry <n>) in <s> s`` at INFO."""

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
    left. ``attempts`` is how many tries a request gets, for the retry line.
    """

    def __init__(
        self,
        *,
        enabled: bool,
        label: str = "connecting",
        attempts: int = 5,
        phase_totals: Mapping[str, int] | None = None,
    ) -> None:
        self.enabled = enabled
        self._label = label
        self._attempts = attempts
        self._phase_totals = dict(phase_totals or {})
        self._lock = threading.Lock()
        self._progress: _Progress | None = None
        self._task: TaskID | None = None
        self._phase: str | None = None
        self._phase_start = 0
        self._description = label
        self._handler: _RetryHandler | None = None
        self._logger_level = logging.NOTSET

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
        logger = logging.getLogger(RETRY_LOGGER)
        self._logger_level = logger.level
        if logger.getEffectiveLevel() > logging.INFO:
            logger.setLevel(logging.INFO)  # the retry records; stderr's handler still
            # shows warnings only, by its own level
        self._handler = _RetryHandler(self)
        logger.addHandler(self._handler)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._handler is not None:
            logger = logging.getLogger(RETRY_LOGGER)
            logger.removeHandler(self._handler)
            logger.setLevel(self._logger_level)
            self._handler = None
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

    def retry_line(self, record: logging.LogRecord) -> str:
        """``retrying GET /api/flow (attempt 2 of 5)`` from the transport's record."""
        args = record.args if isinstance(record.args, tuple) else ()
        if len(args) >= 2 and isinstance(args[1], int):
            request = str(args[0]).partition(": ")[0]  # "GET /api/flow", without the why
            return f"retrying {request} (attempt {args[1] + 1} of {self._attempts})"
        return record.getMessage()


class _RetryHandler(logging.Handler):
    """Feeds the transport's ``retrying ...`` records to the display."""

    def __init__(self, display: ProgressDisplay) -> None:
        super().__init__(logging.INFO)
        self._display = display

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if str(record.msg).startswith("retrying"):
                self._display.retrying(self._display.retry_line(record))
        except Exception:  # the display must never break a command
            self.handleError(record)
