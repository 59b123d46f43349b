"""Strict JSON in and canonical JSON out, shared by every file ziggy-migrate reads or writes.

Strict: no NaN/Infinity (not JSON, and not round-trippable), no numbers that overflow to
infinity, and no lone surrogate escapes (they load into Python but cannot be written back
as UTF-8), so whatever loads can also be saved. (Nesting is bounded where it can be deep,
in flow graphs, by ``references.find_references``; the rest is shaped by the schema.)
Canonical: sorted keys, two-space indent, UTF-8 as is, trailing newline.
"""

from __future__ import annotations

import json
import math
import re
from json.encoder import encode_basestring as _escape
from typing import Any

__all__ = ["JSONRejected", "dumps_canonical", "loads_strict"]

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]", re.ASCII)
_SURROGATE = re.compile("[\ud800-\udfff]")


class JSONRejected(ValueError):
    """Text that is not strict JSON; the message says why in a few words."""


class _Refused(ValueError):
    """Raised from the parser's hooks with the offending token; located afterwards."""

    def __init__(self, token: str, why: str) -> None:
        super().__init__(why)
        self.token = token


def _reject_constant(name: str) -> Any:
    raise _Refused(name, f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(text, f"the number {text[:40]} is too large")
    return value


def _position(text: str, index: int) -> str:
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return f"line {line}, column {column}"


def _token_position(text: str, token: str) -> str:
    """Where a bare token (outside strings, as the parser met it) first stands."""
    for match in re.finditer(rf"(?<![\w.\"]){re.escape(token)}(?![\w.\"])", text):
        return _position(text, match.start())
    return "an unknown place"


def _deepest_position(text: str, limit: int = 500) -> str:
    """Where nesting first passes ``limit`` levels (only run once parsing has failed)."""
    depth, in_string, escaped = 0, False, False
    for index, char in enumerate(text):
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return _position(text, index)
        elif char in "]}":
            depth -= 1
    return "an unknown place"


def loads_strict(text: str) -> Any:
    """Parse ``text``; raises :class:`JSONRejected` (or ``json.JSONDecodeError``)."""
    try:
        value = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
    except _Refused as refused:
        raise JSONRejected(f"{refused} at {_token_position(text, refused.token)}") from None
    except RecursionError:
        raise JSONRejected(f"nests too deeply at {_deepest_position(text)}") from None
    if _SURROGATE_ESCAPE.search(text) and _has_lone_surrogate(value):
        raise JSONRejected("holds a lone surrogate escape (\\ud800-\\udfff), which is not text")
    return value


def _strings(value: Any) -> Any:
    stack = [value]
    while stack:
        current = stack.pop()
        if isinstance(current, str):
            yield current
        elif isinstance(current, dict):
            stack.extend(current.keys())
            stack.extend(current.values())
        elif isinstance(current, list):
            stack.extend(current)


def _has_lone_surrogate(value: Any) -> bool:
    return any(_SURROGATE.search(text) for text in _strings(value))


def dumps_canonical(value: Any) -> str:
    """The canonical text of ``value``: what ``json.dumps(value, indent=2,
    sort_keys=True, ensure_ascii=False)`` writes, plus a newline, byte for byte.

    Python's own encoder falls back to pure Python whenever ``indent`` is set; this one
    does the same walk but escapes strings with the C helper, which makes saving (and
    the plan digest, and rollback copies) several times faster on large bundles.
    Raises ``ValueError`` for NaN/Infinity and ``TypeError`` for what JSON cannot hold.
    """
    parts: list[str] = []
    _encode(value, "", parts)
    parts.append("\n")
    return "".join(parts)


def _encode(value: Any, indent: str, out: list[str]) -> None:
    kind = type(value)
    if kind is str:
        out.append(_escape(value))
    elif kind is dict:
        if not value:
            out.append("{}")
            return
        inner = indent + "  "
        separator = "{\n" + inner
        for key in sorted(value):
            if type(key) is not str:
                raise TypeError(f"JSON object keys must be text, not {type(key).__name__}")
            out.append(separator + _escape(key) + ": ")
            separator = ",\n" + inner
            _encode(value[key], inner, out)
        out.append("\n" + indent + "}")
    elif kind is list or kind is tuple:
        if not value:
            out.append("[]")
            return
        inner = indent + "  "
        separator = "[\n" + inner
        for item in value:
            out.append(separator)
            separator = ",\n" + inner
            _encode(item, inner, out)
        out.append("\n" + indent + "]")
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif kind is int:
        out.append(int.__repr__(value))
    elif kind is float:
        if not math.isfinite(value):
            raise ValueError(f"{value!r} is not JSON")
        out.append(float.__repr__(value))
    elif isinstance(value, str):  # str subclasses (str-based enums) as json.dumps does
        out.append(_escape(value))
    elif isinstance(value, int):
        out.append(int.__repr__(value))
    else:
        raise TypeError(f"{kind.__name__} is not JSON")
