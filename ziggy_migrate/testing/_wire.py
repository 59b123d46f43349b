"""The emulator's sockets: read a request, write (or drop, or cut short) its answer.

Every decision is the emulator's (``_Processor``); this module only moves bytes.
"""

from __future__ import annotations

import contextlib
import json
import socket
import socketserver
import sys
import threading
import time
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

_JSON = "application/json; charset=utf-8"
_MAX_BODY = 256 * 1024 * 1024


class _Processor(Protocol):
    """What the HTTP server hands each parsed request to (the emulator)."""

    def _process(self, incoming: _Incoming) -> _Reply | None: ...


@dataclass(frozen=True)
class _Incoming:
    """A request off the wire, before routing."""

    method: str
    path: str
    query: str
    authorization: str
    content_type: str
    body: bytes


@dataclass(frozen=True)
class _Reply:
    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    cut_short: bool = False  # send half the body, then close (FaultPlan.cut_short_rate)
    trickle: float = 0.0  # seconds between single bytes of the head and body (Answer)
    endless: bool = False  # the body, then filler in chunks forever (Answer)
    silent: bool = False  # nothing at all; the connection is held open (Answer)


def _json(status: int, payload: Any) -> _Reply:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return _Reply(status, body, _JSON)


def _empty(status: int = 200) -> _Reply:
    """What a NestJS handler returning nothing answers: the status and no body."""
    return _Reply(status)


def _error(status: int, message: str | list[str]) -> _Reply:
    """NestJS's exception filter shape; an unhandled error carries no ``error`` key."""
    payload: dict[str, Any] = {"statusCode": status, "message": message}
    if status != 500:
        payload["error"] = HTTPStatus(status).phrase
    return _json(status, payload)


class _Handler(BaseHTTPRequestHandler):
    """Socket work only; every decision is the emulator's."""

    protocol_version = "HTTP/1.1"  # keep-alive, which needs an exact Content-Length
    server_version = "ZiggyEmulator"
    sys_version = ""
    timeout = 300.0  # an idle keep-alive connection is closed after this
    # Headers and body go out in two writes; with Nagle on, the body waits for the
    # client's delayed ACK (~40 ms per request on Linux).
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: test output is not the place for an access log."""

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _serve(self) -> None:
        server = self.server
        if not isinstance(server, _HttpServer):
            raise TypeError("the emulator's handler runs only in the emulator's server")
        body = self._read_body()
        if body is None:
            return
        path, _, query = self.path.partition("?")
        incoming = _Incoming(
            self.command,
            path,
            query,
            self.headers.get("Authorization", ""),
            self.headers.get("Content-Type", ""),
            body,
        )
        reply = server.emulator._process(incoming)
        if reply is None:
            self._drop()
        else:
            self._send(reply)

    def _read_body(self) -> bytes | None:
        """Exactly Content-Length bytes; a request we cannot frame is refused and closed."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            self._send(_error(411, "Send a Content-Length; chunked bodies are not supported"))
            return None
        try:
            length = int(self.headers.get("Content-Length", "0") or "0")
        except ValueError:
            length = -1
        if not 0 <= length <= _MAX_BODY:
            self.close_connection = True
            self._send(_error(400, "Invalid Content-Length"))
            return None
        return self.rfile.read(length) if length else b""

    def _send(self, reply: _Reply) -> None:
        if reply.cut_short:
            self._send_cut_short(reply)
        elif reply.silent:
            self._hold_silently()
        elif reply.trickle or reply.endless:
            self._send_slowly(reply)
        else:
            self._send_head(reply)
            self.wfile.write(reply.body)

    def _hold_silently(self) -> None:
        """Answer nothing and keep the connection until the client (or ``stop()``) ends
        it, or the handler's own timeout passes."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.recv(1)

    def _send_slowly(self, reply: _Reply) -> None:
        """A head and body trickled a byte at a time and/or a body that never ends
        (chunked, filler after the body), until the client hangs up."""
        self.close_connection = True
        headers = [("X-Powered-By", "Express"), *reply.headers]
        if reply.content_type:
            headers.append(("Content-Type", reply.content_type))
        if reply.endless:
            headers.append(("Transfer-Encoding", "chunked"))
        else:
            headers.append(("Content-Length", str(len(reply.body))))
        phrase = HTTPStatus(reply.status).phrase if reply.status in _KNOWN else "Unknown"
        head = f"HTTP/1.1 {reply.status} {phrase}\r\n" + "".join(
            f"{name}: {value}\r\n" for name, value in headers
        )
        with contextlib.suppress(OSError):
            self._write(head.encode("latin-1") + b"\r\n", reply.trickle)
            if not reply.endless:
                self._write(reply.body, reply.trickle)
                return
            if reply.body:
                self._write(_chunk(reply.body), reply.trickle)
            filler = _chunk(b" " * 65536)
            while True:
                self._write(filler, reply.trickle)

    def _write(self, data: bytes, trickle: float) -> None:
        if not trickle:
            self.wfile.write(data)
            return
        for index in range(len(data)):
            self.wfile.write(data[index : index + 1])
            self.wfile.flush()
            time.sleep(trickle)

    def _send_cut_short(self, reply: _Reply) -> None:
        """The head and half the body promised by Content-Length, then a closed
        connection: the client has a status and must notice the answer is incomplete."""
        self._send_head(reply)
        with contextlib.suppress(OSError):
            self.wfile.write(reply.body[: len(reply.body) // 2])
            self.wfile.flush()
        self._drop()

    def _send_head(self, reply: _Reply) -> None:
        self.send_response(reply.status)
        self.send_header("X-Powered-By", "Express")
        for name, value in reply.headers:
            self.send_header(name, value)
        if reply.content_type:
            self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()

    def _drop(self) -> None:
        """Close the connection with no more of the answer: the client sees a real
        dropped connection (before any answer, or after part of one)."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


_KNOWN = frozenset(status.value for status in HTTPStatus)


def _chunk(data: bytes) -> bytes:
    return f"{len(data):x}\r\n".encode() + data + b"\r\n"


class _HttpServer(ThreadingHTTPServer):
    """A threaded server that also knows its open connections, so ``stop()`` can cut
    idle keep-alive connections instead of leaving them serving a stopped emulator."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # bursts of concurrent benchmark clients

    def __init__(self, address: tuple[str, int], emulator: _Processor) -> None:
        self.emulator = emulator
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        """Bind without HTTPServer's reverse DNS lookup, which can stall for seconds."""
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        if isinstance(request, socket.socket):
            with self._connections_lock:
                self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients hanging up mid-answer are normal here (fault tests, timeouts)."""
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)
