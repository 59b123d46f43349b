"""The wire: redirects refused, compression, a server gone silent, threads sharing a client."""

from __future__ import annotations

import contextlib
import gzip
import http.client
import http.server
import json
import socket
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from ziggy_migrate import (
    Flow,
    RequestTimeoutError,
    RetryPolicy,
    ServerResponseError,
    ZiggyClient,
)
from ziggy_migrate._client import transport
from ziggy_migrate.testing import ZiggyEmulator

from . import connect, login_count


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


def _read_request(reader: Any) -> bytes:
    """One whole request off ``reader``; its request line."""
    request_line: bytes = reader.readline()
    length = 0
    while (line := reader.readline()) not in (b"\r\n", b""):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    reader.read(length)
    return request_line


def _timed_out(
    server: _StallingServer, client: ZiggyClient, call: Callable[[ZiggyClient], object]
) -> RequestTimeoutError:
    """What ``call(client)`` raises against ``server``, which is closed after."""
    try:
        with client, pytest.raises(RequestTimeoutError) as caught:
            call(client)
    finally:
        server.close()
    return caught.value


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
                request_line = _read_request(reader)
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
def test_a_server_that_goes_silent_is_one_timeout_not_retried(begin: bytes) -> None:
    """The timeout is how long the caller waits for an answer; asking a stalled server
    again would make it attempts x timeout."""
    server = _StallingServer(begin)
    policy = RetryPolicy(attempts=3, backoff=0.0)
    client = ZiggyClient("http://127.0.0.1", server.port, "admin", "pw", timeout=0.3, retry=policy)
    error = _timed_out(server, client, ZiggyClient.list_flows)
    assert str(error) == (
        f"http://127.0.0.1:{server.port} did not answer GET /api/flow in time; check the "
        "server or raise the timeout."
    )
    assert server.stalled == 1
    assert client.retries == 0


class _DeafServer(_StallingServer):
    """Logs anyone in, then never reads another byte: a request larger than the sockets'
    buffers blocks its sender."""

    def __init__(self) -> None:
        super().__init__(b"")
        # small buffers on the accepted side, so that a few megabytes fill them
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)

    def _serve(self, connection: socket.socket) -> None:
        with contextlib.suppress(OSError):
            _read_request(connection.makefile("rb"))
            body = b'{"token": "t0ken", "uuid": "u"}'
            head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n"
            connection.sendall(head.encode() + body)
            self.stalled += 1  # and reads nothing more: the connection stays open


def test_a_server_that_stops_reading_is_one_timeout() -> None:
    """A send that cannot go on ends at the attempt's deadline like a silent answer."""
    server = _DeafServer()
    flow = Flow(
        uuid="f1", name="Big", nodes=[{"id": f"n{i}", "text": "x" * 1024} for i in range(8192)]
    )
    client = ZiggyClient("http://127.0.0.1", server.port, "admin", "pw", timeout=0.5)
    error = _timed_out(server, client, lambda client: client.update_flow("f1", flow))
    assert str(error) == (
        f"http://127.0.0.1:{server.port} did not answer PUT /api/flow/f1 in time; check "
        "the server or raise the timeout."
    )
    assert client.retries == 0


@pytest.mark.parametrize("wakes", [True, False], ids=["linux", "elsewhere"])
def test_reads_wait_on_the_socket_alone_only_where_the_deadline_wakes_them(
    monkeypatch: pytest.MonkeyPatch, wakes: bool
) -> None:
    monkeypatch.setattr(transport, "WAKES_BLOCKED_IO", wakes)
    pair, single = (
        transport._socket_timeouts((3.0, 10.0), 10.0),
        transport._socket_timeouts(5.0, 5.0),
    )
    if wakes:
        assert (pair, single) == ((3.0, None), (5.0, None))
    else:
        assert (pair, single) == ((3.0, 10.0), (5.0, 5.0))


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
