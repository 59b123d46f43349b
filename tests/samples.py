"""The tests' one helpers module: server contents to seed, clients, and small look-ups.

``seed_dev`` fills an emulator the way a real development server looks (a subflow cycle,
unused items, a structure and a variable), for the library's tests. ``seed_tagged_dev``
is a smaller server whose flows are told apart by the tags ``tag1``/``tag2``, which the
command-line tests select by. Both return the UUIDs of what they made, so tests assert
on items by role, not by position. The other helpers read or change an emulator through
the library, behind the back of the code under test.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs

from ziggy_migrate import ZiggyClient, export_flows
from ziggy_migrate._client.client import RetryPolicy
from ziggy_migrate.testing import ZiggyEmulator

PG_PASSWORD_VALUE = "pg-Pa55word-never-export"
HUBSPOT_KEY_VALUE = "hs-api-key-never-export"
FAST_RETRY = RetryPolicy(attempts=8, backoff=0.005, max_backoff=0.05, total=30.0)


@attrs.frozen
class DevServer:
    """UUIDs of the seeded items, by role."""

    pg: str
    hubspot: str
    unused_connection: str
    structure: str
    variable: str
    orders: str
    invoices: str
    sub_a: str
    sub_b: str
    marketing: str
    untagged: str


def seed_dev(ziggy: ZiggyEmulator) -> DevServer:
    """Two production flows sharing a Postgres connection, a subflow cycle, and strays."""
    ziggy.add_secret("PG_PASSWORD", dev_value=PG_PASSWORD_VALUE, prod_value=PG_PASSWORD_VALUE)
    ziggy.add_secret("HUBSPOT_KEY", prod_value=HUBSPOT_KEY_VALUE)
    ziggy.add_secret("UNUSED_SECRET", dev_value="unused-value")
    pg = ziggy.add_connection(
        "Orders DB",
        type="Postgres",
        dev_value="{ host: 'db.dev', user: 'app', password: secrets.PG_PASSWORD, port: 5432 }",
        prod_value="{ host: 'db.prod', user: 'app', password: secrets.PG_PASSWORD, port: 5432 }",
    )
    hubspot = ziggy.add_connection(
        "CRM", type="Hubspot", dev_value="{ apiKey: '{secrets.HUBSPOT_KEY}' }"
    )
    unused = ziggy.add_connection("Unused", type="SMTP", dev_value="{ host: 'smtp' }")
    structure = ziggy.add_structure("Order", value="interface Order { id: string }")
    variable = ziggy.add_variable("REGION", value="eu-west-1")
    sub_b_uuid = "5ab5ab5a-0000-4000-8000-00000000000b"
    sub_a = ziggy.add_flow(
        "Enrich order",
        is_subflow=True,
        nodes=[_node("call", subflowUuid=sub_b_uuid)],
    )
    sub_b = ziggy.add_flow(
        "Score order",
        uuid=sub_b_uuid,
        is_subflow=True,
        nodes=[
            _node("call", subflowUuid=sub_a["uuid"]),
            _node("js", code="const key = secrets.HUBSPOT_KEY; return key.length;"),
        ],
    )
    orders = ziggy.add_flow(
        "Orders",
        tags=["production", "sales"],
        nodes=[
            _node("sql", connectionUuid=pg["uuid"], query="select 1"),
            _node("call", subflowUuid=sub_a["uuid"]),
            _node("type", structureUuid=structure["uuid"]),
        ],
        edges=[{"id": "e1", "source": "n0", "target": "n1"}],
    )
    invoices = ziggy.add_flow(
        "Invoices",
        tags=["production"],
        nodes=[
            _node("sql", connectionUuid=pg["uuid"]),
            _node(
                "ai",
                modelConnectionUuid=hubspot["uuid"],
                url="https://api.example.com/{secrets.HUBSPOT_KEY}/x",
            ),
            _node("var", variableUuid=variable["uuid"]),
        ],
    )
    marketing = ziggy.add_flow("Newsletter", tags=["marketing"], nodes=[])
    untagged = ziggy.add_flow("Scratch", nodes=[_node("sql", connectionUuid=pg["uuid"])])
    return DevServer(
        pg=pg["uuid"],
        hubspot=hubspot["uuid"],
        unused_connection=unused["uuid"],
        structure=structure["uuid"],
        variable=variable["uuid"],
        orders=orders["uuid"],
        invoices=invoices["uuid"],
        sub_a=sub_a["uuid"],
        sub_b=sub_b["uuid"],
        marketing=marketing["uuid"],
        untagged=untagged["uuid"],
    )


_counter = iter(range(1_000_000))


@attrs.frozen
class TaggedDev:
    """UUIDs of the items :func:`seed_tagged_dev` made, by role."""

    orders: str
    invoices: str
    subflow: str
    sandbox: str


def seed_tagged_dev(ziggy: ZiggyEmulator) -> TaggedDev:
    """A small dev server for command-line tests: two flows tagged ``tag1`` and ``tag2``,
    a subflow called by UUID, connections using secrets, a stray ``sandbox`` flow."""
    ziggy.add_secret("PG_PASSWORD", dev_value="pg-dev-value", prod_value="pg-prod-value")
    ziggy.add_secret("CRM_TOKEN", prod_value="crm-prod-value")
    pg = ziggy.add_connection(
        "Orders DB",
        type="Postgres",
        dev_value="{ host: 'db', user: 'app', password: 'secrets.PG_PASSWORD' }",
    )
    crm = ziggy.add_connection(
        "CRM", type="Hubspot", dev_value="{ accessToken: 'secrets.CRM_TOKEN' }"
    )
    subflow = ziggy.add_flow("Format address", is_subflow=True)
    orders = ziggy.add_flow(
        "Sync orders",
        tags=["tag1", "production"],
        nodes=[
            {"id": "a", "type": "postgres", "data": {"connectionUuid": pg["uuid"]}},
            {"id": "b", "type": "subflow", "data": {"flowUuid": subflow["uuid"]}},
            {"id": "c", "type": "js", "data": {"code": "return secrets.CRM_TOKEN;"}},
        ],
    )
    invoices = ziggy.add_flow(
        "Invoices",
        tags=["tag2"],
        nodes=[{"id": "a", "type": "hubspot", "data": {"connectionUuid": crm["uuid"]}}],
    )
    sandbox = ziggy.add_flow("Sandbox", tags=["sandbox"])
    return TaggedDev(orders["uuid"], invoices["uuid"], subflow["uuid"], sandbox["uuid"])


def _node(block_type: str, **data: Any) -> dict[str, Any]:
    return {
        "id": f"n{next(_counter)}",
        "type": block_type,
        "data": data,
        "position": {"x": 0, "y": 0},
    }


@contextmanager
def client_for(
    ziggy: ZiggyEmulator, name: str | None = None, **options: Any
) -> Iterator[ZiggyClient]:
    """A client logged in to ``ziggy`` as its user (named as the emulator unless ``name``
    is given), retrying fast."""
    options.setdefault("retry", FAST_RETRY)
    with ZiggyClient(
        ziggy.url,
        ziggy.port,
        ziggy.username,
        ziggy.password,
        name=ziggy.name if name is None else name,
        **options,
    ) as client:
        yield client


def export_to(ziggy: ZiggyEmulator, path: Path, *, tags: Sequence[str] | None = None) -> Path:
    """Export ``ziggy``'s flows (those with any of ``tags``, or all) to ``path`` via the library."""
    with client_for(ziggy) as client:
        export_flows(client, tags=tags, path=path)
    return path


def flow_named(ziggy: ZiggyEmulator, name: str) -> dict[str, Any]:
    """The one flow called ``name`` in the emulator's database."""
    flows: list[dict[str, Any]] = ziggy.snapshot()["flows"]
    (flow,) = [flow for flow in flows if flow["name"] == name]
    return flow


def edit_flow_node(ziggy: ZiggyEmulator, name: str, index: int, **changes: Any) -> None:
    """Change keys of one node of a flow through the API, as someone in the editor would."""
    uuid = flow_named(ziggy, name)["uuid"]
    with client_for(ziggy) as client:
        flow = client.get_flow(uuid).flow
        nodes = [dict(node) for node in flow.nodes]
        nodes[index] = {**nodes[index], **changes}
        client.update_flow(uuid, attrs.evolve(flow, nodes=nodes))


def write_requests(ziggy: ZiggyEmulator) -> int:
    """Logged requests that could change the server (a login is a POST that changes nothing)."""
    return sum(
        1
        for request in ziggy.requests
        if request.method != "GET" and not request.path.startswith("/api/auth/")
    )
