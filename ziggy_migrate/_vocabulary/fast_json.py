"""JSON through orjson when it is installed (the ``fast`` extra), with the same results as
the standard library, which is used otherwise and wherever the two could differ.

Parsing a server's answer (:func:`parse_answer`): orjson reads what RFC 8259 allows,
into the same values as ``json.loads``, except integers too long for 64 bits (it makes
them floats: past 18446744073709551615, and below -9223372036854775808, which has only 19
digits). So a body holding a run of 19 digits or more, and anything orjson refuses
(lone surrogate escapes, a UTF-8 byte order mark, ...), go to ``json.loads``. Neither
path lets NaN, Infinity or a number that overflows to infinity through
(:class:`NonFiniteNumber`): they are not JSON, no Ziggy server answers them, and a value
that holds none can be written back as JSON, which the fast encoder relies on.

Encoding (:func:`dumps_indented`): orjson's sorted, two-space-indented text is what
``json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)`` writes, byte for
byte, for text, whole numbers, booleans, null, lists and objects with text keys; only
floats under 1e-4 are written otherwise (``1e-05`` as ``0.00001``, ``1e-07`` as
``1e-7``). So text holding either of those forms anywhere is not used; nor is anything
orjson refuses (integers past 64 bits, nesting past its limit, non-text keys, lone
surrogates): the caller is told to encode it itself. orjson writes NaN and infinities as
null, so this is only for values known to hold none (parsed by the strict parsers).

A request body (:func:`dumps_body`) only needs the same *value* on the other end, not
the same text: orjson's compact UTF-8 is used unless it refuses the value, or writes a
``null`` (where a NaN or an infinity may have gone) and the text does not read back as
the very value given; then ``json.dumps`` with ``allow_nan=False`` decides, as requests
would. Almost every flow holds a null somewhere, and reading orjson's text back is much
cheaper than having ``json.dumps`` write it again (``benchmarks/README.md``).
"""

from __future__ import annotations

import importlib
import json
import math
from typing import Any

__all__ = ["HAVE_ORJSON", "NonFiniteNumber", "dumps_body", "dumps_indented", "parse_answer"]

_orjson: Any
try:  # the optional "fast" extra
    _orjson = importlib.import_module("orjson")
except ImportError:  # pragma: no cover - depends on the environment
    _orjson = None

HAVE_ORJSON = _orjson is not None
"""Whether orjson is there to be used."""

# a run of 19 digits or more, found fast: every digit made "0" and every other byte a
# space, then one substring search (a regular expression takes ten times as long)
_DIGITS_AS_ZEROS = bytes(48 if 48 <= byte <= 57 else 32 for byte in range(256))
_NINETEEN_DIGITS = b"0" * 19
# orjson writes a float as Python's repr does, but under 1e-4: 1e-5 <= |x| < 1e-4 as
# 0.0000... (repr: 1.5e-05), and exponents -6 to -9 with one digit (repr: 1e-07). Those
# forms are found in the text with every digit made "0" and every byte but "e.-," and
# the line break made a space: "0.0000", or "0e-0" ending its line (where a number ends
# in indented text; UUIDs, full of "e-", never have one digit there). A string that holds
# such a form only sends the value the slow way.
_FLOAT_SHAPES = bytes(
    48 if 48 <= byte <= 57 else byte if byte in b"e.-,\n" else 32 for byte in range(256)
)
_WRITTEN_OTHERWISE = (b"0.0000", b"0e-0,", b"0e-0\n")


class NonFiniteNumber(ValueError):
    """NaN, Infinity, or a number too large for a float, where JSON has none; ``what``
    names it in a few words."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what}, which is not JSON")
        self.what = what


def _refuse_constant(name: str) -> Any:
    raise NonFiniteNumber(name)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise NonFiniteNumber(f"the number {text[:40]}, too large for a float")
    return value


def parse_answer(body: bytes) -> Any:
    """The JSON value of ``body``; raises :class:`NonFiniteNumber`, ``ValueError`` for
    what is not JSON (``UnicodeDecodeError`` too), or ``RecursionError``."""
    if _orjson is not None and _NINETEEN_DIGITS not in body.translate(_DIGITS_AS_ZEROS):
        try:
            return _orjson.loads(body)
        except _orjson.JSONDecodeError:
            pass  # the standard library decides, and says why
    return json.loads(body, parse_constant=_refuse_constant, parse_float=_finite_float)


def dumps_indented(value: Any) -> str | None:
    """``json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)``, made by orjson,
    or None when orjson is missing or its text could differ (see above). ``value`` must
    hold no NaN or infinity."""
    if _orjson is None:
        return None
    try:
        data = _orjson.dumps(value, option=_orjson.OPT_INDENT_2 | _orjson.OPT_SORT_KEYS)
    except TypeError:  # orjson.JSONEncodeError is one
        return None
    shapes = data.translate(_FLOAT_SHAPES)
    if any(form in shapes for form in _WRITTEN_OTHERWISE) or shapes.endswith(b"0e-0"):
        return None
    text: str = data.decode("utf-8")
    return text


def dumps_body(value: Any) -> bytes:
    """``value`` as the UTF-8 JSON of a request body; raises ``ValueError`` for NaN or an
    infinity (as ``json.dumps(value, allow_nan=False)``) and ``TypeError`` for what JSON
    cannot hold."""
    if _orjson is not None:
        try:
            data: bytes = _orjson.dumps(value)
        except TypeError:  # big integers, non-text keys, lone surrogates: see below
            pass
        else:
            # a NaN or an infinity would read back as None, which equals neither
            if b"null" not in data or _orjson.loads(data) == value:
                return data
    return json.dumps(value, allow_nan=False).encode("utf-8")
