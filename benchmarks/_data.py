"""Deterministic, realistic server contents and bundle files for the benchmark.

Everything here is plain JSON-shaped data (camelCase rows as the emulator's ``load()``
takes them, and bundle documents as ``bundle-v1.schema.json`` describes them), built
without any HTTP so that seeding 1,000 flows takes a fraction of a second.

What the data looks like:

- secrets named like real ones (``DB_PASSWORD_007``), with dev and prod values;
- connections of several types whose ``devValue``/``prodValue`` refer to one or two
  secrets as ``secrets.NAME`` (never inline credentials);
- flows of ``nodes`` React-Flow-style blocks chained by edges: SQL and AI blocks refer to a
  couple of connections by ``connectionUuid``/``modelConnectionUuid``, JavaScript blocks and
  REST calls use a couple of secrets as ``secrets.NAME`` / ``{secrets.NAME}``, and one flow
  in ten calls another flow as a subflow. Every connection and secret is used by some flow
  (as long as there are at least as many flows), so an export carries all of them.
"""

from __future__ import annotations

import json
import random
import re
import uuid as uuidlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "Rows",
    "Sizes",
    "bundle_document",
    "server_rows",
    "target_rows",
    "write_bundle_file",
]

Rows = dict[str, list[dict[str, Any]]]
"""``{"flows": [...], "connections": [...], "secrets": [...]}`` of camelCase rows."""

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

_SECRET_PREFIXES = ("DB_PASSWORD", "API_KEY", "ACCESS_TOKEN", "WEBHOOK_SECRET", "SMTP_PASSWORD")
_VERBS = ("Sync", "Enrich", "Score", "Notify", "Archive", "Import", "Route", "Bill")
_NOUNS = ("orders", "invoices", "customers", "leads", "tickets", "shipments", "payments")
_TAGS = ("production", "sales", "finance", "support", "nightly", "webhooks")


@dataclass(frozen=True)
class Sizes:
    """How much data: flows of ``nodes`` blocks each, and the items they use."""

    flows: int
    nodes: int
    connections: int
    secrets: int


def _uuid(rng: random.Random) -> str:
    return str(uuidlib.UUID(int=rng.getrandbits(128), version=4))


def _secret_name(index: int) -> str:
    return f"{_SECRET_PREFIXES[index % len(_SECRET_PREFIXES)]}_{index:03d}"


def _connection_values(kind: int, index: int, secret: str, other: str) -> tuple[str, str, str]:
    """(type, devValue, prodValue): JavaScript-object text referring to secrets."""
    if kind == 0:
        text = (
            "{ host: 'pg-%03d.%s.example.com', user: 'app', password: secrets.%s, "
            "port: 5432, database: 'ops' }"
        )
        return "Postgres", text % (index, "dev", secret), text % (index, "prod", secret)
    if kind == 1:
        text = "{ apiKey: '{secrets.%s}', portalId: %d, baseUrl: 'https://api.%s.example.com' }"
        return "Hubspot", text % (secret, index, "dev"), text % (secret, index, "prod")
    if kind == 2:
        text = (
            "{ region: 'eu-west-1', bucket: 'data-%03d-%s', accessKeyId: secrets.%s, "
            "secretAccessKey: secrets.%s }"
        )
        return "S3", text % (index, "dev", secret, other), text % (index, "prod", secret, other)
    if kind == 3:
        text = "{ apiKey: secrets.%s, model: 'gpt-4o', temperature: 0.2 }"
        return "ChatGPT", text % secret, text % secret
    text = "{ host: 'smtp.%s.example.com', port: 587, user: 'robot', password: secrets.%s }"
    return "SMTP", text % ("dev", secret), text % ("prod", secret)


def _node(index: int, block: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": f"n{index}",
        "type": block,
        "position": {"x": 40 + 220 * (index % 8), "y": 60 + 140 * (index // 8)},
        "data": {"label": f"{block} {index}", **data},
    }


def _flow_nodes(
    flow: int,
    count: int,
    connections: tuple[str, str],
    secrets: tuple[str, str],
    subflow: str | None,
) -> list[dict[str, Any]]:
    """``count`` blocks cycling through realistic kinds; references as Ziggy writes them.

    Labels repeat across flows (as "Get orders" does in real editors); queries, code,
    URLs and prompts carry the flow's number, so most text is unique to its flow and
    nothing in the parsed data is shared by accident.
    """
    first, second = connections
    secret, other = secrets
    makers: tuple[Callable[[int], tuple[str, dict[str, Any]]], ...] = (
        lambda i: (
            "sql",
            {
                "connectionUuid": first,
                # Sample data for the editor graph, never executed.
                "query": f"select id, status, total from orders_{flow} where batch = {i}",  # noqa: S608
            },
        ),
        lambda i: (
            "javascript",
            {
                "code": f"const key = secrets.{secret};\n"
                f"return rows.filter((r) => r.total > {i}).map((r) => sign(r, key, {flow}));"
            },
        ),
        lambda i: ("filter", {"field": "status", "operator": "equals", "value": f"open-{i}"}),
        lambda i: (
            "restCall",
            {
                "method": "POST",
                "url": f"https://hooks.example.com/v2/{flow}/events/{i}?token={{secrets.{other}}}",
                "headers": [{"key": "Content-Type", "value": "application/json"}],
            },
        ),
        lambda i: (
            "sql",
            {
                "connectionUuid": second,
                "query": f"insert into audit(flow, step) values ({flow}, {i})",  # noqa: S608
            },
        ),
        lambda i: ("map", {"mapping": {"id": "row.id", "step": str(i), "ok": "row.ok"}}),
        lambda i: (
            "ai",
            {
                "modelConnectionUuid": second,
                "prompt": f"Summarise batch {i} of flow {flow} in one line.",
            },
        ),
        lambda i: ("switch", {"expression": "row.status", "cases": ["open", "closed", str(i)]}),
    )
    nodes = [_node(0, "apiTrigger", {"path": "/hooks/in", "method": "POST"})]
    for index in range(1, count):
        block, data = makers[(index - 1) % len(makers)](index)
        nodes.append(_node(index, block, data))
    if subflow is not None and count > 1:
        nodes[-1] = _node(count - 1, "callFlow", {"subflowUuid": subflow, "wait": True})
    return nodes[:count]


def server_rows(sizes: Sizes, *, seed: int = 1) -> Rows:
    """The source server's contents, as rows for ``ZiggyEmulator.load``."""
    rng = random.Random(seed)
    secrets = [
        {
            "uuid": _uuid(rng),
            "name": _secret_name(index),
            "description": f"credential {index}",
            "group": _SECRET_PREFIXES[index % len(_SECRET_PREFIXES)].lower(),
            "tags": ["benchmark"],
            "devValue": f"dev-value-{index}",
            "prodValue": f"prod-value-{index}",
        }
        for index in range(sizes.secrets)
    ]
    connections = []
    for index in range(sizes.connections):
        secret = _secret_name(index % sizes.secrets) if sizes.secrets else "MISSING"
        other = _secret_name((index + 1) % sizes.secrets) if sizes.secrets else "MISSING"
        kind, dev, prod = _connection_values(index % 5, index, secret, other)
        connections.append(
            {
                "uuid": _uuid(rng),
                "name": f"{kind} {index:03d}",
                "type": kind,
                "description": f"{kind} connection {index}",
                "devValue": dev,
                "prodValue": prod,
            }
        )
    flow_uuids = [_uuid(rng) for _ in range(sizes.flows)]
    flows = []
    for index, uuid in enumerate(flow_uuids):
        used = (
            (
                connections[index % sizes.connections]["uuid"],
                connections[(index * 13 + 5) % sizes.connections]["uuid"],
            )
            if sizes.connections
            else ("", "")
        )
        names = (
            (_secret_name(index % sizes.secrets), _secret_name((index * 7 + 1) % sizes.secrets))
            if sizes.secrets
            else ("MISSING", "MISSING")
        )
        calls = (
            flow_uuids[(index + 1) % sizes.flows] if index % 10 == 0 and sizes.flows > 1 else None
        )
        nodes = _flow_nodes(index, sizes.nodes, used, names, calls)
        flows.append(
            {
                "uuid": uuid,
                "name": f"{_VERBS[index % len(_VERBS)]} {_NOUNS[index % len(_NOUNS)]} {index:05d}",
                "tags": [_TAGS[index % len(_TAGS)], _TAGS[(index // 7) % len(_TAGS)]],
                "listenerType": "API",
                "isSubflow": calls is None and index % 10 == 1,
                "nodes": nodes,
                "edges": [
                    {"id": f"e{i}", "source": f"n{i}", "target": f"n{i + 1}"}
                    for i in range(len(nodes) - 1)
                ],
                "viewport": {"x": 0, "y": 0, "zoom": 0.8},
            }
        )
    return {"flows": flows, "connections": connections, "secrets": secrets}


def bundle_document(
    rows: Rows, *, source_url: str = "http://source.invalid:3000"
) -> dict[str, Any]:
    """The bundle-v1 document ``export_flows`` would make of these rows (every flow)."""

    def by_name(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return sorted(items, key=lambda item: (item["name"], item["uuid"]))

    flows = [
        {
            "uuid": flow["uuid"],
            "name": flow["name"],
            "listenerType": flow["listenerType"],
            "tags": flow["tags"],
            "nodes": flow["nodes"],
            "edges": flow["edges"],
            "viewport": flow["viewport"],
            "isSubflow": flow["isSubflow"],
            "isCommander": False,
            "isValid": True,
            "numBlocks": len(flow["nodes"]),
            "info": "",
            "executionHistoryLevel": "USE_DEFAULT",
            "executionHistoryMins": None,
            "timeout": None,
        }
        for flow in rows["flows"]
    ]
    connections = [
        {
            "uuid": row["uuid"],
            "name": row["name"],
            "type": row["type"],
            "description": row["description"],
            "devValue": row["devValue"],
            "prodValue": row["prodValue"],
            "isCorePlatform": False,
        }
        for row in rows["connections"]
    ]
    secrets = [
        {
            "uuid": row["uuid"],
            "name": row["name"],
            "description": row["description"],
            "type": "string",
            "group": row["group"],
            "tags": row["tags"],
        }
        for row in rows["secrets"]
    ]
    return {
        "schemaVersion": 1,
        "provenance": {
            "source": {"url": source_url, "name": "source"},
            "toolVersion": "benchmark",
            "exportedAt": "2026-01-01T00:00:00Z",
            "selection": {"flowIds": [], "tags": []},
        },
        "flows": by_name(flows),
        "connections": by_name(connections),
        "secrets": by_name(secrets),
        "structures": [],
        "variables": [],
        "unresolvedReferences": [],
    }


def write_bundle_file(document: dict[str, Any], path: Path) -> int:
    """Write ``document`` in the canonical form ``save_bundle`` uses; returns its size."""
    with path.open("w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2, sort_keys=True, ensure_ascii=False)
        handle.write("\n")
    return path.stat().st_size


def target_rows(rows: Rows, *, seed: int = 2) -> Rows:
    """A target that already holds every item of ``rows``: same names, NEW UUIDs.

    That is what a production server looks like after an earlier import (the server picks
    UUIDs on create), so the import matches every item by name. References inside flows
    point at the target's own UUIDs; secrets hold values there.
    """
    rng = random.Random(seed)
    mapping = {
        row["uuid"]: _uuid(rng)
        for table in ("flows", "connections", "secrets")
        for row in rows[table]
    }
    text = json.dumps(rows)
    text = _UUID.sub(lambda match: mapping.get(match.group(0), match.group(0)), text)
    copied: Rows = json.loads(text)
    return copied
