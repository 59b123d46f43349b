"""The emulator agrees with the official tools (issue 14, part 5).

Pinned here, over real HTTP: the server export of "no tags and no ids" is every flow,
``REST`` is the listener type flows get, login answers the role ``ADMIN``, the flow
controller's fixed paths are not read as flow UUIDs, and the database transfer file can
be made and downloaded.
"""

from __future__ import annotations

import json

import pytest

from ziggy_migrate import Flow
from ziggy_migrate.testing import ZiggyEmulator

from .test_emulator import Api, names


@pytest.fixture
def api(emulator: ZiggyEmulator) -> Api:
    return Api(emulator)


def _export(api: Api, body: dict[str, list[str]]) -> dict[str, list[dict[str, object]]]:
    assert api.call("POST", "/api/flow/export-tagged", json=body).status_code == 201
    response = api.get("/api/flow/export-tagged")
    assert response.status_code == 200
    document: dict[str, list[dict[str, object]]] = response.json()
    return document


def test_export_with_no_tags_and_no_ids_is_every_flow(emulator: ZiggyEmulator, api: Api) -> None:
    emulator.add_flow("Tagged", tags=["ship"])
    emulator.add_flow("Untagged")
    deleted = emulator.add_flow("Deleted")
    assert api.call("DELETE", f"/api/flow/{deleted['uuid']}").status_code == 200
    assert names(_export(api, {"tags": [], "flowUuids": []})["flows"]) == ["Tagged", "Untagged"]
    # a selection still selects
    assert names(_export(api, {"tags": ["ship"], "flowUuids": []})["flows"]) == ["Tagged"]


def test_export_carries_the_structures_and_variables_the_flows_use(
    emulator: ZiggyEmulator, api: Api
) -> None:
    structure = emulator.add_structure("Order", value="interface Order {}")
    variable = emulator.add_variable("REGION", value="eu")
    emulator.add_structure("Unused")
    emulator.add_flow(
        "Uses both",
        tags=["ship"],
        nodes=[
            {"id": "a", "data": {"structureUuid": structure["uuid"]}},
            {"id": "b", "data": {"variableUuid": variable["uuid"]}},
        ],
    )
    export = _export(api, {"tags": ["ship"], "flowUuids": []})
    assert names(export["structures"]) == ["Order"]
    assert names(export["variables"]) == ["REGION"]
    assert export["structures"][0]["tenantId"] == "##solo##"  # whole server rows


def test_flows_are_rest_listeners_by_default(emulator: ZiggyEmulator, api: Api) -> None:
    seeded = emulator.add_flow("Seeded")
    assert seeded["listenerType"] == "REST"
    assert Flow(uuid="u", name="n").listener_type == "REST"
    created = api.call("POST", "/api/flow/Created/REST").json()
    assert created["listenerType"] == "REST"


def test_login_role_reads_admin(emulator: ZiggyEmulator, api: Api) -> None:
    assert api.login("admin", "admin").json()["role"] == "ADMIN"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/flow/vacuum"),
        ("GET", "/api/flow/export-all"),
        ("PUT", "/api/flow/export-all"),
        ("DELETE", "/api/flow/import"),
        ("GET", "/api/flow/tagged-export"),
        ("GET", "/api/nothing/here"),
    ],
)
def test_fixed_and_unknown_paths_answer_nestjs_404(
    emulator: ZiggyEmulator, api: Api, method: str, path: str
) -> None:
    emulator.add_flow("A flow")
    for token in (api.token, "not-a-token"):  # routing comes before authentication
        response = api.call(method, path, token=token, json={})
        assert response.status_code == 404
        assert response.json() == {
            "statusCode": 404,
            "message": f"Cannot {method} {path}",
            "error": "Not Found",
        }


def test_a_flow_uuid_path_still_reaches_the_flow(emulator: ZiggyEmulator, api: Api) -> None:
    flow = emulator.add_flow("Reachable")
    assert api.get(f"/api/flow/{flow['uuid']}").json()["name"] == "Reachable"
    missing = api.get("/api/flow/3f0e4c1a-0000-4000-8000-000000000000")
    assert missing.status_code == 404
    assert missing.json()["message"] != "Cannot GET /api/flow/3f0e4c1a-0000-4000-8000-000000000000"


def test_transfer_file_is_made_then_downloaded(emulator: ZiggyEmulator, api: Api) -> None:
    emulator.add_secret("PG", dev_value="pg-value")
    assert emulator.transfer_file is None
    assert api.get("/api/system/download-transfer").status_code == 404
    made = api.call("POST", "/api/system/transfer-db")
    assert made.status_code == 201
    assert made.content == b""
    downloaded = api.get("/api/system/download-transfer")
    assert downloaded.status_code == 200
    assert downloaded.headers["Content-Type"] == "application/octet-stream"
    assert downloaded.content == emulator.transfer_file
    assert downloaded.content.startswith(b"PGDMP")
    tables = json.loads(downloaded.content[5:])["tables"]
    assert tables["secrets"][0]["devValue"] == "pg-value"  # a dump holds everything


def test_transfer_endpoints_need_a_token(emulator: ZiggyEmulator, api: Api) -> None:
    assert api.call("POST", "/api/system/transfer-db", token="nope").status_code == 401
    assert api.call("GET", "/api/system/download-transfer", token="nope").status_code == 401
    assert emulator.transfer_file is None
