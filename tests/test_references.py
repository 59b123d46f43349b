"""find_references, the tight walk every export, load and import runs, and rewrite, the one
every import runs over each flow it writes, each against a plain one."""

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
    rewrite,
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
    """The walk remembers what each key refers to up to a limit; keys met after the
    limit is reached are judged afresh, with the same answer."""
    many = {f"key{index}": "x" for index in range(references._KEY_REFERS_LIMIT + 10)}
    find_references(many)
    assert len(references._KEY_REFERS) <= references._KEY_REFERS_LIMIT
    graph = {"lateConnectionUuid": "c-9", "late": "n-1", "key5": "x"}
    assert find_references(graph) == References(connection_uuids=frozenset({"c-9"}))


# -- rewrite --------------------------------------------------------------------------------

U1 = "0b7e4c1a-3f2d-4e5b-9a8c-1d2e3f4a5b6c"
U2 = "9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a"
UNMAPPED = "11111111-2222-4333-8444-555555555555"
UUIDS = {U1: "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa", U2: "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"}
NAMES = {"PG": "PG_PROD", "KEY": "KEY_2"}
REWRITE_TEXTS = st.sampled_from(
    [
        "",
        "abc",
        U1,
        U2,
        UNMAPPED,
        U1.upper(),  # not mapped: the map's keys are what the bundle holds
        f"https://host/flows/{U1}/run?also={UNMAPPED}",
        f"{U2}{U1}",
        f"x{U1}-",
        "secrets.PG",
        "use secrets.KEY and secrets.OTHER, {secrets.PG}",
        f"secrets.PG at {U2}",
        "mysecrets.PG",
    ]
)
rewrite_graphs = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | REWRITE_TEXTS,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from([*KEYS, U1]), children, max_size=4)
    ),
    max_leaves=30,
)
_UUID_TOKEN = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)


def plain_rewrite(value: Any, uuids: dict[str, str], names: dict[str, str]) -> Any:
    """The rules of ``rewrite`` written the obvious way: a whole string that is a mapped
    UUID is replaced, else every mapped UUID token in it, then every renamed secret."""
    if isinstance(value, str):
        if value in uuids:
            return uuids[value]
        value = _UUID_TOKEN.sub(lambda m: uuids.get(m.group(0), m.group(0)), value)
        return _SECRET.sub(lambda m: "secrets." + names.get(m.group(1), m.group(1)), value)
    if isinstance(value, dict):
        return {key: plain_rewrite(item, uuids, names) for key, item in value.items()}
    if isinstance(value, list):
        return [plain_rewrite(item, uuids, names) for item in value]
    return value


@settings(max_examples=400)
@given(rewrite_graphs, st.sampled_from([(UUIDS, NAMES), (UUIDS, {}), ({}, NAMES), ({}, {})]))
def test_rewrite_replaces_what_the_plain_rules_replace_and_changes_nothing(
    graph: Any, maps: tuple[dict[str, str], dict[str, str]]
) -> None:
    uuids, names = maps
    before = repr(graph)
    assert repr(rewrite(graph, uuids, names)) == repr(plain_rewrite(graph, uuids, names))
    assert repr(graph) == before  # the value given is never changed


def test_rewrite_copies_only_what_holds_something_to_replace() -> None:
    untouched = {"position": {"x": 1, "y": 2}, "cases": ["open", UNMAPPED]}
    data = {"connectionUuid": U1, "label": "sql"}
    node: dict[str, Any] = {"data": data, "style": untouched}
    graph = [node, untouched]
    done = rewrite(graph, UUIDS, NAMES)
    assert done == [
        {"data": {"connectionUuid": UUIDS[U1], "label": "sql"}, "style": untouched},
        untouched,
    ]
    assert done is not graph and done[0] is not node and done[0]["data"] is not data
    assert done[1] is untouched and done[0]["style"] is untouched  # shared, not copied
    assert data["connectionUuid"] == U1
    nothing = [{"a": ["b", 1, None]}]
    assert rewrite(nothing, UUIDS, NAMES) is nothing


def test_a_uuid_mapped_to_itself_is_nothing_to_replace() -> None:
    """An item matched by its UUID keeps it: the graph is shared, not copied, even where
    the target's UUID is another string object of the same text (as a server's is)."""
    graph = [{"data": {"connectionUuid": U1}}, {"flowUuid": U1}]
    itself = U1[:18] + U1[18:]
    assert itself is not U1
    assert rewrite(graph, {U1: itself}, {}) is graph


def test_with_nothing_mapped_the_graph_is_not_walked() -> None:
    class Unwalkable(dict[str, Any]):
        def items(self) -> Any:
            raise AssertionError("walked")

    graph = [Unwalkable(flowUuid=U1)]
    assert rewrite(graph, {}, {}) is graph
    with pytest.raises(AssertionError, match="walked"):
        rewrite(graph, UUIDS, {})


def test_rewrite_takes_subclasses_of_text_and_containers_too() -> None:
    class Text(str):
        pass

    graph = OrderedDict(flowUuid=Text(U1), code=[Text("secrets.PG")], n=(U1,))
    assert rewrite(graph, UUIDS, NAMES) == {
        "flowUuid": UUIDS[U1],
        "code": ["secrets.PG_PROD"],
        "n": (U1,),  # a tuple is no JSON container: left as it is
    }
