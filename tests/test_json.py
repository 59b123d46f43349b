"""The canonical JSON writer is byte-identical to json.dumps, only faster."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ziggy_migrate._bundle.json_text import (
    JSONRejected,
    canonical_parts,
    dumps_canonical,
    encode_ahead,
    loads_strict,
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=40,
)


@settings(max_examples=300)
@given(json_values)
def test_same_bytes_as_json_dumps(value: Any) -> None:
    expected = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert dumps_canonical(value) == expected


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, {"a": [math.nan]}])
def test_nan_and_infinity_are_refused(bad: Any) -> None:
    with pytest.raises(ValueError, match="not JSON"):
        dumps_canonical(bad)


def test_non_json_values_are_refused() -> None:
    with pytest.raises(TypeError):
        dumps_canonical({"a": object()})
    with pytest.raises(TypeError):
        dumps_canonical({1: "a"})


def _nested(value: Any, beside: Any, depth: int) -> Any:
    """``value`` placed ``depth`` containers down, next to other data."""
    for level in range(depth):
        value = {"inner": value, "other": beside} if level % 2 else [beside, value]
    return value


@settings(max_examples=200)
@given(
    json_values,
    json_values,
    st.integers(min_value=0, max_value=4),
    st.integers(min_value=0, max_value=4),
)
def test_text_made_ahead_is_written_as_the_value_would_be(
    value: Any, beside: Any, depth: int, made_for: int
) -> None:
    """An export encodes flows as they arrive (EncodedJSON), for the depth they will be
    written at; the file must not change, and text made for another depth still fits."""
    made_ahead = encode_ahead(value, "  " * made_for)
    assert made_ahead.indent == "  " * made_for
    expected = dumps_canonical(_nested(value, beside, depth))
    assert dumps_canonical(_nested(made_ahead, beside, depth)) == expected
    assert "".join(canonical_parts(_nested(made_ahead, beside, depth))) == expected


def test_an_integer_too_long_for_python_is_refused_with_its_place() -> None:
    text = '{\n  "a": ' + "7" * 5000 + "\n}"
    with pytest.raises(JSONRejected, match=r"a number too long to read at line 2, column 8"):
        loads_strict(text)
