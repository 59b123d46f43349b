"""The emulator's API: the routing table, the bearer-token check, and one function per
endpoint, each turning a routed call into a reply over the :class:`~._store.Store`."""

from __future__ import annotations

import hmac
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote

from ._store import (
    CONNECTION,
    FLOW,
    SCHEDULE,
    SECRET,
    STRUCTURE,
    VARIABLE,
    ApiError,
    Kind,
    Store,
)
from ._wire import _empty, _error, _Incoming, _json, _Reply


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
            "role": "ADMIN",
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


def _transfer_db(backend: _Backend, call: _Call) -> _Reply:
    backend.store.make_transfer_file()
    return _empty(201)


def _download_transfer(backend: _Backend, call: _Call) -> _Reply:
    return _Reply(200, backend.store.transfer_file(), "application/octet-stream")


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
    reserved: frozenset[str] = frozenset()


def _route(
    method: str,
    template: str,
    endpoint: _Endpoint,
    *,
    public: bool = False,
    reserved: frozenset[str] = frozenset(),
) -> _Route:
    """Compile ``/api/flow/{uuid}`` into a regex whose groups are single path segments.

    ``reserved`` are segments the server declares as fixed paths beside the pattern: a
    ``{uuid}`` never stands for them, so ``GET /api/flow/vacuum`` is an unknown route
    (NestJS's "Cannot GET ..."), not a flow called ``vacuum`` that does not exist.
    """
    pieces = re.split(r"(\{\w+\})", template)
    regex = "".join(
        f"(?P<{piece[1:-1]}>[^/]+)" if piece.startswith("{") else re.escape(piece)
        for piece in pieces
    )
    return _Route(method, re.compile(f"^{regex}$"), endpoint, public, reserved)


def _crud(kind: Kind, base: str, list_endpoint: _Endpoint) -> list[_Route]:
    """The GET/POST/PUT/DELETE pattern connections, secrets, structures, variables and
    schedules share."""
    return [
        _route("GET", base, list_endpoint),
        _route("GET", f"{base}/{{uuid}}", _get_entity(kind)),
        _route("POST", base, _create_entity(kind)),
        _route("PUT", f"{base}/{{uuid}}", _update_entity(kind)),
        _route("DELETE", f"{base}/{{uuid}}", _delete_entity(kind)),
    ]


# Fixed paths of the server's flow controller (the generated client's): never a flow UUID.
_FLOW_FIXED_PATHS = frozenset(
    {"vacuum", "export-all", "export-tagged", "tagged-export", "import", "clone"}
)

# First match wins, so fixed paths come before the ``{uuid}`` patterns they resemble.
_ROUTES: tuple[_Route, ...] = (
    _route("POST", "/api/auth/login", _login, public=True),
    _route("POST", "/api/auth/refresh-token", _refresh_token, public=True),
    _route("GET", "/api/health", _health, public=True),
    _route("GET", "/api/system/version-info", _version_info),
    _route("POST", "/api/system/backup-db", _backup),
    _route("POST", "/api/system/transfer-db", _transfer_db),
    _route("GET", "/api/system/download-transfer", _download_transfer),
    _route("GET", "/api/flow", _list_flows),
    _route("POST", "/api/flow/export-tagged", _prepare_export),
    _route("GET", "/api/flow/export-tagged", _get_export),
    _route("DELETE", "/api/flow/tagged-export", _drop_export),
    _route("POST", "/api/flow/import", _import_not_implemented),
    _route("POST", "/api/flow/clone/{uuid}", _clone_flow),
    _route("GET", "/api/flow/{uuid}", _get_flow, reserved=_FLOW_FIXED_PATHS),
    _route("PUT", "/api/flow/{uuid}", _update_entity(FLOW), reserved=_FLOW_FIXED_PATHS),
    _route("DELETE", "/api/flow/{uuid}", _delete_entity(FLOW), reserved=_FLOW_FIXED_PATHS),
    _route("POST", "/api/flow/{name}/{receiverType}", _create_flow),
    *_crud(CONNECTION, "/api/connection", _list_connections),
    _route("PATCH", "/api/secret/update-secret-value", _set_secret_value),
    _route("GET", "/api/secret/get-obfuscated-by-name/{name}", _obfuscated_secret),
    *_crud(SECRET, "/api/secret", _list_all(SECRET)),
    *_crud(STRUCTURE, "/api/structure", _list_tagged(STRUCTURE)),
    *_crud(VARIABLE, "/api/variable", _list_all(VARIABLE)),
    *_crud(SCHEDULE, "/api/schedule", _list_all(SCHEDULE)),
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
            params = {key: unquote(value) for key, value in match.groupdict().items()}
            if route.reserved.isdisjoint(params.values()):
                return route, params
    return None


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
