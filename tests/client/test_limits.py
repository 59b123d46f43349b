"""Answers are bounded in size and time: a huge, endless or explosive answer stops at the
limit, and a trickling or silent server fails at the timeout, once, not never or
threads x retries times over.

No timing is asserted: each test checks what happened (the error, the number of
requests the server saw), which differs when the bound is missing.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time

import pytest

from ziggy_migrate import (
    Bundle,
    Flow,
    NotZiggyServerError,
    Provenance,
    RequestTimeoutError,
    ResponseTooLargeError,
    RetryPolicy,
    SourceServer,
    Variable,
    ZiggyClient,
    plan_import,
)
from ziggy_migrate._client.client import DEFAULT_MAX_ANSWER_BYTES
from ziggy_migrate.testing import Answer, ZiggyEmulator

from . import connect, login_count

MIB = 1024 * 1024


def test_an_answer_declared_larger_than_the_limit_is_not_read(emulator: ZiggyEmulator) -> None:
    emulator.override("GET", "/api/flow", Answer.raw_json(b"[" + b" " * (2 * MIB) + b"]"))
    with (
        connect(emulator, max_answer_bytes=MIB) as client,
        pytest.raises(ResponseTooLargeError) as caught,
    ):
        client.list_flows()
    assert str(caught.value) == (
        f"GET /api/flow: {emulator.base_url} answered more than 1 MiB, where no Ziggy answer "
        "comes near it; check the server, or raise the client's max_answer_bytes if the "
        "answer is real."
    )
    assert caught.value.response_code == 200
    assert emulator.request_count("GET", "/api/flow") == 1  # not retried


def test_an_endless_answer_stops_at_the_limit(emulator: ZiggyEmulator) -> None:
    emulator.override("GET", "/api/flow/*", Answer.raw_json(b'{"uuid": "x", ', endless=True))
    flow = emulator.add_flow("Orders")
    with (
        connect(emulator, max_answer_bytes=2 * MIB) as client,
        pytest.raises(ResponseTooLargeError, match="answered more than 2 MiB"),
    ):
        client.get_flow(flow["uuid"])
    assert emulator.request_count("GET", "/api/flow/") == 1


def test_a_gzip_bomb_stops_at_the_default_limit(emulator: ZiggyEmulator) -> None:
    assert DEFAULT_MAX_ANSWER_BYTES == 128 * MIB  # the README states it
    emulator.override("GET", "/api/flow", Answer.gzip_bomb(2 * DEFAULT_MAX_ANSWER_BYTES))
    with connect(emulator) as client, pytest.raises(ResponseTooLargeError) as caught:
        client.list_flows()
    assert "answered more than 128 MiB" in str(caught.value)


def test_an_answer_within_the_limit_is_read_whole_compressed_or_not(
    emulator: ZiggyEmulator,
) -> None:
    emulator.add_flow(
        "Orders", nodes=[{"id": str(i), "data": {"x": "y" * 900}} for i in range(900)]
    )
    with connect(emulator, max_answer_bytes=MIB) as client:
        uuid = client.list_flows()[0].uuid
        assert len(client.get_flow(uuid).flow.nodes) == 900
    # half a MiB of whitespace once decompressed: read whole, then found not to be JSON
    emulator.override("GET", "/api/flow", Answer.gzip_bomb(MIB // 2))
    with (
        connect(emulator, max_answer_bytes=MIB) as client,
        pytest.raises(NotZiggyServerError, match="GET /api/flow answered 200"),
    ):
        client.list_flows()


def test_a_trickled_answer_fails_at_the_timeout_not_when_it_ends(
    emulator: ZiggyEmulator,
) -> None:
    """One byte every 50 ms: no read ever waits long enough for a read timeout, and the
    whole answer would take more than ten seconds."""
    emulator.override("GET", "/api/flow", Answer.json([{"uuid": "u" * 200}], trickle=0.05))
    with connect(emulator, timeout=0.5) as client, pytest.raises(RequestTimeoutError) as caught:
        client.list_flows()
    assert str(caught.value) == (
        f"{emulator.base_url} did not answer GET /api/flow in time; check the server or raise "
        "the timeout."
    )
    assert emulator.request_count("GET", "/api/flow") == 1  # a timeout is not retried


class _BodyTrickler:
    """Logs anyone in, then answers the head of a list at once and its body a byte every
    50 ms (the emulator's trickle slows the head too; this one only the body)."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.started = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                connection, _ = self._listener.accept()
                threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        with contextlib.suppress(OSError), connection:
            reader = connection.makefile("rb")
            while True:
                request_line = reader.readline()
                length = 0
                while (line := reader.readline()) not in (b"\r\n", b""):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                reader.read(length)
                if b"/api/auth/login" in request_line:
                    body = b'{"token": "t0ken", "uuid": "u"}'
                else:
                    self.started += 1
                    body = b'[{"uuid": "' + b"u" * 400 + b'", "name": "n"}]'
                head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                if b"/api/auth/login" in request_line:
                    connection.sendall(head + body)
                    continue
                connection.sendall(head)
                for index in range(len(body)):
                    connection.sendall(body[index : index + 1])
                    time.sleep(0.05)

    def close(self) -> None:
        self._listener.close()


def test_a_body_trickled_after_a_prompt_head_fails_at_the_timeout() -> None:
    server = _BodyTrickler()
    try:
        with (
            ZiggyClient("http://127.0.0.1", server.port, "admin", "pw", timeout=0.5) as client,
            pytest.raises(RequestTimeoutError, match="did not answer GET /api/flow in time"),
        ):
            client.list_flows()
    finally:
        server.close()
    assert server.started == 1


def _bundle() -> Bundle:
    source = SourceServer(url="http://dev.invalid:3000", name="dev")
    return Bundle(
        provenance=Provenance(source=source, tool_version="t", exported_at="2026-01-01T00:00:00Z"),
        flows=(Flow(uuid="f0000000-0000-4000-8000-000000000001", name="Orders"),),
    )


def test_a_login_that_never_answers_fails_once_for_every_thread(emulator: ZiggyEmulator) -> None:
    """A plan reads five lists at once; all five wait for the one login, which times out:
    the four others get its error instead of each trying again, retries and all."""
    emulator.override("POST", "/api/auth/login", Answer.no_answer())
    policy = RetryPolicy(attempts=5, backoff=0.01)
    with (
        connect(emulator, timeout=0.3, retry=policy) as client,
        pytest.raises(RequestTimeoutError, match="did not answer POST /api/auth/login in time"),
    ):
        plan_import(client, _bundle(), mode="skip")
    assert login_count(emulator) == 1
    assert client.retries == 0


def test_after_a_failed_login_a_later_call_tries_again(emulator: ZiggyEmulator) -> None:
    """Sharing a login's failure is for the calls waiting on it, not a verdict for good."""
    emulator.override("POST", "/api/auth/login", Answer.no_answer(), times=1)
    emulator.add_flow("Orders")
    with connect(emulator, timeout=0.3) as client:
        with pytest.raises(RequestTimeoutError):
            client.list_flows()
        assert [flow.name for flow in client.list_flows()] == ["Orders"]
    assert login_count(emulator) == 2


def test_a_create_that_never_answers_is_one_timeout_after_one_look_up(
    emulator: ZiggyEmulator,
) -> None:
    emulator.override("POST", "/api/variable", Answer.no_answer())
    with (
        connect(emulator, timeout=0.3) as client,
        pytest.raises(RequestTimeoutError, match="did not answer POST /api/variable in time"),
    ):
        client.create_variable(Variable(uuid="", name="region"))
    assert emulator.request_count("POST", "/api/variable") == 1
    assert emulator.request_count("GET", "/api/variable") == 1  # did it get made after all?
