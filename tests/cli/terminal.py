"""Run ``ziggy`` in a pseudo-terminal and read the screen a person would see.

:func:`run_in_terminal` starts ``python -m ziggy_migrate_cli`` with stdin, stdout and
stderr on the slave side of a pty of a given size (so ``isatty()`` is true, as in a
terminal window), collects every byte it writes, and replays them through ``pyte`` (a
VT100 emulator) to get the final screen. Tests then look at both: the raw stream for
what was drawn along the way (a progress bar, a retry line), the screen for what is left
when the command ends.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pyte

_CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\x1b[=>]")


@dataclass(frozen=True)
class TerminalRun:
    """What one run in a terminal wrote, and what its screen shows at the end."""

    exit_code: int
    raw: str
    screen: list[str]
    columns: int

    @property
    def text(self) -> str:
        """The raw output without control sequences (all that was ever drawn)."""
        return _CONTROL.sub("", self.raw)

    @property
    def drawn_lines(self) -> list[str]:
        """Every line or redraw written, control sequences removed."""
        return [part for part in re.split(r"\r\n|\r|\n", self.text) if part]

    @property
    def visible(self) -> list[str]:
        """The final screen's lines, trailing blanks removed, empty lines dropped."""
        return [line.rstrip() for line in self.screen if line.strip()]


def run_in_terminal(
    args: Sequence[str],
    env: Mapping[str, str],
    *,
    columns: int = 80,
    rows: int = 24,
    timeout: float = 90,
) -> TerminalRun:
    """Run ``ziggy ARGS`` in a ``columns`` x ``rows`` pseudo-terminal until it exits."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    environment = {**env, "TERM": env.get("TERM", "xterm-256color")}
    environment.pop("COLUMNS", None)
    environment.pop("LINES", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "ziggy_migrate_cli", *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=environment,
        close_fds=True,
        start_new_session=True,
    )
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: the slave side is closed, the program has ended
                    break
                if not data:
                    break
                chunks.append(data)
            elif process.poll() is not None:
                break
        else:
            process.kill()
            raise AssertionError(f"ziggy {' '.join(args)} did not end within {timeout} s")
        exit_code = process.wait(timeout=10)
    finally:
        os.close(master)
    raw = b"".join(chunks).decode("utf-8", errors="replace")
    screen = pyte.Screen(columns, rows)
    stream = pyte.Stream(screen)
    stream.feed(raw)  # the pty already turned each "\n" into "\r\n", as a terminal does
    return TerminalRun(exit_code, raw, list(screen.display), columns)
