"""The Ziggy emulator, exercised over real HTTP with ``requests``, as a client would.

These tests pin the contract in shared/ziggy-api.md (paths, field names, statuses) and
the emulator's own promises (faults, latency, seeding, instrumentation), because the
rest of the project's tests trust the emulator to behave like a Ziggy server.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests

import ziggy_migrate
from ziggy_migrate import testing
from ziggy_migrate.testing import FaultPlan, RecordedRequest, ZiggyEmulator

TIMEOUT = 10.0
SRC = Path(ziggy_migrate.__file__).resolve().parents[1]  # where the tested package is
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
STAMP_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


class Api:
    """A logged-in client for one emulator: a session, a token and short helpers."""

    def __init__(self, ziggy: ZiggyEmulator) -> None:
        self.base_url = ziggy.base_url
        self.session = requests.Session()
        self.token = self.login(ziggy.username, ziggy.password).json()["token"]

    def login(self, username: str, password: str) -> requests.Response:
        body = {"username": username, "password": password}
        return self.session.post(f"{self.base_url}/api/auth/login", json=body, timeout=TIMEOUT)

    def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, str] | None = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        sent = {"Authorization": f"Bearer {token or self.token}"} if headers is None else headers
        return self.session.request(
            method,
            f"{self.base_url}{path}",
            json=json,
            params=params,
            headers=sent,
            timeout=TIMEOUT,
        )

    def get(self, path: str, **params: str) -> requests.Response:
        return self.call("GET", path, params=params or None)


@pytest.fixture
def api(emulator: ZiggyEmulator) -> Api:
    return Api(emulator)


def names(rows: list[dict[str, Any]]) -> list[str]:
    return [str(row["name"]) for row in rows]


# --------------------------------------------------------------------------- public face


def test_public_names_are_exactly_the_documented_ones() -> None:
    assert sorted(testing.__all__) == ["Answer", "FaultPlan", "RecordedRequest", "ZiggyEmulator"]


def test_addresses(emulator: ZiggyEmulator) -> None:
    assert emulator.url == "http://127.0.0.1"
    assert emulator.port > 0
    assert emulator.base_url == f"http://127.0.0.1:{emulator.port}"


# --------------------------------------------------------------------------- authentication


def test_login_answers_a_token_and_the_user(emulator: ZiggyEmulator) -> None:
    response = requests.post(
        f"{emulator.base_url}/api/auth/login",
        json={"username": "admin", "password": "admin"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 201
    body = response.json()
    assert body["username"] == "admin"
    assert body["role"] == "ADMIN"  # LoginResponseDto's role, as the official tools read it
    assert body["passwordStrengthOk"] is True
    assert UUID_RE.match(body["uuid"])
    assert len(body["token"]) >= 32


def test_login_with_a_wrong_password_is_401(api: Api) -> None:
    response = api.login("admin", "nope")
    assert response.status_code == 401
    assert response.json()["message"] == "Invalid credentials"
    assert "token" not in response.json()


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic YWRtaW46YWRtaW4="}],
)
def test_calls_without_a_valid_token_are_401(api: Api, headers: dict[str, str]) -> None:
    response = api.call("GET", "/api/flow", headers=headers)
    assert response.status_code == 401
    assert response.json()["statusCode"] == 401


def test_expired_tokens_are_401_until_refreshed(emulator: ZiggyEmulator, api: Api) -> None:
    assert api.get("/api/flow").status_code == 200
    emulator.expire_tokens()
    assert api.get("/api/flow").status_code == 401
    body = {"token": api.token, "userId": "u", "provider": "email", "tenantId": "##solo##"}
    refreshed = api.call("POST", "/api/auth/refresh-token", json=body, headers={})
    assert refreshed.status_code == 201
    new_token = refreshed.json()["accessToken"]
    assert new_token != api.token
    assert api.call("GET", "/api/flow", token=new_token).status_code == 200


def test_token_lifetime_expires_tokens(emulator: ZiggyEmulator, api: Api) -> None:
    emulator.token_lifetime = 0.3
    fresh = api.login("admin", "admin").json()["token"]
    assert api.call("GET", "/api/flow", token=fresh).status_code == 200
    time.sleep(0.35)
    assert api.call("GET", "/api/flow", token=fresh).status_code == 401
    body = {"token": fresh, "userId": "u", "provider": "email"}
    refreshed = api.call("POST", "/api/auth/refresh-token", json=body, headers={})
    assert api.call("GET", "/api/flow", token=refreshed.json()["accessToken"]).status_code == 200


def test_refreshing_a_token_never_issued_is_401(api: Api) -> None:
    body = {"token": "forged", "userId": "u", "provider": "email"}
    assert api.call("POST", "/api/auth/refresh-token", json=body, headers={}).status_code == 401


# --------------------------------------------------------------------------- system


def test_health_is_plain_text_and_needs_no_token(api: Api) -> None:
    response = api.call("GET", "/api/health", headers={})
    assert response.status_code == 200
    assert response.text == "OK"
    assert response.headers["Content-Type"].startswith("text/plain")


def test_version_info(api: Api) -> None:
    body = api.get("/api/system/version-info").json()
    assert set(body) == {"major", "minor", "build", "info"}


def test_unknown_routes_are_404_even_without_a_token(api: Api) -> None:
    response = api.call("GET", "/api/nothing-here", headers={})
    assert response.status_code == 404
    assert response.json() == {
        "statusCode": 404,
        "message": "Cannot GET /api/nothing-here",
        "error": "Not Found",
    }
    assert api.call("PATCH", "/api/flow").status_code == 404


def test_malformed_json_is_400(api: Api) -> None:
    response = api.session.post(
        f"{api.base_url}/api/connection",
        data=b'{"name": ',
        headers={"Authorization": f"Bearer {api.token}", "Content-Type": "application/json"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 400
    assert response.json()["error"] == "Bad Request"


def test_keep_alive_reuses_one_connection(emulator: ZiggyEmulator, api: Api) -> None:
    """Exact Content-Length on every answer, empty ones included, keeps the socket usable."""
    flow = api.call("POST", "/api/flow/a/API").json()
    connection = http.client.HTTPConnection("127.0.0.1", emulator.port, timeout=TIMEOUT)
    headers = {"Authorization": f"Bearer {api.token}", "Content-Type": "application/json"}
    try:
        sockets: set[int] = set()
        for _ in range(3):
            connection.request("PUT", f"/api/flow/{flow['uuid']}", b'{"numBlocks": 1}', headers)
            response = connection.getresponse()
            assert (response.status, response.read()) == (200, b"")
            connection.request("GET", "/api/health")
            assert connection.getresponse().read() == b"OK"
            sockets.add(connection.sock.getsockname()[1])
        assert len(sockets) == 1
    finally:
        connection.close()


# --------------------------------------------------------------------------- flows


def test_flow_list_filters(emulator: ZiggyEmulator, api: Api) -> None:
    orders = emulator.add_flow("Orders", tags=["sales", "daily"])
    emulator.add_flow("order audit", tags=["audit"], is_subflow=True)
    emulator.add_flow("Billing", tags=["finance"], listener_type="Schedule")
    emulator.add_flow("Old orders", tags=["sales"], isDeleted=True)

    everything = api.get("/api/flow", search="", flowId="", tags="").json()
    assert names(everything) == ["Billing", "order audit", "Orders"]
    assert set(everything[0]) == {"uuid", "isSubflow", "name", "listenerType", "tags", "updatedAt"}
    assert names(api.get("/api/flow", search="ORDER").json()) == ["order audit", "Orders"]
    assert names(api.get("/api/flow", flowId=orders["uuid"]).json()) == ["Orders"]
    assert names(api.get("/api/flow", tags="audit,finance").json()) == ["Billing", "order audit"]
    combined = api.get("/api/flow", search="order", tags="sales", flowId="").json()
    assert names(combined) == ["Orders"]
    assert api.get("/api/flow", flowId="no-such-uuid").json() == []


def test_flow_list_is_sorted_by_name(emulator: ZiggyEmulator, api: Api) -> None:
    for name in ("b", "c", "a"):
        emulator.add_flow(name)
    assert names(api.get("/api/flow").json()) == ["a", "b", "c"]


def test_get_flow_derives_its_relations_from_the_nodes(emulator: ZiggyEmulator, api: Api) -> None:
    used_connection = emulator.add_connection("warehouse", dev_value="{ password: 'x' }")
    emulator.add_connection("unused")
    emulator.add_secret("API_KEY", dev_value="dev-key")
    emulator.add_secret("OTHER")
    structure = emulator.add_structure("Order", value="interface Order {}")
    variable = emulator.add_variable("region", value="eu")
    nodes = [
        {
            "id": "1",
            "type": "sql",
            "data": {"connectionUuid": used_connection["uuid"], "code": "q(secrets.API_KEY)"},
        },
        {
            "id": "2",
            "type": "js",
            "data": {"deep": [{"t": f"x {structure['uuid']} {variable['uuid']}"}]},
        },
    ]
    flow = emulator.add_flow("Uses things", nodes=nodes, info="why")

    body = api.get(f"/api/flow/{flow['uuid']}").json()
    flow_fields = {
        "tenantId", "uuid", "queueUuid", "nodes", "edges", "viewport", "info",
        "executionHistoryLevel", "executionHistoryMins", "isValid", "name", "listenerType",
        "numBlocks", "tags", "isSubflow", "isCommander", "timeout", "createdAt", "updatedAt",
        "isDeleted", "isLocked",
    }  # fmt: skip
    relations = {"connections", "secrets", "structures", "variables", "schedules"}
    assert flow_fields | relations == set(body)
    assert body["tenantId"] == "##solo##"
    assert body["info"] == "why"
    assert body["executionHistoryLevel"] == "USE_DEFAULT"
    assert body["executionHistoryMins"] is None
    assert body["nodes"] == nodes
    assert [row["uuid"] for row in body["connections"]] == [used_connection["uuid"]]
    assert body["connections"][0]["devValue"] == "{ password: 'x' }"
    assert names(body["secrets"]) == ["API_KEY"]
    assert body["secrets"][0]["devValue"] == "dev-key"
    assert names(body["structures"]) == ["Order"]
    assert names(body["variables"]) == ["region"]


def test_relations_follow_the_nodes_a_put_writes(emulator: ZiggyEmulator, api: Api) -> None:
    """Relations are worked out when nodes are written; a PUT of new nodes must move
    them, and a PUT of other fields must keep them."""
    first = emulator.add_connection("first")
    second = emulator.add_connection("second")
    emulator.add_secret("TOKEN")
    flow = emulator.add_flow(
        "Moves", nodes=[{"id": "1", "data": {"connectionUuid": first["uuid"]}}]
    )
    uuid = flow["uuid"]
    assert names(api.get(f"/api/flow/{uuid}").json()["connections"]) == ["first"]

    nodes = [{"id": "1", "data": {"connectionUuid": second["uuid"], "code": "secrets.TOKEN"}}]
    assert api.call("PUT", f"/api/flow/{uuid}", json={"nodes": nodes}).status_code == 200
    body = api.get(f"/api/flow/{uuid}").json()
    assert names(body["connections"]) == ["second"]
    assert names(body["secrets"]) == ["TOKEN"]

    assert api.call("PUT", f"/api/flow/{uuid}", json={"name": "Renamed"}).status_code == 200
    body = api.get(f"/api/flow/{uuid}").json()
    assert (body["name"], names(body["connections"]), names(body["secrets"])) == (
        "Renamed",
        ["second"],
        ["TOKEN"],
    )


def test_an_answer_does_not_share_rows_with_the_store(emulator: ZiggyEmulator, api: Api) -> None:
    """Related rows are copied field by field into an answer: a later write to the row
    must not show in an answer already made."""
    connection = emulator.add_connection("db", dev_value="old")
    flow = emulator.add_flow("Uses db", nodes=[{"data": {"connectionUuid": connection["uuid"]}}])
    before = emulator._backend.store.get_flow(flow["uuid"])  # an answer, as the API makes it
    change = {"name": "db", "devValue": "new"}
    assert api.call("PUT", f"/api/connection/{connection['uuid']}", json=change).status_code == 200
    assert before["connections"][0]["devValue"] == "old"
    after = api.get(f"/api/flow/{flow['uuid']}").json()
    assert after["connections"][0]["devValue"] == "new"


def test_get_unknown_flow_is_404(api: Api) -> None:
    response = api.get("/api/flow/3f0e4c1a-0000-4000-8000-000000000000")
    assert response.status_code == 404
    assert response.json()["error"] == "Not Found"


def test_create_flow_from_url_encoded_name(api: Api) -> None:
    name = "Nightly sync — Größe ✓"
    response = api.call("POST", f"/api/flow/{quote(name, safe='')}/API")
    assert response.status_code == 201
    flow = response.json()
    assert flow["name"] == name
    assert flow["listenerType"] == "API"
    assert flow["nodes"] == []
    assert flow["edges"] == []
    assert flow["viewport"] == {"x": 0, "y": 0, "zoom": 1}
    assert flow["tenantId"] == "##solo##"
    assert UUID_RE.match(flow["uuid"])
    assert STAMP_RE.match(flow["createdAt"])
    assert names(api.get("/api/flow").json()) == [name]


def test_flow_names_may_repeat(api: Api) -> None:
    first = api.call("POST", "/api/flow/twin/API").json()
    second = api.call("POST", "/api/flow/twin/API").json()
    assert first["uuid"] != second["uuid"]
    assert names(api.get("/api/flow", search="twin").json()) == ["twin", "twin"]


def test_put_flow_changes_the_given_fields(api: Api) -> None:
    flow = api.call("POST", "/api/flow/draft/API").json()
    change = {
        "name": "final",
        "tags": ["t1"],
        "nodes": [{"id": "n1", "type": "start", "data": {}}],
        "edges": [],
        "viewport": {"x": 1, "y": 2, "zoom": 0.5},
        "isValid": False,
        "numBlocks": 1,
        "listenerType": "Schedule",
        "isCommander": True,
    }
    response = api.call("PUT", f"/api/flow/{flow['uuid']}", json=change)
    assert response.status_code == 200
    assert response.content == b""
    stored = api.get(f"/api/flow/{flow['uuid']}").json()
    assert {key: stored[key] for key in change} == change
    assert stored["updatedAt"] > flow["updatedAt"]
    assert stored["createdAt"] == flow["createdAt"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"info": "x"}, "property info should not exist"),
        ({"uuid": "x"}, "property uuid should not exist"),
        ({"tags": "a,b"}, "tags must be an array"),
        ({"tags": [1]}, "each value in tags must be a string"),
        ({"name": 3}, "name must be a string"),
        ({"numBlocks": True}, "numBlocks must be an integer number"),
        ({"isDeleted": "yes"}, "isDeleted must be a boolean value"),
    ],
)
def test_put_flow_rejects_bad_bodies(api: Api, change: dict[str, Any], message: str) -> None:
    flow = api.call("POST", "/api/flow/f/API").json()
    response = api.call("PUT", f"/api/flow/{flow['uuid']}", json=change)
    assert response.status_code == 400
    assert message in response.json()["message"]
    assert api.get(f"/api/flow/{flow['uuid']}").json()["name"] == "f"


def test_soft_deleted_flows_leave_the_list(emulator: ZiggyEmulator, api: Api) -> None:
    flow = api.call("POST", "/api/flow/gone/API").json()
    api.call("PUT", f"/api/flow/{flow['uuid']}", json={"isDeleted": True})
    assert api.get("/api/flow").json() == []
    assert emulator.snapshot()["flows"] == []


def test_delete_flow(api: Api) -> None:
    flow = api.call("POST", "/api/flow/doomed/API").json()
    response = api.call("DELETE", f"/api/flow/{flow['uuid']}")
    assert response.status_code == 200
    assert response.content == b""
    assert api.get(f"/api/flow/{flow['uuid']}").status_code == 404
    assert api.call("DELETE", f"/api/flow/{flow['uuid']}").status_code == 404


def test_clone_flow(emulator: ZiggyEmulator, api: Api) -> None:
    original = emulator.add_flow("Orders", tags=["sales"], nodes=[{"id": "1", "data": {}}])
    response = api.call("POST", f"/api/flow/clone/{original['uuid']}")
    assert response.status_code == 201
    copy_uuid = response.json()["uuid"]
    assert copy_uuid != original["uuid"]
    copy = api.get(f"/api/flow/{copy_uuid}").json()
    assert copy["name"] == "Orders (copy)"
    assert copy["nodes"] == original["nodes"]
    assert copy["tags"] == ["sales"]
    assert api.call("POST", "/api/flow/clone/nope").status_code == 404


# --------------------------------------------------------------------------- connections


def test_connection_crud(api: Api) -> None:
    create = {
        "tenantId": "##solo##",
        "name": "warehouse",
        "type": "Postgres",
        "description": "main db",
        "devValue": "{ host: 'dev' }",
        "prodValue": "{ host: 'prod' }",
    }
    response = api.call("POST", "/api/connection", json=create)
    assert response.status_code == 201
    created = response.json()
    assert set(created) == {
        "tenantId", "uuid", "name", "type", "description", "isCorePlatform", "devValue",
        "prodValue", "createdAt", "updatedAt", "isDeleted", "devOAuthToken", "prodOAuthToken",
    }  # fmt: skip
    assert created["isCorePlatform"] is False
    uuid = created["uuid"]
    assert api.get(f"/api/connection/{uuid}").json() == created

    update = api.call("PUT", f"/api/connection/{uuid}", json={"prodValue": "{ host: 'p2' }"})
    assert (update.status_code, update.content) == (200, b"")
    assert api.get(f"/api/connection/{uuid}").json()["prodValue"] == "{ host: 'p2' }"

    assert api.call("DELETE", f"/api/connection/{uuid}").status_code == 200
    assert api.get(f"/api/connection/{uuid}").status_code == 404
    assert api.get("/api/connection").json() == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": "x", "type": "Oracle"}, "type must be one of the following values: Postgres"),
        ({"type": "Postgres"}, "name must be a string"),
        ({"name": "x", "type": "S3", "colour": "red"}, "property colour should not exist"),
        ({"name": "x", "type": "S3", "isCorePlatform": "no"}, "isCorePlatform must be a boolean"),
    ],
)
def test_connection_create_validation(api: Api, body: dict[str, Any], message: str) -> None:
    response = api.call("POST", "/api/connection", json=body)
    assert response.status_code == 400
    assert any(text.startswith(message) for text in response.json()["message"])


def test_connection_put_validation(emulator: ZiggyEmulator, api: Api) -> None:
    uuid = emulator.add_connection("c")["uuid"]
    assert api.call("PUT", f"/api/connection/{uuid}", json={"type": "Nope"}).status_code == 400
    assert api.call("PUT", f"/api/connection/{uuid}", json={"uuid": "x"}).status_code == 400
    assert api.call("PUT", "/api/connection/missing", json={}).status_code == 404


def test_connection_filters(emulator: ZiggyEmulator, api: Api) -> None:
    emulator.add_connection("pg", type="Postgres")
    emulator.add_connection("mail", type="SMTP", isCorePlatform=True)
    emulator.add_connection("bucket", type="S3")
    assert names(api.get("/api/connection").json()) == ["bucket", "mail", "pg"]
    assert names(api.get("/api/connection", type="SMTP").json()) == ["mail"]
    assert names(api.get("/api/connection", core="true").json()) == ["mail"]
    assert names(api.get("/api/connection", core="false", type="").json()) == ["bucket", "pg"]
    assert names(api.get("/api/connection", type="S3", core="true").json()) == []


# --------------------------------------------------------------------------- secrets


def test_secret_crud_and_values(api: Api) -> None:
    body = {
        "tenantId": "##solo##",
        "name": "API_KEY",
        "description": "d",
        "type": "string",
        "group": "g",
        "tags": ["x"],
    }
    response = api.call("POST", "/api/secret", json=body)
    assert response.status_code == 201
    secret = response.json()
    assert secret["devValue"] is None
    assert secret["prodValue"] is None
    uuid = secret["uuid"]

    obfuscated = f"/api/secret/get-obfuscated-by-name/{secret['name']}"
    assert api.get(obfuscated).json() == {"uuid": uuid, "value": ""}

    patch = {"executionEnvironmentMode": "PROD", "uuid": uuid, "secret": "p-value"}
    response = api.call("PATCH", "/api/secret/update-secret-value", json=patch)
    assert (response.status_code, response.content) == (200, b"")
    assert api.get(f"/api/secret/{uuid}").json()["prodValue"] == "p-value"
    assert api.get(obfuscated).json() == {"uuid": uuid, "value": "********"}

    assert api.call("PUT", f"/api/secret/{uuid}", json={"devValue": "d-value"}).status_code == 200
    assert api.get("/api/secret").json()[0]["devValue"] == "d-value"

    assert api.call("DELETE", f"/api/secret/{uuid}").status_code == 200
    assert api.get("/api/secret").json() == []
    assert api.get(obfuscated).status_code == 404


@pytest.mark.parametrize("name", ["1abc", "with-dash", "has space", ""])
def test_secret_names_must_be_identifiers(api: Api, name: str) -> None:
    response = api.call("POST", "/api/secret", json={"name": name})
    assert response.status_code == 400
    assert "name must be a valid JavaScript identifier" in response.json()["message"]


def test_secret_value_patch_validation(emulator: ZiggyEmulator, api: Api) -> None:
    uuid = emulator.add_secret("S")["uuid"]
    bad = {"executionEnvironmentMode": "TEST", "uuid": uuid, "secret": "v"}
    assert api.call("PATCH", "/api/secret/update-secret-value", json=bad).status_code == 400
    unknown = {"executionEnvironmentMode": "DEV", "uuid": "missing", "secret": "v"}
    assert api.call("PATCH", "/api/secret/update-secret-value", json=unknown).status_code == 404


def test_secret_values_can_be_hidden(emulator: ZiggyEmulator, api: Api) -> None:
    uuid = emulator.add_secret("TOKEN", dev_value="dv", prod_value="pv")["uuid"]
    emulator.return_secret_values = False
    assert api.get(f"/api/secret/{uuid}").json()["devValue"] is None
    listed = api.get("/api/secret").json()[0]
    assert (listed["devValue"], listed["prodValue"]) == (None, None)
    assert emulator.snapshot()["secrets"][0]["prodValue"] == "pv"
    emulator.return_secret_values = True
    assert api.get(f"/api/secret/{uuid}").json()["prodValue"] == "pv"


# --------------------------------------------------------------------------- structures, variables


def test_structure_crud_and_tags_filter(api: Api) -> None:
    for name, tags in (("Order", ["sales"]), ("Invoice", ["finance"]), ("Plain", [])):
        body = {"name": name, "description": "", "value": f"interface {name} {{}}", "tags": tags}
        assert api.call("POST", "/api/structure", json=body).status_code == 201
    listed = api.get("/api/structure").json()
    assert names(listed) == ["Invoice", "Order", "Plain"]
    assert {"uuid", "name", "description", "value", "tags"} <= set(listed[0])
    assert names(api.get("/api/structure", tags="sales,finance").json()) == ["Invoice", "Order"]
    uuid = listed[0]["uuid"]
    assert (
        api.call("PUT", f"/api/structure/{uuid}", json={"value": "type I = 1"}).status_code == 200
    )
    assert api.get(f"/api/structure/{uuid}").json()["value"] == "type I = 1"
    assert api.call("PUT", f"/api/structure/{uuid}", json={"kind": "x"}).status_code == 400
    assert api.call("DELETE", f"/api/structure/{uuid}").status_code == 200
    assert api.get(f"/api/structure/{uuid}").status_code == 404


def test_variable_crud(api: Api) -> None:
    response = api.call("POST", "/api/variable", json={"name": "region", "value": "eu"})
    assert response.status_code == 201
    variable = response.json()
    assert {"uuid", "name", "description", "value"} <= set(variable)
    uuid = variable["uuid"]
    assert api.call("PUT", f"/api/variable/{uuid}", json={"value": "us"}).status_code == 200
    assert api.get("/api/variable").json()[0]["value"] == "us"
    assert api.call("POST", "/api/variable", json={"name": "x", "tags": []}).status_code == 400
    assert api.call("DELETE", f"/api/variable/{uuid}").status_code == 200
    assert api.get("/api/variable").json() == []


# --------------------------------------------------------------------------- history, backups


def test_named_saves_keep_a_copy_of_the_flow(emulator: ZiggyEmulator, api: Api) -> None:
    flow = emulator.add_flow("Orders", nodes=[{"id": "1", "data": {"v": 1}}])
    response = api.call(
        "POST", f"/api/ziggy/history-named-save/{flow['uuid']}/{quote('before v2')}"
    )
    assert response.status_code == 201
    assert isinstance(response.json(), str)
    api.call("PUT", f"/api/flow/{flow['uuid']}", json={"nodes": []})
    api.call("POST", f"/api/ziggy/history-named-save/{flow['uuid']}/after")

    saves = api.get(f"/api/ziggy/named-saves/{flow['uuid']}").json()
    assert [save["saveName"] for save in saves] == ["before v2", "after"]
    first = saves[0]
    assert first["flowUUID"] == flow["uuid"]
    assert first["flowName"] == "Orders"
    assert first["isNamedSave"] is True
    assert first["flowHistory"]["nodes"] == [{"id": "1", "data": {"v": 1}}]
    assert saves[1]["flowHistory"]["nodes"] == []
    assert len(emulator.snapshot()["namedSaves"]) == 2
    assert api.call("POST", "/api/ziggy/history-named-save/missing/x").status_code == 404


def test_backup_success_and_failure(emulator: ZiggyEmulator, api: Api) -> None:
    response = api.call("POST", "/api/system/backup-db")
    assert response.status_code == 201
    body = response.json()
    assert body["localBackupStatus"] == "success"
    assert body["remoteBackupStatus"] == "not_configured"
    assert re.match(r"^/backups/ziggy-.+\.sql$", body["localBackupFile"])
    emulator.backup_status = "failed"
    failed = api.call("POST", "/api/system/backup-db").json()
    assert failed == {"localBackupStatus": "failed", "remoteBackupStatus": "not_configured"}
    backups = emulator.snapshot()["backups"]
    assert [backup["localBackupFile"] for backup in backups] == [body["localBackupFile"]]


# ------------------------------------------------------------------ server-side export/import


def test_export_tagged_prepare_get_delete(emulator: ZiggyEmulator, api: Api) -> None:
    connection = emulator.add_connection("pg", dev_value="{ password: 'secrets.PG_PASS' }")
    emulator.add_secret("PG_PASS", dev_value="hunter2")
    emulator.add_secret("TOKEN", prod_value="t")
    tagged = emulator.add_flow(
        "Tagged",
        tags=["ship"],
        nodes=[{"id": "1", "data": {"connectionUuid": connection["uuid"], "c": "secrets.TOKEN"}}],
    )
    by_uuid = emulator.add_flow("Picked")
    emulator.add_flow("Left out", tags=["other"])

    assert api.get("/api/flow/export-tagged").status_code == 404
    body = {"tags": ["ship"], "flowUuids": [by_uuid["uuid"]]}
    assert api.call("POST", "/api/flow/export-tagged", json=body).status_code == 201
    export = api.get("/api/flow/export-tagged").json()
    assert names(export["flows"]) == ["Picked", "Tagged"]
    assert export["flows"][1]["uuid"] == tagged["uuid"]
    assert names(export["connections"]) == ["pg"]
    assert names(export["secrets"]) == ["PG_PASS", "TOKEN"]
    assert "hunter2" not in json.dumps(export)
    assert api.call("DELETE", "/api/flow/tagged-export").status_code == 200
    assert api.get("/api/flow/export-tagged").status_code == 404


def test_server_import_is_not_implemented(api: Api) -> None:
    response = api.call("POST", "/api/flow/import")
    assert response.status_code == 501
    assert "imports client-side" in response.json()["message"]


# --------------------------------------------------------------------- latency and concurrency


def test_latency_overlaps_across_concurrent_requests() -> None:
    with ZiggyEmulator(latency=0.2) as ziggy:
        url = f"{ziggy.base_url}/api/health"

        def fetch(_: int) -> int:
            return requests.get(url, timeout=TIMEOUT).status_code

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=10) as pool:
            statuses = list(pool.map(fetch, range(10)))
        elapsed = time.perf_counter() - started
    assert statuses == [200] * 10
    # A behaviour check, not a speed target: served one at a time, ten requests would
    # take 2 s; overlapping, they take one latency plus scheduling noise.
    assert 0.2 <= elapsed < 10 * 0.2


def test_capacity_turns_away_requests_above_it_with_429() -> None:
    with ZiggyEmulator(latency=0.3, capacity=2) as ziggy:
        url = f"{ziggy.base_url}/api/health"
        barrier = threading.Barrier(5)

        def fetch(_: int) -> int:
            barrier.wait()
            return requests.get(url, timeout=TIMEOUT).status_code

        with ThreadPoolExecutor(max_workers=5) as pool:
            statuses = sorted(pool.map(fetch, range(5)))
        assert statuses == [200, 200, 429, 429, 429]
        assert [record.fault for record in ziggy.requests].count("capacity") == 3
        assert (ziggy.peak_in_flight, ziggy.in_flight) == (2, 0)
        ziggy.reset_requests()
        assert ziggy.peak_in_flight == 0
        ziggy.capacity = None  # a knob like the others: from the next request on
        with ThreadPoolExecutor(max_workers=5) as pool:
            assert sorted(pool.map(fetch, range(5))) == [200] * 5
        assert ziggy.peak_in_flight == 5


def test_latency_can_change_at_runtime(emulator: ZiggyEmulator, api: Api) -> None:
    emulator.latency = 0.15
    started = time.perf_counter()
    api.get("/api/health")
    assert time.perf_counter() - started >= 0.15


def test_concurrent_writes_are_all_applied(emulator: ZiggyEmulator, api: Api) -> None:
    token = api.token

    def create(index: int) -> int:
        response = requests.post(
            f"{emulator.base_url}/api/variable",
            json={"name": f"v{index:02d}"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=TIMEOUT,
        )
        return response.status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        assert set(pool.map(create, range(32))) == {201}
    assert len(emulator.snapshot()["variables"]) == 32


# --------------------------------------------------------------------------- faults


def test_error_faults_answer_500_or_503(emulator: ZiggyEmulator, api: Api) -> None:
    emulator.faults = FaultPlan(error_rate=1.0)
    statuses = {api.get("/api/flow").status_code for _ in range(12)}
    assert statuses == {500, 503}
    assert api.login("admin", "admin").status_code == 201  # exempt path
    assert {record.fault for record in emulator.requests if record.path == "/api/flow"} == {
        "500",
        "503",
    }


def test_rate_limit_fault_sends_retry_after(emulator: ZiggyEmulator, api: Api) -> None:
    emulator.faults = FaultPlan(rate_limit_rate=1.0, retry_after=3)
    response = api.get("/api/flow")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"
    assert emulator.requests[-1] == RecordedRequest("GET", "/api/flow", "", 429, "429")


def test_drop_before_closes_without_applying(emulator: ZiggyEmulator, api: Api) -> None:
    emulator.faults = FaultPlan(drop_before_rate=1.0, methods=frozenset({"POST"}))
    with pytest.raises(requests.ConnectionError):
        api.call("POST", "/api/connection", json={"name": "pg", "type": "Postgres"})
    assert emulator.snapshot()["connections"] == []
    assert api.get("/api/connection").status_code == 200  # GET is not in the plan's methods
    dropped = [record for record in emulator.requests if record.fault]
    assert dropped == [RecordedRequest("POST", "/api/connection", "", 0, "drop_before")]


@pytest.mark.parametrize(
    ("plan", "error", "fault"),
    [
        (FaultPlan(drop_after_rate=1.0), requests.ConnectionError, "drop_after"),
        # the head arrives, then the body breaks off
        (FaultPlan(cut_short_rate=1.0), requests.exceptions.ChunkedEncodingError, "cut_short"),
    ],
    ids=["drop_after", "cut_short"],
)
def test_a_lost_answer_still_applies_the_request(
    emulator: ZiggyEmulator, api: Api, plan: FaultPlan, error: type[Exception], fault: str
) -> None:
    emulator.faults = plan
    with pytest.raises(error):
        api.call("POST", "/api/connection", json={"name": "pg", "type": "Postgres"})
    assert names(emulator.snapshot()["connections"]) == ["pg"]
    assert emulator.requests[-1].fault == fault
    assert emulator.requests[-1].status == 201
    emulator.faults = None
    assert names(api.get("/api/connection").json()) == ["pg"]


def test_cut_short_drops_an_answer_without_a_body(emulator: ZiggyEmulator, api: Api) -> None:
    """Half of nothing is nothing: the connection closes before any answer."""
    emulator.add_variable("region")
    uuid = emulator.snapshot()["variables"][0]["uuid"]
    emulator.faults = FaultPlan(cut_short_rate=1.0)
    with pytest.raises(requests.ConnectionError) as caught:
        api.call("DELETE", f"/api/variable/{uuid}")
    assert not isinstance(caught.value, requests.exceptions.ChunkedEncodingError)
    assert emulator.snapshot()["variables"] == []


def test_exempt_paths_cover_subpaths(emulator: ZiggyEmulator, api: Api) -> None:
    emulator.add_secret("S")
    emulator.faults = FaultPlan(error_rate=1.0, exempt_paths=("/api/secret",))
    assert api.get("/api/secret").status_code == 200
    assert api.get("/api/secret/get-obfuscated-by-name/S").status_code == 200
    assert api.get("/api/flow").status_code in (500, 503)


def test_fault_plans_are_validated() -> None:
    with pytest.raises(ValueError, match="add up to at most 1"):
        FaultPlan(error_rate=0.6, drop_after_rate=0.6)
    with pytest.raises(ValueError, match="between 0 and 1"):
        FaultPlan(error_rate=-0.1)


def _fault_trace(seed: int) -> list[str | None]:
    plan = FaultPlan(error_rate=0.2, rate_limit_rate=0.2, drop_before_rate=0.1, drop_after_rate=0.1)
    with ZiggyEmulator(seed=seed, faults=plan) as ziggy:
        api = Api(ziggy)
        for index in range(30):
            with contextlib.suppress(requests.ConnectionError):
                api.call("POST", "/api/variable", json={"name": f"v{index}"})
        return [record.fault for record in ziggy.requests if record.path == "/api/variable"]


def test_seeded_faults_replay_identically() -> None:
    first, second = _fault_trace(seed=42), _fault_trace(seed=42)
    assert first == second
    assert {"429", "drop_before", "drop_after"} <= set(first)
    assert {"500", "503"} & set(first)
    assert None in first
    assert _fault_trace(seed=43) != first


# --------------------------------------------------------------------------- instrumentation


def test_request_log_and_counts(emulator: ZiggyEmulator, api: Api) -> None:
    api.get("/api/flow", search="x")
    api.call("POST", "/api/flow/a/API")
    records = emulator.requests
    assert [(record.method, record.path) for record in records] == [
        ("POST", "/api/auth/login"),
        ("GET", "/api/flow"),
        ("POST", "/api/flow/a/API"),
    ]
    assert records[1].query == "search=x"
    assert records[1].status == 200
    assert records[2].status == 201
    assert emulator.request_count() == 3
    assert emulator.request_count("POST") == 2
    assert emulator.request_count("get", "/api/flow") == 1
    assert emulator.request_count(path_prefix="/api/flow") == 2
    emulator.reset_requests()
    assert emulator.requests == []
    api.get("/api/health")
    assert emulator.request_count() == 1


def test_two_emulators_are_independent() -> None:
    with ZiggyEmulator(name="dev") as dev, ZiggyEmulator("ops", "pw", name="prod") as prod:
        assert dev.port != prod.port
        dev.add_flow("only on dev")
        dev_api, prod_api = Api(dev), Api(prod)
        assert names(dev_api.get("/api/flow").json()) == ["only on dev"]
        assert prod_api.get("/api/flow").json() == []
        assert prod_api.call("GET", "/api/flow", token=dev_api.token).status_code == 401
        assert dev.request_count() == 2
        assert prod.request_count() == 3


def test_stop_cuts_connections_and_a_restart_keeps_port_and_data() -> None:
    ziggy = ZiggyEmulator().start()
    try:
        ziggy.add_flow("kept")
        api = Api(ziggy)
        port = ziggy.port
        ziggy.stop()
        ziggy.stop()  # idempotent
        with pytest.raises(requests.ConnectionError):
            api.get("/api/flow")
        ziggy.start()
        assert ziggy.port == port
        assert names(api.get("/api/flow").json()) == ["kept"]
    finally:
        ziggy.stop()


# --------------------------------------------------------------------------- seeding and snapshots


def test_add_helpers_return_stored_rows(emulator: ZiggyEmulator) -> None:
    flow = emulator.add_flow("F", uuid="11111111-1111-4111-8111-111111111111", tags=["t"])
    assert flow["uuid"] == "11111111-1111-4111-8111-111111111111"
    assert flow["tenantId"] == "##solo##"
    assert STAMP_RE.match(flow["updatedAt"])
    secret = emulator.add_secret("S")
    assert (secret["devValue"], secret["prodValue"]) == (None, None)
    connection = emulator.add_connection("C", type="SMTP", description="mail")
    assert (connection["type"], connection["devValue"]) == ("SMTP", "")
    with pytest.raises(ValueError, match="unknown Flow fields"):
        emulator.add_flow("typo", listenerTyp="API")
    flow["name"] = "changed outside"
    assert emulator.snapshot()["flows"][0]["name"] == "F"


def test_load_file_and_snapshot(emulator: ZiggyEmulator, api: Api, tmp_path: Path) -> None:
    data = {
        "flows": [
            {"uuid": "22222222-2222-4222-8222-222222222222", "name": "B", "tags": ["x"]},
            {"name": "A", "connections": [{"ignored": True}]},
        ],
        "connections": [{"name": "pg", "type": "Postgres", "devValue": "{}"}],
        "secrets": [{"name": "KEY", "prodValue": "v"}],
        "structures": [{"name": "S", "value": "interface S {}", "tags": ["x"]}],
        "variables": [{"name": "V", "value": "1"}],
    }
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    emulator.load_file(path)

    snapshot = emulator.snapshot()
    assert set(snapshot) == {
        "flows", "connections", "secrets", "structures", "variables", "schedules",
        "namedSaves", "backups",
    }  # fmt: skip
    assert names(snapshot["flows"]) == ["A", "B"]
    assert snapshot["flows"][1]["uuid"] == "22222222-2222-4222-8222-222222222222"
    assert "connections" not in snapshot["flows"][0]
    assert snapshot["flows"][0]["viewport"] == {"x": 0, "y": 0, "zoom": 1}
    assert snapshot["secrets"][0]["prodValue"] == "v"
    assert api.get("/api/flow/22222222-2222-4222-8222-222222222222").json()["tags"] == ["x"]
    snapshot["flows"].clear()
    assert len(emulator.snapshot()["flows"]) == 2


def test_load_refuses_unknown_keys(emulator: ZiggyEmulator) -> None:
    with pytest.raises(ValueError, match="unknown seed keys"):
        emulator.load({"flow": []})


# --------------------------------------------------------------------------- python -m


def _module_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH")]))
    return env


def test_module_serves_until_terminated(tmp_path: Path) -> None:
    env = _module_env()
    seed = tmp_path / "seed.json"
    seed.write_text(json.dumps({"flows": [{"name": "Seeded flow", "tags": ["t"]}]}), "utf-8")
    command = [sys.executable, "-m", "ziggy_migrate.testing", "--port", "0"]
    command += ["--username", "demo", "--password", "pw-not-printed"]
    command += ["--seed", str(seed), "--latency-ms", "5"]
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "pw-not-printed" not in line
        match = re.search(r"listening on http://127\.0\.0\.1:(\d+) \(user demo\)", line)
        assert match, line
        base = f"http://127.0.0.1:{match.group(1)}"
        health = requests.get(f"{base}/api/health", timeout=TIMEOUT)
        assert health.text == "OK"
        login = requests.post(
            f"{base}/api/auth/login",
            json={"username": "demo", "password": "pw-not-printed"},
            timeout=TIMEOUT,
        )
        flows = requests.get(
            f"{base}/api/flow",
            headers={"Authorization": f"Bearer {login.json()['token']}"},
            timeout=TIMEOUT,
        )
        assert [flow["name"] for flow in flows.json()] == ["Seeded flow"]
        process.terminate()
        assert process.wait(timeout=10) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_module_refuses_a_broken_seed_file(tmp_path: Path) -> None:
    seed = tmp_path / "seed.json"
    seed.write_text("{not json", "utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "ziggy_migrate.testing", "--port", "0", "--seed", str(seed)],
        capture_output=True,
        text=True,
        env=_module_env(),
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert "cannot load seed file" in done.stderr
    assert "Traceback" not in done.stderr


def test_helpers_thread_safety_smoke(emulator: ZiggyEmulator) -> None:
    """Seeding from several threads while serving must not corrupt the tables."""

    def seed(index: int) -> None:
        emulator.add_variable(f"v{index}")

    threads = [threading.Thread(target=seed, args=(index,)) for index in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(emulator.snapshot()["variables"]) == 20
