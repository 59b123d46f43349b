"""Every endpoint against the emulator: what the client sends and the models it returns."""

from __future__ import annotations

import attrs
import pytest

from ziggy_migrate import (
    BadRequestError,
    Connection,
    Flow,
    NotFoundError,
    Secret,
    Structure,
    Variable,
    ZiggyClient,
)
from ziggy_migrate._vocabulary.models import FlowSummary, RemoteSecret
from ziggy_migrate.testing import ZiggyEmulator

from . import PLANTED_SECRET_VALUE, connect

# ------------------------------------------------------------------ flows


def test_list_flows_filters_by_search_flow_id_and_tags(
    emulator: ZiggyEmulator, client: ZiggyClient
) -> None:
    orders = emulator.add_flow("Orders EU", tags=["sales", "eu"])
    emulator.add_flow("Orders US", tags=["sales"])
    emulator.add_flow("Billing", tags=["finance"], is_subflow=True)

    everything = client.list_flows()
    assert [flow.name for flow in everything] == ["Billing", "Orders EU", "Orders US"]
    assert all(isinstance(flow, FlowSummary) for flow in everything)
    billing = everything[0]
    assert billing.is_subflow is True
    assert billing.tags == ("finance",)
    assert billing.updated_at

    assert [f.name for f in client.list_flows(search="orders")] == ["Orders EU", "Orders US"]
    assert [f.name for f in client.list_flows(flow_id=orders["uuid"])] == ["Orders EU"]
    assert [f.name for f in client.list_flows(tags=["eu", "finance"])] == [
        "Billing",
        "Orders EU",
    ]
    assert client.list_flows(search="nothing like this") == []


def test_list_flows_always_sends_all_three_query_keys(
    emulator: ZiggyEmulator, client: ZiggyClient
) -> None:
    client.list_flows()
    client.list_flows(tags=["a", "b"])
    queries = [r.query for r in emulator.requests if r.path == "/api/flow"]
    assert queries == ["search=&flowId=&tags=", "search=&flowId=&tags=a%2Cb"]


def test_get_flow_returns_flow_and_relations(emulator: ZiggyEmulator, client: ZiggyClient) -> None:
    connection = emulator.add_connection("Warehouse", dev_value="{ password: 'secrets.PG' }")
    emulator.add_connection("Unused")
    emulator.add_secret("PG", prod_value=PLANTED_SECRET_VALUE)
    emulator.add_secret("UNUSED")
    structure = emulator.add_structure("Order", value="interface Order { id: string }")
    variable = emulator.add_variable("region", value="eu")
    nodes = [
        {"id": "1", "type": "sql", "data": {"connectionUuid": connection["uuid"]}},
        {"id": "2", "type": "js", "data": {"code": "return secrets.PG.length"}},
        {"id": "3", "type": "map", "data": {"structureUuid": structure["uuid"]}},
        {"id": "4", "type": "set", "data": {"variableUuid": variable["uuid"]}},
    ]
    edges = [{"id": "e1", "source": "1", "target": "2"}]
    seeded = emulator.add_flow(
        "Orders",
        tags=["sales"],
        nodes=nodes,
        edges=edges,
        listener_type="CRON",
        timeout=30,
        info="nightly",
    )

    fetched = client.get_flow(seeded["uuid"])

    flow = fetched.flow
    assert flow.uuid == seeded["uuid"]
    assert flow.name == "Orders"
    assert flow.listener_type == "CRON"
    assert flow.tags == ("sales",)
    assert flow.nodes == nodes
    assert flow.edges == edges
    assert flow.viewport == {"x": 0, "y": 0, "zoom": 1}
    assert flow.num_blocks == 4
    assert flow.timeout == 30
    assert flow.info == "nightly"
    assert flow.execution_history_level == "USE_DEFAULT"
    relations = fetched.relations
    assert relations.connection_uuids == (connection["uuid"],)
    assert relations.secret_names == ("PG",)
    assert relations.structure_uuids == (structure["uuid"],)
    assert relations.variable_uuids == (variable["uuid"],)


def test_get_flow_ignores_server_bookkeeping_fields(
    emulator: ZiggyEmulator, client: ZiggyClient
) -> None:
    seeded = emulator.add_flow("Orders")
    # the server's row (and so its answer) carries fields the model does not know
    assert {"tenantId", "queueUuid", "createdAt", "updatedAt", "isLocked"} <= set(seeded)
    flow = client.get_flow(seeded["uuid"]).flow
    fields = set(attrs.asdict(flow))
    assert "tenantId" not in fields
    assert "queue_uuid" not in fields
    assert "created_at" not in fields
    assert flow == Flow(
        uuid=seeded["uuid"],
        name="Orders",
        listener_type="REST",
        tags=(),
        nodes=[],
        edges=[],
        viewport={"x": 0, "y": 0, "zoom": 1},
        is_subflow=False,
        is_commander=False,
        is_valid=True,
        num_blocks=0,
        info="",
        execution_history_level="USE_DEFAULT",
        execution_history_mins=None,
        timeout=None,
    )


@pytest.mark.parametrize(
    "name",
    ["Orders", "Orders with spaces", "Café ☕ Übersicht — 東京", "EU / US split?#&%"],
)
def test_create_flow_with_any_name(emulator: ZiggyEmulator, client: ZiggyClient, name: str) -> None:
    uuid = client.create_flow(name, "API")
    flows = emulator.snapshot()["flows"]
    assert [(flow["uuid"], flow["name"]) for flow in flows] == [(uuid, name)]
    assert client.get_flow(uuid).flow.name == name


def test_create_flow_with_empty_listener_type_uses_rest(
    emulator: ZiggyEmulator, client: ZiggyClient
) -> None:
    """REST is the generated IFlowListenerTypeEnum's only value, so it is the default."""
    uuid = client.create_flow("Hook", "")
    assert client.get_flow(uuid).flow.listener_type == "REST"
    assert emulator.request_count("POST", "/api/flow/Hook/REST") == 1


def test_update_flow_writes_graph_and_settings(
    emulator: ZiggyEmulator, client: ZiggyClient
) -> None:
    seeded = emulator.add_flow("Orders", tags=["old"])
    current = client.get_flow(seeded["uuid"]).flow
    nodes = [{"id": "n1", "type": "js", "data": {"code": "return 1"}}]
    changed = attrs.evolve(
        current,
        name="Orders v2",
        tags=("new", "sales"),
        nodes=nodes,
        edges=[{"id": "e"}],
        viewport={"x": 5, "y": 6, "zoom": 2},
        num_blocks=1,
        is_valid=False,
        is_commander=True,
        listener_type="CRON",
    )
    client.update_flow(seeded["uuid"], changed)
    after = client.get_flow(seeded["uuid"]).flow
    assert after == changed
    row = emulator.snapshot()["flows"][0]
    assert row["updatedAt"] != seeded["updatedAt"]


def test_update_flow_with_default_num_blocks(emulator: ZiggyEmulator, client: ZiggyClient) -> None:
    seeded = emulator.add_flow("Orders")
    """A Flow built with the model's defaults (num_blocks None, allowed by the bundle
    schema) must not send ``numBlocks: null``, which the server refuses."""
    client.update_flow(seeded["uuid"], Flow(uuid=seeded["uuid"], name="Renamed"))
    row = emulator.snapshot()["flows"][0]
    assert row["name"] == "Renamed"
    assert row["numBlocks"] == 0


def test_delete_flow_and_deleting_twice_is_fine(
    emulator: ZiggyEmulator, client: ZiggyClient
) -> None:
    keep = emulator.add_flow("Keep")
    drop = emulator.add_flow("Drop")
    client.delete_flow(drop["uuid"])
    assert [flow["uuid"] for flow in emulator.snapshot()["flows"]] == [keep["uuid"]]
    client.delete_flow(drop["uuid"])  # already gone: not an error
    assert emulator.request_count("DELETE", f"/api/flow/{drop['uuid']}") == 2


def test_clone_flow(emulator: ZiggyEmulator, client: ZiggyClient) -> None:
    nodes = [{"id": "1", "data": {"code": "x"}}]
    original = emulator.add_flow("Orders", nodes=nodes, tags=["sales"])
    copy_uuid = client.clone_flow(original["uuid"])
    assert copy_uuid != original["uuid"]
    copy = client.get_flow(copy_uuid).flow
    assert copy.name == "Orders (copy)"
    assert copy.nodes == nodes
    assert copy.tags == ("sales",)
    assert len(emulator.snapshot()["flows"]) == 2


# ------------------------------------------------------------------ named saves


def test_named_saves_create_and_list(emulator: ZiggyEmulator, client: ZiggyClient) -> None:
    flow = emulator.add_flow("Orders")
    other = emulator.add_flow("Other")
    assert client.list_named_saves(flow["uuid"]) == []
    client.create_named_save(flow["uuid"], "Before release")
    client.create_named_save(other["uuid"], "Elsewhere")
    saves = client.list_named_saves(flow["uuid"])
    assert len(saves) == 1
    save = saves[0]
    assert save.flow_uuid == flow["uuid"]
    assert save.save_name == "Before release"
    assert save.flow_name == "Orders"
    assert save.created_at
    assert save.uuid == emulator.snapshot()["namedSaves"][0]["uuid"]


# ------------------------------------------------------------------ connections


def test_connections_crud(emulator: ZiggyEmulator, client: ZiggyClient) -> None:
    value = "{ host: 'db.example.com', user: 'app', password: 'secrets.PG_PASSWORD' }"
    created = client.create_connection(
        Connection(
            uuid="ignored-by-server",
            name="Warehouse",
            type="Postgres",
            description="main db",
            dev_value=value,
            prod_value=value.replace("db.", "prod-db."),
        )
    )
    assert created.uuid != "ignored-by-server"
    assert created.name == "Warehouse"
    assert created.dev_value == value
    rows = emulator.snapshot()["connections"]
    assert [(row["uuid"], row["description"]) for row in rows] == [(created.uuid, "main db")]
    assert rows[0]["tenantId"] == "##solo##"

    assert client.get_connection(created.uuid) == created
    assert client.list_connections() == [created]

    renamed = attrs.evolve(created, name="Warehouse EU", description="moved", type="SFTP")
    client.update_connection(created.uuid, renamed)
    assert client.get_connection(created.uuid) == renamed

    client.delete_connection(created.uuid)
    assert emulator.snapshot()["connections"] == []
    client.delete_connection(created.uuid)  # idempotent


def test_list_connections_filters_by_type_and_core(
    emulator: ZiggyEmulator, client: ZiggyClient
) -> None:
    emulator.add_connection("pg", type="Postgres")
    emulator.add_connection("mail", type="SMTP", isCorePlatform=True)
    assert [c.name for c in client.list_connections(type="SMTP")] == ["mail"]
    assert [c.name for c in client.list_connections(core=True)] == ["mail"]
    assert [c.name for c in client.list_connections(core=False)] == ["pg"]
    assert [c.name for c in client.list_connections()] == ["mail", "pg"]


def test_connection_never_carries_oauth_tokens(
    emulator: ZiggyEmulator, client: ZiggyClient
) -> None:
    seeded = emulator.add_connection("crm", type="Hubspot", devOAuthToken={"token": "tok-123"})
    connection = client.get_connection(seeded["uuid"])
    assert "tok-123" not in repr(connection)
    assert "tok-123" not in repr(attrs.asdict(connection))


# ------------------------------------------------------------------ secrets


def test_list_secrets_reduces_values_to_has_value(
    emulator: ZiggyEmulator, client: ZiggyClient
) -> None:
    emulator.add_secret("WITH_DEV", dev_value=PLANTED_SECRET_VALUE)
    emulator.add_secret("WITH_PROD", prod_value=PLANTED_SECRET_VALUE, group="db", tags=["x"])
    emulator.add_secret("EMPTY", dev_value="", prod_value=None)
    emulator.add_secret("UNSET")

    secrets = {item.secret.name: item for item in client.list_secrets()}

    assert {name: item.has_value for name, item in secrets.items()} == {
        "EMPTY": False,
        "UNSET": None,
        "WITH_DEV": True,
        "WITH_PROD": True,
    }
    assert secrets["WITH_PROD"].secret.group == "db"
    assert secrets["WITH_PROD"].secret.tags == ("x",)
    for item in secrets.values():
        assert_holds_no_value(item)


def test_list_secrets_when_server_hides_values_gives_none() -> None:
    with ZiggyEmulator(return_secret_values=False) as ziggy, connect(ziggy) as hidden:
        ziggy.add_secret("SET", prod_value=PLANTED_SECRET_VALUE)
        ziggy.add_secret("UNSET")
        secrets = hidden.list_secrets()
        assert [(s.secret.name, s.has_value) for s in secrets] == [("SET", None), ("UNSET", None)]
        for item in secrets:
            assert_holds_no_value(item)
        # the masked endpoint still tells them apart
        assert hidden.secret_has_value("SET") is True
        assert hidden.secret_has_value("UNSET") is False


def test_get_secret_holds_no_value(emulator: ZiggyEmulator, client: ZiggyClient) -> None:
    seeded = emulator.add_secret("PG", dev_value=PLANTED_SECRET_VALUE, description="db")
    item = client.get_secret(seeded["uuid"])
    assert item.has_value is True
    assert item.secret == Secret(uuid=seeded["uuid"], name="PG", description="db", type="string")
    assert_holds_no_value(item)


def assert_holds_no_value(item: RemoteSecret) -> None:
    for text in (repr(item), repr(item.secret), repr(attrs.asdict(item))):
        assert PLANTED_SECRET_VALUE not in text
    assert set(attrs.asdict(item.secret)) == {
        "uuid",
        "name",
        "description",
        "type",
        "group",
        "tags",
    }


def test_secret_has_value_uses_the_obfuscated_endpoint(
    emulator: ZiggyEmulator, client: ZiggyClient
) -> None:
    emulator.add_secret("SET", prod_value=PLANTED_SECRET_VALUE)
    emulator.add_secret("EMPTY", dev_value="")
    assert client.secret_has_value("SET") is True
    assert client.secret_has_value("EMPTY") is False
    assert client.secret_has_value("MISSING") is None
    paths = [r.path for r in emulator.requests if r.method == "GET"]
    assert paths == [
        "/api/secret/get-obfuscated-by-name/SET",
        "/api/secret/get-obfuscated-by-name/EMPTY",
        "/api/secret/get-obfuscated-by-name/MISSING",
    ]


def test_create_secret_sends_no_value(emulator: ZiggyEmulator, client: ZiggyClient) -> None:
    created = client.create_secret(
        Secret(uuid="", name="PG_PASSWORD", description="db", type="string", group="g", tags=("t",))
    )
    rows = emulator.snapshot()["secrets"]
    assert len(rows) == 1
    row = rows[0]
    assert row["uuid"] == created.uuid
    assert (row["name"], row["description"], row["group"], row["tags"]) == (
        "PG_PASSWORD",
        "db",
        "g",
        ["t"],
    )
    assert row["devValue"] is None
    assert row["prodValue"] is None


def test_set_secret_value_dev_and_prod(emulator: ZiggyEmulator, client: ZiggyClient) -> None:
    seeded = emulator.add_secret("PG")
    client.set_secret_value(seeded["uuid"], PLANTED_SECRET_VALUE)
    client.set_secret_value(seeded["uuid"], "dev-value", environment="dev")
    row = emulator.snapshot()["secrets"][0]
    assert (row["devValue"], row["prodValue"]) == ("dev-value", PLANTED_SECRET_VALUE)
    assert client.secret_has_value("PG") is True


def test_update_secret_keeps_values_and_delete(
    emulator: ZiggyEmulator, client: ZiggyClient
) -> None:
    seeded = emulator.add_secret("PG", prod_value=PLANTED_SECRET_VALUE)
    client.update_secret(
        seeded["uuid"], Secret(uuid=seeded["uuid"], name="PG", description="new", tags=("a",))
    )
    row = emulator.snapshot()["secrets"][0]
    assert (row["description"], row["tags"]) == ("new", ["a"])
    assert row["prodValue"] == PLANTED_SECRET_VALUE
    client.delete_secret(seeded["uuid"])
    assert emulator.snapshot()["secrets"] == []


# ------------------------------------------------------------------ structures and variables


def test_structures_crud(emulator: ZiggyEmulator, client: ZiggyClient) -> None:
    created = client.create_structure(
        Structure(uuid="", name="Order", value="interface Order {}", tags=("sales",))
    )
    other = client.create_structure(Structure(uuid="", name="Invoice", tags=("finance",)))
    assert {row["uuid"] for row in emulator.snapshot()["structures"]} == {
        created.uuid,
        other.uuid,
    }
    assert [s.name for s in client.list_structures()] == ["Invoice", "Order"]
    assert client.list_structures(tags=["sales"]) == [created]
    changed = attrs.evolve(created, value="interface Order { id: string }", description="d")
    client.update_structure(created.uuid, changed)
    assert client.list_structures(tags=["sales"]) == [changed]
    client.delete_structure(created.uuid)
    assert client.list_structures() == [other]


def test_variables_crud(emulator: ZiggyEmulator, client: ZiggyClient) -> None:
    created = client.create_variable(Variable(uuid="", name="region", value="eu"))
    assert emulator.snapshot()["variables"][0]["value"] == "eu"
    assert client.list_variables() == [created]
    changed = attrs.evolve(created, value="us", description="where")
    client.update_variable(created.uuid, changed)
    assert client.list_variables() == [changed]
    client.delete_variable(created.uuid)
    assert client.list_variables() == []


# ------------------------------------------------------------------ backups


def test_backup_database_ok(emulator: ZiggyEmulator, client: ZiggyClient) -> None:
    result = client.backup_database()
    assert result.ok is True
    assert result.local_backup_status == "success"
    assert result.local_backup_file
    assert result.remote_backup_status == "not_configured"
    assert len(emulator.snapshot()["backups"]) == 1


def test_backup_database_failed(emulator: ZiggyEmulator, client: ZiggyClient) -> None:
    emulator.backup_status = "failed"
    result = client.backup_database()
    assert result.ok is False
    assert result.local_backup_status == "failed"
    assert result.local_backup_file is None
    assert emulator.snapshot()["backups"] == []


# ------------------------------------------------------------------ error mapping


def test_missing_items_raise_not_found(emulator: ZiggyEmulator, client: ZiggyClient) -> None:
    missing = "00000000-0000-0000-0000-000000000000"
    with pytest.raises(NotFoundError) as caught:
        client.get_flow(missing)
    assert caught.value.response_code == 404
    assert f"/api/flow/{missing}" in str(caught.value)
    with pytest.raises(NotFoundError):
        client.get_connection(missing)
    with pytest.raises(NotFoundError):
        client.get_secret(missing)
    with pytest.raises(NotFoundError):
        client.update_connection(missing, Connection(uuid=missing, name="x", type="SMTP"))
    with pytest.raises(NotFoundError):
        client.clone_flow(missing)


def test_invalid_connection_type_raises_bad_request(
    emulator: ZiggyEmulator, client: ZiggyClient
) -> None:
    with pytest.raises(BadRequestError) as caught:
        client.create_connection(Connection(uuid="", name="bad", type="NotAType"))
    error = caught.value
    assert error.response_code == 400
    assert "type must be one of" in str(error)
    assert "type must be one of" in error.response_body
    assert emulator.snapshot()["connections"] == []
    # a 400 is final: one POST, no retry, no lookup
    assert emulator.request_count("POST", "/api/connection") == 1
    assert emulator.request_count("GET", "/api/connection") == 0


def test_invalid_secret_name_raises_bad_request(client: ZiggyClient) -> None:
    with pytest.raises(BadRequestError) as caught:
        client.create_secret(Secret(uuid="", name="not-an-identifier"))
    assert "JavaScript identifier" in str(caught.value)


# ------------------------------------------------------------ single items, the server's export


def test_get_structure_and_variable(emulator: ZiggyEmulator, client: ZiggyClient) -> None:
    structure = emulator.add_structure("Order", value="interface Order {}", tags=["sales"])
    variable = emulator.add_variable("region", value="eu")
    assert client.get_structure(structure["uuid"]) == Structure(
        uuid=structure["uuid"], name="Order", value="interface Order {}", tags=("sales",)
    )
    assert client.get_variable(variable["uuid"]) == Variable(
        uuid=variable["uuid"], name="region", value="eu"
    )
    with pytest.raises(NotFoundError):
        client.get_variable("00000000-0000-4000-8000-000000000000")


def test_server_export_tagged_prepares_downloads_and_drops(
    emulator: ZiggyEmulator, client: ZiggyClient
) -> None:
    emulator.add_flow("Orders", tags=["sales"])
    emulator.add_flow("Other", tags=["misc"])
    exported = client.server_export_tagged(tags=["sales"])
    assert [flow["name"] for flow in exported["flows"]] == ["Orders"]
    calls = [(r.method, r.path) for r in emulator.requests if "export" in r.path]
    assert calls == [
        ("POST", "/api/flow/export-tagged"),
        ("GET", "/api/flow/export-tagged"),
        ("DELETE", "/api/flow/tagged-export"),
    ]
