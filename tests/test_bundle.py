"""The bundle format: load, save, validate, migrate (schedules and format 2 in detail:
``test_schedules.py``).

Bundles are made the way users make them, by ``export_flows`` from a (emulated) server;
broken and hostile inputs are made by editing that JSON. Every refusal must be a
``BundleError`` with a one-line message that points at the place to fix; everything
else (round trips, canonical text, atomic writes, the golden file) is checked on the
bytes actually written.
"""

from __future__ import annotations

import copy
import errno
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import attrs
import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ziggy_migrate
from ziggy_migrate import (
    CURRENT_SCHEMA_VERSION,
    Bundle,
    BundleError,
    Flow,
    ItemKind,
    RetryPolicy,
    UnresolvedReference,
    ZiggyClient,
    ZiggyError,
    dump_bundle,
    export_flows,
    load_bundle,
    load_bundle_text,
    save_bundle,
)
from ziggy_migrate._bundle import bundle as bundle_module
from ziggy_migrate._bundle.bundle import bundle_schema, check_bundle
from ziggy_migrate.testing import ZiggyEmulator

GOLDEN_V1 = Path(__file__).parent / "golden" / "bundle-v1.json"
PLANTED_SECRET_VALUE = "planted-s3cret-value-4d1e"

# Fixed UUIDs, so that the sample export is the same on every run.
ORDERS = "0b6c2a1e-0000-4000-8000-000000000001"
HELPER = "0b6c2a1e-0000-4000-8000-000000000002"
REPORT = "0b6c2a1e-0000-4000-8000-000000000003"
WAREHOUSE = "0b6c2a1e-0000-4000-8000-0000000000c1"
UNUSED_CONNECTION = "0b6c2a1e-0000-4000-8000-0000000000c2"
PG_PASSWORD = "0b6c2a1e-0000-4000-8000-0000000000b1"
API_KEY = "0b6c2a1e-0000-4000-8000-0000000000b2"
UNUSED_SECRET = "0b6c2a1e-0000-4000-8000-0000000000b3"
ORDER_STRUCTURE = "0b6c2a1e-0000-4000-8000-0000000000d1"
REGION_VARIABLE = "0b6c2a1e-0000-4000-8000-0000000000e1"


def seed_sample(ziggy: ZiggyEmulator) -> None:
    """A small but complete server: every kind of item and every kind of reference."""
    value = "{ host: '%s', user: 'app', password: 'secrets.PG_PASSWORD', port: 5432 }"
    ziggy.add_connection(
        "Warehouse DB",
        uuid=WAREHOUSE,
        type="Postgres",
        description="orders database",
        dev_value=value % "db.dev.example.com",
        prod_value=value % "db.prod.example.com",
    )
    ziggy.add_connection("Unused", uuid=UNUSED_CONNECTION, type="SMTP")
    ziggy.add_secret("PG_PASSWORD", uuid=PG_PASSWORD, prod_value=PLANTED_SECRET_VALUE, group="db")
    ziggy.add_secret("API_KEY", uuid=API_KEY, dev_value=PLANTED_SECRET_VALUE, tags=["api"])
    ziggy.add_secret("UNUSED_SECRET", uuid=UNUSED_SECRET, prod_value=PLANTED_SECRET_VALUE)
    ziggy.add_structure(
        "Order",
        uuid=ORDER_STRUCTURE,
        value="interface Order { id: string; total: number }",
        tags=["sales"],
    )
    ziggy.add_variable("region", uuid=REGION_VARIABLE, value="eu-west-1", description="where")
    ziggy.add_flow(
        "Helper — Café ☕ 東京",
        uuid=HELPER,
        listener_type="API",  # as when the golden file was frozen (the default is now REST)
        is_subflow=True,
        nodes=[
            {
                "id": "h1",
                "type": "restCall",
                "data": {"url": "https://api.example.com/?key={secrets.API_KEY}"},
            }
        ],
    )
    ziggy.add_flow(
        "Orders",
        uuid=ORDERS,
        tags=["sales", "eu"],
        listener_type="CRON",
        nodes=[
            {"id": "1", "type": "sql", "data": {"connectionUuid": WAREHOUSE, "sql": "select 1"}},
            {"id": "2", "type": "subflow", "data": {"subflowUuid": HELPER}},
            {"id": "3", "type": "map", "data": {"structureUuid": ORDER_STRUCTURE}},
            {"id": "4", "type": "js", "data": {"variableUuid": REGION_VARIABLE, "code": "x"}},
        ],
        edges=[{"id": "e1", "source": "1", "target": "2"}],
        viewport={"x": 10, "y": -5.5, "zoom": 0.75},
        timeout=60,
        info="nightly import",
    )
    ziggy.add_flow("Zeta report", uuid=REPORT, tags=["reports"])


def export_sample(ziggy: ZiggyEmulator, **kwargs: Any) -> Bundle:
    with ZiggyClient(
        ziggy.url, ziggy.port, ziggy.username, ziggy.password, retry=RetryPolicy(attempts=1)
    ) as client:
        return export_flows(client, **kwargs).bundle


@pytest.fixture(scope="module")
def sample() -> Bundle:
    """The sample server's ``sales`` flows (with their subflow), exported once."""
    with ZiggyEmulator() as ziggy:
        seed_sample(ziggy)
        return export_sample(ziggy, tags=["sales"])


@pytest.fixture(scope="module")
def sample_document(sample: Bundle) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(dump_bundle(sample))
    return document


@pytest.fixture
def doc(sample_document: dict[str, Any]) -> dict[str, Any]:
    """A fresh, editable copy of the sample bundle's JSON document."""
    return copy.deepcopy(sample_document)


def index_of(items: list[dict[str, Any]], name: str) -> int:
    return next(i for i, item in enumerate(items) if item["name"] == name)


def encode(document: Any) -> bytes:
    return json.dumps(document, ensure_ascii=False).encode("utf-8")


def refused(source: str | bytes | os.PathLike[str]) -> BundleError:
    """Load ``source`` expecting a BundleError with a one-line message; return it."""
    is_text = isinstance(source, bytes) or (isinstance(source, str) and source[:1] == "{")
    with pytest.raises(BundleError) as caught:
        load_bundle_text(source) if is_text else load_bundle(source)  # type: ignore[arg-type]
    error = caught.value
    assert "\n" not in str(error), f"message is not one line: {str(error)!r}"
    assert "\r" not in str(error)
    return error


# ------------------------------------------------------------------ the sample itself


def test_sample_export_is_complete_and_secret_free(sample: Bundle) -> None:
    """The fixture everything below builds on: a closed bundle without secret values."""
    assert [flow.name for flow in sample.flows] == ["Helper — Café ☕ 東京", "Orders"]
    assert [c.name for c in sample.connections] == ["Warehouse DB"]
    assert [s.name for s in sample.secrets] == ["API_KEY", "PG_PASSWORD"]
    assert [s.name for s in sample.structures] == ["Order"]
    assert [v.name for v in sample.variables] == ["region"]
    assert sample.unresolved_references == ()
    assert sample.schema_version == CURRENT_SCHEMA_VERSION == 2
    assert PLANTED_SECRET_VALUE not in dump_bundle(sample)


# ------------------------------------------------------------------ round trips and text


def test_save_then_load_round_trip(sample: Bundle, tmp_path: Path) -> None:
    path = save_bundle(sample, tmp_path / "bundle.json")
    assert path == tmp_path / "bundle.json"
    loaded = load_bundle(path)
    assert loaded == sample
    assert load_bundle(str(path)) == sample
    assert load_bundle_text(path.read_bytes()) == sample
    assert load_bundle_text(path.read_text("utf-8")) == sample


def test_dump_is_canonical(sample: Bundle) -> None:
    text = dump_bundle(sample)
    document = json.loads(text)
    assert text == json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert text.endswith("}\n")
    assert not text.endswith("\n\n")
    assert '\n  "connections": [' in text  # two-space indent
    assert "Café ☕ 東京" in text  # non-ASCII kept as is...
    assert "\\u" not in text  # ...never escaped
    for kind in ItemKind:
        keys = [(item["name"], item["uuid"]) for item in document[kind.plural]]
        assert keys == sorted(keys), kind


def test_dump_sorts_items_by_name_then_uuid(sample: Bundle) -> None:
    shuffled = attrs.evolve(
        sample,
        flows=sample.flows[::-1],
        secrets=sample.secrets[::-1],
    )
    assert dump_bundle(shuffled) == dump_bundle(sample)
    twin_a = Flow(uuid="b-uuid", name="Same")
    twin_b = Flow(uuid="a-uuid", name="Same")
    early = Flow(uuid="z-uuid", name="Early")
    document = json.loads(dump_bundle(attrs.evolve(sample, flows=(twin_a, twin_b, early))))
    assert [(f["name"], f["uuid"]) for f in document["flows"]] == [
        ("Early", "z-uuid"),
        ("Same", "a-uuid"),
        ("Same", "b-uuid"),
    ]


def test_flow_texts_made_ahead_are_written_in_the_files_order(
    sample: Bundle, tmp_path: Path
) -> None:
    """An export hands save_bundle texts made as flows arrived (all, or some when others
    came later): the file is the same text dump_bundle makes, flows in name order."""
    twins = (Flow(uuid="b-uuid", name="Same"), Flow(uuid="a-uuid", name="Same"))
    bundle = attrs.evolve(sample, flows=(*sample.flows[::-1], *twins))
    expected = dump_bundle(bundle)
    every = {flow.uuid: bundle_module.encode_flow(flow) for flow in bundle.flows}
    some = {uuid: text for uuid, text in every.items() if uuid != "a-uuid"}
    for made in (every, some):
        path = bundle_module.save_encoded_bundle(
            bundle, tmp_path / "b.json", layout="file", encoded_flows=made
        )
        assert path.read_text("utf-8") == expected


def test_dump_sorts_unresolved_references(sample: Bundle) -> None:
    refs = (
        UnresolvedReference(item_uuid="b", kind=ItemKind.SECRET, reference="X"),
        UnresolvedReference(item_uuid="a", kind=ItemKind.SECRET, reference="Y"),
        UnresolvedReference(item_uuid="a", kind=ItemKind.CONNECTION, reference="z"),
    )
    document = json.loads(dump_bundle(attrs.evolve(sample, unresolved_references=refs)))
    assert [
        (r["itemUuid"], r["kind"], r["reference"]) for r in document["unresolvedReferences"]
    ] == [
        ("a", "connection", "z"),
        ("a", "secret", "Y"),
        ("b", "secret", "X"),
    ]


def test_dump_is_deterministic(sample: Bundle) -> None:
    first = dump_bundle(sample)
    again = load_bundle_text(first)
    assert dump_bundle(again) == first
    assert dump_bundle(sample) == first
    assert dump_bundle(copy.deepcopy(sample)) == first


def test_exporting_an_unchanged_server_twice_differs_only_in_exported_at() -> None:
    with ZiggyEmulator() as ziggy:
        seed_sample(ziggy)
        first = dump_bundle(export_sample(ziggy)).splitlines()
        second = dump_bundle(export_sample(ziggy)).splitlines()
    assert len(first) == len(second)
    differing = [(a, b) for a, b in zip(first, second, strict=True) if a != b]
    assert all('"exportedAt"' in a and '"exportedAt"' in b for a, b in differing)
    assert sum('"exportedAt"' in line for line in first) == 1
    assert [line for line in first if '"exportedAt"' not in line] == [
        line for line in second if '"exportedAt"' not in line
    ]


def test_export_records_references_the_source_could_not_resolve(tmp_path: Path) -> None:
    """A flow already broken on the source exports, loads, and keeps the broken refs."""
    missing_connection = "0b6c2a1e-0000-4000-8000-00000000dead"
    with ZiggyEmulator() as ziggy:
        ziggy.add_flow(
            "Broken",
            nodes=[
                {"id": "1", "data": {"connectionUuid": missing_connection}},
                {"id": "2", "data": {"code": "return secrets.GONE"}},
            ],
        )
        with ZiggyClient(ziggy.url, ziggy.port, "admin", "admin") as client:
            result = export_flows(client, path=tmp_path / "b.json")
    loaded = load_bundle(tmp_path / "b.json")
    assert loaded == result.bundle
    assert {(r.kind, r.reference) for r in loaded.unresolved_references} == {
        (ItemKind.CONNECTION, missing_connection),
        (ItemKind.SECRET, "GONE"),
    }


def test_whatever_export_writes_can_be_loaded(tmp_path: Path) -> None:
    with ZiggyEmulator() as ziggy:
        ziggy.add_flow("Orders")
        ziggy.add_flow("Orders")
        with ZiggyClient(ziggy.url, ziggy.port, "admin", "admin") as client:
            try:
                export_flows(client, path=tmp_path / "dup.json")
            except ZiggyError:
                return  # refusing at export time is fine too
    load_bundle(tmp_path / "dup.json")


def test_check_bundle_skips_only_flows_checked_one_by_one(sample: Bundle) -> None:
    """An export checks each flow as it arrives and tells check_bundle so; the rest of
    the document is still checked, and a flow not listed is checked where it stands."""
    uuids = [flow.uuid for flow in sample.flows]
    broken_connection = attrs.evolve(sample.connections[0], name="")
    with_bad_connection = attrs.evolve(
        sample, connections=(broken_connection, *sample.connections[1:])
    )
    with pytest.raises(BundleError) as caught:
        check_bundle(with_bad_connection, checked_flows=uuids)
    assert caught.value.location == "$.connections[0].name"

    bad_flow = attrs.evolve(sample.flows[-1], tags=("t" * 1001,))
    with_bad_flow = attrs.evolve(sample, flows=(*sample.flows[:-1], bad_flow))
    index = len(sample.flows) - 1  # flows are in name order already
    with pytest.raises(BundleError) as caught:
        check_bundle(with_bad_flow, checked_flows=uuids[:-1])
    assert caught.value.location == f"$.flows[{index}].tags[0]"
    check_bundle(with_bad_flow, checked_flows=uuids)  # the caller vouches for every flow


# ------------------------------------------------------------------ atomic writes


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


class _HalfWrite:
    """Replaces the temporary file's ``write``: half the text reaches the disk, then the
    disk is full. The worst moment for a crash: a truncated bundle exists."""

    def __call__(self, wrapper: Any, data: bytes) -> int:
        wrapper.file.write(data[: len(data) // 2])
        wrapper.file.flush()
        self.partial = Path(wrapper.name).read_bytes()
        raise OSError(errno.ENOSPC, "simulated I/O error")

    partial = b""


@pytest.mark.parametrize("crash_in", ["write", "fsync", "replace"])
def test_failed_write_keeps_the_old_file(
    sample: Bundle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, crash_in: str
) -> None:
    target = tmp_path / "bundle.json"
    target.write_text("the old bundle\n", encoding="utf-8")

    def crash(*args: object) -> None:
        raise OSError(errno.EIO, "simulated I/O error")

    half_write = _HalfWrite()

    def write(wrapper: Any, data: bytes) -> int:  # a function, so that it binds as a method
        return half_write(wrapper, data)

    if crash_in == "write":
        # the wrapper delegates unknown attributes to the file; a class attribute wins
        monkeypatch.setattr(tempfile._TemporaryFileWrapper, "write", write, raising=False)
    else:
        monkeypatch.setattr(os, crash_in, crash)
    with pytest.raises(BundleError) as caught:
        save_bundle(sample, target)
    monkeypatch.undo()
    if crash_in == "write":
        assert half_write.partial, "the crash must come after part of the text was written"
    assert "simulated I/O error" in str(caught.value)
    assert str(target) in str(caught.value)
    assert target.read_text("utf-8") == "the old bundle\n"
    assert leftovers(tmp_path) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle.json"]


def test_interrupted_write_keeps_the_old_file(
    sample: Bundle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A non-OS failure (Ctrl-C, a bug) propagates as is, and still leaves no debris."""
    target = tmp_path / "bundle.json"
    target.write_text("the old bundle\n", encoding="utf-8")

    def interrupt(*args: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupt)
    with pytest.raises(KeyboardInterrupt):
        save_bundle(sample, target)
    monkeypatch.undo()
    assert target.read_text("utf-8") == "the old bundle\n"
    assert leftovers(tmp_path) == []


def test_successful_save_replaces_the_file_and_leaves_no_temp(
    sample: Bundle, tmp_path: Path
) -> None:
    target = tmp_path / "bundle.json"
    target.write_text("the old bundle\n", encoding="utf-8")
    save_bundle(sample, target)
    assert target.read_text("utf-8") == dump_bundle(sample)
    assert leftovers(tmp_path) == []


def test_save_into_a_missing_folder(sample: Bundle, tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "folder"
    with pytest.raises(BundleError) as caught:
        save_bundle(sample, missing / "bundle.json")
    assert str(missing) in str(caught.value)
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "no").exists()


def test_save_over_a_directory(sample: Bundle, tmp_path: Path) -> None:
    (tmp_path / "bundle.json").mkdir()
    with pytest.raises(BundleError):
        save_bundle(sample, tmp_path / "bundle.json")
    assert leftovers(tmp_path) == []
    assert (tmp_path / "bundle.json").is_dir()


# ------------------------------------------------------------------ the schema file


@pytest.mark.parametrize("version", range(1, CURRENT_SCHEMA_VERSION + 1))
def test_every_schema_version_is_shipped_as_package_data(version: int) -> None:
    package = Path(ziggy_migrate.__file__).parent
    if (package.parent / "schemas").is_dir() and not (package / "schemas").is_dir():
        pytest.skip(
            "ziggy_migrate is imported from a source tree (an editable install, or the "
            "checkout first on sys.path), which has no package data; "
            "tests/test_packaging.py checks the built wheel's schema files"
        )
    name = f"schemas/bundle-v{version}.schema.json"
    resource = resources.files("ziggy_migrate").joinpath(name)
    assert resource.is_file()
    schema = json.loads(resource.read_text("utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"].endswith(f":{version}")
    assert "bundle" in schema["$id"]
    assert schema["properties"]["schemaVersion"] == {"const": version}
    assert bundle_schema(version) == schema
    if version == CURRENT_SCHEMA_VERSION:
        assert bundle_schema() == schema
    jsonschema.Draft202012Validator.check_schema(schema)


def test_schema_refuses_secret_values_by_construction() -> None:
    secret = bundle_schema()["$defs"]["secret"]
    assert secret["additionalProperties"] is False
    assert not {"devValue", "prodValue", "value"} & set(secret["properties"])


def test_sample_validates_against_the_schema(sample_document: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator(bundle_schema()).validate(sample_document)


# ------------------------------------------------------------------ broken and hostile input

Mutation = Callable[[dict[str, Any]], None]


def _set(path: tuple[str | int, ...], value: Any) -> Mutation:
    def mutate(document: dict[str, Any]) -> None:
        target: Any = document
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value

    return mutate


def _delete(path: tuple[str | int, ...]) -> Mutation:
    def mutate(document: dict[str, Any]) -> None:
        target: Any = document
        for part in path[:-1]:
            target = target[part]
        del target[path[-1]]

    return mutate


def _add_node(flow: int, data: dict[str, Any]) -> Mutation:
    def mutate(document: dict[str, Any]) -> None:
        document["flows"][flow]["nodes"].append({"id": "added", "type": "x", "data": data})

    return mutate


def _duplicate(kind: str, field: str) -> Mutation:
    def mutate(document: dict[str, Any]) -> None:
        items = document[kind]
        items[1][field] = items[0][field]

    return mutate


# The sample's flows are [Helper (0), Orders (1)]; secrets [API_KEY, PG_PASSWORD].
BROKEN_DOCUMENTS: list[tuple[str, Mutation, str, str]] = [
    ("tags a string", _set(("flows", 1, "tags"), "sales"), "$.flows[1].tags", "not of type"),
    ("uuid a number", _set(("connections", 0, "uuid"), 42), "$.connections[0].uuid", "type"),
    ("name null", _set(("secrets", 0, "name"), None), "$.secrets[0].name", "type"),
    ("nodes an object", _set(("flows", 0, "nodes"), {}), "$.flows[0].nodes", "array"),
    ("missing key", _delete(("flows", 1, "listenerType")), "$.flows[1]", "listenerType"),
    ("missing list", _delete(("variables",)), "$", "variables"),
    ("missing provenance", _delete(("provenance",)), "$", "provenance"),
    ("extra top-level key", _set(("extra",), 1), "$", "extra"),
    ("extra flow key", _set(("flows", 0, "owner"), "me"), "$.flows[0]", "owner"),
    (
        "devValue on a secret",
        _set(("secrets", 1, "devValue"), PLANTED_SECRET_VALUE),
        "$.secrets[1]",
        "devValue",
    ),
    ("prodValue on a secret", _set(("secrets", 0, "prodValue"), ""), "$.secrets[0]", "prodValue"),
    ("secret name not an identifier", _set(("secrets", 0, "name"), "A-B"), "$.secrets[0].name", ""),
    (
        "bad reference kind",
        _set(("unresolvedReferences",), [{"itemUuid": ORDERS, "kind": "robot", "reference": "x"}]),
        "$.unresolvedReferences[0].kind",
        "",
    ),
    ("duplicate flow uuid", _duplicate("flows", "uuid"), "$.flows[1].uuid", "duplicate uuid"),
    ("duplicate secret uuid", _duplicate("secrets", "uuid"), "$.secrets[1].uuid", "duplicate"),
    ("duplicate flow name", _duplicate("flows", "name"), "$.flows[1].name", "duplicate name"),
    ("duplicate secret name", _duplicate("secrets", "name"), "$.secrets[1].name", "duplicate"),
    (
        "dangling connection",
        _add_node(1, {"connectionUuid": "c0ffee00-0000-4000-8000-000000000000"}),
        "$.flows[1].nodes",
        "connection c0ffee00-0000-4000-8000-000000000000",
    ),
    (
        "dangling model connection",
        _add_node(0, {"modelConnectionUuid": "c0ffee00-0000-4000-8000-000000000001"}),
        "$.flows[0].nodes",
        "c0ffee00-0000-4000-8000-000000000001",
    ),
    (
        "dangling subflow",
        _add_node(1, {"subflowUuid": "f10f1000-0000-4000-8000-000000000000"}),
        "$.flows[1].nodes",
        "flow f10f1000-0000-4000-8000-000000000000",
    ),
    (
        "dangling structure",
        _add_node(1, {"structureUuid": "57000000-0000-4000-8000-000000000000"}),
        "$.flows[1].nodes",
        "structure",
    ),
    (
        "dangling variable",
        _add_node(0, {"variableUuid": "7a000000-0000-4000-8000-000000000000"}),
        "$.flows[0].nodes",
        "variable",
    ),
    (
        "secret used in a flow but not in the bundle",
        _add_node(0, {"code": "return secrets.NOT_EXPORTED"}),
        "$.flows[0].nodes",
        "secrets.NOT_EXPORTED",
    ),
    (
        "secret used in a REST url but not in the bundle",
        _add_node(1, {"url": "https://x.example.com/{secrets.URL_TOKEN}"}),
        "$.flows[1].nodes",
        "secrets.URL_TOKEN",
    ),
    (
        "secret used in a connection but not in the bundle",
        _set(("connections", 0, "prodValue"), "{ password: 'secrets.PROD_ONLY' }"),
        "$.connections[0]",
        "secrets.PROD_ONLY",
    ),
    (
        "secret removed from the bundle",
        _delete(("secrets", 1)),
        "$.connections[0]",
        "secrets.PG_PASSWORD",
    ),
    ("newer schemaVersion", _set(("schemaVersion",), 3), "$.schemaVersion", "upgrade"),
    ("schemaVersion 0", _set(("schemaVersion",), 0), "$.schemaVersion", "0"),
    ("schemaVersion -1", _set(("schemaVersion",), -1), "$.schemaVersion", "-1"),
    ("schemaVersion missing", _delete(("schemaVersion",)), "$.schemaVersion", "schemaVersion"),
    ("schemaVersion a string", _set(("schemaVersion",), "1"), "$.schemaVersion", "integer"),
    ("schemaVersion a float", _set(("schemaVersion",), 1.0), "$.schemaVersion", "integer"),
    ("schemaVersion true", _set(("schemaVersion",), True), "$.schemaVersion", "integer"),
    ("schemaVersion null", _set(("schemaVersion",), None), "$.schemaVersion", "integer"),
    ("huge name", _set(("flows", 1, "name"), "x" * 2_000_000), "$.flows[1].name", ""),
    (
        "huge tag list",
        _set(("flows", 1, "tags"), ["t"] * 10_001),
        "$.flows[1].tags",
        "",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "location", "fragment"),
    [case[1:] for case in BROKEN_DOCUMENTS],
    ids=[case[0] for case in BROKEN_DOCUMENTS],
)
def test_broken_document_is_refused(
    doc: dict[str, Any], mutate: Mutation, location: str, fragment: str
) -> None:
    assert load_bundle_text(encode(doc))  # the untouched copy is fine
    mutate(doc)
    error = refused(encode(doc))
    assert error.location == location
    assert str(error).startswith(f"{location}: ")
    assert fragment in error.reason
    assert len(str(error)) < 1000


def test_newer_version_message_says_to_upgrade(doc: dict[str, Any]) -> None:
    doc["schemaVersion"] = CURRENT_SCHEMA_VERSION + 5
    error = refused(encode(doc))
    assert "newer" in str(error)
    assert "upgrade ziggy-migrate" in str(error)


def test_schema_errors_name_the_item(doc: dict[str, Any]) -> None:
    doc["flows"][1]["tags"] = "sales"
    assert "flow 'Orders'" in str(refused(encode(doc)))


def test_secret_value_on_a_secret_is_never_loaded(doc: dict[str, Any]) -> None:
    doc["secrets"][0]["devValue"] = PLANTED_SECRET_VALUE
    error = refused(encode(doc))
    assert "devValue" in str(error)


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"", "not valid JSON"),
        (b"   ", "not valid JSON"),
        (b"[]", "not an array"),
        (b'"bundle"', "not a string"),
        (b"42", "not a number"),
        (b"null", "not null"),
        (b'{"schemaVersion": 1,', "not valid JSON"),
        (b'{"schemaVersion": NaN}', "NaN"),
        (b'{"schemaVersion": Infinity}', "Infinity"),
        (b'{"schemaVersion": -Infinity}', "Infinity"),
        (b'{"schemaVersion": 1, "x": "\xff\xfe"}', "not UTF-8"),
        (b'{"schemaVersion": 1, "x": "\xc3"}', "not UTF-8"),
        (b"\xef\xbb\xbf[]", "not an array"),
        (b"[" * 100_000, "nests too deeply"),
        (b'{"a":' * 100_000, "nests too deeply"),
        (b'{"k1": 1, "k2": 1, "k3": 1, "schemaVersion": 1e3}', "integer"),
    ],
    ids=[
        "empty",
        "blank",
        "array",
        "string",
        "number",
        "null",
        "cut",
        "NaN",
        "Infinity",
        "-Infinity",
        "bad bytes",
        "cut UTF-8 sequence",
        "BOM then array",
        "100000 [",
        "100000 objects",
        "float version",
    ],
)
def test_hostile_bytes_are_refused(raw: bytes, fragment: str) -> None:
    error = refused(raw)
    assert fragment in str(error)


def test_truncated_bundle_is_refused(sample: Bundle) -> None:
    text = dump_bundle(sample)
    for cut in (1, len(text) // 3, len(text) // 2, len(text) - 3):
        error = refused(text[:cut].encode("utf-8"))
        assert error.location == "$"
        assert "not valid JSON" in str(error)
        assert "line" in str(error)


def test_nan_inside_a_flow_is_refused(doc: dict[str, Any]) -> None:
    doc["flows"][1]["viewport"]["zoom"] = float("nan")
    raw = json.dumps(doc).encode("utf-8")  # json writes NaN, which is not JSON
    assert b"NaN" in raw
    assert "NaN" in str(refused(raw))


def test_utf8_bom_is_accepted(sample: Bundle) -> None:
    raw = dump_bundle(sample).encode("utf-8")
    assert load_bundle_text(b"\xef\xbb\xbf" + raw) == sample


def test_utf8_bom_file_is_accepted(sample: Bundle, tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + dump_bundle(sample).encode("utf-8"))
    assert load_bundle(path) == sample


def test_leading_whitespace_text_is_json_not_a_path(sample: Bundle) -> None:
    assert load_bundle_text("\n  " + dump_bundle(sample)) == sample


def test_missing_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    error = refused(missing)
    assert str(missing) in str(error)
    assert "no bundle file" in str(error)
    assert "no bundle file" in str(refused(str(missing)))


def test_directory_path(tmp_path: Path) -> None:
    error = refused(tmp_path)
    assert "directory" in str(error)
    assert str(tmp_path) in str(error)


def test_huge_string_message_stays_short(doc: dict[str, Any]) -> None:
    doc["flows"][1]["name"] = "y" * 2_000_000
    error = refused(encode(doc))
    assert len(str(error)) < 1000


def test_huge_string_message_says_why(doc: dict[str, Any]) -> None:
    doc["flows"][1]["name"] = "y" * 2_000_000
    error = refused(encode(doc))
    assert "too long" in str(error)


# -- declared unresolved references


def test_declared_unresolved_connection_is_accepted(doc: dict[str, Any]) -> None:
    ghost = "c0ffee00-0000-4000-8000-000000000000"
    _add_node(1, {"connectionUuid": ghost})(doc)
    assert refused(encode(doc)).location == "$.flows[1].nodes"
    doc["unresolvedReferences"] = [{"itemUuid": ORDERS, "kind": "connection", "reference": ghost}]
    loaded = load_bundle_text(encode(doc))
    assert loaded.unresolved_references == (
        UnresolvedReference(item_uuid=ORDERS, kind=ItemKind.CONNECTION, reference=ghost),
    )


def test_declared_unresolved_secret_in_a_connection_is_accepted(doc: dict[str, Any]) -> None:
    doc["connections"][0]["devValue"] = "{ password: 'secrets.DEV_ONLY' }"
    assert refused(encode(doc)).location == "$.connections[0]"
    doc["unresolvedReferences"] = [
        {"itemUuid": WAREHOUSE, "kind": "secret", "reference": "DEV_ONLY"}
    ]
    assert (
        load_bundle_text(encode(doc)).connections[0].dev_value == "{ password: 'secrets.DEV_ONLY' }"
    )


def test_declared_unresolved_secret_in_a_flow_is_accepted(doc: dict[str, Any]) -> None:
    _add_node(0, {"code": "secrets.GHOST"})(doc)
    assert refused(encode(doc)).location == "$.flows[0].nodes"
    doc["unresolvedReferences"] = [{"itemUuid": HELPER, "kind": "secret", "reference": "GHOST"}]
    assert load_bundle_text(encode(doc)).flows[0].nodes[-1]["data"] == {"code": "secrets.GHOST"}


def test_declaration_must_name_the_holder(doc: dict[str, Any]) -> None:
    """A dangling reference declared for another item does not excuse this one."""
    _add_node(1, {"subflowUuid": "f10f1000-0000-4000-8000-000000000000"})(doc)
    doc["unresolvedReferences"] = [
        {"itemUuid": HELPER, "kind": "flow", "reference": "f10f1000-0000-4000-8000-000000000000"}
    ]
    assert refused(encode(doc)).location == "$.flows[1].nodes"


# -- loads, but cannot be written back: the round trip must hold for everything loaded


def assert_round_trips(loaded: Bundle, tmp_path: Path) -> None:
    path = save_bundle(loaded, tmp_path / "again.json")
    assert load_bundle(path) == loaded


def test_number_overflowing_to_infinity(doc: dict[str, Any], tmp_path: Path) -> None:
    raw = encode(doc).replace(b'"zoom": 0.75', b'"zoom": 1e400')
    assert b"1e400" in raw
    try:
        loaded = load_bundle_text(raw)
    except BundleError:
        return  # refusing it is the other acceptable outcome
    assert_round_trips(loaded, tmp_path)


def test_lone_surrogate_escape(doc: dict[str, Any], tmp_path: Path) -> None:
    _add_node(0, {"label": "\ud800"})(doc)
    raw = json.dumps(doc).encode("ascii")  # ensure_ascii: the surrogate travels as \ud800
    try:
        loaded = load_bundle_text(raw)
    except BundleError:
        return
    assert_round_trips(loaded, tmp_path)


def test_deeply_nested_nodes_that_load_also_save(doc: dict[str, Any], tmp_path: Path) -> None:
    depth = 600
    doc["flows"][0]["nodes"] = "NESTED"
    raw = encode(doc).replace(b'"NESTED"', b"[" * depth + b"]" * depth)
    assert b"[" * depth in raw
    try:
        loaded = load_bundle_text(raw)
    except BundleError:
        return
    assert_round_trips(loaded, tmp_path)


def test_dangling_reference_message_is_one_line(doc: dict[str, Any]) -> None:
    _add_node(1, {"connectionUuid": "line one\nline two"})(doc)
    refused(encode(doc))


def test_secret_name_with_trailing_newline_is_refused(doc: dict[str, Any]) -> None:
    extra = {
        "uuid": "extra",
        "name": "EXTRA",
        "description": "",
        "type": "",
        "group": "",
        "tags": [],
    }
    doc["secrets"].append(extra)
    assert load_bundle_text(encode(doc))
    extra["name"] = "EXTRA\n"
    refused(encode(doc))


# ------------------------------------------------------------------ property: never crash


_JUNK = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(
        [
            "",
            "secrets.PG_PASSWORD",
            "secrets.MISSING",
            "{secrets.API_KEY}",
            ORDERS,
            HELPER,
            WAREHOUSE,
            "connection",
            "secret",
        ]
    ),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)
_KEYS = st.sampled_from(
    [
        "uuid",
        "name",
        "devValue",
        "connectionUuid",
        "subflowUuid",
        "structureUuid",
        "variableUuid",
        "schemaVersion",
        "tags",
        "code",
    ]
) | st.text(max_size=8)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*prefix, index))


def _resolve(document: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        document = document[part]
    return document


@st.composite
def mutated_documents(draw: st.DrawFn, base: dict[str, Any]) -> dict[str, Any]:
    document = copy.deepcopy(base)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        path = draw(st.sampled_from(list(_paths(document))))
        action = draw(st.sampled_from(["drop", "replace", "insert"]))
        if not path:
            action = "insert"
        if action == "insert":
            target = _resolve(document, path)
            if isinstance(target, dict):
                target[draw(_KEYS)] = draw(_JUNK)
            elif isinstance(target, list):
                target.insert(draw(st.integers(0, len(target))), draw(_JUNK))
            else:
                action = "replace"
        if action in ("drop", "replace") and path:
            parent = _resolve(document, path[:-1])
            if action == "drop":
                del parent[path[-1]]
            else:
                parent[path[-1]] = draw(_JUNK)
    return document


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_mutated_bundles_load_or_raise_bundle_error(
    sample_document: dict[str, Any], data: st.DataObject
) -> None:
    document = data.draw(mutated_documents(sample_document))
    raw = json.dumps(document, ensure_ascii=False).encode("utf-8")
    try:
        loaded = load_bundle_text(raw)
    except BundleError:
        return
    # what loads must survive a save and load unchanged
    assert load_bundle_text(dump_bundle(loaded)) == loaded


# ------------------------------------------------------------------ golden file


def test_golden_v1_loads_upgraded_and_redumps_as_the_current_format() -> None:
    raw = GOLDEN_V1.read_bytes()
    loaded = load_bundle(GOLDEN_V1)
    # format 1 had no schedules: the upgrade adds an empty list and changes nothing else
    expected = json.loads(raw)
    expected.update(schemaVersion=CURRENT_SCHEMA_VERSION, schedules=[])
    assert json.loads(dump_bundle(loaded)) == expected
    assert dump_bundle(load_bundle_text(dump_bundle(loaded))) == dump_bundle(loaded)
    # the fixture really is the sample, not an empty shell
    assert loaded.schema_version == CURRENT_SCHEMA_VERSION
    assert loaded.counts == {
        "secrets": 2,
        "connections": 1,
        "structures": 1,
        "variables": 1,
        "flows": 2,
        "schedules": 0,
    }
    orders = next(flow for flow in loaded.flows if flow.name == "Orders")
    assert orders.uuid == ORDERS
    assert orders.nodes[1]["data"]["subflowUuid"] == HELPER
    assert loaded.provenance.exported_at == "2025-01-01T00:00:00Z"
    assert loaded.provenance.selection.tags == ("sales",)
    assert PLANTED_SECRET_VALUE.encode() not in raw


def test_golden_v1_equals_a_fresh_export_but_for_provenance(sample: Bundle) -> None:
    """Drift between the exporter and the frozen format shows up here first."""
    golden = load_bundle(GOLDEN_V1)
    assert attrs.evolve(golden, provenance=sample.provenance) == sample


# ------------------------------------------------------------------ migrations


def test_current_version_needs_no_migration(
    doc: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []

    def step(document: dict[str, Any]) -> dict[str, Any]:
        calls.append(document["schemaVersion"])
        return document

    for version in range(CURRENT_SCHEMA_VERSION):
        monkeypatch.setitem(bundle_module._MIGRATIONS, version, step)
    assert load_bundle_text(encode(doc)).schema_version == CURRENT_SCHEMA_VERSION
    assert calls == []


def test_upgrade_refuses_a_newer_version() -> None:
    with pytest.raises(BundleError) as caught:
        bundle_module._upgrade({"schemaVersion": CURRENT_SCHEMA_VERSION + 1})
    assert caught.value.location == "$.schemaVersion"
    assert "upgrade" in str(caught.value)


def test_upgrade_steps_one_version_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend format 3 is current: a v1 document goes through step 1, then step 2."""
    seen: list[tuple[int, int]] = []

    def one_to_two(document: dict[str, Any]) -> dict[str, Any]:
        seen.append((1, document["schemaVersion"]))
        renamed = document.pop("old")
        return {**document, "renamed": renamed, "schemaVersion": 99}

    def two_to_three(document: dict[str, Any]) -> dict[str, Any]:
        seen.append((2, document["schemaVersion"]))
        return {**document, "added": True}

    monkeypatch.setattr(bundle_module, "CURRENT_SCHEMA_VERSION", 3)
    monkeypatch.setitem(bundle_module._MIGRATIONS, 1, one_to_two)
    monkeypatch.setitem(bundle_module._MIGRATIONS, 2, two_to_three)

    upgraded = bundle_module._upgrade({"schemaVersion": 1, "old": "x"})

    # each step sees the version it was written for, whatever the previous step wrote
    assert seen == [(1, 1), (2, 2)]
    assert upgraded == {"schemaVersion": 3, "renamed": "x", "added": True}
    assert bundle_module._upgrade({"schemaVersion": 3, "k": 1}) == {"schemaVersion": 3, "k": 1}
    assert seen == [(1, 1), (2, 2)]


def test_upgrade_without_a_step_raises_bundle_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bundle_module, "CURRENT_SCHEMA_VERSION", CURRENT_SCHEMA_VERSION + 1)
    with pytest.raises(BundleError):
        bundle_module._upgrade({"schemaVersion": CURRENT_SCHEMA_VERSION})


def test_registered_migration_makes_an_old_version_loadable(
    doc: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    def zero_to_one(document: dict[str, Any]) -> dict[str, Any]:
        document["unresolvedReferences"] = document.pop("unresolved")
        return document

    monkeypatch.setitem(bundle_module._MIGRATIONS, 0, zero_to_one)
    doc["schemaVersion"] = 0
    doc["unresolved"] = doc.pop("unresolvedReferences")
    del doc["schedules"]  # format 0 (and 1) had none
    assert load_bundle_text(encode(doc)).schema_version == CURRENT_SCHEMA_VERSION
