"""TLS verification, proxies from the environment, and the warnings about both."""

from __future__ import annotations

import http.client
import http.server
import logging
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
import urllib3

from ziggy_migrate import ServerUnreachableError, ZiggyClient
from ziggy_migrate.testing import ZiggyEmulator

from . import FAST, connect, free_port


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


def test_https_to_a_plain_http_port_says_what_to_check(emulator: ZiggyEmulator) -> None:
    with (
        ZiggyClient("https://127.0.0.1", emulator.port, "admin", "admin", retry=FAST) as client,
        pytest.raises(ServerUnreachableError, match="check that the port serves HTTPS"),
    ):
        client.login()


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
