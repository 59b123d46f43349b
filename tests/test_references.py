"""find_references, the tight walk every export, load and import runs, against a plain one."""

from __future__ import annotations

import re
from collections import OrderedDict
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ziggy_migrate._bundle import references
from ziggy_migrate._bundle.references import (
    MAX_GRAPH_DEPTH,
    GraphTooDeepError,
    References,
    find_references,
)
from ziggy_migrate._vocabulary.models import ItemKind

KEYS = [
    "connectionUuid",
    "modelConnectionUuid",
    "CONNECTIONUUID",
    "flowUuid",
    "subFlowUuid",
    "subflowUuid",
    "otherFlowUuid",
    "structureUuid",
    "variableUuid",
    "uuid",
    "data",
    "code",
    "id",
]
TEXTS = st.sampled_from(
    [
        "",
        "abc",
        "u-1",
        "secrets.PG",
        "x = secrets.A_1 + secrets.b$",
        "{secrets.KEY}",
        "mysecrets.NO",
    ]
)
graphs = st.recursive(
    st.none() | st.booleans() | st.integers() | TEXTS,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS), children, max_size=4)
    ),
    max_leaves=30,
)

_SECRET = re.compile(r"(?<![A-Za-z0-9_$.])secrets\.([A-Za-z_$][A-Za-z0-9_$]*)")


def plain_references(graph: Any) -> References:
    """The rules of references.py written the obvious way."""
    found: dict[ItemKind, set[str]] = {kind: set() for kind in ItemKind}

    def kind_of(key: str) -> ItemKind | None:
        lowered = key.lower()
        if lowered.endswith("connectionuuid"):
            return ItemKind.CONNECTION
        if lowered in ("flowuuid", "subflowuuid"):
            return ItemKind.FLOW
        if lowered.endswith("structureuuid"):
            return ItemKind.STRUCTURE
        if lowered.endswith("variableuuid"):
            return ItemKind.VARIABLE
        return None

    def visit(key: str | None, value: Any) -> None:
        if isinstance(value, str):
            found[ItemKind.SECRET].update(_SECRET.findall(value))
            kind = kind_of(key) if key is not None else None
            if value and kind is not None:
                found[kind].add(value)
        elif isinstance(value, dict):
            for entry_key, entry in value.items():
                visit(entry_key, entry)
        elif isinstance(value, list):
            for entry in value:
                visit(key, entry)  # a string in a list sits under the list's key

    if isinstance(graph, (dict, list)):  # a graph is a container; a bare value holds none
        visit(None, graph)
    return References(
        connection_uuids=frozenset(found[ItemKind.CONNECTION]),
        flow_uuids=frozenset(found[ItemKind.FLOW]),
        structure_uuids=frozenset(found[ItemKind.STRUCTURE]),
        variable_uuids=frozenset(found[ItemKind.VARIABLE]),
        secret_names=frozenset(found[ItemKind.SECRET]),
    )


@settings(max_examples=400)
@given(graphs)
def test_the_fast_walk_finds_what_the_plain_rules_find(graph: Any) -> None:
    assert find_references(graph) == plain_references(graph)


def test_dict_and_str_subclasses_are_walked_too() -> None:
    class Text(str):
        pass

    graph = [
        OrderedDict(connectionUuid=Text("c-1"), code=Text("secrets.KEY")),
        {Text("flowUuid"): "f-1"},
    ]
    assert find_references(graph) == References(
        connection_uuids=frozenset({"c-1"}),
        flow_uuids=frozenset({"f-1"}),
        secret_names=frozenset({"KEY"}),
    )


def test_depth_is_bounded() -> None:
    graph: Any = "leaf"
    for _ in range(MAX_GRAPH_DEPTH + 2):
        graph = [graph]
    with pytest.raises(GraphTooDeepError):
        find_references(graph)
    shallow: Any = "secrets.OK"
    for _ in range(MAX_GRAPH_DEPTH):
        shallow = {"data": shallow}
    assert find_references(shallow).secret_names == {"OK"}


def test_keys_past_the_remembered_ones_are_still_judged() -> None:
    """The walk remembers which keys end in "uuid" up to a limit; keys met after the
    limit is reached are judged afresh, with the same answer."""
    many = {f"key{index}": "x" for index in range(references._UUID_KEYS_LIMIT + 10)}
    find_references(many)
    assert len(references._UUID_KEYS) <= references._UUID_KEYS_LIMIT
    graph = {"lateConnectionUuid": "c-9", "late": "n-1", "key5": "x"}
    assert find_references(graph) == References(connection_uuids=frozenset({"c-9"}))
