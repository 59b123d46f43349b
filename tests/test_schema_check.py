"""The compiled schema check says "valid" exactly when jsonschema does.

``schema_check.compile_schema`` is a fast path in front of ``jsonschema``: a document
it accepts is not validated again. So for the real bundle schema, and the flow
definition alone, documents made by breaking a valid bundle at random places are judged
by both, and must be judged the same; keywords it does not know make it give up.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ziggy_migrate import bundle_schema
from ziggy_migrate._bundle.bundle import CURRENT_SCHEMA_VERSION
from ziggy_migrate._bundle.schema_check import compile_schema

GOLDEN = Path(__file__).parent / "golden" / f"bundle-v{CURRENT_SCHEMA_VERSION}.json"
SCHEMA = bundle_schema()
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
CHECK = compile_schema(SCHEMA)
FLOW_SCHEMA = {"$schema": SCHEMA["$schema"], "$defs": SCHEMA["$defs"], "$ref": "#/$defs/flow"}
FLOW_VALIDATOR = jsonschema.Draft202012Validator(FLOW_SCHEMA)
FLOW_CHECK = compile_schema(FLOW_SCHEMA)


def _golden() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(GOLDEN.read_text("utf-8"))
    return document


def test_the_bundle_schema_compiles_and_accepts_the_golden_file() -> None:
    assert CHECK is not None
    assert FLOW_CHECK is not None
    document = _golden()
    assert VALIDATOR.is_valid(document)
    assert CHECK(document)
    assert all(FLOW_CHECK(flow) for flow in document["flows"])


_JUNK = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-3, max_value=3)
    | st.sampled_from([1.0, 1.5, 0.0, -2.0])
    | st.sampled_from(["", "x", "secret", "connection", "1bad name", "A" * 201, "ok_NAME"])
    | st.lists(st.sampled_from(["a", 1, None]), max_size=3)
    | st.dictionaries(st.sampled_from(["uuid", "name", "extra"]), st.just("v"), max_size=2)
)


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*path, index))
    return found


def _broken(document: Any, choices: st.DataObject) -> Any:
    """The document with a few random changes: a value replaced, a key dropped or added."""
    document = copy.deepcopy(document)
    for _ in range(choices.draw(st.integers(min_value=1, max_value=3))):
        paths = _paths(document)
        path = choices.draw(st.sampled_from(paths))
        if not path:
            continue
        *head, last = path
        holder = document
        for step in head:
            holder = holder[step]
        change = choices.draw(st.sampled_from(["replace", "drop", "add"]))
        if change == "replace":
            holder[last] = choices.draw(_JUNK)
        elif change == "drop" and isinstance(holder, dict):
            del holder[last]
        elif change == "drop" and isinstance(holder, list):
            holder.pop(last)
        elif isinstance(holder, dict):
            holder[choices.draw(st.sampled_from(["extra", "uuid", "name", "kind"]))] = choices.draw(
                _JUNK
            )
    return document


@settings(max_examples=400, deadline=None)
@given(choices=st.data())
def test_broken_bundles_are_judged_as_jsonschema_judges_them(choices: st.DataObject) -> None:
    assert CHECK is not None
    document = _broken(_golden(), choices)
    assert CHECK(document) == VALIDATOR.is_valid(document)


@settings(max_examples=400, deadline=None)
@given(choices=st.data())
def test_broken_flows_are_judged_as_jsonschema_judges_them(choices: st.DataObject) -> None:
    assert FLOW_CHECK is not None
    flows = _golden()["flows"]
    flow = _broken(choices.draw(st.sampled_from(flows)), choices)
    assert FLOW_CHECK(flow) == FLOW_VALIDATOR.is_valid(flow)


@pytest.mark.parametrize(
    ("schema", "good", "bad"),
    [
        ({"type": "integer"}, [1, 1.0, -5], [True, 1.5, "1", None]),
        ({"type": ["string", "null"]}, ["", None], [0, False, []]),
        ({"type": "number"}, [1, 1.5], [True, "1"]),
        ({"const": 1}, [1, 1.0], [True, "1", 2]),
        ({"enum": ["a", "b"]}, ["a"], ["c", 1, None, ["a"]]),
        ({"maxLength": 2}, ["\U0001f600\U0001f600", 5, None], ["abc"]),
        ({"pattern": "^[a-z]+$"}, ["abc", 3], ["ab1", ""]),
        (
            {"properties": {"a": {"type": "string"}}, "additionalProperties": False},
            [{}, {"a": "x"}, "not an object"],
            [{"a": 1}, {"b": 1}],
        ),
        ({"required": ["a"]}, [{"a": None}, []], [{}, {"b": 1}]),
        ({"items": {"type": "string"}, "maxItems": 2}, [[], ["a", "b"], {}], [["a", 1], ["a"] * 3]),
    ],
)
def test_each_keyword_means_what_jsonschema_says(
    schema: dict[str, Any], good: list[Any], bad: list[Any]
) -> None:
    check = compile_schema(schema)
    assert check is not None
    validator = jsonschema.Draft202012Validator(schema)
    for value in good:
        assert validator.is_valid(value), value
        assert check(value), value
    for value in bad:
        assert not validator.is_valid(value), value
        assert not check(value), value


@pytest.mark.parametrize(
    "schema",
    [
        {"minimum": 1},
        {"additionalProperties": {"type": "string"}},
        {"prefixItems": [{"type": "string"}]},
        {"patternProperties": {"^x": {}}, "additionalProperties": False},
        {"enum": [1, "a"]},
        {"const": {"a": 1}},
        {"$ref": "https://example.com/other.json"},
        {"$ref": "#/$defs/missing"},
        {"type": "date"},
        {"properties": {"a": {"format": "email"}}},
    ],
)
def test_what_it_does_not_know_it_leaves_to_jsonschema(schema: dict[str, Any]) -> None:
    assert compile_schema(schema) is None


def test_a_recursive_definition_compiles() -> None:
    schema = {
        "$defs": {
            "node": {
                "type": "object",
                "properties": {"children": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
            }
        },
        "$ref": "#/$defs/node",
    }
    check = compile_schema(schema)
    assert check is not None
    assert check({"children": [{"children": []}]})
    assert not check({"children": [{"children": [5]}]})
