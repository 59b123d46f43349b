"""Scripted misbehaviour: answers the emulator sends instead of the API's own.

A :class:`FaultPlan` draws transient faults at random; an override is deterministic: the
requests it matches get exactly the answers a test gave, in order. That is how a test
stages a broken or hostile server (a flow answered as ``{}``, a create answered without
a UUID, an HTML page, a redirect without ``Location``, an answer trickled one byte at a
time or never ending, a gzip bomb, an error message quoting secret values) or a server
restart that forgets every token.
"""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

_JSON = "application/json; charset=utf-8"
_BOMB_BLOCK = 1 << 20


@dataclass(frozen=True)
class Answer:
    """An answer the emulator sends instead of the API's (see ``ZiggyEmulator.override``).

    ``body`` goes out as it is, with ``content_type`` and ``headers``. With ``rewrite`` the
    API runs as usual and its JSON answer passes through ``rewrite`` first (the status is
    the API's own). How the bytes travel:

    - ``trickle``: seconds between single bytes of the head and the body, so that no
      pause is long enough for a read timeout;
    - ``endless``: after ``body``, filler (JSON whitespace) follows in chunks forever;
    - ``silent``: nothing at all is sent, and the connection is held open;
    - ``expire_tokens``: every token issued so far stops working before the answer goes
      out, as when a server restarts behind a load balancer answering 503.
    """

    status: int = 200
    body: bytes = b""
    content_type: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    rewrite: Callable[[Any], Any] | None = None
    trickle: float = 0.0
    endless: bool = False
    silent: bool = False
    expire_tokens: bool = False

    def __post_init__(self) -> None:
        if not 100 <= self.status <= 999:
            raise ValueError("an answer's status is a three-digit HTTP status")
        if self.trickle < 0:
            raise ValueError("trickle must not be negative")

    @classmethod
    def json(cls, payload: Any, status: int = 200, **options: Any) -> Answer:
        """``payload`` as JSON (a dict, list, string, number, null...)."""
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return cls(status=status, body=body, content_type=_JSON, **options)

    @classmethod
    def raw_json(cls, text: str | bytes, status: int = 200, **options: Any) -> Answer:
        """JSON text as given, for what :meth:`json` cannot make (a graph 5,000 deep)."""
        body = text.encode("utf-8") if isinstance(text, str) else text
        return cls(status=status, body=body, content_type=_JSON, **options)

    @classmethod
    def text(
        cls,
        text: str,
        status: int = 200,
        content_type: str = "text/html; charset=utf-8",
        **options: Any,
    ) -> Answer:
        """Text that is not JSON: another web server's page, a proxy's error."""
        return cls(status=status, body=text.encode("utf-8"), content_type=content_type, **options)

    @classmethod
    def rewritten(cls, rewrite: Callable[[Any], Any]) -> Answer:
        """The API's own answer (and its effect), its JSON changed by ``rewrite``."""
        return cls(rewrite=rewrite)

    @classmethod
    def gzip_bomb(cls, size: int = 1 << 30, status: int = 200) -> Answer:
        """About a thousandth of ``size`` on the wire, ``size`` bytes once decompressed."""
        blocks = max(1, size // _BOMB_BLOCK)
        return cls(
            status=status,
            body=_bomb_block() * blocks,
            content_type=_JSON,
            headers=(("Content-Encoding", "gzip"),),
        )

    @classmethod
    def no_answer(cls) -> Answer:
        """The request is read, and then nothing comes back: the connection stays open."""
        return cls(silent=True)


@lru_cache(maxsize=1)
def _bomb_block() -> bytes:
    """One gzip member of a MiB of JSON whitespace; members concatenated make a gzip
    stream that decompresses to all of them in turn."""
    return gzip.compress(b" " * _BOMB_BLOCK, compresslevel=9)


def _matches(pattern: str, path: str) -> bool:
    """``*`` stands for one path segment, a final ``**`` for any rest (none included)."""
    wanted = pattern.strip("/").split("/")
    given = path.strip("/").split("/")
    if wanted[-1] == "**":
        wanted = wanted[:-1]
        if len(given) < len(wanted):
            return False
        given = given[: len(wanted)]
    if len(wanted) != len(given):
        return False
    return all(want in ("*", part) for want, part in zip(wanted, given, strict=True))


@dataclass
class _Override:
    method: str
    path: str
    answers: tuple[Answer | None, ...]
    remaining: int | None
    used: int = field(default=0)


class _Overrides:
    """The overrides in force, first match wins; safe to use from every handler thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._overrides: list[_Override] = []

    def add(
        self, method: str, path: str, answers: Sequence[Answer | None], times: int | None
    ) -> None:
        if not answers:
            raise ValueError("give at least one answer (None: the API's own)")
        if times is not None and times < 1:
            raise ValueError("times is at least 1 (None: until clear_overrides())")
        override = _Override(method.upper(), path, tuple(answers), times)
        with self._lock:
            self._overrides.append(override)

    def clear(self) -> None:
        with self._lock:
            self._overrides.clear()

    def take(self, method: str, path: str) -> Answer | None:
        """The next answer of the first override matching the request; None when there is
        none, or when the API is to answer this one itself."""
        with self._lock:
            for override in self._overrides:
                if override.method not in ("*", method) or not _matches(override.path, path):
                    continue
                answer = override.answers[override.used % len(override.answers)]
                override.used += 1
                if override.remaining is not None:
                    override.remaining -= 1
                    if override.remaining == 0:
                        self._overrides.remove(override)
                return answer
        return None
