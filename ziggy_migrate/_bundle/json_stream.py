"""Strict JSON from an open text file, without holding the whole text while it is parsed.

``json.loads`` of a large bundle needs the whole decoded text (one copy of the file) alive
next to everything it builds (the dicts, lists and strings).
:func:`load_strict` reads the file in chunks instead, so the text in memory is about one
chunk plus the value being parsed, and it gives the strings it builds a per-load memo, so
that the many equal ones (keys across flows, block types, connection UUIDs, labels) are
one object each: together that keeps load's peak memory well under ``json.loads``'s
(``benchmarks/README.md`` has the figures).

Only the top level is walked in Python: the document must be an object, a member that is
an array is taken element by element, and every other value (and every element) goes to
the C scanner through ``JSONDecoder.raw_decode``, with the same strictness hooks as
:func:`~.json_text.loads_strict`. Anything else, and every error, falls back to
``loads_strict`` of the whole text, read again from the start: broken or unusual files get
exactly ``loads_strict``'s result and messages (memory is not a concern for them).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, TextIO

from .json_text import (
    _SURROGATE_ESCAPE,
    _finite_float,
    _has_lone_surrogate,
    _reject_constant,
    loads_strict,
)

__all__ = ["load_strict"]

CHUNK_SIZE = 1 << 18
"""Characters read at a time (256 Ki): past this size the per-read costs (joining the
unparsed rest to the new text, parsing again a value the boundary cut) no longer show,
while the peak grows by about five chunks (the buffer, the text read, their join, the
file's decoder), so bigger chunks would only cost memory. Measured in
``benchmarks/README.md``."""

SHARE_MAX_LENGTH = 40
"""String values at most this long go through the memo; longer ones are kept as parsed.
Values that repeat are short: block types, labels, field names and the UUIDs (36
characters) that flows use to refer to connections. Long ones (queries, code, URLs) are
mostly unique, and memoizing them only grows the memo, by a dict entry each. Sharing keys
alone saves nothing (the C scanner already shares them within each flow); a larger limit
saves nothing more; the time is the same for any limit, the cost being the call of the
hook itself. The measurements are in ``benchmarks/README.md``.
"""

_NUMBER_TAIL = 2
"""A value that ends this close to the end of the buffer may go on in the next chunk:
``1e`` + ``5``, ``1.`` + ``5``, ``1e+`` + ``5`` (the scanner takes ``1`` and stops, leaving at
most two characters that only more digits would make part of the number), or ``12`` +
``3`` at the very end. Such a value is parsed again once more text is read."""


_NOT_WHITESPACE = re.compile(r"[^ \t\n\r]")
"""The end of JSON's whitespace (the four characters ``json.decoder`` skips)."""


class _Unusual(Exception):
    """What the fast path does not handle; ``loads_strict`` of the whole text decides."""


def load_strict(handle: TextIO, *, chunk_size: int = CHUNK_SIZE) -> Any:
    """What ``loads_strict(handle.read().removeprefix("\\ufeff"))`` returns or raises.

    ``handle`` is a text file opened with ``encoding="utf-8", errors="strict"``, at its
    start; a ``UnicodeDecodeError`` from reading it propagates unchanged.
    """
    if handle.seekable():
        try:
            return _Parser(handle, chunk_size).document()
        except UnicodeDecodeError:
            raise
        except (_Unusual, ValueError, RecursionError):  # JSONDecodeError, refused tokens...
            pass
        # Out of the ``except`` block, so that the partial document is already freed.
        handle.seek(0)
    return loads_strict(handle.read().removeprefix("\ufeff"))


def _sharing_hook(memo: dict[str, str]) -> Callable[[list[tuple[str, Any]]], dict[str, Any]]:
    """An ``object_pairs_hook`` that makes equal keys and short string values one object.

    The C scanner already shares keys within one ``raw_decode`` call; this shares them
    across calls (flows) and shares values too. An object that holds a key twice is
    :class:`_Unusual`: ``loads_strict`` refuses it, naming the JSON path.
    """
    share = memo.setdefault
    limit = SHARE_MAX_LENGTH

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        made = {
            share(key, key): share(value, value)
            if type(value) is str and len(value) <= limit
            else value
            for key, value in pairs
        }
        if len(made) != len(pairs):
            raise _Unusual("a key twice in one object")
        return made

    return hook


class _Parser:
    """The top level of one document, read from ``handle`` a chunk at a time.

    ``_text[_pos:]`` is what is read but not parsed yet; text before ``_pos`` is dropped
    whenever more is read, so memory holds about one chunk plus the largest value.
    """

    def __init__(self, handle: TextIO, chunk_size: int) -> None:
        self._handle = handle
        self._chunk_size = max(1, chunk_size)
        first = handle.read(self._chunk_size)
        self._text = first.removeprefix("\ufeff")  # (a BOM may be all a tiny chunk holds)
        self._pos = 0
        self._eof = not first
        self._memo: dict[str, str] = {}
        self._decoder = json.JSONDecoder(
            parse_constant=_reject_constant,
            parse_float=_finite_float,
            object_pairs_hook=_sharing_hook(self._memo),
        )

    def document(self) -> dict[str, Any]:
        if self._peek() != "{":
            raise _Unusual("the top level is not an object")
        self._pos += 1
        document: dict[str, Any] = {}
        if self._peek() == "}":
            self._pos += 1
        else:
            while True:
                if self._peek() != '"':
                    raise _Unusual("expected a key")
                key = self._value()
                if self._peek() != ":":
                    raise _Unusual("expected ':'")
                self._pos += 1
                if key in document:
                    raise _Unusual("a key twice in the top-level object")
                document[key] = self._array() if self._peek() == "[" else self._value()
                if self._next() == "}":
                    break
        if self._peek():
            raise _Unusual("text after the document")
        return document

    def _array(self) -> list[Any]:
        self._pos += 1
        items: list[Any] = []
        if self._peek() == "]":
            self._pos += 1
            return items
        while True:
            self._peek()
            items.append(self._value())
            if self._next() == "]":
                return items

    def _next(self) -> str:
        """Consume the separator after a member or element: ``,`` or the closing one."""
        char = self._peek()
        if char not in (",", "}", "]"):
            raise _Unusual("expected ',' or a closing bracket")
        self._pos += 1
        return char

    def _peek(self) -> str:
        """Skip whitespace (reading on as needed); the next character, or "" at the end."""
        while True:
            found = _NOT_WHITESPACE.search(self._text, self._pos)
            if found is not None:
                self._pos = found.start()
                return found.group()
            self._pos = len(self._text)
            if not self._read_more(0):
                return ""

    def _value(self) -> Any:
        """The value at ``_pos`` by the C scanner, read on until no chunk boundary cuts it."""
        while True:
            text, start = self._text, self._pos
            try:
                value, end = self._decoder.raw_decode(text, start)
            except json.JSONDecodeError:
                # Cut by the end of the buffer (or broken: then the end of the file decides).
                if self._read_more(len(text) - start):
                    continue
                raise
            if len(text) - end > _NUMBER_TAIL or not self._read_more(len(text) - start):
                break
        # Escapes that may be lone surrogates: the (rare) precise check on the value.
        if _SURROGATE_ESCAPE.search(text, start, end) and _has_lone_surrogate(value):
            raise _Unusual("a lone surrogate escape")
        self._pos = end
        if type(value) is str and len(value) <= SHARE_MAX_LENGTH:
            value = self._memo.setdefault(value, value)
        return value

    def _read_more(self, at_least: int) -> bool:
        """Append at least ``at_least`` more characters (a chunk, or to the end of the
        file), dropping the parsed text; False at the end of the file.

        Reading as much again as the unparsed text holds makes a value bigger than a
        chunk cost a logarithmic number of attempts, not a linear one.
        """
        if self._eof:
            return False
        more = self._handle.read(max(self._chunk_size, at_least))
        if not more:
            self._eof = True
            return False
        self._text = self._text[self._pos :] + more
        self._pos = 0
        return True
