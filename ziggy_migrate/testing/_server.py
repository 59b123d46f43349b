"""The emulator's HTTP side: routing, authentication, injected faults and latency.

A real HTTP server (not a mocked transport) so that everything between our client and
the wire is exercised too: keep-alive, timeouts, retries, dropped connections. Each
connection is served by its own daemon thread, so concurrent clients overlap and injected
latency behaves like network latency rather than a queue.

The request path is deliberately layered:

``_Handler`` (sockets: read the body, write or drop the answer)
  -> ``ZiggyEmulator._process`` (latency, the fault dice, the request log)
    -> ``_dispatch`` (routing table, bearer-token check, errors to NestJS answers)
      -> an endpoint function -> :class:`~._state.Store`
"""

from __future__ import annotations

import contextlib
import hmac
import json
import os
import random
import re
import secrets
import socket
import socketserver
import ssl
import sys
import threading
import time
import uuid as uuidlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote

from ._state import (
    CONNECTION,
    FLOW,
    SECRET,
    STRUCTURE,
    VARIABLE,
    ApiError,
    Kind,
    Store,
)

_JSON = "application/json; charset=utf-8"
_MAX_BODY = 256 * 1024 * 1024
_FAULT_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})

# --------------------------------------------------------------------------- public value types


@dataclass(frozen=True)
class FaultPlan:
    """Which misbehaviours to inject, and how often.

    Each faultable request draws one number from the emulator's seeded generator and
    lands in at most one band, tried in this order: ``rate_limit_rate`` (429 with
    ``Retry-After``), ``error_rate`` (500 or 503), ``drop_before_rate`` (connection closed,
    nothing applied), ``drop_after_rate`` (request applied, then the connection closed
    without an answer: the case that makes retries of non-idempotent calls dangerous).
    The rates are fractions of faultable requests and must add up to at most 1.

    ``exempt_paths`` match a whole path or anything below it, so login and health checks
    stay reliable and a test can aim its faults at the calls it cares about.
    """

    error_rate: float = 0.0
    drop_before_rate: float = 0.0
    drop_after_rate: float = 0.0
    rate_limit_rate: float = 0.0
    cut_short_rate: float = 0.0
    retry_after: int = 1
    methods: frozenset[str] = _FAULT_METHODS
    exempt_paths: tuple[str, ...] = ("/api/auth/login", "/api/auth/refresh-token", "/api/health")
    seed: int | None = None

    def __post_init__(self) -> None:
        rates = (
            self.error_rate,
            self.drop_before_rate,
            self.drop_after_rate,
            self.rate_limit_rate,
            self.cut_short_rate,
        )
        if any(not 0.0 <= rate <= 1.0 for rate in rates):
            raise ValueError("every fault rate must be between 0 and 1")
        if sum(rates) > 1.0 + 1e-9:
            raise ValueError("fault rates must add up to at most 1")
        if self.retry_after < 0:
            raise ValueError("retry_after must not be negative")
        object.__setattr__(self, "methods", frozenset(method.upper() for method in self.methods))
        object.__setattr__(self, "exempt_paths", tuple(self.exempt_paths))

    def covers(self, method: str, path: str) -> bool:
        """Whether a request is eligible for a fault at all."""
        if method not in self.methods:
            return False
        return not any(
            path == exempt or path.startswith(exempt.rstrip("/") + "/")
            for exempt in self.exempt_paths
        )


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the emulator saw it.

    ``status`` is the status answered, or, for ``drop_after`` and ``cut_short``, the
    status the applied request answered or would have; it is 0 for ``drop_before``
    (nothing was applied). ``fault`` is ``"500"``, ``"503"``, ``"429"``,
    ``"drop_before"``, ``"drop_after"``, ``"cut_short"`` or None.
    """

    method: str
    path: str
    query: str
    status: int
    fault: str | None


# --------------------------------------------------------------------------- small parts


class _FaultDice:
    """The emulator's one seeded generator: the same requests in the same order draw the
    same faults, so a failing run can be replayed."""

    def __init__(self, plan: FaultPlan, seed: int) -> None:
        self.plan = plan
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def roll(self, method: str, path: str) -> str | None:
        plan = self.plan
        if not plan.covers(method, path):
            return None
        with self._lock:
            draw = self._random.random()
            bands = (
                ("429", plan.rate_limit_rate),
                ("error", plan.error_rate),
                ("drop_before", plan.drop_before_rate),
                ("drop_after", plan.drop_after_rate),
                ("cut_short", plan.cut_short_rate),  # last: older seeds replay unchanged
            )
            edge = 0.0
            for fault, rate in bands:
                edge += rate
                if draw < edge:
                    if fault == "error":
                        return "500" if self._random.random() < 0.5 else "503"
                    return fault
        return None


class _RequestLog:
    """Requests in arrival order, even though they finish in any order.

    A slot is reserved when a request arrives and filled when its outcome is known;
    readers only see filled slots.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._slots: list[RecordedRequest | None] = []
        self._offset = 0

    def reserve(self) -> int:
        with self._lock:
            self._slots.append(None)
            return self._offset + len(self._slots) - 1

    def fill(self, ticket: int, record: RecordedRequest) -> None:
        with self._lock:
            index = ticket - self._offset
            if index >= 0:  # otherwise reset() happened while the request was in flight
                self._slots[index] = record

    def records(self) -> list[RecordedRequest]:
        with self._lock:
            return [record for record in self._slots if record is not None]

    def reset(self) -> None:
        with self._lock:
            self._offset += len(self._slots)
            self._slots = []


class _TokenBook:
    """Issued bearer tokens. ``expire_all`` bumps a generation, so every older token dies
    at once while remaining "ever issued" for the refresh endpoint."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._issued: dict[str, tuple[int, float]] = {}
        self._generation = 0

    def issue(self) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._issued[token] = (self._generation, time.monotonic())
        return token

    def was_issued(self, token: str) -> bool:
        with self._lock:
            return token in self._issued

    def accepts(self, token: str | None, lifetime: float | None) -> bool:
        with self._lock:
            entry = self._issued.get(token) if token else None
            if entry is None or entry[0] != self._generation:
                return False
            return lifetime is None or time.monotonic() - entry[1] < lifetime

    def expire_all(self) -> None:
        with self._lock:
            self._generation += 1

    def forget_all(self) -> None:
        with self._lock:
            self._issued.clear()


@dataclass(frozen=True)
class _Backend:
    """What endpoint functions may touch: the tables and the one user account."""

    store: Store
    tokens: _TokenBook
    username: str
    password: str
    user_uuid: str
    name: str


@dataclass(frozen=True)
class _Call:
    """A routed request, as endpoint functions see it."""

    method: str
    path: str
    params: Mapping[str, str]
    query: Mapping[str, str]
    content_type: str
    body: bytes

    def json(self) -> Any:
        """The JSON body, parsed like Express's body-parser.

        Without a JSON Content-Type (or with no body) the body is ``{}``, which makes a
        client that forgot the header fail validation here just as it would on Ziggy.
        """
        media_type = self.content_type.split(";")[0].strip().lower()
        is_json = media_type == "application/json" or media_type.endswith("+json")
        if not is_json or not self.body.strip():
            return {}
        try:
            return json.loads(self.body)
        except json.JSONDecodeError as exc:
            raise ApiError(400, f"{exc.msg} in JSON at position {exc.pos}") from exc
        except ValueError as exc:
            raise ApiError(400, "Request body is not valid UTF-8 JSON") from exc


@dataclass(frozen=True)
class _Reply:
    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    cut_short: bool = False  # send half the body, then close (FaultPlan.cut_short_rate)


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


def _fault_reply(fault: str, retry_after: int) -> _Reply:
    if fault == "429":
        reply = _error(429, "ThrottlerException: Too Many Requests")
        return _Reply(
            reply.status, reply.body, reply.content_type, (("Retry-After", str(retry_after)),)
        )
    if fault == "503":
        return _error(503, "Service Unavailable")
    return _error(500, "Internal server error")


def _csv(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _bearer(authorization: str) -> str | None:
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


# --------------------------------------------------------------------------- endpoints


def _login(backend: _Backend, call: _Call) -> _Reply:
    body = call.json()
    username = body.get("username") if isinstance(body, dict) else None
    password = body.get("password") if isinstance(body, dict) else None
    if not (isinstance(username, str) and isinstance(password, str)):
        raise ApiError(401, "Invalid credentials")
    user_ok = hmac.compare_digest(username.encode(), backend.username.encode())
    password_ok = hmac.compare_digest(password.encode(), backend.password.encode())
    if not (user_ok and password_ok):
        raise ApiError(401, "Invalid credentials")
    return _json(
        201,
        {
            "uuid": backend.user_uuid,
            "username": backend.username,
            "role": "admin",
            "token": backend.tokens.issue(),
            "passwordStrengthOk": True,
        },
    )


def _refresh_token(backend: _Backend, call: _Call) -> _Reply:
    """An expired token may be refreshed; one this server never issued may not."""
    body = call.json()
    token = body.get("token") if isinstance(body, dict) else None
    if not isinstance(token, str) or not backend.tokens.was_issued(token):
        raise ApiError(401, "Invalid refresh token")
    return _json(201, {"accessToken": backend.tokens.issue()})


def _health(backend: _Backend, call: _Call) -> _Reply:
    return _Reply(200, b"OK", "text/plain; charset=utf-8")


def _version_info(backend: _Backend, call: _Call) -> _Reply:
    info = f"{backend.name} (ziggy-migrate emulator)"
    return _json(200, {"major": 1, "minor": 0, "build": 0, "info": info})


def _backup(backend: _Backend, call: _Call) -> _Reply:
    return _json(201, backend.store.backup())


def _list_flows(backend: _Backend, call: _Call) -> _Reply:
    query = call.query
    flows = backend.store.list_flows(
        query.get("search", ""), query.get("flowId", ""), _csv(query.get("tags", ""))
    )
    return _json(200, flows)


def _get_flow(backend: _Backend, call: _Call) -> _Reply:
    return _json(200, backend.store.get_flow(call.params["uuid"]))


def _create_flow(backend: _Backend, call: _Call) -> _Reply:
    return _json(201, backend.store.create_flow(call.params["name"], call.params["receiverType"]))


def _clone_flow(backend: _Backend, call: _Call) -> _Reply:
    return _json(201, {"uuid": backend.store.clone_flow(call.params["uuid"])})


def _list_connections(backend: _Backend, call: _Call) -> _Reply:
    wanted_type = call.query.get("type", "")
    core_text = call.query.get("core", "").lower()
    if core_text not in ("", "true", "false"):
        raise ApiError(400, ["core must be a boolean value"])

    def keep(row: dict[str, Any]) -> bool:
        type_ok = not wanted_type or row["type"] == wanted_type
        core_ok = not core_text or bool(row["isCorePlatform"]) == (core_text == "true")
        return type_ok and core_ok

    return _json(200, backend.store.list_rows(CONNECTION, keep))


def _list_tagged(kind: Kind) -> Callable[[_Backend, _Call], _Reply]:
    """``GET ?tags=a,b``: rows having any of the tags (all rows when none given)."""

    def endpoint(backend: _Backend, call: _Call) -> _Reply:
        tags = _csv(call.query.get("tags", ""))
        rows = backend.store.list_rows(
            kind, lambda row: not tags or any(tag in (row.get("tags") or []) for tag in tags)
        )
        return _json(200, rows)

    return endpoint


def _list_all(kind: Kind) -> Callable[[_Backend, _Call], _Reply]:
    def endpoint(backend: _Backend, call: _Call) -> _Reply:
        return _json(200, backend.store.list_rows(kind))

    return endpoint


def _get_entity(kind: Kind) -> Callable[[_Backend, _Call], _Reply]:
    def endpoint(backend: _Backend, call: _Call) -> _Reply:
        return _json(200, backend.store.get(kind, call.params["uuid"]))

    return endpoint


def _create_entity(kind: Kind) -> Callable[[_Backend, _Call], _Reply]:
    def endpoint(backend: _Backend, call: _Call) -> _Reply:
        return _json(201, backend.store.create(kind, call.json()))

    return endpoint


def _update_entity(kind: Kind) -> Callable[[_Backend, _Call], _Reply]:
    def endpoint(backend: _Backend, call: _Call) -> _Reply:
        backend.store.update(kind, call.params["uuid"], call.json())
        return _empty()

    return endpoint


def _delete_entity(kind: Kind) -> Callable[[_Backend, _Call], _Reply]:
    def endpoint(backend: _Backend, call: _Call) -> _Reply:
        backend.store.delete(kind, call.params["uuid"])
        return _empty()

    return endpoint


def _set_secret_value(backend: _Backend, call: _Call) -> _Reply:
    backend.store.set_secret_value(call.json())
    return _empty()


def _obfuscated_secret(backend: _Backend, call: _Call) -> _Reply:
    return _json(200, backend.store.obfuscated_secret(call.params["name"]))


def _named_save(backend: _Backend, call: _Call) -> _Reply:
    backend.store.named_save(call.params["flowUuid"], call.params["name"])
    return _json(201, "Named save created")


def _named_saves(backend: _Backend, call: _Call) -> _Reply:
    return _json(200, backend.store.named_saves(call.params["flowUuid"]))


def _prepare_export(backend: _Backend, call: _Call) -> _Reply:
    backend.store.prepare_export(call.json())
    return _empty(201)


def _get_export(backend: _Backend, call: _Call) -> _Reply:
    return _json(200, backend.store.get_export())


def _drop_export(backend: _Backend, call: _Call) -> _Reply:
    backend.store.drop_export()
    return _empty()


def _import_not_implemented(backend: _Backend, call: _Call) -> _Reply:
    raise ApiError(501, "Not implemented by the emulator: ziggy-migrate imports client-side")


# --------------------------------------------------------------------------- routing

_Endpoint = Callable[[_Backend, _Call], _Reply]


@dataclass(frozen=True)
class _Route:
    method: str
    pattern: re.Pattern[str]
    endpoint: _Endpoint
    public: bool


def _route(method: str, template: str, endpoint: _Endpoint, *, public: bool = False) -> _Route:
    """Compile ``/api/flow/{uuid}`` into a regex whose groups are single path segments."""
    pieces = re.split(r"(\{\w+\})", template)
    regex = "".join(
        f"(?P<{piece[1:-1]}>[^/]+)" if piece.startswith("{") else re.escape(piece)
        for piece in pieces
    )
    return _Route(method, re.compile(f"^{regex}$"), endpoint, public)


def _crud(kind: Kind, base: str, list_endpoint: _Endpoint) -> list[_Route]:
    """The GET/POST/PUT/DELETE pattern connections, secrets, structures and variables share."""
    return [
        _route("GET", base, list_endpoint),
        _route("GET", f"{base}/{{uuid}}", _get_entity(kind)),
        _route("POST", base, _create_entity(kind)),
        _route("PUT", f"{base}/{{uuid}}", _update_entity(kind)),
        _route("DELETE", f"{base}/{{uuid}}", _delete_entity(kind)),
    ]


# First match wins, so fixed paths come before the ``{uuid}`` patterns they resemble.
_ROUTES: tuple[_Route, ...] = (
    _route("POST", "/api/auth/login", _login, public=True),
    _route("POST", "/api/auth/refresh-token", _refresh_token, public=True),
    _route("GET", "/api/health", _health, public=True),
    _route("GET", "/api/system/version-info", _version_info),
    _route("POST", "/api/system/backup-db", _backup),
    _route("GET", "/api/flow", _list_flows),
    _route("POST", "/api/flow/export-tagged", _prepare_export),
    _route("GET", "/api/flow/export-tagged", _get_export),
    _route("DELETE", "/api/flow/tagged-export", _drop_export),
    _route("POST", "/api/flow/import", _import_not_implemented),
    _route("POST", "/api/flow/clone/{uuid}", _clone_flow),
    _route("GET", "/api/flow/{uuid}", _get_flow),
    _route("PUT", "/api/flow/{uuid}", _update_entity(FLOW)),
    _route("DELETE", "/api/flow/{uuid}", _delete_entity(FLOW)),
    _route("POST", "/api/flow/{name}/{receiverType}", _create_flow),
    *_crud(CONNECTION, "/api/connection", _list_connections),
    _route("PATCH", "/api/secret/update-secret-value", _set_secret_value),
    _route("GET", "/api/secret/get-obfuscated-by-name/{name}", _obfuscated_secret),
    *_crud(SECRET, "/api/secret", _list_all(SECRET)),
    *_crud(STRUCTURE, "/api/structure", _list_tagged(STRUCTURE)),
    *_crud(VARIABLE, "/api/variable", _list_all(VARIABLE)),
    _route("POST", "/api/ziggy/history-named-save/{flowUuid}/{name}", _named_save),
    _route("GET", "/api/ziggy/named-saves/{flowUuid}", _named_saves),
)


def _resolve(method: str, path: str) -> tuple[_Route, dict[str, str]] | None:
    """Match against the raw path, then decode each segment, so ``%2F`` stays in its segment."""
    for route in _ROUTES:
        if route.method != method:
            continue
        match = route.pattern.match(path)
        if match:
            return route, {key: unquote(value) for key, value in match.groupdict().items()}
    return None


@dataclass(frozen=True)
class _Incoming:
    """A request off the wire, before routing."""

    method: str
    path: str
    query: str
    authorization: str
    content_type: str
    body: bytes


def _dispatch(backend: _Backend, incoming: _Incoming, token_lifetime: float | None) -> _Reply:
    """Route, authenticate, run the endpoint, and turn any failure into an answer.

    Unknown routes answer 404 before authentication, as Express does for paths no
    controller declares; a bug in the emulator answers 500 instead of killing the thread.
    """
    path = incoming.path.rstrip("/") or "/"
    found = _resolve(incoming.method, path)
    if found is None:
        return _error(404, f"Cannot {incoming.method} {path}")
    route, params = found
    if not route.public and not backend.tokens.accepts(
        _bearer(incoming.authorization), token_lifetime
    ):
        return _error(401, "Unauthorized")
    query = {
        key: ",".join(values)
        for key, values in parse_qs(incoming.query, keep_blank_values=True).items()
    }
    call = _Call(incoming.method, path, params, query, incoming.content_type, incoming.body)
    try:
        return route.endpoint(backend, call)
    except ApiError as exc:
        return _error(exc.status, exc.message)
    except Exception as exc:  # the emulator must answer, never die
        return _error(500, f"Internal server error: {exc!r}")


# --------------------------------------------------------------------------- HTTP plumbing


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
            return
        self._send_head(reply)
        self.wfile.write(reply.body)

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


class _HttpServer(ThreadingHTTPServer):
    """A threaded server that also knows its open connections, so ``stop()`` can cut
    idle keep-alive connections instead of leaving them serving a stopped emulator."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # bursts of concurrent benchmark clients

    def __init__(self, address: tuple[str, int], emulator: ZiggyEmulator) -> None:
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


# --------------------------------------------------------------------------- the emulator


class ZiggyEmulator:
    """A local Ziggy server for tests, demos and benchmarks (like moto for AWS).

    It speaks the REST contract over real HTTP on ``127.0.0.1``, keeps its database in
    memory, and can be told to be slow (``latency``), flaky (``faults``), strict about
    tokens (``token_lifetime``, ``expire_tokens()``) or discreet about secrets
    (``return_secret_values``). With an ``ssl_context`` (a server-side context holding a
    certificate) it serves HTTPS instead. Every knob may be changed while it runs and
    applies from the next request on (``token_lifetime`` to tokens already issued, too).
    Seed it with ``add_*``/``load``; inspect it with ``snapshot()`` and ``requests``::

        with ZiggyEmulator() as ziggy:
            ziggy.add_flow("Orders", tags=["sales"])
            client = SomeClient(ziggy.base_url, ziggy.username, ziggy.password)
    """

    def __init__(
        self,
        username: str = "admin",
        password: str = "admin",  # noqa: S107 - a local test server's well-known default
        *,
        port: int = 0,
        host: str = "127.0.0.1",
        latency: float = 0.0,
        token_lifetime: float | None = None,
        faults: FaultPlan | None = None,
        seed: int = 0,
        return_secret_values: bool = True,
        name: str = "ziggy",
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.username = username
        self.password = password
        self.host = host
        self.port = port
        self.name = name
        self.seed = seed
        self.latency = latency
        self.token_lifetime = token_lifetime
        self._store = Store()
        self._store.return_secret_values = return_secret_values
        self._backend = _Backend(
            self._store, _TokenBook(), username, password, str(uuidlib.uuid4()), name
        )
        self._log = _RequestLog()
        self._dice: _FaultDice | None = None
        self.faults = faults
        self.ssl_context = ssl_context
        self._server: _HttpServer | None = None
        self._thread: threading.Thread | None = None
        self._lifecycle = threading.Lock()

    def __repr__(self) -> str:
        state = "running" if self._server is not None else "stopped"
        return f"<ZiggyEmulator {self.name!r} {self.base_url} {state}>"

    # ---- addresses

    @property
    def url(self) -> str:
        """Scheme and host without port, as Ziggy profiles store a server (``https`` when
        the emulator was given an ``ssl_context``)."""
        return f"{'https' if self.ssl_context is not None else 'http'}://{self.host}"

    @property
    def base_url(self) -> str:
        """``url:port``, without the ``/api`` suffix."""
        return f"{self.url}:{self.port}"

    # ---- knobs

    @property
    def faults(self) -> FaultPlan | None:
        return self._dice.plan if self._dice is not None else None

    @faults.setter
    def faults(self, plan: FaultPlan | None) -> None:
        """A new plan restarts the generator from its seed, so the run from here replays."""
        if plan is None:
            self._dice = None
        else:
            self._dice = _FaultDice(plan, self.seed if plan.seed is None else plan.seed)

    @property
    def backup_status(self) -> str:
        return self._store.backup_status

    @backup_status.setter
    def backup_status(self, status: str) -> None:
        if status not in ("success", "failed"):
            raise ValueError("backup_status is 'success' or 'failed'")
        self._store.backup_status = status

    @property
    def return_secret_values(self) -> bool:
        return self._store.return_secret_values

    @return_secret_values.setter
    def return_secret_values(self, reveal: bool) -> None:
        self._store.return_secret_values = reveal

    # ---- lifecycle

    def start(self) -> ZiggyEmulator:
        """Bind and serve in a daemon thread. A restart keeps the port and the data."""
        with self._lifecycle:
            if self._server is not None:
                return self
            server = _HttpServer((self.host, self.port), self)
            if self.ssl_context is not None:
                # the handshake runs in each connection's handler thread, on first read
                server.socket = self.ssl_context.wrap_socket(
                    server.socket, server_side=True, do_handshake_on_connect=False
                )
            self.port = int(server.server_address[1])
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"{self.name}-emulator-{self.port}",
                daemon=True,
            )
            thread.start()
            self._server, self._thread = server, thread
            return self

    def stop(self) -> None:
        """Stop serving, close the listening socket and cut open connections."""
        with self._lifecycle:
            server, thread = self._server, self._thread
            self._server = self._thread = None
        if server is None or thread is None:
            return
        server.shutdown()
        server.server_close()
        server.close_connections()
        thread.join(timeout=5)

    def __enter__(self) -> ZiggyEmulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # ---- seeding

    def add_flow(
        self,
        name: str,
        *,
        uuid: str | None = None,
        tags: Sequence[str] = (),
        nodes: list[dict[str, Any]] | None = None,
        edges: list[dict[str, Any]] | None = None,
        viewport: dict[str, Any] | None = None,
        listener_type: str = "API",
        is_subflow: bool = False,
        **extra: Any,
    ) -> dict[str, Any]:
        """Store a flow as if it were in the database; ``extra`` are other Flow columns."""
        fields: dict[str, Any] = {
            "name": name,
            "tags": list(tags),
            "listenerType": listener_type,
            "isSubflow": is_subflow,
            **extra,
        }
        optional = {"uuid": uuid, "nodes": nodes, "edges": edges, "viewport": viewport}
        fields.update({key: value for key, value in optional.items() if value is not None})
        return self._store.seed(FLOW, fields)

    def add_connection(
        self,
        name: str,
        *,
        type: str = "Postgres",
        dev_value: str = "",
        prod_value: str = "",
        description: str = "",
        uuid: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Store a connection directly (the type is not checked, as old data may hold any)."""
        fields: dict[str, Any] = {
            "name": name,
            "type": type,
            "devValue": dev_value,
            "prodValue": prod_value,
            "description": description,
            **extra,
        }
        return self._store.seed(CONNECTION, _with_uuid(fields, uuid))

    def add_secret(
        self,
        name: str,
        *,
        dev_value: str | None = None,
        prod_value: str | None = None,
        description: str = "",
        type: str = "string",
        group: str = "",
        tags: Sequence[str] = (),
        uuid: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        """Store a secret directly (its name is not checked, so bad data can be staged)."""
        fields: dict[str, Any] = {
            "name": name,
            "devValue": dev_value,
            "prodValue": prod_value,
            "description": description,
            "type": type,
            "group": group,
            "tags": list(tags),
            **extra,
        }
        return self._store.seed(SECRET, _with_uuid(fields, uuid))

    def add_structure(
        self,
        name: str,
        *,
        value: str = "",
        description: str = "",
        tags: Sequence[str] = (),
        uuid: str | None = None,
    ) -> dict[str, Any]:
        fields = {"name": name, "value": value, "description": description, "tags": list(tags)}
        return self._store.seed(STRUCTURE, _with_uuid(fields, uuid))

    def add_variable(
        self, name: str, *, value: str = "", description: str = "", uuid: str | None = None
    ) -> dict[str, Any]:
        fields = {"name": name, "value": value, "description": description}
        return self._store.seed(VARIABLE, _with_uuid(fields, uuid))

    def load(self, data: Mapping[str, Any]) -> None:
        """Seed ``{"flows": [...], "connections": [...], "secrets": [...], "structures": [...],
        "variables": [...]}`` of camelCase rows; missing columns get defaults, given uuids
        are kept (and replace a row with the same uuid)."""
        self._store.load(data)

    def load_file(self, path: str | os.PathLike[str]) -> None:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
        if not isinstance(data, dict):
            raise ValueError(f"{os.fspath(path)}: a seed file holds a JSON object")
        self.load(data)

    def snapshot(self) -> dict[str, Any]:
        """A deep copy of the database, secret values included, soft-deleted rows left out.

        Keys: ``flows``, ``connections``, ``secrets``, ``structures``, ``variables`` (each
        sorted by name then uuid), ``namedSaves`` and ``backups`` (oldest first).
        """
        return self._store.snapshot()

    # ---- instrumentation

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request answered (or dropped) so far, in arrival order (a copy)."""
        return self._log.records()

    def request_count(self, method: str | None = None, path_prefix: str | None = None) -> int:
        """How many logged requests have this method and a path starting with this prefix."""
        return sum(
            1
            for record in self._log.records()
            if (method is None or record.method == method.upper())
            and (path_prefix is None or record.path.startswith(path_prefix))
        )

    def reset_requests(self) -> None:
        self._log.reset()

    def expire_tokens(self) -> None:
        """Invalidate every token issued so far (they still count as issued for refresh)."""
        self._backend.tokens.expire_all()

    def revoke_tokens(self) -> None:
        """Forget every token issued so far, as a server restart would: a client must log
        in again, because the refresh endpoint refuses tokens it does not know."""
        self._backend.tokens.forget_all()

    # ---- request processing (called by the handler threads)

    def _process(self, incoming: _Incoming) -> _Reply | None:
        """Latency, then the fault dice, then the API; logs the request either way.

        Returns the answer to send, or None when the connection must be dropped.
        """
        ticket = self._log.reserve()
        if self.latency > 0:
            time.sleep(self.latency)
        dice = self._dice
        fault = dice.roll(incoming.method, incoming.path) if dice is not None else None
        reply, status = self._apply(incoming, fault, dice)
        self._log.fill(
            ticket, RecordedRequest(incoming.method, incoming.path, incoming.query, status, fault)
        )
        return reply

    def _apply(
        self, incoming: _Incoming, fault: str | None, dice: _FaultDice | None
    ) -> tuple[_Reply | None, int]:
        """The answer (None: drop the connection) and the status to log for it."""
        if fault == "drop_before":
            return None, 0
        if fault in ("429", "500", "503") and dice is not None:
            reply = _fault_reply(fault, dice.plan.retry_after)
            return reply, reply.status
        reply = _dispatch(self._backend, incoming, self.token_lifetime)
        if fault == "drop_after" or (fault == "cut_short" and not reply.body):
            return None, reply.status
        if fault == "cut_short":
            return replace(reply, cut_short=True), reply.status
        return reply, reply.status


def _with_uuid(fields: dict[str, Any], uuid: str | None) -> dict[str, Any]:
    return fields if uuid is None else {**fields, "uuid": uuid}


__all__ = ["FaultPlan", "RecordedRequest", "ZiggyEmulator"]
