"""``ZiggyClient`` against the emulator: every endpoint, errors, auth, retries, threads.

Everything here is real code over real HTTP: the client talks to a ``ZiggyEmulator``
running in a thread, and assertions look at what the client returned *and* at what the
server recorded (its snapshot and its request log). Fault tests use the emulator's
seeded ``FaultPlan``, so a failure replays identically, and tiny retry backoffs, so the
whole file stays fast.
"""

from __future__ import annotations

import contextlib
import gzip
import http.client
import http.server
import json
import logging
import random
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import attrs
import pytest
import trustme
import urllib3

from ziggy_migrate import (
    PRE_IMPORT_SAVE_NAME,
    AuthenticationError,
    BadRequestError,
    Connection,
    Flow,
    NotFoundError,
    RateLimitedError,
    RequestTimeoutError,
    RetryPolicy,
    Secret,
    ServerError,
    ServerResponseError,
    ServerUnreachableError,
    Structure,
    Variable,
    ZiggyClient,
)
from ziggy_migrate._client import transport as _http
from ziggy_migrate._vocabulary.models import FlowSummary, RemoteSecret
from ziggy_migrate.testing import FaultPlan, ZiggyEmulator

FAST = RetryPolicy(attempts=6, backoff=0.01, max_backoff=0.05)
"""Retries for fault tests: enough attempts to ride out the seeded faults, tiny pauses."""

PLANTED_SECRET_VALUE = "planted-s3cret-value-7f3a"
PLANTED_PASSWORD = "planted-Pa55w0rd-91c2"


def connect(ziggy: ZiggyEmulator, *, retry: RetryPolicy = FAST, **kwargs: Any) -> ZiggyClient:
    """A client for ``ziggy`` with its credentials."""
    return ZiggyClient(ziggy.url, ziggy.port, ziggy.username, ziggy.password, retry=retry, **kwargs)


def login_count(ziggy: ZiggyEmulator) -> int:
    return ziggy.request_count("POST", "/api/auth/login")


def free_port() -> int:
    """A port nothing listens on (bound, then closed at once)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def client(emulator: ZiggyEmulator) -> Iterator[ZiggyClient]:
    with connect(emulator) as ziggy_client:
        yield ziggy_client


# ------------------------------------------------------------------ login and the server


def test_login_succeeds_and_sends_one_login(emulator: ZiggyEmulator, client: ZiggyClient) -> None:
    client.login()
    assert login_count(emulator) == 1
    client.list_flows()
    assert login_count(emulator) == 1, "the token must be reused, not renewed per call"


def test_first_call_logs_in_without_explicit_login(
    emulator: ZiggyEmulator, client: ZiggyClient
) -> None:
    emulator.add_flow("Orders")
    assert [flow.name for flow in client.list_flows()] == ["Orders"]
    assert login_count(emulator) == 1


def test_wrong_password_raises_authentication_error_without_the_password() -> None:
    wrong = "wrong-Pa55word-b7e1"
    with ZiggyEmulator(password=PLANTED_PASSWORD) as ziggy:
        bad = ZiggyClient(ziggy.url, ziggy.port, "admin", wrong, retry=FAST)
        with pytest.raises(AuthenticationError) as caught:
            bad.login()
        # a 401 is final: never retried
        assert login_count(ziggy) == 1
    error = caught.value
    assert error.response_code == 401
    assert "check the user name and password" in str(error)
    for text in (str(error), error.args[0], repr(error), error.response_body):
        assert wrong not in text
        assert PLANTED_PASSWORD not in text


def test_wrong_password_on_first_call_raises_authentication_error(
    emulator: ZiggyEmulator,
) -> None:
    with (
        ZiggyClient(emulator.url, emulator.port, "admin", "nope", retry=FAST) as bad,
        pytest.raises(AuthenticationError),
    ):
        bad.list_flows()
    assert emulator.request_count("GET", "/api/flow") == 0


def test_unreachable_server_raises_server_unreachable_naming_the_url() -> None:
    port = free_port()
    policy = RetryPolicy(attempts=2, backoff=0.01, max_backoff=0.01)
    with (
        ZiggyClient("http://127.0.0.1", port, "admin", "admin", retry=policy) as lost,
        pytest.raises(ServerUnreachableError) as caught,
    ):
        lost.list_flows()
    assert f"http://127.0.0.1:{port}" in str(caught.value)
    assert lost.retries == 1


class _Redirecting(http.server.BaseHTTPRequestHandler):
    """Answers every request with a redirect to ``location`` (a class attribute)."""

    location = ""

    def _redirect(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(307)
        self.send_header("Location", self.location + self.path)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST = _redirect

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


def test_a_redirect_is_refused_and_nothing_is_sent_where_it_points(
    emulator: ZiggyEmulator,
) -> None:
    """Following it would send the password, or the token in its cookie, elsewhere."""
    handler = type("Handler", (_Redirecting,), {"location": f"{emulator.url}:{emulator.port}"})
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            with (
                ZiggyClient("http://127.0.0.1", server.server_port, "admin", "admin") as client,
                pytest.raises(ServerResponseError) as caught,
            ):
                client.login()
        finally:
            server.shutdown()
    assert caught.value.response_code == 307
    assert f"redirects to {emulator.url}:{emulator.port}/api/auth/login" in str(caught.value)
    assert "use that address as the server URL" in str(caught.value)
    assert emulator.requests == []


class _Compressing(http.server.BaseHTTPRequestHandler):
    """A server that compresses its JSON, as real ones behind a proxy often do; this one
    refuses clients that do not ask for compression, so the test sees that we ask."""

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.dumps(
            {"token": "t0ken", "uuid": "u"}
            if self.path == "/api/auth/login"
            else [{"uuid": "f1", "name": "Orders", "tags": []}]
        ).encode()
        if "gzip" not in self.headers.get("Accept-Encoding", ""):
            self.send_response(406)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = gzip.compress(body)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


def test_answers_are_asked_for_compressed_and_read_decompressed() -> None:
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Compressing) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            with ZiggyClient("http://127.0.0.1", server.server_port, "admin", "pw") as client:
                flows = client.list_flows()
        finally:
            server.shutdown()
    assert [(flow.uuid, flow.name) for flow in flows] == [("f1", "Orders")]


class _ForwardProxy(http.server.BaseHTTPRequestHandler):
    """A plain HTTP forward proxy: it takes requests for absolute URLs, notes them and
    passes them on, as a company proxy named in HTTP_PROXY does."""

    seen: list[str]

    def _forward(self) -> None:
        self.seen.append(f"{self.command} {self.path}")
        target = urllib3.util.parse_url(self.path)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        upstream = http.client.HTTPConnection(target.host or "", target.port, timeout=10)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "proxy-connection"}
        upstream.request(self.command, target.request_uri, body=body or None, headers=headers)
        answer = upstream.getresponse()
        payload = answer.read()
        self.send_response(answer.status)
        for name, value in answer.getheaders():
            if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
        upstream.close()

    do_GET = do_POST = do_PUT = _forward

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


def test_a_proxy_from_the_environment_carries_every_request(
    emulator: ZiggyEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    emulator.add_flow("Orders")
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    seen: list[str] = []
    handler: type[_ForwardProxy] = type("Proxy", (_ForwardProxy,), {"seen": seen})
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as proxy:
        threading.Thread(target=proxy.serve_forever, daemon=True).start()
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.server_port}")
        try:
            with connect(emulator) as client:
                flows = client.list_flows()
                fetched = client.get_flow(flows[0].uuid)
        finally:
            proxy.shutdown()
    assert fetched.flow.name == "Orders"
    origin = f"{emulator.url}:{emulator.port}"
    assert [line.partition("?")[0] for line in seen] == [
        f"POST {origin}/api/auth/login",
        f"GET {origin}/api/flow",
        f"GET {origin}/api/flow/{flows[0].uuid}",
    ]


def test_without_a_proxy_requests_go_straight_to_the_server(
    emulator: ZiggyEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """NO_PROXY wins over HTTP_PROXY, as in requests: nothing listens where the proxy
    would be, so a request sent there would fail."""
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with connect(emulator) as client:
        assert client.list_flows() == []
    assert [(r.method, r.path) for r in emulator.requests] == [
        ("POST", "/api/auth/login"),
        ("GET", "/api/flow"),
    ]


@pytest.fixture
def certificate_authority(monkeypatch: pytest.MonkeyPatch) -> trustme.CA:
    """A private CA, and no CA bundle from this machine's environment."""
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    return trustme.CA()


@pytest.fixture
def https_emulator(certificate_authority: trustme.CA) -> Iterator[ZiggyEmulator]:
    """An emulator serving HTTPS with a certificate of the private CA."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    certificate_authority.issue_cert("127.0.0.1").configure_cert(context)
    with ZiggyEmulator(ssl_context=context) as ziggy:
        ziggy.add_flow("Orders")
        yield ziggy


def test_https_with_the_servers_ca_bundle(
    https_emulator: ZiggyEmulator, certificate_authority: trustme.CA, tmp_path: Path
) -> None:
    bundle = tmp_path / "ca.pem"
    certificate_authority.cert_pem.write_to_path(str(bundle))
    assert https_emulator.url.startswith("https://")
    with connect(https_emulator, verify=str(bundle)) as client:
        assert [flow.name for flow in client.list_flows()] == ["Orders"]


def test_https_ca_bundle_from_the_environment(
    https_emulator: ZiggyEmulator,
    certificate_authority: trustme.CA,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bundle = tmp_path / "ca.pem"
    certificate_authority.cert_pem.write_to_path(str(bundle))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    with connect(https_emulator) as client:
        assert [flow.name for flow in client.list_flows()] == ["Orders"]


def test_an_untrusted_certificate_is_one_clear_error_without_retries(
    https_emulator: ZiggyEmulator,
) -> None:
    with connect(https_emulator) as client, pytest.raises(ServerUnreachableError) as caught:
        client.list_flows()
    message = str(caught.value)
    assert f"TLS verification of {https_emulator.base_url} failed" in message
    assert "CA bundle" in message
    assert client.retries == 0
    assert https_emulator.requests == []


def test_verification_can_be_turned_off_and_says_so(
    https_emulator: ZiggyEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        caplog.at_level(logging.WARNING, logger="ziggy_migrate"),
        pytest.warns(urllib3.exceptions.InsecureRequestWarning),
        connect(https_emulator, verify=False) as client,
    ):
        assert [flow.name for flow in client.list_flows()] == ["Orders"]
    assert "TLS certificate verification is OFF" in caplog.text


class _StallingServer:
    """A server that logs anyone in, then answers every other request with ``begin``
    (nothing, or a head and part of a body) and goes silent, holding the connection."""

    def __init__(self, begin: bytes) -> None:
        self._begin = begin
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.stalled = 0
        self._held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                connection, _ = self._listener.accept()
                self._held.append(connection)
                threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        with contextlib.suppress(OSError):
            reader = connection.makefile("rb")
            while True:
                request_line = reader.readline()
                length = 0
                while (line := reader.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                reader.read(length)
                if b"/api/auth/login" not in request_line:
                    self.stalled += 1
                    connection.sendall(self._begin)
                    return  # silent from here on; the connection stays open
                body = b'{"token": "t0ken", "uuid": "u"}'
                head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n"
                connection.sendall(head.encode() + body)

    def close(self) -> None:
        self._listener.close()
        for connection in self._held:
            connection.close()


@pytest.mark.parametrize(
    "begin",
    [b"", b'HTTP/1.1 200 OK\r\nContent-Length: 4000\r\n\r\n[{"uuid": "f1"'],
    ids=["before the answer", "halfway through the answer"],
)
def test_a_server_that_goes_silent_is_a_timeout_after_the_retries(begin: bytes) -> None:
    server = _StallingServer(begin)
    policy = RetryPolicy(attempts=2, backoff=0.0)
    client = ZiggyClient("http://127.0.0.1", server.port, "admin", "pw", timeout=0.3, retry=policy)
    try:
        with client, pytest.raises(RequestTimeoutError) as caught:
            client.list_flows()
    finally:
        server.close()
    assert str(caught.value) == (
        f"http://127.0.0.1:{server.port} did not answer GET /api/flow in time; check the "
        "server or raise the timeout."
    )
    assert server.stalled == 2


def test_https_to_a_plain_http_port_says_what_to_check(emulator: ZiggyEmulator) -> None:
    with (
        ZiggyClient("https://127.0.0.1", emulator.port, "admin", "admin", retry=FAST) as client,
        pytest.raises(ServerUnreachableError, match="check that the port serves HTTPS"),
    ):
        client.login()


def test_health(emulator: ZiggyEmulator, client: ZiggyClient) -> None:
    assert client.health() == "OK"
    assert emulator.request_count("GET", "/api/health") == 1


def test_version_info(client: ZiggyClient) -> None:
    info = client.version_info()
    assert (info.major, info.minor, info.build) == (1, 0, 0)
    assert "emulator" in info.info


def test_base_url_and_repr_name_the_server_without_credentials() -> None:
    remote = ZiggyClient("https://prod.example.com/", 443, "admin", PLANTED_PASSWORD, name="prod")
    assert remote.base_url == "https://prod.example.com:443"
    assert "prod" in repr(remote)
    assert PLANTED_PASSWORD not in repr(remote)
    assert ZiggyClient("https://x.example.com", None, "a", "b").base_url == (
        "https://x.example.com"
    )


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


# ------------------------------------------------------------------ tokens


def test_expired_token_is_renewed_transparently(
    emulator: ZiggyEmulator, client: ZiggyClient
) -> None:
    flow = emulator.add_flow("Orders")
    client.login()
    emulator.expire_tokens()
    assert client.get_flow(flow["uuid"]).flow.name == "Orders"
    # renewed through the refresh endpoint: the password is not sent a second time
    assert login_count(emulator) == 1
    assert emulator.request_count("POST", "/api/auth/refresh-token") == 1
    statuses = [r.status for r in emulator.requests if r.path == f"/api/flow/{flow['uuid']}"]
    assert statuses == [401, 200]


def test_revoked_token_falls_back_to_logging_in_again(
    emulator: ZiggyEmulator, client: ZiggyClient
) -> None:
    flow = emulator.add_flow("Orders")
    client.login()
    emulator.revoke_tokens()
    assert client.get_flow(flow["uuid"]).flow.name == "Orders"
    refreshes = [r.status for r in emulator.requests if r.path == "/api/auth/refresh-token"]
    assert refreshes == [401]
    assert login_count(emulator) == 2


def test_token_lifetime_expiry_is_renewed_transparently() -> None:
    lifetime = 0.3
    with ZiggyEmulator(token_lifetime=lifetime) as ziggy, connect(ziggy) as short:
        ziggy.add_flow("Orders")
        short.login()
        time.sleep(lifetime + 0.2)  # let the token run out (not a timing assertion)
        assert [flow.name for flow in short.list_flows()] == ["Orders"]
        assert ziggy.request_count("POST", "/api/auth/refresh-token") == 1
        assert [r.status for r in ziggy.requests if r.path == "/api/flow"] == [401, 200]


def test_token_refused_twice_raises_authentication_error() -> None:
    """A server that refuses even a fresh token ends in AuthenticationError, not a loop."""
    with ZiggyEmulator(token_lifetime=0.0) as ziggy, connect(ziggy) as doomed:
        with pytest.raises(AuthenticationError) as caught:
            doomed.list_flows()
        assert caught.value.response_code == 401
        # one login, one renewal (by refresh), one retry of the call: then it gives up
        assert login_count(ziggy) == 1
        assert ziggy.request_count("POST", "/api/auth/refresh-token") == 1
        assert ziggy.request_count("GET", "/api/flow") == 2


# ------------------------------------------------------------------ retries


def fault_count(ziggy: ZiggyEmulator) -> int:
    return sum(1 for record in ziggy.requests if record.fault is not None)


def test_gets_and_puts_survive_server_errors() -> None:
    faults = FaultPlan(error_rate=0.3, methods=frozenset({"GET", "PUT"}), seed=11)
    with ZiggyEmulator(faults=faults) as ziggy, connect(ziggy) as flaky:
        seeded = [ziggy.add_connection(f"c{i}", type="SMTP") for i in range(8)]
        for row in seeded:
            connection = flaky.get_connection(row["uuid"])
            flaky.update_connection(row["uuid"], attrs.evolve(connection, description="done"))
        assert [row["description"] for row in ziggy.snapshot()["connections"]] == ["done"] * 8
        assert flaky.retries > 0
        faulted = [r.fault for r in ziggy.requests if r.fault is not None]
        assert set(faulted) <= {"500", "503"}
        # each fault on a repeatable request costs exactly one retry
        assert flaky.retries == len(faulted)


def test_rate_limits_are_retried() -> None:
    faults = FaultPlan(rate_limit_rate=0.4, retry_after=0, seed=5)
    with ZiggyEmulator(faults=faults) as ziggy, connect(ziggy) as limited:
        flows = [ziggy.add_flow(f"Flow {i}") for i in range(6)]
        for row in flows:
            assert limited.get_flow(row["uuid"]).flow.name == row["name"]
        created = limited.create_connection(Connection(uuid="", name="pg", type="Postgres"))
        assert limited.retries > 0
        assert limited.retries == fault_count(ziggy)
        assert [row["uuid"] for row in ziggy.snapshot()["connections"]] == [created.uuid]


class _SleepSpy:
    """Stands in for the ``time`` module inside ``_http`` to record the pauses asked for."""

    def __init__(self) -> None:
        self.pauses: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.pauses.append(seconds)
        time.sleep(seconds)

    @staticmethod
    def monotonic() -> float:
        return time.monotonic()


def test_retry_after_is_honoured_and_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    spy = _SleepSpy()
    monkeypatch.setattr(_http, "time", spy)
    faults = FaultPlan(rate_limit_rate=0.5, retry_after=3, seed=2)
    policy = RetryPolicy(attempts=8, backoff=0.001, max_backoff=0.02)
    with ZiggyEmulator(faults=faults) as ziggy, connect(ziggy, retry=policy) as limited:
        for _ in range(6):
            limited.list_flows()
        assert spy.pauses, "the seed must produce at least one 429"
        # Retry-After 3 s, capped by max_backoff; the exponential backoff would give less
        assert spy.pauses == [0.02] * len(spy.pauses)
        assert len(spy.pauses) == limited.retries == fault_count(ziggy)


def test_retry_after_zero_means_no_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    spy = _SleepSpy()
    monkeypatch.setattr(_http, "time", spy)
    faults = FaultPlan(rate_limit_rate=0.5, retry_after=0, seed=2)
    policy = RetryPolicy(attempts=8, backoff=5.0, max_backoff=5.0)
    with ZiggyEmulator(faults=faults) as ziggy, connect(ziggy, retry=policy) as limited:
        for _ in range(6):
            limited.list_flows()
        assert spy.pauses
        assert spy.pauses == [0.0] * len(spy.pauses)


def test_retry_policy_pause() -> None:
    rng = random.Random(0)
    policy = RetryPolicy(backoff=0.5, max_backoff=3.0)
    assert policy.pause(1, 10.0, rng) == 3.0
    assert policy.pause(1, -1.0, rng) == 0.0
    assert 0.25 <= policy.pause(1, None, rng) <= 0.5
    assert 1.0 <= policy.pause(3, None, rng) <= 2.0
    assert 1.5 <= policy.pause(10, None, rng) <= 3.0


@pytest.mark.parametrize(
    "faults",
    [
        FaultPlan(drop_before_rate=0.35, methods=frozenset({"GET", "PUT"}), seed=7),
        FaultPlan(drop_after_rate=0.35, methods=frozenset({"GET", "PUT"}), seed=7),
        FaultPlan(cut_short_rate=0.35, methods=frozenset({"GET", "PUT"}), seed=7),
    ],
    ids=["drop_before", "drop_after", "cut_short"],
)
def test_gets_and_puts_survive_dropped_connections(faults: FaultPlan) -> None:
    with ZiggyEmulator(faults=faults) as ziggy, connect(ziggy) as flaky:
        seeded = [ziggy.add_variable(f"v{i}", value="old") for i in range(6)]
        for row in seeded:
            flaky.update_variable(
                row["uuid"], Variable(uuid=row["uuid"], name=row["name"], value="new")
            )
            assert {v.uuid: v.value for v in flaky.list_variables()}[row["uuid"]] == "new"
        assert [row["value"] for row in ziggy.snapshot()["variables"]] == ["new"] * 6
        assert flaky.retries > 0
        assert flaky.retries == fault_count(ziggy)


def test_an_answer_cut_short_is_read_again_not_half_used() -> None:
    """A flow's answer broken off halfway (the head arrived, then the connection reset)
    is asked for again; the flow returned is the whole one."""
    faults = FaultPlan(cut_short_rate=0.5, methods=frozenset({"GET"}), seed=3)
    with ZiggyEmulator(faults=faults) as ziggy, connect(ziggy) as flaky:
        nodes = [{"id": str(i), "data": {"label": "x" * 200}} for i in range(40)]
        uuids = [ziggy.add_flow(f"f{i}", nodes=nodes)["uuid"] for i in range(6)]
        fetched = [flaky.get_flow(uuid) for uuid in uuids]
        cut = [r for r in ziggy.requests if r.fault == "cut_short"]
    assert [item.flow.nodes for item in fetched] == [nodes] * 6
    assert cut
    assert flaky.retries == len(cut)


def test_answers_always_cut_short_end_in_one_line_that_says_where_to_look() -> None:
    faults = FaultPlan(cut_short_rate=1.0, methods=frozenset({"GET"}))
    policy = RetryPolicy(attempts=3, backoff=0.0)
    with ZiggyEmulator(faults=faults) as ziggy, connect(ziggy, retry=policy) as flaky:
        flow = ziggy.add_flow("Orders")
        with pytest.raises(ServerUnreachableError) as caught:
            flaky.get_flow(flow["uuid"])
        attempts = ziggy.request_count("GET", "/api/flow/")
    assert attempts == 3
    message = str(caught.value)
    assert "\n" not in message
    assert f"kept breaking off its answer to GET /api/flow/{flow['uuid']}" in message
    assert "proxy or load balancer" in message


POST_DROPPED_AFTER = FaultPlan(drop_after_rate=1.0, methods=frozenset({"POST"}))
POST_CUT_SHORT = FaultPlan(cut_short_rate=1.0, methods=frozenset({"POST"}))


def test_create_whose_answer_is_cut_short_creates_exactly_one() -> None:
    """The server created the connection, but its answer (with the new UUID) broke off:
    the client finds it by name instead of creating a second one."""
    with ZiggyEmulator(faults=POST_CUT_SHORT) as ziggy, connect(ziggy) as flaky:
        created = flaky.create_connection(Connection(uuid="", name="Warehouse", type="Postgres"))
        rows = ziggy.snapshot()["connections"]
        faulted = [r.fault for r in ziggy.requests if r.fault]
    assert [(row["uuid"], row["name"]) for row in rows] == [(created.uuid, "Warehouse")]
    assert faulted == ["cut_short"]


def test_create_flow_under_drop_after_creates_exactly_one() -> None:
    with ZiggyEmulator(faults=POST_DROPPED_AFTER) as ziggy, connect(ziggy) as flaky:
        uuid = flaky.create_flow("Orders — EU", "API")
        flows = ziggy.snapshot()["flows"]
        assert [(flow["uuid"], flow["name"]) for flow in flows] == [(uuid, "Orders — EU")]
        assert ziggy.request_count("POST", "/api/flow/") == 1


def test_create_connection_under_drop_after_creates_exactly_one() -> None:
    with ZiggyEmulator(faults=POST_DROPPED_AFTER) as ziggy, connect(ziggy) as flaky:
        ziggy.add_connection("Other")
        created = flaky.create_connection(Connection(uuid="", name="Warehouse", type="Postgres"))
        rows = [row for row in ziggy.snapshot()["connections"] if row["name"] == "Warehouse"]
        assert [row["uuid"] for row in rows] == [created.uuid]
        assert created.type == "Postgres"
        assert ziggy.request_count("POST", "/api/connection") == 1


def test_create_secret_under_drop_after_creates_exactly_one() -> None:
    with ZiggyEmulator(faults=POST_DROPPED_AFTER) as ziggy, connect(ziggy) as flaky:
        created = flaky.create_secret(Secret(uuid="", name="PG_PASSWORD"))
        rows = ziggy.snapshot()["secrets"]
        assert [(row["uuid"], row["name"]) for row in rows] == [(created.uuid, "PG_PASSWORD")]
        assert ziggy.request_count("POST", "/api/secret") == 1


def test_create_structure_and_variable_under_drop_after_create_exactly_one() -> None:
    with ZiggyEmulator(faults=POST_DROPPED_AFTER) as ziggy, connect(ziggy) as flaky:
        structure = flaky.create_structure(Structure(uuid="", name="Order"))
        variable = flaky.create_variable(Variable(uuid="", name="region"))
        snapshot = ziggy.snapshot()
        assert [row["uuid"] for row in snapshot["structures"]] == [structure.uuid]
        assert [row["uuid"] for row in snapshot["variables"]] == [variable.uuid]


def test_named_save_under_drop_after_creates_exactly_one() -> None:
    with ZiggyEmulator(faults=POST_DROPPED_AFTER) as ziggy, connect(ziggy) as flaky:
        flow = ziggy.add_flow("Orders", nodes=[{"id": "1", "data": {}}])
        flaky.create_named_save(flow["uuid"], PRE_IMPORT_SAVE_NAME)
        saves = ziggy.snapshot()["namedSaves"]
        assert [save["saveName"] for save in saves] == [PRE_IMPORT_SAVE_NAME]
        assert ziggy.request_count("POST", "/api/ziggy/history-named-save/") == 1


def test_create_under_server_errors_retries_and_creates_one() -> None:
    faults = FaultPlan(error_rate=0.5, methods=frozenset({"POST"}), seed=4)
    with ZiggyEmulator(faults=faults) as ziggy, connect(ziggy) as flaky:
        made = [
            flaky.create_connection(Connection(uuid="", name=f"c{i}", type="SMTP"))
            for i in range(4)
        ]
        rows = ziggy.snapshot()["connections"]
        assert sorted(row["uuid"] for row in rows) == sorted(c.uuid for c in made)
        assert fault_count(ziggy) > 0


def test_create_that_always_fails_raises_server_error_and_creates_nothing() -> None:
    faults = FaultPlan(error_rate=1.0, methods=frozenset({"POST"}))
    with ZiggyEmulator(faults=faults) as ziggy, connect(ziggy) as broken:
        with pytest.raises(ServerError) as caught:
            broken.create_connection(Connection(uuid="", name="pg", type="Postgres"))
        assert caught.value.response_code == 503
        assert "Could not create connection 'pg'" in str(caught.value)
        assert ziggy.snapshot()["connections"] == []
        posts = ziggy.request_count("POST", "/api/connection")
        assert posts >= 2
        # every POST after the first is a counted retry, each after a lookup that found nothing
        assert broken.retries == posts - 1
        assert ziggy.request_count("GET", "/api/connection") == posts


def test_create_dropped_before_every_time_creates_nothing() -> None:
    faults = FaultPlan(drop_before_rate=1.0, methods=frozenset({"POST"}))
    with ZiggyEmulator(faults=faults) as ziggy, connect(ziggy) as broken:
        with pytest.raises(ServerError):
            broken.create_flow("Orders", "API")
        assert ziggy.snapshot()["flows"] == []


def test_retries_exhausted_raise_server_error_with_status() -> None:
    faults = FaultPlan(error_rate=1.0, methods=frozenset({"GET"}))
    policy = RetryPolicy(attempts=3, backoff=0.01, max_backoff=0.01)
    with ZiggyEmulator(faults=faults) as ziggy, connect(ziggy, retry=policy) as broken:
        flow = ziggy.add_flow("Orders")
        with pytest.raises(ServerError) as caught:
            broken.get_flow(flow["uuid"])
        assert caught.value.response_code in (500, 503)
        assert "after retries" in str(caught.value)
        assert ziggy.request_count("GET", "/api/flow/") == 3
        assert broken.retries == 2


def test_rate_limit_exhausted_raises_rate_limited() -> None:
    faults = FaultPlan(rate_limit_rate=1.0, retry_after=0, methods=frozenset({"GET"}))
    policy = RetryPolicy(attempts=3, backoff=0.01, max_backoff=0.01)
    with ZiggyEmulator(faults=faults) as ziggy, connect(ziggy, retry=policy) as broken:
        with pytest.raises(RateLimitedError) as caught:
            broken.list_flows()
        assert caught.value.response_code == 429
        assert ziggy.request_count("GET", "/api/flow") == 3


def test_dropped_get_exhausted_raises_server_unreachable() -> None:
    faults = FaultPlan(drop_before_rate=1.0, methods=frozenset({"GET"}))
    policy = RetryPolicy(attempts=2, backoff=0.01, max_backoff=0.01)
    with ZiggyEmulator(faults=faults) as ziggy, connect(ziggy, retry=policy) as broken:
        with pytest.raises(ServerUnreachableError) as caught:
            broken.list_flows()
        assert ziggy.base_url in str(caught.value)


# ------------------------------------------------------------------ logging


def test_no_password_or_secret_value_in_debug_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    faults = FaultPlan(
        error_rate=0.15,
        rate_limit_rate=0.1,
        drop_before_rate=0.1,
        drop_after_rate=0.1,
        retry_after=0,
        methods=frozenset({"GET", "PUT", "PATCH"}),
        seed=9,
    )
    wrong = "wrong-Pa55word-b7e1"
    with ZiggyEmulator(password=PLANTED_PASSWORD, faults=faults) as ziggy:
        secret = ziggy.add_secret("PG")
        flow = ziggy.add_flow("Orders", nodes=[{"id": "1", "data": {"code": "secrets.PG"}}])
        connection = ziggy.add_connection("pg", dev_value="{ password: 'secrets.PG' }")
        with connect(ziggy) as flaky:
            for round_number in range(3):
                flaky.list_flows()
                flaky.get_flow(flow["uuid"])
                flaky.set_secret_value(secret["uuid"], PLANTED_SECRET_VALUE)
                flaky.list_secrets()
                current = flaky.get_connection(connection["uuid"])
                flaky.update_connection(
                    connection["uuid"], attrs.evolve(current, description=f"r{round_number}")
                )
                # both ways to renew: by refresh (expired) and by logging in (revoked)
                if round_number % 2:
                    ziggy.expire_tokens()
                else:
                    ziggy.revoke_tokens()
            assert flaky.retries > 0
            assert ziggy.request_count("POST", "/api/auth/refresh-token") >= 2
        with (
            ZiggyClient(ziggy.url, ziggy.port, "admin", wrong, retry=FAST) as bad,
            pytest.raises(AuthenticationError),
        ):
            bad.login()
        assert login_count(ziggy) >= 3  # first, after a revocation, and the wrong password
        assert ziggy.snapshot()["secrets"][0]["prodValue"] == PLANTED_SECRET_VALUE

    ours = [r for r in caplog.records if r.name.startswith("ziggy_migrate")]
    assert any(r.levelno == logging.DEBUG for r in ours), "DEBUG records must be captured"
    assert any("renewing it" in r.getMessage() for r in ours)
    assert any("retrying" in r.getMessage() for r in ours)
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    for record in caplog.records:
        text = formatter.format(record) + repr(record.args)
        for planted in (PLANTED_PASSWORD, PLANTED_SECRET_VALUE, wrong):
            assert planted not in text, f"{planted} leaked in {record.name}: {text[:200]}"


def test_verify_false_logs_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="ziggy_migrate")
    ZiggyClient("https://ziggy.example.com", 443, "admin", "pw", verify=False).close()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "verification is OFF" in warnings[0].getMessage()
    assert "https://ziggy.example.com:443" in warnings[0].getMessage()


def test_plain_http_to_a_remote_host_logs_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="ziggy_migrate")
    ZiggyClient("http://ziggy.example.com", 80, "admin", "pw").close()
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "plain HTTP" in warnings[0].getMessage()


@pytest.mark.parametrize(
    "url",
    ["http://localhost", "http://127.0.0.1", "http://[::1]", "https://ziggy.example.com"],
)
def test_no_transport_warning_for_loopback_or_https(
    caplog: pytest.LogCaptureFixture, url: str
) -> None:
    caplog.set_level(logging.WARNING, logger="ziggy_migrate")
    ZiggyClient(url, 3000, "admin", "pw").close()
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


# ------------------------------------------------------------------ threads


def test_sixteen_threads_share_one_client() -> None:
    with ZiggyEmulator(latency=0.05) as ziggy, connect(ziggy, max_workers=8) as shared:
        flows = [ziggy.add_flow(f"Flow {i:02d}") for i in range(16)]
        barrier = threading.Barrier(16)

        def fetch(row: dict[str, Any]) -> tuple[str, str]:
            barrier.wait()
            fetched = shared.get_flow(row["uuid"]).flow
            return fetched.uuid, fetched.name

        with ThreadPoolExecutor(max_workers=16) as pool:
            results = list(pool.map(fetch, flows))

        assert results == [(row["uuid"], row["name"]) for row in flows]
        # every thread waited for the same single login
        assert login_count(ziggy) == 1
        assert ziggy.request_count("GET", "/api/flow/") == 16
        assert shared.requests_sent == 17


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
