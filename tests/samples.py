"""Realistic server contents for tests: flows that use connections, secrets and subflows.

``seed_dev`` fills an emulator the way a real development server looks, and returns the
UUIDs of what it made so that tests can assert on them by role, not by position.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import attrs

from ziggy_migrate import ZiggyClient
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


def _node(block_type: str, **data: Any) -> dict[str, Any]:
    return {
        "id": f"n{next(_counter)}",
        "type": block_type,
        "data": data,
        "position": {"x": 0, "y": 0},
    }


@contextmanager
def client_for(ziggy: ZiggyEmulator, name: str = "test", **options: Any) -> Iterator[ZiggyClient]:
    """A client logged in to ``ziggy`` as its admin, retrying fast."""
    options.setdefault("retry", FAST_RETRY)
    with ZiggyClient(ziggy.url, ziggy.port, "admin", "admin", name=name, **options) as client:
        yield client
