"""The benchmark's Ziggy servers: an emulator in its own process (default) or in-process.

Why a separate process by default: a real Ziggy server's CPU work happens on another
machine. An emulator in the benchmark's own process serves every request with Python
code that competes with the client for the GIL, so the measurement would mostly show
the emulator's cost, not the library's. In its own process the emulator burns its own
core, and the client's wall time is what the library does with the network.
``--emulator thread`` keeps it in-process, to see that difference.

Both flavours offer the same small interface (:class:`Server`): load rows straight into
the tables (or have the server make the benchmark's data itself, ``seed``: then the
client's process never holds it, and its memory shows only what the library needs),
reset and read the request log, read the CPU time the server has used.
"""

from __future__ import annotations

import gc
import multiprocessing
import re
import time
from collections import Counter
from collections.abc import Iterable
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any, Protocol, TypeVar

from benchmarks._data import Sizes, server_rows, target_rows
from ziggy_migrate.testing import RecordedRequest, ZiggyEmulator

__all__ = ["Server", "request_breakdown", "start_server"]

_UUID_SEGMENT = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
)
_REPLY_TIMEOUT = 600.0


class Server(Protocol):
    """One running emulator, whichever process it lives in."""

    url: str
    port: int

    def load(self, rows: dict[str, list[dict[str, Any]]]) -> None: ...
    def seed(self, sizes: Sizes, *, target: bool = False) -> None: ...
    def reset_requests(self) -> None: ...
    def requests(self) -> list[tuple[str, str]]: ...
    def cpu_seconds(self) -> float: ...
    def table_sizes(self) -> dict[str, int]: ...
    def stop(self) -> None: ...
    def __enter__(self) -> Server: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...


def _template(method: str, path: str) -> str:
    """``PUT /api/flow/{uuid}``: a request's route, for the per-endpoint breakdown."""
    parts = [
        "{uuid}" if _UUID_SEGMENT.match(part) else part for part in path.rstrip("/").split("/")
    ]
    if method == "POST" and parts[:3] == ["", "api", "flow"] and len(parts) == 5:
        parts[3:] = ["{name}", "{type}"]
    if parts[:4] == ["", "api", "ziggy", "history-named-save"] and len(parts) == 6:
        parts[5] = "{name}"
    return f"{method} {'/'.join(parts)}"


def request_breakdown(requests: Iterable[tuple[str, str]]) -> dict[str, int]:
    """How many requests went to each route, most first."""
    counts = Counter(_template(method, path) for method, path in requests)
    return dict(counts.most_common())


def _summary(records: Iterable[RecordedRequest]) -> list[tuple[str, str]]:
    return [(record.method, record.path) for record in records]


def _rows(sizes: Sizes, target: bool) -> dict[str, list[dict[str, Any]]]:
    """The source's rows, or (``target``) those of a target already holding all of them."""
    rows = server_rows(sizes)
    return target_rows(rows) if target else rows


def _table_sizes(emulator: ZiggyEmulator) -> dict[str, int]:
    snapshot = emulator.snapshot()
    return {
        key: len(value)
        for key, value in snapshot.items()
        if key in ("flows", "connections", "secrets", "namedSaves", "backups")
    }


_S = TypeVar("_S", bound="_StopsOnExit")


class _StopsOnExit:
    """``with server:`` stops it on the way out, whichever flavour it is."""

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self: _S) -> _S:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


class _InProcess(_StopsOnExit):
    """The emulator as threads of this process (``--emulator thread``)."""

    def __init__(self, latency: float, hide_secret_values: bool) -> None:
        self._emulator = ZiggyEmulator(
            latency=latency, return_secret_values=not hide_secret_values, name="bench"
        ).start()
        self.url = self._emulator.url
        self.port = self._emulator.port

    def load(self, rows: dict[str, list[dict[str, Any]]]) -> None:
        self._emulator.load(rows)

    def seed(self, sizes: Sizes, *, target: bool = False) -> None:
        self._emulator.load(_rows(sizes, target))

    def reset_requests(self) -> None:
        self._emulator.reset_requests()

    def requests(self) -> list[tuple[str, str]]:
        return _summary(self._emulator.requests)

    def cpu_seconds(self) -> float:
        """Shared with the client in this flavour: reported as NaN (not separable)."""
        return float("nan")

    def table_sizes(self) -> dict[str, int]:
        return _table_sizes(self._emulator)

    def stop(self) -> None:
        self._emulator.stop()


def _serve(channel: Connection, latency: float, hide_secret_values: bool) -> None:
    """The child process: run an emulator and answer the parent's commands.

    Python's cyclic garbage collector is off in this process. The emulator's tables hold
    every seeded graph, and each write promotes a new one, so during an import the full
    collections came every second or two and held the GIL for 0.3-0.6 s each at 5,000
    flows, stalling every request in flight: a pause of the test server, which a real
    one does not have, measured as the client's wall time. The tables are plain JSON
    values, freed by reference counting; whatever cyclic garbage the rest leaves waits for
    the end of the process, which lives for one run.
    """
    gc.disable()
    emulator = ZiggyEmulator(
        latency=latency, return_secret_values=not hide_secret_values, name="bench"
    ).start()
    channel.send(emulator.port)
    try:
        while True:
            command, argument = channel.recv()
            if command == "load":
                emulator.load(argument)
                channel.send(None)
            elif command == "seed":
                sizes, target = argument
                emulator.load(_rows(sizes, target))
                channel.send(None)
            elif command == "reset":
                emulator.reset_requests()
                channel.send(None)
            elif command == "requests":
                channel.send(_summary(emulator.requests))
            elif command == "cpu":
                channel.send(time.process_time())
            elif command == "sizes":
                channel.send(_table_sizes(emulator))
            elif command == "stop":
                break
            else:
                channel.send(ValueError(f"unknown command {command!r}"))
    finally:
        emulator.stop()
        channel.send(None)


class _Subprocess(_StopsOnExit):
    """The emulator in a child process, driven over a pipe (the default)."""

    def __init__(self, latency: float, hide_secret_values: bool) -> None:
        context = multiprocessing.get_context("spawn")
        self._channel, child_end = context.Pipe()
        self._process = context.Process(
            target=_serve,
            args=(child_end, latency, hide_secret_values),
            name="ziggy-emulator",
            daemon=True,
        )
        self._process.start()
        child_end.close()
        self.url = "http://127.0.0.1"
        self.port = int(self._ask_reply())
        self._stopped = False

    def _ask_reply(self) -> Any:
        if not self._channel.poll(_REPLY_TIMEOUT):
            raise TimeoutError("the emulator process did not answer")
        reply = self._channel.recv()
        if isinstance(reply, Exception):
            raise reply
        return reply

    def _ask(self, command: str, argument: Any = None) -> Any:
        self._channel.send((command, argument))
        return self._ask_reply()

    def load(self, rows: dict[str, list[dict[str, Any]]]) -> None:
        self._ask("load", rows)

    def seed(self, sizes: Sizes, *, target: bool = False) -> None:
        self._ask("seed", (sizes, target))

    def reset_requests(self) -> None:
        self._ask("reset")

    def requests(self) -> list[tuple[str, str]]:
        summary: list[tuple[str, str]] = self._ask("requests")
        return summary

    def cpu_seconds(self) -> float:
        return float(self._ask("cpu"))

    def table_sizes(self) -> dict[str, int]:
        sizes: dict[str, int] = self._ask("sizes")
        return sizes

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        try:
            self._ask("stop")
        finally:
            self._process.join(timeout=10)
            if self._process.is_alive():
                self._process.terminate()
                self._process.join(timeout=5)
            self._channel.close()


def start_server(mode: str, *, latency: float, hide_secret_values: bool = False) -> Server:
    """Start an empty emulator: ``mode`` is ``process`` or ``thread``."""
    if mode == "thread":
        return _InProcess(latency, hide_secret_values)
    if mode == "process":
        return _Subprocess(latency, hide_secret_values)
    raise ValueError(f"unknown emulator mode {mode!r}")
