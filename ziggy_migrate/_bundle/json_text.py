"""Strict JSON in and canonical JSON out, shared by every file ziggy-migrate reads or writes.

Strict: no NaN/Infinity (not JSON, and not round-trippable), no numbers that overflow to
infinity or have more digits than Python reads, and no lone surrogate escapes (they load
into Python but cannot be written back as UTF-8), so whatever loads can also be saved.
No key twice in one object (:class:`DuplicateKey`, naming the JSON path): Python keeps the
last value, while a reviewer reading the file, or another tool, may take the first, so
``..., "flows": []`` appended to a bundle would silently import nothing.
(Nesting is bounded where it can be deep, in flow graphs, by
``references.find_references``; the rest is shaped by the schema.)
Canonical: sorted keys, two-space indent, UTF-8 as is, trailing newline.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from json.encoder import encode_basestring as _escape
from typing import Any

from .._vocabulary.fast_json import dumps_indented

__all__ = [
    "DuplicateKey",
    "EncodedJSON",
    "JSONRejected",
    "canonical_parts",
    "dumps_canonical",
    "encode_ahead",
    "loads_strict",
]

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]", re.ASCII)
_SURROGATE = re.compile("[\ud800-\udfff]")


class JSONRejected(ValueError):
    """Text that is not strict JSON; the message says why in a few words."""


class DuplicateKey(JSONRejected):
    """An object that holds ``key`` twice; ``path`` is where (``$.flows[2].name``)."""

    def __init__(self, key: str, path: str) -> None:
        shown = key if len(key) <= 80 else key[:80] + "..."
        self.reason = f"{shown!r} appears twice in the same object; keep one of them"
        super().__init__(f"{path}: {self.reason}")
        self.key = key
        self.path = path


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


def _long_number(text: str) -> str:
    """Where the first run of thousands of digits stands (only run once parsing failed)."""
    match = re.search(r"\d{1000,}", text)
    return _position(text, match.start()) if match else "an unknown place"


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
    """Parse ``text``; raises :class:`JSONRejected` (:class:`DuplicateKey` for a key that
    appears twice in one object) or ``json.JSONDecodeError``."""
    duplicates: list[tuple[dict[str, Any], str]] = []
    try:
        value = json.loads(
            text,
            parse_constant=_reject_constant,
            parse_float=_finite_float,
            object_pairs_hook=_noting_duplicates(duplicates),
        )
    except _Refused as refused:
        raise JSONRejected(f"{refused} at {_token_position(text, refused.token)}") from None
    except RecursionError:
        raise JSONRejected(f"nests too deeply at {_deepest_position(text)}") from None
    except json.JSONDecodeError:
        raise
    except ValueError:  # an integer past Python's conversion limit (sys.get_int_max_str_digits)
        raise JSONRejected(f"holds a number too long to read at {_long_number(text)}") from None
    if duplicates:
        raise _located(value, duplicates)
    if _SURROGATE_ESCAPE.search(text) and _has_lone_surrogate(value):
        raise JSONRejected("holds a lone surrogate escape (\\ud800-\\udfff), which is not text")
    return value


def _noting_duplicates(
    found: list[tuple[dict[str, Any], str]],
) -> Callable[[list[tuple[str, Any]]], dict[str, Any]]:
    """An ``object_pairs_hook`` that builds each object as ``json.loads`` does and notes
    in ``found`` every object that held a key twice, with that key."""

    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        made = dict(pairs)
        if len(made) != len(pairs):
            found.append((made, first_duplicate(pairs)))
        return made

    return hook


def first_duplicate(pairs: list[tuple[str, Any]]) -> str:
    """The first key that ``pairs`` (an object's members, in order) holds twice."""
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            return key
        seen.add(key)
    raise ValueError("no key appears twice")


def _located(document: Any, duplicates: list[tuple[dict[str, Any], str]]) -> DuplicateKey:
    """The error for the first object in ``document`` that held a key twice.

    An object noted in ``duplicates`` may have been dropped since, as the first value of
    a key its parent holds twice; the outermost one always stands in the document. The
    walk goes without recursion, and only once an error was found, so nesting costs
    nothing on the way of a good file."""
    holders = {id(holder): key for holder, key in duplicates}
    stack: list[tuple[Any, str]] = [(document, "$")]
    while stack:
        current, path = stack.pop()
        if isinstance(current, dict):
            key = holders.get(id(current))
            if key is not None:
                return DuplicateKey(key, member_path(path, key))
            members = reversed(current.items())
            stack.extend((item, member_path(path, name)) for name, item in members)
        elif isinstance(current, list):
            indexed = reversed(list(enumerate(current)))
            stack.extend((item, f"{path}[{index}]") for index, item in indexed)
    _, key = duplicates[-1]  # pragma: no cover - the outermost holder is always found
    return DuplicateKey(key, member_path("$", key))


_PLAIN_KEY = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")


def member_path(path: str, key: str) -> str:
    """``$.flows`` for a plain key, ``$["odd key"]`` for any other (quoted, shortened)."""
    if _PLAIN_KEY.fullmatch(key) and len(key) <= 80:
        return f"{path}.{key}"
    return f"{path}[{json.dumps(key if len(key) <= 80 else key[:80] + '...')}]"


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


class EncodedJSON(str):
    """The canonical text of a value, made ahead of time by :func:`encode_ahead` (without
    a trailing newline), to be written as is where the value would go.

    An export encodes each flow as it arrives, while other requests are still on the
    wire, instead of encoding every flow after the last one arrived. The text is made for
    the depth it will be written at (``indent``: what each of its lines after the first
    starts with), so saving joins it unchanged. At another depth only the indent after
    each line break differs; canonical text holds no raw line break inside a string, so
    swapping it there is exact.
    """

    indent: str

    def __new__(cls, text: str, indent: str = "") -> EncodedJSON:
        made = super().__new__(cls, text)
        made.indent = indent
        return made

    def at(self, indent: str) -> str:
        """The text as it reads at depth ``indent`` (itself, not a copy, at its own)."""
        if indent == self.indent:
            return self
        return self.replace("\n" + self.indent, "\n" + indent)


def encode_ahead(value: Any, indent: str = "", *, parsed: bool = False) -> EncodedJSON:
    """The canonical text of ``value`` for writing at depth ``indent`` later (see
    :class:`EncodedJSON`). Raises as :func:`dumps_canonical` does.

    ``parsed`` says ``value`` is plain JSON as a strict parser makes it (no NaN or
    infinity, no text made ahead inside): then orjson may make the same text faster
    (``fast_json.dumps_indented``)."""
    if type(value) in _CONTAINERS:
        if parsed:
            fast = dumps_indented(value)
            if fast is not None:
                return EncodedJSON(fast.replace("\n", "\n" + indent) if indent else fast, indent)
        parts: list[str] = []
        _encode_container(value, indent, parts)
        return EncodedJSON("".join(parts), indent)
    return EncodedJSON(_scalar(value, indent), indent)


def dumps_canonical(value: Any) -> str:
    """The canonical text of ``value``: what ``json.dumps(value, indent=2,
    sort_keys=True, ensure_ascii=False)`` writes, plus a newline, byte for byte.

    Python's own encoder falls back to pure Python whenever ``indent`` is set; this one
    does the same walk but escapes strings with the C helper and writes scalars in the
    loop over their container instead of a call each, which makes saving (and the plan
    digest, and rollback copies) much faster on large bundles.
    Raises ``ValueError`` for NaN/Infinity and ``TypeError`` for what JSON cannot hold.
    """
    return "".join(canonical_parts(value))


def canonical_parts(value: Any) -> list[str]:
    """:func:`dumps_canonical`'s text in the pieces it is made of, for a writer that
    writes them a chunk at a time instead of holding the whole text (a large bundle's
    is tens of MB) joined, and then once more encoded."""
    if type(value) in _CONTAINERS:
        parts: list[str] = []
        _encode_container(value, "", parts)
        parts.append("\n")
        return parts
    return [_scalar(value) + "\n"]


_CONTAINERS = frozenset({dict, list, tuple})


_int_text = int.__repr__
_float_text = float.__repr__
_isfinite = math.isfinite


def _encode_container(value: Any, indent: str, out: list[str]) -> None:
    """Append the text of a dict, list or tuple; the hot loop of every save.

    Each entry is one f-string (one allocation, not a chain of concatenations), and the
    commonest scalars (text, whole and finite numbers) are written inline instead of
    through a call to :func:`_scalar`.
    """
    append = out.append
    if not value:
        append("{}" if type(value) is dict else "[]")
        return
    inner = indent + "  "
    between = ",\n" + inner
    if type(value) is dict:
        separator = "{\n" + inner
        for key in sorted(value):
            if type(key) is not str:
                raise TypeError(f"JSON object keys must be text, not {type(key).__name__}")
            item = value[key]
            kind = type(item)
            if kind is str:
                append(f"{separator}{_escape(key)}: {_escape(item)}")
            elif kind in _CONTAINERS:
                append(f"{separator}{_escape(key)}: ")
                _encode_container(item, inner, out)
            elif kind is int:
                append(f"{separator}{_escape(key)}: {_int_text(item)}")
            elif kind is float and _isfinite(item):
                append(f"{separator}{_escape(key)}: {_float_text(item)}")
            else:
                append(f"{separator}{_escape(key)}: {_scalar(item, inner)}")
            separator = between
        append(f"\n{indent}}}")
    else:
        separator = "[\n" + inner
        for item in value:
            kind = type(item)
            if kind is str:
                append(separator + _escape(item))
            elif kind in _CONTAINERS:
                append(separator)
                _encode_container(item, inner, out)
            elif kind is int:
                append(separator + _int_text(item))
            elif kind is float and _isfinite(item):
                append(separator + _float_text(item))
            else:
                append(separator + _scalar(item, inner))
            separator = between
        append(f"\n{indent}]")


def _scalar(value: Any, indent: str = "") -> str:
    """The text of anything but a container (or text made ahead, at depth ``indent``)."""
    kind = type(value)
    if isinstance(value, EncodedJSON):
        return value.at(indent)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if kind is int:
        return int.__repr__(value)
    if kind is float:
        if not math.isfinite(value):
            raise ValueError(f"{value!r} is not JSON")
        return float.__repr__(value)
    if isinstance(value, str):  # str subclasses (str-based enums) as json.dumps does
        return _escape(value)
    if isinstance(value, int):
        return int.__repr__(value)
    raise TypeError(f"{kind.__name__} is not JSON")
