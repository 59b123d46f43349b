"""Parsing a bundle file as it is read gives what parsing its whole text gives.

``load_strict`` must return exactly what ``loads_strict`` of the file's text returns,
whatever the formatting and wherever the chunk boundaries fall, and refuse broken files
with exactly the same exceptions. The fast path itself (``_Parser``) is checked directly
on valid documents, so that a silent fall back to the slow path cannot hide a bug in it.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ziggy_migrate import BundleError, load_bundle, load_bundle_text
from ziggy_migrate._bundle.json_stream import _Parser, load_strict
from ziggy_migrate._bundle.json_text import loads_strict

GOLDEN_V1 = Path(__file__).parent / "golden" / "bundle-v1.json"


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder for the files under test (module-scoped, so hypothesis can use it)."""
    return tmp_path_factory.mktemp("json-stream")


def write(folder: Path, text: str, name: str = "doc.json") -> Path:
    path = folder / name
    path.write_bytes(text.encode("utf-8"))  # bytes: no newline translation on the way out
    return path


def fast_path(path: Path, chunk_size: int) -> Any:
    """The streaming parser alone: raises where ``load_strict`` would fall back."""
    with path.open(encoding="utf-8", errors="strict") as handle:
        return _Parser(handle, chunk_size).document()


def streamed(path: Path, chunk_size: int) -> Any:
    with path.open(encoding="utf-8", errors="strict") as handle:
        return load_strict(handle, chunk_size=chunk_size)


def same(a: Any, b: Any) -> bool:
    """Equal, with the same types throughout (``1 == 1.0 == True`` is not enough)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[key], b[key]) for key in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, float):
        return repr(a) == repr(b)  # tells -0.0 from 0.0
    return bool(a == b)


def outcome(call: Callable[[], Any]) -> tuple[Any, ...]:
    """What a parse returned, or the type and message of what it raised."""
    try:
        return ("returned", call())
    except Exception as exc:
        return (type(exc), str(exc))


# -- random documents, random formatting, random chunks ----------------------------------

texts = st.text(
    st.characters(codec="utf-8") | st.sampled_from('"\\/\b\f\n\r\t\x00\x1f é€😀'), max_size=12
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**300), max_value=10**300)
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(texts, children, max_size=5),
    max_leaves=30,
)
documents = st.dictionaries(texts, json_values | st.lists(json_values, max_size=8), max_size=6)


def spaces(rnd: random.Random) -> str:
    return rnd.choice(["", "", "", " ", "\n", "\t", "\r\n", "  \n    ", " \t\r\n "])


def string_text(text: str, rnd: random.Random) -> str:
    """``text`` as a JSON string: escaped as json.dumps does, or with random escapes."""
    mode = rnd.randrange(3)
    if mode < 2:
        return json.dumps(text, ensure_ascii=bool(mode))
    out = []
    for char in text:
        code = ord(char)
        if char in '"\\' or code < 0x20 or rnd.random() < 0.4:
            if code > 0xFFFF:  # as a surrogate pair
                code -= 0x10000
                out.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04X}")
            elif char == "/" and rnd.random() < 0.5:
                out.append("\\/")
            else:
                out.append(f"\\u{code:04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def json_text(value: Any, rnd: random.Random) -> str:
    """``value`` as JSON text with random whitespace, escapes and number spellings."""
    if isinstance(value, dict):
        members = [
            spaces(rnd) + string_text(key, rnd) + spaces(rnd) + ":" + spaces(rnd)
            + json_text(item, rnd) + spaces(rnd)
            for key, item in value.items()
        ]  # fmt: skip
        return "{" + (",".join(members) or spaces(rnd)) + "}"
    if isinstance(value, list):
        items = [spaces(rnd) + json_text(item, rnd) + spaces(rnd) for item in value]
        return "[" + (",".join(items) or spaces(rnd)) + "]"
    if isinstance(value, str):
        return string_text(value, rnd)
    if isinstance(value, float):
        return rnd.choice([repr(value), repr(value).replace("e", "E"), f"{value:.17e}"])
    return json.dumps(value)


@settings(max_examples=300, deadline=None)
@given(documents, st.randoms(use_true_random=False), st.integers(1, 64))
def test_same_result_as_json_loads(
    scratch: Path, document: dict[str, Any], rnd: random.Random, chunk_size: int
) -> None:
    text = spaces(rnd) + json_text(document, rnd) + spaces(rnd)
    path = write(scratch, text)
    expected = json.loads(text)
    assert same(fast_path(path, chunk_size), expected)
    assert same(streamed(path, chunk_size), expected)


# -- chunk boundaries ----------------------------------------------------------------------

BOUNDARY_CASES = {
    "numbers": '{"a": 12345, "b": [1.5e-3, 678, -0.25E+2, 0, -0, 1E9, 10.0e1], "c": -7}',
    "escapes": r'{"k\u00e9y": "a\n\"b\ud83d\ude00c\\", "l": ["\/\t\u20ac", "\\\""]}',
    "empty": '{"a": [], "b": {}, "c": [[], {}], "d": "", "e": [""]}',
    "scalars": '{"s": "x", "n": null, "t": true, "f": false, "i": -3, "o": {"x": [1, 2.5]}}',
    "whitespace": ' \r\n\t{ "a" :\n[ 1 ,\t2 ] ,"b"\n:\n{ } \n}\n\n ',
    "bom": '\ufeff{"a": [1, "é", {"b": null}]}',
    "non-ASCII": '{"名前": ["東京", "☕", "😀"], "é": {"ü": "ß"}}',
    "nothing": "{}",
}


@pytest.mark.parametrize("text", BOUNDARY_CASES.values(), ids=BOUNDARY_CASES.keys())
def test_every_chunk_boundary(scratch: Path, text: str) -> None:
    path = write(scratch, text)
    expected = json.loads(text.removeprefix("\ufeff"))
    for chunk_size in range(1, len(text) + 2):
        assert same(fast_path(path, chunk_size), expected), chunk_size


def test_an_element_larger_than_many_chunks(scratch: Path) -> None:
    big = {"nodes": [{"id": f"n{i}", "data": {"label": "é" * i}} for i in range(200)]}
    text = json.dumps({"flows": [1, big, big, "x" * 5000, 2], "z": big}, ensure_ascii=False)
    path = write(scratch, text)
    for chunk_size in (1, 7, 64, 1000):
        assert same(fast_path(path, chunk_size), json.loads(text))


def test_a_real_bundle_at_every_small_chunk_size(scratch: Path) -> None:
    text = GOLDEN_V1.read_text("utf-8")
    path = write(scratch, text)
    expected = json.loads(text)
    for chunk_size in range(1, 200):
        assert same(fast_path(path, chunk_size), expected)


def test_a_file_that_cannot_seek_is_read_whole() -> None:
    read_end, write_end = os.pipe()
    with os.fdopen(write_end, "wb") as pipe:
        pipe.write(b'{"a": [1, 2]}')
    with open(read_end, encoding="utf-8", errors="strict") as handle:
        assert not handle.seekable()
        assert load_strict(handle) == {"a": [1, 2]}


# -- broken documents: the same refusal as parsing the whole text --------------------------

# Broken as JSON, or (top-level array, string...) valid JSON that is not a bundle.

BROKEN = {
    "empty": "",
    "blank": "  \n ",
    "truncated in a key": '{"schemaVersion": 1, "flo',
    "truncated in an array": '{"schemaVersion": 1, "flows": [{"a": 1}, {"b": [1, 2',
    "truncated after a value": '{"schemaVersion": 1, "flows": []',
    "truncated number": '{"schemaVersion": 1',
    "open brace": "{",
    "trailing garbage": '{"schemaVersion": 1} x',
    "second document": '{"schemaVersion": 1}{"a": 2}',
    "extra brace": '{"schemaVersion": 1}}',
    "trailing comma": '{"schemaVersion": 1,}',
    "trailing comma in an array": '{"flows": [1, 2,], "schemaVersion": 1}',
    "trailing comma in a value": '{"flows": [{"a": 1,}], "schemaVersion": 1}',
    "missing colon": '{"schemaVersion" 1}',
    "missing comma": '{"schemaVersion": 1 "flows": []}',
    "missing comma in an array": '{"flows": [1 2]}',
    "unquoted key": "{schemaVersion: 1}",
    "single quotes": "{'schemaVersion': 1}",
    "control character": '{"a": "x\ty"}',
    "bad escape": '{"a": "\\x"}',
    "NaN": '{"schemaVersion": NaN}',
    "NaN in an array": '{"flows": [1, NaN]}',
    "-Infinity deep down": '{"flows": [{"viewport": {"zoom": -Infinity}}]}',
    "1e999": '{"schemaVersion": 1e999}',
    "-1e999 in an array": '{"flows": [1, -1e999]}',
    "an integer of 5000 digits": '{"schemaVersion": 1, "flows": [' + "7" * 5000 + "]}",
    "lone surrogate": '{"a": "\\ud800"}',
    "lone surrogate key": '{"\\udc00": 1}',
    "lone surrogate in an array": '{"flows": ["x\\udfff"]}',
    "top-level array": "[]",
    "top-level array of objects": '[{"schemaVersion": 1}]',
    "top-level string": '"schemaVersion"',
    "top-level number": "12",
    "top-level null": "null",
    "two BOMs": '\ufeff\ufeff{"schemaVersion": 1}',
    "deep arrays": '{"flows": ' + "[" * 100_000,
    "deep objects": '{"a": ' * 100_000,
    "deep top-level array": "[" * 100_000,
    "a key twice at the top": '{"schemaVersion": 1, "flows": [{"a": 1}], "flows": []}',
    "a key twice in an element": '{"flows": [{"a": 1}, {"name": "x", "name": "y"}]}',
    "a key twice in a member": '{"provenance": {"a": {"b": 1, "b": 1}}, "flows": []}',
    "a key twice, the outer one drops the inner": '{"a": {"b": 1, "b": 2}, "a": 3}',
}


@pytest.mark.parametrize("text", BROKEN.values(), ids=BROKEN.keys())
def test_broken_documents_raise_what_loads_strict_raises(scratch: Path, text: str) -> None:
    path = write(scratch, text)
    expected = outcome(lambda: loads_strict(text.removeprefix("\ufeff")))
    for chunk_size in (1, 3, 16, 1 << 18):
        assert outcome(lambda: streamed(path, chunk_size)) == expected  # noqa: B023


@pytest.mark.parametrize("text", BROKEN.values(), ids=BROKEN.keys())
def test_broken_files_give_the_same_bundle_error(scratch: Path, text: str) -> None:
    path = write(scratch, text)
    with pytest.raises(BundleError) as from_bytes:
        load_bundle_text(text.encode("utf-8"))  # the whole text, parsed at once
    with pytest.raises(BundleError) as from_file:
        load_bundle(path)
    assert from_file.value.reason == from_bytes.value.reason
    assert from_file.value.location == from_bytes.value.location


def test_lone_surrogate_fails_but_a_surrogate_pair_loads(scratch: Path) -> None:
    assert fast_path(write(scratch, '{"a": ["\\ud83d\\ude00"]}'), 4) == {"a": ["😀"]}
    with pytest.raises(BundleError, match="lone surrogate"):
        load_bundle(write(scratch, '{"a": ["\\ud83d"]}'))


def test_invalid_utf8_after_the_first_chunk_propagates(scratch: Path) -> None:
    path = scratch / "latin1.json"
    path.write_bytes(b'{"a": "' + b"x" * 100 + b'\xe9"}')
    with path.open(encoding="utf-8", errors="strict") as handle, pytest.raises(UnicodeDecodeError):
        load_strict(handle, chunk_size=8)
    with pytest.raises(BundleError, match=r"not UTF-8 text \(invalid byte at offset 107\)"):
        load_bundle(path)


# -- memory: equal strings are one object ---------------------------------------------------


def test_equal_strings_of_different_flows_are_one_object() -> None:
    """What keeps a large bundle's document small: one object per repeated string."""
    bundle = load_bundle(GOLDEN_V1)
    helper, orders = bundle.flows
    assert helper.execution_history_level == orders.execution_history_level == "USE_DEFAULT"
    assert helper.execution_history_level is orders.execution_history_level
    # A flow's reference and the connection it refers to, from different top-level members.
    warehouse = bundle.connections[0].uuid
    assert orders.nodes[0]["data"]["connectionUuid"] is warehouse
    # Keys, across flows.
    assert next(iter(helper.nodes[0])) is next(iter(orders.nodes[0])) == "data"
