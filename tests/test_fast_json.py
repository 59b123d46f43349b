"""JSON through orjson (the ``fast`` extra) gives what the standard library gives.

Server answers parse to the same values whichever parser reads them, with or without
orjson installed (the fallback is forced here by hiding it), and neither lets NaN or
Infinity in; encoded text is byte for byte ``json.dumps(indent=2, sort_keys=True,
ensure_ascii=False)``, or the caller is told to encode it itself.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ziggy_migrate._bundle.json_text import dumps_canonical, encode_ahead
from ziggy_migrate._vocabulary import fast_json
from ziggy_migrate._vocabulary.fast_json import NonFiniteNumber, dumps_indented, parse_answer

pytestmark = pytest.mark.skipif(not fast_json.HAVE_ORJSON, reason="the test extra has orjson")


@pytest.fixture(params=["orjson", "standard library"])
def parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each test twice: with orjson, and as without it (the module's handle hidden)."""
    if request.param != "orjson":
        monkeypatch.setattr(fast_json, "_orjson", None)
    return str(request.param)


_keys = st.text(max_size=8)
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(_keys, inner, max_size=5),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(value=_values)
def test_answers_parse_as_the_standard_library_parses_them(value: Any) -> None:
    for text in (json.dumps(value), json.dumps(value, ensure_ascii=False, indent=1)):
        body = text.encode("utf-8")
        parsed = parse_answer(body)
        assert parsed == json.loads(body)
        assert repr(parsed) == repr(json.loads(body))  # the same types too (1 is not 1.0)


@pytest.mark.parametrize(
    "body",
    [
        b"18446744073709551616",  # past 64 bits: orjson would make it a float
        b"[-9223372036854775809]",  # below 64 bits, in 19 digits: the same
        b"[-123456789012345678901234567890]",
        b'"\\ud800 alone"',  # a lone surrogate escape: orjson refuses, json reads it
        b'\xef\xbb\xbf{"a": 1}',  # a byte order mark
        b'{"a": 1, "a": 2}',
        b"-0",
        b"1E5",
        b"  [1.0, 2.50, 1e-7]  ",
    ],
)
def test_what_orjson_reads_otherwise_is_read_as_the_standard_library_reads_it(
    parser: str, body: bytes
) -> None:
    parsed = parse_answer(body)
    expected = json.loads(body)
    assert repr(parsed) == repr(expected)


@pytest.mark.parametrize(
    ("body", "what"),
    [
        (b'{"zoom": NaN}', "NaN"),
        (b"[Infinity]", "Infinity"),
        (b"[-Infinity]", "-Infinity"),
        (b"[1e400]", "the number 1e400, too large for a float"),
    ],
)
def test_nan_and_infinity_are_refused_by_both(parser: str, body: bytes, what: str) -> None:
    with pytest.raises(NonFiniteNumber) as caught:
        parse_answer(body)
    assert caught.value.what == what


@pytest.mark.parametrize("body", [b"{", b"[1,]", b"nul", b"\xff\xfe"])
def test_what_is_not_json_is_refused_by_both(parser: str, body: bytes) -> None:
    with pytest.raises(ValueError, match=r".") as caught:
        parse_answer(body)
    assert not isinstance(caught.value, NonFiniteNumber)


def _python_text(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


@settings(max_examples=300, deadline=None)
@given(value=_values)
def test_fast_text_is_the_standard_librarys_or_none(value: Any) -> None:
    fast = dumps_indented(value)
    if fast is not None:
        assert fast == _python_text(value)


def test_a_flow_with_float_positions_takes_the_fast_path() -> None:
    flow = {
        "uuid": "u",
        "name": 'Orders \u00e9\u2028\x1f"\\',
        "nodes": [
            {"id": f"n{i}", "position": {"x": 250.5 + i, "y": -17.25}, "data": {"n": i}}
            for i in range(20)
        ],
        "viewport": {"x": 0, "y": 0, "zoom": 0.8},
        "tags": ("a", "b"),
        "timeout": None,
        "isValid": True,
    }
    fast = dumps_indented(flow)
    assert fast is not None
    assert fast == _python_text(flow)
    made = encode_ahead(flow, "    ", parsed=True)
    assert made == encode_ahead(flow, "    ")  # the standard library's way
    assert made.indent == "    "


@pytest.mark.parametrize(
    "value",
    [
        {"small": 1e-05},  # orjson writes 0.00001
        {"small": [0.5, -3.25e-07]},
        {"big": 2**70},  # past orjson's integers
        {1: "a key that is not text"},
        {"text": "\ud800"},  # a lone surrogate
    ],
)
def test_what_orjson_would_write_otherwise_is_left_to_the_caller(value: Any) -> None:
    assert dumps_indented(value) is None
    if not any(isinstance(key, int) for key in value):
        made = encode_ahead(value, "  ", parsed=True)
        assert made == encode_ahead(value, "  ")


def test_without_orjson_nothing_is_encoded_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fast_json, "_orjson", None)
    assert dumps_indented({"a": 1}) is None
    assert encode_ahead({"a": 1}, parsed=True) == '{\n  "a": 1\n}'


def test_unparsed_values_keep_the_strict_encoder() -> None:
    """Only a value from a strict parser may take the fast path: orjson writes NaN as
    null, where the canonical encoder refuses it."""
    with pytest.raises(ValueError, match="nan"):
        encode_ahead({"zoom": math.nan})
    with pytest.raises(ValueError, match="nan"):
        dumps_canonical({"zoom": math.nan})


# -- request bodies ---------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(value=_values)
def test_a_request_body_holds_the_value_given(value: Any) -> None:
    """Whatever path encodes it (orjson, or the standard library for what orjson refuses
    or where it wrote a null), the server reads back the very value."""
    body = fast_json.dumps_body(value)
    assert isinstance(body, bytes)
    assert repr(json.loads(body)) == repr(json.loads(json.dumps(value)))


@pytest.mark.parametrize(
    "value",
    [
        {"nodes": [{"x": math.nan}]},
        [math.inf],
        {"a": None, "b": -math.inf},  # a null beside it: orjson's null for NaN is not trusted
    ],
)
def test_a_request_body_never_carries_nan_or_infinity(parser: str, value: Any) -> None:
    with pytest.raises(ValueError, match="JSON compliant"):
        fast_json.dumps_body(value)


def test_a_request_body_is_utf8_json_of_what_orjson_refuses_too(parser: str) -> None:
    value = {"big": 2**70, 1: "non-text key", "text": "é \ud800"}
    assert json.loads(fast_json.dumps_body(value)) == {
        "big": 2**70,
        "1": "non-text key",
        "text": "é \ud800",
    }


def test_a_request_body_holding_null_is_still_encoded_fast() -> None:
    """Nearly every flow holds a null: orjson's text is kept when it reads back as the
    value given, rather than written again by the standard library."""
    value = {"nodes": [{"data": {"value": None, "x": 1.5, "on": True}}], "tags": []}
    assert fast_json.dumps_body(value) == fast_json._orjson.dumps(value)
